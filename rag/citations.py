"""Check a model's citations against the passages it was given. Deterministic; no model.

The model ends sentences with markers (`[1]`, `[2][3]`, `[2, 3]`) and puts a short verbatim
quote in «» before them. For every marker:

- a number that names no retrieved passage (< 1 or > len(hits)) is removed from the text and
  reported in `dropped_markers`;
- otherwise the quotes before it are looked for in the cited passage (then in the whole file)
  after Arabic normalisation, as whole words and at least two of them; the closest one found
  gives exact original offsets and `verified=True`, with `quote` the file's own characters;
- a quote that cannot be found gives `verified=False`, the passage span, and the model's quote;
- a marker with no quote at all gives `verified=False`, the passage span and its text: there
  was nothing to check, so it is not presented as checked.

The model numbers its markers by passage; a reader wants them numbered 1..n in the order they
appear, one number per quoted span (two quotes from one passage are two sources to open, and
one passage cited alone as [4] looks like three were skipped). So the checked text is
renumbered that way, and each citation keeps the passage its marker named in `passage`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from .analysis import normalize, normalize_with_offsets
from .errors import SanadError
from .types import Citation, Document, Hit

_GROUP = r"\[\s*\d{1,3}(?:\s*[,،]\s*\d{1,3})*\s*\]"
MARKER_RUN = re.compile(rf"[ \t]*{_GROUP}(?:[ \t]*{_GROUP})*")
_GROUP_RE = re.compile(_GROUP)
_NUMBER = re.compile(r"\d{1,3}")
_QUOTES = re.compile(r"«([^«»\n]+)»|“([^“”\n]+)”|\"([^\"\n]+)\"")
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.+|…)\s*")
_CLITICS = re.compile(r"[وف]?[بلكس]?(?:ال)?")  # prefixes a quote may leave out
MIN_QUOTE_WORDS = 2  # a one-word "quote" is found almost anywhere: it checks nothing
MAX_ELLIPSIS_GAP = 300  # characters an ellipsis may leave out: about two news sentences


@dataclass
class Checked:
    """The answer text with bad markers removed, its citations, and the dropped numbers."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    dropped_markers: list[int] = field(default_factory=list)


def marker_numbers(text: str) -> list[int]:
    """Every marker number in the text, in order (as written, valid or not)."""
    return [int(n) for g in _GROUP_RE.findall(text) for n in _NUMBER.findall(g)]


class LiveMarkers:
    """Renumber a model's markers while its answer streams, as `check` will once it is done:
    passage numbers become 1, 2, ... in order of first appearance. (Where the finished answer
    quotes one passage twice, or names a passage that was not retrieved, `check` numbers
    differently and its text replaces the streamed one.) A number above `limit` (the passages
    asked for) names no passage: it is left as written, to be dropped by `check`. A marker
    cut in two by the stream is held back until it is whole."""

    _OPEN = re.compile(r"\[[\d\s,،]*$")

    def __init__(self, limit: int | None = None) -> None:
        self.numbers: dict[int, int] = {}
        self.limit = limit
        self.pending = ""

    def feed(self, delta: str) -> str:
        text = self.pending + delta
        cut = self._OPEN.search(text)
        self.pending, text = (text[cut.start():], text[:cut.start()]) if cut else ("", text)
        return self._renumber(text)

    def flush(self) -> str:
        text, self.pending = self.pending, ""
        return self._renumber(text)

    def _renumber(self, text: str) -> str:
        def group(match: re.Match) -> str:
            out = []
            for n in map(int, _NUMBER.findall(match.group())):
                if 1 <= n <= (self.limit or n):
                    out.append(str(self.numbers.setdefault(n, len(self.numbers) + 1)))
                else:
                    out.append(str(n))
            return "".join(f"[{n}]" for n in dict.fromkeys(out))
        return _GROUP_RE.sub(group, text)


def live_markers(text: str, limit: int | None = None) -> str:
    """`text` (a model's answer so far) with its markers renumbered as `LiveMarkers` does."""
    live = LiveMarkers(limit)
    return live.feed(text) + live.flush()


def quotes_before(segment: str) -> list[str]:
    """Quotes in a sentence segment, closest to its end first."""
    found = [next(g for g in m.groups() if g is not None) for m in _QUOTES.finditer(segment)]
    return [q.strip() for q in reversed(found) if q.strip()]


