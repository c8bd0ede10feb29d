"""The saved lexical index: built by `sanad index`, opened without reading the collection,
updated file by file, and never trusted when it does not match the collection."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from rag import Assistant, Settings
from rag.analysis import tokenize
from rag.lexical import BM25
from rag.store import Store, open_store

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "كم نسبة المسلمين في كازاخستان؟"


@pytest.fixture
def settings(tmp_path) -> Settings:
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    return Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")


def in_memory(store) -> BM25:
    return BM25.of_passages(store.passages())


def same_scores(a: BM25, b: BM25, question: str) -> None:
    tokens = tokenize(question)
    ranked_a = {str(a.ids[i]): s for i, s in a.top(tokens, 50)}
    ranked_b = {str(b.ids[i]): s for i, s in b.top(tokens, 50)}
    assert ranked_a.keys() == ranked_b.keys()
    for pid, score in ranked_a.items():
        assert score == pytest.approx(ranked_b[pid], rel=1e-5)
    for t in tokens:
        assert a.idf(t) == pytest.approx(b.idf(t))


def test_a_question_never_reads_the_whole_collection(settings, monkeypatch):
    Assistant(settings).index()

    def whole(self):
        raise AssertionError("read every passage of the collection")

    monkeypatch.setattr(Store, "passages", whole)
    monkeypatch.setattr(Store, "_get_all", whole)
    answer = Assistant(settings).ask(QUESTION)
    assert answer.answered and "70" in answer.text
    assert len(answer.passages) == settings.top_k


def test_the_saved_index_scores_like_one_built_from_the_collection(settings):
    Assistant(settings).index()
    store = open_store(settings)
    saved = BM25.load(store.lexical_path, store.stamp())
    assert saved is not None and isinstance(saved.df, np.memmap)
    same_scores(saved, in_memory(store), QUESTION)


def test_a_changed_and_a_removed_file_update_the_saved_index(settings):
    Assistant(settings).index()
    files = sorted(settings.corpus_dir.glob("*.txt"))
    files[0].write_text(files[0].read_text(encoding="utf-8") + "\nوافتتحت مدينة أوش مطارا جديدا "
                        "بتكلفة 300 مليون دولار.\n", encoding="utf-8")
    files[1].unlink()
    before = open_store(settings).stamp()
    Assistant(settings).index()
    store = open_store(settings)
    assert store.stamp() != before
    saved = BM25.load(store.lexical_path, store.stamp())
    assert files[1].name not in {saved.source(i) for i in range(saved.n)}
    assert saved.n == store.count()
    same_scores(saved, in_memory(store), "مطار مدينة أوش الجديد")
    hits = Assistant(settings).retrieve("مطار مدينة أوش الجديد", 3)
    assert hits[0].passage.source == files[0].name and "أوش" in hits[0].passage.text
    # the saved sentence vectors are exactly the collection's, file for file
    col = store.sentence_collection().get(include=["embeddings"])
    assert sorted(map(str, saved.sentences.ids)) == sorted(col["ids"])
    copy = saved.sentences.get(col["ids"])
    for sid, vector in zip(col["ids"], col["embeddings"]):
        assert np.allclose(copy[sid], vector, atol=1e-6)


def test_a_stale_or_missing_saved_index_is_rebuilt_not_trusted(settings):
    Assistant(settings).index()
    store = open_store(settings)
    store.set_stamp("another-run")  # e.g. a run that died before saving, another machine
    assert BM25.load(store.lexical_path, "another-run") is None
    hits = Assistant(settings).retrieve(QUESTION, 5)
    assert any("70 بالمائة" in h.passage.text for h in hits)
    assert BM25.load(store.lexical_path, "another-run") is not None  # saved for the next one
    shutil.rmtree(store.lexical_path)
    assert Assistant(settings).retrieve(QUESTION, 5)
    # a no-op `sanad index` with a missing saved index brings it back
    shutil.rmtree(store.lexical_path)
    report = Assistant(settings).index()
    assert report.unchanged and not report.added
    assert BM25.load(store.lexical_path, open_store(settings).stamp()) is not None


def test_a_no_op_index_reads_no_file_and_no_passage(settings, monkeypatch):
    import rag.indexing

    Assistant(settings).index()
    opened = []
    real = rag.indexing.load_document
    monkeypatch.setattr(rag.indexing, "load_document",
                        lambda path, source: opened.append(source) or real(path, source))

    def whole(self, *args, **kwargs):
        raise AssertionError("scanned the collection")

    monkeypatch.setattr(Store, "_get_all", whole)
    report = Assistant(settings).index()
    assert len(report.unchanged) == 5 and opened == []
    assert report.passages == open_store(settings).count()
    # touched but not changed: read and hashed once, then recorded again
    path = sorted(settings.corpus_dir.glob("*.txt"))[2]
    path.write_bytes(path.read_bytes())
    import os

    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    report = Assistant(settings).index()
    assert len(report.unchanged) == 5 and opened == [path.name]
    opened.clear()
    Assistant(settings).index()
    assert opened == []


def test_a_rebuild_does_not_grow_the_disk(settings):
    def folders():
        return sorted(p.name for p in settings.index_dir.iterdir() if p.is_dir()
                      and p.name != "lexical")

    hashing = settings.replace(embedding="hashing-ngram-v1")
    Assistant(hashing).index()
    first = folders()
    assert len(first) == 2  # one vector folder per collection: passages, sentences
    for _ in range(3):
        Assistant(hashing).index(rebuild=True)
    assert len(folders()) == 2 and set(folders()).isdisjoint(first)
    answer = Assistant(hashing).ask(QUESTION)
    assert answer.passages


def test_an_open_assistant_survives_a_rebuild_by_another_process(settings):
    import subprocess
    import sys

    Assistant(settings).index()
    open_one = Assistant(settings)
    before = open_one.ask(QUESTION)
    assert before.answered
    done = subprocess.run([sys.executable, "-m", "rag.cli", "index", "--rebuild", "--corpus",
                           str(settings.corpus_dir), "--index", str(settings.index_dir)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    after = open_one.ask(QUESTION)  # the collection was replaced: reopened, not an error
    assert after.answered and after.text == before.text and not after.notes
    # and re-indexing from the open one (ctrl+r in a chat) works too, embedding nothing
    report = open_one.index()
    assert len(report.unchanged) == 5 and report.passages_embedded == 0
    assert open_one.ask(QUESTION).text == before.text


def test_an_update_in_progress_is_said_beside_the_answer(settings):
    Assistant(settings).index()
    assistant = Assistant(settings)
    assistant.ask(QUESTION)
    open_store(settings).set_stamp("indexing-0123")  # what a running or dead run leaves
    answer = assistant.ask(QUESTION)
    assert answer.passages
    assert any("being updated" in n and "sanad index" in n for n in answer.notes)


def test_a_storage_failure_is_one_sentence(settings, monkeypatch, capsys):
    from rag.cli import main
    from rag.errors import IndexStoreError

    Assistant(settings).index()

    def broken(self, *args, **kwargs):
        raise ConnectionError("[Errno 111] Connection refused by the server at 127.0.0.1")

    from chromadb.api.models.Collection import Collection

    monkeypatch.setattr(Collection, "query", broken)
    with pytest.raises(IndexStoreError, match="could not be used .*ConnectionError"):
        Assistant(settings).ask(QUESTION)
    code = main(["ask", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir),
                 QUESTION])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("sanad: The index at")


def test_saved_scores_are_bm25s_own_floats_and_read_by_rows(tmp_path):
    import bm25s

    docs = [tokenize(t) for t in ("المسلمون في كازاخستان سبعون بالمائة من السكان",
                                  "عاصمة كازاخستان أستانا وأكبر مدنها ألماتي",
                                  "السكان في المدن الكبرى", "ألماتي مدينة كبيرة كبيرة")]
    built = BM25.from_tokens(docs, [f"p{i}" for i in range(4)], ["a", "a", "b", "c"])
    built.save(tmp_path / "lex")
    saved = BM25.load(tmp_path / "lex")
    reference = bm25s.BM25.load(str(tmp_path / "lex" / "bm25"), mmap=False, load_vocab=False,
                                show_progress=False)
    for query in (["كازاخستان"], ["السكان", "كازاخستان", "السكان"], docs[3], ["غير"]):
        known = [saved.vocab[t] for t in query if t in saved.vocab]
        expected = reference.get_scores(known) if known else np.zeros(4, np.float32)
        assert np.array_equal(saved.scores(query), expected)
        assert np.array_equal(built.scores(query), expected)
    assert [saved.passage_id(i) for i in range(4)] == ["p0", "p1", "p2", "p3"]
    assert [saved.source(i) for i in range(4)] == ["a", "a", "b", "c"]


@pytest.mark.parametrize("n", [0, 1, 2, 63, 64, 65, 66, 200, 1000])
def test_rows_find_every_id_of_a_sorted_file_and_none_else(tmp_path, n):
    from rag.rowfiles import Rows

    ids = np.array(sorted(f"{i * 7919 % 100003:06d}x" for i in range(n)), dtype=str)
    np.save(tmp_path / "ids.npy", ids if n else np.array([], "U7"))
    rows = Rows(np.load(tmp_path / "ids.npy", mmap_mode="r"))
    assert [rows.find(str(s)) for s in ids] == list(range(n))
    for absent in ("", "000000", "5", "999999y", "zzz"):
        assert rows.find(absent) is None
    assert len(rows) == n and (not n or rows[-1] == ids[-1])


def test_large_sentence_vectors_merge_through_a_file_to_the_same_rows(tmp_path, monkeypatch):
    import rag.rowfiles as rowfiles

    rng = np.random.default_rng(1)

    def rows(n, prefix):
        return [(f"{prefix}{rng.integers(10**6):06d}", f"f{i % 4}", rng.random(6, np.float32))
                for i in range(n)]

    a, b = rows(300, "a"), rows(200, "b")
    expected = rowfiles.SentenceVectors.of(a).joined(rowfiles.SentenceVectors.of(b))
    expected = expected.without({"f1"})
    monkeypatch.setattr(rowfiles, "IN_MEMORY_BYTES", 0)
    monkeypatch.setattr(rowfiles, "_ROWS", 7)
    rowfiles.SentenceVectors.of(a).save(tmp_path)
    saved = rowfiles.SentenceVectors.load(tmp_path)
    assert saved.without(set()) is saved and saved.without({"nothing"}) is saved
    merged = saved.joined(rowfiles.SentenceVectors.of(b)).without({"f1"})
    assert isinstance(merged.vectors, np.memmap)
    assert np.array_equal(merged.ids, expected.ids)
    assert np.array_equal(merged.sources, expected.sources)
    assert np.array_equal(np.asarray(merged.vectors), expected.vectors)
    merged.save(tmp_path)
    again = rowfiles.SentenceVectors.load(tmp_path)
    got = again.get([str(i) for i in expected.ids] + ["missing"])
    assert list(got) == [str(i) for i in expected.ids]
    assert all(np.array_equal(got[str(i)], v) for i, v in zip(expected.ids, expected.vectors))


def test_the_record_of_files_is_read_when_asked_not_kept(settings):
    Assistant(settings).index()
    store = open_store(settings)
    saved = BM25.load(store.lexical_path, store.stamp())
    record = saved.files
    assert set(record) == {p.name for p in settings.corpus_dir.glob("*.txt")}
    assert saved._files is None and saved.files == record
