"""The offline answerer: picks the sentences of the retrieved passages that answer the question.

A sentence scores by how much of the question's weight (BM25 idf of its stems) it and its
passage cover, how close its vector and its passage's vector are to the question's (e5: by
meaning, across languages), and whether it holds the kind of thing the question asks for
(متى → a date, كم عدد → a count, not a percentage; `matching`); for questions not in Arabic,
also by a metric for the two vectors fitted with the ranker (`Scorer.metric`, metrics.json),
and for English ones by a second model's cosine (`use`, `Scorer.use`), trained to align
translations. The vectors were stored at index time: nothing of the corpus is embedded here. A logistic
model turns the features into the probability that the sentence answers; below a calibrated
threshold the answer says the corpus does not hold one. A scorer may instead refuse by a
second model (`Scorer.answerability`) that reads the best-ranked sentence and the question as
a whole: what it misses, how far it leads. bench/fit_answerer.py fits both on ARCD-train and
TyDi (never tests/qa).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import use
from .analysis import tokenize
from .chunking import passage_sentences
from .embeddings import E5_NAME
from .errors import SanadError
from .matching import (CHECKABLE, coverage, kind_found, query_terms, skeletons,
                       translated_terms)
from .query import Query
from .replies import NO_ANSWER
from .types import Answer, Citation, Hit

SECOND_SENTENCE_RATIO = 0.85  # a second sentence is added when it scores this close to the best
MAX_SENTENCES = 2
NO_ANSWER_TEXT = NO_ANSWER["ar"]

@dataclass
class _Candidate:
    hit_rank: int
    start: int
    end: int
    text: str
    score: float
    hit: Hit
    logit: float = 0.0  # the ranker's: `score` is its sigmoid
    features: tuple[float, ...] = ()
    vector: np.ndarray | None = None  # the sentence's, from the index
    adapted: float = 0.0  # the scorer's metric term (`Scorer.metric`), part of `score`


FEATURES = ("sentence_cov", "passage_cov", "kind_found", "kind_missing", "sentence_cos",
            "sentence_cos_gap", "passage_cos", "rank_prior", "window_cov", "window_missing",
            "passage_missing", "neighbour_cos", "best_passage_cov", "best_passage_cos",
            "passage_cos_margin", "use_cos", "use_gap", "bias")


# Of the question as a whole, seen from its best-ranked sentence: that sentence's features,
# its ranking logit and lead over the runner-up, and the best any sentence of the hits does.
ANSWERABILITY = FEATURES[:-1] + ("rank_logit", "rank_margin", "best_sentence_cov",
                                 "best_window_cov", "best_sentence_cos", "bias")


def answerability_features(features: np.ndarray, weights, adapted=None
                            ) -> tuple[int, np.ndarray]:
    """(index of the best-ranked sentence, ANSWERABILITY features) of a question's sentences
    (rows of FEATURES), ranked by the logistic `weights` plus each sentence's `adapted` term
    (`Scorer.metric`). Features a fit adds for the metric alone (named "qs_*",
    bench/fit_answerer.py --metric) are the ranker's only."""
    z = features @ np.asarray(weights, dtype=float)
    if adapted is not None:
        z = z + np.asarray(adapted, dtype=float)
    order = np.argsort(-z, kind="stable")
    best = int(order[0])
    margin = z[best] - z[order[1]] if len(z) > 1 else 5.0
    col = FEATURES.index
    row = features[best]
    extra = [z[best], margin, features[:, col("sentence_cov")].max(),
             features[:, col("window_cov")].max(),
             row[col("sentence_cos")] - row[col("sentence_cos_gap")], 1.0]
    own = [i for i, name in enumerate(FEATURES[:-1]) if not name.startswith("qs_")]
    return best, np.r_[row[own], extra]


