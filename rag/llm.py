"""Answer with any OpenAI-compatible chat model through a LangChain (LCEL) chain.

One code path serves OpenAI, Ollama, vLLM, llama.cpp server and LM Studio: `ChatOpenAI` with a
base URL. Text is streamed to the caller as the server sends it; the finished answer is then
checked by `citations.check` before `CitationsReady` and `Done`.

Failures become the `LLMError` classes of `errors.py`, each one sentence that never contains
the API key. Rate limits (429) are retried here, honouring Retry-After, and only before any
text has been yielded; the client itself never retries (`max_retries=0`). langchain_openai is
imported inside the functions: `sanad --help` must not pay for it.
"""

from __future__ import annotations

import email.utils
import time
from typing import Callable, Iterator, Sequence
from urllib.parse import urlsplit

from . import citations, prompts
from .analysis import reply_language
from .errors import (LLMAuthError, LLMConnectionError, LLMError, LLMModelNotFoundError,
                     LLMRateLimitError, LLMResponseError, LLMTimeoutError, redact)
from .replies import EMPTY_ANSWER, NO_PASSAGES
from .settings import Settings
from .types import Answer, CitationsReady, Document, Done, Event, Hit, TextDelta, Turn

OPENAI_URL = "https://api.openai.com/v1"
LOCAL_KEY = "not-needed"  # local servers want some bearer token, not a real one
MAX_RETRY_WAIT_S = 10.0  # a longer Retry-After is not waited for: the error is raised at once
FIRST_RETRY_WAIT_S = 0.5  # without Retry-After: 0.5 s, 1 s, 2 s ...


def _is_openai_host(settings: Settings) -> bool:
    host = urlsplit(settings.base_url or OPENAI_URL).hostname or ""
    return host == "openai.com" or host.endswith(".openai.com")


def server_label(settings: Settings) -> str:
    """The base URL without credentials or query, safe to show."""
    parts = urlsplit(settings.base_url or OPENAI_URL)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}".rstrip("/")


def _require_key(settings: Settings) -> None:
    if not settings.api_key and _is_openai_host(settings):
        raise LLMAuthError("OPENAI_API_KEY is not set: the OpenAI API needs a key "
                           "(local servers such as Ollama or vLLM do not).")


def chat_model(settings: Settings, *, streaming: bool = True):
    """A `ChatOpenAI` for the configured server. Raises LLMAuthError when OpenAI has no key."""
    _require_key(settings)
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=settings.model, base_url=settings.base_url or OPENAI_URL,
                      api_key=settings.api_key or LOCAL_KEY, timeout=settings.timeout_s,
                      max_retries=0, streaming=streaming, stream_usage=False,
                      use_responses_api=False)


def list_models(settings: Settings) -> list[str]:
    """The model names the configured server offers (`GET /models`), sorted; for choosing a
    model in the chat. Failures are the same one-sentence `LLMError`s as answering."""
    _require_key(settings)
    from openai import OpenAI

    client = OpenAI(base_url=settings.base_url or OPENAI_URL,
                    api_key=settings.api_key or LOCAL_KEY, timeout=settings.timeout_s,
                    max_retries=0)
    try:
        return sorted({m.id for m in client.models.list()})
    except Exception as exc:  # noqa: BLE001 - every failure becomes one sentence
        raise translate(exc, settings) from exc
    finally:
        client.close()


def answer_chain(settings: Settings):
    """prompt | model: the LCEL chain that answers from numbered passages."""
    from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

    prompt = ChatPromptTemplate.from_messages([
        ("system", prompts.SYSTEM_PROMPT), MessagesPlaceholder("history"),
        ("human", "{request}")])
    return prompt | chat_model(settings, streaming=True)


def condense(settings: Settings, question: str, turns: Sequence[Turn]) -> str:
    """The model's standalone version of a follow-up question (not streamed, not retried)."""
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages([
        ("system", prompts.CONDENSE_SYSTEM_PROMPT), ("human", "{request}")])
    chain = prompt | chat_model(settings, streaming=False) | StrOutputParser()
    try:
        return chain.invoke({"request": prompts.condense_request(question, turns)})
    except Exception as exc:
        error = translate(exc, settings)
        if error is None:
            raise
        raise error from exc


MAX_ANSWER_CHARS = 12_000  # an answer from five passages is a few hundred; more is a runaway
CAPPED = "sanad:capped"


