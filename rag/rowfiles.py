"""Saved arrays read by row, and the sentence vectors kept beside the lexical index.

`Rows` reads the few rows of a saved .npy array a question needs with `pread`: no memory map,
which would bring every page it touches (and the pages around it) into the process.
`SentenceVectors` holds every answer-sized sentence's vector sorted by id, so a question reads
its candidates' vectors by binary search; an index run merges, drops and saves them a block
of rows at a time, spilling to an unnamed file when they are large.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from pathlib import Path
from typing import Sequence

import numpy as np

# Sentence vectors above this size are sorted and merged into an unnamed temporary file, not
# memory: at a million passages they are ~8 GB (1,024-d hashing vectors), and an update holds
# them beside Chroma's own vector indexes.
IN_MEMORY_BYTES = 256 * 2**20
_ROWS = 8192  # rows copied at a time


class Rows:
    """Rows of a saved .npy array, read with `pread` when asked for: the few rows a question
    needs cost no memory map (which would bring every page it touches, and the pages around
    it, into the process). Like the map it replaces, it reads the file it was opened on, also
    after an index run replaced it."""

    _BLOCK = 64  # a binary search reads the last rows it narrows to at once
    _TREE_DEPTH = 13  # the rows of its first steps are kept: at most 8,191 (~0.6 MB)

    def __init__(self, array: np.memmap):
        self.dtype, self.shape = array.dtype, array.shape
        self._width = array.dtype.itemsize * int(np.prod(array.shape[1:], dtype=np.int64))
        self._offset = array.offset
        self._fd = os.open(array.filename, os.O_RDONLY)
        self._tree: dict[int, str] = {}
        weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, at: "int | slice"):
        if isinstance(at, slice):
            start, stop, _ = at.indices(len(self))
            return self.read(start, stop)
        if at < 0:
            at += len(self)
        if not 0 <= at < len(self):
            raise IndexError(at)
        if self.dtype.kind == "U" and len(self.shape) == 1:  # a passage id: no numpy call
            data = os.pread(self._fd, self._width, self._offset + at * self._width)
            return data.decode("utf-32-le").rstrip("\0")
        return self.read(at, at + 1)[0]

    def read(self, start: int, stop: int) -> np.ndarray:
        n = max(0, stop - start)
        data = os.pread(self._fd, n * self._width, self._offset + start * self._width)
        return np.frombuffer(data, dtype=self.dtype).reshape((n, *self.shape[1:]))

    def find(self, key: str) -> int | None:
        """The row equal to `key` in a sorted 1-d array of strings, or None."""
        if not isinstance(key, str) or len(key) > self.dtype.itemsize // 4:
            return None
        lo, hi, depth = 0, len(self), 0
        while hi - lo > self._BLOCK:  # one short read per step, decoded without numpy
            mid = (lo + hi) // 2
            row = self._tree.get(mid)
            if row is None:
                data = os.pread(self._fd, self._width, self._offset + mid * self._width)
                row = data.decode("utf-32-le").rstrip("\0")
                if depth < self._TREE_DEPTH:
                    self._tree[mid] = row
            if row < key:
                lo = mid + 1
            else:
                hi = mid
            depth += 1
        block = self.read(lo, min(hi + 1, len(self)))  # the answer may be hi itself
        at = int(np.searchsorted(block, key))
        return lo + at if at < len(block) and block[at] == key else None


class SentenceVectors:
    """Every answer-sized sentence's vector, sorted by id and memory-mapped, so that a question
    reads its candidates' vectors by binary search (a Chroma read by id loads the whole vector
    index of the collection first: 0.5 s at 20k passages, growing with the corpus)."""

    FILES = ("sentence_ids.npy", "sentence_sources.npy", "sentence_vectors.npy")

    def __init__(self, ids: np.ndarray, sources: np.ndarray, vectors: np.ndarray):
        self.ids, self.sources, self.vectors = ids, sources, vectors
        self._rows = None  # (ids, vectors) read by rows, when opened from disk

    @classmethod
    def of(cls, rows: Sequence[tuple[str, str, np.ndarray]], dimension: int = 0
           ) -> "SentenceVectors":
        """From (id, source, vector) rows, in any order."""
        if not rows:
            return cls(np.array([], "U20"), np.array([], "U1"),
                       np.zeros((0, dimension), dtype=np.float32))
        ids = np.array([r[0] for r in rows], dtype=str)
        order = np.argsort(ids, kind="stable")
        vectors = _buffer((len(rows), len(rows[0][2])))
        for at in range(0, len(order), _ROWS):
            vectors[at:at + _ROWS] = [rows[i][2] for i in order[at:at + _ROWS]]
        return cls(ids[order], np.array([r[1] for r in rows], dtype=str)[order], vectors)

    def without(self, sources: set[str]) -> "SentenceVectors":
        """These files' rows removed (no copy when there are none)."""
        keep = ~np.isin(self.sources, list(sources)) if sources else None
        if keep is None or keep.all():
            return self
        kept = np.flatnonzero(keep)
        return SentenceVectors(np.asarray(self.ids)[kept], np.asarray(self.sources)[kept],
                               _gather([self.vectors], kept, self._beside()))

    def joined(self, other: "SentenceVectors") -> "SentenceVectors":
        if not len(other.ids):
            return self
        if len(self.ids) and self.vectors.shape[1] != other.vectors.shape[1]:
            raise ValueError("sentence vectors of two sizes")
        if not len(self.ids):
            return other
        ids = np.concatenate([self.ids, other.ids])
        order = np.argsort(ids, kind="stable")
        return SentenceVectors(ids[order], np.concatenate([self.sources, other.sources])[order],
                               _gather([self.vectors, other.vectors], order, self._beside()))

    def _beside(self) -> Path | None:
        """Where a large copy of these vectors may be spilled: beside the saved index."""
        name = getattr(self.vectors, "filename", None)
        return Path(name).parent.parent if name else None

    def get(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not len(self.ids) or not ids:
            return {}
        if self._rows is not None:  # saved: read by rows
            found = {sid: self._rows[0].find(sid) for sid in ids}
            return {sid: self._rows[1][i].astype(np.float32, copy=False)
                    for sid, i in found.items() if i is not None}
        at = np.searchsorted(self.ids, np.array(list(ids), dtype=str))
        out = {}
        for sid, i in zip(ids, at):
            if i < len(self.ids) and self.ids[i] == sid:
                out[sid] = np.asarray(self.vectors[i], dtype=np.float32)
        return out

    def save(self, path: Path) -> None:
        for name, array in zip(self.FILES, (self.ids, self.sources, self.vectors)):
            np.save(path / name, np.asarray(array))

    @classmethod
    def load(cls, path: Path) -> "SentenceVectors | None":
        if not all((path / name).exists() for name in cls.FILES):
            return None
        out = cls(*(np.load(path / name, mmap_mode="r") for name in cls.FILES))
        if len(out.ids):
            out._rows = (Rows(out.ids), Rows(out.vectors))
        return out


class SentenceRows:
    """The sentence vectors of an index run, gathered in arrival order until it saves them:
    in memory while small, then appended to an unnamed temporary file (at a million passages
    they are ~8 GB of 1,024-d hashing vectors, more than a run may hold beside Chroma)."""

    def __init__(self, dimension: int = 0, spill: Path | None = None) -> None:
        self.ids: list[str] = []
        self.sources: list[str] = []
        self.dimension = dimension
        self._parts: list[np.ndarray] = []
        self._bytes = 0
        self._file = None
        self._spill = spill if spill and spill.is_dir() else None

    def add(self, ids: Sequence[str], sources: Sequence[str], vectors: np.ndarray) -> None:
        if not len(ids):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.ids += ids
        self.sources += sources
        self.dimension = vectors.shape[1]
        if self._file is None and self._bytes + vectors.nbytes > IN_MEMORY_BYTES:
            self._file = tempfile.TemporaryFile(dir=self._spill)
            for part in self._parts:
                self._file.write(part.tobytes())
            self._parts = []
        if self._file is not None:
            self._file.write(vectors.tobytes())
        else:
            self._parts.append(vectors)
        self._bytes += vectors.nbytes

    def sorted(self) -> SentenceVectors:
        """All of them, sorted by id (as `SentenceVectors.of` sorts), a block at a time."""
        if not self.ids:
            return SentenceVectors.of([], self.dimension)
        ids = np.array(self.ids, dtype=str)
        order = np.argsort(ids, kind="stable")
        if self._file is None:
            parts = self._parts
        else:
            self._file.flush()
            parts = [np.memmap(self._file, dtype=np.float32, mode="r",
                               shape=(len(self.ids), self.dimension))]
        try:
            vectors = _gather(parts, order, self._spill)
        finally:
            if self._file is not None:
                self._file.close()
                self._file = None
        return SentenceVectors(ids[order], np.array(self.sources, dtype=str)[order], vectors)


def _buffer(shape: tuple[int, int], spill: Path | None = None) -> np.ndarray:
    """A float32 array: in memory, or mapped on an unnamed file (freed when dropped) when it
    is larger than IN_MEMORY_BYTES."""
    if shape[0] * shape[1] * 4 <= IN_MEMORY_BYTES:
        return np.empty(shape, dtype=np.float32)
    with tempfile.TemporaryFile(dir=spill if spill and spill.is_dir() else None) as handle:
        handle.truncate(shape[0] * shape[1] * 4)
        return np.memmap(handle, dtype=np.float32, mode="r+", shape=shape)


def _gather(parts: Sequence[np.ndarray], rows: np.ndarray, spill: Path | None = None
            ) -> np.ndarray:
    """`np.concatenate(parts)[rows]`, a block of rows at a time (parts may be memory-mapped)."""
    starts = np.cumsum([0] + [len(p) for p in parts])
    out = _buffer((len(rows), parts[0].shape[1]), spill)
    for at in range(0, len(rows), _ROWS):
        block, target = rows[at:at + _ROWS], out[at:at + _ROWS]
        for part, lo, hi in zip(parts, starts[:-1], starts[1:]):
            mine = (block >= lo) & (block < hi)
            if mine.all():
                target[:] = part[block - lo]
            elif mine.any():
                target[mine] = part[block[mine] - lo]
    return out
