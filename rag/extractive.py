"""The offline answerer: picks the sentences of the retrieved passages that answer the question.

A sentence scores by how much of the question's weight (BM25 idf of its stems) it and its
passage cover, plus a bonus when it holds the kind of thing the question word asks for
(متى → a date, كم → a number, ...). Below a calibrated threshold the answer says the corpus
does not hold one: see bench/calibrate.py for how the threshold was chosen.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from .analysis import normalize, question_kind, sentence_spans, tokenize, words
from .errors import SanadError
from .types import Answer, Citation, Hit

# Chosen by bench/fit_answerer.py on ARCD-train and TyDi (never on tests/qa): bench/README.md.
ANSWER_THRESHOLD = 0.32
SECOND_SENTENCE_RATIO = 0.85  # a second sentence is added when it scores this close to the best
MAX_SENTENCES = 2
MIN_WORDS = 4
ROOT_CREDIT = 0.5
NO_ANSWER_TEXT = "لا تتضمن المقالات المتاحة إجابة عن هذا السؤال."

_MONTHS = ("يناير|فبراير|مارس|أبريل|ابريل|مايو|يونيو|يوليو|أغسطس|اغسطس|سبتمبر|أكتوبر|اكتوبر|"
           "نوفمبر|ديسمبر|كانون|شباط|آذار|اذار|نيسان|أيار|ايار|حزيران|تموز|آب|أيلول|ايلول|تشرين")
_DAYS = "الاثنين|الإثنين|الثلاثاء|الأربعاء|الاربعاء|الخميس|الجمعة|السبت|الأحد|الاحد"
_PRE = r"(?<!\w)(?:[وبلف]|ال|بال|وال|لل|فال)?"  # a clitic or article may lead the word
_KIND_PATTERNS = {
    "date": re.compile(rf"\b(1[89]|20)\d\d\b|\d{{1,2}}:\d\d|{_PRE}(?:{_MONTHS}|{_DAYS}|الليلة|ليلا|"
                       r"القرن|عام|أعوام|الماضي|المقبل|فجرا|صباحا|مساء|يوم|أيام|شهر|أسبوع)(?!\w)"),
    "number": re.compile(rf"\d|{_PRE}(?:واحد|اثنا|اثني|اثنان|اثنين|اثنتان|"
                         r"اثنتين|ثلاث|أربع|اربع|خمس|ست|سبع|ثمان|تسع|عشر|مائة|مئة|مئات|ألف|آلاف|"
                         r"مليون|ملايين|مليار)(?:ة|ه|ي|ية|ين|ون|ات)?(?!\w)|بالمائة|بالمئة|عدة|العديد"),
    "person": re.compile(rf"{_PRE}(?:رئيس|المبعوث|مبعوث|وزير|أمير|الأمير|ولي العهد|الملك|ملك|السيد|"
                         r"مسؤول|الشيخ|الدكتور|النائب|المتحدث|سفير|الجنرال|زعيم|قائد)(?:ها|ه|هم|ي|ة)?(?!\w)"),
    "place": re.compile(rf"{_PRE}(?:مدينة|العاصمة|عاصمة|منطقة|محافظة|ولاية|إقليم|جزيرة|قرية|بلدة|"
                        r"شمال|جنوب|شرق|غرب|وسط)(?:ها|ه|هم|ي|ة)?(?!\w)"),
}


# Kinds whose absence a pattern can vouch for; names of people and places it cannot.
_CHECKABLE = frozenset({"date", "number"})

# Nouns that name the kind of answer rather than its content.
_SCAFFOLD = frozenset(tokenize("اسم عدد سنة عام يوم أيام الأسبوع شهر تاريخ موعد نسبة ساعة وقت "
                               "قرن طريقة سبب"))


@dataclass
class _Candidate:
    hit_rank: int
    start: int
    end: int
    text: str
    score: float
    hit: Hit


@lru_cache(maxsize=65536)
def _similar(a: str, b: str) -> bool:
    """Stems that differ by a letter or two (توكايف/توكاييف, spelling variants) still match."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4 or abs(len(a) - len(b)) > 2:
        return False
    if a.startswith(b) or b.startswith(a):
        return True
    return SequenceMatcher(None, a, b).ratio() >= 0.8


_WEAK = set("اويه")


@lru_cache(maxsize=65536)
def _root(stem: str) -> str:
    """A crude triliteral skeleton (drop a derivational prefix and long vowels), so that
    تطبيع/طبعت or مسلمين/إسلام meet; used only for partial credit."""
    if len(stem) >= 4 and stem[0] in "مت":
        stem = stem[1:]
    core = stem[0] + "".join(c for c in stem[1:] if c not in _WEAK) if stem else stem
    return core if len(core) >= 3 else ""


def _match(term: str, tokens: set[str]) -> float:
    if term in tokens or any(_similar(term, t) for t in tokens):
        return 1.0
    root = _root(term)
    if root and any(_root(t) == root for t in tokens):
        return ROOT_CREDIT
    return 0.0


@dataclass(frozen=True)
class QueryTerms:
    """Question terms with idf weights; `optional` terms name the kind of answer sought
    ("في أي سنة", "ما اسم", "كم عدد") and count only when a sentence has them."""

    weights: dict[str, float]
    optional: frozenset[str]


