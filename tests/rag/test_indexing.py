"""Incremental indexing into a real on-disk Chroma: add, change, delete, skip, repair, lock."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import rag.store
from rag import (Assistant, CorpusError, EmbeddingMismatchError, IndexLockedError,
                 IndexMissingError, Settings)
from rag.chunking import chunk_document
from rag.embeddings import sentence_space, sentence_vectors
from rag.indexing import build_index, index_busy, index_lock
from rag.loading import load_corpus
from rag.store import Store, open_store

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
FILES = sorted(p.name for p in CORPUS.glob("*.txt"))
NEW_FILE = ("أعلنت جمهورية قرغيزستان افتتاح مطار جديد في مدينة أوش بتكلفة بلغت 300 مليون دولار.\n"
            "وقال وزير النقل إن المطار سيستقبل أول رحلة دولية في شهر مارس المقبل.\n")


def png_bytes() -> bytes:
    rng = random.Random(3)
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rng.randrange(256) for _ in range(3000))


@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "corpus"
    shutil.copytree(CORPUS, path)
    return path


@pytest.fixture
def settings(corpus, tmp_path) -> Settings:
    return Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")


def expected_passages(settings) -> dict:
    docs = load_corpus(settings.corpus_dir)
    return {p.id: p for d in docs
            for p in chunk_document(d, settings.chunk_target, settings.chunk_overlap)}


def assert_index_matches_corpus(settings) -> list:
    """The index holds exactly the passages the corpus chunks into: none missing, none twice."""
    store = open_store(settings)
    stored = store.passages()
    spans = [(p.source, p.start, p.end) for p in stored]
    assert len(spans) == len(set(spans)), "duplicate passages"
    expected = expected_passages(settings)
    assert {p.id for p in stored} == set(expected)
    assert store.count() == len(expected)
    for p in stored:
        e = expected[p.id]
        assert (p.source, p.start, p.end, p.text, p.ordinal) == (e.source, e.start, e.end, e.text,
                                                                  e.ordinal)
    states = store.file_states()
    for doc in load_corpus(settings.corpus_dir):
        n = len(chunk_document(doc, settings.chunk_target, settings.chunk_overlap))
        assert (states[doc.source].sha256, states[doc.source].present,
                states[doc.source].expected) == (doc.sha256, n, n), doc.source
        assert states[doc.source].complete, doc.source
    # every answer-sized sentence once, with its file, span and passage
    from rag.chunking import file_sentences

    want = {s.id: s for d in load_corpus(settings.corpus_dir)
            for s in file_sentences(chunk_document(d, settings.chunk_target,
                                                   settings.chunk_overlap))}
    got = store.sentence_collection().get(include=["metadatas", "documents"])
    assert sorted(got["ids"]) == sorted(want)
    by_id = {p.id: p for p in stored}
    for sid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
        s = want[sid]
        assert (meta["source"], meta["start"], meta["end"], meta["passage"]) == (
            s.source, s.start, s.end, s.passage_id)
        # the text is not stored twice: the passage holds it at the sentence's span
        passage = by_id[meta["passage"]]
        assert text is None
        assert passage.text[s.start - passage.start:s.end - passage.start] == s.text
    assert set(states) == {d.source for d in load_corpus(settings.corpus_dir)}
    return stored


class CountingEmbeddings:
    """Wraps the store's embeddings and counts the texts embedded."""

    def __init__(self, inner):
        self.inner, self.name, self.dimension, self.texts = inner, inner.name, inner.dimension, 0
        self.sentence_name, self.sentence_dimension = sentence_space(inner)

    def count(self, texts):
        self.texts += len(texts)

    def embed_documents(self, texts):
        self.count(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)

    def passage_vectors(self, texts):
        self.count(texts)
        return self.inner.passage_vectors(texts)

    def sentence_vectors(self, texts):
        self.count(texts)
        return sentence_vectors(self.inner, texts)

    def query_vector(self, text):
        return self.inner.query_vector(text)


def expected_sentences(settings, source: str | None = None) -> int:
    from rag.chunking import file_sentences

    docs = load_corpus(settings.corpus_dir)
    return sum(len(file_sentences(chunk_document(d, settings.chunk_target, settings.chunk_overlap)))
               for d in docs if source in (None, d.source))


# --- add, no-op, change, delete -----------------------------------------------------------------

def test_first_index_adds_every_file_then_a_rerun_does_nothing(settings):
    events = []
    report = build_index(settings, open_store(settings), progress=events.append)
    n = len(expected_passages(settings))
    m = expected_sentences(settings)
    assert report.added == FILES
    assert (report.updated, report.removed, report.unchanged, report.skipped) == ([], [], [], [])
    assert report.files == 5 and report.passages == n and report.passages_embedded == n
    assert report.sentences_embedded == m > n
    assert events[-1].stage == "done" and events[-1].done == events[-1].total == n + m
    assert [e.done for e in events if e.stage == "embed"] == sorted(
        e.done for e in events if e.stage == "embed")
    assert_index_matches_corpus(settings)

    store = open_store(settings)
    store.embeddings = counting = CountingEmbeddings(store.embeddings)
    again = build_index(settings, store)
    assert again.unchanged == FILES
    assert (again.added, again.updated, again.removed) == ([], [], [])
    assert again.passages_embedded == 0 and counting.texts == 0
    assert again.passages == n


