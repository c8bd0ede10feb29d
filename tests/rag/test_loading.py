"""Corpus loading: decoding without losing offsets, bad files reported not raised, metadata."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import pytest

from rag.errors import CorpusError
from rag.loading import decode_bytes, file_sha256, iter_corpus_files, load_corpus, load_document

ARABIC = "كازاخستان تنضم إلى الاتفاقات.\r\nقال المبعوث الأمريكي إن الإعلان سيتم الليلة.\n"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def png_bytes() -> bytes:
    rng = random.Random(7)
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rng.randrange(256) for _ in range(2000))


# --- decoding ---------------------------------------------------------------------------------

def test_utf8_is_decoded_exactly_with_crlf_kept():
    assert decode_bytes(ARABIC.encode("utf-8")) == (ARABIC, "utf-8")


def test_utf8_bom_is_stripped_and_offsets_are_exact(tmp_path):
    doc = load_document(write(tmp_path, "bom.txt", b"\xef\xbb\xbf" + ARABIC.encode("utf-8")))
    assert doc.encoding == "utf-8-sig"
    assert doc.text == ARABIC and not doc.text.startswith("\ufeff")
    at = doc.text.index("المبعوث")
    assert doc.text[at:at + len("المبعوث")] == "المبعوث"
    assert at == ARABIC.index("المبعوث")


@pytest.mark.parametrize("codec, bom, name", [
    ("utf-16-le", b"\xff\xfe", "utf-16-le"),
    ("utf-16-be", b"\xfe\xff", "utf-16-be"),
])
def test_utf16_with_bom(codec, bom, name):
    assert decode_bytes(bom + ARABIC.encode(codec)) == (ARABIC, name)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_found_by_its_nul_pattern(codec):
    assert decode_bytes(ARABIC.encode(codec)) == (ARABIC, codec)


def test_cp1256_arabic(tmp_path):
    doc = load_document(write(tmp_path, "win.txt", ARABIC.encode("cp1256")))
    assert (doc.text, doc.encoding) == (ARABIC, "cp1256")


def test_latin1_french_is_not_passed_off_as_cp1256(tmp_path):
    data = "Le café était très animé à côté de l'église, déjà fermée.\n".encode("latin-1") * 3
    with pytest.raises(UnicodeError):
        decode_bytes(data)
    with pytest.raises(CorpusError, match=r"french\.txt could not be decoded.*its first byte "
                                          r"that is not UTF-8 is at offset 6\)"):
        load_document(write(tmp_path, "french.txt", data))


@pytest.mark.parametrize("data", [b"", b"  \n\t\r\n \xc2\xa0\n", b"\xef\xbb\xbf \n"])
def test_empty_and_whitespace_only_files(tmp_path, data):
    with pytest.raises(CorpusError, match=r"^blank\.txt is empty\.$"):
        load_document(write(tmp_path, "blank.txt", data))


def test_binary_file_is_refused(tmp_path):
    with pytest.raises(UnicodeError):
        decode_bytes(png_bytes())
    with pytest.raises(CorpusError, match=r"^image\.txt looks binary"):
        load_document(write(tmp_path, "image.txt", png_bytes()))


def test_control_characters_without_nul_look_binary(tmp_path):
    with pytest.raises(CorpusError, match="looks binary"):
        load_document(write(tmp_path, "ctl.txt", bytes(range(1, 32)) * 20))


def test_file_sha256_is_of_the_raw_bytes(tmp_path):
    data = b"\xef\xbb\xbf" + ARABIC.encode("utf-8")
    assert file_sha256(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert load_document(write(tmp_path, "a.txt", data)).sha256 == hashlib.sha256(data).hexdigest()


# --- the corpus directory ---------------------------------------------------------------------

def test_load_corpus_reports_bad_files_and_loads_the_rest(tmp_path):
    write(tmp_path, "b_good.txt", ARABIC.encode("utf-8"))
    write(tmp_path, "a_utf16.txt", b"\xff\xfe" + ARABIC.encode("utf-16-le"))
    write(tmp_path, "nested/deeper/c.md", ARABIC.encode("cp1256"))
    write(tmp_path, "empty.txt", b"")
    write(tmp_path, "image.txt", png_bytes())
    write(tmp_path, "notes.csv", b"a,b\n")
    write(tmp_path, ".hidden/x.txt", ARABIC.encode("utf-8"))
    warnings: list[tuple[str, str]] = []
    docs = load_corpus(tmp_path, warn=lambda source, reason: warnings.append((source, reason)))
    assert [d.source for d in docs] == ["a_utf16.txt", "b_good.txt", "nested/deeper/c.md"]
    assert all(d.text == ARABIC for d in docs)
    assert [w[0] for w in warnings] == ["empty.txt", "image.txt"]
    assert warnings[0][1] == "empty.txt is empty."
    assert "image.txt" in warnings[1][1] and "binary" in warnings[1][1]
    assert load_corpus(tmp_path) == docs  # no warn callback: still no exception


def test_iter_corpus_files_uses_relative_posix_sources(tmp_path):
    write(tmp_path, "z.txt", b"x")
    write(tmp_path, "sub/a.TXT", b"x")
    write(tmp_path, "sub/dir.txt/inner.md", b"x")  # a directory named like a file
    found = iter_corpus_files(str(tmp_path))
    assert [s for s, _ in found] == ["sub/a.TXT", "sub/dir.txt/inner.md", "z.txt"]
    assert found[0][1] == tmp_path / "sub" / "a.TXT"


def test_missing_or_non_directory_corpus_raises(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match="not a directory"):
        load_corpus(write(tmp_path, "file.txt", b"x"))


def test_source_defaults_to_file_name(tmp_path):
    path = write(tmp_path, "d/one.txt", ARABIC.encode("utf-8"))
    assert load_document(path).source == "one.txt"
    assert load_document(path, source="d/one.txt").source == "d/one.txt"


# --- metadata ---------------------------------------------------------------------------------

def load_text(tmp_path: Path, text: str):
    return load_document(write(tmp_path, "doc.txt", text.encode("utf-8")))


def boilerplate_lines(doc) -> list[str]:
    return [doc.text[s:e] for s, e in doc.boilerplate]


@pytest.mark.parametrize("header, iso", [
    ("٨ نوفمبر ٢٠٢٥", "2025-11-08"),
    ("الخميس 6 تشرين الثاني/نوفمبر 2025", "2025-11-06"),
    ("1 كانون الثاني 2024", "2024-01-01"),
    ("15 أيار 2023", "2023-05-15"),
    ("date 2025-11-07", "2025-11-07"),
    ("31 شباط 2025", None),  # not a real day
])
def test_dates_near_the_top(tmp_path, header, iso):
    doc = load_text(tmp_path, f"{header}\nعنوان الخبر\n\nنص الخبر هنا.\n")
    assert doc.date == iso
    assert doc.title == "عنوان الخبر"
    if iso and not header.startswith("date"):
        assert boilerplate_lines(doc) == [header]


def test_long_first_line_title_is_capped_at_a_word(tmp_path):
    doc = load_text(tmp_path, "كلمة " * 100 + "\n")
    assert len(doc.title) <= 201 and doc.title.endswith("كلمة…")
    assert doc.date is None and doc.outlet is None and doc.boilerplate == ()


def test_news_sentences_with_prompt_words_are_kept(tmp_path):
    text = ("شارك الآلاف في المظاهرة.\nاشترك في المناورات جنود من عدة دول.\n"
            "سجل الاقتصاد نموا بنسبة 3%.\nوقالت الوكالة في نشرتها الإخبارية إن الوضع هادئ.\n"
            "تابعوا المباراة عبر قناة محلية.\nSubscribers grew by 5%.\nShare prices fell.\n")
    assert load_text(tmp_path, text).boilerplate == ()


def test_prompt_lines_are_boilerplate(tmp_path):
    prompts = ["تابعونا على تلغرام", "اشتركوا في قناتنا", "شارك المقال", "Subscribe now",
               "Share this article", "النشرة البريدية", "Copyright 2025 Example"]
    doc = load_text(tmp_path, "خبر مهم جدا.\n" + "\n".join(prompts) + "\n")
    assert boilerplate_lines(doc) == prompts


def test_crlf_boilerplate_spans_leave_out_the_line_break(tmp_path):
    doc = load_text(tmp_path, "خبر مهم جدا.\r\nشاركها.\r\nجميع الحقوق محفوظة © 2025\r\n")
    assert boilerplate_lines(doc) == ["شاركها.", "جميع الحقوق محفوظة © 2025"]


def test_dateline_outlet(tmp_path):
    doc = load_text(tmp_path, "عنوان\n\nالقدس (رويترز) - قال مسؤول إن المحادثات مستمرة.\n")
    assert doc.outlet == "رويترز"


# --- the real corpus --------------------------------------------------------------------------

REAL = {
    "000_35cca40ef4f9500b.txt": dict(
        title=("تستعد كازاخستان للإعلان ليلًا عن انضمامها رسميًا إلى الاتفاقات الإبراهيمية، وفق ما "
               "أكد مسؤول في البيت الأبيض، في خطوة بارزة على صعيد العلاقات بين إسرائيل ودول ذات "
               "أغلبية مسلمة."),
        date=None, outlet=None, boilerplate=[]),
    "001_d91d8e31b179f333.txt": dict(
        title="ترامب: قازاخستان ستنضم لاتفاقيات إبراهيم", date="2025-11-07", outlet="رويترز",
        boilerplate=[]),
    "002_9164ff34a3d4887d.txt": dict(
        title="كازاخستان تنضم الليلة إلى “اتفاقيات أبراهام” تداعيات وأبعاد.", date=None,
        outlet="مركز حضارات للدراسات السياسية والإستراتيجية",
        boilerplate=["جميع الحقوق محفوظة لـمركز حضارات للدراسات السياسية والإستراتيجية © 2025"]),
    "003_eccd3d6295c0448a.txt": dict(
        title="كازاخستان تعلق على انضمامها لاتفاقات التطبيع مع الاحتلال", date="2025-11-07",
        outlet="الحدث",
        boilerplate=["السبت\xa0\xa008 تشرين الثاني 2025", "LOGO", "اشترك في خدمة الواتساب",
                     "2025-11-07 12:51:08 AM",
                     "كازاخستان تعلق على انضمامها لاتفاقات التطبيع مع الاحتلال"]),
    "004_38e6d22ca08bed6e.txt": dict(
        title=("ستعلن كازاخستان يوم الخميس انضمامها إلى اتفاقات أبراهام، بحسب عدة تقارير إعلامية "
               "أمريكية، في خطوة رمزية إلى حد كبير حيث أن جمهورية آسيا الوسطى لديها بالفعل علاقات "
               "دبلوماسية مع إسرائيل."),
        date=None, outlet="ميدل إيست آي",
        boilerplate=["نشرة ميدل إيست آي الإخبارية الجديدة: جيروزاليم ديسباتش",
                     "قم بالتسجيل للحصول على أحدث الأفكار والتحليلات حول",
                     "إسرائيل وفلسطين، إلى جانب نشرات تركيا غير المعبأة وغيرها من نشرات موقع ميدل "
                     "إيست آي الإخبارية",
                     "شاركها."]),
}


@pytest.fixture(scope="module")
def real_docs(corpus_dir):
    warnings: list = []
    docs = {d.source: d for d in load_corpus(corpus_dir, warn=lambda *a: warnings.append(a))}
    assert warnings == []
    return docs


def test_real_corpus_text_is_the_file_byte_for_byte(real_docs, corpus_dir):
    assert sorted(real_docs) == sorted(REAL)
    for source, doc in real_docs.items():
        data = (corpus_dir / source).read_bytes()
        assert doc.text == data.decode("utf-8")
        assert doc.encoding == "utf-8"
        assert doc.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("source", sorted(REAL))
def test_real_corpus_metadata(real_docs, source):
    doc, want = real_docs[source], REAL[source]
    assert doc.title == want["title"]
    assert doc.date == want["date"]
    assert doc.outlet == want["outlet"]


@pytest.mark.parametrize("source", sorted(REAL))
def test_real_corpus_boilerplate_is_exactly_the_listed_lines(real_docs, source):
    doc = real_docs[source]
    assert boilerplate_lines(doc) == REAL[source]["boilerplate"]
    for start, end in doc.boilerplate:  # whole lines, never part of one
        assert start == 0 or doc.text[start - 1] == "\n"
        assert end == len(doc.text) or doc.text[end] == "\n"


def test_real_corpus_duplicated_title_is_dropped_only_the_second_time(real_docs):
    doc = real_docs["003_eccd3d6295c0448a.txt"]
    first, second = (i for i in range(len(doc.text)) if doc.text.startswith(doc.title, i))
    assert doc.text[second - 1] == "\n" and doc.text[first - 1] == "\n"
    assert (second, second + len(doc.title)) in doc.boilerplate
    assert not any(s <= first < e for s, e in doc.boilerplate)


def test_real_corpus_article_sentences_are_never_boilerplate(real_docs):
    for doc in real_docs.values():
        for s, e in doc.boilerplate:
            line = doc.text[s:e]
            assert len(line.split()) <= 20
            assert not (line.endswith(".") and len(line.split()) > 3), line


# --- what the corpus walk leaves out, and says so (issue 10) -------------------------------------

def _index(corpus, tmp_path, **settings):
    from rag import Assistant, Settings

    warned = []
    s = Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index",
                          embedding="hashing-ngram-v1", **settings)
    report = Assistant(s).index(warn=lambda src, reason: warned.append((src, reason)))
    return report, dict(warned)


def test_links_out_of_the_corpus_broken_or_looping_are_skipped_with_a_warning(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("أعلنت كازاخستان انضمامها إلى الاتفاقات في واشنطن اليوم.\n",
                                  encoding="utf-8")
    secret = tmp_path / "passwd.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    (corpus / "x.txt").symlink_to(secret)
    (corpus / "gone.txt").symlink_to(tmp_path / "missing.txt")
    (corpus / "loop.txt").symlink_to(corpus / "loop.txt")
    (corpus / "inside.txt").symlink_to(corpus / "a.txt")  # a link within the corpus is fine
    report, warned = _index(corpus, tmp_path)
    assert report.added == ["a.txt", "inside.txt"]
    assert "links outside the corpus directory" in warned["x.txt"]
    assert "broken or looping link" in warned["gone.txt"]
    assert "broken or looping link" in warned["loop.txt"]
    assert {s for s, _ in report.skipped} == {"x.txt", "gone.txt", "loop.txt"}


def test_a_file_above_the_size_limit_is_skipped_and_the_warning_says_how_to_raise_it(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("أعلنت كازاخستان انضمامها إلى الاتفاقات في واشنطن اليوم.\n",
                                  encoding="utf-8")
    (corpus / "big.txt").write_text("جملة عربية طويلة عن الاقتصاد والسياسة.\n" * 40_000,
                                    encoding="utf-8")
    report, warned = _index(corpus, tmp_path, max_file_mb=1)
    assert report.added == ["a.txt"]
    assert "above the limit of 1.0 MB" in warned["big.txt"] and "SANAD_MAX_FILE_MB" in warned["big.txt"]
    report, warned = _index(corpus, tmp_path, max_file_mb=5)
    assert report.added == ["big.txt"] and not warned


def test_an_unreadable_folder_is_reported_not_silently_skipped(tmp_path, monkeypatch):
    import os

    corpus = tmp_path / "corpus"
    (corpus / "locked").mkdir(parents=True)
    (corpus / "a.txt").write_text("أعلنت كازاخستان انضمامها إلى الاتفاقات في واشنطن اليوم.\n",
                                  encoding="utf-8")
    real = os.scandir

    def scandir(path="."):  # root reads any folder: a permission error is simulated
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report, warned = _index(corpus, tmp_path)
    assert report.added == ["a.txt"]
    assert "could not be read" in warned["locked"] and "Permission denied" in warned["locked"]


def test_file_names_are_printed_escaped(tmp_path):
    import subprocess
    import sys

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "esc_\x1b[31mRED.txt").write_bytes(b"")
    (corpus / "a.txt").write_text("أعلنت كازاخستان انضمامها إلى الاتفاقات في واشنطن اليوم.\n",
                                  encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "rag.cli", "index", "--corpus", str(corpus),
                           "--index", str(tmp_path / "i")], capture_output=True, text=True,
                          env={**os.environ, "SANAD_EMBEDDINGS": "hashing-ngram-v1"})
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stderr + done.stdout
    assert "esc_\\x1b[31mRED.txt" in done.stderr


def test_a_size_just_above_the_limit_is_told_apart_from_it():
    from rag.loading import _sizes

    # "big.txt is 5.0 MB, above the limit of 5 MB" gave no reason at all
    assert _sizes(5 * 2**20 + 1000, 5 * 2**20) == ("5.001 MB", "5.000 MB")
    assert _sizes(12 * 2**20, 5 * 2**20) == ("12.0 MB", "5.0 MB")
    assert _sizes(10_276, 10_240) == ("10,276 bytes", "10,240 bytes")
