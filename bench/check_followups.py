"""Check follow-up conversations written on the news stories (bench/news_followups.jsonl, or one
writer's batch of them):

    .venv/bin/python bench/check_followups.py bench/news_followups.jsonl

One JSON object a line, in `sanad eval`'s format plus two keys:
  {"id": "b{N}s{S}f{F}", "story": "b{N}s{S}", "type": "q" | "a" | "u",
   "history": ["the first question, which the story's articles answer"],
   "first_answers": ["verbatim span answering the first question", ...],
   "question": "the follow-up, leaning on the first question or its answer",
   "answerable": true | false, "answer_contains": ["verbatim span", ...],
   "sources": ["article id", ...],            (every article that answers the follow-up)
   "same_sentence": true | false}             (its answer sits in a sentence that also
                                               answers the first question)
type q: the follow-up's referent is named in the first question; a: only in its answer;
u: an on-topic follow-up that none of the story's articles answers (answer_contains and
sources empty, same_sentence false).
Prints each PROBLEM and a summary; the writers ran it on their batches until it found none."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

from fit_answerer import news_stories  # noqa: E402
from rag.analysis import normalize, split_sentences  # noqa: E402
from rag.evaluation import contains_answer  # noqa: E402

ARABIC = re.compile(r"[\u0600-\u06FF]")
KEYS = {"id", "story", "type", "history", "first_answers", "question", "answerable",
        "answer_contains", "sources", "same_sentence"}


def stories() -> dict[str, dict[str, str]]:
    """story id (b{N}s{S}) -> {article id: text}, from bench/news_written.json."""
    out: dict[str, dict[str, str]] = {}
    for story in news_stories():
        for art in story["articles"]:
            out.setdefault(art["id"].rsplit("a", 1)[0], {})[art["id"]] = art["text"]
    return out


def _in_one_sentence(text: str, first: list[str], follow: list[str]) -> bool:
    return any(contains_answer(s, tuple(first)) and contains_answer(s, tuple(follow))
               for s in split_sentences(text))


def check(path: Path) -> list[str]:
    arts_of = stories()
    problems, ids, types = [], set(), Counter()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name}:{n}"
        try:
            c = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not JSON ({exc.msg})")
            continue
        if set(c) != KEYS:
            problems.append(f"{where}: keys {sorted(set(c) ^ KEYS)} missing or extra")
            continue
        where = f"{where} ({c['id']})"
        if c["id"] in ids:
            problems.append(f"{where}: repeated id")
        ids.add(c["id"])
        arts = arts_of.get(c["story"])
        if arts is None or not str(c["id"]).startswith(c["story"] + "f"):
            problems.append(f"{where}: unknown story {c['story']} or id not b{{N}}s{{S}}f{{F}}")
            continue
        types[c["type"]] += 1
        if c["type"] not in ("q", "a", "u"):
            problems.append(f"{where}: type must be q, a or u")
        if (len(c["history"]) != 1 or not all(isinstance(h, str) and ARABIC.search(h)
                                              for h in c["history"] + [c["question"]])):
            problems.append(f"{where}: one Arabic earlier question, and an Arabic follow-up")
        first = c["first_answers"]
        if not first or not any(contains_answer(t, tuple(first)) for t in arts.values()):
            problems.append(f"{where}: no first_answers span is found in the story's articles")
        if c["answerable"] != (c["type"] != "u"):
            problems.append(f"{where}: type u and only u is unanswerable")
        if not c["answerable"]:
            if c["answer_contains"] or c["sources"] or c["same_sentence"]:
                problems.append(f"{where}: unanswerable: answer_contains and sources empty, "
                                "same_sentence false")
            continue
        if not c["answer_contains"] or not c["sources"]:
            problems.append(f"{where}: answerable needs answer_contains and sources")
            continue
        for source in c["sources"]:
            if source not in arts:
                problems.append(f"{where}: source {source} is not one of the story's articles")
            elif not contains_answer(arts[source], tuple(c["answer_contains"])):
                problems.append(f"{where}: no answer span is found in {source}")
        missed = [a for a, t in arts.items()
                  if a not in c["sources"] and contains_answer(t, tuple(c["answer_contains"]))]
        if missed:
            problems.append(f"{where}: {missed} hold an answer span too: add them to sources")
        same = any(_in_one_sentence(arts[s], first, c["answer_contains"])
                   for s in c["sources"] if s in arts)
        if same != c["same_sentence"]:
            problems.append(f"{where}: same_sentence is {c['same_sentence']}, but a sentence "
                            f"holding both answers was {'' if same else 'not '}found")
        if any(normalize(a) in normalize(c["question"]) for a in c["answer_contains"]):
            problems.append(f"{where}: the follow-up gives its own answer away")
    print(f"{len(ids)} conversations, types {dict(types)}, {len(problems)} problems")
    return problems


if __name__ == "__main__":
    found = check(Path(sys.argv[1]))
    for p in found:
        print("PROBLEM:", p)
    sys.exit(1 if found else 0)
