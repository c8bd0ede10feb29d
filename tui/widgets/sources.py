"""The sources panel: the citations of the selected answer, each one opens the viewer."""

from __future__ import annotations

from rag.types import Answer, Citation
from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ..markdown import Block
from ..messages import CitationChosen
from .bidi import BidiBlocks
from .chat import palette
from .status import FittedLabel

NARROW = 100  # below this many columns the panel starts hidden; ctrl+b shows it
QUOTE_CHARS = 240
HEADING_CHARS = 90  # a document without a title line is titled by its first sentence
UNVERIFIED = "⚠ unverified: the quoted words were not found in the file"
UNQUOTED = "⚠ unverified: no words were quoted for this marker (its passage is shown)"
UNSUPPORTED = "⚠ Unsupported answer: none of the words it quotes were found in the articles."


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def title_forms(answer: Answer, index: int | None) -> list[str]:
    """The panel's title, longest first, for the width it has (a third of the screen, or half
    of it below `NARROW` columns)."""
    counts = answer.citation_counts
    verified, unverified = counts["verified"], counts["unverified"]
    mark = " · UNSUPPORTED" if answer.unsupported else ""
    detail = f"{verified} verified" + (f", {unverified} unverified" if unverified else "")
    signs = f"{verified} ✓" + (f" {unverified} ⚠" if unverified else "")
    number = index + 1 if index is not None else None
    if number is None:
        return [f"Sources · {detail}{mark}", f"Sources · {signs}{mark}"]
    return [f"Sources of answer {number} · {detail}{mark}", f"Answer {number} · {detail}{mark}",
            f"Answer {number} · {signs}{mark}", f"#{number} · {signs}{mark}"]


def citation_blocks(citation: Citation, colours: dict[str, str]) -> list[Block]:
    colour = colours["accent"] if citation.verified else colours["warning"]
    head = Text(f"[{citation.marker}] ", Style(bold=True, color=colour))
    where = " — ".join(x for x in (citation.outlet, citation.title) if x) or citation.source
    head.append(_short(where, HEADING_CHARS), Style(bold=True))
    meta = citation.source + (f" · {citation.date}" if citation.date else "")
    blocks = [Block(head),
              Block(Text(meta, Style(color=colours["muted"])), rtl=False),
              Block(Text(f"«{_short(citation.quote, QUOTE_CHARS)}»" if citation.quoted
                         else _short(citation.quote, QUOTE_CHARS), Style(italic=True)))]
    if not citation.verified:
        blocks.append(Block(Text(UNVERIFIED if citation.quoted else UNQUOTED,
                                 Style(color=colours["warning"])), rtl=False))
    blocks.append(Block(Text("")))
    return blocks


class SourcesPanel(Vertical):
    """Citations of one answer: number, outlet/title, file, date, quoted words.

    Below `NARROW` columns the chat needs the width: the panel hides itself (the screen's
    `-no-sources` class, which ctrl+b toggles) when the screen becomes that narrow, and shows
    itself again when it becomes wide; in between, ctrl+b decides.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.answer: Answer | None = None
        self.index: int | None = None
        self._narrow: bool | None = None

    def compose(self) -> ComposeResult:
        yield FittedLabel("Sources", id="sources-title")
        yield OptionList(id="sources-list")

    def on_mount(self) -> None:
        if hasattr(self.app, "rtl_enabled"):
            self.watch(self.app, "rtl_enabled", lambda _: self._fill(keep=True), init=False)
        self._fill()
        self._fit_width(self.app.size.width)
        self.screen.screen_layout_refresh_signal.subscribe(
            self, lambda screen: self._fit_width(screen.size.width))

    def _fit_width(self, width: int) -> None:
        narrow = width < NARROW
        if narrow == self._narrow:
            return
        self._narrow = narrow
        self.set_class(narrow, "-narrow")
        screen = self.screen
        if narrow and self.has_focus_within and hasattr(screen, "input"):
            screen.input.focus()
        screen.set_class(narrow, "-no-sources")

    def show(self, answer: Answer | None, index: int | None = None) -> None:
        self.answer, self.index = answer, index
        self._fill()

    def _fill(self, keep: bool = False) -> None:
        options = self.query_one("#sources-list", OptionList)
        title = self.query_one("#sources-title", FittedLabel)
        highlighted = options.highlighted if keep else None
        options.clear_options()
        answer = self.answer
        if answer is None:
            title.update("Sources")
            options.add_option(Option("Ask a question: its sources appear here.", disabled=True))
            return
        title.update(*title_forms(answer, self.index))
        if answer.unsupported:
            options.add_option(Option(Text(UNSUPPORTED, Style(color=palette(self.app)["warning"],
                                                              bold=True)), disabled=True))
        if not answer.citations:
            options.add_option(Option("This answer cites no source.", disabled=True))
            return
        colours = palette(self.app)
        enabled = bool(getattr(self.app, "rtl_enabled", True))
        for index, citation in enumerate(answer.citations):
            blocks = citation_blocks(citation, colours)
            options.add_option(Option(BidiBlocks(blocks, enabled, gap=False), id=str(index)))
        if answer.dropped_markers:
            markers = ", ".join(f"[{m}]" for m in answer.dropped_markers)
            options.add_option(Option(Text(f"Removed from the answer, no source: {markers}",
                                           Style(color=colours["muted"])), disabled=True))
        if highlighted is not None and highlighted < options.option_count:
            options.highlighted = highlighted
        else:
            options.highlighted = 0

    @on(OptionList.OptionSelected, "#sources-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.answer is not None and event.option.id is not None:
            self.post_message(CitationChosen(self.answer, int(event.option.id)))

    def focus_list(self) -> None:
        self.query_one("#sources-list", OptionList).focus()
