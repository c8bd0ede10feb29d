"""Follow-up questions: detected deterministically, rewritten only when needed, and the rewritten
query is what reaches the retriever (offline heuristic and the model's condense prompt)."""

from __future__ import annotations

import pytest
from rag_conftest import Reply, assert_citations_mapped

from rag import Settings
from rag.followup import (carry_entities, has_pronoun_suffix, is_refusal, needs_rewrite,
                          rewrite_query)
from rag.types import Done, QueryRewritten, Turn

PRESIDENT = Turn(question="من هو رئيس كازاخستان؟", answer="قاسم جومارت توكاييف [1].")
ACCORDS = Turn(question="هل انضمت كازاخستان إلى الاتفاقات الإبراهيمية؟", answer="نعم [1].")


@pytest.mark.parametrize("question", [
    "ومتى زارها؟", "وماذا عن أذربيجان؟", "ما رأي رئيسها؟", "وكم عدد سكانها؟",
    "ما موقف روسيا من هذه الخطوة؟", "ماذا قال عنهم؟", "متى؟", "لماذا؟", "من هو ويتكوف؟",
    "What about Azerbaijan?", "When did he visit?", "ومع من كانت تدرس التنسيق؟",
    "وإلى أي مدينة قد يسافر؟", "وفي أي عام حدث ذلك؟", "وبماذا رد؟",
    "ومنذ متى تعرفه؟",
])
def test_dependent_questions_are_detected(question):
    assert needs_rewrite(question)


@pytest.mark.parametrize("question", [
    "ما نسبة المسلمين بين سكان كازاخستان؟",
    "في أي سنة أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟",
    "ما هي مذكرة التفاهم الموقعة بين البلدين في واشنطن؟",
    "كيف ردت الحكومة الكازاخستانية على الانتقادات؟",
    "Who is the president of Kazakhstan?",
    "وزير الخارجية الأمريكي ماركو روبيو التقى بمن في واشنطن؟",
])
def test_standalone_questions_are_left_alone(question):
    assert not needs_rewrite(question)
    settings = Settings.from_env(env={}, offline=True)
    assert rewrite_query(settings, question, [PRESIDENT]) == question


def test_pronoun_suffixes_are_told_apart_from_look_alikes():
    assert all(map(has_pronoun_suffix, ["زارها", "رئيسه", "قادتهم", "عنها", "لهما", "وسكانها"]))
    assert not any(map(has_pronoun_suffix, ["الاتفاقية", "الله", "مهم", "تفاهم", "اتجاه",
                                             "كازاخستان", "الدولة", "انها"]))


def test_no_history_no_rewrite():
    settings = Settings.from_env(env={}, offline=True)
    assert rewrite_query(settings, "ومتى زارها؟", []) == "ومتى زارها؟"


def test_offline_heuristic_carries_the_previous_standalone_query():
    assert carry_entities("ومتى زارها؟", PRESIDENT) == "متى زارها رئيس كازاخستان؟"
    assert (carry_entities("وماذا عن أذربيجان؟", ACCORDS)
            == "ماذا عن أذربيجان انضمت كازاخستان الاتفاقات الإبراهيمية؟")
    # a rewritten earlier turn hands on its standalone query, not its raw question
    chained = Turn(question="ومتى زارها؟", answer="…", query="متى زارها رئيس كازاخستان؟")
    assert carry_entities("ولماذا؟", chained) == "لماذا زارها رئيس كازاخستان؟"
    # words already in the question are not repeated
    assert carry_entities("ما عاصمة كازاخستان؟", PRESIDENT) == "ما عاصمة كازاخستان رئيس؟"


def test_heuristic_is_deterministic():
    runs = {rewrite_query(Settings.from_env(env={}, offline=True), "وكم عدد سكانها؟",
                          [PRESIDENT, ACCORDS]) for _ in range(5)}
    assert runs == {"كم عدد سكانها انضمت كازاخستان الاتفاقات الإبراهيمية؟"}


