"""The chat log: questions, and answers as Markdown with clickable `[n]` markers."""

from __future__ import annotations

from rag.citations import live_markers
from rag.types import Answer, Citation
from rich.style import Style
from rich.text import Text
from textual import events
from textual.containers import VerticalScroll

from ..markdown import Block, parse
from ..messages import AnswerChosen, CitationChosen
from .bidi import BidiText, printable

THINKING = "…"


_PALETTES: dict[str, dict[str, str]] = {}
_DEFAULTS = {"accent": "#ffa62b", "warning": "#ffa62b", "error": "#ba3c5b", "primary": "#0178d4",
             "foreground": "#e0e0e0", "background": "#121212"}


def palette(app) -> dict[str, str]:
    """Theme colours as hex for Rich styles (Rich cannot read Textual's CSS variables)."""
    from textual.color import Color

    name = getattr(app, "theme", "") or ""
    if name not in _PALETTES:
        try:
            variables = app.get_css_variables()
        except Exception:  # pragma: no cover - no app yet
            variables = {}
        colours: dict[str, str] = {}
        for key, default in _DEFAULTS.items():
            try:
                colours[key] = Color.parse(variables.get(key, default)).hex
            except Exception:
                colours[key] = default
        colours["muted"] = Color.parse(colours["background"]).blend(
            Color.parse(colours["foreground"]), 0.6).hex
        _PALETTES[name] = colours
    return _PALETTES[name]


class QuestionView(BidiText):
    """A question as the person typed it."""

    def __init__(self, question: str, **kwargs) -> None:
        self.question = question
        super().__init__([Block(Text(printable(question)), prefix="› ")], **kwargs)


class AnswerView(BidiText):
    """One answer: streamed text, then the final `Answer` with its citations.

    Redraws are throttled while streaming: laying out Arabic costs about half a millisecond a
    line, and a model can send a token every few milliseconds.
    """

    REFRESH_S = 0.05

    def __init__(self, question: str, index: int, answer: Answer | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.question = question
        self.index = index
        self.answer = answer
        self.text = answer.text if answer else ""
        self.query = answer.query if answer and answer.rewritten else None
        self.notices: list[str] = list(answer.notes) if answer else []
        self.citations: list[Citation] = list(answer.citations) if answer else []
        self._refresh_pending = False

    # -- streaming -------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.answer is not None

    def append(self, delta: str) -> None:
        self.text += delta
        if not self._refresh_pending:
            self._refresh_pending = True
            self.set_timer(self.REFRESH_S, self._flush)

    def _flush(self) -> None:
        self._refresh_pending = False
        self.invalidate()

    def set_query(self, query: str) -> None:
        self.query = query if query.strip() != self.question.strip() else None
        self.invalidate()

    def add_notice(self, text: str) -> None:
        self.notices.append(text)
        self.invalidate()

    def set_citations(self, citations) -> None:
        self.citations = list(citations)
        self.invalidate()

    def finish(self, answer: Answer) -> None:
        self.answer = answer
        self.text = answer.text  # authoritative: replaces what was streamed after a fallback
        self.query = answer.query if answer.rewritten else None
        self.notices = list(dict.fromkeys([*self.notices, *answer.notes]))
        self.citations = list(answer.citations)
        self.invalidate()

    # -- drawing ---------------------------------------------------------------------------
    def _marker_style(self, colours: dict[str, str]):
        def style(marker: int) -> Style | None:
            cited = [c for c in self.citations if c.marker == marker]
            if not cited:
                return Style(bold=True) if self.done else None
            verified = all(c.verified for c in cited)
            colour = colours["accent"] if verified else colours["warning"]
            return Style(bold=True, color=colour, underline=not verified,
                         meta={"@click": f"cite({marker})"})
        return style

    def build_blocks(self) -> list[Block]:
        colours = palette(self.app)
        blocks: list[Block] = []
        if self.query:
            blocks.append(Block(Text(f"searched: {self.query}", Style(italic=True,
                                                                       color=colours["muted"])),
                                rtl=False))
        if self.text.strip():
            # while a model streams, its passage numbers are shown as the checked answer
            # will number them; the finished answer's own text replaces them
            limit = getattr(getattr(self.app, "settings", None), "top_k", None)
            text = self.text if self.done else live_markers(self.text, limit)
            blocks.extend(parse(text, self._marker_style(colours)))
        elif not self.done:
            blocks.append(Block(Text(THINKING, Style(color=colours["muted"])), rtl=False))
        for notice in self.notices:
            blocks.append(Block(Text(f"⚠ {notice}", Style(color=colours["warning"])), kind="note"))
        return blocks

    def action_cite(self, marker: int) -> None:
        """A click on `[marker]`: open the first citation with that marker."""
        if self.answer is None:
            return
        for index, citation in enumerate(self.answer.citations):
            if citation.marker == marker:
                self.post_message(CitationChosen(self.answer, index))
                return

    def on_click(self, event: events.Click) -> None:
        self.post_message(AnswerChosen(self.index))


class ChatLog(VerticalScroll, can_focus=False):
    """Scrolls with the conversation; follows the end unless the person scrolled up.

    Not focusable: Tab goes from the input straight to the sources, and the screen's
    PageUp/PageDown scroll the log while the input keeps the focus.
    """

    def answers(self) -> list[AnswerView]:
        return list(self.query(AnswerView))

    def on_mount(self) -> None:
        self.anchor()
