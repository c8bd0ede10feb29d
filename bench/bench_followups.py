"""Follow-up questions, offline.

    .venv/bin/python bench/bench_followups.py               # tests/qa/followups.jsonl
    .venv/bin/python bench/bench_followups.py --arcd-train  # bench/arcd_train_followups.jsonl
    .venv/bin/python bench/bench_followups.py --news        # bench/news_followups.jsonl

On tests/qa: the carried conversation words unweighted (as before) and weighted by
rag.lexical.CONTEXT_SHARE (0.5 when tests/qa/followups.jsonl was written, and set before it;
0.25 since the eleventh session, chosen with --news and --arcd-train).

With --arcd-train: conversations written on ARCD-train articles (ids q*: the referent is in the
earlier question, a*: only in the earlier answer, t*: a new topic that opens like a follow-up,
u*: unanswerable), asked over the kept ARCD-train index (bench/squad_index.py). Rows: the rule
before vectors decided (always lean: rag.followup.LEAN_MARGIN = inf) and the vector decision at
several margins; rag.followup.LEAN_MARGIN is chosen here, never on tests/qa.

With --news: 480 conversations written on the stories of bench/news_written.json (one q, one a
and one u on each; bench/check_followups.py), asked over those stories' kept index. With it
and with --arcd-train, rows for how much of the earlier question is carried: its first
rag.followup.MAX_CARRIED_WORDS content words, weighing at most rag.lexical.CONTEXT_SHARE of the
typed words' idf mass (both chosen on these two sets together); and a row where the sentences
of the last answer may not be quoted again (measured, not built).
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

from rag import Assistant, Settings, extractive, followup, lexical  # noqa: E402
from rag.evaluation import load_cases, run_cases  # noqa: E402

KEYS = ("retrieval_hit_at_k", "mrr", "citation_precision", "citation_hit", "answer_accuracy",
        "refusal_accuracy")
ARCD_CASES = ROOT / "bench" / "arcd_train_followups.jsonl"
NEWS_CASES = ROOT / "bench" / "news_followups.jsonl"
# (MAX_CARRIED_WORDS, CONTEXT_SHARE): before the news conversations, then the grid around
CARRY_GRID = ((8, 0.5), (3, 0.5), (4, 0.5), (5, 0.5), (6, 0.5), (8, 0.25), (3, 0.15), (3, 0.25),
              (3, 0.35), (4, 0.15), (4, 0.25), (4, 0.35), (5, 0.15), (5, 0.25))
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


_SAID: list[str] = []  # the last answer's text, for `unrepeated`


def _right(assistant, case) -> bool:
    from rag.evaluation import contains_answer

    turns = []
    for earlier in case.history:
        turns.append(assistant.ask(earlier, history=turns))
    _SAID[:] = [turns[-1].text] if turns else []
    answer = assistant.ask(case.question, history=turns)
    if case.answerable:
        return answer.answered and contains_answer(answer.text, case.answer_contains)
    return not answer.answered


def news_assistant(tmp: Path) -> Assistant:
    """An offline Assistant over a copy of the news stories' kept index, their articles
    written out as the corpus files."""
    from fit_answerer import news_set
    from squad_index import WORK, squad_retriever

    news_set("e5-small-q4")  # writes the stories' SQuAD file, if they changed
    _, _, docs = squad_retriever(WORK / "news-written.json")  # brings the index up to date
    index, corpus = tmp / "index", tmp / "corpus"
    shutil.copytree(WORK / "news-written-e5-small-q4", index)
    corpus.mkdir()
    for source, doc in docs.items():
        (corpus / source).write_text(doc.text, encoding="utf-8")
    return Assistant(Settings.from_env(env={}, offline=True, index_dir=index, corpus_dir=corpus,
                                       collection="squad"))


def _judged(assistant, cases, groups: dict) -> dict:
    """Conversations answered right, in all and by group (id -> its groups), and the
    objective: right answers weigh PRIOR of answerable questions, right refusals the rest."""
    from fit_answerer import PRIOR

    right = {c.id: _right(assistant, c) for c in cases}
    row = {"right": sum(right.values())}
    for name in sorted({g for gs in groups.values() for g in gs}):
        ids = [i for i in right if name in groups[i]]
        row[name] = f"{sum(right[i] for i in ids)}/{len(ids)}"
    answerable = [right[c.id] for c in cases if c.answerable]
    refused = [right[c.id] for c in cases if not c.answerable]
    row["objective"] = round(PRIOR[0] * sum(answerable) / max(1, len(answerable))
                             + (1 - PRIOR[0]) * sum(refused) / max(1, len(refused)), 4)
    row["wrong"] = sorted(i for i, ok in right.items() if not ok)
    return row


def unrepeated(candidates, scorer):
    """`extractive.kind_checked`, then without the sentences of the last answer."""
    return [c for c in _kind_checked(candidates, scorer)
            if not any(c.text in said for said in _SAID)]


_kind_checked = extractive.kind_checked


def carry_rows(assistant, cases, groups: dict) -> dict:
    """Each (MAX_CARRIED_WORDS, CONTEXT_SHARE) of CARRY_GRID, then the chosen pair with the
    last answer's sentences never quoted again."""
    chosen = followup.MAX_CARRIED_WORDS, lexical.CONTEXT_SHARE
    out = {}
    for words, share, name in [(w, s, f"carry_{w}_share_{s}") for w, s in CARRY_GRID] + [
            (*chosen, "chosen_unrepeated")]:
        followup.MAX_CARRIED_WORDS, lexical.CONTEXT_SHARE = words, share
        extractive.kind_checked = unrepeated if name.endswith("unrepeated") else _kind_checked
        try:
            out[name] = _judged(assistant, cases, groups)
        finally:
            followup.MAX_CARRIED_WORDS, lexical.CONTEXT_SHARE = chosen
            extractive.kind_checked = _kind_checked
        print(name, json.dumps({k: v for k, v in out[name].items() if k != "wrong"}),
              file=sys.stderr, flush=True)
    return out