def test_a_changed_file_has_its_passages_replaced(settings, corpus):
    build_index(settings, open_store(settings))
    before = {p.id: p for p in open_store(settings).passages()}
    sentences_before = set(open_store(settings).sentence_collection().get()["ids"])
    target = corpus / FILES[2]
    text = target.read_text(encoding="utf-8")
    text = text.replace("ستيف ويتكوف", "المبعوث ستيف ويتكوف", 1)
    target.write_text(text + "\nوفي تطور لاحق، أكد المسؤولون أن حفل التوقيع سيقام الأسبوع المقبل.\n",
                      encoding="utf-8")
    store = open_store(settings)
    store.embeddings = counting = CountingEmbeddings(store.embeddings)
    report = build_index(settings, store)
    assert report.updated == [FILES[2]]
    assert report.unchanged == [f for f in FILES if f != FILES[2]]
    new_chunks = [p for p in expected_passages(settings).values() if p.source == FILES[2]]
    # what changed is embedded: the passages and sentences whose words did. The words
    # added early in the file moved every later passage and sentence (new ids), and those
    # keep their vectors: a vector is of its text alone.
    from rag.chunking import file_sentences
    new_sentences = file_sentences(new_chunks)
    old_chunks = [p for p in before.values() if p.source == FILES[2]]
    old_texts = {p.text for p in old_chunks} | {x.text for x in file_sentences(old_chunks)}
    changed = [p for p in new_chunks if p.text not in old_texts]
    changed_sentences = [x for x in new_sentences if x.text not in old_texts]
    moved = [x for x in new_sentences if x.id not in sentences_before and x.text in old_texts]
    assert len(moved) > len(changed_sentences)
    assert report.passages_embedded == len(changed) > 0
    assert report.sentences_embedded == len(changed_sentences) > 0
    assert counting.texts == len(changed) + len(changed_sentences) < (len(new_chunks)
                                                                       + len(new_sentences))
    stored = assert_index_matches_corpus(settings)
    for p in stored:
        if p.source != FILES[2]:
            assert p.id in before  # the other files were not touched
    mine = [p for p in stored if p.source == FILES[2]]
    assert any("حفل التوقيع سيقام الأسبوع المقبل" in p.text for p in mine)
    assert len(mine) == len(new_chunks)


def test_a_paragraph_added_at_the_end_embeds_only_what_changed(settings, corpus):
    """A news file updated with a paragraph: its earlier passages and sentences keep their
    words and place, so their vectors are kept; only the changed tail is embedded."""
    build_index(settings, open_store(settings))
    old = stored_vectors(settings, FILES[4])
    target = corpus / FILES[4]
    target.write_text(target.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + NEW_FILE,
                      encoding="utf-8")
    store = open_store(settings)
    store.embeddings = counting = CountingEmbeddings(store.embeddings)
    report = build_index(settings, store)
    assert report.updated == [FILES[4]]
    new = [p for p in expected_passages(settings).values() if p.source == FILES[4]]
    assert 0 < report.passages_embedded <= 2 < len(new)
    assert 0 < report.sentences_embedded <= 4 < expected_sentences(settings, FILES[4])
    assert counting.texts == report.passages_embedded + report.sentences_embedded
    now = stored_vectors(settings, FILES[4])
    kept = len(new) - report.passages_embedded
    assert same_vectors([now[0][:kept]], [old[0][:kept]])
    assert_index_matches_corpus(settings)
    answer = Assistant(settings).ask("كم بلغت تكلفة مطار أوش الجديد؟")
    assert answer.answered and "300" in answer.text
    assert answer.citations[0].source == FILES[4]


def test_a_typo_mended_embeds_only_its_sentence_and_the_passages_holding_it(settings, corpus):
    """One letter added to a word moves every later passage and sentence of the file by one
    character (their ids change), but their words do not: they keep their vectors, and only
    the mended sentence and the passages holding it are embedded."""
    from rag.chunking import file_sentences

    build_index(settings, open_store(settings))
    target = corpus / FILES[1]
    text = target.read_text(encoding="utf-8")
    at = text.index("الاتفاقيات")
    target.write_text(text[:at] + "ا" + text[at:], encoding="utf-8")  # a typo made, then seen
    store = open_store(settings)
    store.embeddings = counting = CountingEmbeddings(store.embeddings)
    report = build_index(settings, store)
    new = [p for p in expected_passages(settings).values() if p.source == FILES[1]]
    holding = [p for p in new if p.start <= at < p.end]
    later = [p for p in new if p.start > at]
    assert report.updated == [FILES[1]] and holding and len(later) >= 3
    assert report.passages_embedded == len(holding)
    assert report.sentences_embedded == 1 < len(file_sentences(new))
    assert counting.texts == len(holding) + 1
    assert_index_matches_corpus(settings)


def test_a_deleted_file_is_removed_with_its_passages(settings, corpus):
    build_index(settings, open_store(settings))
    (corpus / FILES[3]).unlink()
    report = build_index(settings, open_store(settings))
    assert report.removed == [FILES[3]] and report.passages_embedded == 0
    assert report.files == 4
    stored = assert_index_matches_corpus(settings)
    assert FILES[3] not in {p.source for p in stored}
    assert FILES[3] not in open_store(settings).sources()


