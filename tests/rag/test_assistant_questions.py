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
