"""The index panel: builds the index when it is missing or on request, with a progress bar.

Its worker also loads the index size for the status line (`StatsLoaded`, which bubbles up to
the screen) and then opens retrieval, so the first question does not wait for it.
"""

from __future__ import annotations

import time

from rag.errors import SanadError
from rag.types import Progress
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static
from textual.worker import Worker, get_current_worker

from ..messages import IndexFailed, IndexFinished, IndexProgress, IndexStarted, StatsLoaded
from ..workers import acquire

PROGRESS_EVERY_S = 0.05  # progress callbacks come per passage; the bar needs far fewer


class IndexCancelled(Exception):
    """Raised from the progress callback to stop indexing when the app quits."""


def _stale(assistant) -> bool:
    """Files added, changed or removed since the index recorded them (a stat per file)."""
    changes = getattr(assistant, "changes", None)
    if not callable(changes):
        return False
    found = changes()
    return found is None or any(found.values())


class IndexPanel(Vertical):
    """Hidden unless the corpus is being indexed."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.indexing = False

    def compose(self) -> ComposeResult:
        yield Static("", id="index-label")
        yield ProgressBar(id="index-bar", show_eta=False)

    @work(thread=True, exclusive=True, group="index", exit_on_error=False)
    def prepare(self, reindex: bool = False) -> None:
        """Build the index if it is missing (or on request), then load its size."""
        worker = get_current_worker()
        assistant = self.app.assistant
        lock = self.app.assistant_lock
        if not acquire(lock, worker):
            return
        try:
            reason = "reindex" if reindex else None if assistant.has_index() else "missing"
            if reason is None and _stale(assistant):
                reason = "changed"
            if reason is not None:
                self.post_message(IndexStarted(reason))
                last = [0.0]

                def progress(p: Progress) -> None:
                    if worker.is_cancelled:  # quitting: stop (the next run repairs the index)
                        raise IndexCancelled()
                    now = time.monotonic()
                    if now - last[0] >= PROGRESS_EVERY_S or p.done >= p.total:
                        last[0] = now
                        self.post_message(IndexProgress(p))

                self.post_message(IndexFinished(assistant.index(progress=progress)))
            self.post_message(StatsLoaded(assistant.stats()))
        except IndexCancelled:
            return
        except SanadError as exc:
            self.post_message(IndexFailed(str(exc)))
            return
        except Exception as exc:  # the app never exits on an error
            self.post_message(IndexFailed(f"The index could not be prepared: {exc}"))
            return
        finally:
            lock.release()
        self._warm_up(worker)

    def _warm_up(self, worker: Worker) -> None:
        assistant = self.app.assistant
        warm_up = getattr(assistant, "warm_up", None)
        if worker.is_cancelled or not (callable(warm_up)
                                       or hasattr(type(assistant), "retriever")):
            return
        if not acquire(self.app.assistant_lock, worker):
            return
        try:
            warm_up() if callable(warm_up) else assistant.retriever
        except Exception:  # the first question reports it
            pass
        finally:
            self.app.assistant_lock.release()

    @on(IndexStarted)
    def _started(self, message: IndexStarted) -> None:
        message.stop()
        self.indexing = True
        self.add_class("-visible")
        self.query_one(ProgressBar).update(total=None, progress=0)
        self.query_one("#index-label", Static).update("Indexing the corpus…")
        if message.reason == "missing":
            self.notify("There is no index yet; building it from the corpus now.")
        elif message.reason == "changed":
            self.notify("The corpus changed since it was indexed; updating the index now.")

    @on(IndexProgress)
    def _progress(self, message: IndexProgress) -> None:
        message.stop()
        p = message.progress
        self.query_one(ProgressBar).update(total=max(1, p.total), progress=p.done)
        item = f" · {p.item}" if p.item else ""
        self.query_one("#index-label", Static).update(
            Text(f"Indexing: {p.stage} {p.done}/{p.total}{item}", no_wrap=True,
                 overflow="ellipsis"))

    def _done(self) -> None:
        self.indexing = False
        self.remove_class("-visible")

    @on(IndexFinished)
    def _finished(self, message: IndexFinished) -> None:
        message.stop()
        self._done()
        report = message.report
        if report is not None:
            changes = (f"{len(report.added)} added, {len(report.updated)} updated, "
                       f"{len(report.removed)} removed")
            skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
            self.notify(f"Index ready: {report.files} files, {report.passages} passages "
                        f"({changes}{skipped}).")

    @on(IndexFailed)
    def _failed(self, message: IndexFailed) -> None:
        self._done()  # not stopped: the screen shows it in the status line too
        self.notify(message.error, severity="error", timeout=8)
