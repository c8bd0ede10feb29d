"""The Textual chat app: `sanad chat` and `python -m tui`.

The app owns what outlives a screen: the assistant (with a lock, since workers share it), the
conversation store, and the RTL display decision. Screens render; `rag` does the work.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterable, Mapping

from rag.conversations import ChatStore, corpus_key
from rag.settings import Settings
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from . import rtl as rtl_mod
from .workers import AssistantLock


class SanadApp(App):
    """Talk to a corpus of Arabic articles; every answer shows where it came from."""

    CSS_PATH = "app.tcss"
    TITLE = "sanad"
    BINDINGS = [
        Binding("ctrl+t", "toggle_rtl", "RTL", tooltip="Toggle RTL display (shaping and "
                "reordering Arabic in the app)"),
        Binding("f1", "help", "Help", tooltip="Help: every key"),
    ]

    rtl_enabled = reactive(True)

    def __init__(self, settings: Settings, assistant=None, *, new: bool = False,
                 rtl: str | rtl_mod.RtlDecision | None = None,
                 env: Mapping[str, str] | None = None, store: ChatStore | None = None,
                 export_dir: str | Path | None = None) -> None:
        super().__init__()
        self.settings = settings
        if assistant is None:
            from rag.assistant import Assistant

            assistant = Assistant.open(None, settings=settings)
        self.assistant = assistant
        self.assistant_lock = AssistantLock()
        self.store = store or ChatStore(settings.resolved_data_dir)
        self.new = new
        self.export_dir = Path(export_dir) if export_dir else settings.resolved_export_dir
        self.last_export: Path | None = None
        self.env = os.environ if env is None else env
        if not isinstance(rtl, rtl_mod.RtlDecision):
            rtl = rtl_mod.decide(rtl or settings.rtl, self.env)
        self.rtl = rtl
        self.set_reactive(SanadApp.rtl_enabled, rtl.enabled)

    @property
    def corpus_key(self) -> str:
        """Conversations belong to a corpus: its resolved path."""
        return corpus_key(self.settings.corpus_dir)

    @property
    def chat(self):
        from .screens.chat import ChatScreen

        for screen in self.screen_stack:
            if isinstance(screen, ChatScreen):
                return screen
        raise LookupError("no chat screen")

    def get_default_screen(self) -> Screen:
        from .screens.chat import ChatScreen

        return ChatScreen()

    def on_mount(self) -> None:
        from rag.settings import unknown_variables

        for warning in unknown_variables(self.env):  # the full screen hides what stderr said
            self.notify(warning, severity="warning", timeout=15)

    # -- actions ---------------------------------------------------------------------------
    def action_toggle_rtl(self) -> None:
        self.rtl = self.rtl.toggled()
        self.rtl_enabled = self.rtl.enabled
        sequence = self.rtl.terminal_sequence()
        driver = getattr(self, "_driver", None)
        if sequence and driver is not None and not self.is_headless:
            driver.write(sequence)
        try:
            self.chat.rtl_changed()
        except LookupError:
            pass
        self.notify(f"{self.rtl.label}: Arabic is "
                    + ("shaped and reordered by sanad." if self.rtl.enabled
                       else "left in logical order for the terminal to display."))

    def key_rows(self) -> list[tuple[str, str]]:
        from .screens.chat import ChatScreen
        from .screens.help import key_rows

        return key_rows([*ChatScreen.BINDINGS, *self.BINDINGS])

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.key_rows(), self.rtl.label))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)

        def chat(action: str):
            return lambda: getattr(self.chat, f"action_{action}")()

        yield SystemCommand("New conversation", "Start a new conversation (ctrl+n)",
                            chat("new_conversation"))
        yield SystemCommand("Conversations", "Reopen an earlier conversation (ctrl+o)",
                            chat("conversations"))
        yield SystemCommand("Re-index the corpus", "Bring the index in line with the corpus "
                            "files, with a progress bar (ctrl+r)", chat("reindex"))
        yield SystemCommand("Toggle sources panel", "Show or hide the sources of the selected "
                            "answer (ctrl+b)", chat("toggle_sources"))
        yield SystemCommand("Toggle RTL display", f"Now: {self.rtl.label} (ctrl+t)",
                            self.action_toggle_rtl)
        yield SystemCommand("Export conversation to Markdown", "Answers with their citations "
                            f"and quotes, written to {self.export_dir} (ctrl+s)",
                            chat("export"))
        yield SystemCommand("Copy answer", "Copy the selected answer with its sources (ctrl+y)",
                            chat("copy_answer"))
        yield SystemCommand("Edit the last question", "Put it back in the input; Enter asks it "
                            "in place of the old one (f2)", chat("edit_last"))
        yield SystemCommand("Regenerate the last answer", "Answer the last question again "
                            "(ctrl+g)", chat("regenerate"))
        yield SystemCommand("Choose the model", "A chat model the server offers, or offline "
                            "answers (ctrl+l)", chat("choose_model"))
        yield SystemCommand("Help: keys", "Every key of sanad (f1)", self.action_help)

    def on_unmount(self) -> None:
        self.store.close()


def _write_terminal(sequence: str) -> None:
    stream = sys.__stdout__
    if sequence and stream is not None and stream.isatty():
        stream.write(sequence)
        stream.flush()


def run(settings: Settings, new: bool = False, rtl: str | None = None) -> int:
    """Run the chat until the person quits; returns the exit code."""
    decision = rtl_mod.decide(rtl or settings.rtl, os.environ)
    app = SanadApp(settings, new=new, rtl=decision)
    if decision.vte:
        _write_terminal(decision.terminal_sequence())
    try:
        app.run()
    finally:
        if decision.vte:
            _write_terminal(rtl_mod.CSI_BIDI_ON)
    return app.return_code or 0
