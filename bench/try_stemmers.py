"""Other stemmings for the BM25 side, BM25 alone (bench/README.md, "The offline answerer"):
each variant tokenises the chunked paragraphs and the questions of ARCD-train and TyDi dev,
builds its own BM25 (rag.lexical, as the index does) and ranks the paragraphs; R@1, R@5 and
MRR@10 of the gold paragraph. With --fused, also fused with e5's ranks of the same passages
as sanad fuses them (rag/retrieval.py FUSION; the kept index of bench/squad_index.py). Not
built into sanad: see bench/README.md.

    .venv/bin/python bench/try_stemmers.py [--fused] [VARIANT ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import analysis  # noqa: E402
from rag.chunking import chunk_document  # noqa: E402
from rag.evaluation import load_squad  # noqa: E402
from rag.lexical import BM25  # noqa: E402

SHARED = ROOT.parent / "shared" / "bench"
SETS = {"ARCD-train": SHARED / "arcd" / "arcd-train.json",
        "TyDi dev": SHARED / "tydiqa_goldp_ar" / "arabic_tydiqa_dev.json"}
FOLDS = analysis._LETTER_FOLDS


def _kept(text: str) -> list[str]:
    return [w for w in analysis._light(text).split() if w.translate(FOLDS) not in analysis.STOPWORDS]


def _no_bare_kaf(word: str) -> str:
    """analysis.strip_clitics without the bare ك ("like"), which also takes the first
    letter of كازاخستان، كوريا، كهرباء."""
    while True:
        if len(word) >= 5 and word.startswith(analysis._CONJ):
            word = word[1:]
            continue
        for prefix in ("بال", "كال", "لل", "ال", "ب", "ل"):
            if word.startswith(prefix) and len(word) - len(prefix) >= (3 if len(prefix) > 1 else 4):
                word = word[len(prefix):]
                break
        else:
            return word


def no_bare_kaf(text: str) -> list[str]:
    stems = analysis._stemmer().stemWords([_no_bare_kaf(w) for w in _kept(text)])
    return [t.translate(FOLDS) for t in stems if t]


# Larkey, Ballesteros & Connell's light10: و, then one article, then every suffix in turn
L10_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
L10_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ية", "ه", "ة", "ي")


def light10(text: str) -> list[str]:
    out = []
    for w in _kept(text):
        if len(w) > 3 and w.startswith("و"):
            w = w[1:]
        for p in L10_PREFIXES:
            if w.startswith(p) and len(w) - len(p) >= 2:
                w = w[len(p):]
                break
        for s in L10_SUFFIXES:
            if len(w) - len(s) >= 2 and w.endswith(s):
                w = w[:-len(s)]
        out.append(w.translate(FOLDS))
    return out


# What Snowball leaves of nisba adjectives and plurals, stripped once more, alike everywhere
ENDINGS = ("يين", "يون", "ين", "ون", "ات", "يه", "ي", "ا")


def then_endings(tokenize):
    def tokens(text: str) -> list[str]:
        out = []
        for t in tokenize(text):
            for s in ENDINGS:
                if len(t) - len(s) >= 3 and t.endswith(s):
                    t = t[:-len(s)]
                    break
            out.append(t)
        return out
    return tokens


VARIANTS = {"snowball (as now)": analysis.tokenize, "light10": light10,
            "snowball, no bare ك": no_bare_kaf,
            "snowball + endings": then_endings(analysis.tokenize),
            "snowball, no bare ك + endings": then_endings(no_bare_kaf)}


def _articles(order: list[int], sources: list[str]) -> list[str]:
    ranked: list[str] = []
    for i in order:
        if sources[i] not in ranked:
            ranked.append(sources[i])
        if len(ranked) == 10:
            break
    return ranked


def _score(rankings: list[list[str]], golds: list[str]) -> tuple[float, float, float]:
    r1 = r5 = mrr = 0.0
    for ranked, gold in zip(rankings, golds):
        if gold in ranked:
            rank = ranked.index(gold) + 1
            r1, r5, mrr = r1 + (rank == 1), r5 + (rank <= 5), mrr + 1 / rank
    n = len(golds)
    return r1 / n, r5 / n, mrr / n


def vector_ranks(path: Path, ids: list[str]) -> list[dict[int, int]]:
    """For each question, e5's top CANDIDATES passages (as positions in `ids`) and their ranks."""
    from squad_index import squad_retriever

    from rag.retrieval import CANDIDATES

    retriever, questions, _ = squad_retriever(path)
    where = {pid: i for i, pid in enumerate(ids)}
    out = []
    for q in questions:
        hits = retriever.store.query(retriever.query(q["question"]).vector, CANDIDATES)
        out.append({where[pid]: rank for rank, (pid, _, _) in enumerate(hits, 1)})
    return out


def measure(path: Path, tokenize, vectors=None) -> dict[str, tuple[float, float, float]]:
    from rag.retrieval import BM25_WEIGHT, CANDIDATES, FUSION

    docs, questions = load_squad(path)
    docs = list({d.source: d for d in docs}.values())
    passages = [p for d in docs for p in chunk_document(d)]
    sources = [p.source for p in passages]
    bm25 = BM25.from_tokens([tokenize(p.text) for p in passages], [p.id for p in passages],
                            sources)
    weight, k = FUSION["e5-small-q4"]
    alone, fused = [], []
    for n, q in enumerate(questions):
        scores = bm25.scores(tokenize(q["question"]))
        order = np.argsort(-scores, kind="stable")[:200]
        alone.append(_articles(order, sources))
        if vectors is not None:
            rrf: dict[int, float] = {}
            for rank, i in enumerate([i for i in order[:CANDIDATES] if scores[i] > 0], 1):
                rrf[i] = rrf.get(i, 0.0) + BM25_WEIGHT / (k + rank)
            for i, rank in vectors[n].items():
                rrf[i] = rrf.get(i, 0.0) + weight / (k + rank)
            fused.append(_articles(sorted(rrf, key=lambda i: (-rrf[i], passages[i].id)), sources))
    golds = [q["gold"] for q in questions]
    out = {"BM25 alone": _score(alone, golds)}
    if vectors is not None:
        out["fused with e5"] = _score(fused, golds)
    return out


def main() -> None:
    args = sys.argv[1:]
    fused = "--fused" in args
    names = [a for a in args if a != "--fused"] or list(VARIANTS)
    if fused:
        sys.path.insert(0, str(ROOT / "bench"))
    for label, path in SETS.items():
        vectors = None
        if fused:
            docs, _ = load_squad(path)
            docs = list({d.source: d for d in docs}.values())
            vectors = vector_ranks(path, [p.id for d in docs for p in chunk_document(d)])
        for name in names:
            for how, (r1, r5, mrr) in measure(path, VARIANTS[name], vectors).items():
                print(f"{label:10s} {name:32s} {how:14s} R@1 {r1:.4f}  R@5 {r5:.4f}  "
                      f"MRR@10 {mrr:.4f}", flush=True)


if __name__ == "__main__":
    main()
