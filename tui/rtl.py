"""Right-to-left display: which terminals need help, and how to lay out Arabic line by line.

Textual and Rich neither shape Arabic letters nor reorder bidirectional text, and terminals
disagree about doing it themselves. When the app does it (`on`), every paragraph is handled as
a printed page would be: its *logical* text is wrapped to the width first, then each wrapped
line is shaped (arabic-reshaper) and reordered (python-bidi, with brackets mirrored inside
right-to-left runs), and right-to-left paragraphs are right-aligned. Reordering a whole
paragraph and wrapping afterwards would put the paragraph's first words on its last line.

Only display goes through here: stored, exported, copied and sent text stays logical.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

CSI_BIDI_OFF = "\x1b[8l"  # BDSM reset: the terminal stops reordering (VTE >= 0.58)
CSI_BIDI_ON = "\x1b[8h"  # back to the terminal's implicit bidi
VTE_BIDI_VERSION = 5800  # VTE 0.58 added bidi; VTE_VERSION is major*10000 + minor*100 + micro
SETTINGS = ("auto", "on", "off")

_ZWJ = "\u200d"


# -- deciding ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RtlDecision:
    """Whether the app reorders Arabic, and whether it must switch the terminal's bidi off."""

    setting: str  # "auto", "on" or "off" as configured
    enabled: bool  # the app shapes and reorders
    reason: str  # why, for the status line
    vte: bool = False  # the terminal is VTE >= 0.58: it reorders unless told `CSI 8 l`

    @property
    def label(self) -> str:
        state = "on" if self.enabled else "off"
        return f"RTL {state} ({self.setting}: {self.reason})" if self.setting == "auto" \
            else f"RTL {state}"

    def toggled(self) -> "RtlDecision":
        return RtlDecision(setting="on" if not self.enabled else "off", enabled=not self.enabled,
                           reason="toggled", vte=self.vte)

    def terminal_sequence(self) -> str:
        """What to write to the terminal so that exactly one party reorders."""
        if not self.vte:
            return ""
        return CSI_BIDI_OFF if self.enabled else CSI_BIDI_ON


def _vte_version(env: Mapping[str, str]) -> int | None:
    raw = (env.get("VTE_VERSION") or "").strip()
    return int(raw) if raw.isdigit() else None


def terminal_reorders(env: Mapping[str, str]) -> tuple[bool | None, str]:
    """Does this terminal reorder bidi text itself? (None: unknown) and a short reason."""
    program = env.get("TERM_PROGRAM", "")
    term = env.get("TERM", "")
    # TERM_PROGRAM is set by the innermost terminal, so it wins over inherited variables.
    if program == "vscode":
        return False, "VS Code"
    if program == "WezTerm":
        return False, "WezTerm"
    if program == "Apple_Terminal":
        return True, "Apple Terminal"
    vte = _vte_version(env)
    if env.get("TMUX") or program == "tmux":
        # tmux does no bidi and swallows CSI 8 l; an outer VTE (its VTE_VERSION is inherited)
        # still reorders what tmux draws, so leave the reordering to it.
        if vte is not None and vte >= VTE_BIDI_VERSION:
            return True, "tmux in VTE"
        return False, "tmux"
    if vte is not None:
        return (vte >= VTE_BIDI_VERSION), f"VTE {vte}"
    if env.get("KONSOLE_VERSION"):
        return True, "Konsole"
    if term.startswith("mlterm") or env.get("MLTERM"):
        return True, "mlterm"
    if env.get("WT_SESSION"):
        return False, "Windows Terminal"
    if env.get("WEZTERM_EXECUTABLE") or env.get("WEZTERM_PANE"):
        return False, "WezTerm"
    if term == "alacritty" or env.get("ALACRITTY_SOCKET") or env.get("ALACRITTY_WINDOW_ID"):
        return False, "Alacritty"
    if term == "xterm-kitty" or env.get("KITTY_WINDOW_ID"):
        return False, "kitty"
    if env.get("XTERM_VERSION") or term.startswith("xterm"):
        return False, "xterm"
    return None, "unknown terminal"


def decide(setting: str | None, env: Mapping[str, str]) -> RtlDecision:
    """Resolve `SANAD_RTL`/`--rtl` (auto|on|off) against the terminal described by `env`."""
    setting = (setting or "auto").strip().lower()
    if setting not in SETTINGS:
        raise ValueError(f"RTL display must be auto, on or off, not {setting!r}.")
    reorders, reason = terminal_reorders(env)
    # Only a VTE terminal itself (not one that inherited VTE_VERSION) is sent CSI 8 l/h.
    vte = reason.startswith("VTE") and bool(reorders)
    if setting == "on":
        return RtlDecision("on", True, "--rtl on", vte)
    if setting == "off":
        return RtlDecision("off", False, "--rtl off", vte)
    if vte:  # VTE can be told to stop, so the app does it (it also shapes letters).
        return RtlDecision("auto", True, reason, vte=True)
    # Unknown terminals most likely do no bidi at all (neither does tmux): reorder in the app.
    return RtlDecision("auto", not reorders, reason)