def test_an_added_file_is_indexed_and_answers(settings, corpus):
    build_index(settings, open_store(settings))
    (corpus / "005_new.txt").write_text(NEW_FILE, encoding="utf-8")
    report = build_index(settings, open_store(settings))
    assert report.added == ["005_new.txt"] and report.unchanged == FILES
    assert report.passages_embedded == len(
        [p for p in expected_passages(settings).values() if p.source == "005_new.txt"])
    assert_index_matches_corpus(settings)
    answer = Assistant(settings).ask("كم بلغت تكلفة مطار أوش الجديد؟")
    assert answer.answered and "300" in answer.text
    assert answer.citations[0].source == "005_new.txt"


def stored_vectors(settings, source: str) -> list:
    """A file's passage and sentence vectors as stored, in file order."""
    store = open_store(settings)
    out = []
    for col in (store.collection(), store.sentence_collection()):
        got = col.get(where={"source": source}, include=["embeddings", "metadatas"])
        rows = sorted(zip(got["metadatas"], got["embeddings"]), key=lambda r: r[0]["start"])
        out.append(np.array([v for _, v in rows]))
    return out


def same_vectors(a: list, b: list) -> bool:
    """The same rows (Chroma may give a float back a unit in the last place apart)."""
    return all(x.shape == y.shape and np.allclose(x, y, atol=1e-6) for x, y in zip(a, b))


def test_a_renamed_or_moved_file_takes_its_vectors_instead_of_being_embedded(settings,
                                                                              corpus, capsys):
    build_index(settings, open_store(settings))
    before = stored_vectors(settings, FILES[1])
    (corpus / "moved").mkdir()
    (corpus / FILES[1]).rename(corpus / "moved" / "renamed.txt")
    store = open_store(settings)
    store.embeddings = counting = CountingEmbeddings(store.embeddings)
    events = []
    report = build_index(settings, store, progress=events.append)
    assert counting.texts == 0
    assert report.added == report.reused == ["moved/renamed.txt"]
    assert report.removed == [FILES[1]]
    assert report.passages_embedded == report.sentences_embedded == 0
    assert events[-1].stage == "done" and events[-1].done == events[-1].total > 0
    assert same_vectors(stored_vectors(settings, "moved/renamed.txt"), before)
    assert [len(v) for v in stored_vectors(settings, FILES[1])] == [0, 0]
    assert_index_matches_corpus(settings)  # ids, spans and sentences under the new name
    answer = Assistant(settings).ask("في أي عام أقامت كازاخستان علاقات مع إسرائيل؟")
    assert all(c.source != FILES[1] and c.verified for c in answer.citations)

    from rag.cli import main  # the run says what it spared
    (corpus / "moved" / "renamed.txt").rename(corpus / "again.txt")
    assert main(["index", "--corpus", str(corpus), "--index", str(settings.index_dir)]) == 0
    out = capsys.readouterr().out
    assert "0 passages and 0 sentences embedded now; 1 renamed, moved or copied file took " \
           "the vectors of an indexed file with the same content" in out


def test_a_copy_takes_the_vectors_of_its_original_and_both_stay(settings, corpus):
    build_index(settings, open_store(settings))
    (corpus / "copy.txt").write_bytes((corpus / FILES[0]).read_bytes())
    store = open_store(settings)
    store.embeddings = counting = CountingEmbeddings(store.embeddings)
    report = build_index(settings, store)
    assert counting.texts == 0 and report.reused == ["copy.txt"]
    assert same_vectors(stored_vectors(settings, "copy.txt"), stored_vectors(settings, FILES[0]))
    assert_index_matches_corpus(settings)


def test_copies_in_one_run_are_embedded_once(settings, corpus):
    """A first build of a corpus that holds the same article twice (saved twice, or in two
    folders) embeds it once: the copy takes the vectors of the file this run embedded."""
    (corpus / "again").mkdir()
    for name in FILES[:2]:
        (corpus / "again" / name).write_bytes((corpus / name).read_bytes())
    store = open_store(settings)
    store.embeddings = counting = CountingEmbeddings(store.embeddings)
    report = build_index(settings, store)
    assert sorted(report.reused) == [f"again/{name}" for name in FILES[:2]]
    originals = [p for p in expected_passages(settings).values() if p.source in FILES]
    assert report.passages_embedded == len(originals) == counting.texts - report.sentences_embedded
    assert report.sentences_embedded == expected_sentences(settings) - sum(
        expected_sentences(settings, name) for name in FILES[:2])
    for name in FILES[:2]:
        assert same_vectors(stored_vectors(settings, f"again/{name}"),
                            stored_vectors(settings, name))
    assert_index_matches_corpus(settings)


def test_a_copy_of_a_file_changed_in_the_same_run_takes_its_new_vectors(settings, corpus):
    build_index(settings, open_store(settings))
    modify(corpus / FILES[0])
    (corpus / "again.txt").write_bytes((corpus / FILES[0]).read_bytes())  # sorts after it
    store = open_store(settings)
    store.embeddings = counting = CountingEmbeddings(store.embeddings)
    report = build_index(settings, store)
    assert report.updated == [FILES[0]] and report.reused == ["again.txt"]
    assert counting.texts == report.passages_embedded + report.sentences_embedded
    assert 0 < report.passages_embedded < len(
        [p for p in expected_passages(settings).values() if p.source == FILES[0]])
    assert same_vectors(stored_vectors(settings, "again.txt"), stored_vectors(settings, FILES[0]))
    assert_index_matches_corpus(settings)


