"""Indexing: bring the Chroma collection in line with the corpus, incrementally.

Unchanged files (same content hash, all passages and sentences present, same chunking) cost
nothing. Every passage and every answer-sized sentence is embedded once, here, so answering
never embeds corpus text; a file renamed, moved or copied takes the vectors of the indexed
file with the same content instead of being embedded again, and a changed file keeps those
of its passages and sentences whose words and place did not change. A changed file's rows
are deleted, then re-added; if a run dies in between, the next run sees the file incomplete
or missing and indexes it again. A lock keeps two runs apart.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from .chunking import chunk_document, file_sentences
from .embeddings import sentence_space, sentence_vectors
from .errors import CorpusError, EmbeddingMismatchError, IndexLockedError
from .loading import corpus_entries, gc_paused, load_document
from .types import Document, IndexReport, Progress

_EMBED_BATCH = 64
_WRITE_ROWS = 512  # rows (passages and sentences) gathered across files before one write


def server_key(url: str) -> str:
    """One name per Chroma server for its lock: `http://localhost:8000/` and
    `http://127.0.0.1:8000` are the same server (they took two locks, and two runs indexed
    one collection at once)."""
    from .store import chroma_address

    host, port = chroma_address(url)
    host = host.lower()
    if host in ("localhost", "::1", "ip6-localhost") or host.startswith("127."):
        host = "127.0.0.1"
    return f"{host}:{port}"


@contextlib.contextmanager
def index_lock(settings, timeout_s: float | None = None, lease: bool = True) -> Iterator[bool]:
    """An exclusive lock per index; waits up to `timeout_s`, then IndexLockedError. Yields
    whether it waited (another process held it, and may have changed the index). A file
    locks the runs of this machine; with a Chroma server, and `lease`, so does the server's
    lease those of every machine."""
    timeout_s = settings.lock_timeout_s if timeout_s is None else timeout_s
    if settings.chroma_url:
        key = hashlib.sha1(f"{server_key(settings.chroma_url)}/{settings.collection}".encode()
                           ).hexdigest()
        path = Path(tempfile.gettempdir()) / f"sanad-{key[:16]}.lock"
    else:
        Path(settings.index_dir).mkdir(parents=True, exist_ok=True)
        path = Path(settings.index_dir) / "index.lock"
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout_s
        waited = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = True
                if time.monotonic() >= deadline:
                    raise IndexLockedError(
                        f"Another `sanad index` is updating {settings.chroma_url or settings.index_dir}; "
                        f"waited {timeout_s:g} s. Try again when it has finished.") from None
                time.sleep(0.1)
        try:
            if settings.chroma_url and lease:  # and other machines' runs
                with _server_lease(settings, deadline, timeout_s) as waited_there:
                    yield waited or waited_there
            else:
                yield waited
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _server_lease(settings, deadline: float, timeout_s: float) -> Iterator[bool]:
    """The Chroma server's lease (`lease.py`), waited for until `deadline`."""
    from .lease import ServerLease

    lease = ServerLease(settings)
    waited = False
    while True:
        holder = lease.take()
        if holder is None:
            break
        waited = True
        if time.monotonic() >= deadline:
            raise IndexLockedError(
                f"Another `sanad index` ({holder}) is updating collection "
                f"{settings.collection!r} on {settings.chroma_url}; waited {timeout_s:g} s. "
                "Try again when it has finished.") from None
        time.sleep(0.5)
    try:
        yield waited
    finally:
        lease.release()


def index_busy(settings) -> bool:
    """Another process holds the index's lock (a `sanad index` is running), on this machine
    or, for a Chroma server, on any (its lease is read, not taken)."""
    try:
        with index_lock(settings, timeout_s=0, lease=False):
            pass
    except IndexLockedError:
        return True
    if settings.chroma_url:
        from .lease import lease_holder

        return lease_holder(settings) is not None
    return False


