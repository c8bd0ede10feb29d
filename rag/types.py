"""The values that flow through sanad: documents, passages, hits, citations, answers, events.

One `Answer` type is returned everywhere (library, CLI `--json`, TUI, eval).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Union


@dataclass(frozen=True)
class Document:
    """A corpus file, decoded. `text` is the original text; spans index into it."""

    source: str  # file name relative to the corpus directory, e.g. "004_38e6d22ca08bed6e.txt"
    text: str
    sha256: str  # of the raw bytes
    encoding: str
    title: str | None = None
    date: str | None = None
    outlet: str | None = None
    boilerplate: tuple[tuple[int, int], ...] = ()  # spans of lines that must not become passages


@dataclass(frozen=True)
class Passage:
    """A run of whole sentences of one document: `document.text[start:end] == text`."""

    id: str
    source: str
    start: int
    end: int
    text: str
    ordinal: int
    title: str | None = None
    date: str | None = None
    outlet: str | None = None


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its fused score and the rank it had in each retriever."""

    passage: Passage
    score: float
    bm25_rank: int | None = None
    vector_rank: int | None = None

    def to_dict(self) -> dict:
        return {**asdict(self.passage), "score": round(self.score, 6),
                "bm25_rank": self.bm25_rank, "vector_rank": self.vector_rank}


@dataclass(frozen=True)
class Citation:
    """Marker `[n]` in the answer text, pointing at words of a source file.

    Markers are numbered 1..n in order of first appearance in the answer, one number per
    quoted span; `passage` is the 1-based number of the cited hit in `Answer.passages` (what
    the model wrote in its marker, before that renumbering)."""

    marker: int
    source: str
    passage_id: str
    start: int  # character span of `quote` in the decoded source file
    end: int
    quote: str
    verified: bool = True  # the quote was found in the source text
    title: str | None = None
    outlet: str | None = None
    date: str | None = None
    passage: int | None = None  # None in conversations saved before markers were renumbered
    quoted: bool = True  # False: the marker followed no quote; `quote` is then the passage

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation, as history for follow-up questions."""

    question: str
    answer: str
    query: str | None = None


@dataclass
class Answer:
    text: str
    citations: list[Citation]
    passages: list[Hit]
    query: str
    question: str
    answered: bool
    mode: str = "offline"  # "offline" or "llm"
    model: str | None = None
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage
    notes: list[str] = field(default_factory=list)  # e.g. why the offline fallback was used
    dropped_markers: list[int] = field(default_factory=list)
    unsupported: bool = False  # a model's answer (not a refusal) that no verified quote backs

    @property
    def rewritten(self) -> bool:
        return self.query.strip() != self.question.strip()

    @property
    def citation_counts(self) -> dict[str, int]:
        verified = sum(1 for c in self.citations if c.verified)
        return {"verified": verified, "unverified": len(self.citations) - verified,
                "dropped": len(self.dropped_markers)}

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "query": self.query,
            "answered": self.answered,
            "text": self.text,
            "mode": self.mode,
            "model": self.model,
            "citations": [c.to_dict() for c in self.citations],
            "citation_counts": self.citation_counts,
            "unsupported": self.unsupported,
            "dropped_markers": list(self.dropped_markers),
            "passages": [h.to_dict() for h in self.passages],
            "timings_ms": {k: round(v, 2) for k, v in self.timings.items()},
            "notes": list(self.notes),
        }

    def as_turn(self) -> Turn:
        return Turn(question=self.question, answer=self.text, query=self.query)


@dataclass(frozen=True)
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    passages_embedded: int = 0
    files: int = 0
    passages: int = 0
    sentences_embedded: int = 0
    replaced_embedding: str | None = None  # the index was built with this one: rebuilt
    damaged_set_aside: str | None = None  # a damaged database moved here by --rebuild
    # new files whose vectors were taken from an indexed file with the same content (renamed,
    # moved or copied), not embedded again
    reused: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Progress:
    """Progress of long work, given to a callback; the CLI renders it as a bar."""

    stage: str
    done: int
    total: int
    item: str = ""


# Streaming events: the UI matches on these and renders.
@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class QueryRewritten:
    query: str


@dataclass(frozen=True)
class Notice:
    """Something the user should see beside the answer, e.g. why the fallback answered."""

    text: str


@dataclass(frozen=True)
class CitationsReady:
    citations: tuple[Citation, ...]
    dropped_markers: tuple[int, ...] = ()


@dataclass(frozen=True)
class Done:
    answer: Answer


Event = Union[QueryRewritten, TextDelta, Notice, CitationsReady, Done]
