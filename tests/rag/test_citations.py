"""Citation checking: markers map to passages and spans; bad markers drop; quotes verify or flag."""

from __future__ import annotations

import json
from pathlib import Path

from rag_conftest import assert_citations_mapped, corpus_document, passage_hit

from rag import citations
from rag.citations import check, locate, marker_numbers, quotes_before
from rag.errors import CorpusError

SRC = "004_38e6d22ca08bed6e.txt"
OTHER = "001_d91d8e31b179f333.txt"


def hits():
    return [passage_hit(SRC, "1992"), passage_hit(SRC, "70 بالمائة"),
            passage_hit(OTHER, "علاقات دبلوماسية كاملة")]


def test_markers_map_to_the_right_files_and_spans():
    text = ("أقامت كازاخستان «علاقات دبلوماسية مع إسرائيل في عام 1992» [1]. "
            "ولدى قازاخستان «بالفعل علاقات دبلوماسية كاملة» [3].")
    out = check(text, hits(), corpus_document)
    # passage 3 is the second source read: the reader sees [2], not a skipped number
    assert out.text == text.replace("[3]", "[2]") and out.dropped_markers == []
    first, third = out.citations
    assert (first.marker, first.passage, first.source, first.verified) == (1, 1, SRC, True)
    assert (third.marker, third.passage, third.source, third.verified) == (2, 3, OTHER, True)
    for c, h in ((first, hits()[0]), (third, hits()[2])):
        doc = corpus_document(c.source)
        assert doc.text[c.start:c.end] == c.quote
        assert h.passage.start <= c.start < c.end <= h.passage.end
        assert c.passage_id == h.passage.id and c.title == h.passage.title
    assert first.quote == "علاقات دبلوماسية مع إسرائيل في عام 1992"


def test_an_invented_marker_is_dropped_and_reported():
    text = "أقامت كازاخستان «علاقات دبلوماسية مع إسرائيل» [1][9]. وهذا من عندي [9]. وأيضا [0]."
    out = check(text, hits(), corpus_document)
    assert out.dropped_markers == [9, 9, 0]
    assert "[9]" not in out.text and "[0]" not in out.text
    assert out.text == "أقامت كازاخستان «علاقات دبلوماسية مع إسرائيل» [1]. وهذا من عندي. وأيضا."
    assert [c.marker for c in out.citations] == [1]


def test_grouped_markers_in_every_written_form():
    assert marker_numbers("a [2][3] b [1, 2] c [٣] d [2،3]") == [2, 3, 1, 2, 3, 2, 3]
    text = "«علاقات دبلوماسية مع إسرائيل» و«حوالي 70 بالمائة» [1, 2, 7]."
    out = check(text, hits(), corpus_document)
    assert out.text == "«علاقات دبلوماسية مع إسرائيل» و«حوالي 70 بالمائة» [1][2]."
    assert out.dropped_markers == [7]
    assert [(c.marker, c.verified) for c in out.citations] == [(1, True), (2, True)]
    # each marker gets the quote its own passage holds
    assert [c.quote for c in out.citations] == ["علاقات دبلوماسية مع إسرائيل", "حوالي 70 بالمائة"]


def test_quote_found_after_normalisation_maps_back_to_original_characters():
    # The model writes plain alef/ya and no tatweel; the file is matched exactly anyway.
    out = check("«وأقامت كازاخستان علاقات دبلوماسيـة مع اسرائيل» [1]", hits(), corpus_document)
    (c,) = out.citations
    assert c.verified
    assert c.quote == "وأقامت كازاخستان علاقات دبلوماسية مع إسرائيل"
    assert corpus_document(SRC).text[c.start:c.end] == c.quote


def test_unfound_quote_is_flagged_never_presented_as_checked():
    hit = hits()[0]
    out = check("أقامت كازاخستان «علاقات مع المريخ منذ عام 1800» [1].", [hit], corpus_document)
    (c,) = out.citations
    assert c.verified is False
    assert (c.start, c.end) == (hit.passage.start, hit.passage.end)
    assert c.quote == "علاقات مع المريخ منذ عام 1800"


