"""Arabic analysis: one normaliser whose offsets lead back to the original text."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.analysis import (REPLY_LANGUAGES, _fold, find_normalized, language, normalize,
                          normalize_with_offsets, question_kind, reply_language, sentence_spans,
                          split_sentences, tokenize, words)
from rag.loading import load_document

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
CORPUS_FILES = sorted(p.name for p in CORPUS.glob("*.txt"))


def corpus_text(name: str) -> str:
    return load_document(CORPUS / name).text


def test_the_corpus_is_there():
    assert len(CORPUS_FILES) == 5


# --- normalize --------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("رسميًا", "رسميا"),
    ("مُحَمَّدٌ", "محمد"),
    ("ستُظهر", "ستظهر"),
    ("هٰذا", "هذا"),  # superscript alef
    ("كتـــاب", "كتاب"),  # tatweel
    ("أحمد إسلام آمن ٱلله", "احمد اسلام امن الله"),
    ("مستشفى", "مستشفي"),
    ("مدينة", "مدينه"),
    ("مؤتمر", "موتمر"),
    ("رئيس", "رييس"),
    ("٠١٢٣٤٥٦٧٨٩", "0123456789"),  # Arabic-Indic digits
    ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),  # Persian (extended) digits
    ("عام ١٩٩٢", "عام 1992"),
    ("Ynet", "ynet"),
])
def test_normalize_folds(raw, expected):
    assert normalize(raw) == expected


def test_diacritics_go_before_word_splitting():
    # Python's \w excludes harakat: stripping them late would split ليلًا into two words.
    assert normalize("للإعلان ليلًا عن") == "للاعلان ليلا عن"
    assert words("تستعد كازاخستان للإعلان ليلًا") == ["تستعد", "كازاخستان", "للاعلان", "ليلا"]


@pytest.mark.parametrize("control", [
    "\u200b", "\u200c", "\u200d", "\u200e", "\u200f",  # zero-width space/joiners, LRM/RLM
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",  # bidi embeddings and overrides
    "\u2066", "\u2067", "\u2068", "\u2069",  # bidi isolates
    "\ufeff", "\u061c",  # zero-width no-break space (BOM), Arabic letter mark
    "\u2060",  # word joiner: the zero-width no-break space that replaced U+FEFF
    "\u00ad",  # soft hyphen: invisible, common in text copied from web pages
])
def test_invisible_controls_are_removed_without_splitting_words(control):
    assert normalize(f"كاز{control}اخستان") == "كازاخستان"
    norm, offsets = normalize_with_offsets(f"كاز{control}اخستان")
    assert norm == "كازاخستان"


def test_punctuation_becomes_space():
    assert normalize("قال: «نعم»، (حسنًا)! هل؟ لا؛ ربما… \"نعم\" - ـ") == "قال نعم حسنا هل لا ربما نعم"
    assert normalize("a_b,c.d") == "a b c d"


@pytest.mark.parametrize("raw, expected", [
    ("ﺑﺎﺏ", "باب"),  # isolated/initial/final presentation forms
    ("ﻻ ﺇﻟﻪ", "لا اله"),  # lam-alef ligature
    ("ﷲ", "الله"),  # ligature
    ("ﻛﺎﺯﺍﺧﺴﺘﺎﻥ", "كازاخستان"),
])
def test_nfkc_presentation_forms(raw, expected):
    assert normalize(raw) == expected


def test_whitespace_collapses_and_ends_are_trimmed():
    assert normalize("  كازاخستان \n\t  و  إسرائيل  ") == "كازاخستان و اسراييل"
    assert normalize(" ،.؟ ") == ""


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_normalize_is_idempotent_on_the_corpus(name):
    norm = normalize(corpus_text(name))
    assert normalize(norm) == norm


# --- normalize_with_offsets ---------------------------------------------------------------------

MIXED = ("\ufeff«تستعد» كازاخستـــان للإعلان ليلًا،\u200f عن انضمامها ﻻ ﷲ ١٩٩٢\r\n"
         "  وإسرائيل… هٰذا مؤتمر رئيس مستشفى.  ")


@pytest.mark.parametrize("name", CORPUS_FILES + ["<mixed>"])
def test_offsets_map_every_normalised_char_back(name):
    text = MIXED if name == "<mixed>" else corpus_text(name)
    norm, offsets = normalize_with_offsets(text)
    assert norm == normalize(text)
    assert len(offsets) == len(norm)
    assert offsets == sorted(offsets)
    for ch, at in zip(norm, offsets):
        assert 0 <= at < len(text)
        assert ch in _fold(text[at]), (ch, text[at], at)


# --- find_normalized ----------------------------------------------------------------------------

def test_find_normalized_returns_the_original_span_with_diacritics():
    hay = "تستعد كازاخستان للإعلان ليلًا عن انضمامها رسميًا إلى الاتفاقات الإبراهيمية"
    span = find_normalized(hay, "ليلا عن انضمامها رسميا")
    assert span is not None
    assert hay[span[0]:span[1]] == "ليلًا عن انضمامها رسميًا"


def test_find_normalized_matches_across_letter_forms_and_punctuation():
    hay = "قال: «سأعود إلى واشنطن الليلة»، وأضاف أن الدولة الجديدة هي كازاخستان."
    span = find_normalized(hay, "سأعود الى واشنطن الليله")
    assert span is not None and hay[span[0]:span[1]] == "سأعود إلى واشنطن الليلة"
    span = find_normalized(hay, "الدوله الجديده هى")
    assert span is not None and hay[span[0]:span[1]] == "الدولة الجديدة هي"


def test_find_normalized_span_keeps_the_marks_of_its_last_letter():
    # A span that stops before the damma of its last letter would leave the mark orphaned.
    hay = "قال الرئيسُ إن الدولةَ ستنضم"
    span = find_normalized(hay, "الرئيس")
    assert span is not None and hay[span[0]:span[1]] == "الرئيسُ"
    span = find_normalized(hay, "الدولة")
    assert span is not None and hay[span[0]:span[1]] == "الدولةَ"


def test_find_normalized_misses_and_empty_needles():
    assert find_normalized("كازاخستان وإسرائيل", "السعودية") is None
    assert find_normalized("كازاخستان", "") is None
    assert find_normalized("كازاخستان", " ،. ") is None


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_every_corpus_sentence_is_found_in_its_file(name):
    text = corpus_text(name)
    for s, e in sentence_spans(text):
        span = find_normalized(text, text[s:e])
        assert span is not None
        assert normalize(text[span[0]:span[1]]) == normalize(text[s:e])


# --- sentence_spans -------------------------------------------------------------------------------

def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def test_sentence_ends():
    text = "قال: هذا جيد. هل هذا صحيح؟ نعم! ولم? ثم ذهب؛ وبقي… آخر سطر\nسطر ثان"
    assert sentences(text) == ["قال: هذا جيد.", "هل هذا صحيح؟", "نعم!", "ولم?", "ثم ذهب؛",
                               "وبقي…", "آخر سطر", "سطر ثان"]


def test_arabic_comma_and_decimal_points_do_not_end_sentences():
    text = "ارتفع المؤشر 3.5 بالمائة، ثم تراجع إلى 2.25 نقطة، وفق البيان. وانتهت الجلسة."
    assert sentences(text) == ["ارتفع المؤشر 3.5 بالمائة، ثم تراجع إلى 2.25 نقطة، وفق البيان.",
                               "وانتهت الجلسة."]


def test_a_sentence_may_end_with_a_number():
    assert sentences("أقيمت العلاقات عام 1992. ثم فتحت السفارات.") == [
        "أقيمت العلاقات عام 1992.", "ثم فتحت السفارات."]


@pytest.mark.parametrize("close", ['"', "»", "”", ")"])
def test_closing_quotes_stay_with_their_sentence(close):
    open_ = {'"': '"', "»": "«", "”": "“", ")": "("}[close]
    text = f"وقال {open_}سأعود إلى واشنطن الليلة.{close} ثم غادر المنتدى."
    assert sentences(text) == [f"وقال {open_}سأعود إلى واشنطن الليلة.{close}", "ثم غادر المنتدى."]


def test_spans_are_stripped_and_round_trip():
    text = "  \n\n الجملة الأولى.   \r\n\t الجملة الثانية؟  \n\n  "
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["الجملة الأولى.", "الجملة الثانية؟"]
    assert split_sentences(text) == ["الجملة الأولى.", "الجملة الثانية؟"]


def test_punctuation_only_pieces_are_not_sentences():
    assert sentences("... ؟ !\n—\nجملة.") == ["جملة."]


def test_sentence_spans_within_a_range():
    text = "أولى. ثانية. ثالثة. رابعة."
    start, end = text.index("ثانية"), text.index("رابعة")
    assert [text[s:e] for s, e in sentence_spans(text, start, end)] == ["ثانية.", "ثالثة."]


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_sentence_spans_are_ordered_stripped_and_disjoint(name):
    text = corpus_text(name)
    spans = sentence_spans(text)
    assert len(spans) >= 8
    prev_end = 0
    for s, e in spans:
        assert prev_end <= s < e <= len(text)
        assert text[s:e] == text[s:e].strip()
        assert "\n" not in text[s:e]
        prev_end = e
    # nothing but whitespace and punctuation lies between sentences
    gaps = [text[a[1]:b[0]] for a, b in zip([(0, 0)] + spans, spans + [(len(text), 0)])]
    assert all(normalize(g) == "" for g in gaps)


# --- tokenize -----------------------------------------------------------------------------------

def test_stop_words_are_dropped():
    assert tokenize("في من على هذا الذي كان قد") == []
    assert tokenize("ما هي عاصمة كازاخستان؟") == tokenize("عاصمة كازاخستان")


@pytest.mark.parametrize("forms", [
    ("إسرائيل", "وإسرائيل", "بإسرائيل", "لإسرائيل", "وبإسرائيل"),
    ("الاتفاقات", "اتفاقات", "والاتفاقات", "بالاتفاقات", "للاتفاقات"),
    ("الدولة", "دولة", "والدولة", "للدولة"),
    ("كازاخستان", "لكازاخستان", "بكازاخستان", "وكازاخستان"),
    ("واشنطن", "لواشنطن", "بواشنطن"),
])
def test_clitic_forms_give_one_token(forms):
    tokens = [tokenize(f) for f in forms]
    assert all(len(t) == 1 for t in tokens), tokens
    assert len({t[0] for t in tokens}) == 1, dict(zip(forms, tokens))


def test_tokens_are_normalised_and_diacritics_do_not_matter():
    assert tokenize("رسميًا") == tokenize("رسميا")
    assert len(tokenize("ليلًا")) == 1
    assert tokenize("المُسلمة") == tokenize("المسلمه")
    for token in tokenize("الدولة مستشفى المؤتمر الرئيس ١٩٩٢"):
        assert not set(token) & set("ةىؤئأإآ٠١٢٣٤٥٦٧٨٩"), token
    assert "1992" in tokenize("عام ١٩٩٢")


def test_tokenize_without_stemming_keeps_words():
    assert tokenize("الاتفاقات الإبراهيمية", stem_words=False) == ["الاتفاقات", "الابراهيميه"]


# --- question_kind ------------------------------------------------------------------------------

@pytest.mark.parametrize("question, kind", [
    ("متى أقامت كازاخستان علاقات مع إسرائيل؟", "date"),
    ("ومتى سيعلن ذلك؟", "date"),
    ("منذ متى تقيم كازاخستان علاقات مع إسرائيل؟", "date"),
    ("كم نسبة المسلمين في كازاخستان؟", "percent"),
    ("كم عدد سكان أستانا؟", "count"),
    ("كم يبلغ عمر توكايف؟", "age"),
    ("كم مرة زار نتنياهو كازاخستان؟", "count"),  # a noun counted: a count
    ("كم شخصاً قتل في الهجوم؟", "count"),
    ("وكم سفارة فتحتها إسرائيل؟", "count"),
    ("كم يبلغ طول الجسر؟", "number"),  # a verb follows: any number
    ("كم بلغت قيمة الصفقة؟", "number"),
    ("كم سنة استمرت الحرب؟", "number"),  # a span of time: two years may answer it
    ("كم عدد سنوات حكمه؟", "number"),
    ("كم عدد الأيام التي استمر فيها الحصار؟", "number"),
    ("كم عدد الدول العربية التي طبعت؟", "count"),
    ("How many years did the war last?", "number"),
    ("How many Arab states normalized relations with Israel?", "count"),
    # a measure asks for a number, a population for a count, in either language
    ("ما مساحة جورجيا؟", "number"),
    ("ما طول سواحل سوريا؟", "number"),
    ("كم يبلغ تعداد سكان مصر؟", "count"),
    ("ما عدد سكان الصين؟", "count"),
    ("What is the population of Astana?", "count"),
    ("What was the area of the kingdom at its height?", "number"),
    ("How many people live in Astana?", "count"),
    ("What percentage of Kazakhs are Muslim?", "percent"),
    ("When did Netanyahu visit Kazakhstan?", "date"),
    ("In which city did Witkoff speak?", "place"),
    ("Who is the president of Kazakhstan?", "person"),
    ("How old is Tokayev?", "age"),
    # the first question word decides; a later one opens a clause
    ("What kind of gathering was Witkoff addressing when he hinted at it?", "what"),
    ("Who was president when Kazakhstan became independent?", "person"),
    ("Where was Witkoff when he spoke of a new member?", "place"),
    ("Did Tokayev speak to Netanyahu when he was in Washington?", "yesno"),
    ("In what year, and where, did Netanyahu visit Astana?", "year"),
    ("How many Arab states had joined when Kazakhstan did?", "count"),
    ("من هو رئيس كازاخستان؟", "person"),
    ("أين تحدث ويتكوف؟", "place"),
    ("اين تحدث ويتكوف", "place"),
    ("من أين جاء ويتكوف إلى واشنطن؟", "place"),
    ("لماذا تنضم كازاخستان؟", "reason"),
    ("ما اسم رئيس كازاخستان؟", "what"),
    ("في أي سنة أقامت كازاخستان علاقات مع إسرائيل؟", "year"),  # a day does not answer it
    ("في أي عام زار نتنياهو أستانا؟", "year"),
    ("في أي يوم ستعلن كازاخستان انضمامها؟", "date"),
    ("في أي مدينة تحدث ويتكوف؟", "place"),
    ("في أي ساعة انطلق بث القناة؟", "time"),  # the hour: a day does not answer it
    # the noun that names the kind may carry a pronoun: عمره is عمر, نسبتها is نسبة
    ("وكم عمره؟", "age"),
    ("كم كان عمرها حين تولت الحكم؟", "age"),
    ("وما عاصمته؟", "place"),
    ("ما نسبتهم بين السكان؟", "percent"),
    ("في أي موقعة انتصر صلاح الدين؟", "which"),  # موقعة, a battle, is not موقع + ه
    ("ما مكانة الجيش بين جيوش العالم؟", "what"),
    ("At what time did the channel start broadcasting?", "time"),
    ("What time of year do the rains come?", "date"),
    ("ما نسبة المسلمين في كازاخستان؟", "percent"),
    ("هل تنضم السعودية؟", "yesno"),
    ("كيف ردت كازاخستان؟", "how"),
    ("كازاخستان والاتفاقات الإبراهيمية", None),
    ("", None),
])
def test_question_kind(question, kind):
    assert question_kind(question) == kind


@pytest.mark.parametrize("question, lang", [
    ("متى زار نتنياهو كازاخستان؟", "ar"),
    ("ما هي الاتفاقات الإبراهيمية؟", "ar"),
    ("2016؟", "ar"),
    ("When did Netanyahu visit Kazakhstan?", "en"),
    ("Was Netanyahu in Astana?", "en"),  # "was" is German too: a tie stays English
    ("Tokayev?", "en"),  # nothing tells: English
    ("Quand Netanyahou a-t-il visité le Kazakhstan ?", "fr"),
    ("Quelle est la population d'Astana ?", "fr"),
    ("¿Cuál es la población de Astana?", "es"),
    ("Was ist die Hauptstadt?", "de"),
    ("Wie viele Einwohner hat Astana?", "de"),
    ("Qual è la popolazione di Astana?", "it"),
    ("Quem é o presidente do Cazaquistão?", "pt"),
    ("Astana'nın nüfusu nedir?", "tr"),
    ("Какое население Астаны?", "ru"),
    ("Яке населення Астани?", "uk"),
    ("جمعیت آستانه چقدر است؟", "fa"),
    ("آستانہ کی آبادی کتنی ہے؟", "ur"),
    ("מתי ביקר נתניהו בקזחסטן?", "he"),
    ("阿斯塔纳有多少人口？", "zh"),
])
def test_reply_language(question, lang):
    assert reply_language(question) == lang


@pytest.mark.parametrize("question, lang", [
    ("متى زار نتنياهو كازاخستان؟", "ar"),
    ("متى زار Netanyahu كازاخستان؟", "ar"),  # Arabic with a Latin name: Arabic
    ("2016؟", "ar"),  # no letters: Arabic
    ("When did Netanyahu visit Kazakhstan?", "en"),
    # Every other language goes to the cross-lingual scorer: its words share no stems with
    # the articles, Persian's and Urdu's though they are written in Arabic letters.
    ("Quand Netanyahou a-t-il visité le Kazakhstan ?", "en"),
    ("Когда Нетаньяху посетил Казахстан?", "en"),
    ("מתי ביקר נתניהו בקזחסטן?", "en"),
    ("内塔尼亚胡何时访问哈萨克斯坦？", "en"),
    ("جمعیت آستانه چقدر است؟", "en"),
    ("آستانہ کی آبادی کتنی ہے؟", "en"),
])
def test_language_tells_the_scorer(question, lang):
    assert language(question) == lang


def test_every_refusal_is_written_in_every_reply_language():
    from rag import replies

    for table in (replies.NO_ANSWER, replies.NO_PASSAGES, replies.EMPTY_ANSWER):
        assert tuple(table) == REPLY_LANGUAGES
        assert all(text.strip() for text in table.values())
    assert len(set(replies.NO_ANSWER.values())) == len(REPLY_LANGUAGES)
