"""The thread side of the workers: waiting for the assistant and relaying its stream.

The assistant is shared by the answer, index and document workers; its lock keeps a re-index
and a question (and the lazy opening of the index) from running at once. Nothing here touches
a widget: results go back as messages through `post`, which is thread-safe.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Sequence

from rag.errors import SanadError
from textual.worker import Worker

from .messages import AnswerEvent, AnswerFailed

POLL_S = 0.1  # how often a waiting worker looks whether it was cancelled


def acquire(lock: threading.Lock, worker: Worker) -> bool:
    """Take the assistant's lock, unless the worker is cancelled while waiting."""
    while not lock.acquire(timeout=POLL_S):
        if worker.is_cancelled:
            return False
    return True


def relay(assistant, question: str, history: Sequence, request: int, worker: Worker,
          post: Callable[[object], object]) -> None:
    """Post `AnswerEvent`s for `assistant.stream(...)` until done, failed or cancelled.

    A daemon thread pulls the events: a model server that stalls before its next token must
    not hold up Esc, the next question, or quitting the app. Returns as soon as the worker is
    cancelled; the stalled thread closes the stream at its next event.
    """
    events: queue.Queue = queue.Queue()
    stop = threading.Event()

    def pump() -> None:
        try:
            stream = assistant.stream(question, history=list(history))
            try:
                for event in stream:
                    if stop.is_set():
                        break
                    events.put(("event", event))
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()  # closes the HTTP response of an LLM stream
        except BaseException as exc:  # reported as a message, never raised in the UI
            events.put(("error", exc))
        finally:
            events.put(("end", None))

    threading.Thread(target=pump, name="sanad-answer", daemon=True).start()
    try:
        while True:
            try:
                kind, item = events.get(timeout=POLL_S)
            except queue.Empty:
                if worker.is_cancelled:
                    return
                continue
            if kind == "end" or worker.is_cancelled:
                return
            if kind == "error":
                message = str(item) if isinstance(item, SanadError) \
                    else f"The answer failed unexpectedly: {item}"
                post(AnswerFailed(request, message))
                return
            post(AnswerEvent(request, item))
    finally:
        stop.set()