def test_marker_without_quote_is_unverified_and_spans_the_passage():
    hit = hits()[1]
    out = check("معظم السكان مسلمون [1].", [hit], corpus_document)
    (c,) = out.citations
    assert not c.verified and c.quote == hit.passage.text
    assert (c.start, c.end) == (hit.passage.start, hit.passage.end)
    assert not c.quoted  # said as such, not as a quote that was not found
    (wrong,) = check("«نص لا وجود له في المقال» [1].", [hit], corpus_document).citations
    assert not wrong.verified and wrong.quoted


def test_a_marker_without_a_quote_is_shown_as_its_passage_not_as_a_failed_quote(capsys):
    from rag.cli import print_answer
    from rag.conversations import citation_line
    from rag.types import Answer

    hit = hits()[1]
    (c,) = check("معظم السكان مسلمون [1].", [hit], corpus_document).citations
    print_answer(Answer(text="معظم السكان مسلمون [1].", citations=[c], passages=[hit],
                        query="q", question="q", answered=True))
    out = capsys.readouterr().out
    assert "(no words quoted for it; its passage:)" in out and "quote not found" not in out
    assert f"    {hit.passage.text}" in out and f"«{hit.passage.text}»" not in out
    assert "no words were quoted for it" in citation_line(c)


def test_quote_outside_the_passage_is_found_in_the_same_file():
    hit = hits()[0]
    out = check("«حوالي 70 بالمائة من السكان مسلمين» [1]", [hit], corpus_document)
    (c,) = out.citations
    assert c.verified and not hit.passage.start <= c.start < hit.passage.end
    assert corpus_document(SRC).text[c.start:c.end] == c.quote


def test_one_word_or_partial_word_quotes_verify_nothing():
    hit = hits()[0]
    assert not check("«كازاخستان» [1]", [hit], corpus_document).citations[0].verified
    assert locate("علاقات دبلوماسية", "لاقات دبلوما") is None  # inside words
    assert locate("وبالعلاقات الدبلوماسية", "العلاقات الدبلوماسية") == (2, 22)  # clitic prefix


def test_quote_with_ellipsis_must_keep_its_parts_in_order():
    doc = corpus_document(SRC).text
    span = locate(doc, "وأقامت كازاخستان علاقات … الاتحاد السوفيتي")
    assert span is not None and doc[span[0]:span[1]].startswith("وأقامت كازاخستان")
    assert doc[span[0]:span[1]].endswith("الاتحاد السوفيتي")
    assert locate(doc, "الاتحاد السوفيتي … وأقامت كازاخستان علاقات") is None


def test_an_ellipsis_does_not_stitch_a_claim_from_scattered_words():
    # Each piece one word, found in order across most of the file: this "quote" of a claim
    # the article contradicts ("Kazakhstan ... not ... relations ... Israel") was verified.
    doc = corpus_document(SRC).text
    assert locate(doc, "كازاخستان ... غير ... علاقات ... إسرائيل") is None
    out = check("«كازاخستان ... غير ... علاقات ... إسرائيل» [1]", hits(), corpus_document)
    assert not out.citations[0].verified
    # pieces of two words or more, close together, are still a quote
    near = locate(doc, "وأقامت كازاخستان علاقات … الاتحاد السوفيتي")
    assert near is not None and near[1] - near[0] < 400
    # two real pieces too far apart are not one quote
    words = doc.split()
    far = f"{words[0]} {words[1]} … {words[-2]} {words[-1]}"
    assert len(doc) > 2 * citations.MAX_ELLIPSIS_GAP and locate(doc, far) is None


def test_closest_quote_wins_and_other_quote_styles_count():
    assert quotes_before('قال "أولا هنا" ثم «ثانيا هنا»') == ["ثانيا هنا", "أولا هنا"]
    out = check("قال “علاقات دبلوماسية مع إسرائيل في عام 1992” [1]", hits(), corpus_document)
    assert out.citations[0].verified


