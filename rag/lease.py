"""A lease on a Chroma server, so that `sanad index` runs on different machines take turns.

The file lock of `indexing.index_lock` keeps apart the runs of one machine; runs on two
machines share only the server. While it indexes, a run holds the server's lease: a
collection named COLLECTION-lock that carries who holds it and when it last said so. The
server creates a collection of one name once, and a second create of it fails: whoever
creates it holds the lease, and deleting it gives it back.

The holder renews the lease every RENEW_S seconds from a thread. A lease not renewed for
STALE_S seconds (its holder was killed, or its machine lost the server) is taken over: the
stale collection is renamed by its id, then deleted, and the waiters race to create it anew.
Renaming by id means two waiters that both find it stale cannot both take it (the second
renames what is already gone). Each machine's clock judges the other's time, so STALE_S is
generous; a holder that stalls longer than that (a machine suspended mid-run) loses the lease
to a waiter while it still runs, the limit of a lease without a server that enforces it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid

from .store import _client, _gone

LOCK_SUFFIX = "-lock"
RENEW_S = 10.0
STALE_S = 120.0


class ServerLease:
    """The lease on one collection of one Chroma server (`settings.chroma_url`)."""

    def __init__(self, settings, client=None):
        self.settings = settings
        self.client = client if client is not None else _client(settings)
        self.name = f"{settings.collection}{LOCK_SUFFIX}"
        self.holder = f"process {os.getpid()} on {socket.gethostname()}"
        self._held = None  # the lease's collection while held
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _failure(self, exc: Exception):
        from .errors import IndexStoreError, redact

        return IndexStoreError(f"The Chroma server at {self.settings.chroma_url} could not "
                               f"lend its indexing lease ({type(exc).__name__}: "
                               f"{redact(str(exc))[:160]}); check that it is running.")

    def current(self):
        """The lease's collection, or None when nobody holds it."""
        try:
            return self.client.get_collection(self.name, embedding_function=None)
        except Exception as exc:
            if _gone(exc):
                return None
            raise self._failure(exc) from None

    def holder_of(self, col) -> str:
        return str((col.metadata or {}).get("holder") or "another machine")

    def stale(self, col) -> bool:
        renewed = (col.metadata or {}).get("renewed")
        return not isinstance(renewed, (int, float)) or time.time() - renewed > STALE_S

    def take(self) -> str | None:
        """Take the lease if it is free (or stale): None; else who holds it."""
        for attempt in (0, 1):  # the second after a stale lease was taken over
            try:
                self._held = self.client.create_collection(
                    self.name, embedding_function=None,
                    metadata={"holder": self.holder, "renewed": time.time()})
                break
            except Exception as exc:
                if "already exists" not in str(exc).lower():
                    raise self._failure(exc) from None
                col = self.current()
                if col is None:
                    return "another machine"  # given back just now: the next try takes it
                if attempt or not self.stale(col):
                    return self.holder_of(col)
                self._take_over(col)
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew, name="sanad-lease", daemon=True)
        self._renewer.start()
        return None

    def _take_over(self, col) -> None:
        """Remove a lease, stale or given back, by its id: a fresh one under the same name is
        never hit."""
        tomb = f"{self.name}-stale-{uuid.uuid4().hex[:8]}"
        try:
            col.modify(name=tomb)
            self.client.delete_collection(tomb)
        except Exception as exc:
            if not _gone(exc):  # gone already: another waiter took it over first
                raise self._failure(exc) from None

    def _renew(self) -> None:
        while not self._stop.wait(RENEW_S):
            try:
                self._held.modify(metadata={"holder": self.holder, "renewed": time.time()})
            except Exception as exc:
                if _gone(exc):  # taken over (this run stalled past STALE_S)
                    return
                # a server hiccup: the next renewal tries again

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
            self._renewer = None
        held, self._held = self._held, None
        if held is None:
            return
        try:  # by its id, as a stale one is taken over: never another run's lease
            self._take_over(held)
        except Exception:
            pass  # an unreachable server: the lease goes stale and is taken over


def lease_holder(settings) -> str | None:
    """Who holds the server's lease now (None: nobody, or a stale holder)."""
    lease = ServerLease(settings)
    col = lease.current()
    return None if col is None or lease.stale(col) else lease.holder_of(col)
