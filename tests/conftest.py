"""Shared fixtures. The network is blocked: only loopback addresses may be reached."""

from __future__ import annotations

import ipaddress
import shutil
import socket
from pathlib import Path

import pytest

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


@pytest.fixture(autouse=True)
def _no_network_and_clean_env(monkeypatch, tmp_path):
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SANAD_MODEL", "SANAD_EMBEDDINGS",
                 "SANAD_CHROMA_URL", "SANAD_INDEX_DIR", "SANAD_CORPUS_DIR", "SANAD_OFFLINE",
                 "SANAD_RTL", "SANAD_TOP_K", "LANGCHAIN_TRACING_V2", "LANGSMITH_TRACING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SANAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")


def check_answer_citations(answer) -> None:
    """Issue 3's target, for every Answer any test produces: each citation maps to a
    retrieved passage, and each marker left in the text names one; others were dropped."""
    from rag.citations import marker_numbers

    n = len(answer.passages)
    for c in answer.citations:
        assert 1 <= c.marker <= n, f"citation [{c.marker}] names no passage (have {n})"
        hit = answer.passages[c.marker - 1].passage
        assert (c.source, c.passage_id) == (hit.source, hit.id), c
    for m in marker_numbers(answer.text):
        assert 1 <= m <= n, f"marker [{m}] in the answer names no passage (have {n})"
    assert not any(1 <= m <= n for m in answer.dropped_markers), answer.dropped_markers


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
