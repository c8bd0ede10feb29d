"""The chat app driven by Textual's Pilot over a scripted assistant."""

from __future__ import annotations

import asyncio
import re

from rag.errors import LLMConnectionError
from textual.widgets import Input, OptionList

from pilot_helpers import QUESTION, notifications, option_text, run

from tui.screens.chat import EMPTY_QUESTION
from tui.screens.conversations import ConversationsScreen
from tui.screens.help import HelpScreen
from tui.screens.viewer import DocumentView, SourceScreen
from tui.widgets.sources import UNVERIFIED


SIZE = (110, 32)


def test_ask_shows_the_answer_and_its_citations(make_app, ui, script):
    app = make_app(rtl="off")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            chat = app.chat
            [view] = chat.log_view.answers()
            assert view.done and view.text == script.ANSWER_TEXT
            shown = view.display_text()
            assert "[1]" in shown and "[2]" in shown and "Steve Witkoff" in shown
            assert "•" in shown  # the Markdown list
            options = chat.query_one("#sources-list", OptionList)
            assert options.option_count == 2
            first, second = option_text(options, 0), option_text(options, 1)
            assert "[1]" in first and script.SOURCE_A in first and "2025-11-07" in first
            assert "الجزيرة" in first and "«" in first
            assert UNVERIFIED in second and script.SOURCE_B in second
            assert UNVERIFIED not in first
            status = str(chat.status.render())
            assert "offline" in status and "2 files · 12 passages" in status
            assert "last answer: 420 ms" in status and "RTL off" in status
            assert chat.input.value == "" and chat.input.has_focus

    run(scenario())


def test_citation_opens_the_viewer_with_the_span_highlighted(make_app, ui, script):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            await pilot.press("tab")  # to the sources list
            assert app.focused.id == "sources-list"
            await pilot.press("enter")
            await ui.until(pilot, lambda: isinstance(app.screen, SourceScreen))
            await pilot.pause()
            screen = app.screen
            view = screen.query_one(DocumentView)
            assert script.TEXT_A[view.start:view.end] == script.QUOTE_A and screen.how == "span"
            # The highlighted line is on screen, though the file is longer than the screen.
            scroll = screen.query_one("#viewer-scroll")
            assert scroll.max_scroll_y > 0
            line = view.span_line()
            assert scroll.scroll_y <= line < scroll.scroll_y + scroll.size.height
            assert scroll.scroll_y > 0
            await pilot.press("escape")
            await ui.until(pilot, lambda: app.screen is app.chat)
            # A click on the [2] marker of the answer opens the second source.
            [answer] = app.chat.answers
            [view] = app.chat.log_view.answers()
            await view.run_action("cite(2)")
            await ui.until(pilot, lambda: isinstance(app.screen, SourceScreen))
            assert app.screen.citation.source == script.SOURCE_B and not app.screen.citation.verified
            await pilot.press("escape")

    run(scenario())


def test_escape_cancels_a_streaming_answer_and_restores_the_question(make_app, ui):
    app = make_app(rtl="on", delay=0.05, chunk=4)
    fake = app.assistant

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION, wait=False)
            chat = app.chat
            await ui.until(pilot, lambda: chat.pending is not None and chat.pending.answer_view.text)
            assert chat.input.value == ""
            await pilot.press("escape")
            assert chat.pending is None
            assert chat.input.value == QUESTION and chat.input.has_focus
            await pilot.pause(0.3)  # the worker stops at its next event
            streamed = fake.streamed
            await pilot.pause(0.2)
            assert fake.streamed == streamed  # nothing more is generated
            assert chat.answers == [] and chat.log_view.answers() == []
            assert any("Cancelled" in n for n in notifications(app))
            # The same question, asked again, is answered.
            fake.delay = 0
            await pilot.press("enter")
            await ui.until(pilot, lambda: len(chat.answers) == 1)

    run(scenario())


def test_typing_during_streaming_lands_in_the_input(make_app, ui):
    app = make_app(rtl="on", delay=0.05, chunk=2)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION, wait=False)
            await ui.until(pilot, lambda: app.chat.pending.answer_view.text)
            await pilot.press(*"next question")
            assert app.chat.pending is not None  # still streaming while we typed
            assert app.chat.input.value == "next question"
            await pilot.press("escape")  # typed text is kept; the question is not forced back
            assert app.chat.input.value == "next question"

    run(scenario())


