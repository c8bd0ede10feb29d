"""The chat screen's actions, as mixins of `ChatScreen`, which owns the widgets and the state.

Message handlers stay on the screen: Textual collects `@on(...)` only from a message pump's own
class, not from a plain mixin.
"""

from __future__ import annotations

import sqlite3

from rag.conversations import answer_markdown, conversation_markdown, export_path
from rag.errors import SanadError
from rag.types import Answer
from rich.text import Text
from textual import work

from ..markdown import Block
from ..messages import DocumentLoaded
from ..widgets.bidi import BidiText
from ..widgets.chat import AnswerView, QuestionView
from ..widgets.status import mode_label

WELCOME = [
    Block(Text("Ask about the articles of the corpus, in Arabic, English or another "
               "language. Answers cite their sources with [n]; Tab moves to the sources (ctrl+b "
               "shows them on a narrow terminal), F1 lists every key."),
          rtl=False),
    Block(Text("اسأل عن المقالات بالعربية أو بالإنجليزية أو بغيرهما، وستجد مصدر كل إجابة."), rtl=True),
]


class AnswerActions:
    """Selecting answers, scrolling the log, showing sources, opening a citation."""

    def _views(self) -> list[AnswerView]:
        return [v for v in self.log_view.answers() if v.done]

    def select(self, index: int | None, scroll: bool = True) -> None:
        if not self.answers:
            index = None
        elif index is not None:
            index = max(0, min(index, len(self.answers) - 1))
        self.selected = index
        for view in self._views():
            view.set_class(view.index == index, "-selected")
            if scroll and view.index == index:
                self.log_view.scroll_to_widget(view, animate=False)
        self.sources.show(self.answers[index] if index is not None else None, index)

    def action_select_answer(self, step: int) -> None:
        if not self.answers:
            return
        current = self.selected if self.selected is not None else len(self.answers)
        self.select(current + step)

    def action_scroll_log(self, direction: int) -> None:
        if direction < 0:
            self.log_view.scroll_page_up(animate=False)
        else:
            self.log_view.scroll_page_down(animate=False)

    def action_toggle_sources(self) -> None:
        self.toggle_class("-no-sources")
        if self.has_class("-no-sources") and self.focused is not None \
                and self.sources in self.focused.ancestors_with_self:
            self.input.focus()

    def open_citation(self, answer: Answer, index: int) -> None:
        """Open `answer.citations[index]` in the source viewer."""
        if not 0 <= index < len(answer.citations):
            self.notify(f"The answer has no citation number {index + 1}.", severity="warning")
            return
        self._load_document(answer, index)

    @work(thread=True, group="document", exit_on_error=False)
    def _load_document(self, answer: Answer, index: int) -> None:
        source = answer.citations[index].source
        try:
            document = self.app.assistant.document(source)
        except SanadError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        except OSError as exc:
            self.app.call_from_thread(self.notify, f"{source} could not be read: {exc}.",
                                      severity="error")
            return
        self.post_message(DocumentLoaded(answer, index, document))


