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


def test_runs_on_two_machines_take_turns_by_the_servers_lease(chroma_server, tmp_path,
                                                              monkeypatch):
    """Runs on one machine take turns by a file there; runs on two share only the server,
    whose lease (a collection only one can create) makes them take turns too. The lease is
    held while a run indexes, renewed, given back after; a lease its holder stopped renewing
    (killed) is taken over, and of two runs that find it stale at once only one takes it."""
    import re

    import rag.lease
    from rag.errors import IndexLockedError
    from rag.indexing import index_busy
    from rag.lease import STALE_S, ServerLease, lease_holder

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "local",
                                 chroma_url=chroma_server, lock_timeout_s=1)
    other = ServerLease(settings)  # another machine's run: this machine's file lock is free
    assert other.take() is None
    assert lease_holder(settings) == other.holder and index_busy(settings)
    with pytest.raises(IndexLockedError, match=re.escape(other.holder)):
        Assistant(settings).index()
    other.release()
    assert lease_holder(settings) is None and not index_busy(settings)

    monkeypatch.setattr(rag.lease, "RENEW_S", 0.2)
    seen = []

    def progress(event):
        lease = ServerLease(settings).current()
        seen.append(lease and (lease.metadata["holder"], lease.metadata["renewed"]))
        time.sleep(0.1)

    assert Assistant(settings).index(progress=progress).added == FILES
    assert seen and all(seen)  # held all the while
    assert len({s[1] for s in seen}) > 1  # renewed while it ran
    assert ServerLease(settings).current() is None  # given back

    def crashed() -> None:  # a lease last renewed long ago
        other.client.create_collection(other.name, embedding_function=None, metadata={
            "holder": "process 1 on a machine that crashed",
            "renewed": time.time() - 3 * STALE_S})

    crashed()
    (corpus / FILES[0]).unlink()
    assert Assistant(settings).index().removed == [FILES[0]]
    assert ServerLease(settings).current() is None

    crashed()
    taker = ServerLease(settings)
    assert taker.take() is None  # taken over and held in one call
    assert lease_holder(settings) == taker.holder
    taker.release()

    crashed()
    first, second = ServerLease(settings), ServerLease(settings)
    stale_first, stale_second = first.current(), second.current()
    assert first.stale(stale_first) and second.stale(stale_second)
    first._take_over(stale_first)
    assert first.take() is None
    second._take_over(stale_second)  # what it found stale is gone: the fresh lease stays
    assert second.take() == first.holder == lease_holder(settings)
    first.release()
    assert lease_holder(settings) is None
