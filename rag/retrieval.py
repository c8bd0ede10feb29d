"""Hybrid retrieval: Chroma vectors and BM25 over stemmed Arabic tokens, fused by rank.

Reciprocal rank fusion needs no score calibration between the two sides. A cap per source
keeps one article from filling every slot when several articles tell the same story. The BM25
side is opened from its saved form (`lexical.py`), and only the passages of the final hits
are read from Chroma: nothing per question grows with the corpus beyond the searches.
"""

from __future__ import annotations

import math
from collections import Counter

from .embeddings import sentence_space
from .errors import EmbeddingMismatchError
from .lexical import BM25, CONTEXT_SHARE  # noqa: F401  (CONTEXT_SHARE: part of this API)
from .query import Query
from .types import Hit, Passage

BM25_WEIGHT = 1.0
# (vector weight, RRF k) per embedding, chosen by bench/tune_fusion.py on ARCD-train by the rule
# written there (bench/README.md). A side that finds nothing (BM25 for an English question)
# simply adds nothing: the other side's ranks decide.
FUSION = {"hashing-ngram-v1": (0.2, 10), "e5-small-q4": (1.5, 10)}
# An English question's BM25 side reads its dictionary translations (`lexicon`), weaker than
# an Arabic question's own words: its weights by the same rule, on ARCD-train's questions in
# English (bench/tune_fusion.py --english): R@5 / MRR@10 .909 / .729 against .908 / .720 at
# the Arabic weights and .882 / .709 for the vectors alone.
FUSION_TRANSLATED = {"e5-small-q4": (2.0, 10)}
DEFAULT_FUSION = FUSION["e5-small-q4"]  # remote models: weighted as a real model
CANDIDATES = 50  # per side, before fusion


