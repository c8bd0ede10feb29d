"""Edit and resend, regenerate, rename and search conversations, choose the model: what oterm,
Elia and `llm` users expect, driven by Textual's Pilot at a wide size and at 80×24."""

from __future__ import annotations

import pytest
from rag.errors import LLMConnectionError
from textual.widgets import Input, OptionList

from pilot_helpers import QUESTION, notifications, option_texts, run

from tui.screens.conversations import ConversationsScreen
from tui.screens.models import ModelScreen
from tui.screens.text_input import TextScreen

SIZES = [(110, 32), (80, 24)]


@pytest.mark.parametrize("size", SIZES)
def test_edit_the_last_question_and_ask_it_in_its_place(make_app, ui, size):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            await pilot.press("f2")
            assert "Ask a question first." in notifications(app)
            await ui.ask(pilot, QUESTION)
            await ui.ask(pilot, "ومن أعلن ذلك؟")
            chat = app.chat
            await pilot.press("f2")
            assert chat.input.value == "ومن أعلن ذلك؟" and chat.editing
            await pilot.press("escape")  # Esc keeps the old question
            assert not chat.editing and chat.input.value == ""
            assert [a.question for a in chat.answers] == [QUESTION, "ومن أعلن ذلك؟"]
            await pilot.press("f2")
            chat.input.value = "ومن أعلن الانضمام؟"
            await pilot.press("enter")
            await ui.until(pilot, lambda: chat.pending is None)
            await pilot.pause()
            assert [a.question for a in chat.answers] == [QUESTION, "ومن أعلن الانضمام؟"]
            # asked with the history before the replaced turn, and the log shows two turns
            assert app.assistant.calls[-1][0] == "ومن أعلن الانضمام؟"
            assert [a.question for a in app.assistant.calls[-1][1]] == [QUESTION]
            assert [v.question for v in chat.log_view.answers()] == [QUESTION, "ومن أعلن الانضمام؟"]
            assert [v.index for v in chat.log_view.answers()] == [0, 1]
            saved = app.store.answers(chat.conversation_id)
            assert [a.question for a in saved] == [QUESTION, "ومن أعلن الانضمام؟"]

    run(scenario())