def locate(text: str, quote: str, start: int = 0, end: int | None = None) -> tuple[int, int] | None:
    """Original (start, end) of `quote` within text[start:end], after Arabic normalisation.

    The quote must match whole words (a leading clitic such as و ب ل ال in the text is
    allowed) and have at least MIN_QUOTE_WORDS words. A quote with an ellipsis ("A ... B")
    must have its parts in order, each of MIN_QUOTE_WORDS words or more, each within
    MAX_ELLIPSIS_GAP characters of the one before; the span covers them all. (Single words
    joined by "..." were found in order across most of a file, and "verified" a claim the
    file contradicts.)
    """
    end = len(text) if end is None else end
    parts = [t for t in (normalize(p) for p in _ELLIPSIS.split(quote)) if t]
    if not parts or any(len(t.split()) < MIN_QUOTE_WORDS for t in parts):
        return None
    norm, offsets = normalize_with_offsets(text[start:end])
    first = _find_words(norm, parts[0], 0)
    while first >= 0:
        pos = first + len(parts[0])
        for part in parts[1:]:
            at = _find_words(norm, part, pos)
            if at < 0:
                return None  # not after this start, so not after a later one either
            if at - pos > MAX_ELLIPSIS_GAP:
                break
            pos = at + len(part)
        else:
            return start + offsets[first], start + offsets[pos - 1] + 1
        first = _find_words(norm, parts[0], first + 1)
    return None


def _find_words(norm: str, target: str, pos: int) -> int:
    at = norm.find(target, pos)
    while at >= 0:
        after = at + len(target)
        word_start = norm.rfind(" ", 0, at) + 1
        if (after == len(norm) or norm[after] == " ") and _CLITICS.fullmatch(norm[word_start:at]):
            return at
        at = norm.find(target, at + 1)
    return -1


def check(text: str, hits: Sequence[Hit], document: Callable[[str], Document]) -> Checked:
    """Verify every marker of `text` against `hits` (marker n names hits[n - 1]); the text
    comes back with its markers renumbered for reading (module docstring)."""
    out: list[str] = []
    citations: list[Citation] = []
    dropped: list[int] = []
    number: dict[tuple[str, int, int, bool], int] = {}  # a cited span -> its marker
    docs: dict[str, Document | None] = {}
    last = 0
    for run in MARKER_RUN.finditer(text):
        quotes = quotes_before(text[last:run.start()])
        kept: list[int] = []
        for n in (int(x) for g in _GROUP_RE.findall(run.group()) for x in _NUMBER.findall(g)):
            if not 1 <= n <= len(hits):
                dropped.append(n)
                continue
            citation = _cite(n, hits[n - 1], quotes, document, docs)
            key = (citation.source, citation.start, citation.end, citation.verified)
            if key not in number:
                number[key] = len(number) + 1
                citations.append(replace(citation, marker=number[key]))
            if number[key] not in kept:
                kept.append(number[key])
        out.append(text[last:run.start()])
        if kept:
            lead = run.group()[:len(run.group()) - len(run.group().lstrip(" \t"))]
            out.append(lead + "".join(f"[{n}]" for n in kept))
        last = run.end()
    out.append(text[last:])
    return Checked(text="".join(out), citations=citations, dropped_markers=dropped)


def _cite(n: int, hit: Hit, quotes: list[str], document: Callable[[str], Document],
          docs: dict[str, Document | None]) -> Citation:
    p = hit.passage
    if p.source not in docs:
        try:
            docs[p.source] = document(p.source)
        except (SanadError, OSError):
            docs[p.source] = None
    doc = docs[p.source]
    meta = {"title": p.title, "outlet": p.outlet, "date": p.date}
    if doc is not None and doc.text[p.start:p.end] == p.text:
        haystack, base, window, whole_file = doc.text, 0, (p.start, p.end), True
    else:  # the file changed since indexing: only the passage's own text can be checked
        haystack, base, window, whole_file = p.text, p.start, (0, len(p.text)), False
    # each quote in the cited passage first: with two quotes before "[1][2]", each marker gets
    # the one its own passage holds; then the rest of the file
    tries = [(q, window) for q in quotes] + ([(q, (0, None)) for q in quotes] if whole_file else [])
    for quote, (lo, hi) in tries:
        span = locate(haystack, quote, lo, hi)
        if span is not None:
            s, e = span
            return Citation(marker=n, source=p.source, passage_id=p.id, start=s + base,
                            end=e + base, quote=haystack[s:e], verified=True, passage=n, **meta)
    quote = quotes[0] if quotes else p.text
    return Citation(marker=n, source=p.source, passage_id=p.id, start=p.start, end=p.end,
                    quote=quote, verified=False, passage=n, quoted=bool(quotes), **meta)
