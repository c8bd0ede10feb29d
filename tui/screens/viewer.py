"""The source viewer: the cited article, with the cited words highlighted and scrolled to."""

from __future__ import annotations

from rag.types import Answer, Citation, Document
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer

from ..markdown import Block
from ..widgets.bidi import BidiText
from ..widgets.chat import palette

CONTEXT_LINES = 3  # lines shown above the highlighted span


def locate(document: Document, citation: Citation) -> tuple[int, int, str]:
    """Where the cited words are in the file as it is now: (start, end, how).

    `how` is "span" when the stored span still holds the quote, "moved" when the quote was
    found elsewhere (the file changed since), "passage" when only the span can be shown.
    """
    text = document.text
    if 0 <= citation.start < citation.end <= len(text) \
            and text[citation.start:citation.end] == citation.quote:
        return citation.start, citation.end, "span"
    if citation.quote:
        found = text.find(citation.quote)
        if found >= 0:
            return found, found + len(citation.quote), "moved"
    start = max(0, min(citation.start, len(text)))
    return start, max(start, min(citation.end, len(text))), "passage"


class DocumentView(BidiText):
    """The whole file, one block per line of the file, the span highlighted."""

    def __init__(self, document: Document, start: int, end: int, verified: bool, **kwargs):
        super().__init__(gap=False, **kwargs)
        self.document = document
        self.start, self.end = start, end
        self.verified = verified
        self._offsets: list[int] = []

    def build_blocks(self) -> list[Block]:
        colours = palette(self.app)
        mark = Style(bgcolor=colours["accent"] if self.verified else colours["warning"],
                     color="#000000", bold=True)
        blocks, self._offsets = [], []
        offset = 0
        for line in self.document.text.split("\n"):
            text = Text(line)
            lo, hi = max(self.start, offset), min(self.end, offset + len(line))
            if lo < hi:
                text.stylize(mark, lo - offset, hi - offset)
            blocks.append(Block(text))
            self._offsets.append(offset)
            offset += len(line) + 1
        return blocks

    def span_line(self) -> int:
        """The display line where the highlighted span starts, at the current width."""
        renderable = self.renderable
        block = 0
        for number, offset in enumerate(self._offsets):
            if offset <= self.start:
                block = number
        local = self.start - self._offsets[block] if self._offsets else 0
        return renderable.line_of(block, local, max(1, self.content_size.width))


class SourceScreen(Screen):
    """Esc returns to the chat."""

    BINDINGS = [Binding("escape,q", "back", "Back to the chat")]

    def __init__(self, answer: Answer, index: int, document: Document) -> None:
        super().__init__()
        self.answer = answer
        self.citation = answer.citations[index]
        self.document = document
        self.start, self.end, self.how = locate(document, self.citation)

    def compose(self) -> ComposeResult:
        yield BidiText(self._header(), gap=False, id="viewer-header")
        with VerticalScroll(id="viewer-scroll"):
            yield DocumentView(self.document, self.start, self.end,
                               self.citation.verified and self.how != "passage", id="document")
        yield Footer()

    def _header(self) -> list[Block]:
        c, d = self.citation, self.document
        title = d.title or c.title or c.source
        where = " · ".join(x for x in (d.outlet or c.outlet, d.date or c.date) if x)
        blocks = [Block(Text(title, Style(bold=True)))]
        if where:
            blocks.append(Block(Text(where)))
        state = "verified" if c.verified else "UNVERIFIED: the quoted words were not found"
        notes = {"span": "", "moved": " (the file changed; the quote was found elsewhere)",
                 "passage": " (the quote is not in the file as it is now; the cited span "
                            "is shown)"}
        blocks.append(Block(Text(f"[{c.marker}] {c.source}, characters {self.start}–{self.end}"
                                 f" · {state}{notes[self.how]}", Style(dim=True)), rtl=False))
        return blocks

    def on_mount(self) -> None:
        self.call_after_refresh(self.scroll_to_span)

    def scroll_to_span(self) -> None:
        view = self.query_one(DocumentView)
        line = view.span_line()
        self.query_one("#viewer-scroll", VerticalScroll).scroll_to(
            y=max(0, line - CONTEXT_LINES), animate=False, immediate=True)

    def on_resize(self) -> None:
        self.call_after_refresh(self.scroll_to_span)

    def action_back(self) -> None:
        self.app.pop_screen()
