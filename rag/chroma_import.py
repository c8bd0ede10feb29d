"""Importing chromadb without the work it does for its own developers.

Importing chromadb and starting its client took ~1 s of every cold `sanad ask` (1.4 s in
all). Two parts of that do nothing for a program that only uses chromadb:

- As each of chromadb's ~160 methods marked `@override` is defined, the `overrides` package
  finds the class's bases by reading the caller's bytecode and checks the method's signature
  against its base's: ~0.2 s of checks that only catch mistakes in chromadb's own source.
  Inside `unchecked()` (chromadb's import and its client's start, which imports more of it),
  `@override` just marks the method, as the check does, so `EnforceOverrides` still sees the
  mark; code imported afterwards gets the real decorator.
- httpx imports its command-line client (click, rich, pygments) along with itself: ~0.1 s.
  When chromadb is the first to import httpx, the client is left out, which httpx allows for
  (its `httpx.main` then says to install `httpx[cli]`); nothing here runs httpx's command.

Timed in `bench/README.md` ("Latency").
"""

from __future__ import annotations

import contextlib
import sys


@contextlib.contextmanager
def unchecked():
    """Import chromadb and start its clients inside: the `overrides` checks are skipped, and
    httpx is imported without its command-line client."""
    with _overrides_unchecked(), _without_httpx_cli():
        yield


def _marked(method=None, **_options):
    """`overrides.override` without its checks: the method marked as overriding, unchanged."""
    if method is None:
        return _marked
    method.__override__ = True
    return method


@contextlib.contextmanager
def _overrides_unchecked():
    try:
        import overrides
    except ImportError:  # a chromadb that no longer uses it
        yield
        return
    real = sys.modules["overrides.overrides"]  # the package's names are patched, not these
    overrides.override = overrides.overrides = _marked
    try:
        yield
    finally:  # from the module, not a saved copy: two threads inside at once restore it too
        overrides.override, overrides.overrides = real.override, real.overrides


@contextlib.contextmanager
def _without_httpx_cli():
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        yield
        return
    sys.modules["httpx._main"] = None  # `from ._main import main` raises ImportError
    try:
        yield
    finally:
        if "httpx._main" in sys.modules and sys.modules["httpx._main"] is None:
            del sys.modules["httpx._main"]
