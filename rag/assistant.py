"""The `Assistant`: one object that indexes a corpus and answers questions about it.

Nothing heavy happens until it is needed: opening an Assistant touches no store; the first
question opens the index and its saved BM25 side (memory-mapped), and loads the e5 model.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import unicodedata
from pathlib import Path
from typing import Callable, Iterator, Sequence

from . import extractive, followup
from .analysis import INVISIBLE
from .errors import ConfigError, CorpusError, LLMError, QuestionError
from .loading import load_document, safe_name
from .query import Query
from .settings import Settings
from .types import (Answer, CitationsReady, Document, Done, Event, Hit, IndexReport, Notice,
                    Progress, QueryRewritten, TextDelta, Turn)

History = Sequence["Answer | Turn"]
MAX_QUESTION_CHARS = 2000


def check_history(history: History | None) -> list[Answer | Turn]:
    """The conversation so far as a list; QuestionError in one sentence when it is not a
    sequence of earlier `Answer`s or `Turn`s (a string was read letter by letter)."""
    if history is None:
        return []
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise QuestionError("The history must be a list of earlier answers (Answer or Turn), "
                            f"not {type(history).__name__}.")
    for item in history:
        if not isinstance(item, (Answer, Turn)):
            raise QuestionError("The history must be a list of earlier answers (Answer or "
                                f"Turn); it holds an item of type {type(item).__name__}.")
    return list(history)


def _turns(history: list[Answer | Turn]) -> list[Turn]:
    return [h.as_turn() if isinstance(h, Answer) else h for h in history]


NO_MODEL_SERVER = ("No chat model server is configured: set OPENAI_BASE_URL (a local server) "
                   "or OPENAI_API_KEY (OpenAI), see README.md.")


class Assistant:
    """Index a corpus and answer questions about it, with citations."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._store = None
        self._retriever = None
        # The store and retriever open lazily; threads asking at once must open them once
        # (two Chroma clients opening one path together failed: "Could not connect to tenant").
        self._opening = threading.RLock()
        self._documents: dict[str, tuple[tuple[int, int], Document]] = {}  # by size, mtime

    @classmethod
    def open(cls, corpus: str | Path | None = "corpus", index: str | Path | None = None,
             settings: Settings | None = None, **overrides) -> "Assistant":
        """Open (lazily) the index for `corpus`. `index` defaults to the settings' index dir;
        any other setting may be given by its `Settings` name (`offline=True`, `top_k=8`,
        `model="..."`) and wins over the environment."""
        settings = settings or Settings.from_env()
        known = {f.name for f in dataclasses.fields(Settings)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"Assistant.open() got unknown setting(s) {', '.join(unknown)}; "
                            f"the settings are: {', '.join(sorted(known))}.")
        changes = {k: v for k, v in overrides.items() if v is not None}
        if corpus is not None:
            changes["corpus_dir"] = Path(corpus)
        if index is not None:
            changes["index_dir"] = Path(index)
        return cls(settings.replace(**changes) if changes else settings)

    # -- the index ---------------------------------------------------------------------------
    @property
    def store(self):
        with self._opening:
            if self._store is None:
                from .store import open_store

                self._store = open_store(self.settings)
            return self._store

    def index(self, progress: Callable[[Progress], None] | None = None,
              warn: Callable[[str, str], None] | None = None, rebuild: bool = False) -> IndexReport:
        """Bring the index in line with the corpus: add, update and remove files."""
        from .errors import IndexDamagedError
        from .indexing import build_index, index_lock

        set_aside = None
        try:
            store = self.store
        except IndexDamagedError:
            if not rebuild:
                raise
            from .store import set_aside_damaged

            with index_lock(self.settings):
                set_aside = set_aside_damaged(self.settings.index_dir)
            store = self.store
        report = build_index(self.settings, store, progress=progress, warn=warn,
                             rebuild=rebuild)
        if set_aside:
            report = dataclasses.replace(report, damaged_set_aside=str(set_aside))
        self._retriever = None
        self._documents.clear()
        return report

    def changes(self) -> dict[str, list[str]] | None:
        """Corpus files added, changed (by size or modification time) or removed since the
        index last recorded them: a `stat` per file, nothing read. None when the index keeps
        no record to compare with (an interrupted run): `index()` then decides."""
        from .indexing import corpus_files, unseen

        unreadable: list[str] = []
        files = corpus_files(self.settings.corpus_dir, self.settings.max_file_bytes,
                             unreadable_folders=unreadable)
        record = self.retriever.bm25.files
        if record is None:
            return None
        seen = {f.source: f for f in files}
        seen.update((s, None) for s in unseen(record, unreadable, set(seen)))  # kept as they are
        changed = [s for s, f in seen.items() if s in record and f is not None
                   and not (f.same_as(record[s]) or f.skipped_as(record[s]))]
        return {"added": sorted(set(seen) - set(record)), "changed": sorted(changed),
                "removed": sorted(s for s in set(record) - set(seen)
                                  if not record[s].get("skipped"))}

    def has_index(self) -> bool:
        """Is there an index to answer from? On disk: its database; on a Chroma server: the
        collection (asked of the server, which may hold other collections)."""
        from .errors import IndexMissingError
        from .store import index_exists

        if not self.settings.chroma_url:
            return index_exists(self.settings)
        try:
            self.store.collection()
        except IndexMissingError:
            return False
        return True

    def stats(self) -> dict:
        """Files and passages in the index, and the answering mode, for status lines."""
        bm25 = self.retriever.bm25  # the saved lexical index knows both, without a scan
        return {"files": len(set(bm25.sources)), "passages": bm25.n,
                "embedding": self.settings.embedding, "mode": self.mode}

    @property
    def mode(self) -> str:
        return "llm" if self.settings.llm_enabled else "offline"

    @property
    def can_use_model(self) -> bool:
        """A chat model server is configured (a base URL or an API key), offline or not."""
        return self.settings.has_model_server

    def models(self) -> list[str]:
        """The chat models the configured server offers (`GET /models`)."""
        from . import llm

        if not self.can_use_model:
            raise ConfigError(NO_MODEL_SERVER)
        return llm.list_models(self.settings)

    def use_model(self, model: str | None) -> None:
        """Answer with chat model `model` from now on, or offline (extractively) with None.
        The index and retrieval stay as they are."""
        if model is None:
            self.settings = self.settings.replace(offline=True)
            return
        if not self.can_use_model:
            raise ConfigError(NO_MODEL_SERVER)
        self.settings = self.settings.replace(model=model, offline=False)

    def document(self, source: str) -> Document:
        """The corpus file a citation names, decoded exactly as it was indexed."""
        path = (self.settings.corpus_dir / source).resolve()
        if self.settings.corpus_dir.resolve() not in path.parents:
            raise QuestionError(f"{source!r} is not a file of the corpus.")
        try:  # a stat per call: a file changed or removed since it was read is not trusted
            info = path.stat()
        except OSError as exc:
            self._documents.pop(source, None)
            raise CorpusError(f"{safe_name(source)} is no longer in the corpus "
                              f"({exc.strerror or exc}).") from None
        stamp = (info.st_size, info.st_mtime_ns)
        cached = self._documents.get(source)
        if cached is None or cached[0] != stamp:
            cached = self._documents[source] = (stamp, load_document(path, source))
        return cached[1]

    # -- retrieval ---------------------------------------------------------------------------
    @property
    def retriever(self):
        with self._opening:
            if self._retriever is None:
                from .retrieval import HybridRetriever

                self._retriever = HybridRetriever.from_store(self.store, self.settings)
            return self._retriever

    def _current_retriever(self):
        """(retriever, notice). Another process may have re-indexed since this one opened the
        index: its stamp then differs and the retriever is opened again (one small read of
        the collection's metadata per question). While a `sanad index` runs, or after one
        died, the notice says that answers may miss files."""
        current = self._retriever
        if current is None:
            current = self.retriever
            return current, self._progress_notice(current.bm25.stamp)
        stamp = self.store.stamp(fresh=True)
        if stamp != current.bm25.stamp and not (stamp or "").startswith("indexing-"):
            with self._opening:
                if self._retriever is current:  # not already reopened by another thread
                    self._retriever = None
        return self.retriever, self._progress_notice(stamp)

    def _progress_notice(self, stamp: str | None) -> str | None:
        if (stamp or "").startswith("indexing-"):
            return (f"The index at {self.store.where} is being updated, or an update was "
                    "interrupted: answers may miss some files until `sanad index` completes.")
        return None

    def warm_up(self) -> None:
        """Open retrieval and, in LLM mode, import the chat client before the first question,
        so a UI can pay these costs while the person is still typing."""
        self.retriever
        if self.settings.llm_enabled:
            from . import llm

            try:
                llm.chat_model(self.settings)  # imports langchain_openai; sends nothing
            except LLMError:
                pass  # e.g. no key for api.openai.com: the first question says so

    def retrieve(self, query: "Query | str", k: int | None = None,
                 focus: str | None = None) -> list[Hit]:
        """Top-k passages for `query`; `focus` as in `HybridRetriever.search`."""
        return self.retriever.search(query, k or self.settings.top_k, focus)

    def as_retriever(self, k: int | None = None):
        """This assistant's hybrid retrieval as a LangChain `BaseRetriever`."""
        from .retrieval import langchain_retriever

        return langchain_retriever(self.retriever, k or self.settings.top_k)

    # -- answering ---------------------------------------------------------------------------
    def ask(self, question: str, history: History | None = None, k: int | None = None) -> Answer:
        """Answer a question; the same `Answer` that `stream` ends with."""
        for event in self.stream(question, history, k):
            if isinstance(event, Done):
                return event.answer
        raise AssertionError("stream() ended without Done")  # pragma: no cover

    def stream(self, question: str, history: History | None = None,
               k: int | None = None) -> Iterator[Event]:
        """Yield events: QueryRewritten?, TextDelta*, Notice*, CitationsReady, Done.

        `Done.answer.text` is authoritative: after a fallback Notice, the text streamed so far
        is replaced by the offline answer.
        """
        question = check_question(question)
        history = check_history(history)
        turns = _turns(history)
        t0 = time.perf_counter()
        retriever, notice = self._current_retriever()
        if notice:
            yield Notice(notice)
        text = followup.rewrite_query(self.settings, question, history,
                                      rank=retriever.bm25.idf, retriever=retriever)
        if text != question:
            yield QueryRewritten(text)
        query = Query.build(question, text, retriever.embeddings,  # analysed once, used below
                            retriever.lexicon)
        t1 = time.perf_counter()
        hits = self.retrieve(query, k)
        timings = {"rewrite": (t1 - t0) * 1000, "retrieve": (time.perf_counter() - t1) * 1000}
        notes: list[str] = [notice] if notice else []
        if not hits and not retriever.bm25.n:  # not "the articles do not say": there are none
            notes.append(f"The index holds no passages: put .txt or .md files in "
                         f"{self.settings.corpus_dir} and run `sanad index`.")
            yield Notice(notes[-1])
        if self.settings.llm_enabled:
            from . import llm

            try:
                yield from llm.stream_answer(self.settings, question, text, hits, turns,
                                             self.document, timings=timings, started=t0)
                return
            except LLMError as exc:
                if not self.settings.fallback:
                    raise
                notes.append(f"{exc} The offline answer is shown instead.")
                yield Notice(notes[-1])
        t2 = time.perf_counter()
        answer = extractive.answer(query, hits, retriever, self.document)
        answer.timings.update(timings, answer=(time.perf_counter() - t2) * 1000,
                              total=(time.perf_counter() - t0) * 1000)
        answer.notes.extend(notes)
        yield TextDelta(answer.text)
        yield CitationsReady(tuple(answer.citations), tuple(answer.dropped_markers))
        yield Done(answer)

    def close(self) -> None:
        self._store = None
        self._retriever = None


def clean_question(question: str) -> str:
    """The question without control characters (as spaces) and without zero-width and bidi
    marks, which would otherwise change its answer or make an invisible question."""
    out = []
    for c in question:
        if c in INVISIBLE:
            continue
        out.append(" " if unicodedata.category(c) == "Cc" else c)
    return " ".join("".join(out).split())


def check_question(question: str) -> str:
    """The question as it is asked, cleaned; QuestionError in one sentence if it cannot be."""
    if question is not None and not isinstance(question, str):
        raise QuestionError(f"The question must be text (str), not {type(question).__name__}.")
    if any("\ud800" <= c <= "\udfff" for c in question or ""):  # bytes that were not UTF-8
        raise QuestionError("The question is not valid UTF-8 text; type it again, or convert "
                            "the file it comes from to UTF-8.")
    question = clean_question(question or "")
    if not question:
        raise QuestionError("The question is empty; type a question in Arabic or English.")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"The question is too long ({len(question)} characters, "
                            f"at most {MAX_QUESTION_CHARS}).")
    return question
