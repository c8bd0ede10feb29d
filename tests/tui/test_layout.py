"""The chat at 80x24 and at a wide size: every part fits and reads, nothing covers the input."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from textual.widgets import OptionList
from textual.widgets._toast import Toast

from pilot_helpers import QUESTION, run

from tui.widgets.sources import NARROW, title_forms
from tui.widgets.status import fit

SMALL, WIDE = (80, 24), (160, 48)


def shown(widget) -> str:
    return str(widget.render())


def fits(widget) -> bool:
    """The widget's one line is whole: no wider than its content, and not cut with '…'."""
    text = shown(widget)
    return cell_len(text) <= widget.content_size.width and not text.endswith("…")


def test_at_80x24_the_sources_start_hidden_and_ctrl_b_shows_them_at_half_the_width(make_app,
                                                                                    ui):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=SMALL) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            chat = app.chat
            assert chat.has_class("-no-sources") and chat.sources.region.width == 0
            assert chat.log_view.region.width == 80  # the chat has the whole width
            await pilot.press("ctrl+b")
            await pilot.pause()
            assert chat.sources.region.width == 40
            title = chat.query_one("#sources-title")
            assert shown(title) == "Answer 1 · 1 verified, 1 unverified" and fits(title)
            assert chat.query_one("#sources-list", OptionList).option_count == 2
            await pilot.press("tab")  # the list can be reached and used
            assert isinstance(app.focused, OptionList)
            await pilot.press("ctrl+b")
            await pilot.pause()
            assert chat.sources.region.width == 0 and chat.input.has_focus

    run(scenario())


def test_at_a_wide_size_the_sources_show_with_their_full_title(make_app, ui):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=WIDE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            chat = app.chat
            assert not chat.has_class("-no-sources")
            assert chat.sources.region.width == 160 // 3 + 1
            title = chat.query_one("#sources-title")
            assert shown(title) == "Sources of answer 1 · 1 verified, 1 unverified"

    run(scenario())


def test_the_panel_hides_when_the_terminal_narrows_and_returns_when_it_widens(make_app, ui):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=WIDE) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            chat = app.chat
            await pilot.press("tab")
            assert isinstance(app.focused, OptionList)
            await pilot.resize_terminal(NARROW - 1, 30)
            await pilot.pause()
            await pilot.pause()
            assert chat.has_class("-no-sources") and chat.sources.region.width == 0
            assert chat.input.has_focus  # the focus left the hidden list for the input
            await pilot.press("ctrl+b")  # shown by hand at a narrow width: it stays
            await pilot.resize_terminal(NARROW - 10, 30)
            await pilot.pause()
            await pilot.pause()
            assert not chat.has_class("-no-sources") and chat.sources.region.width > 0
            await pilot.resize_terminal(NARROW, 30)
            await pilot.pause()
            await pilot.pause()
            assert not chat.has_class("-no-sources")
            await pilot.press("ctrl+b")  # hidden by hand at a wide width: it stays
            await pilot.resize_terminal(150, 30)
            await pilot.pause()
            assert chat.has_class("-no-sources")

    run(scenario())


@pytest.mark.parametrize("size", [SMALL, WIDE])
def test_the_status_line_fits_and_says_what_matters(make_app, ui, size):
    app = make_app(rtl="auto")  # the longest RTL label: "RTL on (auto: unknown terminal)"

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await ui.ready(pilot)
            await ui.ask(pilot, QUESTION)
            status = app.chat.status
            text = shown(status)
            assert fits(status)
            for part in ("offline", "12 passages", "420 ms", "RTL on", "#1"):
                assert part in text
            if size == WIDE:
                assert text == ("offline │ 2 files · 12 passages │ last answer: 420 ms │ "
                                "RTL on (auto: unknown terminal) │ conversation #1")
            status.mode = "qwen2.5:7b-instruct@gpu-server.example.org:11434"
            await pilot.pause()
            assert fits(status) and "qwen2.5:7b-instruct" in shown(status)
            assert "12 passages" in shown(status)

    run(scenario())


def test_status_parts_shorten_then_go_least_useful_first():
    parts = {"mode": "qwen2.5@localhost:11434", "index": "2 files · 12 passages",
             "latency": "last answer: 1.2 s", "rtl": "RTL on (auto: VTE 7600)",
             "conversation": "conversation #12"}
    full = fit(parts, 500)
    assert full == ("qwen2.5@localhost:11434 │ 2 files · 12 passages │ last answer: 1.2 s │ "
                    "RTL on (auto: VTE 7600) │ conversation #12")
    for width in range(20, len(full) + 1):
        line = fit(parts, width)
        assert cell_len(line) <= width or line == "qwen2.5 │ 12 passages"
        assert line.startswith("qwen2.5")  # the mode and the index are never left out
    # 80 columns: the labels go first, the model's host only when that is not enough
    assert fit(parts, 78) == "qwen2.5@localhost:11434 │ 2 files · 12 passages │ 1.2 s │ RTL on │ #12"
    assert fit(parts, 60) == "qwen2.5 │ 2 files · 12 passages │ 1.2 s │ RTL on │ #12"
    assert fit(parts, 40) == "qwen2.5 │ 12 passages │ RTL on │ #12"  # then parts go
    assert fit({**parts, "latency": "last answer: –"}, 78).count("–") == 0


def test_every_title_form_says_unsupported(script):
    import dataclasses

    answer = script.make_answer("q")
    answer = dataclasses.replace(answer, unsupported=True)
    forms = title_forms(answer, 0)
    assert len(forms) == 4 and all(form.endswith("UNSUPPORTED") for form in forms)
    assert [cell_len(f) for f in forms] == sorted((cell_len(f) for f in forms), reverse=True)


@pytest.mark.parametrize("size", [SMALL, WIDE])
def test_notifications_never_cover_the_input_or_the_status_line(make_app, ui, size):
    app = make_app(rtl="on")

    async def scenario():
        async with app.run_test(size=size, notifications=True) as pilot:
            await ui.ready(pilot)
            chat = app.chat
            chat.input.value = "مسؤولاً رفيعاً\nسطر ثان"  # the tallest input: echo and lines
            for n in range(8):
                app.notify(f"Notice {n}: the corpus is being indexed; ask again when it is "
                           "done.", severity="warning", timeout=30)
            # shown from the top (drawn in their own time: wait for them, not a fixed pause)
            await ui.until(pilot, lambda: any("Notice 0" in row
                                              for row in screen_rows(app)[:size[1] // 2]))
            rows = screen_rows(app)
            top = chat.query_one("#echo").region.y
            assert top < size[1] - 5  # the echo, the two-line box, status and footer below
            assert not any("Notice" in row for row in rows[top:])  # not over the input
            assert not any("Notice" in row for row in rows[size[1] // 2:])  # at most half

    run(scenario())


def screen_rows(app) -> list[str]:
    """The screen's cells, row by row, as the terminal would get them."""
    return [strip.text for strip in app.screen._compositor.render_strips()]