def chunking_signature(settings) -> str:
    return f"v3:{settings.chunk_target}:{settings.chunk_overlap}"


@dataclass
class CorpusFile:
    """A corpus file, decoded only when its size or modification time says it may have
    changed (or when it was handed over already decoded)."""

    source: str
    path: Path | None = None
    size: int | None = None
    mtime_ns: int | None = None
    doc: Document | None = None

    def load(self) -> Document:
        if self.doc is None:
            self.doc = load_document(self.path, self.source)
        return self.doc

    def same_as(self, known: dict | None) -> bool:
        """Recorded whole (with a content hash) at this very size and modification time."""
        return bool(known and known.get("sha256") and self.size is not None
                    and (known.get("size"), known.get("mtime_ns")) == (self.size, self.mtime_ns))

    def skipped_as(self, known: dict | None) -> bool:
        """Recorded as skipped (empty, binary, not text) at this very size and time: it is
        not read again until it changes (a question would take it for a new file)."""
        return bool(known and known.get("skipped") and self.size is not None
                    and (known.get("size"), known.get("mtime_ns")) == (self.size, self.mtime_ns))


def unseen(record: dict, folders: Sequence[str], seen: set[str]) -> list[str]:
    """Recorded files not seen because their folder could not be read."""
    if not folders:
        return []
    prefixes = tuple(folder.rstrip("/") + "/" for folder in folders)
    return sorted(s for s in record if s not in seen and s.startswith(prefixes))


def corpus_files(corpus_dir: Path, max_bytes: int | None = None,
                 warn: Callable[[str, str], None] | None = None,
                 unreadable_folders: list[str] | None = None) -> list[CorpusFile]:
    """Every corpus file with its size and modification time; nothing is read yet."""
    entries = corpus_entries(corpus_dir, max_bytes, warn, unreadable_folders)
    with gc_paused():
        return [CorpusFile(source, path, info.st_size, info.st_mtime_ns)
                for source, path, info in entries]


def build_index(settings, store, progress: Callable[[Progress], None] | None = None,
                warn: Callable[[str, str], None] | None = None, rebuild: bool = False) -> IndexReport:
    """Add new files, replace changed ones, remove deleted ones; report what happened."""

    def report(stage: str, done: int, total: int, item: str = "") -> None:
        if progress:
            progress(Progress(stage, done, total, item))

    skipped: list[tuple[str, str]] = []

    def skip(source: str, reason: str) -> None:
        skipped.append((source, reason))
        if warn:
            warn(source, reason)

    unreadable: list[str] = []
    files = corpus_files(settings.corpus_dir, settings.max_file_bytes, skip, unreadable)
    return index_files(settings, store, files, progress=report, warn=warn, rebuild=rebuild,
                       skipped=skipped, unreadable_folders=unreadable)


def index_documents(settings, store, docs: list, progress: Callable[..., None] | None = None,
                    skipped: list[tuple[str, str]] | None = None,
                    rebuild: bool = False) -> IndexReport:
    """Index already-loaded documents; files in the index but not in `docs` are removed."""
    return index_files(settings, store, [CorpusFile(d.source, doc=d) for d in docs],
                       progress=progress, rebuild=rebuild, skipped=skipped)


def _file_record(store, signature: str):
    """(saved lexical index, {source: record}) from the index's own record, or from a scan
    of the collection when the record cannot be trusted (missing, or a run died)."""
    from .lexical import BM25

    stamp = store.stamp()
    saved = BM25.load(store.lexical_path, stamp) if stamp else None
    if saved is not None and saved.files is not None:
        return saved, saved.files
    record = {}
    for source, st in store.file_states().items():
        complete = st.complete and st.chunking == signature
        record[source] = {"sha256": st.sha256 if complete else "", "size": None,
                          "mtime_ns": None, "passages": st.present,
                          "sentences": st.sentences_present, "chunking": st.chunking}
    return saved, record


