"""Follow-up questions, offline: the carried conversation words unweighted (as before) and
weighted by rag.lexical.CONTEXT_SHARE (0.5, set before tests/qa/followups.jsonl was written).

    .venv/bin/python bench/bench_followups.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Assistant, Settings, lexical  # noqa: E402
from rag.evaluation import load_cases, run_cases  # noqa: E402

KEYS = ("retrieval_hit_at_k", "mrr", "citation_precision", "citation_hit", "answer_accuracy",
        "refusal_accuracy")


def main() -> None:
    cases = load_cases(ROOT / "tests" / "qa" / "followups.jsonl")
    chosen = lexical.CONTEXT_SHARE
    out = {"n": len(cases)}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(env={}, offline=True, index_dir=Path(tmp),
                                     corpus_dir=ROOT / "corpus")
        assistant = Assistant(settings)
        assistant.index()
        for name, share in (("unweighted", float("inf")), (f"context_share_{chosen}", chosen)):
            lexical.CONTEXT_SHARE = share
            m = run_cases(assistant, cases, k=5)
            out[name] = {k: m[k] for k in KEYS} | {"failures": [f["id"] for f in m["failures"]]}
    lexical.CONTEXT_SHARE = chosen
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
