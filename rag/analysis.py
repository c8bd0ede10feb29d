"""Arabic text analysis: one normaliser for indexing, querying and citation checking.

Displayed text is never normalised: `normalize_with_offsets` maps every character of the
normalised form back to the original, so spans always point into the original text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Iterable

_CONTROLS = "\u00ad\u2060\u2061\u2062\u2063\u2064\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u061c"
INVISIBLE = frozenset(_CONTROLS)  # zero-width and bidi marks: no text of their own
_DIACRITICS = "".join(chr(c) for c in range(0x064B, 0x0660)) + "\u0670"
_QURANIC = "".join(chr(c) for c in range(0x0610, 0x061B)) + "".join(
    chr(c) for c in range(0x06D6, 0x06EE) if c not in (0x06E5, 0x06E6))
_TATWEEL = "\u0640"

_TABLE: dict[int, str | None] = {ord(c): None for c in _CONTROLS + _DIACRITICS + _QURANIC + _TATWEEL}
_TABLE.update({ord(c): "ا" for c in "أإآٱ"})
_TABLE.update({0x0660 + i: str(i) for i in range(10)})
_TABLE.update({0x06F0 + i: str(i) for i in range(10)})
# The letter folds come after stemming: Snowball Arabic needs ة and ى to find suffixes.
_LETTER_FOLDS = {ord("ى"): "ي", ord("ة"): "ه", ord("ؤ"): "و", ord("ئ"): "ي"}
_LIGHT_TABLE = dict(_TABLE)
_TABLE.update(_LETTER_FOLDS)

_NON_WORD = re.compile(r"[^\w]|_")
_SPACES = re.compile(r"\s+")


def _fold(ch: str) -> str:
    """Normalise one character to its matching form ('' when it disappears)."""
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        c = c.translate(_TABLE)
        if not c:
            continue
        if _NON_WORD.match(c):
            c = " "
        out.append(c.lower())
    return "".join(out)


@lru_cache(maxsize=4096)
def _fold_cached(ch: str) -> str:
    return _fold(ch)


def normalize(text: str) -> str:
    """Matching form of Arabic text: see DESIGN.md. Never shown to the user."""
    text = unicodedata.normalize("NFKC", text).translate(_TABLE)
    text = _NON_WORD.sub(" ", text).lower()
    return _SPACES.sub(" ", text).strip()


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """Like `normalize`, but also the original index of each normalised character.

    Runs of spaces collapse to one, leading/trailing spaces are dropped, as in `normalize`.
    """
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        for c in _fold_cached(ch):
            if c.isspace():
                if not chars or chars[-1] == " ":
                    continue
                c = " "
            chars.append(c)
            offsets.append(i)
    if chars and chars[-1] == " ":
        chars.pop()
        offsets.pop()
    return "".join(chars), offsets


def find_normalized(haystack: str, needle: str) -> tuple[int, int] | None:
    """Find `needle` in `haystack` after normalising both; return the original (start, end)."""
    target = normalize(needle)
    if not target:
        return None
    norm, offsets = normalize_with_offsets(haystack)
    at = norm.find(target)
    if at < 0:
        return None
    end = offsets[at + len(target) - 1] + 1
    while end < len(haystack) and unicodedata.combining(haystack[end]):
        end += 1  # the marks of the last letter belong to the span
    return offsets[at], end


# Sentences end at . ! ? ؟ ؛ … (plus closing quotes/brackets) and at line breaks.
# "،" is a clause mark, not a sentence end. A dot between digits (3.5) is not an end.
_SENTENCE_END = re.compile(r"(?:(?<!\d)\.|\.(?!\d)|[!?؟؛…])+[\"'”»)\]]*(?=\s|$)|\n")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of sentences within text[start:end], stripped of surrounding whitespace."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for m in _SENTENCE_END.finditer(text, start, end):
        spans.append((pos, m.end()))
        pos = m.end()
    spans.append((pos, end))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s and normalize(text[s:e]):
            out.append((s, e))
    return out


def split_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def clause_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split text[start:end] after each "،" (and "," or ";"), for over-long sentences."""
    spans, pos = [], start
    for m in re.finditer(r"[،,;]\s*", text[start:end]):
        cut = start + m.end()
        spans.append((pos, cut))
        pos = cut
    spans.append((pos, end))
    return [(s, e) for s, e in spans if text[s:e].strip()]


