"""The app's own messages. Workers post them from their threads; handlers use `@on(...)`."""

from __future__ import annotations

from dataclasses import dataclass

from rag.types import Answer, Document, IndexReport, Progress
from textual.message import Message


@dataclass
class AnswerEvent(Message):
    """One event of `Assistant.stream` for request number `request`."""

    request: int
    event: object


@dataclass
class AnswerFailed(Message):
    request: int
    error: str


@dataclass
class IndexStarted(Message):
    reason: str


@dataclass
class IndexProgress(Message):
    progress: Progress


@dataclass
class IndexFinished(Message):
    report: IndexReport | None


@dataclass
class IndexFailed(Message):
    error: str


@dataclass
class StatsLoaded(Message):
    stats: dict


@dataclass
class AnswerChosen(Message):
    """An answer of the chat log was selected: the sources panel follows it."""

    index: int


@dataclass
class CitationChosen(Message):
    """Open citation number `index` of `answer.citations` in the viewer.

    An index, not a marker: one marker may cite several spans (e.g. two sentences of a passage).
    """

    answer: Answer
    index: int


@dataclass
class DocumentLoaded(Message):
    answer: Answer
    index: int
    document: Document
