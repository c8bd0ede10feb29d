"""What counts as a question: invisible marks and control characters are not words."""

from __future__ import annotations

import pytest

from rag import QuestionError
from rag.assistant import clean_question


@pytest.mark.parametrize("question", ["\u200b\u200f\u202b", "\u2066\u2069 \u200d", "\x00\x1b\x07"])
def test_a_question_of_only_invisible_marks_is_empty(assistant, question):
    with pytest.raises(QuestionError, match="empty"):
        assistant.ask(question)


def test_control_characters_do_not_change_the_answer(assistant):
    plain = "متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟"
    noisy = "متى\x1b أقامت\u200b كازاخستان\x00 علاقات\u202e دبلوماسية مع\x07 إسرائيل؟\n"
    assert clean_question(noisy) == plain
    a, b = assistant.ask(plain), assistant.ask(noisy)
    assert b.question == plain and a.text == b.text


@pytest.mark.parametrize("history, needle", [
    ("متى زار نتنياهو كازاخستان؟", "not str"),  # a string was read letter by letter
    (5, "not int"),
    ([None], "holds an item of type NoneType"),
    (["متى زار نتنياهو كازاخستان؟"], "holds an item of type str"),
])
def test_a_history_that_is_not_earlier_answers_is_one_sentence(assistant, history, needle):
    # these used to fail deep inside with AttributeError: 'str' object has no attribute 'query'
    with pytest.raises(QuestionError, match=f"history must be a list of earlier answers.*{needle}"):
        assistant.ask("ومتى زارها؟", history=history)


def test_history_given_as_a_tuple_of_turns_or_answers(assistant):
    first = assistant.ask("من هو الرئيس الإسرائيلي؟")
    as_list = assistant.ask("وإلى أي مدينة قد يزور؟", history=[first])
    as_tuple = assistant.ask("وإلى أي مدينة قد يزور؟", history=(first,))
    assert as_tuple.query == as_list.query and as_tuple.text == as_list.text
    as_turns = assistant.ask("وإلى أي مدينة قد يزور؟", history=[first.as_turn()])
    assert as_turns.query == as_list.query != "وإلى أي مدينة قد يزور؟"


SIMULTANEOUS = r"""
import sys, threading
from rag import Assistant, Settings
settings = Settings.from_env(env={}, corpus_dir=sys.argv[1], index_dir=sys.argv[2])
assistant = Assistant(settings)  # nothing opened yet: every thread asks first at once
questions = ["كم نسبة المسلمين في كازاخستان؟", "When did Netanyahu visit Kazakhstan?",
             "متى زار نتنياهو كازاخستان؟", "من هو الرئيس الإسرائيلي؟"] * 2
start, results = threading.Barrier(len(questions)), {}
def ask(i):
    start.wait()
    try:
        results[i] = assistant.ask(questions[i]).text
    except Exception as exc:
        results[i] = f"FAILED {type(exc).__name__}: {exc}"
threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
for t in threads: t.start()
for t in threads: t.join()
for i in range(len(questions)):
    print(repr(results[i]))
"""


def test_threads_asking_at_once_of_a_new_assistant_all_get_answers(indexed, assistant):
    # Two threads opening the index together made two Chroma clients on one path, and one
    # failed: "Could not connect to tenant default_tenant" (2 questions in 8).
    import subprocess
    import sys

    corpus, index = indexed
    done = subprocess.run([sys.executable, "-c", SIMULTANEOUS, str(corpus), str(index)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    got = [eval(line) for line in done.stdout.splitlines()]
    questions = ["كم نسبة المسلمين في كازاخستان؟", "When did Netanyahu visit Kazakhstan?",
                 "متى زار نتنياهو كازاخستان؟", "من هو الرئيس الإسرائيلي؟"] * 2
    assert len(got) == len(questions)
    assert [g for g in got if g.startswith("FAILED")] == []
    assert got == [assistant.ask(q).text for q in questions]  # as asked one at a time


def test_a_cited_file_changed_or_removed_after_it_was_read_is_read_again(tmp_path):
    # Files were cached for the life of the Assistant: after an edit the chat's viewer showed
    # the old text as "verified", and after a delete new answers still cited it as verified.
    import shutil

    from rag_conftest import CORPUS

    from rag import Assistant, CorpusError, Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "004_38e6d22ca08bed6e.txt", corpus)
    assistant = Assistant(Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "i"))
    assistant.index()
    question = "كم نسبة المسلمين في كازاخستان؟"
    first = assistant.ask(question)
    cited = first.citations[0]
    assert cited.verified and "70" in cited.quote
    path = corpus / cited.source
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("70 بالمائة", "80 بالمائة"), encoding="utf-8")
    assert "80 بالمائة" in assistant.document(cited.source).text
    again = assistant.ask(question)  # the index still holds "70": the quote is not trusted
    assert again.citations and not any(c.verified and "70" in c.quote for c in again.citations)
    path.unlink()
    with pytest.raises(CorpusError, match="no longer in the corpus"):
        assistant.document(cited.source)
    gone = assistant.ask(question)
    assert not any(c.verified for c in gone.citations)