def stream_answer(settings: Settings, question: str, query: str, hits: list[Hit],
                  turns: list[Turn], document: Callable[[str], Document], *,
                  timings: dict, started: float) -> Iterator[Event]:
    """Yield TextDelta* as the server streams, then CitationsReady, then Done(Answer)."""
    lang = reply_language(question)
    timings = dict(timings)
    if not hits:  # nothing to answer from: no request is sent
        text = NO_PASSAGES[lang]
        yield TextDelta(text)
        yield CitationsReady(())
        timings["total"] = _ms(started)
        yield Done(Answer(text=text, citations=[], passages=[], query=query, question=question,
                          answered=False, mode="llm", model=settings.model, timings=timings))
        return
    chain = answer_chain(settings)
    inputs = {"history": prompts.history_messages(turns),
              "request": prompts.answer_request(question, query, hits)}
    t0 = time.perf_counter()
    parts: list[str] = []
    size = 0  # characters in parts
    finish: str | None = None
    gate = SentinelGate(prompts.NO_ANSWER)
    for attempt in range(settings.max_retries + 1):
        stream = chain.stream(inputs)
        received = False
        try:
            for chunk in stream:
                received = True
                finish = (chunk.response_metadata or {}).get("finish_reason") or finish
                piece = _text(chunk.content)
                if not piece:
                    continue
                if not parts:
                    timings["first_token"] = _ms(started)
                room = MAX_ANSWER_CHARS - size
                capped = len(piece) >= room
                piece = piece[:max(room, 0)]
                parts.append(piece)
                size += len(piece)
                visible = gate.feed(piece)
                if visible:
                    yield TextDelta(visible)
                if capped:  # a runaway model: stop reading (checking 1 MB took 15 s)
                    finish = CAPPED
                    break
            break
        except LLMError:
            raise
        except Exception as exc:
            error = translate(exc, settings, mid_answer=received)
            if error is None:
                raise
            wait = None if parts else _rate_limit_wait(error, exc, attempt)
            if wait is None or wait > MAX_RETRY_WAIT_S or attempt == settings.max_retries:
                if isinstance(error, LLMRateLimitError):
                    error = _rate_limit_error(settings, attempt, wait)
                raise error from exc
            time.sleep(wait)
        finally:
            stream.close()  # closes the HTTP response, also when the caller stops early
    tail = gate.flush()
    if tail:
        yield TextDelta(tail)
    raw = "".join(parts)
    if finish is None:
        raise LLMResponseError("The model server cut the answer off mid-stream." if raw else
                               "The model server ended the stream without an answer.")
    if not raw.strip():
        raise LLMResponseError("The model server returned an empty answer.")
    timings["answer"] = _ms(t0)

    t1 = time.perf_counter()
    refused = gate.seen or prompts.NO_ANSWER in raw
    checked = citations.check(prompts.strip_sentinel(raw).strip(), hits, document)
    text = checked.text.strip() or EMPTY_ANSWER[lang]
    notes = []
    if finish == CAPPED:
        notes.append(f"The model's answer ran past {MAX_ANSWER_CHARS:,} characters and was cut "
                     "there.")
    elif finish == "length":
        notes.append("The model stopped at its length limit; the answer may be incomplete.")
    elif finish == "content_filter":
        notes.append("The model's content filter cut the answer short.")
    timings["verify"] = _ms(t1)
    timings["total"] = _ms(started)
    answer = Answer(text=text, citations=checked.citations, passages=list(hits), query=query,
                    question=question, answered=not refused and bool(checked.citations),
                    unsupported=not refused and not any(c.verified for c in checked.citations),
                    mode="llm", model=settings.model, timings=timings, notes=notes,
                    dropped_markers=checked.dropped_markers)
    yield CitationsReady(tuple(answer.citations), tuple(answer.dropped_markers))
    yield Done(answer)


class SentinelGate:
    """Pass streamed text straight through, minus the NO_ANSWER sentinel.

    Text is held back only while its tail could be the start of the sentinel, so an answer
    that does not begin with "N" reaches the caller with no delay at all.
    """

    def __init__(self, token: str):
        self.token = token
        self.pending = ""
        self.seen = False
        self.emitted = False

    def feed(self, piece: str) -> str:
        buf = self.pending + piece
        if self.token in buf:
            self.seen = True
            buf = buf.replace(self.token, "")
        if self.seen and not self.emitted:
            buf = buf.lstrip(" \t\n:：.-—*`")
        hold = next((k for k in range(min(len(buf), len(self.token) - 1), 0, -1)
                     if self.token.startswith(buf[-k:])), 0)
        self.pending = buf[len(buf) - hold:]
        out = buf[:len(buf) - hold]
        self.emitted = self.emitted or bool(out)
        return out

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out