@dataclass(frozen=True)
class Scorer:
    """Logistic weights over FEATURES (does this sentence answer?) and the probability below
    which sanad refuses. With `answerability` (logistic weights over ANSWERABILITY), the
    refusal is that second model's: ranking sentences and deciding whether the hits answer at
    all are different questions, fitted apart."""

    weights: tuple[float, ...]
    threshold: float
    answerability: tuple[float, ...] | None = None
    # A second sentence is quoted when it comes close enough to the best and from where
    # `second_from` allows: "any" passage, or the best's own "source" or "passage" (one from
    # elsewhere is most often a wrong citation). Close enough, `second_by` "score": it scores
    # at least max(threshold, second_ratio * the best's); "odds": the ranker's odds of it
    # against the best, exp(logit - best logit), are at least second_ratio (a two-stage
    # scorer's ranker is a conditional logit, whose probabilities compare only within a
    # question, and its threshold is the answerability model's, in other units).
    second_ratio: float = SECOND_SENTENCE_RATIO
    second_from: str = "any"
    second_by: str = "score"
    # A question that names a checkable kind (كم عدد: a count; متى: a date...) is answered
    # only by a sentence holding one; none among the hits is a refusal (issue 8).
    kind_required: bool = False
    # A metric for the question's and each sentence's vectors, by name in metrics.json: the
    # ranking logit gains sum_i m_i * q_i * s_i, a weighted cosine fitted with the ranker
    # (bench/fit_answerer.py --metric) that reads meaning where the words differ.
    metric: str | None = None
    # Reads the second model's cosine of question and sentence (`use`; "use_cos", "use_gap"),
    # stored after e5's vector in each sentence's: zero for the other scorers.
    use: bool = False


METRICS = Path(__file__).with_name("metrics.json")


@functools.cache
def metric_of(name: str) -> np.ndarray:
    """The named metric's weights, one per vector dimension (written by fit_answerer)."""
    return np.asarray(json.loads(METRICS.read_text(encoding="utf-8"))[name], dtype=float)