def test_errors_become_notifications_and_the_app_keeps_running(make_app, ui):
    message = "The chat model server at 127.0.0.1:9 cannot be reached."
    app = make_app(rtl="on", errors={"boom": LLMConnectionError(message)})

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, "boom")
            assert message in notifications(app)
            assert app.is_running and app.chat.input.value == "boom"
            assert app.chat.log_view.answers() == []
            app.chat.input.value = "   "
            await pilot.press("enter")
            assert EMPTY_QUESTION in notifications(app)
            await ui.ask(pilot, QUESTION)  # and it still answers
            assert len(app.chat.answers) == 1

    run(scenario())


def test_a_misspelt_setting_is_shown_in_the_chat(make_app, ui):
    """`sanad chat` prints it on stderr too, but the full screen covers that at once."""
    app = make_app(env={"SANAD_K": "3"})

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            assert ("SANAD_K is not a setting sanad reads, so it is ignored (did you mean "
                    "SANAD_TOP_K?); `sanad --help` lists them.") in notifications(app)

    run(scenario())


def test_missing_index_is_built_with_progress(make_app, ui):
    app = make_app(rtl="on", indexed=False, index_delay=0.01)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            chat = app.chat
            await ui.until(pilot, lambda: chat.indexing)
            assert chat.query_one("#indexing").has_class("-visible")
            await pilot.press(*"typed")  # the input stays usable while indexing
            assert chat.input.value == "typed"
            await ui.ready(pilot)
            assert not chat.query_one("#indexing").has_class("-visible")
            assert app.assistant.index_calls == 1
            assert any("no index yet" in n for n in notifications(app))
            assert any(n.startswith("Index ready: 2 files, 12 passages") for n in notifications(app))
            await pilot.press("ctrl+r")  # re-index on request
            await ui.until(pilot, lambda: app.assistant.index_calls == 2)
            await ui.ready(pilot)

    run(scenario())


def test_a_changed_corpus_is_reindexed_when_the_chat_opens(make_app, ui):
    unchanged = make_app(rtl="on")
    changed = make_app(rtl="on", index_delay=0.01)
    changed.assistant.changed = ["002_file.txt"]

    async def scenario(app, expect_index: bool):
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await pilot.pause()
            assert app.assistant.index_calls == (1 if expect_index else 0)
            said = any("corpus changed since it was indexed" in n for n in notifications(app))
            assert said is expect_index

    run(scenario(unchanged, False))
    run(scenario(changed, True))


def test_follow_up_passes_history_and_shows_the_searched_query(make_app, ui, script):
    app = make_app(rtl="off")
    fake = app.assistant

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            await ui.ask(pilot, "ومن أعلن ذلك؟")
            assert fake.calls[0][1] == []
            assert fake.calls[1][1] == [app.chat.answers[0]]
            second = app.chat.log_view.answers()[1]
            assert second.text == script.FOLLOW_UP_TEXT
            assert "searched: ومن أعلن ذلك؟ كازاخستان" in second.display_text()
            assert "searched:" not in app.chat.log_view.answers()[0].display_text()
            # The sources panel follows the selected answer.
            assert app.chat.selected == 1
            assert app.chat.query_one("#sources-list", OptionList).option_count == 1
            await pilot.press("ctrl+up")
            assert app.chat.selected == 0
            assert app.chat.query_one("#sources-list", OptionList).option_count == 2

    run(scenario())


