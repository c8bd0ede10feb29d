"""Passages found by their sentences, as more answer candidates (bench/README.md, "The offline
answerer"): not built.

The answerer reads the sentences of the top k passages. A long passage about several things
can hold the one sentence that answers and still rank below k, since its other sentences
pull its vector and its words elsewhere. This tries adding, after the k hits, the passages
of the question's N nearest sentences by e5 cosine over every sentence of the index (the
ones whose passage is not among the hits; for an on-topic question, none of the held-out
paragraph), as fit_answerer.py would see them, and judges the weights in place refitted
on those candidates by fit_answerer's objective against the same refit without them (the
numbers of fit_answerer.e5.out.json). Here the search over sentences is a matrix product over
the saved sentence vectors; in sanad it would be a query to the sentence collection.

    .venv/bin/python bench/try_sentence_hits.py --sentences 3 --scorer e5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import fit_answerer  # noqa: E402
from rag.chunking import passage_sentences  # noqa: E402
from rag.embeddings import E5_DIM  # noqa: E402
from rag.types import Hit  # noqa: E402
from squad_index import WORK  # noqa: E402


class _Sentences:
    """Every sentence of one index: its vector and the first passage that holds it."""

    def __init__(self, retriever):
        saved = retriever.bm25.sentences
        self.ids = [str(i) for i in saved.ids]
        self.vectors = np.asarray(saved.vectors[:, :E5_DIM], dtype=np.float32)
        self.passage = {}
        for p in retriever.store.passages():
            for s in passage_sentences(p):
                self.passage.setdefault(s.id, p)

    def passages(self, vector, n: int, skip: set[str], gold: str | None) -> list:
        """Passages of the `n` nearest sentences that are not in `skip` nor of `gold`."""
        out, seen = [], set(skip)
        for i in np.argsort(-(self.vectors @ vector)):
            p = self.passage.get(self.ids[i])
            if p is None or p.id in seen or p.source == gold:
                continue
            seen.add(p.id)
            out.append(p)
            if len(out) == n:
                break
        return out


def with_sentence_hits(n: int):
    """fit_answerer.features with each list of hits followed by the passages of the question's
    `n` nearest sentences (`_Sentences.passages`)."""
    indexes = {}

    def features(retriever, question, k, gold, frozen):
        index = indexes.setdefault(id(retriever), _Sentences(retriever))
        query = retriever.query(question)
        lists = []
        for chosen, held_out in zip(fit_answerer.hit_lists(retriever, query, k, gold),
                                    (None, gold)):
            if query.vector is not None:
                more = index.passages(query.vector, n, {h.passage.id for h in chosen}, held_out)
                chosen = chosen + [Hit(p, 0.0) for p in more]
            lists.append(chosen)
        return fit_answerer.feature_matrices(retriever, query, lists, frozen)
    return features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=3)
    args, rest = parser.parse_known_args()
    fit_answerer.features = with_sentence_hits(args.sentences)
    fit_answerer.WORK = WORK / f"try-sentence-hits-{args.sentences}"
    fit_answerer.WORK.mkdir(parents=True, exist_ok=True)
    sys.argv = [sys.argv[0], *rest]
    fit_answerer.main()


if __name__ == "__main__":
    main()
