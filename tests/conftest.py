"""Shared fixtures. The network is blocked: only loopback addresses may be reached."""

from __future__ import annotations

import functools
import ipaddress
import shutil
import socket
from pathlib import Path

import pytest
from citation_checks import check_answer_citations

from rag.use import model as REAL_USE_MODEL  # before `_cached_use` replaces it in each test

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded(real):
    def connect(self, address):
        if not _is_loopback(address):
            raise ConnectionRefusedError(f"tests may not reach the network: {address!r}")
        return real(self, address)
    return connect


class CachedE5:
    """The real e5 engine, remembering each text's vector: the suite builds many indexes of
    the same few articles, and each text is embedded once per test session (same vectors)."""

    def __init__(self, inner):
        self.inner = inner
        self.cache: dict[tuple[bool, str], object] = {}
        self.calls = 0  # texts sent to the engine

    def _embed(self, texts, is_query: bool):
        import numpy as np

        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        todo = [t for t in dict.fromkeys(items) if (is_query, t) not in self.cache]
        if todo:
            self.calls += len(todo)
            vectors = self.inner.query(todo) if is_query else self.inner.passage(todo)
            for t, v in zip(todo, np.atleast_2d(vectors)):
                self.cache[(is_query, t)] = v
        out = np.array([self.cache[(is_query, t)] for t in items], dtype=np.float32)
        return out[0] if single else out

    def query(self, texts):
        return self._embed(texts, True)

    def passage(self, texts):
        return self._embed(texts, False)


class CachedUSE:
    """The answerer's second model (rag/use.py), remembering each text's vector likewise."""

    def __init__(self, inner):
        self.inner = inner
        self.cache: dict[str, object] = {}

    def encode(self, texts):
        import numpy as np

        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            self.cache.update(zip(todo, self.inner.encode(todo)))
        return np.array([self.cache[t] for t in texts], dtype=np.float32).reshape(len(texts), -1)


@functools.cache
def _shared_use():
    return CachedUSE(REAL_USE_MODEL())


def shared_use(cache=None):
    """The session's one CachedUSE, made (~1 s) when a test first needs it."""
    return _shared_use()


@pytest.fixture(autouse=True)
def _cached_use(monkeypatch):
    import rag.use

    monkeypatch.setattr(rag.use, "model", shared_use)


@pytest.fixture(scope="session")
def e5_engine():
    import rag.embeddings

    return CachedE5(rag.embeddings.e5_model())


@pytest.fixture(autouse=True)
def _cached_e5(monkeypatch, e5_engine):
    import rag.embeddings

    monkeypatch.setattr(rag.embeddings, "e5_model", lambda: e5_engine)


@pytest.fixture(autouse=True)
def _no_network_and_clean_env(monkeypatch, tmp_path):
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SANAD_MODEL", "SANAD_EMBEDDINGS",
                 "SANAD_CHROMA_URL", "SANAD_INDEX_DIR", "SANAD_CORPUS_DIR", "SANAD_OFFLINE",
                 "SANAD_RTL", "SANAD_TOP_K", "SANAD_DICTIONARY", "SANAD_CACHE_DIR",
                 "LANGCHAIN_TRACING_V2", "LANGSMITH_TRACING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SANAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # never the home's
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture(autouse=True)
def _every_answer_maps_its_citations(monkeypatch):
    """Wrap Assistant.stream (which ask() uses too) so no unmapped marker goes unnoticed."""
    from rag.assistant import Assistant
    from rag.types import Done

    real = Assistant.stream
    checked: list[int] = []

    def stream(self, *args, **kwargs):
        for event in real(self, *args, **kwargs):
            if isinstance(event, Done):
                check_answer_citations(event.answer)
                checked.append(1)
            yield event

    monkeypatch.setattr(Assistant, "stream", stream)
    yield checked


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def indexed(tmp_path_factory):
    """The real corpus, copied and indexed once per session: (corpus_dir, index_dir)."""
    from rag import Assistant, Settings

    base = tmp_path_factory.mktemp("indexed")
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = base / "index"
    settings = Settings.from_env(env={}, corpus_dir=corpus, index_dir=index)
    Assistant(settings).index()
    return corpus, index


@pytest.fixture
def assistant(indexed):
    """An offline Assistant over the indexed real corpus."""
    from rag import Assistant, Settings

    corpus, index = indexed
    return Assistant(Settings.from_env(env={}, corpus_dir=corpus, index_dir=index))