def test_unreadable_file_falls_back_to_the_passage_text():
    def missing(source):
        raise CorpusError("gone")

    hit = hits()[0]
    out = check("«علاقات دبلوماسية مع إسرائيل» [1]", [hit], missing)
    (c,) = out.citations
    assert c.verified and hit.passage.start <= c.start < c.end <= hit.passage.end
    assert corpus_document(SRC).text[c.start:c.end] == c.quote


def test_repeated_citation_is_listed_once():
    text = "«علاقات دبلوماسية مع إسرائيل» [1]. ثم «علاقات دبلوماسية مع إسرائيل» [1]."
    out = check(text, hits(), corpus_document)
    assert len(out.citations) == 1 and out.text == text


def test_markers_are_renumbered_in_order_of_first_appearance_one_per_span():
    """The model numbers by passage; the reader gets 1..n as the sources appear, and two
    quotes from one passage are two sources (issue 11: two quotes both labelled [1])."""
    text = ("يدين «حوالي 70 بالمائة» من السكان بالإسلام [2]. "
            "وأقامت «علاقات دبلوماسية مع إسرائيل» [1]. "
            "وذلك «في عام 1992» [1]. وثانية «حوالي 70 بالمائة» [2].")
    out = check(text, hits(), corpus_document)
    assert out.text == ("يدين «حوالي 70 بالمائة» من السكان بالإسلام [1]. "
                        "وأقامت «علاقات دبلوماسية مع إسرائيل» [2]. "
                        "وذلك «في عام 1992» [3]. وثانية «حوالي 70 بالمائة» [1].")
    assert [(c.marker, c.passage, c.verified) for c in out.citations] == \
        [(1, 2, True), (2, 1, True), (3, 1, True)]
    doc = corpus_document(SRC).text
    assert [doc[c.start:c.end] for c in out.citations] == \
        ["حوالي 70 بالمائة", "علاقات دبلوماسية مع إسرائيل", "في عام 1992"]
    assert marker_numbers(out.text) == [1, 2, 3, 1]


def test_offline_answers_cite_the_passage_their_marker_names(assistant):
    """Offline answers number their markers 1..n as LLM answers do, each naming its passage."""
    qa = Path(__file__).resolve().parents[1] / "qa" / "corpus_qa.jsonl"
    for line in qa.read_text(encoding="utf-8").splitlines():
        answer = assistant.ask(json.loads(line)["question"])
        assert_citations_mapped(answer)


def test_markers_are_renumbered_live_as_the_answer_streams():
    """What streams reads as the checked answer will: [3] first is [1], a marker cut in two
    by the stream is held back whole, grouped forms come out one bracket each."""
    from rag.citations import LiveMarkers, live_markers

    text = ("ولدى قازاخستان «بالفعل علاقات دبلوماسية كاملة» [3]. "
            "وأقامت «علاقات دبلوماسية مع إسرائيل في عام 1992» [1]. ويدين «حوالي 70 بالمائة» [2]. "
            "وتكرر «بالفعل علاقات دبلوماسية كاملة» [3].")
    expected = check(text, hits(), corpus_document).text
    assert [expected.count(f"[{n}]") for n in (1, 2, 3)] == [2, 1, 1]
    assert live_markers(text) == expected
    assert live_markers("أ [2, 3] ب [3][1] ج [٣]") == "أ [1][2] ب [2][3] ج [2]"
    # beyond the passages asked for: left as written (check() drops it), numbering unchanged
    assert live_markers("أ [42] ب [0] ج [5][2]", limit=5) == "أ [42] ب [0] ج [1][2]"
    for size in (1, 2, 5, 13):
        live = LiveMarkers()
        pieces = [live.feed(text[i:i + size]) for i in range(0, len(text), size)]
        assert "".join(pieces) + live.flush() == expected
        assert not any(p.endswith("[") for p in pieces if p)  # never half a marker
    live = LiveMarkers()
    assert live.feed("نص [") == "نص " and live.flush() == "["  # an unclosed [ at the end
