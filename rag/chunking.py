"""Chunking: passages of whole sentences that keep exact character spans into the source.

`document.text[p.start:p.end] == p.text` for every passage. Boilerplate lines never enter a
passage, and a passage never spans across one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .analysis import clause_spans, sentence_spans
from .types import Document, Passage


def passage_id(source: str, start: int, text: str) -> str:
    """Stable id of a passage or sentence from its file, start and text: chunking the same
    file twice gives the same ids, and what keeps its words and place keeps its id."""
    digest = hashlib.sha1(f"{source}\x00{start}\x00{text}".encode("utf-8")).hexdigest()
    return digest[:20]


def _segments(doc: Document) -> list[tuple[int, int]]:
    """Stretches of the text between boilerplate lines."""
    segs, pos = [], 0
    for s, e in sorted(doc.boilerplate):
        if s > pos:
            segs.append((pos, s))
        pos = max(pos, e)
    segs.append((pos, len(doc.text)))
    return segs


def _units(text: str, start: int, end: int, target: int) -> list[tuple[int, int]]:
    """Sentences; a sentence longer than the target is cut at clause marks, then at spaces."""
    units = []
    for s, e in sentence_spans(text, start, end):
        if e - s <= target:
            units.append((s, e))
            continue
        for cs, ce in clause_spans(text, s, e):
            while ce - cs > target:
                cut = text.rfind(" ", cs + target // 2, cs + target)
                cut = cut if cut > cs else cs + target
                units.append((cs, cut))
                cs = cut
                while cs < ce and text[cs].isspace():
                    cs += 1
            if ce > cs:
                units.append((cs, ce))
    return [(s, e) for s, e in units if text[s:e].strip()]


def _strip(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def chunk_document(doc: Document, target: int = 450, overlap: int = 120) -> list[Passage]:
    """Pack sentences into passages of about `target` characters, overlapping by whole
    sentences up to `overlap` characters, so a fact near a boundary is whole in one passage."""
    groups: list[tuple[int, int]] = []
    for seg_start, seg_end in _segments(doc):
        units = _units(doc.text, seg_start, seg_end, target)
        i = 0
        while i < len(units):
            j = i + 1
            while j < len(units) and units[j][1] - units[i][0] <= target:
                j += 1
            groups.append((units[i][0], units[j - 1][1]))
            if j >= len(units):
                break
            # carry trailing sentences of this passage into the next, within the overlap
            k = j
            while (k - 1 > i and units[j - 1][1] - units[k - 1][0] <= overlap
                   and units[j][1] - units[k - 1][0] <= target):
                k -= 1
            i = k if k < j else j
    passages = []
    for ordinal, (s, e) in enumerate(groups):
        s, e = _strip(doc.text, s, e)
        text = doc.text[s:e]
        passages.append(Passage(id=passage_id(doc.source, s, text), source=doc.source, start=s,
                                end=e, text=text, ordinal=ordinal, title=doc.title,
                                date=doc.date, outlet=doc.outlet))
    return passages


ANSWER_MIN_WORDS = 4  # shorter sentences are headings and labels, never answers


@dataclass(frozen=True)
class Sentence:
    """An answer-sized sentence of a passage, with its span in the file (not the passage)."""

    id: str
    source: str
    start: int
    end: int
    text: str
    passage_id: str


def passage_sentences(p: Passage) -> list[Sentence]:
    """The answer-sized sentences of one passage. The same words in two overlapping passages
    give the same id, so a file's sentences are embedded once and found again by id."""
    out = []
    for s, e in sentence_spans(p.text):
        text = p.text[s:e]
        if len(text.split()) >= ANSWER_MIN_WORDS:
            start = p.start + s
            out.append(Sentence(passage_id(p.source, start, text), p.source, start, p.start + e,
                                text, p.id))
    return out


def file_sentences(passages: list[Passage]) -> list[Sentence]:
    """Every distinct answer-sized sentence of a file's passages, in file order."""
    seen: dict[str, Sentence] = {}
    for p in passages:
        for s in passage_sentences(p):
            seen.setdefault(s.id, s)
    return sorted(seen.values(), key=lambda s: (s.start, s.end))