def test_a_file_whose_vectors_cannot_all_be_found_is_embedded(settings, corpus):
    """The original's rows are incomplete (a sentence vector lost): the copy is embedded, not
    given vectors that are not there."""
    build_index(settings, open_store(settings))
    store = open_store(settings)
    col = store.sentence_collection()
    one = col.get(where={"source": FILES[0]}, limit=1)["ids"]
    col.delete(ids=one)
    (corpus / "copy.txt").write_bytes((corpus / FILES[0]).read_bytes())
    store = open_store(settings)
    store.embeddings = counting = CountingEmbeddings(store.embeddings)
    report = build_index(settings, store)
    assert report.reused == [] and report.added == ["copy.txt"]
    assert counting.texts >= report.passages_embedded > 0


def test_only_files_the_index_holds_are_deleted_before_they_are_written(settings, corpus,
                                                                         monkeypatch):
    """A delete costs 15-30 ms at 200k passages: a file the index's record has never seen
    (a first build, an added file) is written without one; a changed file's old rows go."""
    deleted = []
    real = Store.delete_source
    monkeypatch.setattr(Store, "delete_source",
                        lambda self, source: (deleted.append(source), real(self, source)))
    build_index(settings, open_store(settings))
    assert deleted == []
    (corpus / "005_new.txt").write_text(NEW_FILE, encoding="utf-8")
    modify(corpus / FILES[1])
    build_index(settings, open_store(settings))
    assert deleted == [FILES[1]]
    assert_index_matches_corpus(settings)


def test_empty_and_binary_files_are_skipped_with_a_reason(settings, corpus):
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "image.txt").write_bytes(png_bytes())
    warned = []
    report = build_index(settings, open_store(settings), warn=lambda s, r: warned.append((s, r)))
    assert report.added == FILES
    skipped = dict(report.skipped)
    assert set(skipped) == {"empty.txt", "image.txt"}
    assert "empty" in skipped["empty.txt"] and "empty.txt" in skipped["empty.txt"]
    assert "binary" in skipped["image.txt"]
    assert sorted(warned) == sorted(report.skipped)
    assert_index_matches_corpus(settings)


def test_a_file_that_becomes_unreadable_leaves_the_index(settings, corpus):
    build_index(settings, open_store(settings))
    (corpus / FILES[0]).write_bytes(png_bytes())
    report = build_index(settings, open_store(settings))
    assert report.removed == [FILES[0]]
    assert [s for s, _ in report.skipped] == [FILES[0]]
    assert FILES[0] not in open_store(settings).sources()


def _unreadable(monkeypatch, *paths: Path) -> None:
    """Make folders unreadable as a permission would (the suite may run as root, which
    permissions do not stop)."""
    real = os.scandir
    blocked = {str(p) for p in paths}

    def scandir(path="."):
        if str(path) in blocked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_a_folder_that_cannot_be_read_keeps_what_was_indexed_from_it(settings, corpus,
                                                                      monkeypatch):
    # Its files were taken for deleted: their passages went, and came back embedded anew.
    sub = corpus / "sub"
    sub.mkdir()
    (sub / "new.txt").write_text(NEW_FILE, encoding="utf-8")
    build_index(settings, open_store(settings))
    _unreadable(monkeypatch, sub)
    warned = []
    report = build_index(settings, open_store(settings), warn=lambda s, r: warned.append(r))
    assert report.removed == [] and "sub/new.txt" in report.unchanged
    assert report.passages_embedded == 0
    assert any("could not be read" in r and "is kept" in r for r in warned)
    assert "sub/new.txt" in open_store(settings).sources()
    assistant = Assistant(settings)
    assert assistant.changes() == {"added": [], "changed": [], "removed": []}


def test_a_corpus_folder_that_cannot_be_read_is_an_error_not_an_empty_corpus(settings, corpus,
                                                                             monkeypatch):
    build_index(settings, open_store(settings))
    _unreadable(monkeypatch, corpus)
    with pytest.raises(CorpusError, match="could not be read"):
        build_index(settings, open_store(settings))
    monkeypatch.undo()
    assert sorted(open_store(settings).sources()) == FILES  # nothing was removed


def test_a_file_that_could_not_be_read_is_read_again_by_the_next_index(settings, corpus,
                                                                       monkeypatch):
    # A read error (a permission) was recorded like an empty or binary file: skipped until
    # the file's size or time changed, so it never came back once readable.
    target = corpus / FILES[0]
    real = Path.read_bytes

    def read_bytes(self):
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    report = build_index(settings, open_store(settings))
    assert [s for s, _ in report.skipped] == [FILES[0]] and FILES[0] not in report.added
    assert Assistant(settings).changes() == {"added": [], "changed": [], "removed": []}
    monkeypatch.undo()
    report = build_index(settings, open_store(settings))
    assert report.added == [FILES[0]] and report.skipped == []
    # and a file indexed before keeps its passages while it cannot be read
    target.write_text(target.read_text(encoding="utf-8") + "\nسطر جديد.", encoding="utf-8")
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    report = build_index(settings, open_store(settings))
    assert report.removed == [] and FILES[0] in report.unchanged
    assert FILES[0] in open_store(settings).sources()