# Fitted by bench/fit_answerer.py (outputs in bench/fit_answerer.*.out.json; bench/README.md).
# "lexical" serves the hashing embeddings (its cosine is n-gram likeness); "e5" Arabic
# questions; "e5-crosslingual" questions in another language, where the stems of the question
# cannot meet the Arabic text and only meaning can; "e5-english" and "e5-dictionary" English
# questions, without the dictionary and with it. The second-sentence rule of each:
# bench/fit_answerer.py --second (bench/fit_answerer.*.second.out.json). The e5 scorers were
# refitted (ninth session) with questions on news stories written for the purpose, which the
# weights before had never seen: on those alone, in 5 folds, e5 .2745 -> .3522, e5-dictionary
# .3838 -> .4502, e5-crosslingual .3843 -> .4131, e5-english .3866 -> .4250.
SCORERS = {
    "lexical": Scorer((1.555, 1.869, 0.731, -1.786, 0.95, 0.0, 0.0, 0.711, 1.46, 0.019, -0.104,
                       0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -5.434), 0.58,
                      (0.114, 4.268, -0.383, -5.747, 2.281, 0.0, 0.0, 0.974, 0.53, -0.626, 1.488,
                       0.0, 0.26, 0.0, 0.0, 0.0, 0.0, 0.322, 0.646, -1.999, -1.87, 2.281,
                       -2.053),
                      second_ratio=0.6, second_from="source", second_by="odds"),
    "e5": Scorer((0.565, 1.257, 0.441, 0.0, 10.084, 7.267, 15.339, 0.303, 1.109, 0.019,
                  -0.025, -0.06, 0.0, 0.0, 0.0, 0.0, 0.0, -24.838),
                 0.58,
                 (0.203, 1.514, -0.026, 0.0, 11.848, 7.127, 16.837, -0.442, 0.973, -0.041, -0.038,
                  0.688, -1.472, -8.923, -14.906, 0.0, 0.0, 0.299, 0.437, -3.256, 1.316, 13.146,
                  -26.194),
                 second_ratio=0.7, second_from="source", second_by="odds",
                 kind_required=True),
    # With a metric for the vectors (metrics.json): 5-fold .5276 against .5004 without.
    "e5-crosslingual": Scorer((-0.749, 1.445, 0.768, -1.872, 25.053, 23.61, 17.478, 0.289,
                               0.191, 0.148, -0.043, -0.044, 0.0, 0.0, 0.0, 0.0, 0.0, -36.029),
                              0.69,
                              (0.425, 0.321, -0.189, 0.022, 3.382, -5.503, 1.361, 0.37, -0.288,
                               -0.164, -0.243, 0.541, -0.222, -5.103, -9.09, 0.0, 0.0, 0.658, 0.4,
                               -0.223, -0.222, 4.539, -1.841),
                              second_ratio=0.5, second_from="source", second_by="odds",
                              metric="e5-crosslingual", kind_required=True),
    # English questions without the dictionary: the crosslingual scorer's features and the
    # second model's cosine (`use`), fitted on the same English questions, with its own
    # metric: 5-fold .5582 against .5307 for the crosslingual scorer's form refitted.
    "e5-english": Scorer((-0.853, 1.438, 0.751, -2.057, 20.86, 19.651, 16.601, 0.348, 0.153,
                          0.114, -0.117, -0.072, 0.0, 0.0, 0.0, 1.92, 2.292, -32.193),
                         0.64,
                         (0.253, -0.055, -0.04, -0.222, 2.967, -5.833, -0.533, 0.281, -0.006,
                          -0.206, -0.295, 0.39, -0.172, -6.534, -9.05, 2.214, -1.937, 0.658, 0.32,
                          -0.03, -0.172, 4.448, 0.48),
                         second_ratio=0.6, second_from="source", second_by="odds",
                         metric="e5-english", use=True, kind_required=True),
    # English questions translated word by word by the bilingual dictionary (`lexicon`): their
    # Arabic stems join the coverage features. 5-fold .547 against .488 without it.
    # With a metric for the vectors (metrics.json): 5-fold .5675 against .5375 without.
    # With the second model's cosine (`use`): 5-fold .5916 against .5729 without.
    "e5-dictionary": Scorer((0.284, 2.093, 0.675, -2.116, 17.507, 16.527, 19.227, 0.26,
                             0.963, 0.712, 0.604, -0.03, 0.0, 0.0, 0.0, 1.416, 1.737, -33.494),
                            0.58,
                            (-0.654, 0.891, -0.091, 0.726, 6.8, -3.095, 3.638, 0.421, 0.453, 0.534,
                             -0.382, 0.31, 0.056, -22.708, -10.273, 0.481, -0.017, 0.733, 0.269,
                             -0.973, 0.26, 9.213, 3.413),
                            second_ratio=0.6, second_from="source", second_by="odds",
                            metric="e5-dictionary",
                            use=True, kind_required=True),
}


CROSSLINGUAL = ("e5-crosslingual", "e5-dictionary", "e5-english")  # read by meaning and names


def scorer_for(query: Query, retriever) -> Scorer:
    name = getattr(getattr(retriever, "embeddings", None), "name", "")
    if name == E5_NAME:
        if query.language == "ar":
            return SCORERS["e5"]
        if query.translations:
            return SCORERS["e5-dictionary"]
        return SCORERS["e5-english" if query.reply == "en" else "e5-crosslingual"]
    return SCORERS["lexical"]


def _cos(vector: np.ndarray | None, other: np.ndarray | None) -> float:
    if vector is None or other is None or len(vector) != len(other):
        return 0.0
    return float(np.dot(vector, other))


@functools.lru_cache(maxsize=4096)
def _stems(text: str) -> frozenset[str]:
    """A sentence's or passage's stems: the same passages come back question after question."""
    return frozenset(tokenize(text))


