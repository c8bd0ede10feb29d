"""Ask scripted Q&A with a candidate the fitting rule did not keep, for a measurement only.

`fit_answerer.py --choose two-stage` (through `try_features.py --tokens ...`) prints the
candidate's weights, answerability weights and threshold, and writes its metric to
rag/metrics.json (copy that file aside and restore it with git). This puts them in place for
one scorer, in this process only, with the token features of `try_features.py --tokens mean`
computed at question time (--dims as there), and asks the cases offline. Nothing is fitted
or chosen here.

    .venv/bin/python bench/ask_fitted.py OUT.json e5-dictionary tests/qa/english.jsonl \\
        --metrics /tmp/metrics.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import try_features  # noqa: E402
from rag import extractive  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.evaluation import load_cases, run_cases  # noqa: E402
from rag.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fitted", type=Path, help="fit_answerer.py's output (its last line)")
    parser.add_argument("scorer", choices=sorted(extractive.SCORERS))
    parser.add_argument("cases", type=Path)
    parser.add_argument("--metrics", type=Path, help="the metrics.json the fit wrote")
    parser.add_argument("--dims", type=int, default=0, help="as try_features.py --dims")
    args = parser.parse_args()
    out = [json.loads(line) for line in args.fitted.read_text(encoding="utf-8").splitlines()
           if line.startswith("{")][-1]
    extractive.sentence_features = try_features.tokens("mean", args.dims)
    if tuple(out["features"]) != extractive.FEATURES:
        sys.exit(f"{args.fitted} was fitted on other features: {out['features']}")
    metric = None
    if out.get("metric_saved"):
        if not args.metrics:
            sys.exit("this fit has a metric: give the metrics.json it wrote (--metrics)")
        extractive.METRICS = args.metrics
        extractive.metric_of.cache_clear()
        metric = args.scorer
    scorer = extractive.SCORERS[args.scorer]
    extractive.SCORERS[args.scorer] = dataclasses.replace(
        scorer, weights=tuple(np.asarray(out["weights"], dtype=float)),
        answerability=tuple(out["answerability"]), threshold=out["threshold"], metric=metric)
    assistant = Assistant.open(ROOT / "corpus", settings=Settings.from_env().replace(offline=True))
    result = run_cases(assistant, load_cases(args.cases))
    print(json.dumps({k: v for k, v in result.items() if k != "failures"}))
    for f in result["failures"]:
        print(f"{f['id']}: {f['reason']}")


if __name__ == "__main__":
    main()