def test_regenerate_replaces_the_last_answer_only_when_the_new_one_arrives(make_app, ui):
    app = make_app(rtl="on", delay=0.05)

    async def scenario():
        async with app.run_test(size=(110, 32)) as pilot:
            await ui.ready(pilot)
            await pilot.press("ctrl+g")
            assert "Ask a question first." in notifications(app)
            await ui.ask(pilot, QUESTION)
            chat = app.chat
            await pilot.press("ctrl+g")
            await ui.until(pilot, lambda: app.assistant.streamed > 0 and chat.pending)
            await pilot.press("escape")  # cancelled: the old answer is still there
            await pilot.pause()
            assert [a.question for a in chat.answers] == [QUESTION]
            assert len(chat.log_view.answers()) == 1
            assert len(app.store.answers(chat.conversation_id)) == 1
            chat.input.value = ""
            await pilot.press("ctrl+g")
            await ui.until(pilot, lambda: chat.pending is None, timeout=10)
            await pilot.pause()
            assert len(app.assistant.calls) == 3 and app.assistant.calls[-1] == (QUESTION, [])
            assert [a.question for a in chat.answers] == [QUESTION]
            assert len(chat.log_view.answers()) == 1 and chat.selected == 0
            assert len(app.store.answers(chat.conversation_id)) == 1

    run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_search_and_rename_conversations(make_app, ui, size):
    async def scenario():
        app = make_app(rtl="off")  # the list's text in logical order, to read it back
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            first = app.chat.conversation_id
            await pilot.press("ctrl+n")
            await ui.ask(pilot, "كم عدد سكان أستانا؟")
            await pilot.press("ctrl+o")
            await ui.until(pilot, lambda: isinstance(app.screen, ConversationsScreen))
            screen = app.screen
            options = screen.query_one(OptionList)
            assert options.option_count == 2
            await pilot.press(*"الدولة التي")  # typing in the list searches
            await pilot.pause()
            assert screen.query_one(Input).value == "الدولة التي"
            assert [c.id for c in screen.conversations] == [first]
            await pilot.press(*" لا شيء")
            await pilot.pause()
            assert option_texts(options) == ["No conversation holds these words."]
            screen.query_one(Input).value = ""
            await pilot.pause()
            assert options.option_count == 2
            await pilot.press("enter")  # from the search box to the list
            options.highlighted = [c.id for c in screen.conversations].index(first)
            await pilot.press("f2")
            await ui.until(pilot, lambda: isinstance(app.screen, TextScreen))
            field = app.screen.query_one(Input)
            assert field.value == QUESTION
            field.value = "  علاقات كازاخستان  "
            await pilot.press("enter")
            await ui.until(pilot, lambda: isinstance(app.screen, ConversationsScreen))
            assert app.store.get(first).title == "علاقات كازاخستان"
            assert any("علاقات كازاخستان" in t for t in option_texts(options))
            await pilot.press("f2")
            await ui.until(pilot, lambda: isinstance(app.screen, TextScreen))
            await pilot.press("escape")  # cancelled: the title stays
            await pilot.pause()
            assert app.store.get(first).title == "علاقات كازاخستان"

    run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_choose_a_model_from_the_server_or_offline_shown_in_the_status_line(make_app, ui,
                                                                            size):
    app = make_app(rtl="on")
    app.assistant.server_models = ["llama3.1", "qwen2.5"]

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            chat = app.chat
            assert chat.status.mode == "offline"
            await pilot.press("ctrl+l")
            await ui.until(pilot, lambda: isinstance(app.screen, ModelScreen))
            options = app.screen.query_one(OptionList)
            await ui.until(pilot, lambda: "  qwen2.5" in option_texts(options))
            assert option_texts(options)[0].startswith("● offline")
            await pilot.press("down", "down", "enter")
            await ui.until(pilot, lambda: not isinstance(app.screen, ModelScreen))
            assert app.assistant.mode == "llm" and app.assistant.settings.model == "qwen2.5"
            assert chat.status.mode == "qwen2.5@127.0.0.1:11434"
            await pilot.press("ctrl+l")
            await ui.until(pilot, lambda: isinstance(app.screen, ModelScreen))
            options = app.screen.query_one(OptionList)
            await ui.until(pilot, lambda: "● qwen2.5" in option_texts(options))
            await pilot.press("escape")  # closed unchanged
            await pilot.pause()
            assert app.assistant.mode == "llm"
            await pilot.press("ctrl+l")
            await ui.until(pilot, lambda: isinstance(app.screen, ModelScreen))
            await pilot.press("enter")  # the first option: offline
            await ui.until(pilot, lambda: not isinstance(app.screen, ModelScreen))
            assert app.assistant.mode == "offline" and chat.status.mode == "offline"

    run(scenario())


def test_the_model_list_says_why_it_is_short(make_app, ui):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await ui.ready(pilot)
            await pilot.press("ctrl+l")  # no server configured
            await ui.until(pilot, lambda: isinstance(app.screen, ModelScreen))
            texts = option_texts(app.screen.query_one(OptionList))
            assert any("No chat model server is configured" in t for t in texts)
            await pilot.press("escape")
            app.assistant.server_models = LLMConnectionError(
                "Could not connect to the model server at http://127.0.0.1:9/v1.")
            await pilot.press("ctrl+l")
            await ui.until(pilot, lambda: isinstance(app.screen, ModelScreen))
            options = app.screen.query_one(OptionList)
            await ui.until(pilot, lambda: any("Could not connect" in t
                                              for t in option_texts(options)))
            assert f"  {app.assistant.settings.model}" in option_texts(options)

    run(scenario())


