"""The sources panel: the citations of the selected answer, each one opens the viewer."""

from __future__ import annotations

from rag.types import Answer, Citation
from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..markdown import Block
from ..messages import CitationChosen
from .bidi import BidiBlocks
from .chat import palette

QUOTE_CHARS = 240
HEADING_CHARS = 90  # a document without a title line is titled by its first sentence
UNVERIFIED = "⚠ unverified: the quoted words were not found in the file"
UNSUPPORTED = "⚠ Unsupported answer: not one of its quotes was found in the articles."


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def citation_blocks(citation: Citation, colours: dict[str, str]) -> list[Block]:
    colour = colours["accent"] if citation.verified else colours["warning"]
    head = Text(f"[{citation.marker}] ", Style(bold=True, color=colour))
    where = " — ".join(x for x in (citation.outlet, citation.title) if x) or citation.source
    head.append(_short(where, HEADING_CHARS), Style(bold=True))
    meta = citation.source + (f" · {citation.date}" if citation.date else "")
    blocks = [Block(head),
              Block(Text(meta, Style(color=colours["muted"])), rtl=False),
              Block(Text(f"«{_short(citation.quote, QUOTE_CHARS)}»", Style(italic=True)))]
    if not citation.verified:
        blocks.append(Block(Text(UNVERIFIED, Style(color=colours["warning"])), rtl=False))
    blocks.append(Block(Text("")))
    return blocks


class SourcesPanel(Vertical):
    """Citations of one answer: number, outlet/title, file, date, quoted words."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.answer: Answer | None = None
        self.index: int | None = None

    def compose(self) -> ComposeResult:
        yield Static("Sources", id="sources-title")
        yield OptionList(id="sources-list")

    def on_mount(self) -> None:
        if hasattr(self.app, "rtl_enabled"):
            self.watch(self.app, "rtl_enabled", lambda _: self._fill(keep=True), init=False)
        self._fill()

    def show(self, answer: Answer | None, index: int | None = None) -> None:
        self.answer, self.index = answer, index
        self._fill()

    def _fill(self, keep: bool = False) -> None:
        options = self.query_one("#sources-list", OptionList)
        title = self.query_one("#sources-title", Static)
        highlighted = options.highlighted if keep else None
        options.clear_options()
        answer = self.answer
        if answer is None:
            title.update("Sources")
            options.add_option(Option("Ask a question: its sources appear here.", disabled=True))
            return
        counts = answer.citation_counts
        label = f"Sources of answer {self.index + 1}" if self.index is not None else "Sources"
        detail = f"{counts['verified']} verified"
        if counts["unverified"]:
            detail += f", {counts['unverified']} unverified"
        if answer.unsupported:
            detail += " · UNSUPPORTED"
        title.update(f"{label} · {detail}")
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
