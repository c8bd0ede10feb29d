"""Other stemmings for the BM25 side, BM25 alone (bench/README.md, "The offline answerer"):
each variant tokenises the chunked paragraphs and the questions of ARCD-train and TyDi dev,
builds its own BM25 (rag.lexical, as the index does) and ranks the paragraphs; R@1, R@5 and
MRR@10 of the gold paragraph. Not built into sanad: see bench/README.md.

    .venv/bin/python bench/try_stemmers.py [VARIANT ...]
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


def measure(path: Path, tokenize) -> tuple[float, float, float]:
    docs, questions = load_squad(path)
    docs = list({d.source: d for d in docs}.values())
    passages = [p for d in docs for p in chunk_document(d)]
    sources = [p.source for p in passages]
    bm25 = BM25.from_tokens([tokenize(p.text) for p in passages], [p.id for p in passages],
                            sources)
    r1 = r5 = mrr = 0.0
    for q in questions:
        ranked: list[str] = []
        for i in np.argsort(-bm25.scores(tokenize(q["question"])), kind="stable")[:200]:
            if sources[i] not in ranked:
                ranked.append(sources[i])
            if len(ranked) == 10:
                break
        if q["gold"] in ranked:
            rank = ranked.index(q["gold"]) + 1
            r1, r5, mrr = r1 + (rank == 1), r5 + (rank <= 5), mrr + 1 / rank
    n = len(questions)
    return r1 / n, r5 / n, mrr / n


def main() -> None:
    names = sys.argv[1:] or list(VARIANTS)
    for label, path in SETS.items():
        for name in names:
            r1, r5, mrr = measure(path, VARIANTS[name])
            print(f"{label:10s} {name:32s} R@1 {r1:.4f}  R@5 {r5:.4f}  MRR@10 {mrr:.4f}",
                  flush=True)


if __name__ == "__main__":
    main()
