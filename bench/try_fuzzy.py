"""Spelling-tolerant BM25 (an experiment, not built; bench/README.md, "Retrieval"): a question
stem the index does not know is also searched as the index's stems one edit away (a letter
dropped, added or changed: قازاخستان / كازاخستان), weighted w, summed or the best one taken.
BM25 alone and fused with e5 as sanad fuses them (rag/retrieval.py FUSION); R@1, R@5 and
MRR@10 of the gold article on ARCD-train (where a rule would choose) and TyDi dev.

    .venv/bin/python bench/try_fuzzy.py arcd|tydi
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from squad_index import ARCD_TRAIN, TYDI, squad_retriever  # noqa: E402

from rag.retrieval import FUSION  # noqa: E402


def edits(tok, letters):
    out = set()
    n = len(tok)
    for i in range(n):
        out.add(tok[:i] + tok[i+1:])
        for c in letters:
            out.add(tok[:i] + c + tok[i+1:])
    for i in range(n + 1):
        for c in letters:
            out.add(tok[:i] + c + tok[i:])
    out.discard(tok)
    return out


def main(path, grid):
    r, questions, _ = squad_retriever(path)
    bm = r.bm25
    letters = sorted({c for t in bm.vocab for c in t if t})
    weight, rrf_k = FUSION["e5-small-q4"]
    data = []
    for q in questions:
        query = r.query(q["question"])
        vec = {}
        src = {}
        for rank, (pid, _, s) in enumerate(r.store.query(query.vector, 50), 1):
            vec[pid] = rank; src[pid] = s
        oov = []
        for t in query.tokens:
            if t and t not in bm.vocab:
                near = sorted(v for v in edits(t, letters) if v in bm.vocab and v)
                oov.append((t, near))
        data.append((q["gold"], query.tokens, oov, vec, src))
    print(path.stem, "questions", len(data), "with expandable OOV", sum(1 for d in data if any(n for _, n in d[2])), flush=True)
    for minlen, w, comb in grid:
        R1 = R5 = MRR = 0.0; B5 = BM = 0.0
        for gold, toks, oov, vec, src in data:
            s = bm.scores(toks)
            if w:
                for t, near in oov:
                    if len(t) >= minlen and near:
                        if comb == "sum":
                            s = s + w * bm.scores(near)
                        elif comb == "max":
                            s = s + w * np.max([bm.scores([v]) for v in near], axis=0)
                        elif comb == "mean":
                            s = s + w * bm.scores(near) / len(near)
            k = min(50, len(s))
            idx = np.argpartition(-s, k - 1)[:k]
            idx = idx[np.argsort(-s[idx], kind="stable")]
            bmr = {}
            for rank, i in enumerate([i for i in idx if s[i] > 0], 1):
                pid = bm.passage_id(i); bmr[pid] = rank; src[pid] = bm.source(i)
            for which, ranks in (("bm", bmr), ("hy", None)):
                if ranks is None:
                    fused = {}
                    for pid, rk in bmr.items(): fused[pid] = fused.get(pid, 0) + 1.0 / (rrf_k + rk)
                    for pid, rk in vec.items(): fused[pid] = fused.get(pid, 0) + weight / (rrf_k + rk)
                    order = sorted(fused, key=lambda p: (-fused[p], p))
                else:
                    order = sorted(ranks, key=lambda p: ranks[p])
                ranked = []
                for p in order:
                    if src[p] not in ranked: ranked.append(src[p])
                rank = ranked.index(gold) + 1 if gold in ranked[:10] else None
                if which == "bm":
                    B5 += bool(rank and rank <= 5); BM += 1 / rank if rank else 0
                else:
                    R1 += rank == 1; R5 += bool(rank and rank <= 5); MRR += 1 / rank if rank else 0
        n = len(data)
        print(json.dumps({"set": path.stem, "minlen": minlen, "w": w, "comb": comb, "bm25_r5": round(B5/n,4), "bm25_mrr": round(BM/n,4),
                          "hy_r1": round(R1/n,4), "hy_r5": round(R5/n,4), "hy_mrr": round(MRR/n,4)}), flush=True)

GRID = [(4, 0, "sum")] + [(m, w, c) for m in (3, 4, 5, 6) for w in (0.3, 0.5, 0.7, 1.0)
                          for c in ("sum", "max")]  # (shortest stem expanded, weight, how)

if __name__ == "__main__":
    main({"arcd": ARCD_TRAIN, "tydi": TYDI}[sys.argv[1]], GRID)