def test_changing_the_chunking_reindexes_every_file(settings):
    build_index(settings, open_store(settings))
    sentences_before = set(open_store(settings).sentence_collection().get()["ids"])
    passages_before = {p.id for p in open_store(settings).passages()}
    smaller = settings.replace(chunk_target=200, chunk_overlap=50)
    report = build_index(smaller, open_store(smaller))
    assert report.updated == FILES
    assert_index_matches_corpus(smaller)
    # a passage or sentence the new chunking cuts alike (same words, same place) keeps its
    # vector; the rest is embedded
    new_passages = set(expected_passages(smaller))
    new_sentences = set(open_store(smaller).sentence_collection().get()["ids"])
    assert report.passages_embedded == len(new_passages - passages_before) > 0
    assert report.sentences_embedded == len(new_sentences - sentences_before)
    assert len(new_sentences & sentences_before) > len(new_sentences) / 2


def test_assistant_index_rebuild_starts_over(settings):
    assistant = Assistant(settings)
    first = assistant.index()
    rebuilt = assistant.index(rebuild=True)
    assert rebuilt.added == FILES and rebuilt.unchanged == []
    assert rebuilt.passages_embedded == first.passages == rebuilt.passages
    assert_index_matches_corpus(settings)
    assert assistant.ask("كم نسبة المسلمين في كازاخستان؟").answered


def test_asking_before_indexing_says_to_index(settings):
    with pytest.raises(IndexMissingError, match="sanad index"):
        Assistant(settings).ask("متى أقامت كازاخستان علاقات مع إسرائيل؟")


# --- interrupted runs are repaired ------------------------------------------------------------

def modify(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\nجملة أضيفت لاحقا إلى هذا الملف.\n",
                    encoding="utf-8")


def test_a_crash_between_delete_and_add_is_repaired(settings, corpus, monkeypatch):
    build_index(settings, open_store(settings))
    modify(corpus / FILES[1])
    real_add = Store.add_files

    def crashing_add(self, files, *args, **kwargs):
        if any(f[0] and f[0][0].source == FILES[1] for f in files):
            raise RuntimeError("simulated crash after the old passages were deleted")
        return real_add(self, files, *args, **kwargs)

    monkeypatch.setattr(Store, "add_files", crashing_add)
    with pytest.raises(RuntimeError, match="simulated crash"):
        build_index(settings, open_store(settings))
    monkeypatch.setattr(Store, "add_files", real_add)
    assert FILES[1] not in open_store(settings).sources()  # the crash did lose the file...
    report = build_index(settings, open_store(settings))
    assert report.added == [FILES[1]]  # ...and the next run brings it back
    assert_index_matches_corpus(settings)


def test_a_crash_half_way_through_a_files_upserts_is_repaired(settings, monkeypatch):
    from chromadb.api.models.Collection import Collection

    monkeypatch.setattr(rag.store, "_BATCH", 2)  # several upserts per file
    real_upsert = Collection.upsert
    calls = []
    written = []  # rows of FILES[2] that reached the store before the interrupt

    def interrupted_upsert(self, *args, **kwargs):
        if kwargs["metadatas"][0]["source"] == FILES[2]:
            calls.append(1)
            if len(calls) == 2:
                raise KeyboardInterrupt  # Ctrl-C between two batches of one file
        result = real_upsert(self, *args, **kwargs)
        written.extend(m for m in kwargs["metadatas"] if m["source"] == FILES[2])
        return result

    monkeypatch.setattr(Collection, "upsert", interrupted_upsert)
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, open_store(settings))
    monkeypatch.setattr(Collection, "upsert", real_upsert)
    states = open_store(settings).file_states()
    state = states[FILES[2]]
    assert 0 < state.present == len(written) < state.expected
    # the lock was released: a new run does not wait for it
    report = build_index(settings.replace(lock_timeout_s=0.2), open_store(settings))
    # FILES[0] and [1] had their passages written in the same batch, but not yet their
    # sentences (written after all the batch's passages): incomplete, so indexed again
    assert report.updated == FILES[:3]
    assert report.added == FILES[3:]
    assert_index_matches_corpus(settings)
    # what the cut-off run had written is kept, not embedded again
    kept = sum(st.present for st in states.values())
    kept_sentences = sum(st.sentences_present for st in states.values())
    assert kept > len(written)
    assert report.passages_embedded == len(expected_passages(settings)) - kept
    assert report.sentences_embedded == expected_sentences(settings) - kept_sentences


def test_a_big_file_cut_short_keeps_the_part_it_wrote(settings, corpus, monkeypatch):
    """A big file is written as it is embedded, so an interrupt (here after five batches)
    loses only what was not yet written; the next run embeds the rest, not the file."""
    import rag.indexing

    monkeypatch.setattr(rag.indexing, "_WRITE_ROWS", 8)
    monkeypatch.setattr(rag.indexing, "_EMBED_BATCH", 4)
    build_index(settings, open_store(settings))
    (corpus / "big.txt").write_text("\n".join(
        f"السطر رقم {i} من تقرير طويل عن مطار أوش الجديد وتكلفته البالغة 300 مليون دولار."
        for i in range(60)) + "\n", encoding="utf-8")

    class CutShort(CountingEmbeddings):
        def count(self, texts):
            if self.texts >= 20:
                raise KeyboardInterrupt
            super().count(texts)

    store = open_store(settings)
    store.embeddings = CutShort(store.embeddings)
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, store)
    state = open_store(settings).file_states()["big.txt"]
    written = state.present + state.sentences_present
    assert 8 < written < state.expected + state.sentences_expected  # parts of eight rows

    store = open_store(settings)
    store.embeddings = counting = CountingEmbeddings(store.embeddings)
    report = build_index(settings, store)
    assert report.updated == ["big.txt"] and report.unchanged == FILES
    assert counting.texts == state.expected + state.sentences_expected - written
    assert report.passages_embedded + report.sentences_embedded == counting.texts
    assert_index_matches_corpus(settings)


