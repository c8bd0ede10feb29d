"""Check written news stories (bench/news_written.json, or one writer's batch of them):

    .venv/bin/python bench/check_news.py bench/news_written.json

The file is one JSON object {"stories": [story, ...]}; each story is
  {"story": "a short English label",
   "articles": [{"id": "b{N}s{S}a{A}", "outlet": "...", "text": "..."}, ...],   (three)
   "questions": [{"id": "b{N}s{S}q{Q}", "question": "Arabic", "question_en": "English",
                  "answerable": true | false, "answers": ["verbatim span", ...],
                  "sources": ["article id", ...]}, ...]}                        (8 + 4)
Prints each problem (PROBLEM: ...), each thing to look at again (note: ...), and the mean share
of an answerable question's content stems found in the sentence that answers it (a paraphrase
shares few). The writers ran it on their batches until it found no problem."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.analysis import tokenize  # noqa: E402
from rag.evaluation import contains_answer  # noqa: E402

# The test corpus's subject: the stories must not be about it.
FORBIDDEN = ("كازاخ", "أبراهام", "ابراهام", "الإبراهيمية", "الابراهيمية", "أستانا", "توكاي")
ARABIC = re.compile(r"[\u0600-\u06FF]")


def check_articles(story: dict, ids: set, problems: list) -> dict[str, str]:
    arts = {a["id"]: a["text"] for a in story["articles"]}
    if len(arts) != 3:
        problems.append(f"{story['story']}: {len(arts)} articles, want 3")
    for aid, text in arts.items():
        if aid in ids:
            problems.append(f"duplicate id {aid}")
        ids.add(aid)
        words = len(text.split())
        paragraphs = [p for p in text.split("\n") if p.strip()]
        if not 200 <= words <= 600:
            problems.append(f"{aid}: {words} words, want 250-450")
        if len(paragraphs) < 3:
            problems.append(f"{aid}: {len(paragraphs)} paragraphs, want 3-6 (one a line)")
        if any(w in text for w in FORBIDDEN):
            problems.append(f"{aid}: about the test corpus's subject")
    return arts


def answering_share(q: dict, arts: dict[str, str]) -> float:
    """Share of the question's stems found in the first sentence of its first source that
    holds an answer span."""
    sents = re.split(r"(?<=[.!؟?])\s+|\n", arts.get(q["sources"][0], ""))
    sent = next((s for s in sents if contains_answer(s, tuple(q["answers"]))), "")
    stems, found = tokenize(q["question"]), set(tokenize(sent))
    return sum(t in found for t in stems) / max(1, len(stems))


def check_answerable(q: dict, arts: dict[str, str], problems: list, notes: list) -> float | None:
    qid, answers = q["id"], tuple(q["answers"])
    if not answers or not q["sources"]:
        problems.append(f"{qid}: answerable without answers or sources")
        return None
    for src in q["sources"]:
        if src not in arts:
            problems.append(f"{qid}: unknown source {src}")
        elif not contains_answer(arts[src], answers):
            problems.append(f"{qid}: no answer span is verbatim in {src}: {list(answers)}")
    others = [a for a in arts if a not in q["sources"] and contains_answer(arts[a], answers)]
    if others:
        notes.append(f"{qid}: an answer span is also in {others}: a source, if it answers too")
    if contains_answer(q["question"], answers):
        problems.append(f"{qid}: the answer is in the question")
    if any(len(a) > 60 for a in answers):
        problems.append(f"{qid}: an answer span is long: keep it to the fact")
    if any(src not in arts for src in q["sources"]):
        return None
    share = answering_share(q, arts)
    if share > 0.6:
        notes.append(f"{qid}: shares {share:.2f} of its stems with its sentence: paraphrase more")
    return share


def check(path: str) -> tuple[list[str], list[str], list[float], int]:
    stories = json.loads(Path(path).read_text(encoding="utf-8"))["stories"]
    problems: list[str] = []
    notes: list[str] = []
    shares: list[float] = []
    ids: set[str] = set()
    for story in stories:
        arts = check_articles(story, ids, problems)
        counts = [0, 0]
        for q in story["questions"]:
            missing = [k for k in ("id", "question", "question_en", "answerable", "answers",
                                   "sources") if k not in q]
            if missing:
                problems.append(f"{q.get('id')}: missing {missing}")
                continue
            if q["id"] in ids:
                problems.append(f"duplicate id {q['id']}")
            ids.add(q["id"])
            counts[bool(q["answerable"])] += 1
            if q["answerable"]:
                share = check_answerable(q, arts, problems, notes)
                if share is not None:
                    shares.append(share)
            elif q["answers"] or q["sources"]:
                problems.append(f"{q['id']}: unanswerable with answers or sources")
            if not ARABIC.search(q["question"]):
                problems.append(f"{q['id']}: the question is not in Arabic")
            if ARABIC.search(q["question_en"]):
                problems.append(f"{q['id']}: question_en holds Arabic")
        if counts[1] < 8 or counts[0] < 4:
            problems.append(f"{story['story']}: {counts[1]} answerable, {counts[0]} "
                            "unanswerable; want 8 and 4")
    return problems, notes, shares, len(stories)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    problems, notes, shares, n = check(sys.argv[1])
    for p in problems:
        print("PROBLEM:", p)
    for p in notes:
        print("note:", p)
    print(f"{n} stories; {len(problems)} problems; mean stem share of answerable questions "
          f"with their sentence: {sum(shares) / max(1, len(shares)):.2f} over {len(shares)}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
