"""Earlier conversations: find one by its words, reopen, rename or delete it."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from rag.conversations import Conversation
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ..markdown import Block
from ..widgets.bidi import BidiBlocks


class ConversationsScreen(ModalScreen[int | None]):
    """Returns the chosen conversation's id, or None."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close"),
                Binding("delete", "delete", "Delete conversation"),
                Binding("f2", "rename", "Rename conversation"),
                Binding("ctrl+f", "search", "Search conversations")]

    def __init__(self, conversations: list[Conversation], current: int | None,
                 rtl_enabled: bool, corpus: str | None = None) -> None:
        super().__init__()
        self.conversations = conversations
        self.current = current
        self.rtl_enabled = rtl_enabled
        self.corpus = corpus
        self.deleted: list[int] = []
        self.armed: int | None = None  # Delete pressed once on this conversation

    def compose(self) -> ComposeResult:
        with Vertical(id="conversations-box"):
            yield Static("Conversations · Enter opens · F2 renames · Del twice deletes · Esc",
                         id="conversations-title")
            yield Input(placeholder="Search: type words of a title, question or answer",
                        id="conversations-search", select_on_focus=False)
            yield OptionList(*self._options(), id="conversations-list")

    def on_mount(self) -> None:
        self.query_one("#conversations-list", OptionList).focus()

    @property
    def options(self) -> OptionList:
        return self.query_one("#conversations-list", OptionList)

    def _refill(self, keep: int | None = None) -> None:
        self.options.clear_options()
        self.options.add_options(list(self._options()))
        ids = [str(c.id) for c in self.conversations]
        if keep is not None and str(keep) in ids:
            self.options.highlighted = ids.index(str(keep))
        elif ids:
            self.options.highlighted = 0

    @on(Input.Changed, "#conversations-search")
    def _search(self, event: Input.Changed) -> None:
        try:
            self.conversations = self.app.store.search(event.value, self.corpus)
        except (sqlite3.Error, ValueError) as exc:  # ValueError: a row that is not JSON
            self.notify(f"The saved conversations could not be searched: {exc}.",
                        severity="error")
            return
        self._refill()

    @on(Input.Submitted, "#conversations-search")
    def _search_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.options.focus()

    def on_key(self, event: events.Key) -> None:
        """Typing a word in the list starts a search with it."""
        search = self.query_one("#conversations-search", Input)
        if self.focused is self.options and event.is_printable and event.character:
            event.stop()
            search.focus()
            search.insert_text_at_cursor(event.character)

    def action_search(self) -> None:
        self.query_one("#conversations-search", Input).focus()

    def action_rename(self) -> None:
        from .text_input import TextScreen

        chosen = self._highlighted()
        if chosen is None:
            return

        def renamed(title: str | None) -> None:
            if title is None:
                return
            try:
                title = self.app.store.rename(chosen.id, title)
            except (ValueError, sqlite3.Error) as exc:
                self.notify(str(exc), severity="error")
                return
            self.conversations = [c if c.id != chosen.id else
                                  Conversation(c.id, title, c.corpus, c.created, c.updated,
                                               c.messages) for c in self.conversations]
            self._refill(keep=chosen.id)
            self.notify(f"Renamed conversation #{chosen.id}.")

        self.app.push_screen(TextScreen(f"Rename conversation #{chosen.id}", chosen.title),
                             renamed)

    def _highlighted(self) -> Conversation | None:
        if self.options.highlighted is None:
            return None
        option = self.options.get_option_at_index(self.options.highlighted)
        return next((c for c in self.conversations if str(c.id) == option.id), None)

    def _options(self):
        if not self.conversations:
            searched = self.is_mounted and self.query_one("#conversations-search", Input).value
            yield Option("No conversation holds these words." if searched else
                         "No saved conversation yet.", disabled=True)
        for c in self.conversations:
            when = datetime.fromtimestamp(c.updated).strftime("%Y-%m-%d %H:%M")
            mark = " (open)" if c.id == self.current else ""
            meta = Text(f"#{c.id} · {when} · {c.messages} question"
                        f"{'' if c.messages == 1 else 's'}{mark}", Style(dim=True))
            blocks = [Block(Text(c.title, Style(bold=True))), Block(meta, rtl=False)]
            yield Option(BidiBlocks(blocks, self.rtl_enabled, gap=False), id=str(c.id))

    @on(OptionList.OptionSelected, "#conversations-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.dismiss(int(event.option.id))

    @on(OptionList.OptionHighlighted, "#conversations-list")
    def _moved(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is None or int(event.option.id) != self.armed:
            self.armed = None

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def action_delete(self) -> None:
        options = self.query_one("#conversations-list", OptionList)
        if options.highlighted is None:
            return
        option = options.get_option_at_index(options.highlighted)
        if option.id is None:
            return
        conversation_id = int(option.id)
        if self.armed != conversation_id:  # nothing is removed on one key press
            self.armed = conversation_id
            self.notify(f"Press Delete again to delete conversation #{conversation_id}; "
                        "any other choice keeps it.", severity="warning")
            return
        self.armed = None
        try:
            holder = self.app.store.holder(conversation_id)
            if holder is None:
                self.app.store.delete(conversation_id)
        except sqlite3.Error as exc:
            self.notify(f"Conversation #{conversation_id} could not be deleted: {exc}.",
                        severity="error")
            return
        if holder is not None:
            self.notify(f"Conversation #{conversation_id} is open in another chat (process "
                        f"{holder}); it is not deleted.", severity="warning")
            return
        self.deleted.append(conversation_id)
        self.conversations = [c for c in self.conversations if c.id != conversation_id]
        self._refill()  # the empty list says so rather than showing nothing
        self.notify(f"Deleted conversation #{conversation_id}.")