def test_sentence_vectors_missing_from_the_index_are_restored(settings):
    """A crash after a file's passages were written but before all its sentences were:
    the file is incomplete and is indexed again."""
    build_index(settings, open_store(settings))
    open_store(settings).set_stamp("indexing-died")  # what a run that died leaves behind
    col = open_store(settings).sentence_collection()
    ids = col.get(where={"source": FILES[1]})["ids"]
    assert len(ids) >= 2
    col.delete(ids=ids[:1])
    assert not open_store(settings).file_states()[FILES[1]].complete
    report = build_index(settings, open_store(settings))
    assert report.updated == [FILES[1]]
    assert report.unchanged == [f for f in FILES if f != FILES[1]]
    assert_index_matches_corpus(settings)


def test_passages_missing_from_the_collection_are_restored(settings):
    build_index(settings, open_store(settings))
    open_store(settings).set_stamp("indexing-died")  # what a run that died leaves behind
    col = open_store(settings).collection()
    ids = col.get(where={"source": FILES[4]})["ids"]
    assert len(ids) >= 2
    col.delete(ids=ids[: len(ids) // 2])
    report = build_index(settings, open_store(settings))
    assert report.updated == [FILES[4]]
    assert report.unchanged == FILES[:4]
    assert_index_matches_corpus(settings)


def test_a_stray_passage_of_a_file_is_removed(settings):
    build_index(settings, open_store(settings))
    store = open_store(settings)
    store.set_stamp("indexing-died")  # what a run that died leaves behind
    col = store.collection()
    got = col.get(where={"source": FILES[0]}, limit=1, include=["embeddings", "documents",
                                                                 "metadatas"])
    col.add(ids=["stray-duplicate"], embeddings=[list(got["embeddings"][0])],
            documents=[got["documents"][0]], metadatas=[got["metadatas"][0]])
    report = build_index(settings, open_store(settings))
    assert report.updated == [FILES[0]]
    stored = assert_index_matches_corpus(settings)
    assert "stray-duplicate" not in {p.id for p in stored}


KILL_SCRIPT = """
import sys
import rag.store

_add = rag.store.Store.add_files


def add_files(self, files, *args, **kwargs):
    _add(self, files, *args, **kwargs)
    for f in files:
        print("added", f[0][0].source, flush=True)


rag.store.Store.add_files = add_files
from rag.cli import main

sys.exit(main(sys.argv[1:]))
"""

WORDS = ("كازاخستان إسرائيل الاتفاقات الرئيس المبعوث واشنطن العلاقات الدبلوماسية الاقتصاد "
         "التعاون الإعلان البيت الأبيض الحكومة الدولة المنطقة السياسة الخارجية").split()


def test_sigkill_mid_index_is_repaired_by_the_next_run(tmp_path):
    corpus = tmp_path / "big"
    corpus.mkdir()
    rng = random.Random(11)
    n_files = 150
    for i in range(n_files):
        sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14))) + "."
                     for _ in range(rng.randint(3, 9))]
        (corpus / f"doc_{i:03d}.txt").write_text(f"مقالة رقم {i}\n" + "\n".join(sentences) + "\n",
                                                 encoding="utf-8")
    index = tmp_path / "index"
    script = tmp_path / "index_and_report.py"
    script.write_text(KILL_SCRIPT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    stderr = open(tmp_path / "stderr.txt", "w+")
    proc = subprocess.Popen([sys.executable, str(script), "index", "--corpus", str(corpus),
                             "--index", str(index)], stdout=subprocess.PIPE,
                            stderr=stderr, text=True, env=env, cwd=tmp_path)
    added = 0
    try:
        for line in proc.stdout:
            added += line.startswith("added ")
            if added == 40:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
        stderr.seek(0)
        errors = stderr.read()[-2000:]
        stderr.close()
    assert proc.returncode == -signal.SIGKILL, \
        f"the indexer ended by itself after {added} files (exit {proc.returncode}): {errors}"

    settings = Settings.from_env(env={}, corpus_dir=corpus, index_dir=index)
    report = build_index(settings, open_store(settings))
    assert len(report.unchanged) >= 40
    assert report.added + report.updated, "nothing was left to do after the kill"
    assert len(report.added) + len(report.updated) + len(report.unchanged) == n_files
    assert_index_matches_corpus(settings)
    again = build_index(settings, open_store(settings))
    assert again.passages_embedded == 0 and len(again.unchanged) == n_files


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kills_at_random_moments_are_repaired_to_a_clean_build(tmp_path, seed):
    """The fault test: `sanad index` (fresh build, then an update, then a rebuild) killed at
    a random moment; the next run restores exactly what a clean build holds."""
    rng = random.Random(seed)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(150):
        sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14))) + "."
                     for _ in range(rng.randint(3, 9))]
        (corpus / f"doc_{i:03d}.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    index = tmp_path / "index"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SANAD_EMBEDDINGS": "hashing-ngram-v1"}
    cmd = [sys.executable, "-m", "rag.cli", "index", "--corpus", str(corpus), "--index",
           str(index)]
    settings = Settings.from_env(env={}, corpus_dir=corpus, index_dir=index,
                                 embedding="hashing-ngram-v1")
    for extra in ([], [], ["--rebuild"]):
        if extra == [] and index.exists():  # an update: some files change, one goes
            for path in rng.sample(sorted(corpus.glob("*.txt")), 8):
                path.write_text(path.read_text(encoding="utf-8") + "جملة جديدة أضيفت.\n",
                                encoding="utf-8")
            sorted(corpus.glob("*.txt"))[rng.randrange(140)].unlink()
        proc = subprocess.Popen(cmd + extra, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env)
        time.sleep(rng.uniform(0.7, 1.8))  # about 1.9 s from start to end
        proc.kill()
        proc.wait(timeout=30)
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        assert_index_matches_corpus(settings)
        from rag.lexical import BM25

        store = open_store(settings)
        saved = BM25.load(store.lexical_path, store.stamp())
        assert saved is not None and saved.n == store.count()
        assert set(saved.files) == {p.name for p in corpus.glob("*.txt")}


