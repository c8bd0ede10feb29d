"""Answers' Markdown as logical blocks, and the export file's citation lines."""

from __future__ import annotations

from rich.style import Style

from rag.conversations import citation_line
from tui.markdown import parse


def test_paragraphs_lists_and_markers():
    text = "# عنوان\n\nنص **مهم** [1] و`code`.\n\n- أول [2]\n- ثاني\n\n1. واحد\n2. اثنان"
    blocks = parse(text, lambda n: Style(bold=True, meta={"@click": f"cite({n})"}))
    assert [b.kind for b in blocks] == ["h", "p", "li", "li", "li", "li"]
    assert [b.prefix for b in blocks[2:]] == ["• ", "• ", "1. ", "2. "]
    paragraph = blocks[1].text
    assert paragraph.plain == "نص مهم [1] وcode."
    marker = [s for s in paragraph.spans if isinstance(s.style, Style) and s.style.meta]
    assert paragraph.plain[marker[0].start:marker[0].end] == "[1]"
    assert marker[0].style.meta["@click"] == "cite(1)"


def test_streaming_partial_markdown_parses():
    assert parse("نص **غير مكتمل")[0].text.plain == "نص **غير مكتمل"
    assert parse("") == []


def test_citation_line_marks_unverified_quotes(script):
    verified, unverified = script.citations()
    assert citation_line(verified).startswith("[1] الجزيرة — ")
    assert "unverified" not in citation_line(verified)
    assert "*(unverified: the quote was not found in the file)*" in citation_line(unverified)