class HybridRetriever:
    """BM25 + vectors over the passages of one index."""

    def __init__(self, passages: list[Passage] | None, store, *, mode: str = "hybrid",
                 per_source: int | None = None, vector_weight: float | None = None,
                 rrf_k: int | None = None, bm25: BM25 | None = None):
        """In memory from `passages` (tests, small pools), or over a saved `bm25` whose
        passages are read from `store` when they are hit."""
        if bm25 is None:
            passages = list(passages or [])
            bm25 = BM25.of_passages(passages)
        self._memory = {p.id: p for p in passages} if passages is not None else None
        self.bm25 = bm25
        self.store = store
        self.embeddings = getattr(store, "embeddings", None)
        self.lexicon = None  # English words to Arabic stems (`lexicon`), set by `from_store`
        self.mode = mode  # "hybrid", "bm25" or "vector" (the last two for benchmarks)
        self.per_source = per_source
        name = getattr(self.embeddings, "name", "")
        weight, k = FUSION.get(name, DEFAULT_FUSION)
        self.vector_weight = weight if vector_weight is None else vector_weight
        self.rrf_k = k if rrf_k is None else rrf_k
        self.translated_fusion = (FUSION_TRANSLATED.get(name) if vector_weight is None
                                  and rrf_k is None else None)

    @classmethod
    def from_store(cls, store, settings=None, **kwargs) -> "HybridRetriever":
        """Over the index's saved lexical side (rebuilt from the collection if it is stale)."""
        from .lexical import open_lexical
        from .lexicon import Lexicon

        bm25 = open_lexical(store)
        name, width = sentence_space(store.embeddings)
        saved = bm25.sentences
        if width and saved is not None and len(saved.ids) and saved.vectors.shape[1] != width:
            raise EmbeddingMismatchError(  # built by an older sanad: what asks would misread
                f"The index at {store.where} holds sentence vectors of {saved.vectors.shape[1]} "
                f"numbers, not the {width} of {name}; run `sanad index` to rebuild it.", None)
        retriever = cls(None, store, bm25=bm25, **kwargs)
        retriever.lexicon = Lexicon.find(settings.dictionary if settings else None)
        return retriever

    def query(self, query: "Query | str", focus: str | None = None) -> Query:
        """`query` as a `Query` (built once; a string is analysed here). `focus`: what the
        person typed, when `query` adds words from the conversation."""
        if isinstance(query, Query):
            return query
        return Query.build(query if focus is None else focus, query, self.embeddings,
                           self.lexicon)

    def _ranked(self, query: Query, n: int) -> list[tuple[str, str, float, int | None, int | None]]:
        """(passage id, source, fused score, bm25 rank, vector rank), best first."""
        bm25_ranks: dict[str, int] = {}
        vec_ranks: dict[str, int] = {}
        sources: dict[str, str] = {}
        if self.mode in ("hybrid", "bm25"):
            own = set(query.typed) if query.carried else None
            for rank, (i, _) in enumerate(self.bm25.top(query.tokens, n, own), 1):
                pid = self.bm25.passage_id(i)
                bm25_ranks[pid] = rank
                sources[pid] = self.bm25.source(i)
        if self.mode in ("hybrid", "vector") and self.store is not None:
            for rank, (pid, _, source) in enumerate(self.store.query(query.vector, n), 1):
                vec_ranks[pid] = rank
                sources[pid] = source
        weight, rrf_k = self.vector_weight, self.rrf_k
        if query.translations and self.translated_fusion:
            weight, rrf_k = self.translated_fusion
        fused = []
        for pid in set(bm25_ranks) | set(vec_ranks):
            score = 0.0
            if pid in bm25_ranks:
                score += BM25_WEIGHT / (rrf_k + bm25_ranks[pid])
            if pid in vec_ranks:
                score += weight / (rrf_k + vec_ranks[pid])
            fused.append((pid, sources[pid], score, bm25_ranks.get(pid), vec_ranks.get(pid)))
        fused.sort(key=lambda x: (-x[2], x[0]))
        return fused

    def sentence_vectors(self, ids: list[str]) -> dict:
        """Stored vectors of these sentences: from the saved copy beside the lexical index,
        else from the store's sentence collection."""
        saved = self.bm25.sentences
        got = saved.get(ids) if saved is not None else {}
        missing = [i for i in ids if i not in got]
        if missing and self.store is not None:
            got.update(self.store.vectors(missing, sentences=True))
        return got

    def _passages(self, ids: list[str]) -> dict[str, Passage]:
        if self._memory is not None:
            return {i: self._memory[i] for i in ids if i in self._memory}
        return self.store.passages_by_id(ids)

    def search(self, query: "Query | str", k: int, focus: str | None = None) -> list[Hit]:
        """Top-k passages; at most `per_source` (default ceil(k/2)) from one file while
        other files still have candidates. `focus` is what the person typed when `query` adds
        words from the conversation: those added words then count for less."""
        ranked = self._ranked(self.query(query, focus), max(CANDIDATES, 4 * k))
        cap = self.per_source or max(1, math.ceil(k / 2))
        found: dict = {}
        while True:
            chosen = _select(ranked, k, cap)
            found.update(self._passages([r[0] for r in chosen if r[0] not in found]))
            hits = [Hit(found[pid], score, br, vr) for pid, _, score, br, vr in chosen
                    if pid in found]
            # The same text under two names (a copy, a link) is one passage: the copies
            # filled the hits with one paragraph. Left out, the next passages take their place.
            seen, copies = set(), set()
            for hit in hits:
                if hit.passage.text in seen:
                    copies.add(hit.passage.id)
                seen.add(hit.passage.text)
            if not copies:
                return hits
            ranked = [row for row in ranked if row[0] not in copies]

    def rank_sources(self, query: "Query | str", k: int) -> list[str]:
        """Distinct source files, best first (for document-level benchmarks)."""
        seen: list[str] = []
        for _, source, _, _, _ in self._ranked(self.query(query), max(CANDIDATES, 4 * k)):
            if source not in seen:
                seen.append(source)
                if len(seen) == k:
                    break
        return seen


def _select(ranked: list, k: int, cap: int) -> list:
    """The top k rows, at most `cap` from one file while other files still have candidates."""
    chosen, spill, per = [], [], Counter()
    for row in ranked:
        if per[row[1]] < cap:
            per[row[1]] += 1
            chosen.append(row)
        else:
            spill.append(row)
        if len(chosen) == k:
            break
    if len(chosen) < k:  # only one or two files matched: fill from what the cap held back
        chosen.extend(spill[: k - len(chosen)])
        chosen.sort(key=lambda r: -r[2])
    return chosen


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
