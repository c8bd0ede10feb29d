"""Indexing: bring the Chroma collection in line with the corpus, incrementally.

Unchanged files (same content hash, all passages and sentences present, same chunking) cost
nothing. Every passage and every answer-sized sentence is embedded once, here, so answering
never embeds corpus text. A changed file's rows are deleted, then re-added; if a run dies in between, the next run
sees the file incomplete or missing and indexes it again. A lock keeps two runs apart.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .chunking import chunk_document, file_sentences
from .errors import EmbeddingMismatchError, IndexLockedError
from .loading import load_corpus
from .types import IndexReport, Progress

_EMBED_BATCH = 64
_WRITE_ROWS = 512  # rows (passages and sentences) gathered across files before one write


@contextlib.contextmanager
def index_lock(settings, timeout_s: float | None = None) -> Iterator[None]:
    """An exclusive lock per index; waits up to `timeout_s`, then IndexLockedError."""
    timeout_s = settings.lock_timeout_s if timeout_s is None else timeout_s
    if settings.chroma_url:
        key = hashlib.sha1(f"{settings.chroma_url}/{settings.collection}".encode()).hexdigest()
        path = Path(tempfile.gettempdir()) / f"sanad-{key[:16]}.lock"
    else:
        Path(settings.index_dir).mkdir(parents=True, exist_ok=True)
        path = Path(settings.index_dir) / "index.lock"
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLockedError(
                        f"Another `sanad index` is updating {settings.chroma_url or settings.index_dir}; "
                        f"waited {timeout_s:g} s. Try again when it has finished.") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def chunking_signature(settings) -> str:
    return f"v3:{settings.chunk_target}:{settings.chunk_overlap}"


def build_index(settings, store, progress: Callable[[Progress], None] | None = None,
                warn: Callable[[str, str], None] | None = None, rebuild: bool = False) -> IndexReport:
    """Add new files, replace changed ones, remove deleted ones; report what happened."""
    skipped: list[tuple[str, str]] = []

    def on_skip(source: str, reason: str) -> None:
        skipped.append((source, reason))
        if warn:
            warn(source, reason)

    def report(stage: str, done: int, total: int, item: str = "") -> None:
        if progress:
            progress(Progress(stage, done, total, item))

    docs = load_corpus(settings.corpus_dir, warn=on_skip)
    return index_documents(settings, store, docs, progress=report, skipped=skipped,
                           rebuild=rebuild)


def index_documents(settings, store, docs: list, progress: Callable[..., None] | None = None,
                    skipped: list[tuple[str, str]] | None = None,
                    rebuild: bool = False) -> IndexReport:
    """Index already-loaded documents; files in the index but not in `docs` are removed."""
    report = progress or (lambda *a, **k: None)
    signature = chunking_signature(settings)
    added, updated, removed, unchanged = [], [], [], []
    embedded = sentences_embedded = 0
    replaced = None
    with index_lock(settings):
        if not rebuild:
            try:
                store.collection(create=True)
                store.sentence_collection(create=True)
            except EmbeddingMismatchError as exc:  # built with another model: start over
                replaced, rebuild = exc.found or "another embedding", True
        if rebuild:
            store.reset()
        store.collection(create=True)
        states = store.file_states()
        todo = []
        for doc in docs:
            state = states.get(doc.source)
            if (state and state.sha256 == doc.sha256 and state.complete
                    and state.chunking == signature):
                unchanged.append(doc.source)
            else:
                todo.append((doc, state))
        work = []
        for doc, state in todo:
            passages = chunk_document(doc, settings.chunk_target, settings.chunk_overlap)
            work.append((doc, state, passages, file_sentences(passages)))
        total = sum(len(p) + len(s) for _, _, p, s in work)
        done = 0
        report("embed", 0, total)
        pending: list = []  # files embedded, old rows deleted, not yet written
        for doc, state, passages, sentences in work:
            vectors = []
            for texts in (passages, sentences):
                out = np.empty((len(texts), store.embeddings.dimension or 0), dtype=np.float32)
                for i in range(0, len(texts), _EMBED_BATCH):
                    batch = texts[i:i + _EMBED_BATCH]
                    got = store.embeddings.passage_vectors([t.text for t in batch])
                    if out.shape[1] != got.shape[1]:  # a remote model's size is learned here
                        out = np.empty((len(texts), got.shape[1]), dtype=np.float32)
                    out[i:i + len(batch)] = got
                    done += len(batch)
                    report("embed", done, total, doc.source)
                vectors.append(out)
            embedded += len(passages)
            sentences_embedded += len(sentences)
            if state is not None:
                store.delete_source(doc.source)
            pending.append((passages, vectors[0], sentences, vectors[1], doc.sha256))
            (updated if state is not None else added).append(doc.source)
            if sum(len(f[0]) + len(f[2]) for f in pending) >= _WRITE_ROWS:
                store.add_files(pending, signature)
                pending = []
        if pending:
            store.add_files(pending, signature)
        present = {d.source for d in docs}
        for source in sorted(set(states) - present):
            store.delete_source(source)
            removed.append(source)
        report("done", total, total)
        count = store.count()
    return IndexReport(added=added, updated=updated, removed=removed, unchanged=unchanged,
                       skipped=list(skipped or []), passages_embedded=embedded, files=len(docs),
                       passages=count, sentences_embedded=sentences_embedded,
                       replaced_embedding=replaced)