EXPECTED_EXPORT = """\
# ما الدولة التي انضمت إلى الاتفاقات الإبراهيمية؟

_Exported from sanad on DATE · corpus `CORPUS`._

## 1. ما الدولة التي انضمت إلى الاتفاقات الإبراهيمية؟

أعلنت كازاخستان انضمامها رسميًا إلى الاتفاقات الإبراهيمية [1]، وقال المبعوث ستيف ويتكوف (Steve Witkoff) إن دولة جديدة ستنضم في 2025 [2].

- جاء الإعلان خلال لقاء في واشنطن [1].
- لم يُذكر اسم الدولة في البداية [2].

**Sources**

- [1] الجزيرة — كازاخستان تنضم إلى الاتفاقات الإبراهيمية, `001_kazakhstan.txt`, 2025-11-07, characters START–END
  > أعلن الرئيس الكازاخستاني قاسم جومارت توكايف انضمام بلاده رسميًا إلى الاتفاقات الإبراهيمية
- [2] رويترز — ويتكوف يعلن انضمام دولة جديدة, `002_witkoff.txt`, 2025-11-06, characters 106–136 *(unverified: the quote was not found in the file)*
  > دولة جديدة ستنضم في عام 2025 إلى الاتفاقات

## 2. ومن أعلن ذلك؟

_Searched: ومن أعلن ذلك؟ كازاخستان الاتفاقات الإبراهيمية_

انضمت كازاخستان بإعلان من رئيسها قاسم جومارت توكايف [1].

**Sources**

- [1] الجزيرة — كازاخستان تنضم إلى الاتفاقات الإبراهيمية, `001_kazakhstan.txt`, 2025-11-07, characters START–END
  > أعلن الرئيس الكازاخستاني قاسم جومارت توكايف انضمام بلاده رسميًا إلى الاتفاقات الإبراهيمية
"""


def test_export_writes_the_conversation_as_markdown(make_app, ui, settings, script):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await pilot.press("ctrl+s")
            assert "There is nothing to export yet." in notifications(app)
            await ui.ask(pilot, QUESTION)
            await ui.ask(pilot, "ومن أعلن ذلك؟")
            await pilot.press("ctrl+s")
            return app.last_export

    path = run(scenario())
    assert path is not None and path.parent.name == "exports" and path.suffix == ".md"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"sanad on \d{4}-\d\d-\d\d \d\d:\d\d", "sanad on DATE", text)
    start = script.TEXT_A.index(script.QUOTE_A)
    expected = (EXPECTED_EXPORT.replace("CORPUS", str(settings.corpus_dir))
                .replace("START", str(start)).replace("END", str(start + len(script.QUOTE_A))))
    assert text == expected
    assert "ﻛ" not in text  # never shaped: logical text only


def test_copy_the_selected_answer_with_its_sources_as_logical_text(make_app, ui, script):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            await ui.ask(pilot, "ومن أعلن ذلك؟")
            await pilot.press("ctrl+y")  # the last answer is selected after it arrives
            assert app.clipboard.startswith("_Searched: ")
            assert script.FOLLOW_UP_TEXT in app.clipboard
            assert script.ANSWER_TEXT not in app.clipboard
            await pilot.press("ctrl+up", "ctrl+y")  # an earlier answer, selected
            copied = app.clipboard
            assert copied.startswith(script.ANSWER_TEXT + "\n\n**Sources**\n")
            assert f"[1] الجزيرة — {script.TITLE_A}, `{script.SOURCE_A}`" in copied
            assert script.QUOTE_A in copied and "ﻛ" not in copied  # never shaped
            assert "Copied answer 1 with its 2 sources." in notifications(app)

    run(scenario())


def test_a_persisted_conversation_reopens(make_app, ui, settings, script):
    async def first():
        app = make_app(rtl="on")
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            await ui.ask(pilot, "ومن أعلن ذلك؟")
            return app.chat.conversation_id

    async def second():
        app = make_app(rtl="on")
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            chat = app.chat
            assert chat.conversation_id == conversation_id
            assert [a.question for a in chat.answers] == [QUESTION, "ومن أعلن ذلك؟"]
            views = chat.log_view.answers()
            assert [v.text for v in views] == [script.ANSWER_TEXT, script.FOLLOW_UP_TEXT]
            assert chat.selected == 1
            # Reopened answers still open their sources, and are history for follow-ups.
            await views[0].run_action("cite(1)")
            await ui.until(pilot, lambda: isinstance(app.screen, SourceScreen))
            assert app.screen.how == "span"
            await pilot.press("escape")
            await ui.ask(pilot, "وماذا بعد؟")
            assert len(app.assistant.calls[-1][1]) == 2

    async def fresh_then_list():
        app = make_app(rtl="on", new=True)
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            assert app.chat.answers == [] and app.chat.conversation_id is None
            await pilot.press("ctrl+o")
            await ui.until(pilot, lambda: isinstance(app.screen, ConversationsScreen))
            options = app.screen.query_one(OptionList)
            assert options.option_count == 1
            await pilot.press("enter")
            await ui.until(pilot, lambda: app.chat.conversation_id == conversation_id)
            await pilot.pause()
            assert len(app.chat.answers) == 3
            await pilot.press("ctrl+n")
            assert app.chat.answers == [] and app.chat.conversation_id is None

    conversation_id = run(first())
    assert conversation_id is not None
    run(second())
    run(fresh_then_list())


