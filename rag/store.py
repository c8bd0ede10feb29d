"""The vector store: a Chroma collection, embedded on disk or on a Chroma server.

Each passage's metadata records its file's content hash and passage count, so the index
itself says which files are complete: an interrupted run is repaired by the next one.
The collection's metadata names the embedding, so vectors of two models are never mixed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from .errors import EmbeddingMismatchError, IndexMissingError, IndexStoreError
from .types import Passage

_BATCH = 256
_PAGE = 5000  # rows per read of the whole collection


@dataclass(frozen=True)
class FileState:
    sha256: str
    expected: int  # passages the file had when it was indexed
    present: int  # passages found in the collection
    chunking: str


def index_exists(settings) -> bool:
    if settings.chroma_url:
        return True  # a server's collections are checked when opened
    return (Path(settings.index_dir) / "chroma.sqlite3").exists()


def _client(settings):
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            client = chromadb.HttpClient(host=url.hostname or "localhost",
                                         port=url.port or (443 if url.scheme == "https" else 8000),
                                         ssl=url.scheme == "https", settings=chroma_settings)
            client.heartbeat()
            return client
        Path(settings.index_dir).mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)
    except Exception as exc:
        where = settings.chroma_url or str(settings.index_dir)
        raise IndexStoreError(f"Cannot open the index at {where} ({type(exc).__name__}: "
                              f"{str(exc)[:200]}).") from None


class Store:
    """Passages and their vectors in one Chroma collection."""

    def __init__(self, settings, embeddings):
        self.settings = settings
        self.embeddings = embeddings
        self._client = _client(settings)
        self._collection = None

    @property
    def where(self) -> str:
        return self.settings.chroma_url or str(self.settings.index_dir)

    def collection(self, create: bool = False):
        if self._collection is not None:
            return self._collection
        name = self.settings.collection
        try:
            if create:
                col = self._client.get_or_create_collection(
                    name, embedding_function=None,
                    metadata={"hnsw:space": "cosine", "embedding": self.embeddings.name,
                              "dimension": self.embeddings.dimension or 0})
            else:
                col = self._client.get_collection(name, embedding_function=None)
        except Exception as exc:
            text = str(exc).lower()
            if not create and ("not exist" in text or "not found" in text):
                raise IndexMissingError(f"There is no index at {self.where} yet; "
                                        "run `sanad index` first.") from None
            raise IndexStoreError(f"Cannot open the collection {name!r} at {self.where} "
                                  f"({type(exc).__name__}: {str(exc)[:200]}).") from None
        meta = col.metadata or {}
        if meta.get("embedding") != self.embeddings.name or (
                self.embeddings.dimension and meta.get("dimension")
                and meta["dimension"] != self.embeddings.dimension):
            raise EmbeddingMismatchError(
                f"The index at {self.where} was built with the embedding "
                f"{meta.get('embedding')!r} ({meta.get('dimension')} dimensions), not "
                f"{self.embeddings.name!r}; re-index with `sanad index --rebuild`.")
        self._collection = col
        return col

    def reset(self) -> None:
        """Drop the collection (for `sanad index --rebuild`)."""
        try:
            self._client.delete_collection(self.settings.collection)
        except Exception:
            pass
        self._collection = None

    def count(self) -> int:
        return self.collection().count()

    def _get_all(self, include: list[str]):
        """(id, document or None, metadata) of every passage, a page at a time."""
        col = self.collection()
        for offset in range(0, col.count(), _PAGE):
            got = col.get(include=include, limit=_PAGE, offset=offset)
            docs = got.get("documents") or [None] * len(got["ids"])
            yield from zip(got["ids"], docs, got["metadatas"])

    def _metadatas(self) -> list[dict]:
        return [m for _, _, m in self._get_all(["metadatas"])]

    def file_states(self) -> dict[str, FileState]:
        seen: dict[str, dict] = {}
        for m in self._metadatas():
            st = seen.setdefault(m["source"], {"sha": set(), "n": set(), "present": 0,
                                               "chunking": set()})
            st["sha"].add(m.get("sha256", ""))
            st["n"].add(m.get("n", -1))
            st["chunking"].add(m.get("chunking", ""))
            st["present"] += 1
        states = {}
        for source, st in seen.items():
            consistent = len(st["sha"]) == 1 and len(st["n"]) == 1 and len(st["chunking"]) == 1
            states[source] = FileState(
                sha256=next(iter(st["sha"])) if consistent else "",
                expected=next(iter(st["n"])) if consistent else -1,
                present=st["present"], chunking=next(iter(st["chunking"])) if consistent else "")
        return states

    def sources(self) -> list[str]:
        return sorted({m["source"] for m in self._metadatas()})

    def delete_source(self, source: str) -> None:
        self.collection().delete(where={"source": source})

    def add_files(self, files: list[tuple[list[Passage], list[list[float]], str]],
                  chunking: str) -> None:
        """Several files' (passages, vectors, sha256), written _BATCH rows at a time across
        file boundaries: a Chroma write costs ~50 ms on disk whatever its size. Each row
        carries its file's passage count, so a file cut off by a crash is seen incomplete."""
        col = self.collection(create=True)
        rows = [(p, v, sha, len(ps)) for ps, vs, sha in files for p, v in zip(ps, vs)]
        for i in range(0, len(rows), _BATCH):
            batch = rows[i:i + _BATCH]
            col.upsert(
                ids=[p.id for p, _, _, _ in batch],
                embeddings=[v for _, v, _, _ in batch],
                documents=[p.text for p, _, _, _ in batch],
                metadatas=[_meta(p, sha, n, chunking) for p, _, sha, n in batch],
            )

    def passages(self) -> list[Passage]:
        out = [Passage(id=pid, source=m["source"], start=m["start"], end=m["end"], text=text,
                       ordinal=m["ordinal"], title=m.get("title") or None,
                       date=m.get("date") or None, outlet=m.get("outlet") or None)
               for pid, text, m in self._get_all(["documents", "metadatas"])]
        out.sort(key=lambda p: (p.source, p.ordinal))
        return out

    def query(self, vector: list[float], k: int) -> list[tuple[str, float]]:
        """Nearest passages: (passage id, cosine distance), best first."""
        col = self.collection()
        k = min(k, col.count())
        if k <= 0:
            return []
        got = col.query(query_embeddings=[vector], n_results=k, include=["distances"])
        return list(zip(got["ids"][0], got["distances"][0]))


def _meta(p: Passage, sha256: str, n: int, chunking: str) -> dict:
    meta = {"source": p.source, "start": p.start, "end": p.end, "ordinal": p.ordinal,
            "sha256": sha256, "n": n, "chunking": chunking}
    for key in ("title", "date", "outlet"):
        value = getattr(p, key)
        if value:
            meta[key] = value
    return meta


def open_store(settings) -> Store:
    from .embeddings import make_embeddings

    return Store(settings, make_embeddings(settings, langchain=False))
