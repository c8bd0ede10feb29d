"""The errors sanad raises. The library raises; the CLI and the TUI turn each into one sentence.

    SanadError
    ├── ConfigError              bad settings or flags
    ├── QuestionError            empty or unusable question
    ├── CorpusError              missing or unreadable corpus directory
    ├── IndexStoreError          the index cannot be opened, read or written
    │   ├── EmbeddingMismatchError   index built with another embedding: `sanad index`
    │   ├── IndexLockedError         another `sanad index` holds the lock
    │   └── IndexMissingError        no index yet: run `sanad index`
    ├── EvalError                malformed scripted Q&A or SQuAD file
    └── LLMError                 the chat model could not answer
        ├── LLMAuthError             missing or rejected API key
        ├── LLMModelNotFoundError    the server does not know the model
        ├── LLMRateLimitError        429 after the allowed retries
        ├── LLMTimeoutError          no reply in time
        ├── LLMConnectionError       server unreachable
        └── LLMResponseError         5xx, malformed reply or a stream cut mid-answer

Every message is a complete sentence meant for a person, without a traceback.
"""

from __future__ import annotations


class SanadError(Exception):
    """Base of every error sanad raises on purpose."""


class ConfigError(SanadError):
    pass


class QuestionError(SanadError):
    pass


class CorpusError(SanadError):
    pass


class IndexStoreError(SanadError):
    pass


class EmbeddingMismatchError(IndexStoreError):
    """`found` names the embedding the index was built with."""

    def __init__(self, message: str, found: str | None = None):
        super().__init__(message)
        self.found = found


class IndexLockedError(IndexStoreError):
    pass


class IndexMissingError(IndexStoreError):
    pass


class EvalError(SanadError):
    pass


class LLMError(SanadError):
    pass


class LLMAuthError(LLMError):
    pass


class LLMModelNotFoundError(LLMError):
    pass


class LLMRateLimitError(LLMError):
    pass


class LLMTimeoutError(LLMError):
    pass


class LLMConnectionError(LLMError):
    pass


class LLMResponseError(LLMError):
    pass
