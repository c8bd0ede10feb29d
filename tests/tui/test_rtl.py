"""Line-by-line RTL layout: wrap the logical text first, then shape and reorder each line."""

from __future__ import annotations

import pytest
from bidi import get_display as rust_get_display
from bidi.algorithm import get_display as python_get_display
from rich.text import Text

from tui import rtl
from tui.rtl import CSI_BIDI_OFF, CSI_BIDI_ON, decide, display, layout, shape, wrap_spans

# Shaped forms (presentation forms B) of words used below.
QALA = shape("قال")  # ﻝﺎﻗ once reversed
SENTENCE = ("قال المبعوث الخاص ستيف ويتكوف (Steve Witkoff) في منتدى الأعمال في ميامي "
            "إن دولة جديدة ستنضم الليلة إلى الاتفاقات عام 2025 [1].")


def rev(word: str) -> str:
    """A word as it appears on a left-to-right screen: shaped, then reversed."""
    return shape(word)[::-1]


# -- deciding from the environment ------------------------------------------------------------
@pytest.mark.parametrize("env, enabled, vte", [
    ({"VTE_VERSION": "7600", "TERM": "xterm-256color"}, True, True),
    ({"VTE_VERSION": "5800"}, True, True),
    ({"VTE_VERSION": "5202"}, True, False),  # VTE before 0.58 does no bidi
    ({"KONSOLE_VERSION": "230401", "TERM": "xterm-256color"}, False, False),
    ({"TERM_PROGRAM": "Apple_Terminal", "TERM": "xterm-256color"}, False, False),
    ({"TERM": "mlterm"}, False, False),
    ({"MLTERM": "3.9.3", "TERM": "xterm"}, False, False),
    ({"WT_SESSION": "0b2f", "TERM": "xterm-256color"}, True, False),
    ({"TERM_PROGRAM": "vscode", "VTE_VERSION": "7600"}, True, False),  # inherited VTE_VERSION
    ({"TERM_PROGRAM": "WezTerm"}, True, False),
    ({"TERM": "alacritty"}, True, False),
    ({"TERM": "xterm-256color"}, True, False),
    ({"TERM": "xterm-kitty"}, True, False),
    ({"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "tmux-256color"}, True, False),
    ({"TMUX": "/tmp/tmux-0/default,1,0", "VTE_VERSION": "7600"}, False, False),
    ({}, True, False),
])
def test_auto_decides_from_the_terminal(env, enabled, vte):
    decision = decide("auto", env)
    assert (decision.enabled, decision.vte) == (enabled, vte)
    assert decision.label.startswith(f"RTL {'on' if enabled else 'off'} (auto: ")


def test_explicit_settings_win_and_vte_is_told_who_reorders():
    vte = {"VTE_VERSION": "7600"}
    assert decide("on", {"KONSOLE_VERSION": "1"}).enabled
    assert not decide("off", {"TERM": "xterm"}).enabled
    assert decide("auto", vte).terminal_sequence() == CSI_BIDI_OFF
    assert decide("off", vte).terminal_sequence() == CSI_BIDI_ON
    assert decide("on", {"TERM": "xterm"}).terminal_sequence() == ""
    toggled = decide("auto", vte).toggled()
    assert not toggled.enabled and toggled.terminal_sequence() == CSI_BIDI_ON
    assert toggled.label == "RTL off"
    with pytest.raises(ValueError):
        decide("sideways", {})


# -- one line ---------------------------------------------------------------------------------
def test_arabic_is_shaped_and_reversed():
    assert display("قال") == QALA[::-1]
    assert display("كتب") == "ﺐﺘﻛ"  # final, medial, initial forms, right to left


def test_brackets_are_mirrored_inside_rtl_runs():
    shown = display("قال (محمد) [نعم] «هنا»")
    assert shown == f"«{rev('هنا')}» [{rev('نعم')}] ({rev('محمد')}) {rev('قال')}"
    # Brackets around Latin text in an Arabic line are mirrored as well: they belong to the
    # Arabic sentence (resolved right-to-left), and still face their contents.
    assert display("قال (Steve) هنا") == f"{rev('هنا')} (Steve) {rev('قال')}"
    # A left-to-right line leaves its brackets alone.
    assert display("Witkoff (ويتكوف) said", rtl=False) == f"Witkoff ({rev('ويتكوف')}) said"


def test_python_bidi_rust_get_display_does_not_mirror():
    """Why `tui.rtl` uses python-bidi's Python algorithm: the default (Rust) one skips L4."""
    assert rust_get_display("(كلمة)") == "(كلمة)"[::-1]  # ")ةملك(": brackets face outwards
    assert python_get_display("(كلمة)") == "(ةملك)"


def test_mixed_arabic_latin_and_digits_land_where_a_reader_expects():
    shown = display("أطلقت OpenAI نموذج GPT-4 عام 2023 بنسبة 15%")
    # Latin names and numbers keep their own left-to-right order ...
    assert "OpenAI" in shown and "GPT-4" in shown and "2023" in shown
    # ... and the sentence reads from the right: its first word is at the right end.
    assert shown.endswith(rev("أطلقت"))
    assert shown.index("2023") < shown.index("GPT-4") < shown.index("OpenAI")
    assert shown.startswith("%15")  # the percent sign follows the number, to its left
    assert display("العدد ١٢٣ هنا") == f"{rev('هنا')} ١٢٣ {rev('العدد')}"


def test_matches_python_bidi_on_plain_text():
    for line in ["قال (محمد) إن 2024 GPT-4 هو", "ستيف ويتكوف (Steve Witkoff) في ميامي [2]."]:
        expected = python_get_display(shape(line), base_dir="R")
        assert display(line, rtl=True) == expected


def test_styles_follow_their_characters():
    text = Text("قال المبعوث الخاص")
    start = text.plain.index("المبعوث")
    text.stylize("reverse", start, start + len("المبعوث"))
    [line] = layout(text, 40, True)
    [span] = [s for s in line.text.spans if s.style == "reverse"]
    assert line.text.plain[span.start:span.end] == rev("المبعوث")


def test_style_boundary_inside_a_word_keeps_letters_joined():
    text = Text("كتب")
    text.stylize("bold", 1, 3)  # the highlight starts after the first letter
    assert visual(text) == "ﺐﺘﻛ"


def visual(text: Text) -> str:
    return rtl.visual_line(text, True).plain


# -- wrapping first, then reordering ----------------------------------------------------------
def test_wrap_then_reorder_keeps_the_first_words_on_the_first_line():
    width = 30
    lines = layout(Text(SENTENCE), width, True)
    assert len(lines) > 2
    # Line by line: the first line holds the paragraph's first words, right-aligned.
    first = lines[0].text.plain
    assert first.endswith(rev("قال")) and rev("المبعوث") in first
    assert all(line.text.cell_len == width for line in lines)  # padded on the left
    assert lines[-1].text.plain.lstrip().startswith(".[1]")
    # Each line is exactly the reorder of its own slice of the logical text.
    for line in lines:
        piece = SENTENCE[line.start:line.end]
        assert line.text.plain.lstrip() == display(piece, rtl=True)
    # Reordering the whole paragraph and then cutting it would put the end first.
    whole = display(SENTENCE)
    assert whole[:width] != first[-width:]


def test_wrap_spans_cover_the_text_and_respect_the_width():
    spans = wrap_spans(SENTENCE, 25)
    assert spans[0][0] == 0 and spans[-1][1] == len(SENTENCE)
    assert all(end - start <= 25 for start, end in spans)
    assert " ".join(SENTENCE[s:e] for s, e in spans) == " ".join(SENTENCE.split())
    assert wrap_spans("abcdefghij", 4) == [(0, 4), (4, 8), (8, 10)]  # long words are cut


def test_prefix_is_on_the_reading_side():
    [line] = layout(Text("نص قصير"), 20, True, prefix="• ")
    assert line.text.plain.endswith(" •") and line.text.plain.startswith(" ")
    [line] = layout(Text("short text"), 20, True, prefix="• ")
    assert line.text.plain == "• short text"


def test_off_keeps_logical_order_and_left_alignment():
    lines = layout(Text(SENTENCE), 30, False)
    assert lines[0].text.plain.startswith("قال المبعوث")
    assert "".join(l.text.plain + " " for l in lines).split() == SENTENCE.split()


def test_lam_alef_is_one_cell_and_decorative_ligatures_are_not_used():
    assert shape("لا") == "\ufefb"  # the mandatory lam-alef ligature
    assert "\ufdf2" not in shape("الله")  # no ﷲ: wider than a cell in terminal fonts



def test_harakat_are_displayed_on_their_own_letter():
    """Issue 11: "مسؤولاً رفيعاً" read "مسؤولا رفيعا" on screen. Harakat stay, and after the
    right-to-left reordering each follows its letter (a terminal draws a combining mark on
    the cell before it)."""
    import unicodedata

    for text in ("مسؤولاً رفيعاً", "تطبّع", "مُحَمَّد", "شدَّة"):
        shaped = shape(text)
        marks = [c for c in text if unicodedata.combining(c)]
        assert [c for c in shaped if unicodedata.combining(c)] == marks
        visual = rtl.display(text, True)
        assert [c for c in visual if unicodedata.combining(c)] == sorted(marks) or \
            sorted(c for c in visual if unicodedata.combining(c)) == sorted(marks)
        assert not unicodedata.combining(visual[0])  # never a mark before any letter
        for i, c in enumerate(visual):
            if unicodedata.combining(c):
                base = visual[i - 1]
                assert unicodedata.combining(base) or unicodedata.category(base).startswith("L")
    assert rtl.display("تطبّع", True) == "\ufeca\ufe92\u0651\ufec4\ufe97"  # ّ on the ب


def test_direction_by_majority():
    assert rtl.direction("GPT-4 هو نموذج لغوي كبير") == "rtl"
    assert rtl.direction("Hello مرحبا world") == "ltr"
    assert rtl.direction("123") == "ltr"


def test_a_citation_marker_stays_on_the_line_of_the_word_before_it():
    text = ("أعلنت كازاخستان انضمامها إلى الاتفاقات الإبراهيمية رسميا [3] وقال المسؤول إن "
            "الخطوة مهمة جدا [1][2].")
    for width in range(12, 80):
        lines = [text[a:b] for a, b in rtl.wrap_spans(text, width)]
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        for line in lines:
            assert not line.lstrip().startswith("["), (width, lines)
