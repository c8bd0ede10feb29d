"""Hybrid retrieval over the indexed corpus: BM25 + vectors, fused, capped per source."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from rag.retrieval import HybridRetriever
from rag.types import Passage

ROOT = Path(__file__).resolve().parents[2]

STORY_QUESTIONS = [
    "متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟",
    "من هو رئيس كازاخستان الذي سيعلن الانضمام إلى الاتفاقات الإبراهيمية؟",
    "ماذا قال المبعوث الأمريكي ستيف ويتكوف عن الدولة الجديدة؟",
    "كازاخستان تنضم إلى اتفاقات أبراهام",
]


def corpus_files(indexed) -> set[str]:
    return {p.name for p in indexed[0].glob("*.txt")}


def check_hits(hits, k: int, files: set[str]) -> None:
    assert len(hits) == k
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(s > 0 for s in scores)
    assert len({h.passage.id for h in hits}) == k
    for h in hits:
        assert h.passage.source in files
        assert h.bm25_rank is not None or h.vector_rank is not None


@pytest.mark.parametrize("question", STORY_QUESTIONS)
def test_hybrid_returns_k_scored_hits_best_first(assistant, indexed, question):
    for k in (1, 5, 8):
        check_hits(assistant.retrieve(question, k), k, corpus_files(indexed))


def test_hits_point_into_the_corpus_files(assistant, indexed):
    for h in assistant.retrieve(STORY_QUESTIONS[0], 8):
        text = (indexed[0] / h.passage.source).read_bytes().decode("utf-8-sig")
        assert text[h.passage.start:h.passage.end] == h.passage.text


@pytest.mark.parametrize("question", [
    "كم نسبة المسلمين في كازاخستان؟",
    "متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟",
    "على أي موقع كتب ترامب عن حفل التوقيع؟",
])
def test_top_hits_are_found_by_both_retrievers(assistant, question):
    top = assistant.retrieve(question, 5)[0]
    assert top.bm25_rank is not None and top.vector_rank is not None
    assert top.bm25_rank <= 3 and top.vector_rank <= 10


@pytest.mark.parametrize("question", STORY_QUESTIONS)
def test_one_file_does_not_fill_every_slot(assistant, question):
    hits = assistant.retrieve(question, 5)
    per_file = Counter(h.passage.source for h in hits)
    assert len(per_file) >= 2
    assert max(per_file.values()) <= math.ceil(5 / 2)


def test_the_cap_fills_from_the_only_matching_file(assistant):
    # Only 001 spells قازاخستان with ق; BM25 alone matches no other file.
    bm25 = HybridRetriever.from_store(assistant.store, mode="bm25")
    hits = bm25.search("قازاخستان", 5)
    assert {h.passage.source for h in hits} == {"001_d91d8e31b179f333.txt"}
    assert len(hits) > math.ceil(5 / 2)
    assert all("قازاخستان" in h.passage.text for h in hits)


@pytest.mark.parametrize("query, absent, present", [
    ("قازاخستان", "قازاخستان", "كازاخستان"),
    ("توكايف", "توكايف", "توكاييف"),
])
def test_spelling_variants_find_passages(assistant, query, absent, present):
    vector = HybridRetriever.from_store(assistant.store, mode="vector")
    hits = vector.search(query, 5)
    assert any(present in h.passage.text and absent not in h.passage.text for h in hits)
    hybrid = assistant.retrieve(query, 5)
    assert any(present in h.passage.text for h in hybrid)


@pytest.mark.parametrize("question", ["ماذا سيعلن الرئيس توكايف؟",
                                      "ماذا سيعلن رئيس قازاخستان توكاييف؟"])
def test_a_question_in_either_spelling_is_answered(assistant, question):
    answer = assistant.ask(question)
    assert answer.answered
    assert any("توكايف" in c.quote or "توكاييف" in c.quote for c in answer.citations)


def test_bm25_mode_and_vector_mode(assistant, indexed):
    files = corpus_files(indexed)
    question = "كم نسبة المسلمين في كازاخستان؟"
    bm25 = HybridRetriever.from_store(assistant.store, mode="bm25").search(question, 5)
    vector = HybridRetriever.from_store(assistant.store, mode="vector").search(question, 5)
    check_hits(bm25, 5, files)
    check_hits(vector, 5, files)
    assert all(h.vector_rank is None and h.bm25_rank is not None for h in bm25)
    assert all(h.bm25_rank is None and h.vector_rank is not None for h in vector)
    assert "70 بالمائة" in bm25[0].passage.text
    assert any("70 بالمائة" in h.passage.text for h in vector[:3])


def test_langchain_retriever_returns_documents(assistant, indexed):
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    retriever = assistant.as_retriever(k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("كم نسبة المسلمين في كازاخستان؟")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    for d in docs:
        source = d.metadata["source"]
        assert source in corpus_files(indexed)
        text = (indexed[0] / source).read_bytes().decode("utf-8-sig")
        assert text[d.metadata["start"]:d.metadata["end"]] == d.page_content
        assert d.metadata["score"] > 0
    assert any("70 بالمائة" in d.page_content for d in docs)


def test_rank_sources_are_distinct_files_best_first(assistant, indexed):
    ranked = assistant.retriever.rank_sources("متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟", 5)
    assert len(ranked) == len(set(ranked)) == 5
    assert set(ranked) == corpus_files(indexed)
    assert assistant.retriever.rank_sources("كم نسبة المسلمين في كازاخستان؟", 2)[0] == \
        "004_38e6d22ca08bed6e.txt"
    assert len(assistant.retriever.rank_sources("كازاخستان", 3)) == 3


# --- a small retriever over hand-made passages (no store) ------------------------------------------

def passage(source: str, n: int, text: str) -> Passage:
    return Passage(id=f"{source}#{n}", source=source, start=n * 1000, end=n * 1000 + len(text),
                   text=text, ordinal=n)


AIRPORT = [passage("a.txt", i, f"افتتحت مدينة أوش مطارا جديدا في المرحلة {i} من المشروع.")
           for i in range(4)]
OTHER = [passage("b.txt", i, f"فاز الفريق بالمباراة رقم {i} في الدوري المحلي لكرة القدم.")
         for i in range(3)]


def test_bm25_only_retriever_without_a_store():
    retriever = HybridRetriever(AIRPORT + OTHER, None, mode="bm25")
    hits = retriever.search("مطار مدينة أوش", 4)
    assert [h.passage.source for h in hits] == ["a.txt"] * 4  # the cap fills from the one file
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert retriever.search("الطقس في باريس", 3) == []


def test_per_source_cap_spreads_hits_over_matching_files():
    files = [[passage(f"{name}.txt", i,  # each text its own: a repeated text is one hit
                      f"كازاخستان تنضم إلى الاتفاقات الإبراهيمية في الخبر {i} من {name}.")
              for i in range(3)] for name in ("x", "y", "z")]
    retriever = HybridRetriever([p for f in files for p in f], None, mode="bm25", per_source=1)
    hits = retriever.search("كازاخستان الاتفاقات", 3)
    assert sorted(h.passage.source for h in hits) == ["x.txt", "y.txt", "z.txt"]
    assert len(retriever.search("كازاخستان الاتفاقات", 9)) == 9


def test_carried_context_steers_but_does_not_outvote_the_typed_words():
    visit = passage("v.txt", 0, "زار رئيس الوزراء مدينة أوش في زيارة رسمية قصيرة.")
    story = passage("s.txt", 0, "أقامت كازاخستان علاقات دبلوماسية مع إسرائيل في عام 1992.")
    both = passage("w.txt", 0, "زار رئيس الوزراء كازاخستان في زيارة رسمية قصيرة.")
    retriever = HybridRetriever([visit, story, both] + OTHER, None, mode="bm25", per_source=1)
    query = "متى زار رئيس الوزراء أقامت كازاخستان علاقات دبلوماسية إسرائيل"
    # unweighted, the four carried words win; weighted, the typed words lead and the carried
    # ones break the tie between the two visits
    assert retriever.search(query, 1)[0].passage is story
    focused = retriever.search(query, 3, focus="ومتى زار رئيس الوزراء؟")
    assert [h.passage for h in focused] == [both, visit, story]
    # nothing typed but the question word: the carried words are the whole search
    assert (retriever.search("لماذا أقامت كازاخستان علاقات", 1, focus="ولماذا؟")
            == retriever.search("لماذا أقامت كازاخستان علاقات", 1))


def test_an_empty_index_retrieves_nothing():
    assert HybridRetriever([], None, mode="bm25").search("كازاخستان", 5) == []


def test_the_same_text_under_two_names_is_retrieved_once(tmp_path):
    # A copy of an article (or a link to it) filled all five hits with one paragraph.
    import shutil

    from rag import Assistant, Settings

    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    source = "004_38e6d22ca08bed6e.txt"
    shutil.copy(corpus / source, corpus / "copy_of_004.txt")
    (corpus / "link_to_004.txt").symlink_to(corpus / source)
    assistant = Assistant(Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "i"))
    assistant.index()
    hits = assistant.retrieve("كم نسبة المسلمين في كازاخستان؟", 5)
    texts = [h.passage.text for h in hits]
    assert len(hits) == 5 and len(set(texts)) == 5
    assert {h.passage.source for h in hits} - {source, "copy_of_004.txt", "link_to_004.txt"}
