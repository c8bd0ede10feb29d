"""Conversations in SQLite, answers as `Answer.to_dict()` JSON."""

from __future__ import annotations

import json

from tui.store import ChatStore, answer_from_dict


def test_answer_round_trips_through_its_json(script):
    answer = script.make_answer("سؤال", "سؤال موسع")
    again = answer_from_dict(json.loads(json.dumps(answer.to_dict(), ensure_ascii=False)))
    assert again == answer
    assert again.rewritten and again.citations[1].verified is False


def test_conversations_are_kept_per_corpus_and_in_order(tmp_path, script):
    store = ChatStore(tmp_path / "data")
    first = store.create("السؤال الأول", "/corpus/a")
    store.add(first, script.make_answer("السؤال الأول"))
    store.add(first, script.make_answer("والثاني؟", "والثاني موسع"))
    other = store.create("other", "/corpus/b")
    store.add(other, script.make_answer("other"))
    store.close()

    store = ChatStore(tmp_path / "data")  # a new run
    assert store.path.exists()
    assert [a.question for a in store.answers(first)] == ["السؤال الأول", "والثاني؟"]
    assert store.latest("/corpus/a").id == first
    assert [c.messages for c in store.conversations("/corpus/a")] == [2]
    assert store.latest("/corpus/b").id == other
    store.delete(first)
    assert store.answers(first) == [] and store.latest("/corpus/a") is None
    assert store.get(other).title == "other"


def test_an_empty_conversation_is_not_reopened(tmp_path):
    store = ChatStore(tmp_path)
    store.create("nothing asked", "/c")
    assert store.latest("/c") is None
