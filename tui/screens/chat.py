"""The main screen: chat log, sources panel, input, status line.

Retrieval, generation and indexing run in thread workers that post `tui.messages` back; this
screen is the only place that changes widgets in response, so the UI never waits on them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from rag.types import Answer, CitationsReady, Done, Notice, QueryRewritten, TextDelta
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import get_current_worker

from ..messages import (AnswerChosen, AnswerEvent, AnswerFailed, CitationChosen, DocumentLoaded,
                        IndexFailed, StatsLoaded)
from ..widgets.bidi import BidiText
from ..widgets.chat import AnswerView, ChatLog, QuestionView
from ..widgets.indexing import IndexPanel
from ..widgets.prompt import Prompt
from ..widgets.sources import SourcesPanel
from ..widgets.status import StatusLine, mode_label
from ..workers import acquire, relay
from .chat_actions import WELCOME, AnswerActions, ConversationActions, TurnActions

EMPTY_QUESTION = "The question is empty; type a question in Arabic or English."


@dataclass
class Pending:
    request: int
    question: str
    question_view: QuestionView
    answer_view: AnswerView
    replaces_last: bool = False


class ChatScreen(ConversationActions, AnswerActions, TurnActions, Screen):
    """Talk to the corpus."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", show=False,
                tooltip="Cancel the answer being written and put the question back"),
        Binding("ctrl+n", "new_conversation", "New", tooltip="Start a new conversation"),
        Binding("ctrl+o", "conversations", "Conversations",
                tooltip="Reopen an earlier conversation"),
        Binding("ctrl+b", "toggle_sources", "Sources", tooltip="Show or hide the sources panel"),
        Binding("ctrl+s", "export", "Export",
                tooltip="Export the conversation to a Markdown file"),
        Binding("ctrl+y", "copy_answer", "Copy", show=False,
                tooltip="Copy the selected answer, with its sources, to the clipboard"),
        Binding("f2", "edit_last", "Edit", show=False,
                tooltip="Edit the last question; Enter asks it again in place of the old one"),
        Binding("ctrl+g", "regenerate", "Regenerate", show=False,
                tooltip="Answer the last question again (e.g. after choosing another model)"),
        Binding("ctrl+l", "choose_model", "Model", show=False,
                tooltip="Choose the chat model, or answer offline"),
        Binding("ctrl+r", "reindex", "Re-index", show=False,
                tooltip="Re-index the corpus (with a progress bar)"),
        Binding("pageup", "scroll_log(-1)", "Scroll up", show=False,
                tooltip="Scroll the chat log up a page"),
        Binding("pagedown", "scroll_log(1)", "Scroll down", show=False,
                tooltip="Scroll the chat log down a page"),
        Binding("ctrl+up", "select_answer(-1)", "Previous answer", show=False,
                tooltip="Select the previous answer (its sources are shown)"),
        Binding("ctrl+down", "select_answer(1)", "Next answer", show=False,
                tooltip="Select the next answer (its sources are shown)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[Answer] = []
        self.selected: int | None = None
        self.conversation_id: int | None = None
        self.pending: Pending | None = None
        self.editing = False  # the input holds the last question, to be asked in its place
        self._request = 0

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with ChatLog(id="log"):
                yield BidiText(WELCOME, id="welcome")
            yield SourcesPanel(id="sources")
        yield IndexPanel(id="indexing")
        yield Prompt(id="prompt")
        yield StatusLine(id="status")
        yield Footer()

    @property
    def log_view(self) -> ChatLog:
        return self.query_one("#log", ChatLog)

    @property
    def input(self) -> Prompt:
        """The question box (an `Input`'s value, cursor and focus, over one line or several)."""
        return self.query_one("#prompt", Prompt)

    @property
    def status(self) -> StatusLine:
        return self.query_one("#status", StatusLine)

    @property
    def sources(self) -> SourcesPanel:
        return self.query_one("#sources", SourcesPanel)

    def on_mount(self) -> None:
        app = self.app
        self.status.mode = mode_label(app.settings, app.assistant.mode)
        self.status.rtl = app.rtl.label
        self.input.focus()
        if not app.new:
            try:
                latest = app.store.latest(app.corpus_key)
            except sqlite3.Error as exc:
                self.notify(f"The saved conversations could not be read: {exc}.",
                            severity="error")
                latest = None
            if latest is not None:
                self.load_conversation(latest.id)
        self.prepare()

    # -- the index -------------------------------------------------------------------------
    @property
    def index_panel(self) -> IndexPanel:
        return self.query_one("#indexing", IndexPanel)

    @property
    def indexing(self) -> bool:
        return self.index_panel.indexing

    def prepare(self, reindex: bool = False) -> None:
        self.index_panel.prepare(reindex)

    @on(IndexFailed)
    def _index_failed(self, message: IndexFailed) -> None:
        self.status.index = "index: unavailable"

    @on(StatsLoaded)
    def _stats(self, message: StatsLoaded) -> None:
        self.status.set_stats(message.stats)

    def action_reindex(self) -> None:
        if self.indexing:
            self.notify("The corpus is already being indexed.")
        elif self.pending is not None:
            self.notify("An answer is being written; wait for it or press Esc first.",
                        severity="warning")
        else:
            self.prepare(reindex=True)

    # -- asking ----------------------------------------------------------------------------
    @on(Prompt.Submitted)
    def ask(self, event: Prompt.Submitted) -> None:
        question = event.value.strip()
        if not question:
            self._end_editing()
            self.notify(EMPTY_QUESTION, severity="warning")
            return
        if self.pending is not None:
            self.notify("An answer is still being written; press Esc to cancel it.",
                        severity="warning")
            return
        if self.indexing:
            self.notify("The corpus is being indexed; ask again when it is done.",
                        severity="warning")
            return
        self.input.value = ""
        replace, self.editing = self.editing and bool(self.answers), False
        self.send(question, replace)

    def send(self, question: str, replace: bool = False) -> None:
        """Ask `question`; with `replace`, its answer takes the last turn's place when it
        arrives (the last turn stays until then: a cancelled or failed retry loses nothing)."""
        self._remove_welcome()
        self._request += 1
        history = list(self.answers[:-1] if replace else self.answers)
        question_view = QuestionView(question)
        answer_view = AnswerView(question, len(history))
        self.pending = Pending(self._request, question, question_view, answer_view, replace)
        self.log_view.mount_all([question_view, answer_view])
        self.log_view.anchor()
        self._stream(self._request, question, history)

    @work(thread=True, exclusive=True, group="answer", exit_on_error=False)
    def _stream(self, request: int, question: str, history: list[Answer]) -> None:
        worker = get_current_worker()
        lock = self.app.assistant_lock.shared  # questions share it; a re-index waits
        if not acquire(lock, worker):
            return
        # the thread inside the assistant releases it when it is out, even after Esc
        relay(self.app.assistant, question, history, request, worker, self.post_message,
              release=lock.release)

    @on(AnswerEvent)
    def _answer_event(self, message: AnswerEvent) -> None:
        pending = self.pending
        if pending is None or message.request != pending.request:
            return  # a cancelled request still finishing in its thread
        view, event = pending.answer_view, message.event
        if isinstance(event, TextDelta):
            view.append(event.text)
        elif isinstance(event, QueryRewritten):
            view.set_query(event.query)
        elif isinstance(event, Notice):
            view.add_notice(event.text)
            self.notify(event.text, severity="warning", timeout=6)
        elif isinstance(event, CitationsReady):
            view.set_citations(event.citations)
        elif isinstance(event, Done):
            self._finish(pending, event.answer)

    def _finish(self, pending: Pending, answer: Answer) -> None:
        self.pending = None
        if pending.replaces_last:
            self.drop_last_turn()
        pending.answer_view.finish(answer)
        self.answers.append(answer)
        self.status.set_latency(answer.timings.get("total"))
        self._save(answer)
        self.select(len(self.answers) - 1, scroll=False)

    def _save(self, answer: Answer) -> None:
        try:
            saved, gone = self.app.store.save(self.conversation_id, self.app.corpus_key,
                                              self.answers)
            if saved != self.conversation_id:
                self.conversation_id = saved
                self.status.conversation = f"conversation #{saved}"
            if gone is not None:  # deleted elsewhere while open here: what is shown is kept
                self.notify(f"Conversation #{gone} was deleted elsewhere; this chat is saved "
                            f"as conversation #{saved}.", severity="warning")
        except sqlite3.Error as exc:
            self.notify(f"The conversation could not be saved: {exc}.", severity="error")

    @on(AnswerFailed)
    def _answer_failed(self, message: AnswerFailed) -> None:
        pending = self.pending
        if pending is None or message.request != pending.request:
            return
        self._drop_pending(restore=True)
        self.notify(message.error, severity="error", timeout=8)

    def _drop_pending(self, restore: bool) -> None:
        pending, self.pending = self.pending, None
        if pending is None:
            return
        self.workers.cancel_group(self, "answer")
        pending.question_view.remove()
        pending.answer_view.remove()
        if restore and not self.input.value.strip():
            self.input.value = pending.question
            self.input.cursor_position = len(pending.question)
            self.editing = pending.replaces_last  # Enter retries in the same place
        self.input.focus()

    @on(Prompt.Emptied)
    def _end_editing(self, message: Prompt.Emptied | None = None) -> None:
        """An emptied input ends editing: what is typed next is a new question, and the last
        one stays (before, whatever was typed after clearing replaced it without a word)."""
        if self.editing:
            self.editing = False
            self.notify("The last question stays as it was; the next question is a new one.")

    def action_cancel(self) -> None:
        if self.pending is not None:
            replaces = self.pending.replaces_last
            self._drop_pending(restore=True)
            self.notify("Cancelled; the question is back in the input"
                        + ("; Enter asks it again in place of the last answer, Esc keeps "
                           "that answer." if replaces and self.editing else "."))
        elif self.editing:
            self.editing = False
            self.input.value = ""
            self.notify("The last question stays as it was.")
        elif not self.input.has_focus:
            self.input.focus()

    # -- answers and their sources ---------------------------------------------------------
    @on(AnswerChosen)
    def _answer_chosen(self, message: AnswerChosen) -> None:
        if message.index < len(self.answers):
            self.select(message.index, scroll=False)

    @on(CitationChosen)
    def _citation_chosen(self, message: CitationChosen) -> None:
        message.stop()
        self.open_citation(message.answer, message.index)

    @on(DocumentLoaded)
    def _document_loaded(self, message: DocumentLoaded) -> None:
        from .viewer import SourceScreen

        self.app.push_screen(SourceScreen(message.answer, message.index, message.document))

    # -- display ---------------------------------------------------------------------------
    def rtl_changed(self) -> None:
        self.status.rtl = self.app.rtl.label
