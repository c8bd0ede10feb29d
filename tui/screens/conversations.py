"""Earlier conversations: pick one to reopen it."""

from __future__ import annotations

from datetime import datetime

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..markdown import Block
from rag.conversations import Conversation
from ..widgets.bidi import BidiBlocks


class ConversationsScreen(ModalScreen[int | None]):
    """Returns the chosen conversation's id, or None."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close"),
                Binding("delete", "delete", "Delete conversation")]

    def __init__(self, conversations: list[Conversation], current: int | None,
                 rtl_enabled: bool) -> None:
        super().__init__()
        self.conversations = conversations
        self.current = current
        self.rtl_enabled = rtl_enabled
        self.deleted: list[int] = []
        self.armed: int | None = None  # Delete pressed once on this conversation

    def compose(self) -> ComposeResult:
        with Vertical(id="conversations-box"):
            yield Static("Conversations · Enter opens · Delete twice removes · Esc closes",
                         id="conversations-title")
            yield OptionList(*self._options(), id="conversations-list")

    def _options(self):
        if not self.conversations:
            yield Option("No saved conversation yet.", disabled=True)
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
        self.app.store.delete(conversation_id)
        self.deleted.append(conversation_id)
        options.remove_option(option.id)
        self.notify(f"Deleted conversation #{conversation_id}.")
