"""The question box: several lines (Enter asks, ctrl+j adds a line) and, when the app reorders
Arabic, an echo of the question laid out the way it will read."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets import Input

from pilot_helpers import notifications, run

from tui import rtl
from tui.screens.chat import EMPTY_QUESTION
from tui.widgets.prompt import ECHO_LINES, Echo, QuestionLine, QuestionLines

SIZES = [(80, 24), (160, 48)]
HARAKAT = "مسؤولاً رفيعاً، هل تطبّع السعودية؟"  # fathatan twice, a shadda


# -- several lines ----------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_ctrl_j_adds_a_line_and_enter_asks_the_whole_question(make_app, ui, size):
    app = make_app(rtl="off")

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            prompt = app.chat.input
            assert not prompt.multiline and isinstance(app.focused, QuestionLine)
            await pilot.press(*"first", "ctrl+j", *"second", "shift+enter", *"third")
            await pilot.pause()
            assert prompt.multiline and isinstance(app.focused, QuestionLines)
            assert prompt.value == "first\nsecond\nthird"
            assert prompt.has_focus and prompt.cursor_position == len(prompt.value)
            assert prompt.lines.region.height == 3 + 2  # grew: three lines and its border
            await pilot.press("enter")
            await ui.until(pilot, lambda: app.chat.pending is None)
            assert app.assistant.calls[-1][0] == "first\nsecond\nthird"  # sent as typed
            await pilot.pause()
            assert prompt.value == "" and not prompt.multiline  # back to one line
            assert isinstance(app.focused, QuestionLine) and prompt.has_focus
            question = app.chat.log_view.query("QuestionView").last()
            shown = question.display_text().splitlines()
            assert [line.strip() for line in shown[:3]] == ["› first", "second", "third"]

    run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_the_box_grows_to_four_lines_then_scrolls(make_app, ui, size):
    app = make_app(rtl="off")

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            prompt = app.chat.input
            heights = []
            for n in range(6):
                await pilot.press(*f"line{n}", "ctrl+j")
                await pilot.pause()
                heights.append(prompt.lines.region.height)
            assert heights == [4, 5, 6, 6, 6, 6]  # 2, 3, 4 lines and a border, then it scrolls
            assert prompt.value == "".join(f"line{n}\n" for n in range(6))
            log, status = app.chat.log_view, app.chat.status
            assert log.region.bottom <= prompt.region.y < status.region.y  # nothing overlaps

    run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_alt_enter_adds_a_line_too_and_enter_in_one_line_still_asks(make_app, ui, size):
    app = make_app(rtl="off")

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            prompt = app.chat.input
            await pilot.press(*"ab", "left", "alt+enter")  # the break goes where the cursor is
            await pilot.pause()
            assert prompt.value == "a\nb" and prompt.cursor_position == 2
            prompt.value = "one line"
            await pilot.pause()
            assert not prompt.multiline and app.chat.query_one(Input).value == "one line"
            await pilot.press("enter")
            await ui.until(pilot, lambda: app.chat.pending is None)
            assert app.assistant.calls[-1][0] == "one line"

    run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_a_pasted_question_keeps_its_lines(make_app, ui, size):
    app = make_app(rtl="off")

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            prompt = app.chat.input
            await pilot.press(*"Q:", "space")
            prompt.line.post_message(events.Paste("line one\r\nline two\n"))
            await pilot.pause()
            assert prompt.multiline and prompt.value == "Q: line one\nline two"
            assert isinstance(app.focused, QuestionLines)
            prompt.value = ""
            await pilot.pause()
            prompt.line.post_message(events.Paste("just one line\n"))
            await pilot.pause()
            assert not prompt.multiline and prompt.value == "just one line"

    run(scenario())


def test_tabs_and_bidi_controls_are_not_drawn_raw(make_app, ui):
    # A pasted tab moved the terminal's cursor, and an unterminated U+202E reversed the rest
    # of the line in terminals that do bidi; the log showed the question as typed.
    from tui.widgets.chat import QuestionView

    app = make_app(rtl="off")

    async def scenario():
        async with app.run_test(size=(110, 32)) as pilot:
            await ui.ready(pilot)
            prompt = app.chat.input
            prompt.line.post_message(events.Paste("كم نسبة\tالمسلمين في \u202eكازاخستان؟\x1b xyz"))
            await pilot.pause()
            assert prompt.value == "كم نسبة المسلمين في كازاخستان؟ xyz"
            prompt.value = "typed\twith \u2067isolate\u2069"
            await pilot.press("enter")
            await ui.until(pilot, lambda: app.chat.pending is None)
            view = app.chat.log_view.query(QuestionView).last()
            drawn = view.render_line(0).text
            assert "typed with isolate" in drawn
            assert not any(c in drawn for c in "\t\u2067\u2069\u202e")

    run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_blank_lines_are_an_empty_question(make_app, ui, size):
    app = make_app(rtl="off")

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            await pilot.press("ctrl+j", "space", "ctrl+j")
            await pilot.press("enter")
            await pilot.pause()
            assert EMPTY_QUESTION in notifications(app)
            assert app.assistant.calls == [] and app.chat.input.multiline

    run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_esc_puts_a_multi_line_question_back_as_it_was(make_app, ui, size):
    app = make_app(rtl="on", delay=0.05)

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            prompt = app.chat.input
            prompt.value = "ما الدولة\nالتي انضمت؟"
            await pilot.press("enter")
            await ui.until(pilot, lambda: app.assistant.streamed > 0)
            assert prompt.value == "" and not prompt.multiline
            await pilot.press("escape")
            await ui.until(pilot, lambda: app.chat.pending is None)
            await pilot.pause()
            assert prompt.value == "ما الدولة\nالتي انضمت؟" and prompt.multiline
            assert prompt.has_focus and prompt.cursor_position == len(prompt.value)

    run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_chat_keys_work_from_the_multi_line_box(make_app, ui, script, size):
    """ctrl+y copies the answer, pageup scrolls the log: the editor's own uses give way."""
    app = make_app(rtl="off")

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            log = app.chat.log_view
            for n in range(12):  # until the log scrolls
                await ui.ask(pilot, f"question {n}")
                if log.max_scroll_y > 0:
                    break
            assert log.max_scroll_y > 0
            await pilot.press(*"draft", "ctrl+j")
            await pilot.pause()
            assert isinstance(app.focused, QuestionLines)
            before = log.scroll_y
            await pilot.press("pageup")
            await pilot.pause()
            assert log.scroll_y < before
            await pilot.press("ctrl+y")
            await pilot.pause()
            assert "كازاخستان" in (app.clipboard or "")
            assert app.chat.input.value == "draft\n"  # and the draft is untouched

    run(scenario())


