"""The vector store: two Chroma collections, embedded on disk or on a Chroma server.

`NAME` holds the passages and their vectors (searched by the retriever); `NAME-sentences`
holds the vector of every answer-sized sentence, with its file, span and passage, read by id
for the candidates of one question only. Each row's metadata records its file's content hash
and row count, so the index itself says which files are complete: an interrupted run is
repaired by the next one. Both collections' metadata name the embedding, so vectors of two
models are never mixed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from .chroma_import import unchecked
from .chunking import Sentence
from .embeddings import sentence_space
from .errors import (EmbeddingMismatchError, IndexDamagedError, IndexMissingError,
                     IndexStoreError, SanadError, redact)
from .settings import SENTENCES_SUFFIX
from .types import Passage

_BATCH = 256
_PAGE = 5000  # rows per read of the whole collection
_READ_ROWS = 1000  # rows per read of one file's vectors
# Chroma builds an HNSW graph for every collection. The sentences' is never searched (their
# vectors are read by id), so its graph is sparse and cheaply built: writing a sentence then
# costs about a quarter of what the default graph (M 16, ef 100) costs.
_UNSEARCHED = {"hnsw:M": 4, "hnsw:construction_ef": 8}


@dataclass(frozen=True)
class FileState:
    sha256: str
    expected: int  # passages the file had when it was indexed
    present: int  # passages found in the collection
    chunking: str
    sentences_expected: int = 0  # answer-sized sentences the file had when it was indexed
    sentences_present: int = 0

    @property
    def complete(self) -> bool:
        return (self.present == self.expected
                and self.sentences_present == self.sentences_expected)


def index_exists(settings) -> bool:
    if settings.chroma_url:
        return True  # a server's collections are checked when opened
    return (Path(settings.index_dir) / "chroma.sqlite3").exists()


def _client(settings):
    with unchecked():
        return _started_client(settings)


def _started_client(settings):
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        _answers(settings)  # before chromadb's client, whose requests never time out
    try:
        if settings.chroma_url:  # `_answers` has heard its heartbeat
            host, port = chroma_address(settings.chroma_url)
            client = chromadb.HttpClient(host=host, port=port,
                                         ssl=settings.chroma_url.lower().startswith("https"),
                                         settings=chroma_settings)
            _time_out(client, settings.timeout_s)
            return client
        Path(settings.index_dir).mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)
    except Exception as exc:
        where = settings.chroma_url or str(settings.index_dir)
        if not settings.chroma_url:
            _forget_failed_system(str(settings.index_dir))
        db = Path(settings.index_dir) / "chroma.sqlite3"
        why = None if settings.chroma_url or not db.exists() else damaged(db)
        if why:
            raise IndexDamagedError(
                f"The index's database {db} is damaged ({why}); `sanad index --rebuild` sets "
                "it aside and builds the index afresh.") from None
        raise IndexStoreError(f"Cannot open the index at {where} ({type(exc).__name__}: "
                              f"{str(exc)[:200]}).") from None


def chroma_address(url: str) -> tuple[str, int]:
    """(host, port) of a Chroma server's URL, Chroma's default ports filled in."""
    parts = urlparse(url)
    return parts.hostname or "localhost", parts.port or (443 if parts.scheme == "https" else 8000)


HEARTBEAT_TIMEOUT_S = 10.0  # a Chroma server that does not say it is alive by then is not


def _answers(settings) -> None:
    """IndexStoreError in one sentence unless the Chroma server answers its heartbeat within
    HEARTBEAT_TIMEOUT_S: a server that accepts connections but never replies (stopped,
    overloaded) made every command hang."""
    import httpx

    base = settings.chroma_url.rstrip("/")
    timeout = min(HEARTBEAT_TIMEOUT_S, settings.timeout_s or HEARTBEAT_TIMEOUT_S)
    try:
        httpx.get(f"{base}/api/v2/heartbeat", timeout=timeout).raise_for_status()
    except httpx.TimeoutException:
        raise IndexStoreError(f"The Chroma server at {base} did not answer within "
                              f"{timeout:g} s; check that it is running and not stuck.") from None
    except httpx.HTTPStatusError as exc:
        raise IndexStoreError(f"{base} answered with HTTP {exc.response.status_code}, not as a "
                              "Chroma server (version 0.6 or later); check the URL.") from None
    except httpx.HTTPError as exc:
        hint = ("it may not speak https: try http://" if base.startswith("https://")
                and "SSL" in str(exc).upper() else "check that the Chroma server is running")
        raise IndexStoreError(f"Cannot reach the Chroma server at {base} "
                              f"({redact(str(exc))[:120]}); {hint}.") from None


def _time_out(client, seconds: float) -> None:
    """Give chromadb's HTTP session a timeout (it sets none), so a server that stops
    answering mid-question fails it instead of hanging it. Private state, hence the guard."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client) and seconds > 0:
        session.timeout = httpx.Timeout(seconds)


