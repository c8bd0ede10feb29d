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

import re

_SECRETS = re.compile(r"(?i)\b(bearer)\s+[^\s'\",;]+|\bsk-[A-Za-z0-9_\-]{4,}")


def redact(message: str, *secrets: str | None) -> str:
    """Server text made safe to show: the configured key(s), anything shaped like an API key
    (sk-...) and any bearer token are replaced by ***. Every message that can carry text from
    a server goes through here before it is cut short (a cut could split a key)."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return _SECRETS.sub(lambda m: f"{m.group(1)} ***" if m.group(1) else "***", message)


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


class IndexDamagedError(IndexStoreError):
    """The embedded index's database cannot be read as SQLite; `sanad index --rebuild`
    sets it aside and builds afresh."""


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