def test_a_streaming_answer_shows_its_markers_numbered_as_they_will_be(make_app, ui, script):
    """The model cites passage 2 first: the log shows [1] while it streams, not [2]."""
    import time
    import types

    from rag.types import Done, TextDelta

    def stream(self, question, history=None):
        self.calls.append((question, list(history or [])))
        for piece in ("قال المبعوث [", "2]، وأعلنت كازاخستان [1][2]، وكرر [", "9]."):
            time.sleep(0.3)
            self.streamed += 1
            yield TextDelta(piece)
        time.sleep(0.5)
        yield Done(script.make_answer(question, text="قال المبعوث [1]، وأعلنت [2]."))

    app = make_app(rtl="off")
    app.assistant.stream = types.MethodType(stream, app.assistant)

    async def scenario():
        async with app.run_test(size=(110, 32)) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION, wait=False)
            chat = app.chat
            await ui.until(pilot, lambda: "كازاخستان" in "".join(
                v.display_text() for v in chat.log_view.answers()))
            [view] = chat.log_view.answers()
            shown = view.display_text()
            assert "المبعوث [1]" in shown and "كازاخستان [2][1]" in shown, shown
            assert chat.pending is not None  # still streaming
            await ui.until(pilot, lambda: "9]" in view.display_text())
            assert "وكرر [9]" in view.display_text()  # names no passage: left as written
            await ui.until(pilot, lambda: chat.pending is None, timeout=10)

    run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_the_modal_titles_fit(make_app, ui, size):
    from textual.widgets import Static

    app = make_app(rtl="on")
    app.assistant.server_models = ["llama3.1"]

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            for key, screen_type, title in (("ctrl+o", ConversationsScreen, "#conversations-title"),
                                            ("ctrl+l", ModelScreen, "#models-title")):
                await pilot.press(key)
                await ui.until(pilot, lambda: isinstance(app.screen, screen_type))
                await pilot.pause()
                widget = app.screen.query_one(title, Static)
                text = str(widget.render())
                assert len(text) <= widget.content_region.width, (text, widget.content_region)
                await pilot.press("escape")
                await ui.until(pilot, lambda: app.screen is app.chat)

    run(scenario())


def test_an_emptied_input_ends_editing_so_a_new_question_replaces_nothing(make_app, ui):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=(110, 32)) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            await ui.ask(pilot, "ومن أعلن ذلك؟")
            chat = app.chat
            await pilot.press("f2")
            assert chat.editing
            chat.input.value = ""  # the person clears the old question...
            await pilot.pause()
            assert not chat.editing
            assert "The last question stays as it was; the next question is a new one." \
                in notifications(app)
            await ui.ask(pilot, "كم عدد سكان أستانا؟")  # ...and asks a new one
            # it replaced the last turn before, from the log and the saved conversation
            assert [a.question for a in chat.answers] == [QUESTION, "ومن أعلن ذلك؟",
                                                          "كم عدد سكان أستانا؟"]
            saved = app.store.answers(chat.conversation_id)
            assert len(saved) == 3
            await pilot.press("f2")
            assert chat.editing
            chat.input.value = ""
            await pilot.press("enter")  # Enter on an empty box: a warning, editing ends
            await pilot.pause()
            assert not chat.editing

    run(scenario())


def test_a_new_conversation_gives_back_the_question_being_answered(make_app, ui):
    app = make_app(rtl="on", delay=0.05)

    async def scenario():
        async with app.run_test(size=(110, 32)) as pilot:
            await ui.ready(pilot)
            chat = app.chat
            chat.input.value = QUESTION
            await pilot.press("enter")
            await ui.until(pilot, lambda: app.assistant.streamed > 0 and chat.pending)
            await pilot.press("ctrl+n")  # it used to be thrown away without a word
            await pilot.pause()
            assert chat.pending is None and chat.answers == []
            assert chat.input.value == QUESTION and not chat.editing
            assert any("back in the input" in n for n in notifications(app))

    run(scenario())


def test_a_conversation_deleted_elsewhere_is_saved_anew_not_lost(make_app, ui):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=(110, 32)) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            chat = app.chat
            gone = chat.conversation_id
            app.store.delete(gone)  # as another chat or `sanad history delete` would
            await ui.ask(pilot, "ومن أعلن ذلك؟")
            assert chat.conversation_id not in (None, gone)
            saved = app.store.answers(chat.conversation_id)
            assert [a.question for a in saved] == [QUESTION, "ومن أعلن ذلك؟"]
            assert f"Conversation #{gone} was deleted elsewhere; this chat is saved as " \
                f"conversation #{chat.conversation_id}." in notifications(app)

    run(scenario())


