"""The lexical side: Okapi BM25 over `analysis.tokenize` stems, built at index time and saved.

A process opens the saved index (memory-mapped) without reading the corpus or the collection;
a question reads from Chroma only the passages of its hits. Saved in `<index_dir>/lexical/`:

    meta.json             format, passage count, and the stamp of the index run it reflects
    files.json            the index's record of its files: size, modification time, content
                          hash, passage and sentence counts (a no-op `sanad index` reads only
                          this and a stat of each file)
    vocab.json            stem -> token id
    ids.npy, source_of.npy, sources.json    passage ids, and the file of each
    df.npy                document frequency of each token (idf for the answerer)
    indptr.npy, tokens.npy                  each passage's token ids, to rebuild after a change
    bm25/                 bm25s's score matrix

A process that answers maps none of these files: it reads the rows a question needs with
`pread` (a memory map brings every page it touches into the process, and the pages around
it). files.json is read when asked for (the staleness check, indexing), not kept.

The stamp is also written into the Chroma collection's metadata by the same `sanad index`
run: an index whose stamp differs (another machine indexed the shared server, or a run died
before saving) is rebuilt from the collection's passages instead of trusted.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from .embeddings import sentence_space
from .rowfiles import Rows, SentenceVectors

FORMAT = 1
# Words brought in from the conversation (a follow-up's carried context) steer the search but
# may not outvote the words the person typed: their idf mass is held to this share of theirs.
# Chosen with followup.MAX_CARRIED_WORDS on conversations written on ARCD-train articles and on
# the news stories (`bench/bench_followups.py --news`, `--arcd-train`); 0.5 before.
CONTEXT_SHARE = 0.25


class BM25:
    """Okapi BM25 (bm25s, Lucene variant). `ids[i]` and `sources[source_of[i]]` name passage i."""

    def __init__(self, model, vocab: dict[str, int], df: np.ndarray, ids: np.ndarray,
                 source_of: np.ndarray, sources: list[str], indptr: np.ndarray | None = None,
                 tokens: np.ndarray | None = None, stamp: str | None = None,
                 files: dict | None = None, sentences: "SentenceVectors | None" = None):
        """`model`: bm25s's BM25 (built in memory), or the saved folder of its score matrix."""
        self._model = model
        self.vocab = vocab
        self.df = df
        self.ids = ids
        self.source_of = source_of
        self.sources = sources
        self.n = len(ids)
        self.indptr, self.tokens = indptr, tokens
        self.stamp = stamp
        self._files, self._files_path = files, None
        self.sentences = sentences
        if isinstance(model, Path):  # saved: read by rows, nothing mapped
            self._matrix = tuple(Rows(np.load(model / f"{name}.csc.index.npy", mmap_mode="r"))
                                 for name in ("data", "indices", "indptr"))
            self._ids, self._source_of = Rows(ids), Rows(source_of)
        else:
            scores = getattr(model, "scores", None) or {}
            self._matrix = tuple(scores.get(k) for k in ("data", "indices", "indptr"))
            self._ids, self._source_of = ids, source_of

    @property
    def files(self) -> dict | None:
        """The index's record of its files (None when it keeps none)."""
        if self._files is None and self._files_path is not None and self._files_path.exists():
            return json.loads(self._files_path.read_text())
        return self._files

    @files.setter
    def files(self, value: dict | None) -> None:
        self._files, self._files_path = value, None

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def from_tokens(cls, token_lists: Sequence[list[str]], ids: Sequence[str] = (),
                    sources: Sequence[str] = (), k1: float = 1.5, b: float = 0.75) -> "BM25":
        """In memory, from each passage's tokens (ids and sources optional, for tests)."""
        vocab: dict[str, int] = {}
        rows = [[vocab.setdefault(t, len(vocab)) for t in toks] for toks in token_lists]
        return cls._build(rows, vocab, list(ids) or [str(i) for i in range(len(rows))],
                          list(sources) or [""] * len(rows), k1=k1, b=b)

    @classmethod
    def of_passages(cls, passages: Sequence) -> "BM25":
        """From passages (tokenised here with `analysis.tokenize`), in memory."""
        from .analysis import tokenize

        return cls.from_tokens([tokenize(p.text) for p in passages], [p.id for p in passages],
                               [p.source for p in passages])

    @classmethod
    def _build(cls, rows: list[list[int]], vocab: dict[str, int], ids: list[str],
               sources: list[str], stamp: str | None = None, k1: float = 1.5,
               b: float = 0.75) -> "BM25":
        import bm25s

        names = sorted(set(sources))
        where = {s: i for i, s in enumerate(names)}
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(r) for r in rows])
        tokens = (np.concatenate([np.asarray(r, dtype=np.int32) for r in rows]) if rows
                  else np.zeros(0, dtype=np.int32))
        unique = [np.unique(np.asarray(r, dtype=np.int32)) for r in rows]
        df = np.bincount(np.concatenate(unique) if unique else np.zeros(0, np.int32),
                         minlength=len(vocab)).astype(np.int32)
        model = bm25s.BM25(k1=k1, b=b)
        if rows:
            model.index((rows, vocab), show_progress=False)
        return cls(model, vocab, df, np.array(ids, dtype=str) if ids else np.array([], "U20"),
                   np.array([where[s] for s in sources], dtype=np.int32), names,
                   indptr, tokens, stamp)

    def updated(self, drop_sources: set[str], add: Sequence, stamp: str | None = None,
                sentences: "SentenceVectors | None" = None) -> "BM25":
        """A new index: the passages of `drop_sources` removed, the passages `add` appended
        (tokenised here). Kept passages are not tokenised again: their token ids are saved.
        The sentence vectors likewise: the kept files' rows, plus `sentences` (new ones)."""
        from .analysis import tokenize

        vocab = dict(self.vocab)
        rows, ids, sources = [], [], []
        dropped = [i for i, name in enumerate(self.sources) if name in drop_sources]
        # Each kept passage's token ids stay a view of the saved array, and a new one's are an
        # int32 array: as Python lists of ints, 1M passages' tokens took ~3.5 GB more at once.
        for i in np.flatnonzero(~np.isin(self.source_of, dropped)):
            rows.append(self.tokens[self.indptr[i]:self.indptr[i + 1]])
            ids.append(str(self.ids[i]))
            sources.append(self.sources[int(self.source_of[i])])
        for p in add:
            rows.append(np.array([vocab.setdefault(t, len(vocab)) for t in tokenize(p.text)],
                                 dtype=np.int32))
            ids.append(p.id)
            sources.append(p.source)
        out = self._build(rows, vocab, ids, sources, stamp)
        if self.sentences is not None:
            kept = self.sentences.without(drop_sources)
            out.sentences = kept.joined(sentences) if sentences is not None else kept
        return out

    # -- saving and opening -------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write beside, then swap: a reader never sees half an index."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".lexical-", dir=path.parent))
        try:
            np.save(tmp / "ids.npy", self.ids)
            np.save(tmp / "source_of.npy", self.source_of)
            np.save(tmp / "df.npy", self.df)
            np.save(tmp / "indptr.npy", self.indptr)
            np.save(tmp / "tokens.npy", self.tokens)
            (tmp / "sources.json").write_text(json.dumps(self.sources, ensure_ascii=False))
            (tmp / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False))
            files = self.files
            if files is not None:
                (tmp / "files.json").write_text(json.dumps(files, ensure_ascii=False))
            if self.n and isinstance(self._model, Path):
                shutil.copytree(self._model, tmp / "bm25")
            elif self.n:
                self._model.save(str(tmp / "bm25"), show_progress=False)
            if self.sentences is not None:
                self.sentences.save(tmp)
            (tmp / "meta.json").write_text(json.dumps({"format": FORMAT, "passages": self.n,
                                                       "stamp": self.stamp}))
            old = path.with_name(path.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            if path.exists():
                os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, path: Path, stamp: str | None = None) -> "BM25 | None":
        """The saved index (its arrays read by rows when asked); None when absent, unreadable
        or of another stamp."""
        path = Path(path)
        try:
            meta = json.loads((path / "meta.json").read_text())
            if meta.get("format") != FORMAT or (stamp is not None and meta.get("stamp") != stamp):
                return None
            if meta["passages"]:
                params = json.loads((path / "bm25" / "params.index.json").read_text())
                if params.get("method") != "lucene" or params.get("dtype") != "float32":
                    return None  # not what `_build` writes: rebuilt
            bm25 = cls(path / "bm25" if meta["passages"] else None,
                       json.loads((path / "vocab.json").read_text()),
                       np.load(path / "df.npy", mmap_mode="r"),
                       np.load(path / "ids.npy", mmap_mode="r"),
                       np.load(path / "source_of.npy", mmap_mode="r"),
                       json.loads((path / "sources.json").read_text()),
                       np.load(path / "indptr.npy", mmap_mode="r"),
                       np.load(path / "tokens.npy", mmap_mode="r"), meta.get("stamp"), None,
                       SentenceVectors.load(path))
            bm25._files_path = path / "files.json"
            return bm25
        except (OSError, ValueError, KeyError):
            return None

    # -- scoring ------------------------------------------------------------------------------
    def passage_id(self, i: int) -> str:
        return str(self._ids[i])

    def source(self, i: int) -> str:
        return self.sources[int(self._source_of[i])]

    def idf(self, token: str) -> float:
        """Tokens the corpus lacks get the highest weight: a question about them is unmatched."""
        at = self.vocab.get(token) if token else None  # bm25s's vocabulary holds "" past df
        df = int(self.df[at]) if at is not None else 0
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        known = [self.vocab[t] for t in query_tokens if t in self.vocab]
        if not known or not self.n:
            return np.zeros(self.n, dtype=np.float32)
        # bm25s's own sum (BM25._compute_relevance_from_scores), token by token, over the
        # columns of the score matrix: the same floats, with only these columns read
        data, indices, indptr = self._matrix
        scores = np.zeros(self.n, dtype=np.float32)
        for t in known:
            start, end = (int(x) for x in indptr[t:t + 2])
            np.add.at(scores, indices[start:end], data[start:end])
        return scores

    def context_factor(self, own: list[str], context: list[str]) -> float:
        """Weight of the context tokens: CONTEXT_SHARE of the typed words' idf mass at most;
        full weight when the person typed no content word ("ولماذا؟")."""
        own_mass = sum(self.idf(t) for t in own)
        context_mass = sum(self.idf(t) for t in context)
        if not own_mass or not context_mass:
            return 1.0
        return min(1.0, CONTEXT_SHARE * own_mass / context_mass)

    def top(self, query_tokens: list[str], k: int, focus: set[str] | None = None
            ) -> list[tuple[int, float]]:
        """Best k passages; tokens outside `focus` (when given) weigh `context_factor`."""
        if focus is None:
            scores = self.scores(query_tokens)
        else:
            own = [t for t in query_tokens if t in focus]
            context = [t for t in query_tokens if t not in focus]
            scores = self.scores(own)
            if context:
                scores = scores + self.context_factor(own, context) * self.scores(context)
        if not len(scores):
            return []
        k = min(k, len(scores))
        idx = np.argpartition(-scores, k - 1)[:k]
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        return [(int(i), float(scores[i])) for i in idx if scores[i] > 0]


def open_lexical(store) -> BM25:
    """The saved BM25 of `store` if it matches the collection's stamp, else rebuilt from the
    collection's passages (and saved, for the next process)."""
    stamp = store.stamp()
    saved = BM25.load(store.lexical_path, stamp) if stamp else None
    return saved if saved is not None else rebuild_lexical(store, stamp)


def rebuild_lexical(store, stamp: str | None) -> BM25:
    """Read every passage and sentence vector of the collection back (the repair path, and a
    second machine's first open on a shared Chroma server)."""
    bm25 = BM25.of_passages(store.passages())
    bm25.stamp = stamp
    bm25.sentences = SentenceVectors.of(store.sentence_rows(),
                                        sentence_space(store.embeddings)[1] or 0)
    if stamp and not stamp.startswith("indexing-"):  # never mid-run: the run saves last
        try:
            bm25.save(store.lexical_path)
        except OSError:
            pass  # a read-only index still answers, from memory
    return bm25