_STOPWORDS_RAW = """
في من على إلى الى عن مع و أو او ثم أن ان إن لن لم لا ما ماذا متى كم أين اين كيف لماذا هل أي اي
هذا هذه ذلك تلك هؤلاء هو هي هم هن أنا نحن أنت انت أنتم الذي التي الذين اللذين اللتين اللواتي
كان كانت يكون تكون كانوا قد لقد كل بعض غير بين حتى عند عندما منذ خلال بعد قبل حيث إذ اذ إذا اذا
لكن لكنه بل أيضا ايضا فقط كما مثل وفق وفقا حول نحو ضد دون عبر لدى لدي لها له لهم به بها فيه فيها منه
منها عليه عليها إليه اليه إليها اليها التى الى والتي والذي وهو وهي وفي ومن وعلى وأن وان وقد ولا وما
هناك هنا ذات ذو أكثر اكثر أقل اقل جدا يتم تم سوف قال قالت وقال وقالت يوم أمس اليوم the a an of and
to in is are was were what who when where which how why did does do
"""
STOPWORDS: frozenset[str] = frozenset(normalize(w) for w in _STOPWORDS_RAW.split())

QUESTION_WORDS: dict[str, str] = {
    normalize(w): kind for w, kind in {
        "متى": "date", "كم": "number", "من": "person", "مين": "person", "أين": "place",
        "اين": "place", "وين": "place", "لماذا": "reason", "لم": "reason", "ما": "what",
        "ماذا": "what", "ماهي": "what", "ماهو": "what", "كيف": "how", "هل": "yesno",
        "أي": "which", "اي": "which",
    }.items()
}


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: Snowball Arabic, no English defaults

    return Stemmer.Stemmer("arabic")


def words(text: str) -> list[str]:
    """Normalised words, stop-words included."""
    return normalize(text).split()


def stem(word: str) -> str:
    return _stemmer().stemWord(word)


def _light(text: str) -> str:
    """Normalised except for the letter folds (ى ة ؤ ئ), which the stemmer still needs."""
    text = unicodedata.normalize("NFKC", text).translate(_LIGHT_TABLE)
    return _NON_WORD.sub(" ", text).lower()


_CONJ = ("و", "ف")
_ARTICLES = ("بال", "كال", "لل", "ال", "ب", "ل", "ك")


def strip_clitics(word: str) -> str:
    """Drop a leading conjunction (و ف) and preposition+article (بال لل ال ب ...).

    Over-stripping a root letter (وزير → زير) is harmless for matching because queries and
    passages go through the same function; Snowball alone strips these inconsistently
    (باسرائيل, لكازاخستان, وإسرائيل were left whole).
    """
    while True:  # to a fixpoint, so that strip(prefix + word) == strip(word)
        if len(word) >= 5 and word.startswith(_CONJ):
            word = word[1:]
            continue
        for prefix in _ARTICLES:
            if word.startswith(prefix) and len(word) - len(prefix) >= (3 if len(prefix) > 1 else 4):
                word = word[len(prefix):]
                break
        else:
            return word


def tokenize(text: str, *, stem_words: bool = True) -> list[str]:
    """Index/query tokens: normalised, stop-words dropped, clitics stripped, Snowball stems."""
    light = [w for w in _light(text).split() if w.translate(_LETTER_FOLDS) not in STOPWORDS]
    if stem_words and light:
        light = _stemmer().stemWords([strip_clitics(w) for w in light])
    return [t.translate(_LETTER_FOLDS) for t in light if t]


