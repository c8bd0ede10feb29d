"""A scripted assistant for the TUI tests: the `Assistant` methods the app uses, no index.

It yields the same events as `Assistant.stream` (QueryRewritten?, TextDelta*, CitationsReady,
Done) with fixed timings, so screenshots are deterministic; `delay` makes it stream slowly.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import pytest
from rag.errors import IndexMissingError, QuestionError
from rag.settings import Settings
from rag.types import (Answer, Citation, CitationsReady, Document, Done, Hit, IndexReport,
                       Passage, Progress, QueryRewritten, TextDelta)

TITLE_A = "كازاخستان تنضم إلى الاتفاقات الإبراهيمية"
QUOTE_A = "أعلن الرئيس الكازاخستاني قاسم جومارت توكايف انضمام بلاده رسميًا إلى الاتفاقات الإبراهيمية"
FILLER = ("وتناولت الصحف المحلية الخبر في صفحاتها الأولى، ونقلت آراء محللين يرون أن الخطوة تحمل "
          "دلالات سياسية واقتصادية تتجاوز حدود المنطقة.")
LINES_A = [
    TITLE_A,
    "الجزيرة · 7 نوفمبر 2025",
    "",
    *[f"{FILLER} ({n})" for n in range(1, 13)],
    "",
    f"وفي مؤتمر صحفي مشترك في واشنطن (Washington) عام 2025، {QUOTE_A}، وفق ما نقلت وكالة "
    "رويترز عن مسؤول في البيت الأبيض.",
    "",
    *[f"{FILLER} ({n})" for n in range(13, 19)],
]
TEXT_A = "\n".join(LINES_A) + "\n"
TEXT_B = ("ويتكوف يعلن انضمام دولة جديدة\n\nقال المبعوث الخاص ستيف ويتكوف (Steve Witkoff) في "
          "منتدى الأعمال في ميامي إن دولة جديدة ستنضم الليلة إلى الاتفاقات.\n")
SOURCE_A = "001_kazakhstan.txt"
SOURCE_B = "002_witkoff.txt"


def _document(source: str, text: str, title: str, date: str, outlet: str) -> Document:
    return Document(source=source, text=text, sha256=hashlib.sha256(text.encode()).hexdigest(),
                    encoding="utf-8", title=title, date=date, outlet=outlet)


DOCUMENTS = {
    SOURCE_A: _document(SOURCE_A, TEXT_A, TITLE_A, "2025-11-07", "الجزيرة"),
    SOURCE_B: _document(SOURCE_B, TEXT_B, "ويتكوف يعلن انضمام دولة جديدة", "2025-11-06",
                        "رويترز"),
}

ANSWER_TEXT = ("أعلنت كازاخستان انضمامها رسميًا إلى الاتفاقات الإبراهيمية [1]، وقال المبعوث "
               "ستيف ويتكوف (Steve Witkoff) إن دولة جديدة ستنضم في 2025 [2].\n\n"
               "- جاء الإعلان خلال لقاء في واشنطن [1].\n"
               "- لم يُذكر اسم الدولة في البداية [2].")
FOLLOW_UP_TEXT = "انضمت كازاخستان بإعلان من رئيسها قاسم جومارت توكايف [1]."
TIMINGS = {"rewrite": 0.0, "retrieve": 12.0, "answer": 30.0, "total": 420.0}


def citations() -> list[Citation]:
    start_a = TEXT_A.index(QUOTE_A)
    start_b = TEXT_B.index("دولة جديدة ستنضم")
    return [
        Citation(1, SOURCE_A, "a-3", start_a, start_a + len(QUOTE_A), QUOTE_A, True, TITLE_A,
                 "الجزيرة", "2025-11-07"),
        Citation(2, SOURCE_B, "b-0", start_b, start_b + 30,
                 "دولة جديدة ستنضم في عام 2025 إلى الاتفاقات", False,
                 "ويتكوف يعلن انضمام دولة جديدة", "رويترز", "2025-11-06"),
    ]


def make_answer(question: str, query: str | None = None, text: str = ANSWER_TEXT) -> Answer:
    cites = [c for c in citations() if f"[{c.marker}]" in text]
    hits = [Hit(Passage(c.passage_id, c.source, c.start, c.end, c.quote, 0, c.title, c.date,
                        c.outlet), 0.5 - i / 10, i + 1, i + 1) for i, c in enumerate(cites)]
    return Answer(text=text, citations=cites, passages=hits, query=query or question,
                  question=question, answered=True, mode="offline", timings=dict(TIMINGS))


class FakeAssistant:
    """Implements what the app calls on `rag.Assistant`, from a script."""

    def __init__(self, settings: Settings, *, delay: float = 0.0, chunk: int = 12,
                 indexed: bool = True, index_delay: float = 0.0,
                 errors: dict[str, Exception] | None = None, mode: str = "offline",
                 answers: dict[str, Answer] | None = None):
        self.settings = settings
        self.mode = mode
        self.delay = delay
        self.chunk = chunk
        self.indexed = indexed
        self.index_delay = index_delay
        self.errors = errors or {}
        self.answers = answers or {}  # question -> scripted Answer
        self.calls: list[tuple[str, list]] = []
        self.changed: list[str] = []  # corpus files changed since indexing (scripted)
        self.index_calls = 0
        self.streamed = 0  # TextDelta events handed out
        self.inside = 0  # streams not yet finished or closed
        self.overlaps: list[str] = []  # what ran while a stream was still inside
        self.server_models: list[str] | Exception | None = None  # None: no server configured

    @property
    def can_use_model(self) -> bool:
        return self.server_models is not None

    def models(self) -> list[str]:
        if isinstance(self.server_models, Exception):
            raise self.server_models
        return list(self.server_models or [])

    def use_model(self, model: str | None) -> None:
        if model is None:
            self.settings, self.mode = self.settings.replace(offline=True), "offline"
        else:
            self.settings = self.settings.replace(model=model, offline=False,
                                                  base_url="http://127.0.0.1:11434/v1")
            self.mode = "llm"

    def has_index(self) -> bool:
        return self.indexed

    def changes(self) -> dict[str, list[str]]:
        return {"added": [], "changed": list(self.changed), "removed": []}

    def index(self, progress=None, warn=None) -> IndexReport:
        self.index_calls += 1
        if self.inside:
            self.overlaps.append("index")
        total = 24
        for done in range(1, total + 1):
            if self.index_delay:
                time.sleep(self.index_delay)
            if progress:
                progress(Progress("embedding", done, total, SOURCE_A if done < 12 else SOURCE_B))
        self.indexed = True
        return IndexReport(added=sorted(DOCUMENTS), files=len(DOCUMENTS), passages=12,
                           passages_embedded=12)

    def stats(self) -> dict:
        if not self.indexed:
            raise IndexMissingError("There is no index yet; run `sanad index` first.")
        return {"files": len(DOCUMENTS), "passages": 12, "embedding": "hashing-ngram-v1",
                "mode": self.mode}

    def document(self, source: str) -> Document:
        if source not in DOCUMENTS:
            raise QuestionError(f"{source!r} is not a file of the corpus.")
        return DOCUMENTS[source]

    def stream(self, question: str, history=None):
        if self.inside:
            self.overlaps.append(f"stream {question}")
        self.inside += 1
        try:
            yield from self._stream(question, history)
        finally:
            time.sleep(self.delay)  # a model's stream takes a moment to close
            self.inside -= 1

    def _stream(self, question: str, history=None):
        self.calls.append((question, list(history or [])))
        if question in self.errors:
            raise self.errors[question]
        if question in self.answers:
            answer = self.answers[question]
        elif history:
            answer = make_answer(question, f"{question} كازاخستان الاتفاقات الإبراهيمية",
                                 FOLLOW_UP_TEXT)
            yield QueryRewritten(answer.query)
        else:
            answer = make_answer(question)
        for start in range(0, len(answer.text), self.chunk):
            if self.delay:
                time.sleep(self.delay)
            self.streamed += 1
            yield TextDelta(answer.text[start:start + self.chunk])
        yield CitationsReady(tuple(answer.citations), ())
        yield Done(answer)

    def close(self) -> None:
        pass


class Script:
    """The scripted corpus and answers, for tests to compare against (use the `script` fixture)."""

    DOCUMENTS = DOCUMENTS
    TEXT_A, TEXT_B, QUOTE_A, TITLE_A = TEXT_A, TEXT_B, QUOTE_A, TITLE_A
    SOURCE_A, SOURCE_B = SOURCE_A, SOURCE_B
    ANSWER_TEXT, FOLLOW_UP_TEXT = ANSWER_TEXT, FOLLOW_UP_TEXT
    make_answer = staticmethod(make_answer)
    citations = staticmethod(citations)


@pytest.fixture
def script() -> type[Script]:
    return Script


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(env={}, corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index",
                             data_dir=tmp_path / "data")


@pytest.fixture
def make_app(settings, tmp_path):
    """Build a `SanadApp` over a `FakeAssistant`: make_app(rtl="on", delay=0.05, ...)."""
    from tui.app import SanadApp

    def make(*, rtl: str = "on", new: bool = False, assistant: FakeAssistant | None = None,
             env: dict | None = None, **fake) -> SanadApp:
        assistant = assistant or FakeAssistant(settings, **fake)
        return SanadApp(settings, assistant, new=new, rtl=rtl, env=env or {},
                        export_dir=tmp_path / "exports")

    return make


class UI:
    """Pilot helpers, as a fixture (conftest modules are not imported by tests)."""

    async def until(self, pilot, condition, timeout: float = 5.0) -> None:
        """Let the app run until `condition()` holds."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for the app")
            await pilot.pause(0.01)

    async def ready(self, pilot) -> None:
        """Startup done: the index is prepared and its size shown."""
        app = pilot.app
        await self.until(pilot, lambda: "passages" in app.chat.status.index
                         and not app.chat.indexing)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    async def ask(self, pilot, question: str, wait: bool = True) -> None:
        app = pilot.app
        field = app.chat.input
        field.focus()
        field.value = question
        await pilot.press("enter")
        if wait:
            await self.until(pilot, lambda: app.chat.pending is None)
            await pilot.pause()
            await asyncio.sleep(0.06)  # the answer view's throttled redraw
            await pilot.pause()


@pytest.fixture
def ui() -> UI:
    return UI()