def test_the_list_will_not_delete_a_conversation_another_chat_has_open(make_app, ui):
    import subprocess
    import sys

    app = make_app(rtl="off")

    async def scenario():
        async with app.run_test(size=(110, 32)) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            theirs = app.chat.conversation_id
            await pilot.press("ctrl+n")
            app.store.release(theirs)
            hold = ("import sys, time; from rag.conversations import ChatStore; "
                    "s = ChatStore(sys.argv[1]); s.claim(int(sys.argv[2])); "
                    "print('held', flush=True); time.sleep(60)")
            chat = subprocess.Popen([sys.executable, "-c", hold, str(app.store.path.parent),
                                     str(theirs)], stdout=subprocess.PIPE, text=True)
            try:
                assert chat.stdout.readline().strip() == "held"
                await pilot.press("ctrl+o")
                await ui.until(pilot, lambda: isinstance(app.screen, ConversationsScreen))
                await pilot.press("delete", "delete")
                await pilot.pause()
                assert app.store.get(theirs) is not None
                assert any("is open in another chat" in n for n in notifications(app))
            finally:
                chat.kill()
                chat.wait()
            await pilot.press("delete", "delete")  # that chat has ended
            await pilot.pause()
            assert app.store.get(theirs) is None
            assert option_texts(app.screen.query_one(OptionList)) == ["No saved conversation yet."]

    run(scenario())


def test_a_cancelled_question_is_out_of_the_assistant_before_a_re_index_starts(make_app, ui):
    # Esc returned at once and released the assistant's lock while the cancelled question was
    # still inside the assistant: a re-index (ctrl+r) ran beside it. Questions may share the
    # assistant (a stalled model must not hold up the next question); indexing may not.
    app = make_app(rtl="on", delay=0.1)

    async def scenario():
        async with app.run_test(size=(110, 32)) as pilot:
            await ui.ready(pilot)
            chat, fake = app.chat, app.assistant
            chat.input.value = QUESTION
            await pilot.press("enter")
            await ui.until(pilot, lambda: fake.streamed > 0 and chat.pending)
            await pilot.press("escape", "ctrl+r")
            await ui.until(pilot, lambda: fake.index_calls == 1 and not chat.indexing,
                           timeout=10)
            chat.input.value = ""
            await ui.ask(pilot, "ومن أعلن ذلك؟")
            chat.input.value = "كم عدد سكان أستانا؟"
            await pilot.press("enter")
            await ui.until(pilot, lambda: fake.streamed > 0 and chat.pending)
            await pilot.press("escape")
            await ui.ask(pilot, QUESTION)
            await ui.until(pilot, lambda: fake.inside == 0)
            await pilot.press("ctrl+r")
            await ui.until(pilot, lambda: fake.index_calls == 2 and not chat.indexing,
                           timeout=10)
            assert "index" not in fake.overlaps

    run(scenario())


def test_the_assistant_lock_is_shared_by_questions_and_held_alone_by_indexing():
    import threading

    from tui.workers import AssistantLock

    lock = AssistantLock()
    assert lock.shared.acquire(0) and lock.shared.acquire(0)  # two questions at once
    assert not lock.acquire(0.05)  # indexing waits for both
    lock.shared.release()
    assert not lock.acquire(0.05)
    got = []
    waiter = threading.Thread(target=lambda: got.append(lock.acquire(5)))
    waiter.start()
    while not lock._waiting:
        pass
    assert not lock.shared.acquire(0.05)  # a new question waits behind the waiting re-index
    lock.shared.release()
    waiter.join()
    assert got == [True] and not lock.shared.acquire(0.05)
    lock.release()
    assert lock.shared.acquire(0) and lock.locked()
    lock.shared.release()
    assert not lock.locked()
    with pytest.raises(RuntimeError):
        lock.release()