def _forget_failed_system(path: str) -> None:
    """Chroma caches one system per path even when starting it failed, and every later client
    on that path gets the broken one; drop it when no client holds it (private state, hence
    the guard)."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient as shared
    except ImportError:
        return
    systems = getattr(shared, "_identifier_to_system", None)
    counts = getattr(shared, "_identifier_to_refcount", {})
    if isinstance(systems, dict) and not counts.get(path):
        systems.pop(path, None)


def damaged(db: Path) -> str | None:
    """Why SQLite cannot read `db`, in its words; None when it can (the fault is elsewhere)."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            row = con.execute("PRAGMA quick_check").fetchone()
    except sqlite3.Error as exc:
        return str(exc)
    return None if row and row[0] == "ok" else f"integrity check: {row[0] if row else 'no answer'}"


def set_aside_damaged(index_dir: Path) -> Path:
    """Move a damaged database to chroma.sqlite3.damaged (its bytes kept, one such copy) and
    remove what only it could read: the vector folders and the lexical index. Returns the
    copy's path."""
    index_dir = Path(index_dir)
    db = index_dir / "chroma.sqlite3"
    kept = db.with_name(db.name + ".damaged")
    for suffix in ("", "-wal", "-shm"):
        part = db.with_name(db.name + suffix)
        if part.exists():
            os.replace(part, kept.with_name(kept.name + suffix))
    for child in index_dir.iterdir():
        if child.is_dir() and (_UUID.match(child.name) or child.name == "lexical"):
            shutil.rmtree(child, ignore_errors=True)
    return kept


def _gone(exc: Exception) -> bool:
    text = str(exc).lower()
    return "does not exist" in text or "not found" in text