def news() -> dict:
    lines = [json.loads(line) for line in NEWS_CASES.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    groups = {c["id"]: (c["type"],) + (("same_sentence",) if c["same_sentence"] else ())
              for c in lines}
    cases = load_cases(NEWS_CASES)
    with tempfile.TemporaryDirectory() as tmp:
        return {"n": len(cases)} | carry_rows(news_assistant(Path(tmp)), cases, groups)


def arcd_train(margins=MARGINS) -> dict:
    cases = load_cases(ARCD_CASES)
    chosen = followup.LEAN_MARGIN
    out = {"n": len(cases), "chosen_margin": chosen}
    with tempfile.TemporaryDirectory() as tmp:
        assistant = arcd_assistant(Path(tmp))
        groups = {c.id: (c.id[0],) for c in cases}  # q, a, t, u
        for name, margin in [("rule_today", float("inf"))] + [(f"margin_{m}", m) for m in margins]:
            followup.LEAN_MARGIN = margin
            out[name] = _judged(assistant, cases, groups)
            print(name, json.dumps(out[name]), file=sys.stderr, flush=True)
        followup.LEAN_MARGIN = chosen
        out |= carry_rows(assistant, cases, groups)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arcd-train", action="store_true")
    parser.add_argument("--news", action="store_true")
    parser.add_argument("--margins", help="comma-separated LEAN_MARGIN values to compare")
    args = parser.parse_args()
    if args.news:
        print(json.dumps(news(), indent=2))
    elif args.arcd_train:
        margins = tuple(float(m) for m in args.margins.split(",")) if args.margins else MARGINS
        print(json.dumps(arcd_train(margins), indent=2))
    else:
        print(json.dumps(tests_qa(), indent=2))


if __name__ == "__main__":
    main()
