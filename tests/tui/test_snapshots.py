"""SVG snapshots (pytest-textual-snapshot). Update with `pytest tests/tui --snapshot-update`.

An SVG viewer applies its own bidi to each text run, so RTL `on` screenshots look reversed in a
browser; they record the terminal's cells, which is what a terminal without bidi shows.
"""

from __future__ import annotations

from tui.screens.viewer import SourceScreen

SIZE = (110, 32)
QUESTION = "ما الدولة التي انضمت إلى الاتفاقات الإبراهيمية؟"


def _asked(app, ui, follow_up: bool = False):
    async def run_before(pilot) -> None:
        await ui.ready(pilot)
        app.chat.input.cursor_blink = False
        await ui.ask(pilot, QUESTION)
        if follow_up:
            await ui.ask(pilot, "ومن أعلن ذلك؟")
        await pilot.pause()
    return run_before


def test_main_screen_rtl_on(snap_compare, make_app, ui):
    app = make_app(rtl="on")
    assert snap_compare(app, terminal_size=SIZE, run_before=_asked(app, ui, follow_up=True))


def test_main_screen_rtl_off(snap_compare, make_app, ui):
    app = make_app(rtl="off")
    assert snap_compare(app, terminal_size=SIZE, run_before=_asked(app, ui, follow_up=True))


def test_source_viewer(snap_compare, make_app, ui):
    app = make_app(rtl="on")
    asked = _asked(app, ui)

    async def run_before(pilot) -> None:
        await asked(pilot)
        app.chat.open_citation(app.chat.answers[0], 0)
        await ui.until(pilot, lambda: isinstance(app.screen, SourceScreen))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


SMALL = (80, 24)
TYPED = "مسؤولاً رفيعاً، هل تطبّع السعودية؟\nوما موقف كازاخستان؟"  # harakat: ً ّ


def test_main_screen_80x24(snap_compare, make_app, ui):
    """The sources panel starts hidden; the status line fits in its shorter forms."""
    app = make_app(rtl="on")
    assert snap_compare(app, terminal_size=SMALL, run_before=_asked(app, ui))


def test_main_screen_80x24_with_sources(snap_compare, make_app, ui):
    """ctrl+b at 80 columns: half the width, a title that fits."""
    app = make_app(rtl="on")
    asked = _asked(app, ui)

    async def run_before(pilot) -> None:
        await asked(pilot)
        await pilot.press("ctrl+b")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


def test_typing_echo_with_harakat(snap_compare, make_app, ui):
    """A two-line question being typed: the box holds it in logical order, the echo above
    shows it shaped and right-aligned, harakat on their letters."""
    app = make_app(rtl="on")
    asked = _asked(app, ui)

    async def run_before(pilot) -> None:
        await asked(pilot)
        app.chat.input.value = TYPED
        await pilot.pause()

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)
