"""The English-Arabic dictionary (rag/lexicon.py): English questions get Arabic stems for BM25
and for the answerer's coverage. A small dictd file written here stands in for FreeDict's."""

from __future__ import annotations

import gzip

import pytest

from rag import extractive, lexicon, matching
from rag.errors import ConfigError
from rag.analysis import tokenize
from rag.lexicon import Lexicon
from rag.query import Query
from rag.retrieval import HybridRetriever
from rag.settings import Settings
from rag.types import Passage

ENTRIES = {  # headword: the entry's lines after the headword line, as FreeDict writes them
    "embassy": ["السفارة"],
    "visit": ["الزيارة"],
    "visitor": ["الزائر"],
    "white house": ["البيت الأبيض"],
    "white": ["أبيض"],
    "israeli": ["1. المواطن الإسرائيلي", "2. متعلّق بإسرائيل"],
    "open": ["افتح"],
    "opened": ["مفتوح"],
    "long": ["طويل"],
    "old": ["قديم"],
    "egg": ["بيضة"],
}
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(n: int) -> str:
    out = ""
    while True:
        out = B64[n % 64] + out
        n //= 64
        if not n:
            return out


def write_dictd(folder, entries=ENTRIES, compress=True):
    """A dictd dictionary: `.index` lines "headword<TAB>offset<TAB>length" (base64) into
    `.dict` (gzip-compressed as `.dict.dz`), with dictd's own 00-database entry first."""
    body, lines = b"", []
    for head, senses in {"00-database-info": ["about"], **entries}.items():
        entry = "\n".join([f"{head.title()} /x/", *senses]).encode() + b"\n"
        lines.append(f"{head}\t{_b64(len(body))}\t{_b64(len(entry))}")
        body += entry
    index = folder / "test-eng-ara.index"
    index.write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    if compress:
        index.with_suffix(".dict.dz").write_bytes(gzip.compress(body))
    else:
        index.with_suffix(".dict").write_bytes(body)
    return index


@pytest.fixture
def dictionary(tmp_path):
    return Lexicon(write_dictd(tmp_path))


@pytest.mark.parametrize("compress", [True, False])
def test_a_word_is_translated_to_the_stems_of_its_entry(tmp_path, compress):
    found = Lexicon(write_dictd(tmp_path, compress=compress))
    assert found.translate("embassy") == [tuple(tokenize("السفارة"))]


def test_an_inflected_word_takes_the_entry_it_stems_to_and_an_exact_one_first(dictionary):
    assert dictionary.translate("visited") == [tuple(tokenize("الزيارة"))]  # visit
    assert dictionary.translate("visitors") == [tuple(tokenize("الزائر"))]  # visitor
    assert dictionary.translate("opened") == [tuple(tokenize("مفتوح"))]  # its own entry


def test_a_two_word_headword_is_one_term_and_question_words_are_none(dictionary):
    groups = dictionary.translate("When did the Israeli visitor reach the White House?")
    assert groups == [tuple(dict.fromkeys(tokenize("المواطن الإسرائيلي") + tokenize("متعلّق"))),
                      tuple(tokenize("الزائر")), tuple(tokenize("البيت الأبيض"))]
    assert dictionary.translate("Where is it? What was Kazakhstan") == []  # nothing known


def test_the_adjective_after_how_asks_for_a_measure_and_is_not_translated(dictionary):
    """"How long" is كم من الوقت: translated, "long" met "منذ فترة طويلة" in any article."""
    assert dictionary.translate("How long should I boil an egg?") == [tuple(tokenize("بيضة"))]
    assert dictionary.translate("How old is the embassy?") == [tuple(tokenize("السفارة"))]
    assert dictionary.translate("a long visit to an old embassy") == [
        tuple(tokenize(w)) for w in ("طويل", "الزيارة", "قديم", "السفارة")]


def test_a_headword_written_twice_gives_both_entries_in_the_file_s_order(tmp_path):
    """dictd lists a word once per entry, and in either case ("Open", "open"): every entry of
    the word is read, as the index orders them."""
    body = "Open /x/\nافتح\nopen /y/\nمفتوح\n".encode()
    first = len("Open /x/\nافتح\n".encode())
    index = tmp_path / "twice.index"
    index.write_text(f"00-database-info\tA\tB\nOpen\tA\t{_b64(first)}\n"
                     f"open\t{_b64(first)}\t{_b64(len(body) - first)}\n", encoding="utf-8")
    index.with_suffix(".dict").write_bytes(body)
    assert Lexicon(index).translate("open") == [tuple(tokenize("افتح")) + tuple(tokenize("مفتوح"))]
    assert Lexicon(index).translate("opened") == [tuple(tokenize("افتح")) + tuple(tokenize("مفتوح"))]


def test_the_setting_names_the_dictionary_or_turns_it_off(tmp_path, monkeypatch):
    index = write_dictd(tmp_path)
    assert Lexicon.find("off") is None
    assert Lexicon.find(str(index)).translate("embassy")
    monkeypatch.setattr(lexicon, "DEFAULT_PATHS", (tmp_path / "none.index",))
    assert Lexicon.find("auto") is None and Lexicon.find(None) is None
    monkeypatch.setattr(lexicon, "DEFAULT_PATHS", (tmp_path / "none.index", index))
    assert Lexicon.find("auto").index == index
    monkeypatch.setenv("SANAD_DICTIONARY", str(index))
    assert Settings.from_env().dictionary == str(index)


