"""Embeddings. The offline default hashes Arabic character n-grams and stems into a fixed space.

It needs no download and no fitting, so adding a file never re-embeds the others, and the
n-grams bridge spelling variants (كازاخستان/قازاخستان, توكايف/توكاييف) and morphology
(الاتفاقات/اتفاقيات) that whole-word matching misses. `OpenAIEmbeddings` can replace it.
"""

from __future__ import annotations

import math
import zlib
from functools import lru_cache

import numpy as np

from .analysis import STOPWORDS, normalize, stem
from .errors import ConfigError, IndexStoreError

HASHING_NAME = "hashing-ngram-v1"
HASHING_DIM = 1024
_PROCLITICS = ("وال", "بال", "فال", "كال", "لل", "ال")
_NGRAM_SIZES = (3, 4, 5)
_STEM_WEIGHT = 1.0
_NGRAM_WEIGHT = 0.35


def _core(word: str) -> str:
    """The word without a leading article/conjunction, if enough of it remains."""
    for p in _PROCLITICS:
        if word.startswith(p) and len(word) - len(p) >= 3:
            return word[len(p):]
    return word


@lru_cache(maxsize=200_000)
def _word_features(word: str) -> tuple[tuple[int, float], ...]:
    """(signed bucket, weight) pairs for one normalised word."""
    feats: dict[int, float] = {}

    def add(key: str, weight: float) -> None:
        h = zlib.crc32(key.encode("utf-8"))
        bucket = h % HASHING_DIM
        sign = 1.0 if (h >> 31) & 1 else -1.0
        feats[bucket] = feats.get(bucket, 0.0) + sign * weight

    add("w:" + stem(word), _STEM_WEIGHT)
    core = f"<{_core(word)}>"
    grams = [core[i:i + n] for n in _NGRAM_SIZES for i in range(len(core) - n + 1)]
    if grams:
        w = _NGRAM_WEIGHT * 3.0 / math.sqrt(len(grams))
        for g in grams:
            add("g:" + g, w)
    return tuple(feats.items())


def hashing_vector(text: str) -> list[float]:
    counts: dict[str, int] = {}
    for w in normalize(text).split():
        if w not in STOPWORDS:
            counts[w] = counts.get(w, 0) + 1
    vec = np.zeros(HASHING_DIM, dtype=np.float64)
    for w, c in counts.items():
        tf = 1.0 + math.log(c)
        for bucket, weight in _word_features(w):
            vec[bucket] += tf * weight
    norm = np.linalg.norm(vec)
    if norm > 0:
        vec /= norm
    return vec.tolist()


class _HashingMixin:
    name = HASHING_NAME
    dimension = HASHING_DIM

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [hashing_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return hashing_vector(text)


class HashingEmbedder(_HashingMixin):
    """The offline default without LangChain: what the store uses, so that a cold
    `sanad ask` does not pay for importing langchain_core."""


def __getattr__(name: str):
    """`HashingEmbeddings` and `RemoteEmbeddings` subclass LangChain's `Embeddings`; they
    are built on first use so that importing this module stays cheap."""
    if name in ("HashingEmbeddings", "RemoteEmbeddings"):
        return _langchain_classes()[name]
    raise AttributeError(name)


@lru_cache(maxsize=1)
def _langchain_classes() -> dict:
    from langchain_core.embeddings import Embeddings

    class HashingEmbeddings(_HashingMixin, Embeddings):
        """The offline default, as a LangChain `Embeddings`."""

    class RemoteEmbeddings(_RemoteMixin, Embeddings):
        """An OpenAI-compatible `/embeddings` model, as a LangChain `Embeddings`."""

    return {"HashingEmbeddings": HashingEmbeddings, "RemoteEmbeddings": RemoteEmbeddings}


class _RemoteMixin:
    """An OpenAI-compatible `/embeddings` model; the dimension is learned from its vectors."""

    def __init__(self, inner, name: str):
        self.inner = inner
        self.name = name
        self.dimension: int | None = None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = _remote_call(self.inner.embed_documents, texts)
        if vectors:
            self.dimension = len(vectors[0])
        return vectors

    def embed_query(self, text: str) -> list[float]:
        vector = _remote_call(self.inner.embed_query, text)
        self.dimension = len(vector)
        return vector


def _remote_call(fn, arg):
    try:
        return fn(arg)
    except Exception as exc:  # openai's errors: say what failed in one sentence
        raise IndexStoreError(f"The embeddings server could not embed the text "
                              f"({type(exc).__name__}: {str(exc)[:200]}).") from None


def make_embeddings(settings, langchain: bool = True):
    """The embeddings the settings name: the offline hashing default, or a model served at
    an OpenAI-compatible `/embeddings` endpoint (SANAD_EMBEDDINGS=model-name). With
    `langchain=False` the offline one comes without LangChain (same vectors)."""
    if settings.embedding == HASHING_NAME:
        return _langchain_classes()["HashingEmbeddings"]() if langchain else HashingEmbedder()
    if settings.offline:
        raise ConfigError(f"sanad is offline, but the embedding model {settings.embedding!r} "
                          "needs a server; unset SANAD_EMBEDDINGS to use the offline embeddings.")
    if not (settings.base_url or settings.api_key):
        raise ConfigError(f"The embedding model {settings.embedding!r} needs a server: set "
                          "OPENAI_BASE_URL or OPENAI_API_KEY, or unset SANAD_EMBEDDINGS.")
    from langchain_openai import OpenAIEmbeddings

    inner = OpenAIEmbeddings(model=settings.embedding, base_url=settings.base_url,
                             api_key=settings.api_key or "not-needed",
                             check_embedding_ctx_length=False, timeout=settings.timeout_s,
                             max_retries=settings.max_retries)
    return _langchain_classes()["RemoteEmbeddings"](inner, f"openai:{settings.embedding}")