def _lenders(record: dict, signature: str) -> dict[str, str]:
    """{content hash: an indexed file with that content, whole and chunked as now}: a new
    file with the same bytes (a rename, a move, a copy) can take its vectors."""
    out: dict[str, str] = {}
    for source, known in sorted(record.items()):
        if known.get("sha256") and known.get("chunking") == signature and not known.get("skipped"):
            out.setdefault(known["sha256"], source)
    return out


def _stored_vectors(store, source: str, passages, sentences) -> list[dict[int, np.ndarray]]:
    """[{position: vector} of `passages`, of `sentences`] (one file's) for those whose words
    the index holds under `source`: a vector is of its text alone, so a passage or sentence
    that an edit before it moved keeps it as well."""
    by_text = store.file_vectors(source)
    return [{i: known[r.text] for i, r in enumerate(rows) if r.text in known}
            for rows, known in zip((passages, sentences), by_text)]


def _space(store, of_sentences: bool) -> tuple[Callable, int]:
    """(embed function, dimension or 0 if not known yet) of passages or of sentences."""
    emb = store.embeddings
    if of_sentences:
        return (lambda texts: sentence_vectors(emb, texts)), sentence_space(emb)[1] or 0
    return emb.passage_vectors, emb.dimension or 0


def _embedded(store, texts, kept: dict[int, np.ndarray], step: Callable[[int], None],
              of_sentences: bool = False) -> np.ndarray:
    """The vectors of `texts` (passages or sentences): those in `kept` (by position) as they
    are, the others embedded a batch at a time; `step(n)` after each batch and the kept."""
    embed, dim = _space(store, of_sentences)
    dim = dim or (len(next(iter(kept.values()))) if kept else 0)
    out = np.empty((len(texts), dim), dtype=np.float32)
    for i, v in kept.items():
        out[i] = v
    if kept:
        step(len(kept))
    todo = [i for i in range(len(texts)) if i not in kept]
    for i in range(0, len(todo), _EMBED_BATCH):
        batch = todo[i:i + _EMBED_BATCH]
        got = embed([texts[j].text for j in batch])
        if out.shape[1] != got.shape[1]:  # a remote model's size is learned here
            out = np.empty((len(texts), got.shape[1]), dtype=np.float32)
        out[batch] = got
        step(len(batch))
    return out


def _written_as_embedded(store, chunking: str, sha256: str, passages, sentences,
                         kept: list[dict], step: Callable[[int], None]) -> list[np.ndarray]:
    """A big file's vectors (`_embedded`, with its `kept` ones), written _WRITE_ROWS rows at
    a time as they are embedded, each part carrying the whole file's counts: if the run is
    cut short, the file is seen incomplete and the next run keeps the part written."""
    counts = (len(passages), len(sentences))
    out = []
    for rows, keep, of_sentences in ((passages, kept[0], False), (sentences, kept[1], True)):
        parts = []
        for a in range(0, len(rows), _WRITE_ROWS):
            part = rows[a:a + _WRITE_ROWS]
            vectors = _embedded(store, part, {i - a: v for i, v in keep.items()
                                              if a <= i < a + len(part)}, step, of_sentences)
            none = np.empty((0, vectors.shape[1]), dtype=np.float32)
            store.add_files([([], none, part, vectors, sha256, counts) if of_sentences
                             else (part, vectors, [], none, sha256, counts)], chunking)
            parts.append(vectors)
        out.append(np.concatenate(parts) if parts else
                   np.empty((0, _space(store, of_sentences)[1]), dtype=np.float32))
    return out