def test_a_dictionary_that_is_missing_or_unreadable_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="SANAD_DICTIONARY names .* is not a file"):
        Lexicon.find(str(tmp_path / "none.index"))
    index = write_dictd(tmp_path)
    index.with_suffix(".dict.dz").write_bytes(b"not gzip")
    with pytest.raises(ConfigError, match="could not be read"):
        Lexicon.find(str(index)).translate("embassy")
    index = write_dictd(tmp_path)
    index.write_text("embassy\t!!\t??\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="could not be read"):
        Lexicon.find(str(index)).translate("embassy")


def test_only_a_question_in_another_language_is_translated(dictionary):
    english = Query.build("When was the embassy opened?", lexicon=dictionary)
    assert english.translations == (tuple(tokenize("السفارة")), tuple(tokenize("مفتوح")))
    assert set(tokenize("السفارة")) <= set(english.tokens) and set(english.tokens) == english.typed
    arabic = Query.build("متى افتتحت السفارة؟", lexicon=dictionary)
    assert arabic.translations == () and arabic.tokens == tokenize("متى افتتحت السفارة؟")


def test_a_question_in_another_latin_script_language_is_not_read_as_english(dictionary):
    # "visit" is in the dictionary; French and Spanish questions keep their own words
    dictionary_words = Query.build("When did the Israeli president visit?", lexicon=dictionary)
    assert dictionary_words.translations
    for question in ("Quand le président israélien a-t-il fait sa visite ?",
                     "¿Cuándo fue la visita del presidente israelí?"):
        query = Query.build(question, lexicon=dictionary)
        assert query.translations == () and query.tokens == tokenize(question)


def test_words_carried_from_the_conversation_are_translated_as_context(dictionary):
    """A follow-up in English searches with words of the earlier turn: their Arabic stems
    join the search as context (BM25 weighs them less), not as what was typed."""
    query = Query.build("And when was it opened?", "And when was it opened? embassy",
                        lexicon=dictionary)
    embassy = set(tokenize("السفارة"))
    assert query.carried and embassy <= set(query.tokens) and not embassy & query.typed
    assert set(query.context_tokens) >= embassy
    assert query.translations == (tuple(tokenize("مفتوح")),)  # the typed words' only


def passage(pid: str, text: str) -> Passage:
    return Passage(id=pid, source=pid.split(":")[0] + ".txt", start=0, end=len(text), text=text,
                   ordinal=0)


EMBASSY = passage("a:0", "افتتحت السفارة في أستانا عام 1996.")
OTHERS = [passage(f"b{i}:0", t) for i, t in enumerate(["زار الرئيس المدينة في الربيع.", "وقعت الدولتان اتفاقا تجاريا.",
                     "تعيش في البلاد أقليات كثيرة."])]


def test_bm25_finds_an_arabic_passage_for_an_english_word_the_dictionary_knows(dictionary):
    retriever = HybridRetriever([EMBASSY] + OTHERS, None, mode="bm25")
    question = "When was the embassy opened?"
    assert retriever.search(question, 3) == []  # English stems meet no Arabic text
    retriever.lexicon = dictionary
    assert [h.passage.id for h in retriever.search(question, 3)][0] == "a:0"


def test_the_translated_words_count_in_the_english_coverage(dictionary):
    """A sentence holding the embassy covers the question's word for it; the names-only
    terms of an English question without a dictionary see nothing there."""
    retriever = HybridRetriever([EMBASSY] + OTHERS, None, mode="bm25")
    query = Query.build("When was the embassy opened?", lexicon=dictionary)
    terms = matching.translated_terms(query, retriever)
    words = matching.skeletons(EMBASSY.text) | set(tokenize(EMBASSY.text))
    assert matching.coverage(terms, words)[0] == pytest.approx(1.0)
    assert matching.coverage(terms, set(tokenize(OTHERS[0].text)))[0] == 0.0
    bare = matching.translated_terms(Query.build("When was the embassy opened?"), retriever)
    assert bare.weights == {}


def test_an_english_question_has_its_own_scorer_with_the_dictionary_or_without(dictionary):
    class E5Retriever:
        embeddings = type("E", (), {"name": extractive.E5_NAME})()

    with_words = Query.build("When was the embassy opened?", lexicon=dictionary)
    without = Query.build("When was the embassy opened?")
    assert extractive.scorer_for(with_words, E5Retriever()) is extractive.SCORERS["e5-dictionary"]
    assert extractive.scorer_for(without, E5Retriever()) is extractive.SCORERS["e5-english"]
    french = Query.build("Quand l'ambassade a-t-elle ouvert ?", lexicon=dictionary)
    assert extractive.scorer_for(french, E5Retriever()) is extractive.SCORERS["e5-crosslingual"]
    arabic = Query.build("متى افتتحت السفارة؟", lexicon=dictionary)
    assert extractive.scorer_for(arabic, E5Retriever()) is extractive.SCORERS["e5"]


def test_a_dictionary_is_freed_when_dropped(tmp_path):
    """Entries are cached per dictionary, not on the class (which would keep each dictionary
    a process opened, some 15 MB, alive for good)."""
    import gc
    import weakref

    found = Lexicon(write_dictd(tmp_path))
    assert found.translate("embassy")
    ref = weakref.ref(found)
    del found
    gc.collect()
    assert ref() is None