# -- the echo ---------------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_echo_shows_typed_arabic_shaped_right_aligned_with_harakat(make_app, ui, size):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            prompt, echo = app.chat.input, app.chat.query_one(Echo)
            assert not echo.display  # nothing typed
            await pilot.press(*"GPT", "space")
            for ch in HARAKAT:  # typed one key at a time, as a person does
                prompt.insert_text_at_cursor(ch)
                await pilot.pause()
            assert prompt.value == "GPT " + HARAKAT  # the box keeps the logical text
            assert echo.display and echo.region.height == 1
            assert echo.region.bottom == prompt.line.region.y  # just above the box
            [line] = echo.display_text().splitlines()
            expected = rtl.display("GPT " + HARAKAT, rtl=True)
            assert line.strip() == expected
            assert line.rstrip() == line and line.startswith(" ")  # right-aligned
            for mark in ("\u064b", "\u0651"):  # fathatan, shadda: kept, as in answers
                assert mark in line
            assert "ﻊﺒّﻄﺗ" in line  # joined letters, the shadda after its letter
            # The right edge of the echo is the right edge of the typed text in the box.
            box_right = prompt.line.content_region.right
            echo_right = echo.content_region.x + cell_len(line)
            assert echo_right == box_right
            await pilot.press("enter")
            await ui.until(pilot, lambda: app.chat.pending is None)
            assert app.assistant.calls[-1][0] == "GPT " + HARAKAT  # sent unchanged
            await pilot.pause()
            assert not echo.display

    run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_echo_only_when_the_app_reorders_and_the_text_is_rtl(make_app, ui, size):
    app = make_app(rtl="off")

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            prompt, echo = app.chat.input, app.chat.query_one(Echo)
            prompt.value = HARAKAT
            await pilot.pause()
            assert not echo.display  # the terminal lays it out: no echo
            await pilot.press("ctrl+t")  # the app reorders from now on
            await pilot.pause()
            assert echo.display and "ﻊﺒّﻄﺗ" in echo.display_text()
            prompt.value = "only latin letters"
            await pilot.pause()
            assert not echo.display
            prompt.value = "latin, then عربي"
            await pilot.pause()
            assert echo.display
            await pilot.press("ctrl+t")
            await pilot.pause()
            assert not echo.display

    run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_echo_of_several_lines_follows_the_cursor(make_app, ui, size):
    app = make_app(rtl="on")
    lines = [f"السطر رقم {n}" for n in range(1, 7)]

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            prompt, echo = app.chat.input, app.chat.query_one(Echo)
            prompt.value = "\n".join(lines)
            await pilot.pause()
            shown = [line.strip() for line in echo.display_text().splitlines()]
            assert len(shown) == ECHO_LINES == echo.region.height
            assert shown == [rtl.display(line, True) for line in lines[-ECHO_LINES:]]
            prompt.cursor_position = 3  # into the first line
            await pilot.pause()
            shown = [line.strip() for line in echo.display_text().splitlines()]
            assert shown[0] == rtl.display(lines[0], True)

    run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_a_long_question_wraps_in_the_echo_as_in_the_chat(make_app, ui, size):
    app = make_app(rtl="on")
    question = " ".join([HARAKAT] * 8)  # longer than the widest echo line

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            prompt, echo = app.chat.input, app.chat.query_one(Echo)
            prompt.value = question
            await pilot.pause()
            shown = echo.display_text().splitlines()
            width = echo.content_region.width
            expected = [line.text.plain for line in rtl.layout(Text(question), width, True)]
            assert len(expected) > 1 and shown == expected[-ECHO_LINES:]
            assert all(cell_len(line) <= width for line in shown)

    run(scenario())


