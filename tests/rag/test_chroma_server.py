"""The same code against a real `chroma run` server on 127.0.0.1, started by the test."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rag import Assistant, Settings

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
FILES = sorted(p.name for p in CORPUS.glob("*.txt"))
CHROMA = Path(sys.executable).with_name("chroma")
STARTUP_S = 60


def free_port() -> int:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    except OSError as exc:
        pytest.skip(f"cannot bind a TCP port on 127.0.0.1 for a Chroma server: {exc}")


def heartbeat(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


class ServerURL(str):
    """The server's URL, and its process (to stop it under a running sanad)."""

    def __new__(cls, url: str, proc):
        obj = super().__new__(cls, url)
        obj.proc = proc
        return obj


@pytest.fixture
def chroma_server(tmp_path):
    """A Chroma server on a free loopback port; terminated whatever the test does."""
    assert CHROMA.exists(), f"the chroma executable is missing: {CHROMA}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "chroma.log", "w+")
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(tmp_path / "server-data"),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + STARTUP_S
        while not heartbeat(url):
            if proc.poll() is not None:
                log.seek(0)
                output = log.read()
                if "address already in use" in output.lower():
                    pytest.skip(f"port {port} could not be bound by chroma run")
                pytest.fail(f"chroma run exited with {proc.returncode}:\n{output[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"chroma run did not answer /api/v2/heartbeat in {STARTUP_S} s")
            time.sleep(0.1)
        yield ServerURL(url, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def test_index_and_ask_through_a_chroma_server(chroma_server, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    local_index = tmp_path / "local-index"
    settings = Settings.from_env(env={}, corpus_dir=corpus, index_dir=local_index,
                                 chroma_url=chroma_server, lock_timeout_s=5)
    report = Assistant(settings).index()
    assert report.added == FILES and report.passages_embedded == report.passages > 5
    assert not (local_index / "chroma.sqlite3").exists()  # the vectors live on the server

    assistant = Assistant(Settings.from_env(env={"SANAD_CHROMA_URL": chroma_server},
                                            corpus_dir=corpus, index_dir=local_index))
    answer = assistant.ask("متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟")
    assert answer.answered and "1992" in answer.text and answer.citations
    for c in answer.citations:
        text = (corpus / c.source).read_bytes().decode("utf-8-sig")
        assert text[c.start:c.end] == c.quote
    top = answer.passages[0]
    assert top.vector_rank is not None and top.bm25_rank is not None
    assert assistant.stats()["files"] == 5

    again = Assistant(settings).index()
    assert again.unchanged == FILES and again.passages_embedded == 0
    assert again.passages == report.passages

    (corpus / FILES[1]).rename(corpus / "renamed.txt")  # the server's vectors are kept
    renamed = Assistant(settings).index()
    assert renamed.reused == ["renamed.txt"] and renamed.removed == [FILES[1]]
    assert renamed.passages_embedded == renamed.sentences_embedded == 0
    assert renamed.passages == report.passages

    (corpus / FILES[0]).unlink()
    removed = Assistant(settings).index()
    assert removed.removed == [FILES[0]] and removed.passages < report.passages

    # a second machine: the same server, its own lexical index, nothing copied
    other = Assistant(Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "other",
                                        chroma_url=chroma_server))
    hits = other.retrieve("مطار مدينة أوش", 3)
    assert hits and all(h.passage.source != FILES[0] for h in hits)
    assert (tmp_path / "other" / "lexical").is_dir()  # built once from the server, saved
    # the first machine re-indexes a change: the second sees it on its next open
    (corpus / "005_new.txt").write_text("افتتحت مدينة أوش مطارا جديدا بتكلفة 300 مليون دولار.\n"
                                        "وقال وزير النقل إن المطار سيستقبل أول رحلة دولية قريبا.\n",
                                        encoding="utf-8")
    assert Assistant(settings).index().added == ["005_new.txt"]
    other = Assistant(other.settings)
    assert other.retrieve("مطار مدينة أوش", 1)[0].passage.source == "005_new.txt"


def test_a_server_that_stops_gives_one_sentence_and_the_open_assistant_recovers(
        chroma_server, tmp_path, capsys):
    from rag.cli import main
    from rag.errors import IndexStoreError

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "local",
                                 chroma_url=chroma_server, timeout_s=5)
    Assistant(settings).index()
    assistant = Assistant(settings)
    assert assistant.ask("متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟").answered
    chroma_server.proc.terminate()
    chroma_server.proc.wait(timeout=20)
    with pytest.raises(IndexStoreError, match="check that the Chroma server is running"):
        assistant.ask("متى زار نتنياهو كازاخستان؟")
    code = main(["ask", "--corpus", str(corpus), "--index", str(tmp_path / "local"),
                 "--chroma-url", chroma_server, "متى زار نتنياهو كازاخستان؟"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("sanad: "), err
    assert "Traceback" not in "\n".join(err)
    code = main(["index", "--corpus", str(corpus), "--index", str(tmp_path / "local"),
                 "--chroma-url", chroma_server])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("sanad: "), err


def test_a_server_that_stops_answering_fails_the_question_instead_of_hanging_it(
        chroma_server, tmp_path, capsys, monkeypatch):
    # chromadb's HTTP client sets no timeout: a stopped (SIGSTOP) or stuck server, which
    # still accepts connections, made `sanad ask` and the open chat wait forever.
    import os
    import signal

    from rag.cli import main
    from rag.errors import IndexStoreError

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "004_38e6d22ca08bed6e.txt", corpus)
    settings = Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "local",
                                 chroma_url=chroma_server, timeout_s=3)
    Assistant(settings).index()
    assistant = Assistant(settings)
    assert assistant.ask("كم نسبة المسلمين في كازاخستان؟").answered
    os.kill(chroma_server.proc.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(IndexStoreError):
            assistant.ask("متى زار نتنياهو كازاخستان؟")
        monkeypatch.setenv("SANAD_TIMEOUT", "3")
        code = main(["ask", "--corpus", str(corpus), "--index", str(tmp_path / "local"),
                     "--chroma-url", chroma_server, "متى زار نتنياهو كازاخستان؟"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1 and err == [(f"sanad: The Chroma server at {chroma_server} did not "
                                      "answer within 3 s; check that it is running and not "
                                      "stuck.")]
        assert time.monotonic() - started < 60  # bounded by the timeouts, not by the test
    finally:
        os.kill(chroma_server.proc.pid, signal.SIGCONT)


def test_ask_builds_a_collection_the_server_does_not_have_yet(chroma_server, tmp_path, capsys,
                                                              monkeypatch):
    # index_exists() took any Chroma server for an index, so `sanad ask` (and `make chat`)
    # told the user to run `sanad index` instead of building it as it does on disk.
    from rag.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "004_38e6d22ca08bed6e.txt", corpus)
    monkeypatch.setenv("SANAD_COLLECTION", "fresh-news")
    args = ["ask", "--corpus", str(corpus), "--index", str(tmp_path / "local"),
            "--chroma-url", chroma_server, "--offline", "كم نسبة المسلمين في كازاخستان؟"]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"No index at collection 'fresh-news' on {chroma_server} yet; indexing" in err
    assert "70" in out and "[1]" in out
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "No index" not in err and "70" in out
