"""The thread side of the workers: waiting for the assistant and relaying its stream.

The assistant is shared by the answer, index and document workers; its lock keeps a re-index
and a question (and the lazy opening of the index) from running at once, while questions may
share it (an `Assistant` answers from several threads; a cancelled question whose model has
stalled must not hold up the next one). Nothing here touches a widget: results go back as
messages through `post`, which is thread-safe.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Sequence

from rag.errors import SanadError
from textual.worker import Worker

from .messages import AnswerEvent, AnswerFailed

POLL_S = 0.1  # how often a waiting worker looks whether it was cancelled


class AssistantLock:
    """Exclusive for indexing (`acquire`/`release`), shared among questions (`shared`). A
    waiting exclusive holder goes first: new questions wait behind a re-index."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._sharers = 0
        self._exclusive = False
        self._waiting = 0  # exclusive holders waiting
        self.shared = _Shared(self)

    def acquire(self, timeout: float = -1) -> bool:
        with self._cond:
            self._waiting += 1
            try:
                ok = self._cond.wait_for(lambda: not self._exclusive and not self._sharers,
                                         None if timeout < 0 else timeout)
                if ok:
                    self._exclusive = True
                return ok
            finally:
                self._waiting -= 1
                if not self._waiting:
                    self._cond.notify_all()  # sharers held back for it may go

    def release(self) -> None:
        with self._cond:
            if not self._exclusive:
                raise RuntimeError("release of an AssistantLock that is not held")
            self._exclusive = False
            self._cond.notify_all()

    def locked(self) -> bool:
        with self._cond:
            return self._exclusive or bool(self._sharers)


class _Shared:
    def __init__(self, lock: AssistantLock) -> None:
        self._lock = lock

    def acquire(self, timeout: float = -1) -> bool:
        lock = self._lock
        with lock._cond:
            ok = lock._cond.wait_for(lambda: not lock._exclusive and not lock._waiting,
                                     None if timeout < 0 else timeout)
            if ok:
                lock._sharers += 1
            return ok

    def release(self) -> None:
        lock = self._lock
        with lock._cond:
            if lock._sharers <= 0:
                raise RuntimeError("release of a shared AssistantLock that is not held")
            lock._sharers -= 1
            lock._cond.notify_all()


def acquire(lock, worker: Worker) -> bool:
    """Take the assistant's lock, unless the worker is cancelled while waiting."""
    while not lock.acquire(timeout=POLL_S):
        if worker.is_cancelled:
            return False
    return True


def relay(assistant, question: str, history: Sequence, request: int, worker: Worker,
          post: Callable[[object], object], release: Callable[[], object] = lambda: None
          ) -> None:
    """Post `AnswerEvent`s for `assistant.stream(...)` until done, failed or cancelled.

    A daemon thread pulls the events: a model server that stalls before its next token must
    not hold up Esc or quitting the app. Returns as soon as the worker is cancelled; the
    stalled thread closes the stream at its next event, and only then calls `release` (the
    assistant's lock): a cancelled question still inside the assistant must not overlap a
    re-index or the next question.
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
            release()
            events.put(("end", None))

    try:
        threading.Thread(target=pump, name="sanad-answer", daemon=True).start()
    except BaseException:
        release()
        raise
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