def tokenize_many(texts: Iterable[str]) -> list[list[str]]:
    return [tokenize(t) for t in texts]


YEAR_WORDS = "سنة سنه عام"
MEASURE_WORDS = "كمية كميه مساحة مساحه طول ارتفاع عمق وزن"
_WHICH_KIND = {normalize(w): kind for words_, kind in (
    ("يوم أيام تاريخ شهر وقت قرن موعد توقيت أسبوع", "date"),
    (YEAR_WORDS, "year"),  # في أي عام: a year, which a day or a month does not answer
    ("ساعة ساعه", "time"),  # في أي ساعة: the hour, which a day or "tonight" does not answer
    ("مكان مدينة مدينه دولة دوله بلد منطقة منطقه عاصمة عاصمه موقع منتدى", "place"),
    ("عدد تعداد", "count"),
    ("نسبة نسبه", "percent"),
    ("عمر", "age"),
    (MEASURE_WORDS, "number"),  # ما مساحة جورجيا؟ a number, as "كم تبلغ مساحة"
) for w in words_.split()}

# English questions: the opening words name the kind, most specific first.
_ENGLISH_KINDS = tuple((re.compile(p, re.IGNORECASE), kind) for p, kind in (
    (r"\bhow many (?:years|months|weeks|days|hours|minutes|seconds|decades|centuries|nights)\b",
     "number"),  # a span of time, which a count is not (matching._has_count)
    (r"\bhow many\b", "count"),
    (r"\bhow old\b|\bwhat age\b", "age"),
    (r"\bwhat (?:percent(?:age)?|share|proportion|fraction)\b|\bhow much of\b", "percent"),
    (r"\bhow much\b", "number"),
    (r"\b(?:what|which) (?:time|hour)\b(?! of (?:the )?year)", "time"),
    (r"\b(?:what|which) year\b", "year"),
    (r"\bwhen\b|\b(?:what|which) (?:year|date|day|month|time|century)\b", "date"),
    (r"\bwhere\b|\b(?:what|which) (?:city|country|place|region|capital)\b", "place"),
    # "what is the population of...": how many, as "ما عدد سكان"; "what is the area": a number
    (r"\bwhat(?:'s| is| was| are| were) the (?:total )?(?:number|population)\b", "count"),
    (r"\bwhat(?:'s| is| was) the (?:area|length|height|depth|weight|distance)\b", "number"),
    (r"\bwho(?:m|se)?\b", "person"),
    (r"\bwhy\b", "reason"),
    (r"^\W*how\b", "how"),
    (r"^\W*(?:is|are|was|were|did|does|do|can|will|has|have)\b", "yesno"),
    (r"\bwhat\b|\bwhich\b", "what"),
))


def language(text: str) -> str:
    """Which scorer reads a question: 'ar' for an Arabic one (or one without letters), else
    'en', the cross-lingual scorer, whatever the language: a Persian, Russian or Chinese
    question shares no stems with the articles, only meaning, names and numbers."""
    return scorer_language(reply_language(text))


def scorer_language(reply: str) -> str:
    """`language` of a question whose `reply_language` is known."""
    return "ar" if reply == "ar" else "en"


# The language a refusal is written in (REPLY_LANGUAGES): the question's, where sanad has the
# sentences for it, else English. By script first; Latin-script questions by their question
# and function words and the letters only one language uses, English when nothing tells.
REPLY_LANGUAGES = ("ar", "en", "fr", "es", "de", "it", "pt", "tr", "ru", "uk", "fa", "ur",
                   "he", "zh")
