"""Conversations in SQLite, answers as `Answer.to_dict()` JSON."""

from __future__ import annotations

import json

import pytest
from rag_conftest import saved_answer

from rag.conversations import ChatStore, answer_from_dict


class Script:
    make_answer = staticmethod(saved_answer)


@pytest.fixture
def script():
    return Script


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


def test_two_writers_never_share_a_position(tmp_path, script):
    """Two chats adding to one conversation at once: positions are assigned in the write."""
    import multiprocessing as mp

    store = ChatStore(tmp_path)
    conversation = store.create("shared", "/c")
    store.close()
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_add_many, args=(tmp_path, conversation, n)) for n in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    rows = ChatStore(tmp_path).db.execute(
        "SELECT position FROM messages WHERE conversation_id = ?", (conversation,)).fetchall()
    positions = [r[0] for r in rows]
    assert len(positions) == 300 and sorted(positions) == list(range(300))


def _add_many(path, conversation, n):
    from rag.types import Answer

    store = ChatStore(path)
    for i in range(150):
        store.add(conversation, Answer(text="نص", citations=[], passages=[], query=f"{n}-{i}",
                                       question=f"{n}-{i}", answered=False))
    store.close()


def test_a_conversation_open_in_another_chat_is_not_opened_twice(tmp_path):
    import subprocess
    import sys

    first = ChatStore(tmp_path)
    conversation = first.create("mine", "/c")
    assert first.claim(conversation)  # the same chat may claim again
    code = ("import sys; from rag.conversations import ChatStore; "
            f"s = ChatStore(sys.argv[1]); print(s.claim({conversation}))")
    other = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                           text=True, check=True)
    assert other.stdout.strip() == "False"  # held by a running chat
    first.close()  # the chat ends: its hold goes with it
    other = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                           text=True, check=True)
    assert other.stdout.strip() == "True"
    # a hold left by a chat that died is not respected
    dead = ChatStore(tmp_path)
    dead.db.execute("UPDATE holders SET pid = 999999 WHERE conversation_id = ?", (conversation,))
    dead.db.commit()
    assert ChatStore(tmp_path).claim(conversation)


def test_rename_search_and_drop_the_last_turn(tmp_path, script):
    store = ChatStore(tmp_path)
    first = store.create("السؤال الأول", "/c")
    store.add(first, script.make_answer("متى أقامت كازاخستان علاقاتها؟"))
    store.add(first, script.make_answer("وما نسبة المسلمين؟"))
    other = store.create("weather", "/c")
    store.add(other, script.make_answer("weather", text="لا تتضمن المقالات إجابة."))
    assert store.rename(first, "  علاقات   كازاخستان ") == "علاقات كازاخستان"
    assert store.get(first).title == "علاقات كازاخستان"
    with pytest.raises(ValueError):
        store.rename(first, "   ")
    # an escape sequence would clear the terminal that lists the titles; ZWNJ stays (Persian)
    assert store.rename(other, "evil\x1b[2Jtitle\nمی\u200cخواهم") == "evil [2Jtitle می\u200cخواهم"
    # found by title, by a question, by an answer's words; spelling variants do not decide
    assert [c.id for c in store.search("علاقات")] == [first]
    assert [c.id for c in store.search("نسبه المسلمين")] == [first]
    assert [c.id for c in store.search("إجابة")] == [other]
    assert store.search("لا شيء من هذا") == []
    assert [c.id for c in store.search("")] == [other, first]
    store.drop_last(first)
    assert [a.question for a in store.answers(first)] == ["متى أقامت كازاخستان علاقاتها؟"]
    store.add(first, script.make_answer("سؤال معدل"))  # the edited question takes its place
    assert [a.question for a in store.answers(first)] == ["متى أقامت كازاخستان علاقاتها؟",
                                                          "سؤال معدل"]


HOLD = ("import sys, time; from rag.conversations import ChatStore; s = ChatStore(sys.argv[1]); "
        "s.claim(int(sys.argv[2])); print('held', flush=True); time.sleep(60)")


def test_numbers_are_never_given_twice_and_a_deleted_conversation_takes_no_turns(tmp_path, script):
    store = ChatStore(tmp_path)
    first = store.create("first", "/c")
    second = store.create("second", "/c")
    store.delete(second)
    third = store.create("third", "/c")
    assert third == second + 1  # SQLite alone gave the highest deleted number again
    other = ChatStore(tmp_path)  # another process's view of the same file
    assert other.create("fourth", "/c") == third + 1
    store.delete(first)
    from rag.conversations import ConversationGone
    with pytest.raises(ConversationGone, match=f"#{first} was deleted"):
        store.add(first, script.make_answer("سؤال"))
    assert [a.question for a in other.answers(third)] == []
    store.close()
    other.close()


def test_delete_releases_the_hold_and_a_running_chat_s_conversation_is_reported(tmp_path):
    import subprocess
    import sys

    store = ChatStore(tmp_path)
    mine = store.create("mine", "/c")
    assert store.holder(mine) is None  # held by this process: not "another chat"
    theirs = store.create("theirs", "/c")
    store.release(theirs)
    chat = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), str(theirs)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert chat.stdout.readline().strip() == "held"
        assert store.holder(theirs) == chat.pid
    finally:
        chat.kill()
        chat.wait()
    assert store.holder(theirs) is None  # that chat has ended
    store.delete(mine)
    assert store.db.execute("SELECT COUNT(*) FROM holders WHERE conversation_id = ?",
                            (mine,)).fetchone()[0] == 0
    store.close()


def test_a_damaged_row_does_not_hide_the_rest_of_the_conversation(tmp_path, script):
    store = ChatStore(tmp_path)
    conversation = store.create("c", "/c")
    store.add(conversation, script.make_answer("الأول"))
    store.add(conversation, script.make_answer("الثاني"))
    store.db.execute("UPDATE messages SET answer = '{not json' WHERE position = 0")
    store.db.commit()
    answers = store.answers(conversation)  # json.loads raised before, and the chat exited
    assert [a.question for a in answers] == ["الأول", "الثاني"]
    assert "could not be read" in answers[0].text and not answers[0].answered
    assert [c.id for c in store.search("الثاني")] == [conversation]
    assert store.search("not json") == []
    store.close()


def test_save_creates_adds_and_keeps_what_a_chat_shows_when_its_conversation_went(tmp_path,
                                                                                  script):
    store = ChatStore(tmp_path)
    first, second = script.make_answer("الأول"), script.make_answer("الثاني")
    number, gone = store.save(None, "/c", [first])
    assert gone is None and [a.question for a in store.answers(number)] == ["الأول"]
    assert store.save(number, "/c", [first, second]) == (number, None)
    store.delete(number)  # elsewhere, while the chat still shows both turns
    third = script.make_answer("الثالث")
    again, gone = store.save(number, "/c", [first, second, third])
    assert gone == number and again != number
    assert [a.question for a in store.answers(again)] == ["الأول", "الثاني", "الثالث"]
    assert store.get(again).title == "الأول"
    store.close()