def sentence_features(query: Query, hits: list[Hit], retriever
                      ) -> list[tuple[_Candidate, list[float]]]:
    """Each answer-sized sentence of the hits with its feature vector (FEATURES order).

    A sentence's window is it and its neighbours in the passage: an answer often names its
    subject in the sentence before. The sentence and passage vectors are read from the index
    by id (stored at index time)."""
    scorer = scorer_for(query, retriever)
    crosslingual = scorer in [SCORERS[name] for name in CROSSLINGUAL]
    terms = translated_terms(query, retriever) if crosslingual else query_terms(query, retriever)
    vocabulary = _stems
    if crosslingual:  # names meet by skeleton; translated words (if any) by stem
        vocabulary = ((lambda text: skeletons(text) | _stems(text)) if query.translations
                      else skeletons)
    kind = query.kind
    qvec = query.vector
    store = getattr(retriever, "store", None)
    sentences, seen = [], set()
    for rank, hit in enumerate(hits):
        sents = passage_sentences(hit.passage)
        for i, sent in enumerate(sents):
            if sent.id not in seen:
                seen.add(sent.id)
                sentences.append((rank, hit, sent, sents[max(0, i - 1):i] + sents[i + 1:i + 2]))
    words_of: dict[str, frozenset[str] | set[str]] = {}  # a sentence is its neighbours' too
    for _, _, sent, near in sentences:
        for s in (sent, *near):
            if s.id not in words_of:
                words_of[s.id] = vocabulary(s.text)
    svecs = pvecs = {}
    if qvec is not None and store is not None and sentences:
        svecs = retriever.sentence_vectors(sorted(words_of))
        pvecs = store.vectors([h.passage.id for h in hits])
    d = len(qvec) if qvec is not None else 0
    seconds = {}  # sentence id -> its `use` vector, if stored
    for sid, v in list(svecs.items()):
        svecs[sid], seconds[sid] = use.split(v, d)
    cosines = [_cos(qvec, svecs.get(s.id)) for _, _, s, _ in sentences]
    meaning = [0.0] * len(sentences)
    if scorer.use and any(v is not None for v in seconds.values()):
        qmeaning = query.meaning
        meaning = [_cos(qmeaning, seconds.get(s.id)) for _, _, s, _ in sentences]
    best_meaning = max(meaning, default=0.0)
    best_cos = max(cosines, default=0.0)
    passage_cos = sorted((_cos(qvec, pvecs.get(h.passage.id)) for h in hits), reverse=True)
    margin = passage_cos[0] - passage_cos[1] if len(passage_cos) > 1 else 0.0
    passage_words = {h.passage.id: vocabulary(h.passage.text) for h in hits}
    terms = terms.within(set().union(*passage_words.values(), *words_of.values()))
    passage_cov = {pid: coverage(terms, words) for pid, words in passage_words.items()}
    best_passage_cov = max((c for c, _ in passage_cov.values()), default=0.0)

    out = []
    for (rank, hit, sent, near), cos, second in zip(sentences, cosines, meaning):
        p = hit.passage
        found = kind_found(kind, sent.text)
        tokens = words_of[sent.id]
        window = tokens.union(*(words_of[n.id] for n in near))
        cov, _ = coverage(terms, tokens)
        window_cov, window_missing = coverage(terms, window)
        feats = [cov, passage_cov[p.id][0], float(found),
                 float(kind in CHECKABLE and not found), cos, cos - best_cos,
                 _cos(qvec, pvecs.get(p.id)), 1.0 / (1 + rank), window_cov, window_missing,
                 passage_cov[p.id][1], max((_cos(qvec, svecs.get(n.id)) for n in near),
                                           default=0.0),
                 best_passage_cov, passage_cos[0] if passage_cos else 0.0, margin,
                 second, second - best_meaning, 1.0]
        out.append((_Candidate(rank, sent.start, sent.end, sent.text, 0.0, hit,
                               vector=svecs.get(sent.id)), feats))
    return out