def test_a_conversation_open_in_another_chat_is_not_reopened(make_app, ui, settings):
    """Two chats on one conversation would interleave their turns: the second starts anew."""
    import subprocess
    import sys

    async def first():
        app = make_app(rtl="on")
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            return app.chat.conversation_id

    conversation_id = run(first())
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        from rag.conversations import ChatStore

        holder = ChatStore(settings.resolved_data_dir)
        holder.db.execute("INSERT OR REPLACE INTO holders VALUES (?, ?, ?, ?)",
                          (conversation_id, other.pid, __import__("socket").gethostname(), 0.0))
        holder.db.commit()
        holder.close()

        async def second():
            app = make_app(rtl="on")
            async with app.run_test(size=SIZE) as pilot:
                await ui.ready(pilot)
                assert app.chat.conversation_id is None and app.chat.answers == []
                notes = [n.message for n in app._notifications]
                assert any("open in another chat" in m for m in notes), notes

        run(second())
    finally:
        other.kill()
        other.wait()


def test_rtl_toggle_redraws_and_shows_in_the_status_line(make_app, ui):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            [view] = app.chat.log_view.answers()
            shaped = view.display_text()
            assert "ﺖﻨﻠﻋﺃ" in shaped and "RTL on" in str(app.chat.status.render())
            await pilot.press("ctrl+t")
            await pilot.pause()
            assert not app.rtl_enabled and "RTL off" in str(app.chat.status.render())
            logical = view.display_text()
            assert "أعلنت كازاخستان" in logical and "ﺖﻨﻠﻋﺃ" not in logical
            assert app.chat.input.value == ""

    run(scenario())


def test_help_lists_every_key_and_the_palette_has_the_commands(make_app, ui):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await pilot.press("f1")
            assert isinstance(app.screen, HelpScreen)
            keys = {key for key, _ in app.screen.rows}
            for key in ("escape", "ctrl+n", "ctrl+o", "ctrl+r", "ctrl+b", "ctrl+t", "ctrl+s",
                        "ctrl+y", "ctrl+up", "ctrl+down", "f1", "f2", "ctrl+g", "ctrl+l"):
                assert key in keys
            await pilot.press("escape")
            assert app.screen is app.chat
            titles = {c.title for c in app.get_system_commands(app.screen)}
            assert {"New conversation", "Conversations", "Re-index the corpus",
                    "Toggle sources panel", "Toggle RTL display",
                    "Export conversation to Markdown", "Copy answer", "Edit the last question",
                    "Regenerate the last answer", "Choose the model", "Help: keys"} <= titles
            await pilot.press("ctrl+b")
            assert not app.chat.sources.display or app.chat.has_class("-no-sources")
            await pilot.pause()
            assert app.chat.sources.region.width == 0

    run(scenario())


def test_input_is_logical_and_never_reshaped(make_app, ui):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            field = app.chat.query_one(Input)
            await pilot.press(*"abc")
            field.insert_text_at_cursor(" مرحبا")
            assert field.value == "abc مرحبا"

    run(scenario())


def test_answer_view_keeps_the_final_text_after_a_fallback_notice(make_app, ui, script):
    """After a Notice, Done.answer.text replaces whatever was streamed."""
    from rag.types import Done, Notice, TextDelta

    from tui.messages import AnswerEvent

    app = make_app(rtl="off")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            chat = app.chat
            await ui.ask(pilot, QUESTION)
            chat.input.value = "x"
            app.assistant.delay = 0.2  # keep the request open while we inject events
            await pilot.press("enter")
            request = chat.pending.request
            for event in (TextDelta("partial LLM text"), Notice("The model failed."),
                          Done(script.make_answer("x", text="offline answer [1]"))):
                chat.post_message(AnswerEvent(request, event))
            await ui.until(pilot, lambda: chat.pending is None)
            await asyncio.sleep(0.06)
            await pilot.pause()
            view = chat.log_view.answers()[-1]
            assert view.text == "offline answer [1]"
            assert "partial" not in view.display_text()
            assert "The model failed." in view.display_text()

    run(scenario())


