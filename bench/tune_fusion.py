"""Choose the fusion weights on ARCD-train only; ARCD-all and TyDi are then the reports.

For each vector weight and RRF k, the two sides' passage rankings (computed once per question)
are fused and the gold paragraph's rank measured (R@1, R@5, MRR@10).

With --english, the questions are the English translations of ARCD-train's
(bench/arcd_train_en.jsonl), whose BM25 side reads the stems the English-Arabic dictionary
gives them (rag/lexicon.py; it must be installed): the weights for a translated question.

    .venv/bin/python bench/tune_fusion.py [--embedding e5-small-q4] [--english]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from squad_index import ARCD_TRAIN, squad_retriever  # noqa: E402

from rag import lexicon  # noqa: E402

MRR_SLACK = 0.002
CANDIDATES = 50


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--embedding", default="e5-small-q4")
    parser.add_argument("--english", action="store_true",
                        help="English questions translated by the dictionary")
    args = parser.parse_args()
    retriever, questions, _ = squad_retriever(ARCD_TRAIN, args.embedding)
    if args.english:
        if retriever.lexicon is None:
            sys.exit(f"--english needs the English-Arabic dictionary: {lexicon.INSTALL}")
        by_id = {q["id"]: q for q in questions}
        lines = (json.loads(line) for line in open(ROOT / "bench" / "arcd_train_en.jsonl",
                                                   encoding="utf-8"))
        questions = [{**by_id[e["id"]], "question": e["question"]} for e in lines
                     if "gold" not in e]
    sides = []
    for q in questions:
        query = retriever.query(q["question"])
        source = {}
        bm25 = {}
        for r, (i, _) in enumerate(retriever.bm25.top(query.tokens, CANDIDATES), 1):
            pid = str(retriever.bm25.ids[i])
            bm25[pid], source[pid] = r, retriever.bm25.source(i)
        vec = {}
        for r, (pid, _, src) in enumerate(retriever.store.query(query.vector, CANDIDATES), 1):
            vec[pid], source[pid] = r, src
        sides.append((q["gold"], bm25, vec, source))
    rows = []
    for weight in (0.0, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, math.inf):
        for rrf_k in (10, 30, 60):
            r1 = r5 = mrr = 0.0
            for gold, bm25, vec, source_of in sides:
                fused: dict[str, float] = {}
                for i, r in bm25.items():
                    fused[i] = fused.get(i, 0.0) + (0.0 if weight == math.inf else 1.0) / (rrf_k + r)
                for i, r in vec.items():
                    fused[i] = fused.get(i, 0.0) + (1.0 if weight == math.inf else weight) / (rrf_k + r)
                ranked = []
                for i in sorted(fused, key=lambda i: (-fused[i], i)):
                    source = source_of[i]
                    if source not in ranked:
                        ranked.append(source)
                rank = ranked.index(gold) + 1 if gold in ranked[:10] else None
                r1 += rank == 1
                r5 += bool(rank and rank <= 5)
                mrr += 1 / rank if rank else 0.0
            n = len(sides)
            rows.append({"vector_weight": "vectors only" if weight == math.inf else weight,
                         "rrf_k": rrf_k, "recall_at_1": round(r1 / n, 4),
                         "recall_at_5": round(r5 / n, 4), "mrr_at_10": round(mrr / n, 4)})
            print(json.dumps(rows[-1]), flush=True)
    # The rule: the best recall@5 among settings whose MRR@10 is within MRR_SLACK of the best
    # MRR@10 (recall feeds the answerer; the ranking must not get worse to buy it).
    top_mrr = max(r["mrr_at_10"] for r in rows)
    near = [r for r in rows if r["mrr_at_10"] >= top_mrr - MRR_SLACK]
    best = max(near, key=lambda r: (r["recall_at_5"], r["mrr_at_10"]))
    print(json.dumps({"embedding": args.embedding, "english": args.english, "chosen": best}))


if __name__ == "__main__":
    main()