def test_llm_mode_asks_the_model_with_the_condense_prompt(llm_server, llm_settings):
    llm_server.script(Reply(chunks=["متى زار رئيس كازاخستان البيت الأبيض؟"]))
    query = rewrite_query(llm_settings, "ومتى زارها؟", [PRESIDENT])
    assert query == "متى زار رئيس كازاخستان البيت الأبيض؟"
    (request,) = llm_server.chat_requests
    body = request["body"]
    assert not body.get("stream")
    assert "standalone question" in body["messages"][0]["content"]
    user = body["messages"][-1]["content"]
    assert "من هو رئيس كازاخستان؟" in user and "Follow-up question: ومتى زارها؟" in user
    assert "[1]" not in user  # earlier markers mean nothing to the condenser


@pytest.mark.parametrize("reply", [Reply(status=500), Reply(chunks=["   "])])
def test_llm_rewrite_falls_back_to_the_heuristic(llm_server, llm_settings, reply):
    llm_server.script(reply)
    assert rewrite_query(llm_settings, "ومتى زارها؟", [PRESIDENT]) == "متى زارها رئيس كازاخستان؟"


def test_llm_mode_does_not_ask_for_standalone_questions(llm_server, llm_settings):
    question = "في أي سنة أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟"
    assert rewrite_query(llm_settings, question, [PRESIDENT]) == question
    assert llm_server.chat_requests == []


def _spy_retrieve(assistant, monkeypatch) -> list[str]:
    seen: list[str] = []
    real = assistant.retrieve

    def retrieve(query, k=None, focus=None):
        seen.append(getattr(query, "text", query))
        return real(query, k, focus)

    monkeypatch.setattr(assistant, "retrieve", retrieve)
    return seen


def test_offline_rewritten_query_reaches_the_retriever(assistant, monkeypatch):
    seen = _spy_retrieve(assistant, monkeypatch)
    first = assistant.ask("من هو رئيس كازاخستان؟")
    events = list(assistant.stream("ومتى زار البيت الأبيض؟", history=[first]))
    answer = events[-1].answer
    assert isinstance(events[-1], Done)
    assert seen == ["من هو رئيس كازاخستان؟", answer.query]
    assert events[0] == QueryRewritten(answer.query)
    assert answer.rewritten and "كازاخستان" in answer.query and "البيت الأبيض" in answer.query
    assert_citations_mapped(first)
    assert_citations_mapped(answer)


def test_typed_words_outweigh_the_carried_context(assistant):
    """The README's follow-up: the carried words of the first question must not pull the
    answer back to it; Netanyahu's visit is what is asked."""
    first = assistant.ask("متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟")
    follow_up = assistant.ask("ومتى زارها نتنياهو؟", history=[first])
    assert "كازاخستان" in follow_up.query and follow_up.answered
    opening = follow_up.text.split("[1]")[0]
    assert "نتنياهو" in opening and "2016" in opening
    assert follow_up.citations[0].source == "002_9164ff34a3d4887d.txt"
    assert "1992" in first.text