def _coverage(q: QueryTerms, tokens: set[str]) -> float:
    got = total = 0.0
    for term, w in q.weights.items():
        credit = _match(term, tokens)
        if credit == 0.0 and term in q.optional:
            continue
        got += w * credit
        total += w
    return got / total if total > 0 else 0.0


_FOCUS_AFTER = {normalize(w) for w in ("أي", "اي", "كم", "ما", "ماذا", "وما", "وكم", "بأي", "بماذا")}


def query_terms(query: str, retriever, focus: str | None = None) -> QueryTerms:
    """`focus`: the question as typed, when `query` adds words from the conversation; the
    added words weigh as they do in retrieval (`BM25.context_factor`)."""
    toks = tokenize(query)
    weights = {t: retriever.bm25.idf(t) for t in toks}
    if focus is not None:
        own = set(tokenize(focus))
        context = [t for t in weights if t not in own]
        factor = retriever.bm25.context_factor([t for t in weights if t in own], context)
        for t in context:
            weights[t] *= factor
    optional = set()
    ws = words(query)
    for i, w in enumerate(ws[:-1]):
        if w in _FOCUS_AFTER:
            optional.update(tokenize(ws[i + 1]))
    optional.update(t for t in toks if t in _SCAFFOLD)
    return QueryTerms(weights, frozenset(optional))


FEATURES = ("sentence_cov", "passage_cov", "kind_found", "kind_missing", "ngram_cos",
            "rank_prior", "bias")
# Logistic weights fitted on ARCD-train by bench/fit_answerer.py (see bench/README.md).
WEIGHTS = (4.0, 2.0, 0.6, -0.6, 1.0, 0.5, -3.5)


def sentence_features(question: str, query: str, hits: list[Hit], retriever
                      ) -> list[tuple[_Candidate, list[float]]]:
    """Each answer-sized sentence of the hits with its feature vector (FEATURES order)."""
    from .embeddings import hashing_vector

    terms = query_terms(query, retriever, focus=question)
    kind = question_kind(question)
    pattern = _KIND_PATTERNS.get(kind or "")
    # n-gram likeness to what the person typed; to the whole query only when that is all
    # carried context ("ولماذا؟")
    qvec = hashing_vector(question if tokenize(question) else query)
    seen: set[tuple[str, int]] = set()
    out = []
    for rank, hit in enumerate(hits):
        p = hit.passage
        passage_cov = _coverage(terms, set(tokenize(p.text)))
        for s, e in sentence_spans(p.text):
            key = (p.source, p.start + s)
            if key in seen:
                continue
            seen.add(key)
            text = p.text[s:e]
            if len(text.split()) < MIN_WORDS:  # headings and labels are not answers
                continue
            found = bool(pattern is not None and pattern.search(text))
            cos = sum(a * b for a, b in zip(qvec, hashing_vector(text)))
            feats = [_coverage(terms, set(tokenize(text))), passage_cov, float(found),
                     float(kind in _CHECKABLE and not found), cos, 1.0 / (1 + rank), 1.0]
            out.append((_Candidate(rank, p.start + s, p.start + e, text, 0.0, hit), feats))
    return out


def score_sentences(question: str, query: str, hits: list[Hit], retriever,
                    weights: tuple[float, ...] = WEIGHTS) -> list[_Candidate]:
    """Candidates with `score` = estimated probability that the sentence answers, best first."""
    out = []
    for cand, feats in sentence_features(question, query, hits, retriever):
        z = sum(w * f for w, f in zip(weights, feats))
        cand.score = 1.0 / (1.0 + math.exp(-z))
        out.append(cand)
    out.sort(key=lambda c: (-c.score, c.hit_rank, c.start))
    return out


def _quote_holds(document, source: str, start: int, end: int, quote: str) -> bool:
    """The quoted words still stand at their span in the file (it may have changed since
    it was indexed); without a way to open the file, nothing can be claimed."""
    if document is None:
        return False
    try:
        return document(source).text[start:end] == quote
    except SanadError:
        return False


def answer(question: str, query: str, hits: list[Hit], retriever, document=None) -> Answer:
    """Extract the answering sentences, each followed by its citation marker.

    `document(source)` opens a corpus file, to check each quote against it."""
    candidates = score_sentences(question, query, hits, retriever)
    if not candidates or candidates[0].score < ANSWER_THRESHOLD:
        return Answer(text=NO_ANSWER_TEXT, citations=[], passages=hits, query=query,
                      question=question, answered=False)
    best = candidates[0].score
    chosen = [candidates[0]]
    for c in candidates[1:]:
        if len(chosen) == MAX_SENTENCES or c.score < max(ANSWER_THRESHOLD, SECOND_SENTENCE_RATIO * best):
            break
        chosen.append(c)
    parts, citations = [], []
    for c in chosen:
        n = c.hit_rank + 1  # marker n names passages[n - 1], as in LLM answers
        p = c.hit.passage
        parts.append(f"{c.text} [{n}]")
        citations.append(Citation(marker=n, source=p.source, passage_id=p.id, start=c.start,
                                  end=c.end, quote=c.text,
                                  verified=_quote_holds(document, p.source, c.start, c.end, c.text),
                                  title=p.title,
                                  outlet=p.outlet, date=p.date))
    return Answer(text="\n".join(parts), citations=citations, passages=hits, query=query,
                  question=question, answered=True)
