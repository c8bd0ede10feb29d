"""`sanad eval`: scripted Q&A cases (JSONL) through the assistant, or retrieval on SQuAD-format
files, with the metrics described in README.md (Scripted Q&A)."""

from __future__ import annotations

import json
import sys

from .cli import ProgressBar, _ensure_index, settings_from_args
from .errors import ConfigError
from .types import Progress


def add_parser(sub, common) -> None:
    p = sub.add_parser("eval", help="run a scripted Q&A file or a SQuAD benchmark",
                       description="Run scripted Q&A cases (JSONL) through the assistant and "
                                   "report retrieval, citation and answer metrics; or, with "
                                   "--squad, measure retrieval on SQuAD-format files.")
    common(p)
    p.add_argument("file", nargs="?", help="JSONL file of cases")
    p.add_argument("--squad", nargs="+", metavar="FILE", help="SQuAD-format JSON file(s), pooled")
    p.add_argument("--retrieval", default="hybrid",
                   help="with --squad: comma-separated modes among hybrid,bm25,vector")
    p.add_argument("--limit", type=int, metavar="N", help="with --squad: first N questions only")
    p.add_argument("--k", "-k", type=int, dest="k", metavar="N", help="top-k (default 5)")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.add_argument("--min-answer-accuracy", type=float, metavar="X",
                   help="exit 1 if answer accuracy is below X")


def cmd_eval(args) -> int:
    from .assistant import Assistant
    from .evaluation import load_cases, run_cases, run_squad

    settings = settings_from_args(args)
    bar = ProgressBar()
    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit must be 1 or more, not {args.limit}.")
    squad_only = [flag for flag, given in (("--limit", args.limit is not None),
                                           ("--retrieval", args.retrieval != "hybrid")) if given]
    if squad_only and not args.squad:
        raise ConfigError(f"{' and '.join(squad_only)} "
                          f"{'go' if len(squad_only) > 1 else 'goes'} with --squad only.")
    if args.squad and args.min_answer_accuracy is not None:
        raise ConfigError("--min-answer-accuracy goes with a Q&A file, not --squad.")
    if args.squad:
        modes = tuple(m.strip() for m in args.retrieval.split(",") if m.strip())
        bad = set(modes) - {"hybrid", "bm25", "vector"}
        if bad or not modes:
            raise ConfigError(f"--retrieval takes hybrid, bm25 or vector, not {','.join(bad) or 'nothing'}.")
        result = run_squad(args.squad, settings, modes,
                           progress=lambda stage, d, t: bar(_P(stage, d, t)), limit=args.limit)
        if args.json:
            print(json.dumps(result, ensure_ascii=False, indent=2))
        else:
            print(f"{result['paragraphs']} paragraphs, {result['questions']} questions")
            print(f"{'mode':<8} {'R@1':>6} {'R@5':>6} {'R@20':>6} {'MRR@10':>7}")
            for mode, m in result["modes"].items():
                print(f"{mode:<8} {m['recall_at_1']:>6.3f} {m['recall_at_5']:>6.3f} "
                      f"{m['recall_at_20']:>6.3f} {m['mrr_at_10']:>7.3f}")
            if "answer_contains" in result:
                print(f"answer_contains (hybrid, extractive): {result['answer_contains']:.3f}")
        return 0
    if not args.file:
        raise ConfigError("Give a JSONL file of cases, or --squad FILE.")
    cases = load_cases(args.file)
    assistant = Assistant(settings)
    _ensure_index(assistant)
    result = run_cases(assistant, cases, k=args.k, progress=lambda d, t: bar(_P("eval", d, t)))
    if result["fell_back"]:
        print(f"note: {result['fell_back']} of {result['n']} answers came from the offline "
              "answerer because the chat model failed; these metrics mix the two (--no-fallback "
              "stops at the first failure instead).", file=sys.stderr)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        for key in ("n", "k", "mode", "fell_back", "retrieval_hit_at_k", "mrr", "citation_precision",
                    "citation_hit", "answer_accuracy", "refusal_accuracy", "latency_ms_p50",
                    "latency_ms_p95"):
            value = result[key]
            print(f"{key:<20} {value:.3f}" if isinstance(value, float) else f"{key:<20} {value}")
        print(f"{'failures':<20} {len(result['failures'])}")
        for f in result["failures"]:
            print(f"  {f['id']}: {f['question']}\n      {f['reason']}")
    if args.min_answer_accuracy is not None and (result["answer_accuracy"] or 0) < args.min_answer_accuracy:
        print(f"answer accuracy {result['answer_accuracy']} is below {args.min_answer_accuracy}",
              file=sys.stderr)
        return 1
    return 0


def _P(stage, done, total):
    return Progress(stage, done, total)
