"""Hybrid retrieval: Chroma vectors and BM25 over stemmed Arabic tokens, fused by rank.

Reciprocal rank fusion needs no score calibration between the two sides. A cap per source
keeps one article from filling every slot when several articles tell the same story.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

import numpy as np

from .analysis import tokenize
from .query import Query
from .types import Hit, Passage

# Words brought in from the conversation (a follow-up's carried context) steer the search but
# may not outvote the words the person typed: their idf mass is held to this share of theirs.
CONTEXT_SHARE = 0.5
BM25_WEIGHT = 1.0
# (vector weight, RRF k) per embedding, chosen by bench/tune_fusion.py on ARCD-train by the rule
# written there (bench/README.md). A side that finds nothing (BM25 for an English question)
# simply adds nothing: the other side's ranks decide.
FUSION = {"hashing-ngram-v1": (0.2, 10), "e5-small-q4": (1.5, 10)}
DEFAULT_FUSION = FUSION["e5-small-q4"]  # remote models: weighted as a real model
CANDIDATES = 50  # per side, before fusion


class BM25:
    """Okapi BM25 (bm25s, Lucene variant) over `analysis.tokenize` tokens."""

    def __init__(self, token_lists: Sequence[list[str]], k1: float = 1.5, b: float = 0.75):
        import bm25s

        self.n = len(token_lists)
        self.df: Counter[str] = Counter()
        for toks in token_lists:
            self.df.update(set(toks))
        self.vocab = {t: i for i, t in enumerate(sorted(self.df))}
        ids = [[self.vocab[t] for t in toks] for toks in token_lists]
        self._model = bm25s.BM25(k1=k1, b=b)
        if self.n:
            self._model.index((ids, self.vocab), show_progress=False)

    def idf(self, token: str) -> float:
        """Tokens the corpus lacks get the highest weight: a question about them is unmatched."""
        df = self.df.get(token, 0)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        known = [self.vocab[t] for t in query_tokens if t in self.vocab]
        if not known or not self.n:
            return np.zeros(self.n, dtype=np.float32)
        return self._model.get_scores(known)

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


class HybridRetriever:
    """BM25 + vectors over the passages of one index."""

    def __init__(self, passages: list[Passage], store, *, mode: str = "hybrid",
                 per_source: int | None = None, vector_weight: float | None = None,
                 rrf_k: int | None = None):
        self.passages = passages
        self.by_id = {p.id: i for i, p in enumerate(passages)}
        self.bm25 = BM25([tokenize(p.text) for p in passages])
        self.store = store
        self.embeddings = getattr(store, "embeddings", None)
        self.mode = mode  # "hybrid", "bm25" or "vector" (the last two for benchmarks)
        self.per_source = per_source
        weight, k = FUSION.get(getattr(self.embeddings, "name", ""), DEFAULT_FUSION)
        self.vector_weight = weight if vector_weight is None else vector_weight
        self.rrf_k = k if rrf_k is None else rrf_k

    @classmethod
    def from_store(cls, store, settings=None, **kwargs) -> "HybridRetriever":
        return cls(store.passages(), store, **kwargs)

    def query(self, query: "Query | str", focus: str | None = None) -> Query:
        """`query` as a `Query` (built once; a string is analysed here). `focus`: what the
        person typed, when `query` adds words from the conversation."""
        if isinstance(query, Query):
            return query
        return Query.build(query if focus is None else focus, query, self.embeddings)

    def _ranked(self, query: Query, n: int) -> list[tuple[int, float, int | None, int | None]]:
        """(passage index, fused score, bm25 rank, vector rank), best first."""
        bm25_ranks: dict[int, int] = {}
        vec_ranks: dict[int, int] = {}
        if self.mode in ("hybrid", "bm25"):
            own = set(query.typed) if query.carried else None
            for rank, (i, _) in enumerate(self.bm25.top(query.tokens, n, own), 1):
                bm25_ranks[i] = rank
        if self.mode in ("hybrid", "vector") and self.store is not None:
            for rank, (pid, _) in enumerate(self.store.query(query.vector, n), 1):
                if pid in self.by_id:
                    vec_ranks[self.by_id[pid]] = rank
        fused = []
        for i in set(bm25_ranks) | set(vec_ranks):
            score = 0.0
            if i in bm25_ranks:
                score += BM25_WEIGHT / (self.rrf_k + bm25_ranks[i])
            if i in vec_ranks:
                score += self.vector_weight / (self.rrf_k + vec_ranks[i])
            fused.append((i, score, bm25_ranks.get(i), vec_ranks.get(i)))
        fused.sort(key=lambda x: (-x[1], x[0]))
        return fused

    def search(self, query: "Query | str", k: int, focus: str | None = None) -> list[Hit]:
        """Top-k passages; at most `per_source` (default ceil(k/2)) from one file while
        other files still have candidates. `focus` is what the person typed when `query` adds
        words from the conversation: those added words then count for less."""
        ranked = self._ranked(self.query(query, focus), max(CANDIDATES, 4 * k))
        cap = self.per_source or max(1, math.ceil(k / 2))
        chosen, spill, per = [], [], Counter()
        for i, score, br, vr in ranked:
            hit = Hit(self.passages[i], score, br, vr)
            if per[hit.passage.source] < cap:
                per[hit.passage.source] += 1
                chosen.append(hit)
            else:
                spill.append(hit)
            if len(chosen) == k:
                break
        if len(chosen) < k:  # only one or two files matched: fill from what the cap held back
            chosen.extend(spill[: k - len(chosen)])
            chosen.sort(key=lambda h: -h.score)
        return chosen

    def rank_sources(self, query: "Query | str", k: int) -> list[str]:
        """Distinct source files, best first (for document-level benchmarks)."""
        seen: list[str] = []
        for i, _, _, _ in self._ranked(self.query(query), max(CANDIDATES, 4 * k)):
            source = self.passages[i].source
            if source not in seen:
                seen.append(source)
                if len(seen) == k:
                    break
        return seen


def langchain_retriever(retriever: HybridRetriever, k: int):
    """Wrap a HybridRetriever as a LangChain `BaseRetriever` (imported only when asked for)."""
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document as LCDocument
    from langchain_core.retrievers import BaseRetriever

    class SanadRetriever(BaseRetriever):
        """Hybrid BM25 + vector retrieval over an Arabic corpus."""

        inner: object
        k: int = 5

        def _get_relevant_documents(self, query: str, *,
                                    run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
            return [LCDocument(page_content=h.passage.text, id=h.passage.id,
                               metadata={"source": h.passage.source, "start": h.passage.start,
                                         "end": h.passage.end, "score": h.score,
                                         "title": h.passage.title})
                    for h in self.inner.search(query, self.k)]

    return SanadRetriever(inner=retriever, k=k)
