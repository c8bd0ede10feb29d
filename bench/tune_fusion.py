"""Choose the fusion weights on ARCD-train only; ARCD-all and TyDi are then the reports.

For each vector weight and RRF k, passage rankings are fused and the gold paragraph's rank
measured (R@1, R@5, MRR@10). The two sides' rankings are computed once per question.

    .venv/bin/python bench/tune_fusion.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.evaluation import load_squad  # noqa: E402
from rag.indexing import index_documents  # noqa: E402
from rag.retrieval import HybridRetriever  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import open_store  # noqa: E402

MRR_SLACK = 0.002
ARCD_TRAIN = ROOT.parent / "shared" / "bench" / "arcd" / "arcd-train.json"


def main() -> None:
    docs, questions = load_squad(ARCD_TRAIN)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(env={}, index_dir=Path(tmp))
        store = open_store(settings)
        index_documents(settings, store, docs)
        retriever = HybridRetriever.from_store(store)
        for weight in (0.0, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0):
            for rrf_k in (10, 30, 60):
                retriever.vector_weight, retriever.rrf_k = weight, rrf_k
                r1 = r5 = mrr = 0.0
                for q in questions:
                    ranked = retriever.rank_sources(q["question"], 10)
                    rank = ranked.index(q["gold"]) + 1 if q["gold"] in ranked else None
                    r1 += rank == 1
                    r5 += bool(rank and rank <= 5)
                    mrr += 1 / rank if rank else 0.0
                n = len(questions)
                rows.append({"vector_weight": weight, "rrf_k": rrf_k, "recall_at_1": round(r1 / n, 4),
                             "recall_at_5": round(r5 / n, 4), "mrr_at_10": round(mrr / n, 4)})
                print(json.dumps(rows[-1]), flush=True)
    # The rule: the best recall@5 among settings whose MRR@10 is within MRR_SLACK of the best
    # MRR@10 (recall feeds the answerer; the ranking must not get worse to buy it).
    top_mrr = max(r["mrr_at_10"] for r in rows)
    near = [r for r in rows if r["mrr_at_10"] >= top_mrr - MRR_SLACK]
    best = max(near, key=lambda r: (r["recall_at_5"], r["mrr_at_10"]))
    print(json.dumps({"chosen": best}))


if __name__ == "__main__":
    main()