def test_llm_rewritten_query_reaches_the_retriever(llm_assistant, llm_server, monkeypatch):
    seen = _spy_retrieve(llm_assistant, monkeypatch)
    standalone = "متى زار رئيس كازاخستان البيت الأبيض؟"
    llm_server.script(Reply(chunks=[standalone]))  # the condense call; the answer uses the default
    answer = llm_assistant.ask("ومتى زارها؟", history=[PRESIDENT])
    assert seen == [standalone] and answer.query == standalone and answer.mode == "llm"
    condense, answer_request = llm_server.chat_requests
    assert not condense["body"].get("stream") and answer_request["body"]["stream"]
    prompt = answer_request["body"]["messages"][-1]["content"]
    assert "Question: ومتى زارها؟" in prompt and f"retrieved for: {standalone}" in prompt
    # the history reaches the answering model too, without its old markers
    roles = [m["role"] for m in answer_request["body"]["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert answer_request["body"]["messages"][2]["content"] == "قاسم جومارت توكاييف."
    assert_citations_mapped(answer)


def test_standalone_question_with_history_is_searched_as_asked(llm_assistant, llm_server):
    question = "ما نسبة المسلمين بين سكان كازاخستان؟"
    events = list(llm_assistant.stream(question, history=[PRESIDENT]))
    assert not any(isinstance(e, QueryRewritten) for e in events)
    answer = events[-1].answer
    assert answer.query == question and not answer.rewritten
    assert len(llm_server.chat_requests) == 1  # no condense call
    assert_citations_mapped(answer)


# -- the vectors decide whether a follow-up leans (offline, e5) ---------------------------------

class _Vectors:
    """e5 stand-in: fixed unit vectors per question; a store that answers by vector and id."""

    name = "e5-small-q4"

    def __init__(self, questions: dict, passages: dict):
        self.questions, self.passages, self.calls = questions, passages, 0

    def query_vector(self, text):
        self.calls += 1
        return self.questions[text]

    def query(self, vector, k):
        ranked = sorted(self.passages, key=lambda i: -float(vector @ self.passages[i]))
        return [(i, 1.0 - float(vector @ self.passages[i]), "f.txt") for i in ranked[:k]]

    def vectors(self, ids, sentences=False):
        return {i: self.passages[i] for i in ids if i in self.passages}


def _unit(*xs):
    import numpy as np

    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def _earlier(passage_ids):
    from rag.types import Answer, Hit, Passage

    hits = [Hit(Passage(i, "f.txt", 0, 1, "x", 0), 1.0) for i in passage_ids]
    return Answer(text="قاسم جومارت توكاييف [1].", citations=[], passages=hits,
                  query=PRESIDENT.question, question=PRESIDENT.question, answered=True)


def _retriever(vectors):
    from types import SimpleNamespace

    return SimpleNamespace(embeddings=vectors, store=vectors)


def test_a_follow_up_that_finds_a_subject_of_its_own_carries_nothing():
    vectors = _Vectors({"ومتى بدأت الحرب العالمية الثانية؟": _unit(0.1, 1.0)},
                       {"president": _unit(1.0, 0.1), "war": _unit(0.1, 1.0)})
    settings = Settings.from_env(env={}, offline=True)
    question = "ومتى بدأت الحرب العالمية الثانية؟"
    assert rewrite_query(settings, question, [_earlier(["president"])],
                         retriever=_retriever(vectors)) == question
    assert vectors.calls == 1  # one query embedding, no corpus text


def test_a_follow_up_nearest_to_the_earlier_passages_leans_on_them():
    vectors = _Vectors({"ومتى زارها؟": _unit(1.0, 0.3)},
                       {"president": _unit(1.0, 0.2), "war": _unit(0.1, 1.0)})
    settings = Settings.from_env(env={}, offline=True)
    assert rewrite_query(settings, "ومتى زارها؟", [_earlier(["president"])],
                         retriever=_retriever(vectors)) == "متى زارها رئيس كازاخستان؟"


def test_without_e5_vectors_or_an_earlier_answer_the_rule_is_as_before():
    vectors = _Vectors({"ومتى بدأت الحرب العالمية الثانية؟": _unit(0.1, 1.0)},
                       {"president": _unit(1.0, 0.1), "war": _unit(0.1, 1.0)})
    vectors.name = "hashing-ngram-v1"
    settings = Settings.from_env(env={}, offline=True)
    question = "ومتى بدأت الحرب العالمية الثانية؟"
    expected = rewrite_query(settings, question, [PRESIDENT])
    assert expected != question
    assert rewrite_query(settings, question, [_earlier(["president"])],
                         retriever=_retriever(vectors)) == expected
    assert vectors.calls == 0


@pytest.mark.parametrize("refusal", [
    "لا تتضمن المقالات المتاحة إجابة عن هذا السؤال.",
    "Les articles disponibles ne répondent pas à cette question.",
    "В проиндексированных статьях нет фрагментов по этому вопросу.",
])
def test_a_refusal_in_any_language_is_no_referent(refusal):
    assert is_refusal(refusal)
    assert not is_refusal("أقامت كازاخستان علاقات دبلوماسية مع إسرائيل في عام 1992. [1]")