class ConversationActions:
    """New, open, export, copy: the conversation as a whole, saved in the app's store."""

    def _remove_welcome(self) -> None:
        for welcome in self.query("#welcome"):
            welcome.remove()

    def _clear(self) -> None:
        self._drop_pending(restore=False)
        self.log_view.remove_children()
        self.answers = []
        self.selected = None
        self.sources.show(None)

    def _release(self) -> None:
        if self.conversation_id is not None:
            try:
                self.app.store.release(self.conversation_id)
            except sqlite3.Error:
                pass

    def action_new_conversation(self) -> None:
        unanswered = self.pending.question if self.pending is not None else None
        self._clear()
        self._release()
        self.conversation_id = None
        self.editing = False
        self.log_view.mount(BidiText(WELCOME, id="welcome"))
        self.status.conversation = "new conversation"
        self.status.set_latency(None)
        self.input.value = unanswered or ""  # a question cut short is not thrown away
        self.input.focus()
        self.notify("New conversation." + (" The question that was being answered is back "
                                           "in the input." if unanswered else ""))

    def load_conversation(self, conversation_id: int) -> bool:
        """Open a saved conversation; False (and a notice) when it cannot be read, or when
        another running chat has it open: two chats would interleave their turns."""
        try:
            if conversation_id != self.conversation_id and not self.app.store.claim(conversation_id):
                self.notify(f"Conversation #{conversation_id} is open in another chat; "
                            "this chat does not open it too.", severity="warning")
                return False
            answers = self.app.store.answers(conversation_id)
        except (sqlite3.Error, ValueError, TypeError) as exc:
            self.notify(f"Conversation #{conversation_id} could not be read: {exc}.",
                        severity="error")
            return False
        if conversation_id != self.conversation_id:
            self._release()
        self._clear()
        widgets = []
        for index, answer in enumerate(answers):
            widgets += [QuestionView(answer.question), AnswerView(answer.question, index, answer)]
        self.log_view.mount_all(widgets)
        self.answers = answers
        self.conversation_id = conversation_id
        self.status.conversation = f"conversation #{conversation_id}"
        self.status.set_latency(answers[-1].timings.get("total") if answers else None)
        self.call_after_refresh(self.select, len(answers) - 1 if answers else None, False)
        self.log_view.anchor()
        return True

    def action_conversations(self) -> None:
        from .conversations import ConversationsScreen

        try:
            conversations = self.app.store.conversations(self.app.corpus_key)
        except sqlite3.Error as exc:
            self.notify(f"The saved conversations could not be read: {exc}.", severity="error")
            return

        def chosen(conversation_id: int | None) -> None:
            if conversation_id is not None and conversation_id != self.conversation_id:
                self.load_conversation(conversation_id)
            elif self.conversation_id is not None \
                    and self.app.store.get(self.conversation_id) is None:
                self.action_new_conversation()  # the open one was deleted

        self.app.push_screen(ConversationsScreen(conversations, self.conversation_id,
                                                 self.app.rtl_enabled, self.app.corpus_key),
                             chosen)

    def conversation_title(self) -> str:
        return self.answers[0].question if self.answers else "sanad conversation"

    def action_export(self) -> None:
        if not self.answers:
            self.notify("There is nothing to export yet.", severity="warning")
            return
        path = export_path(self.app.export_dir, self.conversation_id)
        text = conversation_markdown(self.conversation_title(), self.answers,
                                     str(self.app.settings.corpus_dir))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            self.notify(f"The conversation could not be exported: {exc}.", severity="error")
            return
        self.app.last_export = path
        count = len(self.answers)
        self.notify(f"Exported {count} answer{'' if count == 1 else 's'} to {path.resolve()}.")

    def action_copy_answer(self) -> None:
        """Copy the selected answer (ctrl+↑/↓ or a click selects one), with its sources."""
        if not self.answers:
            self.notify("There is no answer to copy yet.", severity="warning")
            return
        index = self.selected if self.selected is not None else len(self.answers) - 1
        answer = self.answers[index]
        self.app.copy_to_clipboard(answer_markdown(answer))
        sources = len(answer.citations)
        self.notify(f"Copied answer {index + 1} with its {sources} source"
                    f"{'' if sources == 1 else 's'}.")


class TurnActions:
    """Edit and resend the last question, regenerate the last answer, choose the model."""

    def drop_last_turn(self) -> None:
        """Remove the last question and answer: from the log, the list and the store."""
        if not self.answers:
            return
        index = len(self.answers) - 1
        for view in self.log_view.answers():
            if view.index == index and view.done:
                children = list(self.log_view.children)
                at = children.index(view)
                if at > 0 and isinstance(children[at - 1], QuestionView):
                    children[at - 1].remove()
                view.remove()
                break
        self.answers.pop()
        if self.selected is not None and self.selected >= len(self.answers):
            self.selected = None
        if self.conversation_id is not None:
            try:
                self.app.store.drop_last(self.conversation_id)
            except sqlite3.Error as exc:
                self.notify(f"The conversation could not be saved: {exc}.", severity="error")

    def _busy(self) -> bool:
        if self.pending is not None:
            self.notify("An answer is being written; wait for it or press Esc first.",
                        severity="warning")
            return True
        if not self.answers:
            self.notify("Ask a question first.", severity="warning")
            return True
        return False

    def action_edit_last(self) -> None:
        if self._busy():
            return
        question = self.answers[-1].question
        self.input.value = question
        self.input.cursor_position = len(question)
        self.input.focus()
        self.editing = True
        self.notify("Edit the last question; Enter asks it in place of the old one, "
                    "Esc keeps the old one.")

    def action_regenerate(self) -> None:
        if self._busy():
            return
        if self.indexing:
            self.notify("The corpus is being indexed; regenerate when it is done.",
                        severity="warning")
            return
        self.editing = False
        self.send(self.answers[-1].question, replace=True)

    def action_choose_model(self) -> None:
        from .models import ModelScreen

        def chosen(choice: tuple[str | None] | None) -> None:
            if choice is None:
                return
            try:
                self.app.assistant.use_model(choice[0])
            except SanadError as exc:
                self.notify(str(exc), severity="error")
                return
            label = mode_label(self.app.assistant.settings, self.app.assistant.mode)
            self.status.mode = label
            self.notify(f"Answers now come from {label}; ctrl+g answers the last question "
                        "again.")

        self.app.push_screen(ModelScreen(self.app.assistant), chosen)