def test_resize_lays_the_arabic_out_again(make_app, ui):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            [view] = app.chat.log_view.answers()
            wide = view.display_text().splitlines()
            await pilot.resize_terminal(70, 32)
            await pilot.pause()
            narrow = view.display_text().splitlines()
            assert len(narrow) > len(wide)
            assert max(len(line) for line in narrow) < max(len(line) for line in wide)
            # Still line by line: the answer's first word ends the first line (right side).
            assert narrow[0].rstrip().endswith("ﺖﻨﻠﻋﺃ")

    run(scenario())


def test_one_marker_citing_two_spans(make_app, ui, script):
    """The offline answerer can cite two sentences of one passage with the same [1]."""
    import dataclasses

    first = script.citations()[0]
    second_quote = "وتناولت الصحف المحلية الخبر في صفحاتها الأولى"
    start = script.TEXT_A.index(second_quote)
    second = dataclasses.replace(first, start=start, end=start + len(second_quote),
                                 quote=second_quote)
    answer = script.make_answer("q", text="جملة أولى [1]\nجملة ثانية [1]")
    answer.citations[:] = [first, second]
    app = make_app(rtl="on", answers={"q": answer})

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, "q")
            options = app.chat.query_one("#sources-list", OptionList)
            assert options.option_count == 2
            await pilot.press("tab", "down", "enter")
            await ui.until(pilot, lambda: isinstance(app.screen, SourceScreen))
            assert app.screen.citation is answer.citations[1]
            assert script.TEXT_A[app.screen.start:app.screen.end] == second_quote
            await pilot.press("escape")
            [view] = app.chat.log_view.answers()
            await view.run_action("cite(1)")  # a click on [1] opens the first of the two
            await ui.until(pilot, lambda: isinstance(app.screen, SourceScreen))
            assert app.screen.citation is answer.citations[0]

    run(scenario())


def test_a_stalled_stream_does_not_block_the_next_question(make_app, ui):
    """Esc frees the assistant at once, even if the model never sends another token."""
    app = make_app(rtl="on", delay=3.0)
    fake = app.assistant

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION, wait=False)
            await pilot.pause(0.2)  # the scripted model is now stalled for 3 s
            await pilot.press("escape")
            fake.delay = 0
            started = asyncio.get_running_loop().time()
            await pilot.press("enter")  # the restored question, asked again
            await ui.until(pilot, lambda: len(app.chat.answers) == 1, timeout=2.5)
            assert asyncio.get_running_loop().time() - started < 2.0

    run(scenario())


def test_an_answer_no_verified_quote_backs_is_marked_unsupported(make_app, ui, script):
    import dataclasses

    answer = script.make_answer("q")
    answer.citations[:] = [dataclasses.replace(c, verified=False) for c in answer.citations]
    answer.mode, answer.unsupported = "llm", True
    app = make_app(rtl="on", answers={"q": answer})

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, "q")
            title = str(app.chat.query_one("#sources-title").render())
            assert "UNSUPPORTED" in title
            options = app.chat.query_one("#sources-list", OptionList)
            first = options.get_option_at_index(0)
            assert "Unsupported answer" in str(first.prompt) and first.disabled

    run(scenario())


def test_exports_default_to_the_data_directory_not_the_working_one(settings, make_app):
    from tui.app import SanadApp

    fake = make_app().assistant  # the suite's scripted assistant
    app = SanadApp(settings, fake, env={})
    assert app.export_dir == settings.resolved_export_dir
    assert app.export_dir.parent == settings.resolved_data_dir


def test_deleting_a_conversation_asks_for_a_second_press(make_app, ui):
    async def scenario():
        app = make_app(rtl="on")
        async with app.run_test(size=SIZE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            conversation_id = app.chat.conversation_id
            await pilot.press("ctrl+n", "ctrl+o")
            await ui.until(pilot, lambda: isinstance(app.screen, ConversationsScreen))
            await pilot.press("delete")
            await pilot.pause()
            assert app.store.get(conversation_id) is not None  # one press removes nothing
            await pilot.press("delete")
            await pilot.pause()
            assert app.store.get(conversation_id) is None

    run(scenario())
