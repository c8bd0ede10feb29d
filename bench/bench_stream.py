"""Streaming latency: from the server sending the first token to the caller seeing it.

Runs `Assistant.stream` in LLM mode against the scripted OpenAI-compatible test server
(tests/openai_server.py) whose first token is delayed (300 ms by default), and measures, per run,
the time between the server writing the first content chunk and the caller receiving the first
`TextDelta`. Both clocks are `time.perf_counter()` in this one process. Target: p95 < 50 ms.

    .venv/bin/python bench/bench_stream.py [--runs 20] [--first-delay 0.3]

Prints one JSON object. The index is built once in bench/.work/stream-index.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

TARGET_MS = 50.0
QUESTION = "متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟"


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def _summary(values: list[float]) -> dict:
    return {"p50": round(statistics.median(values), 2), "p95": round(_pct(values, 0.95), 2),
            "max": round(max(values), 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--first-delay", type=float, default=0.3, help="seconds")
    args = parser.parse_args(argv)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

    from openai_server import OpenAIServer, Reply

    from rag import Assistant, Settings
    from rag.types import TextDelta

    work = ROOT / "bench" / ".work" / "stream-index"
    chunks = ["أقامت كازاخستان ", "«علاقات دبلوماسية مع إسرائيل في عام 1992» ", "[1]."]
    first_delta, to_request, total = [], [], []
    with OpenAIServer() as server:
        settings = Settings.from_env(env={}, corpus_dir=ROOT / "corpus", index_dir=work,
                                     base_url=server.url, api_key="bench", model="bench-model")
        assistant = Assistant(settings)
        assistant.index()
        for run in range(args.runs + 1):  # run 0 warms up imports and the retriever
            server.script(Reply(chunks=chunks, first_delay=args.first_delay, chunk_delay=0.01))
            t0 = time.perf_counter()
            received = None
            for event in assistant.stream(QUESTION):
                if isinstance(event, TextDelta) and received is None:
                    received = time.perf_counter()
            done = time.perf_counter()
            request = server.chat_requests[-1]
            if run == 0:
                continue
            first_delta.append((received - request["sent"][0]) * 1000)
            to_request.append((request["received"] - t0) * 1000)
            total.append((done - t0) * 1000)
    result = {
        "runs": args.runs,
        "first_token_delay_ms": round(args.first_delay * 1000),
        "server_first_token_to_first_delta_ms": _summary(first_delta),
        "question_to_request_ms": _summary(to_request),
        "question_to_done_ms": _summary(total),
        "target_ms": TARGET_MS,
        "meets_target": _pct(first_delta, 0.95) < TARGET_MS,
    }
    print(json.dumps(result, indent=2))
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
