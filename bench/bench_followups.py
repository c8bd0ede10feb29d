"""Follow-up questions, offline.

    .venv/bin/python bench/bench_followups.py               # tests/qa/followups.jsonl
    .venv/bin/python bench/bench_followups.py --arcd-train  # bench/arcd_train_followups.jsonl

On tests/qa: the carried conversation words unweighted (as before) and weighted by
rag.lexical.CONTEXT_SHARE (0.5, set before tests/qa/followups.jsonl was written).

With --arcd-train: conversations written on ARCD-train articles (ids q*: the referent is in the
earlier question, a*: only in the earlier answer, t*: a new topic that opens like a follow-up,
u*: unanswerable), asked over the kept ARCD-train index (bench/squad_index.py). Rows: the rule
before vectors decided (always lean: rag.followup.LEAN_MARGIN = inf) and the vector decision at
several margins; rag.followup.LEAN_MARGIN is chosen here, never on tests/qa.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from rag import Assistant, Settings, followup, lexical  # noqa: E402
from rag.evaluation import load_cases, run_cases  # noqa: E402

KEYS = ("retrieval_hit_at_k", "mrr", "citation_precision", "citation_hit", "answer_accuracy",
        "refusal_accuracy")
ARCD_CASES = ROOT / "bench" / "arcd_train_followups.jsonl"
MARGINS = (0.0, 0.03, 0.05, 0.07, 0.1)


def tests_qa() -> dict:
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
    return out


def arcd_assistant(tmp: Path) -> Assistant:
    """An offline Assistant over a copy of the kept ARCD-train index, its paragraphs written
    out as the corpus files (so quotes are checked as on a real corpus)."""
    from squad_index import ARCD_TRAIN, WORK, squad_retriever

    _, _, docs = squad_retriever(ARCD_TRAIN)  # brings the kept index up to date
    index, corpus = tmp / "index", tmp / "corpus"
    shutil.copytree(WORK / f"{ARCD_TRAIN.stem}-e5-small-q4", index)
    corpus.mkdir()
    for source, doc in docs.items():
        (corpus / source).write_text(doc.text, encoding="utf-8")
    return Assistant(Settings.from_env(env={}, offline=True, index_dir=index, corpus_dir=corpus,
                                       collection="squad"))


def _right(assistant, case) -> bool:
    from rag.evaluation import contains_answer

    turns = []
    for earlier in case.history:
        turns.append(assistant.ask(earlier, history=turns))
    answer = assistant.ask(case.question, history=turns)
    if case.answerable:
        return answer.answered and contains_answer(answer.text, case.answer_contains)
    return not answer.answered


def arcd_train(margins=MARGINS) -> dict:
    cases = load_cases(ARCD_CASES)
    chosen = followup.LEAN_MARGIN
    out = {"n": len(cases), "chosen_margin": chosen}
    with tempfile.TemporaryDirectory() as tmp:
        assistant = arcd_assistant(Path(tmp))
        for name, margin in [("rule_today", float("inf"))] + [(f"margin_{m}", m) for m in margins]:
            followup.LEAN_MARGIN = margin
            right = {c.id: _right(assistant, c) for c in cases}
            row = {"right": sum(right.values())}
            for kind in "qatu":
                ids = [i for i in right if i.startswith(kind)]
                row[kind] = f"{sum(right[i] for i in ids)}/{len(ids)}"
            row["wrong"] = sorted(i for i, ok in right.items() if not ok)
            out[name] = row
            print(name, json.dumps(row), file=sys.stderr, flush=True)
    followup.LEAN_MARGIN = chosen
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arcd-train", action="store_true")
    parser.add_argument("--margins", help="comma-separated LEAN_MARGIN values to compare")
    args = parser.parse_args()
    if args.arcd_train:
        margins = tuple(float(m) for m in args.margins.split(",")) if args.margins else MARGINS
        print(json.dumps(arcd_train(margins), indent=2))
    else:
        print(json.dumps(tests_qa(), indent=2))


if __name__ == "__main__":
    main()