def score_sentences(query: Query, hits: list[Hit], retriever, scorer: Scorer | None = None
                    ) -> list[_Candidate]:
    """Candidates with `score` = estimated probability that the sentence answers, best first."""
    scorer = scorer or scorer_for(query, retriever)
    weighted = None  # the question's vector under the scorer's metric, if it has one
    if scorer.metric and query.vector is not None:
        weighted = query.vector * metric_of(scorer.metric)
    out = []
    for cand, feats in sentence_features(query, hits, retriever):
        z = sum(w * f for w, f in zip(scorer.weights, feats))
        if weighted is not None and cand.vector is not None:
            cand.adapted = float(np.dot(weighted, cand.vector))
            z += cand.adapted
        cand.logit = z
        cand.score = 1.0 / (1.0 + math.exp(-z))
        cand.features = tuple(feats)
        out.append(cand)
    out.sort(key=lambda c: (-c.score, c.hit_rank, c.start))
    return out


_KIND_MISSING = FEATURES.index("kind_missing")


def kind_checked(candidates: list[_Candidate], scorer: Scorer) -> list[_Candidate]:
    """The candidates a scorer may quote: with `kind_required`, those holding the kind of
    answer the question names, when it is one a pattern can vouch for."""
    if not scorer.kind_required:
        return candidates
    return [c for c in candidates if not c.features[_KIND_MISSING]]


def answerable(candidates: list[_Candidate], scorer: Scorer) -> float:
    """Probability that the best candidate answers the question (candidates best first)."""
    if scorer.answerability is None:
        return candidates[0].score
    _, row = answerability_features(np.array([c.features for c in candidates]), scorer.weights,
                                    [c.adapted for c in candidates])
    return 1.0 / (1.0 + math.exp(-float(row @ np.asarray(scorer.answerability))))


def _quote_holds(document, source: str, start: int, end: int, quote: str) -> bool:
    """The quoted words still stand at their span in the file (it may have changed since
    it was indexed); without a way to open the file, nothing can be claimed."""
    if document is None:
        return False
    try:
        return document(source).text[start:end] == quote
    except SanadError:
        return False


def _same_origin(where: str, first, other) -> bool:
    """May a sentence of passage `other` be quoted after the best one, of passage `first`?"""
    if where == "source":
        return other.source == first.source
    if where == "passage":
        return other.id == first.id
    return True


def _close_enough(scorer: Scorer, first: _Candidate, other: _Candidate) -> bool:
    """Does `other` come close enough to the best candidate to be quoted after it?"""
    if scorer.second_by == "odds":
        return (scorer.second_ratio <= 0
                or other.logit - first.logit >= math.log(scorer.second_ratio))
    return other.score >= max(scorer.threshold, scorer.second_ratio * first.score)


def answer(query: Query, hits: list[Hit], retriever, document=None) -> Answer:
    """Extract the answering sentences, each followed by its citation marker.

    `document(source)` opens a corpus file, to check each quote against it."""
    question = query.question
    scorer = scorer_for(query, retriever)
    threshold = scorer.threshold
    candidates = kind_checked(score_sentences(query, hits, retriever, scorer), scorer)
    if not candidates or answerable(candidates, scorer) < threshold:
        return Answer(text=NO_ANSWER[query.reply], citations=[], passages=hits,
                      query=query.text, question=question, answered=False)
    first = candidates[0]
    chosen = [first]
    for c in candidates[1:]:
        if len(chosen) == MAX_SENTENCES or not _close_enough(scorer, first, c):
            break
        if _same_origin(scorer.second_from, first.hit.passage, c.hit.passage):
            chosen.append(c)
    parts, citations = [], []
    for n, c in enumerate(chosen, 1):  # one marker per quoted sentence, 1..n (types.Citation)
        p = c.hit.passage
        parts.append(f"{c.text} [{n}]")
        citations.append(Citation(marker=n, source=p.source, passage_id=p.id, start=c.start,
                                  end=c.end, quote=c.text,
                                  verified=_quote_holds(document, p.source, c.start, c.end, c.text),
                                  title=p.title, outlet=p.outlet, date=p.date,
                                  passage=c.hit_rank + 1))
    return Answer(text="\n".join(parts), citations=citations, passages=hits, query=query.text,
                  question=question, answered=True)
