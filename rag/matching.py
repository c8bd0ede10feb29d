"""How a sentence meets a question: the kind of answer it holds, and how much of the
question's words it covers.

Kinds: متى asks for a date, كم عدد for a count (a percentage does not answer it), كم عمر for
an age. Coverage: the question's stems weighted by their BM25 idf, matched exactly, by a
letter or two of spelling, or (for partial credit) by a crude triliteral root; words that only
name the kind of answer ("ما اسم", "في أي سنة") count only where a sentence has them. Across
languages, names and numbers stand in for stems (`crosslingual_terms`). The answerer
(`extractive`) turns these into features.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache

from .analysis import TIME_UNITS, normalize, reply_language, tokenize, words
from .query import Query

ROOT_CREDIT = 0.5  # a match by root alone (تطبيع/طبعت) counts half

_MONTHS = ("يناير|فبراير|مارس|أبريل|ابريل|مايو|يونيو|يوليو|أغسطس|اغسطس|سبتمبر|أكتوبر|اكتوبر|"
           "نوفمبر|ديسمبر|كانون|شباط|آذار|اذار|نيسان|أيار|ايار|حزيران|تموز|آب|أيلول|ايلول|تشرين")
_DAYS = "الاثنين|الإثنين|الثلاثاء|الأربعاء|الاربعاء|الخميس|الجمعة|السبت|الأحد|الاحد"
_PRE = r"(?<!\w)(?:[وبلف]|ال|بال|وال|لل|فال)?"  # a clitic or article may lead the word
_KIND_PATTERNS = {
    # a year (1000-2099, or any number marked م/هـ: 1453م, 61 هـ), a clock time, a month, a
    # day, or a word that dates (سنة 753 ق.م، قبل الميلاد، للهجرة، في عصر النهضة، في سنّ مبكرة،
    # عندما)
    "date": re.compile(rf"(?<!\d)(1\d|20)\d\d(?!\d)|\d{{1,2}}:\d\d|(?<!\d)\d{{1,4}} ?(?:م|هـ|ق\.? ?م)(?!\w)|"
                       rf"{_PRE}(?:{_MONTHS}|{_DAYS}|الليلة|ليلا|القرن|عام|أعوام|سنة|سنوات|"
                       r"الميلاد|ميلادي|ميلادية|الهجرة|هجري|هجرية|الماضي|المقبل|فجرا|صباحا|"
                       r"مساء|يوم|أيام|شهر|أسبوع|عصر|عهد|زمن|سن|عندما|حينما|كلما)(?!\w)"),
    "number": re.compile(rf"\d|{_PRE}(?:واحد|اثنا|اثني|اثنان|اثنين|اثنتان|"
                         r"اثنتين|ثلاث|أربع|اربع|خمس|ست|سبع|ثمان|تسع|عشر|مائة|مئة|مئات|ألف|آلاف|"
                         r"مليون|ملايين|مليار)(?:ة|ه|ي|ية|ين|ون|ات)?(?!\w)|بالمائة|بالمئة|عدة|العديد"),
    "person": re.compile(rf"{_PRE}(?:رئيس|المبعوث|مبعوث|وزير|أمير|الأمير|ولي العهد|الملك|ملك|السيد|"
                         r"مسؤول|الشيخ|الدكتور|النائب|المتحدث|سفير|الجنرال|زعيم|قائد)(?:ها|ه|هم|ي|ة)?(?!\w)"),
    "place": re.compile(rf"{_PRE}(?:مدينة|العاصمة|عاصمة|منطقة|محافظة|ولاية|إقليم|جزيرة|قرية|بلدة|"
                        r"شمال|جنوب|شرق|غرب|وسط)(?:ها|ه|هم|ي|ة)?(?!\w)"),
}

# An hour of the day: a clock time (18:30, 10 ص, 9 pm) in the text as written, or in its
# normalised words a time of day or an hour named (الساعة 6، الساعة السادسة).
_CLOCK = re.compile(r"(?<!\d)\d{1,2}:\d\d(?!\d)|(?<!\d)\d{1,2} ?(?:ص|م|[ap]\.? ?m\.?)(?!\w)",
                    re.IGNORECASE)
_TIME_OF_DAY = re.compile(
    r"(?<!\w)(?:[وبف]?(?:صباحا|مساء|ظهرا|فجرا|عصرا|ليلا)|(?:[وف]?(?:ال|بال|لل))(?:ظهر|فجر|"
    r"ظهيره|غروب|شروق)|منتصف (?:الليل|النهار))(?!\w)|ساعه (?:\d|ال(?:واحده|ثانيه|ثالثه|رابعه|"
    r"خامسه|سادسه|سابعه|ثامنه|تاسعه|عاشره|حاديه))")

_NUMBER_WORD = re.compile(_PRE + r"(?:واحد|اثن\w*|ثلاث|اربع|خمس|ست|سبع|"
                          r"ثمان|تسع|عشر|عشرات|مايه|ميه|مييات|الف|الاف|مليون|ملايين|مليار|"
                          r"مليارات)(?:ه|ي|يه|ين|ون|ات)?(?!\w)")
# Ordinals name a place in a series, not a count: "الحادي عشر" (a date's day), "القرن التاسع
# عشر", "القرن العشرين", "القرن 19" (normalised text).
_ORDINAL = re.compile(_PRE + r"(?:حادي|ثاني|ثالث|رابع|خامس|سادس|سابع|"
                      r"ثامن|تاسع)(?:ه)? (?:ال)?عشر(?:ه)?(?!\w)|"
                      r"قرن (?:ال\w+|\d+)(?: (?:ال)?عشر(?:ه)?(?!\w))?")
_PERCENT_WORD = r"(?:بالمايه|بالميه|في المايه|في الميه)"
_YEAR = re.compile(r"(?<!\d)(?:1[89]|20)\d\d(?!\d)")
_AGE = re.compile(r"(?<!\d)\d+ (?:عام|عاما|سنه|سنوات|سنين)(?!\w)|من العمر|(?<!\w)عمر(?:ه|ها)?(?!\w)")


def _has_percent(raw: str, norm: str) -> bool:
    return bool(re.search(r"\d\s*[%٪]|[%٪]\s*\d", raw) or re.search(rf"\d+ {_PERCENT_WORD}", norm))


# A span of time (normalised): "منذ ثلاثين عاما" counts years, which no count of people,
# states or visits is answered by (a question counting time asks for a number: analysis).
_UNITS = "|".join(sorted(set(normalize(TIME_UNITS).split()), key=lambda w: (-len(w), w)))
_SPAN = re.compile(r"(?:\d+(?:[.,]\d+)?(?: (?:الف|الاف|مليون|ملايين|مليار|مليارات))?|"
                   + _NUMBER_WORD.pattern + rf") (?:{_UNITS})(?!\w)")
# A year (normalised): "في أي عام" is not answered by a day or a month, as "متى" may be. A
# number 1000-2099, one marked as a year of an era (61 ه، 270 ق م، 632 للميلاد), one after
# عام/سنة, or a year named from now (العام الماضي، هذا العام).
_YEAR_ANSWER = re.compile(
    r"(?<!\d)(?:1\d|20)\d\d(?!\d)|(?<!\d)\d{1,4} ?(?:م|ه|ق م|ميلادي\w*|هجري\w*|للهجره|للميلاد|"
    r"قبل الميلاد)(?!\w)|" + _PRE + r"(?:عام|سنه) \d{1,4}(?!\d)|" + _PRE + r"(?:عام|سنه) "
    r"(?:الماضي|الماضيه|الحالي|الحاليه|المقبل|المقبله|الجاري|القادم|القادمه|السابق|السابقه|نفسه|"
    r"نفسها|ذاته|ذاتها)(?!\w)|(?<!\w)(?:هذا|ذلك) العام(?!\w)|(?<!\w)(?:هذه|تلك) السنه(?!\w)")
# Twice counts without a number word.
_TWICE = re.compile(r"(?<!\w)[وف]?مرت(?:ين|ان)(?!\w)")


def _has_count(raw: str) -> bool:
    """A number that counts: not a percentage, a year, a clock time, an ordinal or a span of
    time; or twice (مرتين)."""
    text = re.sub(r"\d+(?:[.,٫]\d+)?\s*[%٪]|\d{1,2}:\d\d", " ", raw)
    norm = normalize(text)
    if _TWICE.search(norm):
        return True
    norm = _YEAR.sub(" ", re.sub(rf"\d+ {_PERCENT_WORD}", " ", norm))
    norm = _SPAN.sub(" ", _ORDINAL.sub(" ", norm))
    return bool(re.search(r"\d", norm) or _NUMBER_WORD.search(norm))


def kind_found(kind: str | None, text: str) -> bool:
    """Does the sentence hold the kind of thing the question asks for?"""
    if kind in ("count", "percent", "age"):
        norm = normalize(text)
        if kind == "percent":
            return _has_percent(text, norm)
        if kind == "age":
            return bool(_AGE.search(norm))
        return _has_count(text)
    if kind == "year":
        return bool(_YEAR_ANSWER.search(normalize(text)))
    if kind == "time":
        return bool(_CLOCK.search(text) or _TIME_OF_DAY.search(normalize(text)))
    pattern = _KIND_PATTERNS.get(kind or "")
    return bool(pattern is not None and pattern.search(text))


# Kinds whose absence a pattern can vouch for; names of people and places it cannot.
CHECKABLE = frozenset({"date", "year", "time", "number", "count", "percent", "age"})

# Nouns that name the kind of answer rather than its content.
_SCAFFOLD = frozenset(tokenize("اسم عدد سنة عام يوم أيام الأسبوع شهر تاريخ موعد نسبة ساعة وقت "
                               "قرن طريقة سبب عمر"))


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


def _match(term: str, tokens: set[str], near: _Near | None = None) -> float:
    """Credit for `term` in `tokens`; `near`, if given, must know every stem of `tokens`."""
    if near is not None:
        same, rooted = near.stems[term]
        return 1.0 if not same.isdisjoint(tokens) else (
            ROOT_CREDIT if not rooted.isdisjoint(tokens) else 0.0)
    if term in tokens or any(_similar(term, t) for t in tokens):
        return 1.0
    root = _root(term)
    if root and any(_root(t) == root for t in tokens):
        return ROOT_CREDIT
    return 0.0


@dataclass(frozen=True)
class _Near:
    """For each stem a question looks for, the stems of `vocabulary` that meet it (`_similar`)
    and those that share its root: worked out once a question, so that matching each of
    its sentences, windows and passages is a set intersection."""

    vocabulary: frozenset[str]
    stems: dict[str, tuple[frozenset[str], frozenset[str]]]


@dataclass(frozen=True)
class QueryTerms:
    """Question terms with idf weights; `optional` terms name the kind of answer sought
    ("في أي سنة", "ما اسم", "كم عدد") and count only when a sentence has them."""

    weights: dict[str, float]
    optional: frozenset[str]
    # A term met by any of several stems: an English word's Arabic translations (`lexicon`).
    alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)
    near: _Near | None = None

    def within(self, vocabulary: set[str]) -> QueryTerms:
        """These terms, prepared to be matched against sets of stems drawn from
        `vocabulary` (the same credit as without, in one pass over it)."""
        vocabulary = frozenset(vocabulary)
        wanted = set(self.weights).union(*self.alternatives.values())
        stems = {}
        for term in wanted:
            root = _root(term)
            stems[term] = (frozenset(t for t in vocabulary if t == term or _similar(term, t)),
                           frozenset(t for t in vocabulary if root and _root(t) == root))
        return QueryTerms(self.weights, self.optional, self.alternatives,
                          _Near(vocabulary, stems))


def coverage(q: QueryTerms, tokens: set[str]) -> tuple[float, float]:
    """(share of the question's weight these tokens cover, weight of the heaviest term they
    miss relative to the heaviest term of the question)."""
    got = total = missing = 0.0
    near = q.near if q.near is not None and tokens <= q.near.vocabulary else None
    for term, w in q.weights.items():
        alternatives = q.alternatives.get(term)
        credit = (_match(term, tokens, near) if alternatives is None
                  else max(_match(a, tokens, near) for a in alternatives))
        if credit == 0.0 and term in q.optional:
            continue
        got += w * credit
        total += w
        if credit == 0.0:
            missing = max(missing, w)
    top = max(q.weights.values(), default=0.0)
    return (got / total if total > 0 else 0.0), (missing / top if top > 0 else 0.0)


_FOCUS_AFTER = {normalize(w) for w in ("أي", "اي", "كم", "ما", "ماذا", "وما", "وكم", "بأي", "بماذا")}


def query_terms(query: Query, retriever) -> QueryTerms:
    """The query's stems with idf weights; words carried from the conversation weigh as they
    do in retrieval (`BM25.context_factor`)."""
    weights = {t: retriever.bm25.idf(t) for t in query.tokens}
    if query.carried:
        context = [t for t in weights if t not in query.typed]
        factor = retriever.bm25.context_factor([t for t in weights if t in query.typed], context)
        for t in context:
            weights[t] *= factor
    optional = set()
    ws = words(query.text)
    for i, w in enumerate(ws[:-1]):
        if w in _FOCUS_AFTER:
            optional.update(tokenize(ws[i + 1]))
    optional.update(t for t in query.tokens if t in _SCAFFOLD)
    return QueryTerms(weights, frozenset(optional))


# Across languages the stems cannot meet, but names and numbers can: a name's consonants,
# folded into rough classes, survive transliteration (Khashoggi/خاشقجي, Mahfouz/محفوظ), and
# digits are shared. For a question in another language the coverage features read these.
_AR_CLASSES = str.maketrans({**dict.fromkeys("بپ", "B"), **dict.fromkeys("تطث", "T"),
                             **dict.fromkeys("جغگ", "J"), **dict.fromkeys("حه", "H"),
                             **dict.fromkeys("خقك", "K"), **dict.fromkeys("دض", "D"),
                             **dict.fromkeys("ذظز", "Z"), **dict.fromkeys("سصش", "S"),
                             **dict.fromkeys("فڤ", "F"), "ر": "R", "ل": "L", "م": "M", "ن": "N"})
_LATIN_CLASSES = (("sh", "S"), ("ch", "S"), ("kh", "K"), ("gh", "J"), ("th", "T"), ("dh", "Z"),
                  ("ph", "F"), ("ck", "K"), ("x", "KS"), ("q", "K"), ("k", "K"), ("c", "K"),
                  ("g", "J"), ("j", "J"), ("b", "B"), ("p", "B"), ("t", "T"), ("d", "D"),
                  ("s", "S"), ("z", "Z"), ("f", "F"), ("v", "F"), ("l", "L"), ("m", "M"),
                  ("n", "N"), ("r", "R"), ("h", "H"))
_CLITICS = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ب", "ل", "ف", "ك")
_NAME_PARTICLES = frozenset({"al", "el", "ibn", "bin", "bint", "abu", "abd"})
_NOT_NAMES = frozenset({"i", "the", "a", "an", "in", "on", "what", "which", "who", "whom",
                        "whose", "when", "where", "how", "why", "is", "was", "did", "does", "do",
                        "are", "were", "english", "arabic", "according"})
# Words that open a question without naming anyone: the first word of an English question is
# a name (Omar, Palestine) unless it is one of these, since the first word is capitalised
# anyway. In other languages (Quand, Combien, Wie, Gegen) the first word is never read as one.
_OPENERS = _NOT_NAMES | frozenset("""
    about after against all along also among and another any apart approximately around as
    aside at based before
    besides between beyond both but by can could compared concerning considering describe
    despite during each even every except excluding explain few following for from give given
    had has have he her his how's if including it its just like list many may might
    most much must name no not of off one only or other over please regarding roughly she
    should since so some such tell than that their then there these they this those through to
    two under unlike until upon we what's when's where's who's will with within without would
    you
    """.split())


@lru_cache(maxsize=65536)
def _skeleton(word: str) -> str:
    """The consonant classes of a word, Arabic (normalised) or Latin; digits stay digits."""
    if word.isdigit():
        return word
    if word.isascii():
        word = re.sub(r"c(?=[eiy])", "s", re.sub(r"h$", "", word.lower()))
        out, i = [], 0
        while i < len(word):
            hit = next(((a, b) for a, b in _LATIN_CLASSES if word.startswith(a, i)), None)
            out.append(hit[1] if hit else "")
            i += len(hit[0]) if hit else 1
        word = "".join(out)
    else:
        word = re.sub(r"H$", "", "".join(c for c in word.translate(_AR_CLASSES) if c.isascii()))
    return re.sub(r"(.)\1+", r"\1", word)


def skeletons(text: str) -> set[str]:
    """Skeletons of a text's words, with and without a leading clitic or article, and of
    compounds whose second word takes the article (صلاح الدين: Saladin)."""
    out, ws = set(), words(text)
    bare = [next((w[len(c):] for c in _CLITICS if w.startswith(c) and len(w) > len(c) + 1), w)
            for w in ws]
    for w, b, nxt in zip(ws, bare, ws[1:] + [""]):
        out.update((_skeleton(w), _skeleton(b)))
        if nxt.startswith("ال") and len(nxt) > 3:
            out.add(_skeleton(b) + _skeleton(nxt[2:]))
    out.discard("")
    return out


def crosslingual_terms(question: str, reply: str | None = None) -> QueryTerms:
    """What a question in another language shares with Arabic text: its numbers and the
    skeletons of its names (capitalised words; the first word only when it does not merely
    open an English question), each weighing the same. `reply`: the question's language
    (`Query.reply`), read here when not given."""
    ws = re.findall(r"[A-Za-z][A-Za-z'\-]*|\d+", question)
    english = bool(ws) and (reply or reply_language(question)) == "en"
    terms = []
    for i, w in enumerate(ws):
        if w.isdigit():
            terms.append(w)
        elif w[0].isupper() and (w.lower() not in _NOT_NAMES if i else english
                                 and w.lower() not in _OPENERS):
            terms += [_skeleton(p) for p in re.split(r"[-']", w)
                      if p.lower() not in _NAME_PARTICLES and len(_skeleton(p)) >= 2]
    return QueryTerms(dict.fromkeys(terms, 1.0), frozenset())


def translated_terms(query: Query, retriever) -> QueryTerms:
    """`crosslingual_terms`, plus one term per word the bilingual dictionary translated
    (`Query.translations`), met by any of its Arabic stems and weighing the highest idf among
    those the corpus has (one it lacks entirely is left out: a dictionary's stray sense). A
    name or number weighs as the rarest stem can."""
    names = crosslingual_terms(query.question, query.reply)
    if not query.translations:
        return names
    idf = retriever.bm25.idf
    rarest = idf("")  # the weight of a stem the corpus lacks
    weights = dict.fromkeys(names.weights, rarest)
    alternatives = {}
    for i, group in enumerate(query.translations):
        seen = [w for w in map(idf, group) if w < rarest]
        if seen:
            key = f"~{i}"
            weights[key], alternatives[key] = max(seen), group
    return QueryTerms(weights, frozenset(), alternatives)
