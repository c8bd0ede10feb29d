"""The status line: answering mode, index size, last answer's latency, RTL display mode."""

from __future__ import annotations

from urllib.parse import urlparse

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


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


class StatusLine(Static):
    """One line, updated by the chat screen."""

    mode = reactive("…")
    index = reactive("index: loading…")
    latency = reactive("last answer: –")
    rtl = reactive("")
    conversation = reactive("new conversation")

    def render(self) -> Text:
        parts = [self.mode, self.index, self.latency, self.rtl, self.conversation]
        return Text(" │ ".join(p for p in parts if p), no_wrap=True, overflow="ellipsis")

    def set_stats(self, stats: dict) -> None:
        self.index = f"{stats.get('files', 0)} files · {stats.get('passages', 0)} passages"

    def set_latency(self, milliseconds: float | None) -> None:
        self.latency = f"last answer: {latency_label(milliseconds)}"