_LATIN_WORDS = {lang: frozenset(words_.split()) for lang, words_ in (
    ("en", "the what who whom whose when where which how why is are was were did does do of "
           "to an and about many much"),
    ("fr", "le la les des du est sont quel quelle quels quelles qui quand combien pourquoi où "
           "comment une et au aux d' l' qu'"),
    ("es", "el los las es son cuál cuáles quién quiénes cuándo cuánto cuántos cuántas dónde "
           "cómo qué por una y del fue"),
    ("de", "der die das ist sind wer wann wie viele wo warum welche welcher welches und hat "
           "den dem ein eine einer mit was"),
    ("it", "il lo gli è chi quando quanti quante dove perché quale quali della che di"),
    ("pt", "o os as é qual quais quem quantos quantas onde porque da do das dos uma não"),
    ("tr", "ne nedir kim kimdir hangi kaç nerede neden nasıl mı mi mu mü ve bir bu ile için"),
)}
_LATIN_LETTERS = {"es": "ñ¿¡", "de": "ßäÄ", "pt": "ãõ", "tr": "ığşİ", "fr": "œêù",
                  "it": "ìò"}
_UKRAINIAN_WORDS = frozenset("яке який яка які скільки хто коли чому що де як".split())
_WORD_OR_ELISION = re.compile(r"\w+'|\w+(?:-\w+)*", re.UNICODE)


def reply_language(text: str) -> str:
    """The language (REPLY_LANGUAGES) to refuse a question in: its own, or English."""
    counts: dict[str, int] = {}
    for c in text:
        if "\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u077f":
            key = ("ur" if c in "ٹڈڑںےۓ" else "fa" if c in "پچژگکی"
                   else "ar*" if c in "يكةى" else "ar")
        elif "\u0400" <= c <= "\u04ff":
            key = "uk" if c in "іїєґІЇЄҐ" else "cyr"
        elif "\u0590" <= c <= "\u05ff":
            key = "he"
        elif "\u4e00" <= c <= "\u9fff":
            key = "zh"
        elif c.isalpha():
            key = "latin"
        else:
            continue
        counts[key] = counts.get(key, 0) + 1
    arabic = sum(counts.get(k, 0) for k in ("ar", "ar*", "fa", "ur"))
    scripts = {"arabic": arabic, "cyr": counts.get("cyr", 0) + counts.get("uk", 0),
               "he": counts.get("he", 0), "zh": counts.get("zh", 0),
               "latin": counts.get("latin", 0)}
    script = max(scripts, key=lambda k: (scripts[k], k == "arabic"))
    if not scripts[script] or script == "arabic":
        if counts.get("ur"):
            return "ur"
        return "fa" if counts.get("fa", 0) > counts.get("ar*", 0) else "ar"
    if script == "cyr":
        ukrainian = counts.get("uk") or any(w in _UKRAINIAN_WORDS
                                            for w in _WORD_OR_ELISION.findall(text.lower()))
        return "uk" if ukrainian else "ru"
    if script != "latin":
        return script
    lowered = text.lower()
    words_ = _WORD_OR_ELISION.findall(lowered)
    score = {lang: sum(w in vocab for w in words_) for lang, vocab in _LATIN_WORDS.items()}
    for lang, letters in _LATIN_LETTERS.items():
        score[lang] += 2 * sum(lowered.count(c.lower()) for c in letters)
    best = max(score, key=lambda k: (score[k], k == "en"))
    return best if score[best] else "en"


_PRONOUNS = ("هما", "هم", "هن", "ها", "ه", "كم", "ك")  # عمره، نسبتها، عددهم


def _named_kind(word: str) -> str | None:
    """The kind a noun names (`_WHICH_KIND`), without its article or a pronoun after it:
    العمر، عمره and عمرها all ask for an age; نسبتها for a percentage (its ة written ت).
    `word` is in its light form (`_light`), where ة still differs from the pronoun ه: موقعة
    (a battle) is not موقع (a place) with a pronoun."""
    word = word[2:] if word.startswith("ال") else word
    forms = [word]
    suffix = next((p for p in _PRONOUNS if word.endswith(p) and len(word) - len(p) >= 3), "")
    if suffix:
        stem = word[:-len(suffix)]
        forms += [stem, stem[:-1] + "ة"] if stem.endswith("ت") else [stem]
    return next((_WHICH_KIND[f] for f in (x.translate(_LETTER_FOLDS) for x in forms)
                 if f in _WHICH_KIND), None)


