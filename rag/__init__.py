"""sanad: grounded Arabic question answering with checked citations.

This module is the only public surface. Importing it is cheap: Chroma, LangChain's retrievers
and the OpenAI client are imported only when an index is opened or a model is called.
"""

from .analysis import find_normalized, normalize, sentence_spans, split_sentences, tokenize
from .assistant import Assistant
from .chunking import chunk_document
from .errors import (ConfigError, CorpusError, EmbeddingMismatchError, EvalError,
                     IndexDamagedError, IndexLockedError, IndexMissingError, IndexStoreError,
                     LLMAuthError, LLMConnectionError, LLMError, LLMModelNotFoundError,
                     LLMRateLimitError, LLMResponseError, LLMTimeoutError, QuestionError,
                     SanadError)
from .loading import load_corpus, load_document
from .settings import Settings
from .types import (Answer, Citation, CitationsReady, Document, Done, Event, Hit, IndexReport,
                    Notice, Passage, Progress, QueryRewritten, TextDelta, Turn)

_LAZY = {
    "HashingEmbeddings": ("rag.embeddings", "HashingEmbeddings"),
    "HybridRetriever": ("rag.retrieval", "HybridRetriever"),
    "make_embeddings": ("rag.embeddings", "make_embeddings"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")


__all__ = [
    "Answer",
    "Assistant",
    "Citation",
    "CitationsReady",
    "ConfigError",
    "CorpusError",
    "Document",
    "Done",
    "EmbeddingMismatchError",
    "EvalError",
    "Event",
    "HashingEmbeddings",
    "Hit",
    "HybridRetriever",
    "IndexDamagedError",
    "IndexLockedError",
    "IndexMissingError",
    "IndexReport",
    "IndexStoreError",
    "LLMAuthError",
    "LLMConnectionError",
    "LLMError",
    "LLMModelNotFoundError",
    "LLMRateLimitError",
    "LLMResponseError",
    "LLMTimeoutError",
    "Notice",
    "Passage",
    "Progress",
    "QueryRewritten",
    "QuestionError",
    "SanadError",
    "Settings",
    "TextDelta",
    "Turn",
    "chunk_document",
    "find_normalized",
    "load_corpus",
    "load_document",
    "make_embeddings",
    "normalize",
    "sentence_spans",
    "split_sentences",
    "tokenize",
]