def _guarded(method):
    """Chroma and HTTP failures become one IndexStoreError sentence; a collection replaced
    under an open store (another process ran `sanad index --rebuild`) is reopened once."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        for attempt in (0, 1):
            try:
                return method(self, *args, **kwargs)
            except SanadError:
                raise
            except Exception as exc:
                if attempt == 0 and _gone(exc):
                    self._collection = self._sentences = None
                    continue
                raise self.failure(exc) from None
    return wrapper


class Store:
    """Passages and their vectors in one Chroma collection."""

    def __init__(self, settings, embeddings):
        self.settings = settings
        self.embeddings = embeddings
        self._client = _client(settings)
        self._collection = None
        self._sentences = None

    def reopen(self) -> None:
        """Open the index afresh after another process changed it (a `sanad index` this one
        waited for): an embedded client keeps the state it loaded, and reading rows deleted
        since fails ("Error finding id"). A Chroma server's clients share its state."""
        if not self.settings.chroma_url:
            close = getattr(self._client, "close", None)
            if close is not None:
                close()
            self._client = _client(self.settings)
        self._collection = self._sentences = None

    @property
    def where(self) -> str:
        return self.settings.chroma_url or str(self.settings.index_dir)

    def failure(self, exc: Exception) -> IndexStoreError:
        hint = ("check that the Chroma server is running" if self.settings.chroma_url
                else "run `sanad index` to repair it")
        return IndexStoreError(f"The index at {self.where} could not be used "
                               f"({type(exc).__name__}: {redact(str(exc))[:160]}); {hint}.")

    @property
    def sentences_name(self) -> str:
        return self.settings.collection + SENTENCES_SUFFIX

    def collection(self, create: bool = False):
        """The passages' collection (IndexMissingError when there is none and not `create`)."""
        if self._collection is None:
            self._collection = self._open(self.settings.collection, create)
        return self._collection

    def sentence_collection(self, create: bool = False):
        """The sentences' collection, beside the passages'."""
        if self._sentences is None:
            self._sentences = self._open(self.sentences_name, create)
        return self._sentences

    def _open(self, name: str, create: bool):
        embedding, dimension = (sentence_space(self.embeddings) if name == self.sentences_name
                                else (self.embeddings.name, self.embeddings.dimension))
        try:
            if create:
                meta = {"hnsw:space": "cosine", "embedding": embedding,
                        "dimension": dimension or 0}
                if name == self.sentences_name:  # read by id, never searched: a sparse graph
                    meta.update(_UNSEARCHED)
                col = self._client.get_or_create_collection(
                    name, embedding_function=None, metadata=meta)
            else:
                col = self._client.get_collection(name, embedding_function=None)
        except Exception as exc:
            text = str(exc).lower()
            if not create and ("not exist" in text or "not found" in text):
                raise IndexMissingError(f"There is no index at {self.where} yet (or it is being "
                                        "rebuilt); run `sanad index` first.") from None
            raise self.failure(exc) from None
        meta = col.metadata or {}
        if meta.get("embedding") != embedding or (
                dimension and meta.get("dimension") and meta["dimension"] != dimension):
            raise EmbeddingMismatchError(
                f"The index at {self.where} was built with the embedding "
                f"{meta.get('embedding')!r}, not {embedding!r}; run `sanad index` "
                "to rebuild it.", meta.get("embedding"))
        return col

    def reset(self) -> None:
        """Drop both collections (for `sanad index --rebuild`), and on disk what Chroma leaves
        of them: it deletes a collection's rows but not its vector folder."""
        for name in (self.settings.collection, self.sentences_name):
            try:
                self._client.delete_collection(name)
            except Exception:
                pass
        self._collection = self._sentences = None
        if not self.settings.chroma_url:
            remove_orphan_segments(Path(self.settings.index_dir))

    @_guarded
    def count(self) -> int:
        return self.collection().count()

    @staticmethod
    def _pages(col, include: list[str], where: dict | None = None, size: int = _PAGE):
        """Chroma's answers to `get` (of the rows `where` picks, or all), `size` rows each."""
        offset = 0
        while True:
            got = col.get(where=where, include=include, limit=size, offset=offset)
            yield got
            if len(got["ids"]) < size:
                return
            offset += size

    def _get_all(self, include: list[str], col=None):
        """(id, document or None, metadata) of every row, a page at a time."""
        for got in self._pages(self.collection() if col is None else col, include):
            docs = got.get("documents") or [None] * len(got["ids"])
            yield from zip(got["ids"], docs, got["metadatas"])

    def _metadatas(self, col=None) -> list[dict]:
        return [m for _, _, m in self._get_all(["metadatas"], col)]

    @_guarded
    def file_states(self) -> dict[str, FileState]:
        seen: dict[str, dict] = {}

        def tally(metas: list[dict], kind: str) -> None:
            for m in metas:
                st = seen.setdefault(m["source"], {"sha": set(), "n": set(), "present": 0,
                                                   "chunking": set(), "sn": set(), "spresent": 0})
                st["sha"].add(m.get("sha256", ""))
                st["chunking"].add(m.get("chunking", ""))
                if kind == "p":
                    st["n"].add(m.get("n", -1))
                    st["sn"].add(m.get("ns", -1))
                else:
                    st["sn"].add(m.get("n", -1))
                st["present" if kind == "p" else "spresent"] += 1

        tally(self._metadatas(), "p")
        tally(self._metadatas(self.sentence_collection(create=True)), "s")
        states = {}
        for source, st in seen.items():
            consistent = (len(st["sha"]) == 1 and len(st["n"]) == 1 and len(st["chunking"]) == 1
                          and len(st["sn"]) == 1)
            states[source] = FileState(
                sha256=next(iter(st["sha"])) if consistent else "",
                expected=next(iter(st["n"])) if consistent else -1,
                present=st["present"], chunking=next(iter(st["chunking"])) if consistent else "",
                sentences_expected=next(iter(st["sn"])) if consistent else -1,
                sentences_present=st["spresent"])
        return states

    @_guarded
    def sources(self) -> list[str]:
        return sorted({m["source"] for m in self._metadatas()})

    @_guarded
    def delete_source(self, source: str) -> None:
        self.collection().delete(where={"source": source})
        self.sentence_collection(create=True).delete(where={"source": source})

    @_guarded
    def add_files(self, files: list[tuple], chunking: str) -> None:
        """Several files' (passages, passage vectors, sentences, sentence vectors, sha256),
        written _BATCH rows at a time across file boundaries: a Chroma write costs ~50 ms on
        disk whatever its size. Each row carries its file's row count, so a file cut off by a
        crash is seen incomplete; passages are written before sentences. A part of a file
        (a big one is written as it is embedded) adds its whole file's (passage, sentence)
        counts as a sixth item."""
        def counts(f: tuple) -> tuple[int, int]:
            return f[5] if len(f) > 5 else (len(f[0]), len(f[2]))

        rows = [(p, v, f[4], counts(f)) for f in files for p, v in zip(f[0], f[1])]
        self._upsert(self.collection(create=True), rows, _meta, chunking)
        rows = [(s, v, f[4], counts(f)[1]) for f in files for s, v in zip(f[2], f[3])]
        # A sentence's text is its passage's, by span: not stored twice (writing it as the
        # row's document cost Chroma as much as the rest of the row).
        self._upsert(self.sentence_collection(create=True), rows, _sentence_meta, chunking,
                     documents=False)

    @staticmethod
    def _upsert(col, rows: list, meta, chunking: str, documents: bool = True) -> None:
        for i in range(0, len(rows), _BATCH):
            batch = rows[i:i + _BATCH]
            col.upsert(ids=[r.id for r, _, _, _ in batch],
                       embeddings=[v for _, v, _, _ in batch],
                       documents=[r.text for r, _, _, _ in batch] if documents else None,
                       metadatas=[meta(r, sha, n, chunking) for r, _, sha, n in batch])

    @_guarded
    def sentence_rows(self) -> list[tuple[str, str, np.ndarray]]:
        """Every sentence's (id, source, vector), read a page at a time."""
        rows = []
        for got in self._pages(self.sentence_collection(create=True),
                               ["embeddings", "metadatas"]):
            rows.extend((i, m["source"], np.asarray(v, dtype=np.float32))
                        for i, m, v in zip(got["ids"], got["metadatas"], got["embeddings"]))
        return rows

    @_guarded
    def file_vectors(self, source: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The vectors stored for one file, by text: ({passage text: vector}, {sentence text:
        vector}), read _READ_ROWS rows at a time. A vector is of its text alone, wherever the
        text stands; a sentence's text is cut from its passage's by span (not stored twice)."""
        where = {"source": source}
        passages: dict[str, tuple[int, str]] = {}
        by_text: dict[str, np.ndarray] = {}
        for got in self._pages(self.collection(), ["documents", "metadatas", "embeddings"],
                               where, _READ_ROWS):
            for pid, text, meta, vec in zip(got["ids"], got["documents"], got["metadatas"],
                                            got["embeddings"]):
                passages[pid] = (meta["start"], text)
                by_text[text] = np.asarray(vec, dtype=np.float32)
        sentences: dict[str, np.ndarray] = {}
        for got in self._pages(self.sentence_collection(create=True), ["metadatas", "embeddings"],
                               where, _READ_ROWS):
            for meta, vec in zip(got["metadatas"], got["embeddings"]):
                if meta.get("passage") in passages:  # (written after their passages)
                    start, text = passages[meta["passage"]]
                    sentences[text[meta["start"] - start:meta["end"] - start]] = np.asarray(
                        vec, dtype=np.float32)
        return by_text, sentences

    @_guarded
    def vectors(self, ids: list[str], sentences: bool = False) -> dict[str, np.ndarray]:
        """Stored vectors of the given passage (or sentence) ids; ids not stored are absent."""
        if not ids:
            return {}
        col = self.sentence_collection() if sentences else self.collection()
        got = col.get(ids=list(dict.fromkeys(ids)), include=["embeddings"])
        embeddings = got.get("embeddings")
        if embeddings is None:
            return {}
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], embeddings)}

    @_guarded
    def passages(self) -> list[Passage]:
        out = [_passage(pid, text, m) for pid, text, m in self._get_all(["documents", "metadatas"])]
        out.sort(key=lambda p: (p.source, p.ordinal))
        return out

    @_guarded
    def query(self, vector, k: int) -> list[tuple[str, float, str]]:
        """Nearest passages: (passage id, cosine distance, source file), best first."""
        if k <= 0:
            return []
        got = self.collection().query(query_embeddings=[list(map(float, vector))], n_results=k,
                                      include=["distances", "metadatas"])
        # a row without metadata was deleted by another process (a `sanad index` running)
        # after this one loaded the vector index: it is gone, not an answer
        return [(pid, d, m["source"]) for pid, d, m in
                zip(got["ids"][0], got["distances"][0], got["metadatas"][0]) if m is not None]

    @_guarded
    def passages_by_id(self, ids: list[str]) -> dict[str, Passage]:
        """The stored passages of the given ids (those of one question's hits)."""
        if not ids:
            return {}
        got = self.collection().get(ids=list(dict.fromkeys(ids)),
                                    include=["documents", "metadatas"])
        return {pid: _passage(pid, text, m)
                for pid, text, m in zip(got["ids"], got["documents"], got["metadatas"])}

    # -- the lexical side, saved beside the vectors ------------------------------------------
    @property
    def lexical_path(self) -> Path:
        """Always on this machine, also with a Chroma server: `sanad index` (or the first
        question) writes it from the collection when it is missing or stale."""
        return Path(self.settings.index_dir) / "lexical" / self.settings.collection

    @_guarded
    def stamp(self, fresh: bool = False) -> str | None:
        """The stamp of the last `sanad index` run that changed the collection ("indexing-..."
        while one runs, or after one died). `fresh` reads it again from the store (an open
        handle keeps the metadata it was opened with)."""
        if fresh:
            self._collection = None
        return (self.collection().metadata or {}).get("lexical")

    @_guarded
    def set_stamp(self, stamp: str) -> None:
        col = self.collection()
        meta = {k: v for k, v in (col.metadata or {}).items() if not k.startswith("hnsw:")}
        col.modify(metadata={**meta, "lexical": stamp})
        self._collection = None  # reopen: the handle keeps the old metadata

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def remove_orphan_segments(index_dir: Path) -> list[str]:
    """Remove the vector folders of an embedded Chroma that no segment names any more (each
    `--rebuild` would otherwise leave the old one: ~4 KB per passage). Returns their names."""
    import sqlite3

    db = index_dir / "chroma.sqlite3"
    if not db.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            live = {row[0] for row in con.execute("SELECT id FROM segments")}
    except sqlite3.Error:
        return []  # not a schema we know: touch nothing
    removed = []
    for child in index_dir.iterdir():
        if child.is_dir() and _UUID.match(child.name) and child.name not in live:
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
    return removed


def _passage(pid: str, text: str, m: dict) -> Passage:
    return Passage(id=pid, source=m["source"], start=m["start"], end=m["end"], text=text,
                   ordinal=m["ordinal"], title=m.get("title") or None,
                   date=m.get("date") or None, outlet=m.get("outlet") or None)


def _meta(p: Passage, sha256: str, counts: tuple[int, int], chunking: str) -> dict:
    """`n` and `ns`: the file's passage and sentence counts, so that a file whose sentences
    were cut off by a crash is seen incomplete from its passages alone."""
    meta = {"source": p.source, "start": p.start, "end": p.end, "ordinal": p.ordinal,
            "sha256": sha256, "n": counts[0], "ns": counts[1], "chunking": chunking}
    for key in ("title", "date", "outlet"):
        value = getattr(p, key)
        if value:
            meta[key] = value
    return meta


def _sentence_meta(s: Sentence, sha256: str, n: int, chunking: str) -> dict:
    return {"source": s.source, "start": s.start, "end": s.end, "passage": s.passage_id,
            "sha256": sha256, "n": n, "chunking": chunking}


def open_store(settings) -> Store:
    from .embeddings import make_embeddings

    return Store(settings, make_embeddings(settings, langchain=False))
