"""The question box: Enter asks; ctrl+j (shift+enter or alt+enter where the terminal reports
them) adds a line.

A one-line `Input` while the question has one line, a `TextArea` that grows to a few lines once
it has more (the swap oterm makes). Both hold the logical text, which is what is sent: in a
terminal where the app reorders, they show typed Arabic reversed and unjoined, so an echo
above them lays the question out the way it will read (shaped, right-aligned, harakat kept).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Text
from textual import events, on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, TextArea

from ..markdown import Block
from .bidi import BidiBlocks, printable

NEWLINE_KEYS = "ctrl+j,shift+enter,alt+enter"
ECHO_LINES = 3  # the echo shows at most this many lines, the cursor's among them
PLACEHOLDER = "Ask a question… (Enter asks, ctrl+j adds a line, Esc cancels, F1 keys)"


def has_rtl(text: str) -> bool:
    """Any right-to-left letter: the terminal would show it reversed when the app reorders."""
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


class QuestionLine(Input):
    """The one-line form; a line break (a key or a pasted one) hands over to `QuestionLines`."""

    BINDINGS = [Binding(NEWLINE_KEYS, "newline", "New line", show=False)]

    @dataclass
    class Break(Message):
        """Make the question multi-line: `text` with the cursor at `cursor`."""

        text: str
        cursor: int

    def _spliced(self, insert: str) -> tuple[str, int]:
        start, end = sorted(self.selection)
        return self.value[:start] + insert + self.value[end:], start + len(insert)

    def action_newline(self) -> None:
        self.post_message(self.Break(*self._spliced("\n")))

    def _on_paste(self, event: events.Paste) -> None:
        event.stop()
        event.prevent_default()  # Input's own paste keeps only the first line
        text = printable(event.text.replace("\r\n", "\n").replace("\r", "\n")).strip("\n")
        if "\n" in text:
            self.post_message(self.Break(*self._spliced(text)))
        elif text:
            self.replace(text, *sorted(self.selection))


class QuestionLines(TextArea):
    """The multi-line form: Enter asks instead of breaking the line."""

    BINDINGS = [
        Binding(NEWLINE_KEYS, "newline", "New line", show=False),
        # The chat's keys, not the editor's: copy the answer, scroll the log.
        Binding("ctrl+y,pageup,pagedown", "skip", show=False),
    ]

    class Submitted(Message):
        pass

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":  # else TextArea's own handler, next in the MRO, inserts
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted())

    def action_newline(self) -> None:
        self.insert("\n")

    def action_skip(self) -> None:
        raise SkipAction()


class Echo(Widget):
    """The question laid out as it will read (display only, never sent)."""

    DEFAULT_CSS = """
    Echo { height: auto; padding: 0 3; display: none; }
    Echo.-visible { display: block; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = ""
        self.cursor = 0
        self._laid: tuple[tuple[str, int, int], list[Text]] | None = None

    def show(self, text: str, cursor: int) -> None:
        self.text, self.cursor = text, cursor
        self.refresh(layout=True)

    def in_view(self) -> int:
        """How many lines the echo may take: fewer on a short terminal, where it would push
        the question box itself off the screen (none below 10 rows)."""
        height = self.app.size.height if self.is_attached else 24
        return ECHO_LINES if height >= 16 else 1 if height >= 10 else 0

    def lines(self, width: int) -> list[Text]:
        """The display lines in view: at most `in_view()`, ending at the cursor's if it can."""
        count = self.in_view()
        key = (self.text, self.cursor, width, count)
        if self._laid is None or self._laid[0] != key:  # measured, then drawn: laid out once
            text, cursor = self.text, self.cursor
            # only the text around the cursor: laying out a 20,000-character question on
            # every key took half a second a key
            reach = max(200, width * (ECHO_LINES + 2))
            if len(text) > 2 * reach:
                start = max(0, min(cursor - reach, len(text) - 2 * reach))
                text, cursor = text[start:start + 2 * reach], cursor - start
            blocks = BidiBlocks([Block(Text(text))], True, gap=False)
            laid = blocks.lines(width)
            at = blocks.line_of(0, cursor, width)
            start = max(0, min(at - count + 1, len(laid) - count))
            self._laid = key, [line.line.text for line in laid[start:start + count]] if count else []
        return self._laid[1]

    def render(self) -> "_EchoLines":
        return _EchoLines(self)

    def display_text(self) -> str:
        """What is on screen, line by line (for tests)."""
        return "\n".join(line.plain for line in self.lines(max(1, self.content_size.width)))


class _EchoLines:
    """Laid out when Rich knows the width (also when Textual measures the echo's height)."""

    def __init__(self, echo: Echo) -> None:
        self.echo = echo

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.echo.lines(options.max_width):
            yield from line.render(console, end="")
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, options.max_width)


