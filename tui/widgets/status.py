"""The status line: answering mode, index size, last answer's latency, RTL display mode.

One line at any width: when the parts do not fit, they are shortened one at a time (the least
useful first) and then left out, rather than cut off at the right edge.
"""

from __future__ import annotations

from urllib.parse import urlparse

from rich.cells import cell_len
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

SEPARATOR = " │ "
# (part, form): each step shortens one part to its next form ("" leaves it out).
SHORTENING = [("rtl", 1), ("latency", 1), ("conversation", 1), ("mode", 1), ("index", 1),
              ("latency", 2), ("conversation", 2), ("rtl", 2)]


def mode_label(settings, mode: str) -> str:
    """`offline`, or `model@host` when a chat model answers."""
    if mode != "llm":
        return "offline"
    host = urlparse(settings.base_url).netloc if settings.base_url else "api.openai.com"
    return f"{settings.model}@{host or settings.base_url}"


def latency_label(milliseconds: float | None) -> str:
    if milliseconds is None:
        return "–"
    return f"{milliseconds:.0f} ms" if milliseconds < 1000 else f"{milliseconds / 1000:.1f} s"


def forms(part: str, value: str) -> list[str]:
    """`value` of one status part, then its shorter forms; "" where it may be left out."""
    if not value:
        return [""]
    if part == "mode":  # model@host -> model
        return [value, value.split("@", 1)[0]]
    if part == "index":  # "2 files · 12 passages" -> "12 passages"; "index: x" -> "x"
        short = value.split(" · ")[-1] if " · " in value else value.removeprefix("index: ")
        return [value, short]
    if part == "latency":  # "last answer: 420 ms" -> "420 ms"
        short = value.removeprefix("last answer: ")
        return [value, "" if short == "–" else short, ""]
    if part == "rtl":  # "RTL on (auto: VTE 7600)" -> "RTL on"
        return [value, value.split(" (", 1)[0], ""]
    if part == "conversation":  # "conversation #3" -> "#3", "new conversation" -> "new"
        return [value, value.replace("conversation", "").strip(), ""]
    return [value]


def fit(parts: dict[str, str], width: int) -> str:
    """The parts joined, in their longest forms that fit `width` cells together."""
    options = {name: forms(name, value) for name, value in parts.items()}
    level = dict.fromkeys(parts, 0)

    def line() -> str:
        shown = (options[name][min(level[name], len(options[name]) - 1)] for name in parts)
        return SEPARATOR.join(p for p in shown if p)

    text = line()
    for name, form in SHORTENING:
        if width <= 0 or cell_len(text) <= width:
            break
        if name in level:
            level[name] = form
            text = line()
    return text


def fit_first(candidates: list[str], width: int) -> str:
    """The first (longest) of `candidates` that fits `width` cells, else the last."""
    for candidate in candidates:
        if width <= 0 or cell_len(candidate) <= width:
            return candidate
    return candidates[-1] if candidates else ""


class FittedLabel(Widget):
    """One line showing the first of its forms (longest first) that fits its width."""

    DEFAULT_CSS = "FittedLabel { height: 1; }"

    def __init__(self, *candidates: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.candidates = list(candidates)

    def update(self, *candidates: str) -> None:
        self.candidates = list(candidates)
        self.refresh()

    def render(self) -> Text:
        return Text(fit_first(self.candidates, self.content_size.width), no_wrap=True,
                    overflow="ellipsis", end="")


class StatusLine(Static):
    """One line, updated by the chat screen."""

    mode = reactive("…")
    index = reactive("index: loading…")
    latency = reactive("last answer: –")
    rtl = reactive("")
    conversation = reactive("new conversation")

    def render(self) -> Text:
        parts = {"mode": self.mode, "index": self.index, "latency": self.latency,
                 "rtl": self.rtl, "conversation": self.conversation}
        return Text(fit(parts, self.content_size.width), no_wrap=True, overflow="ellipsis",
                    end="")

    def set_stats(self, stats: dict) -> None:
        self.index = f"{stats.get('files', 0)} files · {stats.get('passages', 0)} passages"

    def set_latency(self, milliseconds: float | None) -> None:
        self.latency = f"last answer: {latency_label(milliseconds)}"