def translate(exc: BaseException, settings: Settings, *, mid_answer: bool = False
              ) -> LLMError | None:
    """The LLMError for an exception from the openai client (None: not a model failure)."""
    import openai

    where = server_label(settings)
    if isinstance(exc, openai.APITimeoutError):
        return LLMTimeoutError(f"The model server at {where} did not reply within "
                               f"{settings.timeout_s:g} s.")
    if isinstance(exc, openai.APIConnectionError):
        if mid_answer:
            return LLMResponseError("The model server cut the answer off mid-stream.")
        return LLMConnectionError(f"Could not connect to the model server at {where}.")
    if isinstance(exc, openai.AuthenticationError):
        return LLMAuthError(f"The model server at {where} rejected the API key (HTTP 401); "
                            f"check OPENAI_API_KEY.")
    if isinstance(exc, openai.PermissionDeniedError):
        return LLMAuthError(f"The model server at {where} refused access (HTTP 403); "
                            f"check the API key's permissions.")
    if isinstance(exc, openai.NotFoundError) or (
            isinstance(exc, openai.BadRequestError) and _names_missing_model(exc)):
        return LLMModelNotFoundError(f"The model server at {where} does not know the model "
                                     f"{settings.model!r}; check --model (SANAD_MODEL) and "
                                     f"the base URL.")
    if isinstance(exc, openai.RateLimitError):
        return LLMRateLimitError(f"The model server at {where} is rate-limiting requests "
                                 f"(HTTP 429).")
    if isinstance(exc, openai.BadRequestError):
        detail = _scrub(str(getattr(exc, "message", "") or ""), settings)[:200]
        return LLMResponseError(f"The model server at {where} rejected the request (HTTP 400): "
                                f"{detail}")
    if isinstance(exc, openai.APIStatusError):
        return LLMResponseError(f"The model server at {where} failed with HTTP "
                                f"{exc.status_code}.")
    if isinstance(exc, (openai.APIResponseValidationError, ValueError, KeyError, TypeError)):
        return LLMResponseError(f"The model server at {where} sent a malformed reply.")
    if isinstance(exc, openai.OpenAIError):
        return LLMResponseError(f"The model server at {where} reported an error: "
                                f"{_scrub(str(exc), settings)[:200]}")
    return None


def _names_missing_model(exc) -> bool:
    message = str(getattr(exc, "message", "")).lower()
    return "model" in message and any(w in message for w in ("not found", "does not exist",
                                                             "unknown", "not exist"))


def _scrub(message: str, settings: Settings) -> str:
    return redact(message, settings.api_key)


def _rate_limit_wait(error: LLMError, exc: BaseException, attempt: int) -> float | None:
    """Seconds to wait before retrying a 429 (Retry-After, else backoff); None if not a 429."""
    if not isinstance(error, LLMRateLimitError):
        return None
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    wait = None
    for name, unit in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            wait = float(value) * unit
        except ValueError:
            when = email.utils.parsedate_tz(value)
            wait = email.utils.mktime_tz(when) - time.time() if when else None
        if wait is not None:
            break
    if wait is None:
        wait = FIRST_RETRY_WAIT_S * 2 ** attempt
    return max(0.0, wait)


def _rate_limit_error(settings: Settings, retries: int, wait: float | None) -> LLMRateLimitError:
    where = server_label(settings)
    if wait is not None and wait > MAX_RETRY_WAIT_S:
        return LLMRateLimitError(f"The model server at {where} is rate-limiting requests "
                                 f"(HTTP 429) and asks to wait {wait:.0f} s, longer than "
                                 f"sanad waits ({MAX_RETRY_WAIT_S:.0f} s).")
    if retries:
        return LLMRateLimitError(f"The model server at {where} is still rate-limiting requests "
                                 f"(HTTP 429) after {retries} retries.")
    return LLMRateLimitError(f"The model server at {where} is rate-limiting requests (HTTP 429).")


def _text(content) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, dict) else str(part)
                   for part in content or [])


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