# --- the lock -------------------------------------------------------------------------------------

def test_a_held_lock_makes_a_second_run_fail_clearly(settings):
    build_index(settings, open_store(settings))
    impatient = settings.replace(lock_timeout_s=0.5)
    store = open_store(impatient)
    with index_lock(settings):
        t0 = time.monotonic()
        with pytest.raises(IndexLockedError) as info:
            build_index(impatient, store)
        waited = time.monotonic() - t0
    assert 0.4 <= waited < 5
    message = str(info.value)
    assert "Another `sanad index`" in message and str(settings.index_dir) in message
    assert "0.5 s" in message
    assert_index_matches_corpus(settings)


def test_a_second_run_waits_for_the_lock_to_be_released(settings):
    held, release = threading.Event(), threading.Event()

    def holder():
        with index_lock(settings):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(10)
        threading.Timer(0.6, release.set).start()
        t0 = time.monotonic()
        report = build_index(settings.replace(lock_timeout_s=10), open_store(settings))
        assert time.monotonic() - t0 >= 0.5
        assert report.added == FILES
    finally:
        release.set()
        thread.join(10)
    assert_index_matches_corpus(settings)


def _held_for(settings, seconds: float) -> threading.Thread:
    """The index's lock held by another holder (its own open file: flock tells them apart,
    as it does processes) for `seconds`; returns once it is held."""
    held = threading.Event()

    def holder():
        with index_lock(settings):
            held.set()
            time.sleep(seconds)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    return thread


def test_a_run_that_waited_opens_the_index_afresh(settings, monkeypatch):
    """What this process loaded of the index before it waited may be stale: another run
    deleted rows meanwhile, and reading them failed ("Error finding id")."""
    build_index(settings, open_store(settings))
    store = open_store(settings)
    store.count()
    reopened = []
    real = store.reopen
    monkeypatch.setattr(store, "reopen", lambda: reopened.append(1) or real())
    assert not index_busy(settings)
    build_index(settings, store)
    assert reopened == []  # nobody else indexed: nothing to reopen
    thread = _held_for(settings, 0.5)
    assert index_busy(settings)
    report = build_index(settings.replace(lock_timeout_s=10), store)
    thread.join(10)
    assert reopened == [1] and report.unchanged == FILES
    assert_index_matches_corpus(settings)


def test_a_question_asked_while_another_run_indexes_waits_for_it(settings, corpus, capsys):
    from rag.cli import main

    build_index(settings, open_store(settings))
    thread = _held_for(settings, 0.6)
    code = main(["ask", "--offline", "--json", "--corpus", str(corpus), "--index",
                 str(settings.index_dir), "كم نسبة المسلمين في كازاخستان؟"])
    thread.join(10)
    out, err = capsys.readouterr()
    assert code == 0 and '"answered": true' in out
    assert err.strip().splitlines() == [
        f"Another `sanad index` is updating {settings.index_dir}; waiting for it to finish."]


def test_rows_deleted_under_an_open_index_are_not_returned(settings):
    """A vector index loaded before another process deleted rows still finds them; Chroma
    then gives them no metadata, and they are left out instead of failing the question."""
    build_index(settings, open_store(settings))
    store = open_store(settings)
    ids = [p.id for p in store.passages()]
    got = store.collection().query  # the real answer, with one row's metadata gone

    def query(**kwargs):
        out = got(**kwargs)
        out["metadatas"][0][0] = None
        return out
    store.collection().query = query
    hits = store.query(store.embeddings.query_vector("كازاخستان"), 5)
    assert len(hits) == 4 and all(pid in ids for pid, _, _ in hits)


