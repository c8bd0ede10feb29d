"""Passage vectors derived from their sentences' instead of embedded (issue 8: "a passage
vector may be derived from its sentences' if that measures no worse"): retrieval on the kept
ARCD-train and TyDi-GoldP-ar dev indexes (bench/squad_index.py), each passage's vector as
stored against the normalised mean of its answer-sized sentences' stored e5 vectors (plain,
or weighted by their words). A passage with no answer-sized sentence keeps its own. The
passage vectors are searched exactly here (a matrix product) for every variant, the stored
ones too, so only the vectors differ; vector-alone and hybrid (BM25 fused as sanad fuses)
R@1, R@5 and MRR@10 by source, as `sanad eval --squad` counts them.

    .venv/bin/python bench/try_derived.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from rag.chunking import passage_sentences  # noqa: E402
from rag.embeddings import E5_DIM  # noqa: E402
from squad_index import ARCD_TRAIN, TYDI, squad_retriever  # noqa: E402


def _unit(m: np.ndarray) -> np.ndarray:
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def variants(retriever) -> tuple[list, list, dict[str, np.ndarray], dict]:
    """(passage ids, their sources, {variant: unit vectors, one row a passage}, counts)."""
    store = retriever.store
    passages = store.passages()
    ids = [p.id for p in passages]
    stored = store.vectors(ids)
    sentences = {p.id: passage_sentences(p) for p in passages}
    vectors = retriever.sentence_vectors(sorted({s.id for ss in sentences.values() for s in ss}))
    out = {"stored": np.array([stored[i] for i in ids], dtype=np.float32)}
    plain, weighted, kept = [], [], 0
    for p, own in zip(passages, out["stored"]):
        got = [(vectors[s.id][:E5_DIM], len(s.text.split())) for s in sentences[p.id]
               if s.id in vectors]
        if not got:
            kept += 1
            plain.append(own)
            weighted.append(own)
            continue
        vs = np.array([v for v, _ in got])
        ws = np.array([w for _, w in got], dtype=np.float32)
        plain.append(vs.mean(axis=0))
        weighted.append((vs * ws[:, None]).sum(axis=0))
    out["mean of sentences"] = _unit(np.array(plain))
    out["word-weighted mean of sentences"] = _unit(np.array(weighted))
    agree = float(np.mean(np.sum(out["stored"] * out["word-weighted mean of sentences"], axis=1)))
    return ids, [p.source for p in passages], out, {
        "passages": len(ids), "without answer-sized sentences": kept,
        "mean cosine, stored vs word-weighted": round(agree, 4)}


def measure(retriever, questions, ids, sources, matrix, mode: str) -> dict:
    def exact(vector, k):
        scores = matrix @ np.asarray(vector, dtype=np.float32)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(ids[i], 1.0 - float(scores[i]), sources[i]) for i in top]
    retriever.store.query = exact
    retriever.mode = mode
    r1 = r5 = mrr = 0.0
    for query, gold in questions:
        ranked = retriever.rank_sources(query, 20)
        rank = ranked.index(gold) + 1 if gold in ranked else None
        r1 += rank == 1
        r5 += bool(rank and rank <= 5)
        mrr += 1.0 / rank if rank and rank <= 10 else 0.0
    n = len(questions)
    return {"R@1": round(r1 / n, 4), "R@5": round(r5 / n, 4), "MRR@10": round(mrr / n, 4)}


def main() -> None:
    report = {}
    for path in (ARCD_TRAIN, TYDI):
        retriever, questions, _ = squad_retriever(path)
        ids, sources, matrices, counts = variants(retriever)
        asked = [(retriever.query(q["question"]), q["gold"]) for q in questions]
        for query, _ in asked:
            query.vector  # noqa: B018  (embedded once, read by every variant)
        report[path.stem] = {"questions": len(asked), **counts, **{
            f"{name}, {mode}": measure(retriever, asked, ids, sources, m, mode)
            for name, m in matrices.items() for mode in ("vector", "hybrid")}}
        print(json.dumps({path.stem: report[path.stem]}, ensure_ascii=False), flush=True)
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