# -- direction --------------------------------------------------------------------------------
def direction(text: str) -> str:
    """'rtl' when most strongly directional letters are Arabic/Hebrew, else 'ltr'.

    A majority rather than the first strong letter: an Arabic sentence that opens with a
    Latin name ("GPT-4 هو ...") is still an Arabic sentence to its reader.
    """
    rtl = ltr = 0
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            rtl += 1
        elif kind == "L":
            ltr += 1
    return "rtl" if rtl > ltr else "ltr"


# -- wrapping (logical) -----------------------------------------------------------------------
_WORD = re.compile(r"\S+")
_MARKER = re.compile(r"\[\d")


def _units(text: str) -> list[tuple[int, int]]:
    """Words, each with the citation markers that follow it: "[3]" never starts a line."""
    units: list[tuple[int, int]] = []
    for match in _WORD.finditer(text):
        if units and _MARKER.match(match.group()):
            units[-1] = (units[-1][0], match.end())
        else:
            units.append(match.span())
    return units


def wrap_spans(text: str, width: int) -> list[tuple[int, int]]:
    """Greedy word wrap of logical text to `width` cells: (start, end) of each line.

    Widths are measured on the logical text, which is never narrower than its shaped form
    (lam-alef ligatures join two letters into one cell; harakat are zero-width).
    """
    width = max(1, width)
    lines: list[tuple[int, int]] = []
    start = end = None
    used = 0
    for w_start, w_end in _units(text):
        w_width = cell_len(text[w_start:w_end])
        if start is not None:
            gap = cell_len(text[end:w_start])
            if used + gap + w_width <= width:
                end, used = w_end, used + gap + w_width
                continue
            lines.append((start, end))
            start = None
        while w_width > width:  # a word longer than the line: cut it by cells
            cut, cells = w_start, 0
            while cut < w_end and cells + cell_len(text[cut]) <= width:
                cells += cell_len(text[cut])
                cut += 1
            cut = max(cut, w_start + 1)
            lines.append((w_start, cut))
            w_start = cut
            w_width = cell_len(text[w_start:w_end])
        start, end, used = w_start, w_end, w_width
    if start is not None:
        lines.append((start, end))
    return lines or [(0, 0)]


# -- shaping and reordering (one line) --------------------------------------------------------
@lru_cache(maxsize=1)
def _reshaper():
    import arabic_reshaper
    from arabic_reshaper.ligatures import LIGATURES

    # Only the lam-alef ligatures, which Arabic requires and terminal fonts draw in one cell;
    # the decorative ones (e.g. ﷲ) are wider than a cell and would break the alignment.
    config = {name: name.startswith("ARABIC LIGATURE LAM WITH ALEF")
              and "MAKSURA" not in name for name, _ in LIGATURES}
    # harakat stay: "مسؤولاً" must not read "مسؤولا" (they are zero-width, drawn on their letter)
    config.update(delete_harakat=False, support_ligatures=True, support_zwj=True)
    return arabic_reshaper.ArabicReshaper(configuration=config)


def _joins(ch: str) -> bool:
    return unicodedata.bidirectional(ch) == "AL" and unicodedata.category(ch) == "Lo"


def shape(text: str) -> str:
    """Arabic letters in their joined presentation forms (display only)."""
    return _reshaper().reshape(text) if any(_joins(c) for c in text) else text


def _visual_order(text: str, rtl: bool) -> list[tuple[int, str]]:
    """python-bidi's Unicode bidi algorithm on one line, keeping where each character came
    from (so styles follow their characters). Mirrors brackets in right-to-left runs (L4):
    python-bidi's default (Rust) `get_display` does not, its Python algorithm does."""
    from bidi import algorithm as uba

    storage = uba.get_empty_storage()
    storage["base_level"] = 1 if rtl else 0
    storage["base_dir"] = "R" if rtl else "L"
    uba.get_embedding_levels(text, storage)
    for index, char in enumerate(storage["chars"]):
        char["index"] = index
    uba.explicit_embed_and_overrides(storage)
    uba.resolve_weak_types(storage)
    uba.resolve_neutral_types(storage, False)
    uba.resolve_implicit_levels(storage, False)
    uba.reorder_resolved_levels(storage, False)
    uba.apply_mirroring(storage, False)
    return _marks_after_base([(char["index"], char["ch"]) for char in storage["chars"]])


