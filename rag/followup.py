"""Follow-up questions: rewrite a question that leans on the conversation into a standalone query.

"ومتى زارها؟" cannot be searched on its own: "ها" names something from the previous turn.
`needs_rewrite` decides, deterministically, whether a question depends on the history
(a leading و + question word, "ماذا عن ...", pronoun suffixes that point back, demonstratives,
or a very short question). Only then is it rewritten: by the chat model with the condense
prompt in LLM mode, or by `carry_entities` offline (and whenever the model fails), which
appends the content words of the previous standalone query.

Offline, with e5 vectors, the meaning decides first whether the question leans at all
(`leans_by_meaning`): "ومتى بدأت الحرب العالمية الثانية؟" after a question about Mahfouz opens
like a follow-up but names its own subject, and carrying "نجيب محفوظ" would only pull it away.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable, Sequence

import numpy as np

from .analysis import QUESTION_WORDS, STOPWORDS, normalize, question_kind, tokenize
from .embeddings import E5_NAME
from .errors import LLMError
from .replies import EMPTY_ANSWER, NO_ANSWER, NO_PASSAGES
from .types import Answer, Turn

# Of the earlier query, the first content words: its subject leads ("أي رئيس عربي يضغط ترامب
# عليه أيضاً ليلتحق بالمبادرة؟" → "رئيس عربي يضغط ترامب"), and more of them outweighed the
# typed question. With lexical.CONTEXT_SHARE, chosen by `bench/bench_followups.py --news`
# and `--arcd-train` (8 before).
MAX_CARRIED_WORDS = 4
MAX_ANSWER_WORDS = 3  # of the earlier answer, the rarest words in the corpus
# An earlier question of these kinds was answered with a name (who, where, which, what): the
# answer may hold the referent of a follow-up. A date or a number cannot be one.
_NAMING_KINDS = frozenset({"person", "place", "what", "which"})
_DATE_WORDS = {normalize(w) for w in """يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر
نوفمبر ديسمبر كانون شباط آذار نيسان أيار حزيران تموز آب أيلول تشرين الأول الثاني""".split()}
_MARKERS = re.compile(r"\[[\d,، ]+\]")
SHORT_CONTENT_WORDS = 2  # a question this short (content words and words in all)
SHORT_TOTAL_WORDS = 4  # cannot stand alone: "متى؟", "من هو ويتكوف؟", "ما رأي روسيا؟"
MAX_REWRITE_CHARS = 400
# A follow-up whose own nearest passage is this much closer (cosine, e5) than the best passage of
# the previous turn has a subject of its own: nothing is carried. Chosen on ARCD-train
# conversations (bench/arcd_train_followups.jsonl, `bench/bench_followups.py --arcd-train`).
LEAN_MARGIN = 0.03

_STRIP = re.compile("[\u064b-\u065f\u0670\u0640]")  # diacritics and tatweel; keeps ة
_WORD = re.compile(r"[^\W_]+")
_N = normalize

_PREPOSITIONS = {_N(w) for w in "مع إلى الى في على عن من منذ ب ل عند لدى حول بين ضد".split()}
_DEMONSTRATIVES = {_N(w) for w in "هذا هذه ذلك تلك هؤلاء أولئك ذاك هذان هاتان".split()}
_PRONOUN_PREPOSITIONS = {_N(p + s) for p in ("عن", "ل", "في", "من", "على", "إلى", "الى", "مع", "ب",
                                               "عند", "لدى", "حول", "ضد")
                         for s in ("ها", "ه", "هم", "هما", "هن")}
_PRONOUN_PREPOSITIONS |= {_N(w) for w in "فيه عليه إليه لديها لديه لديهم".split()}
_ENGLISH_REFERENCES = {"it", "its", "they", "them", "their", "he", "him", "his", "she", "her",
                       "this", "that", "these", "those"}
_WHAT_ABOUT = {_N(w) for w in ("ماذا عن", "وماذا عن", "ما عن", "وما عن", "what about",
                               "and what about", "how about", "and how about")}
# Words that end like a pronoun suffix but are not one.
_NOT_SUFFIXED = {_N(w) for w in """
الله إله وجه شبه تجاه اتجاه مياه انتباه فقه نزيه كره أيها انه انها لانه لانها بانه بانها
مهم أهم فهم وهم سهم درهم دراهم تفاهم ساهم يساهم تساهم مساهم أسهم اتهم يتهم تتهم مبهم ملهم
توجيه تنبيه تشويه ترفيه تمويه وجوه أشباه شفاه أفواه رفاه
""".split()}


def rewrite_query(settings, question: str, turns: Sequence["Turn | Answer"],
                  rank: Callable[[str], float] | None = None, retriever=None) -> str:
    """The standalone query to search: `question` itself unless it depends on `turns`.
    `rank(token)` (the corpus idf) picks the words of the earlier answer worth carrying.
    Given the `retriever` and an earlier `Answer` (its passages), the vectors decide whether a
    question that only opens like a follow-up ("ومتى ...؟", no word pointing back) leans on it
    at all (`leans_by_meaning`); a word that points back ("زارها") always leans."""
    if not turns or not needs_rewrite(question):
        return question
    earlier = turns[-1]
    turns = [t.as_turn() if isinstance(t, Answer) else t for t in turns]
    if settings.llm_enabled:
        try:
            rewritten = rewrite_with_model(settings, question, turns)
        except LLMError:
            rewritten = None
        if rewritten:
            return rewritten
    if (isinstance(earlier, Answer) and not refers_back(question)
            and not leans_by_meaning(question, earlier, retriever)):
        return question
    return carry_entities(question, turns[-1], rank)


def leans_by_meaning(question: str, earlier: Answer, retriever) -> bool:
    """Does the question, by its e5 vector, lean on the earlier turn? No when the passage
    nearest to the question as typed is LEAN_MARGIN closer to it than any passage the earlier
    turn found: the question found a subject of its own. One query embedding and two reads by
    vector and id; no corpus text is embedded. Yes whenever this cannot be measured (another
    embedding, no stored vectors), as before."""
    embeddings = getattr(retriever, "embeddings", None)
    store = getattr(retriever, "store", None)
    ids = [h.passage.id for h in earlier.passages]
    if getattr(embeddings, "name", "") != E5_NAME or store is None or not ids:
        return True
    vector = embeddings.query_vector(question)
    nearest = store.query(vector, 1)
    before = store.vectors(ids).values()
    if not nearest or not before:
        return True
    own = 1.0 - float(nearest[0][1])
    return own - max(float(np.dot(vector, v)) for v in before) < LEAN_MARGIN


_REFUSALS = frozenset({*NO_ANSWER.values(), *EMPTY_ANSWER.values(), *NO_PASSAGES.values()})


def is_refusal(text: str | None) -> bool:
    return not (text or "").strip() or (text or "").strip() in _REFUSALS


def rewrite_with_model(settings, question: str, turns: Sequence[Turn]) -> str | None:
    """Ask the chat model (condense prompt, not streamed); None when its reply is unusable."""
    from .llm import condense

    reply = condense(settings, question, turns)
    lines = [ln.strip() for ln in reply.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    line = re.sub(r"^(?:standalone question|السؤال المستقل)\s*[:：]\s*", "", lines[0], flags=re.I)
    line = line.strip().strip("\"'«»“”`").strip()
    if not normalize(line) or len(line) > MAX_REWRITE_CHARS:
        return None
    return line


def _surface_words(text: str) -> list[str]:
    """Words as written, without diacritics or tatweel (ة and ى kept: they tell suffixes apart)."""
    return _WORD.findall(_STRIP.sub("", unicodedata.normalize("NFKC", text)))


def _bare(word: str) -> str:
    """Normalised word without a leading conjunction و/ف (when something is left)."""
    w = _N(word)
    return w[1:] if len(w) > 3 and w[0] in "وف" else w


def _is_question_word(word: str) -> bool:
    w = _N(word)
    return w in QUESTION_WORDS or (w[:1] in ("و", "ف") and w[1:] in QUESTION_WORDS)


def has_pronoun_suffix(word: str) -> bool:
    """"زارها", "رئيسه", "قادتهم": a pronoun suffix that points back to something said before."""
    w = _STRIP.sub("", word)
    if w[:1] in ("و", "ف") and len(w) > 4:
        w = w[1:]
    n = _N(w)
    if n in _PRONOUN_PREPOSITIONS:
        return True
    if n in _NOT_SUFFIXED or n in STOPWORDS or n.startswith("ال"):
        return False
    for suffix, min_len in (("هما", 5), ("هم", 5), ("ها", 4), ("ه", 4)):
        if w.endswith(suffix) and len(w) >= min_len:
            return True  # "ه" here is a real ه: a final ة was not folded by _STRIP
    return False


def content_words(text: str) -> list[str]:
    """Normalised words that carry meaning: no stop-words, question words or references."""
    return [w for w in tokenize(text, stem_words=False)
            if not _is_question_word(w) and w not in _DEMONSTRATIVES]


def needs_rewrite(question: str) -> bool:
    """Does the question lean on an earlier turn? (Only asked when there is a history.)"""
    raw = _surface_words(question)
    if not raw:
        return False
    first = _N(raw[0])
    if first[:1] == "و" and first[1:] in QUESTION_WORDS:  # "ومتى", "وكم", "وماذا"
        return True
    if (first[:1] in ("و", "ف") and first[1:] in _PREPOSITIONS and len(raw) > 1
            and _N(raw[1]) in QUESTION_WORDS):  # "ومع من", "وإلى أي", "وفي أي"
        return True
    opening = [_N(w) for w in raw[:4]]
    if any(" ".join(opening[:n]) in _WHAT_ABOUT for n in (2, 3)):
        return True
    if first in ("and", "also"):
        return True
    if refers_back(question):
        return True
    return len(raw) <= SHORT_TOTAL_WORDS and len(content_words(question)) <= SHORT_CONTENT_WORDS


def refers_back(question: str) -> bool:
    """A word of the question points back: a pronoun suffix ("زارها"), a demonstrative, "it"."""
    for word in _surface_words(question):
        n = _N(word)
        if n in _DEMONSTRATIVES or n in _ENGLISH_REFERENCES or has_pronoun_suffix(word):
            return True
    return False


def _carriable(question: str, text: str) -> list[str]:
    """Content words of `text` (as written, in order, once each) that the question lacks."""
    present = {_bare(w) for w in _surface_words(question)}
    present_stems = set(tokenize(question))
    out: list[str] = []
    seen: set[str] = set()
    for word in _surface_words(text):
        n = _N(word)
        if (n in STOPWORDS or _is_question_word(word) or n in _DEMONSTRATIVES
                or n in _ENGLISH_REFERENCES or n in _PRONOUN_PREPOSITIONS
                or n.isdigit() and len(n) < 3):
            continue
        if _bare(word) in present or n in seen or set(tokenize(word)) <= present_stems:
            continue
        seen.add(n)
        out.append(word)
    return out


def carry_entities(question: str, previous: Turn,
                   rank: Callable[[str], float] | None = None) -> str:
    """Offline rewrite: the question plus the content words of the previous standalone query,
    and (given `rank`, the corpus idf) the rarest words of the previous answer, where the
    referent often is ("من هو الرئيس الإسرائيلي؟" → "...هرتسوغ..." → "وإلى أي مدينة قد يزور؟").

    "ومتى زارها؟" after "من هو رئيس كازاخستان؟" becomes "متى زارها رئيس كازاخستان؟".
    Deterministic: words keep their order and spelling from the previous query.
    """
    source = previous.query or previous.question
    carried = _carriable(question, source)[:MAX_CARRIED_WORDS]
    answer = "" if is_refusal(previous.answer) else _MARKERS.sub(" ", previous.answer or "")
    if rank is not None and answer and question_kind(previous.question) in _NAMING_KINDS:
        have = {_N(w) for w in carried}
        extra = [w for w in _carriable(question, answer) if _N(w) not in have
                 and not any(c.isdigit() for c in w) and _N(w) not in _DATE_WORDS]
        extra.sort(key=lambda w: -max((rank(t) for t in tokenize(w)), default=0.0))
        room = max(0, MAX_CARRIED_WORDS - len(carried))
        carried += extra[:min(MAX_ANSWER_WORDS, room)]
    if not carried:
        return question
    core = question.strip()
    mark = "؟" if core.endswith("؟") else "?" if core.endswith("?") else ""
    core = core.rstrip("؟?!. ").strip()
    head, _, rest = core.partition(" ")
    if _N(head)[:1] == "و" and _N(head)[1:] in QUESTION_WORDS:
        core = (head[1:] + " " + rest).strip()  # "ومتى زارها" → "متى زارها"
    return f"{core} {' '.join(carried)}{mark}"