class Prompt(Vertical):
    """The question box, with the surface of an `Input` that the screen uses (`value`,
    `cursor_position`, `focus`, `has_focus`, `cursor_blink`), whichever form is showing."""

    DEFAULT_CSS = """
    Prompt { height: auto; }
    Prompt > QuestionLines { height: auto; max-height: 6; display: none; }
    """

    class Submitted(Message):
        """Enter in either form: `value` is the question as typed (logical order)."""

        def __init__(self, prompt: "Prompt", value: str) -> None:
            super().__init__()
            self.prompt = prompt
            self.value = value

        @property
        def control(self) -> "Prompt":
            return self.prompt

    class Emptied(Message):
        """The question box became empty (typed away, or cleared)."""

    def __init__(self, *, placeholder: str = PLACEHOLDER, id: str | None = None) -> None:
        super().__init__(id=id)
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        yield Echo(id="echo")
        yield QuestionLine(placeholder=self.placeholder, id="question")
        yield QuestionLines(id="question-lines", soft_wrap=True, show_line_numbers=False,
                            tab_behavior="focus")

    def on_mount(self) -> None:
        self.watch(self.line, "cursor_position", lambda _: self._echo(), init=False)
        if hasattr(self.app, "rtl_enabled"):
            self.watch(self.app, "rtl_enabled", lambda _: self._echo(), init=False)

    # -- the two forms ---------------------------------------------------------------------
    @property
    def line(self) -> QuestionLine:
        return self.query_one(QuestionLine)

    @property
    def lines(self) -> QuestionLines:
        return self.query_one(QuestionLines)

    @property
    def multiline(self) -> bool:
        return bool(self.lines.display)

    @property
    def editor(self) -> QuestionLine | QuestionLines:
        return self.lines if self.multiline else self.line

    def _use(self, multiline: bool) -> None:
        if multiline == self.multiline:
            return
        focused = self.has_focus
        self.lines.display = multiline
        self.line.display = not multiline
        if focused:
            self.editor.focus()

    @on(QuestionLine.Break)
    def _break(self, message: QuestionLine.Break) -> None:
        message.stop()
        self.value = message.text
        self.cursor_position = message.cursor

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(TextArea.SelectionChanged)
    def _changed(self, message: Message) -> None:
        message.stop()
        self._echo()
        if not isinstance(message, TextArea.SelectionChanged) and not self.value.strip():
            self.post_message(self.Emptied())

    @on(Input.Submitted)
    @on(QuestionLines.Submitted)
    def _submitted(self, message: Message) -> None:
        message.stop()
        self.post_message(self.Submitted(self, self.value))

    # -- the echo --------------------------------------------------------------------------
    @property
    def echo(self) -> Echo:
        return self.query_one(Echo)

    def _echo(self) -> None:
        text = self.value
        visible = bool(getattr(self.app, "rtl_enabled", False)) and has_rtl(text)
        echo = self.echo
        echo.set_class(visible, "-visible")
        if visible:
            echo.show(text, self.cursor_position)

    # -- the Input-like surface ------------------------------------------------------------
    @property
    def value(self) -> str:
        return self.lines.text if self.multiline else self.line.value

    @value.setter
    def value(self, text: str) -> None:
        multiline = "\n" in text
        if multiline:
            self.lines.load_text(text)
            self.line.value = ""
        else:
            self.line.value = text
            self.lines.load_text("")
        self._use(multiline)
        self.cursor_position = len(text)
        self._echo()

    @property
    def cursor_position(self) -> int:
        if self.multiline:
            return self.lines.document.get_index_from_location(self.lines.cursor_location)
        return self.line.cursor_position

    @cursor_position.setter
    def cursor_position(self, position: int) -> None:
        if self.multiline:
            self.lines.move_cursor(self.lines.document.get_location_from_index(position))
        else:
            self.line.cursor_position = position

    def insert_text_at_cursor(self, text: str) -> None:
        if self.multiline:
            self.lines.insert(text)
        elif "\n" in text:
            self.line.post_message(QuestionLine.Break(*self.line._spliced(text)))
        else:
            self.line.insert_text_at_cursor(text)

    @property
    def has_focus(self) -> bool:  # the focus is on one of the forms, never on the box
        return self.has_focus_within

    def focus(self, scroll_visible: bool = True) -> "Prompt":
        self.editor.focus(scroll_visible)
        return self

    @property
    def cursor_blink(self) -> bool:
        return self.line.cursor_blink

    @cursor_blink.setter
    def cursor_blink(self, blink: bool) -> None:
        self.line.cursor_blink = blink
        self.lines.cursor_blink = blink