def _marks_after_base(order: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Reversing a right-to-left run puts a letter's harakat before it; a terminal draws a
    combining mark on the cell before it, so each mark goes back after its letter (UAX #9 L3)."""
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and unicodedata.combining(order[j][1]):
            j += 1
        if j > i and j < len(order) and order[j][0] < order[i][0]:  # marks, then their base
            out.append(order[j])
            out.extend(sorted(order[i:j]))  # the marks in their logical order
            i = j + 1
        else:
            out.extend(order[i:max(j, i + 1)])
            i = max(j, i + 1)
    return out


def _char_styles(line: Text) -> list[Style | str | None]:
    styles: list = [None] * len(line.plain)
    for span in line.spans:
        for i in range(max(0, span.start), min(len(styles), span.end)):
            styles[i] = span.style if styles[i] is None else _combine(styles[i], span.style)
    return styles


def _combine(a, b):
    return Style.combine([Style.parse(a) if isinstance(a, str) else a,
                          Style.parse(b) if isinstance(b, str) else b])


def visual_line(line: Text, rtl: bool) -> Text:
    """Shape and reorder one already-wrapped line for a terminal that does neither."""
    plain = line.plain
    styles = _char_styles(line)
    chars: list[str] = []
    char_styles: list = []
    # Shape each run of one style, telling the shaper (with ZWJ) when a word continues
    # across a style boundary, e.g. a highlight that starts inside a word.
    i = 0
    while i < len(plain):
        j = i
        while j < len(plain) and styles[j] == styles[i]:
            j += 1
        run = plain[i:j]
        before = _ZWJ if i > 0 and _joins(plain[i - 1]) and _joins(plain[i]) else ""
        after = _ZWJ if j < len(plain) and _joins(plain[j - 1]) and _joins(plain[j]) else ""
        shaped = shape(before + run + after).replace(_ZWJ, "") if (before or after) else shape(run)
        chars.extend(shaped)
        char_styles.extend([styles[i]] * len(shaped))
        i = j
    shaped_text = "".join(chars)
    out = Text(end="", no_wrap=True)
    run, run_style = [], None
    for index, ch in _visual_order(shaped_text, rtl):
        if char_styles[index] != run_style and run:
            out.append("".join(run), run_style)
            run = []
        run_style = char_styles[index]
        run.append(ch)
    if run:
        out.append("".join(run), run_style)
    if line.style:
        out.stylize(line.style)
    return out


def display(text: str, rtl: bool | None = None) -> str:
    """Plain-string form of `visual_line` (no wrapping), e.g. for tests and one-line labels."""
    if rtl is None:
        rtl = direction(text) == "rtl"
    return visual_line(Text(text), rtl).plain


# -- paragraphs -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One display line: `text` is what is drawn, `start:end` the logical span it shows."""

    text: Text
    start: int
    end: int
    rtl: bool


def _has_strong(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in ("L", "R", "AL") for ch in text)


def layout(paragraph: Text, width: int, enabled: bool, *, prefix: str = "",
           rtl: bool | None = None) -> list[Line]:
    """Lay out one paragraph of logical text in `width` cells.

    `prefix` (a bullet, a list number) starts the first line and indents the others; in a
    right-to-left paragraph it is on the right, where an Arabic reader starts. Line breaks
    (a question typed on several lines) end bidi paragraphs (UAX #9 P1): each line after one
    takes its own direction, falling back on the paragraph's when it has no letters.
    """
    if rtl is None:
        rtl = direction(paragraph.plain) == "rtl"
    if "\n" not in paragraph.plain:
        return _layout(paragraph, 0, width, enabled, prefix, " " * cell_len(prefix), rtl)
    lines: list[Line] = []
    start = 0
    for number, part in enumerate(paragraph.plain.split("\n")):
        piece = paragraph[start:start + len(part)]
        part_rtl = direction(part) == "rtl" if _has_strong(part) else rtl
        lead = prefix if number == 0 else " " * cell_len(prefix)
        lines += _layout(piece, start, width, enabled, lead, " " * cell_len(prefix), part_rtl)
        start += len(part) + 1
    return lines


def _layout(paragraph: Text, offset: int, width: int, enabled: bool, prefix: str,
            indent_text: str, rtl: bool) -> list[Line]:
    indent = cell_len(prefix)
    inner = max(1, width - indent)
    lines: list[Line] = []
    for number, (start, end) in enumerate(wrap_spans(paragraph.plain, inner)):
        piece = paragraph[start:end]
        lead = prefix if number == 0 else indent_text
        if not enabled:
            shown = Text(lead, end="", no_wrap=True) + piece
        elif rtl:
            shown = visual_line(piece, True)
            mirrored = lead[::-1] if number == 0 else lead
            shown = shown + Text(_mirror(mirrored))
            pad = width - shown.cell_len
            if pad > 0:
                shown = Text(" " * pad) + shown
        else:
            shown = Text(lead) + visual_line(piece, False)
        shown.no_wrap = True
        shown.end = ""
        lines.append(Line(shown, offset + start, offset + end, rtl))
    return lines


_MIRRORS = str.maketrans("()[]{}<>«»‹›", ")(][}{><»«›‹")


def _mirror(text: str) -> str:
    return text.translate(_MIRRORS)
