"""Display widgets for logical text that may be Arabic: laid out by `tui.rtl` at their width."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Sequence

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from textual.widget import Widget

from .. import rtl as rtl_layout
from ..markdown import Block, blank_between

# Embeddings, overrides and isolates: an unterminated one (U+202E) reverses the rest of the
# terminal's line; the app lays out bidi itself, or the terminal does, from the letters.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def printable(text: str) -> str:
    """`text` safe to draw: tabs become spaces, bidi embedding and override controls and
    other control characters (but line breaks) go. A tab moved the terminal's cursor."""
    text = text.translate(_BIDI_CONTROLS).replace("\t", " ")
    return "".join(c for c in text if c == "\n" or unicodedata.category(c) != "Cc")


@dataclass(frozen=True)
class LaidLine:
    line: rtl_layout.Line
    block: int  # index into the blocks; -1 for the blank line between blocks


class BidiBlocks:
    """A Rich renderable: blocks of logical text, laid out line by line at the given width.

    Laying out depends on the width, so it happens here, when Rich/Textual knows the width,
    and is cached per width; a resize lays the text out again.
    """

    def __init__(self, blocks: Sequence[Block], enabled: bool, gap: bool = True):
        self.blocks = list(blocks)
        self.enabled = enabled
        self.gap = gap
        self._cache: dict[int, list[LaidLine]] = {}
        strong = " ".join(b.text.plain for b in self.blocks if b.rtl is None)
        self._default_rtl = rtl_layout.direction(strong) == "rtl"

    def block_rtl(self, block: Block) -> bool:
        if block.rtl is not None:
            return block.rtl
        if not any(ch.isalpha() for ch in block.text.plain):
            return self._default_rtl
        return rtl_layout.direction(block.text.plain) == "rtl"

    def lines(self, width: int) -> list[LaidLine]:
        width = max(1, width)
        if width not in self._cache:
            out: list[LaidLine] = []
            previous: Block | None = None
            for number, block in enumerate(self.blocks):
                if self.gap and previous is not None and blank_between(previous, block):
                    out.append(LaidLine(rtl_layout.Line(_empty(), 0, 0, False), -1))
                for line in rtl_layout.layout(block.text, width, self.enabled,
                                              prefix=block.prefix, rtl=self.block_rtl(block)):
                    out.append(LaidLine(line, number))
                previous = block
            if len(self._cache) > 8:
                self._cache.clear()
            self._cache[width] = out
        return self._cache[width]

    def line_of(self, block: int, offset: int, width: int) -> int:
        """The display line showing logical `offset` of `block` (for scrolling to a span)."""
        found = 0
        for number, laid in enumerate(self.lines(width)):
            if laid.block == block:
                found = number
                if laid.line.start <= offset <= laid.line.end:
                    return number
            elif laid.block > block:
                break
        return found

    def plain(self, width: int) -> str:
        return "\n".join(laid.line.text.plain for laid in self.lines(width))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for laid in self.lines(options.max_width):
            yield from laid.line.text.render(console, end="")
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, options.max_width)


def _empty():
    from rich.text import Text

    return Text("", end="")


class BidiText(Widget):
    """Blocks of logical text shown shaped and reordered when the app's RTL display is on."""

    DEFAULT_CSS = """
    BidiText { height: auto; }
    """

    def __init__(self, blocks: Sequence[Block] = (), *, gap: bool = True, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._blocks = list(blocks)
        self._gap = gap
        self._renderable: BidiBlocks | None = None

    @property
    def rtl_enabled(self) -> bool:
        return bool(getattr(self.app, "rtl_enabled", True))

    def on_mount(self) -> None:
        if hasattr(self.app, "rtl_enabled"):
            self.watch(self.app, "rtl_enabled", self._rtl_changed, init=False)

    def _rtl_changed(self, _value: bool) -> None:
        self._renderable = None
        self.refresh(layout=True)

    def build_blocks(self) -> list[Block]:
        """Override to compute the blocks (e.g. with the theme's colours) at render time."""
        return self._blocks

    def set_blocks(self, blocks: Sequence[Block]) -> None:
        self._blocks = list(blocks)
        self.invalidate()

    def invalidate(self) -> None:
        self._renderable = None
        self.refresh(layout=True)

    @property
    def renderable(self) -> BidiBlocks:
        if self._renderable is None:
            self._renderable = BidiBlocks(self.build_blocks(), self.rtl_enabled, self._gap)
        return self._renderable

    def render(self) -> BidiBlocks:
        return self.renderable

    def display_text(self) -> str:
        """What is on screen, line by line (for tests)."""
        return self.renderable.plain(max(1, self.content_size.width))