def test_the_cli_refuses_while_another_process_indexes(settings, corpus, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SANAD_LOCK_TIMEOUT": "0.5"}
    with index_lock(settings):
        done = subprocess.run([sys.executable, "-m", "rag.cli", "index", "--corpus", str(corpus),
                               "--index", str(settings.index_dir)], capture_output=True,
                              text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sanad: Another `sanad index`"), done.stderr


# --- embeddings must not be mixed -------------------------------------------------------------------

class OtherEmbeddings:
    name = "other-model"
    dimension = 8

    def embed_documents(self, texts):
        return [[1.0] + [0.0] * 7 for _ in texts]

    def embed_query(self, text):
        return [1.0] + [0.0] * 7

    def passage_vectors(self, texts):
        import numpy as np

        return np.array(self.embed_documents(texts), dtype=np.float32).reshape(-1, 8)

    def query_vector(self, text):
        import numpy as np

        return np.array(self.embed_query(text), dtype=np.float32)


def test_an_index_built_with_another_embedding_is_refused_then_rebuilt(settings):
    report = build_index(settings, open_store(settings))
    store = Store(settings, OtherEmbeddings())
    with pytest.raises(EmbeddingMismatchError) as info:
        store.collection()
    message = str(info.value)
    assert "e5-small-q4" in message and "other-model" in message
    assert "run `sanad index`" in message and info.value.found == "e5-small-q4"
    assert open_store(settings).count() == report.passages  # nothing was mixed in
    # indexing with the other embedding starts over, and says what it replaced
    rebuilt = build_index(settings, Store(settings, OtherEmbeddings()))
    assert rebuilt.added == FILES and rebuilt.replaced_embedding == "e5-small-q4"
    assert rebuilt.passages == report.passages
    with pytest.raises(EmbeddingMismatchError):
        open_store(settings).collection()
    with pytest.raises(EmbeddingMismatchError):
        open_store(settings).sentence_collection()
    again = build_index(settings, Store(settings, OtherEmbeddings()))
    assert again.unchanged == FILES and again.replaced_embedding is None


def test_an_index_built_by_a_remote_model_is_refused_offline(settings, llm_server):
    remote = settings.replace(embedding="test-embed", base_url=llm_server.url, api_key="k",
                              timeout_s=5, max_retries=0)
    report = Assistant(remote).index()
    assert report.added == FILES
    assert Assistant(remote).retrieve("قازاخستان")
    with pytest.raises(EmbeddingMismatchError, match="openai:test-embed.*run `sanad index`"):
        Assistant(settings).ask("متى أقامت كازاخستان علاقات مع إسرائيل؟")


def test_a_large_run_spills_its_sentence_vectors_and_saves_the_same(corpus, tmp_path,
                                                                    monkeypatch):
    """An index run gathers every sentence vector until it saves them: past
    rowfiles.IN_MEMORY_BYTES they go to an unnamed file (a 1M-passage run would otherwise
    hold ~8 GB). Forced to spill from the first file, it saves the same ids and vectors."""
    import numpy as np

    import rag.rowfiles as rowfiles

    def build(name: str) -> dict:
        settings = Settings.from_env(env={"SANAD_EMBEDDINGS": "hashing-ngram-v1"},
                                     corpus_dir=corpus, index_dir=tmp_path / name)
        Assistant(settings).index()
        lexical = settings.index_dir / "lexical" / settings.collection
        return {f: np.load(lexical / f) for f in rowfiles.SentenceVectors.FILES}

    kept = build("in-memory")
    monkeypatch.setattr(rowfiles, "IN_MEMORY_BYTES", 0)
    monkeypatch.setattr(rowfiles, "_ROWS", 5)
    files = []
    real = rowfiles.tempfile.TemporaryFile
    monkeypatch.setattr(rowfiles.tempfile, "TemporaryFile",
                        lambda *a, **k: files.append(1) or real(*a, **k))
    spilled = build("spilled")
    assert files and len(kept["sentence_ids.npy"]) > 5
    for name, array in kept.items():
        assert np.array_equal(array, spilled[name]), name


@pytest.mark.parametrize("a, b", [
    ("http://localhost:8000", "http://127.0.0.1:8000/"),
    ("http://LOCALHOST:8000", "http://127.0.0.1:8000"),
    ("http://127.0.0.1", "http://localhost:8000"),
])
def test_one_chroma_server_named_two_ways_takes_one_lock(a, b):
    from rag.indexing import server_key

    assert server_key(a) == server_key(b)
    assert server_key("http://127.0.0.1:8001") != server_key(a)
    assert server_key("http://10.0.0.5:8000") != server_key(a)


def test_a_changed_file_reads_its_kept_vectors_a_page_at_a_time(settings, corpus,
                                                                monkeypatch):
    """The vectors a changed file keeps are read from Chroma a thousand rows at a time (here
    three): read whole, a big file's would all be in memory at once. Every page is read:
    only the passages and sentences whose words are new are embedded."""
    import rag.store
    from rag.chunking import file_sentences

    build_index(settings, open_store(settings))
    old = [p for p in open_store(settings).passages() if p.source == FILES[2]]
    monkeypatch.setattr(rag.store, "_READ_ROWS", 3)
    read, pages = [], []
    real = Store._pages

    def paged(col, include, where=None, size=rag.store._PAGE):
        for got in real(col, include, where, size):
            if where is not None:  # one file's rows
                pages.append(len(got["ids"]))
                read.extend(where["source"] for _ in got["ids"])
            yield got

    monkeypatch.setattr(Store, "_pages", staticmethod(paged))
    modify(corpus / FILES[2])
    report = build_index(settings, open_store(settings))
    new = [p for p in expected_passages(settings).values() if p.source == FILES[2]]
    old_texts = {p.text for p in old} | {x.text for x in file_sentences(old)}
    assert report.updated == [FILES[2]]
    assert len(read) == len(old) + len(file_sentences(old)) > 3  # every row, over pages
    assert set(read) == {FILES[2]} and max(pages) == 3 and len(pages) > 2
    assert report.passages_embedded == sum(p.text not in old_texts for p in new) > 0
    assert report.sentences_embedded == sum(x.text not in old_texts
                                            for x in file_sentences(new)) > 0
    assert report.passages_embedded + report.sentences_embedded < len(read)
    assert_index_matches_corpus(settings)