# Units of time, as a question names them after كم (كم سنة، كم يوما) or عدد (عدد السنوات) and
# as a text counts them (منذ ثلاثين عاما: `matching`, where a span of time is not a count).
TIME_UNITS = """سنة سنه عام عاما أعوام اعوام سنوات سنين يوم يوما أيام ايام شهر شهرا أشهر اشهر شهور
أسبوع أسبوعا اسبوعا أسابيع اسابيع ساعة ساعات دقيقة دقائق ثانية ثوان ثواني قرن قرنا قرون عقد عقدا
عقود ليلة ليال"""
_TIME_UNITS = frozenset(map(_light, TIME_UNITS.split()))


def _counts_time(following: list[str]) -> bool:
    """"كم عدد السنوات / سنوات حكمه": the noun after عدد is a span of time."""
    return len(following) == 2 and following[0].endswith("عدد") and (
        following[1][2:] if following[1].startswith("ال") else following[1]) in _TIME_UNITS


def _counted(word: str) -> bool:
    """"كم شخصاً"، "كم دولة"، "كم مرة": a noun counted (its tamyiz, accusative ا or a feminine
    ة), not a verb (كم يبلغ، كم بلغت، كم دامت) and not a span of time (كم سنة، كم يوما), which
    two years may answer (من 1990 إلى 2000) and a count does not."""
    return len(word) >= 3 and word.endswith(("ا", "ة")) and word not in _TIME_UNITS


def question_kind(question: str) -> str | None:
    """The expected kind of answer, from the first question word found (or None).

    "أي" takes the kind of the noun after it: في أي سنة → date, في أي مدينة → place.
    "كم عدد" and "كم" before a counted noun ("كم سفارة") ask for a count (a percentage or a
    year does not answer it), "كم عمر" for an age, "ما نسبة" for a percentage. English
    questions are read from their opening words.
    """
    if language(question) == "en":  # the first question word, as in Arabic: a later one
        found = []                    # opens a clause ("What ... was he addressing when ...")
        for order, (pattern, kind) in enumerate(_ENGLISH_KINDS):
            match = pattern.search(question)
            if match:
                found.append((match.start(), order, kind))
        return min(found)[2] if found else None
    light = _light(question).split()  # ة and ى still apart, for `_named_kind`
    ws = [w.translate(_LETTER_FOLDS) for w in light]  # `words(question)`, from the same pass
    for i, w in enumerate(ws[:4]):
        if w.startswith("و") and w[1:] in QUESTION_WORDS:  # "ومتى", "وكم"
            w = w[1:]
        if w.startswith("ب") and w[1:] in QUESTION_WORDS:  # "بأي"
            w = w[1:]
        if w in QUESTION_WORDS:
            if w == "من" and i + 1 < len(ws) and ws[i + 1] in QUESTION_WORDS:
                continue  # "من أين", "من متى": the next word names the kind
            kind = QUESTION_WORDS[w]
            if kind in ("which", "what", "number") and i + 1 < len(ws):
                if kind == "number":  # "كم عدد", "كم يبلغ عمر", "كم نسبة"
                    named = [_named_kind(x) for x in light[i + 1:i + 3]]
                    named = next((k for k in named if k in ("count", "age", "percent")), None)
                    if named == "count" and _counts_time(light[i + 1:i + 3]):
                        return kind  # "كم عدد السنوات": a span of time, any number
                    return named or ("count" if _counted(light[i + 1]) else kind)
                return _named_kind(light[i + 1]) or kind
            return kind
    return None