@pytest.mark.parametrize("size, lines", [((20, 6), 0), ((40, 12), 1), ((80, 24), ECHO_LINES)])
def test_on_a_short_terminal_the_echo_leaves_room_for_the_question_box(make_app, ui, size,
                                                                        lines):
    # At 20x6 a 3-line echo pushed the box and the status line off the screen: typing blind.
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            prompt, echo = app.chat.input, app.chat.query_one(Echo)
            prompt.value = " ".join(f"السطر رقم {n}" for n in range(1, 30))  # many lines' worth
            await pilot.pause()
            assert len(echo.display_text().splitlines()) == lines
            box = prompt.editor.region
            assert box.height > 0 and box.bottom <= size[1]  # the box is on the screen

    run(scenario())


def test_a_very_long_question_is_echoed_around_the_cursor_only(make_app, ui, monkeypatch):
    # Each key laid out the whole question again: half a second a key at 20,000 characters.
    import tui.widgets.prompt as prompt_module

    laid_out: list[int] = []
    real = prompt_module.BidiBlocks

    def counting(blocks, *args, **kwargs):
        laid_out.append(sum(len(b.text.plain) for b in blocks))
        return real(blocks, *args, **kwargs)

    monkeypatch.setattr(prompt_module, "BidiBlocks", counting)
    app = make_app(rtl="on")
    words = [f"كلمة{n}" for n in range(4000)]  # ~30,000 characters

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await ui.ready(pilot)
            prompt, echo = app.chat.input, app.chat.query_one(Echo)
            prompt.value = " ".join(words)
            await pilot.pause()
            width = echo.content_region.width
            assert rtl.display("كلمة3999", True) in echo.display_text()  # the cursor's line
            assert len(echo.lines(width)) == ECHO_LINES
            echo.show(prompt.value, 15000)  # the lines shown end at the cursor's
            before = prompt.value[:15000].split()[-2]
            assert rtl.display(before, True) in echo.display_text()
            assert laid_out and max(laid_out) <= 2 * max(200, width * (ECHO_LINES + 2))

    run(scenario())


def test_layout_gives_each_line_of_a_paragraph_its_own_direction():
    lines = rtl.layout(Text("What is this?\nمسؤولاً رفيعاً"), 30, True, prefix="› ")
    assert [line.rtl for line in lines] == [False, True]
    assert lines[0].text.plain.startswith("› What")
    assert lines[1].text.plain.endswith("ﺎًﻌﻴﻓﺭ ﻻًﻭﺆﺴﻣ  ")  # indented like the prefix, on the right
    assert (lines[1].start, lines[1].end) == (14, 28)  # spans into the whole paragraph