def index_files(settings, store, files: list[CorpusFile],
                progress: Callable[..., None] | None = None,
                warn: Callable[[str, str], None] | None = None, rebuild: bool = False,
                skipped: list[tuple[str, str]] | None = None,
                unreadable_folders: Sequence[str] = ()) -> IndexReport:
    """Bring the index in line with `files`: unchanged files (same size and modification
    time as recorded, or else the same content hash) cost a stat; files in the index but not
    in `files` are removed, except those under `unreadable_folders` (not seen, not gone)."""
    from .lexical import BM25, rebuild_lexical
    from .rowfiles import SentenceRows

    report = progress or (lambda *a, **k: None)
    skipped = list(skipped or [])
    signature = chunking_signature(settings)
    added, updated, removed, unchanged = [], [], [], []
    embedded = sentences_embedded = 0
    reused: list[str] = []
    replaced = None
    with index_lock(settings) as waited:
        if waited:  # another process indexed meanwhile: what this one loaded is stale
            store.reopen()
        if not rebuild:
            try:
                store.collection(create=True)
                store.sentence_collection(create=True)
            except EmbeddingMismatchError as exc:  # built with another model: start over
                replaced, rebuild = exc.found or "another embedding", True
        if rebuild:
            store.reset()
        store.collection(create=True)
        saved, record = _file_record(store, signature)
        new_record: dict[str, dict] = {}
        todo = []
        for source in unseen(record, unreadable_folders, {f.source for f in files}):
            unchanged.append(source)  # in a folder that could not be read: kept as it was
            new_record[source] = record[source]
        for f in files:
            known = record.get(f.source)
            if f.skipped_as(known) and not known.get("retry"):  # said again, not read again
                skipped.append((f.source, known["skipped"]))
                if warn:
                    warn(f.source, known["skipped"])
                new_record[f.source] = known
                continue
            if known and known.get("skipped"):
                known = None  # skipped before, changed since: a new file
            if known and known.get("chunking") != signature:
                known = {**known, "sha256": ""}  # chunked otherwise: indexed again
            if f.same_as(known):
                unchanged.append(f.source)  # by size and time: not even read
                new_record[f.source] = known
                continue
            try:
                doc = f.load()
            except CorpusError as exc:
                skipped.append((f.source, str(exc)))
                if warn:
                    warn(f.source, str(exc))
                unread = isinstance(exc.__cause__, OSError)  # may read next time: not its content
                if unread and known and not known.get("skipped"):
                    unchanged.append(f.source)  # its rows stay until it can be read
                    new_record[f.source] = known
                elif f.size is not None:
                    new_record[f.source] = {"skipped": str(exc), "size": f.size,
                                            "mtime_ns": f.mtime_ns, "passages": 0,
                                            **({"retry": True} if unread else {})}
                continue
            if known and known["sha256"] == doc.sha256:
                unchanged.append(f.source)
                new_record[f.source] = {**known, "size": f.size, "mtime_ns": f.mtime_ns}
            else:
                todo.append((f, doc, known))
        present = set(unchanged) | {f.source for f, _, _ in todo}  # skipped files leave
        gone = sorted(s for s in set(record) - present if not record[s].get("skipped"))
        work = []
        for f, doc, known in todo:
            passages = chunk_document(doc, settings.chunk_target, settings.chunk_overlap)
            work.append((f, doc, known, passages, file_sentences(passages)))
        total = sum(len(p) + len(s) for *_, p, s in work)
        done = 0
        report("embed", 0, total)
        if work or gone:  # until the end of this run, the record is not to be trusted
            store.set_stamp(f"indexing-{uuid.uuid4().hex}")
        lenders = _lenders(record, signature) if work else {}  # (a no-op run reads none)
        pending: list = []  # files embedded, old rows deleted, not yet written
        lent_here: set[str] = set()  # files of this run that copies after them take from
        fresh_sentences = SentenceRows(_space(store, True)[1],  # for the saved copy
                                       Path(store.lexical_path).parent)

        def step(n: int, source: str) -> None:
            nonlocal done
            done += n
            report("embed", done, total, source)

        for f, doc, known, passages, sentences in work:
            # Vectors stored already, by position: all of them from a file with the same
            # content (renamed, moved or copied: the same bytes chunk into the same spans, under
            # its name), if it has them all; else, of a changed file (or one a dead run left
            # incomplete), those of the passages and sentences whose words it still has,
            # wherever they now stand; a new file has none under its name.
            lender = lenders.get(doc.sha256)
            if lender in lent_here and any(f[0] and f[0][0].source == lender for f in pending):
                store.add_files(pending, signature)  # a copy of a file of this run whose
                pending = []  # rows are not written yet
            lent = (_stored_vectors(store, lender, passages, sentences)
                    if lender and lender != doc.source else None)
            if lent and (len(lent[0]), len(lent[1])) == (len(passages), len(sentences)):
                kept = lent
                reused.append(doc.source)
            elif known is not None:  # (a lender that changed or went meanwhile lends nothing)
                kept = _stored_vectors(store, doc.source, passages, sentences)
            else:
                kept = [{}, {}]
            if known is not None:  # the record holds every file with rows, a dead run's too
                store.delete_source(doc.source)  # (what it keeps was read first)
            advance = (lambda n, source=doc.source: step(n, source))
            big = len(passages) + len(sentences) > _WRITE_ROWS
            if not big:
                vectors = [_embedded(store, passages, kept[0], advance),
                           _embedded(store, sentences, kept[1], advance, True)]
            else:  # a big file is written as it is embedded: a run cut short keeps that part
                if pending:
                    store.add_files(pending, signature)
                    pending = []
                vectors = _written_as_embedded(store, signature, doc.sha256, passages,
                                               sentences, kept, advance)
            embedded += len(passages) - len(kept[0])
            sentences_embedded += len(sentences) - len(kept[1])
            if not big:
                pending.append((passages, vectors[0], sentences, vectors[1], doc.sha256))
            fresh_sentences.add([s.id for s in sentences], [s.source for s in sentences],
                                vectors[1])
            (updated if known is not None else added).append(doc.source)
            if lenders.setdefault(doc.sha256, doc.source) == doc.source:  # for copies of it
                lent_here.add(doc.source)  # later in this run
            new_record[doc.source] = {"sha256": doc.sha256, "size": f.size,
                                      "mtime_ns": f.mtime_ns, "passages": len(passages),
                                      "sentences": len(sentences), "chunking": signature}
            if sum(len(x[0]) + len(x[2]) for x in pending) >= _WRITE_ROWS:
                store.add_files(pending, signature)
                pending = []
        if pending:
            store.add_files(pending, signature)
        for source in gone:
            store.delete_source(source)
            removed.append(source)
        changed = {doc.source for _, doc, *_ in work} | set(removed)
        if changed or saved is None or new_record != record:
            stamp = uuid.uuid4().hex  # saved first, stamped second: see lexical.py
            new_sentences = fresh_sentences.sorted()
            new_passages = [p for *_, passages, _ in work for p in passages]
            if saved is None and not unchanged:  # a fresh build: all of it is in hand,
                # in the collection's order (as a rebuild reads it), so ties rank the same
                bm25 = BM25.of_passages(sorted(new_passages, key=lambda p: (p.source, p.ordinal)))
                bm25.sentences = new_sentences
            elif saved is None:  # no saved side to update: read it from the collection
                bm25 = rebuild_lexical(store, None)
            else:
                bm25 = saved.updated(changed, new_passages, sentences=new_sentences)
            bm25.stamp, bm25.files = stamp, new_record
            bm25.save(store.lexical_path)
            store.set_stamp(stamp)
        report("done", total, total)
        count = sum(r["passages"] for r in new_record.values())
    return IndexReport(added=added, updated=updated, removed=removed, unchanged=unchanged,
                       skipped=skipped, passages_embedded=embedded,
                       files=len(unchanged) + len(work), passages=count,
                       sentences_embedded=sentences_embedded, replaced_embedding=replaced,
                       reused=reused)
