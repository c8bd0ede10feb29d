"""Every key, in one place."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# Keys that belong to widgets rather than to a binding of ours.
EXTRA_KEYS = [
    ("enter", "Ask the question in the input"),
    ("ctrl+j", "Add a line to the question (so do shift+enter and alt+enter where the "
               "terminal reports them); the box grows to four lines"),
    ("tab / shift+tab", "Move between the input and the sources panel"),
    ("up / down, enter", "In the sources panel: choose a citation, open it in the viewer"),
    ("click [n]", "Open that citation of an answer in the viewer"),
    ("click an answer", "Show its sources"),
    ("escape, q", "In the viewer: back to the chat"),
    ("ctrl+p", "Command palette: every action above, by name"),
    ("ctrl+q", "Quit"),
]


def key_rows(bindings) -> list[tuple[str, str]]:
    rows = []
    for binding in bindings:
        if isinstance(binding, Binding) and binding.description:
            rows.append((binding.key.replace(",", ", "), binding.tooltip or binding.description))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "close", "Close")]

    def __init__(self, rows: list[tuple[str, str]], rtl_label: str) -> None:
        super().__init__()
        self.rows = rows
        self.rtl_label = rtl_label

    def compose(self) -> ComposeResult:
        table = Table(title="sanad · keys", expand=True, show_edge=False)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("what it does")
        for key, what in [*self.rows, *EXTRA_KEYS]:
            table.add_row(Text(key), Text(what))
        with VerticalScroll(id="help-box"):
            yield Static(table)
            yield Static(Text(f"\nDisplay: {self.rtl_label}. SANAD_RTL=auto|on|off or --rtl "
                              "choose it at start; ctrl+t toggles it."), id="help-rtl")

    def action_close(self) -> None:
        self.dismiss(None)
