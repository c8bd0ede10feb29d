"""`sanad ask` on a terminal with a chat model: the model's words stream as they come, but the
checked answer is what the person reads last, and an answer no quote backs says so."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from rag_conftest import Reply  # noqa: F401  (the scripted server's reply type)

import openai_server

from rag.citations import marker_numbers

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟"


def ask_on_a_terminal(indexed, server_url: str) -> str:
    corpus, index = indexed
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SANAD_"))}
    env.update(OPENAI_BASE_URL=server_url, OPENAI_API_KEY="test-key", SANAD_MODEL="test-model",
               SANAD_TIMEOUT="10")
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "ask", "--corpus", str(corpus),
                             "--index", str(index), QUESTION], stdout=slave,
                            stderr=subprocess.PIPE, env=env, cwd=ROOT)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=60)
    os.close(master)
    assert proc.returncode == 0, proc.stderr.read().decode()
    return out.decode("utf-8", "replace").replace("\r\n", "\n")


def quote_with_invented_marker(body: dict) -> Reply:
    reply = openai_server.quoting_reply(body)
    if body.get("stream") and reply.chunks and "NO_ANSWER" not in reply.chunks[0]:
        reply.chunks.append(" وهذا مؤكد [42].")
    return reply


def test_the_checked_answer_is_read_last_without_invented_markers(indexed, llm_server):
    llm_server.default = quote_with_invented_marker
    out = ask_on_a_terminal(indexed, llm_server.url)
    streamed, sep, checked = out.partition("── checked answer")
    assert sep, out  # the model's text differed from the checked one: both are shown
    assert "[42]" in streamed  # streamed as it came...
    answer = checked.split("\nSources:")[0]
    assert "[42]" not in answer and "[1]" in answer  # ...but the checked answer drops it
    # the markers streamed are numbered as the checked answer numbers them
    assert marker_numbers(streamed.replace("[42]", "")) == marker_numbers(answer)
    assert "unsupported" not in out


def test_an_answer_backed_by_no_quote_is_marked_unsupported(indexed, llm_server):
    llm_server.script(Reply(chunks=["أقامت العلاقات في عام 1850 «كما ورد في نص لا وجود له» [1]."]))
    out = ask_on_a_terminal(indexed, llm_server.url)
    assert "warning: unsupported answer" in out


def test_markers_stream_numbered_as_the_checked_answer_numbers_them(indexed, llm_server):
    """The model cites passage 2 before passage 1, and the stream cuts a marker in two: the
    terminal shows [1] then [2] as they come, and since that is the checked text, once."""
    def second_then_first(body: dict) -> Reply:
        passages = openai_server.passages_in(body)
        if not body.get("stream") or 2 not in passages:
            return openai_server.quoting_reply(body)
        q1, q2 = (" ".join(passages[n].split()[:6]) for n in (1, 2))
        return Reply(chunks=[f"«{q2}» [", "2]. ", f"ثم «{q1}» [1]."])

    llm_server.default = second_then_first
    out = ask_on_a_terminal(indexed, llm_server.url)
    answer, _, sources = out.partition("\nSources:")
    assert "── checked answer" not in out, out  # what streamed was the checked text
    assert marker_numbers(answer) == [1, 2], answer
    assert "[2]." in answer.split("ثم")[1]


def test_a_stream_cut_short_shows_the_offline_answer_once(indexed, llm_server):
    # After the note, the offline answer streamed, and was printed a second time under
    # "checked answer" because the model's partial words were counted as streamed too.
    llm_server.script(Reply(chunks=["كلمة أولى ", "كلمة ثانية ", "كلمة ثالثة"], cut_after=2))
    out = ask_on_a_terminal(indexed, llm_server.url)
    assert "note: " in out and "The offline answer is shown instead." in out
    assert "── checked answer" not in out, out
    offline = out.split("The offline answer is shown instead.")[1].split("\nSources:")[0]
    sentence = offline.strip().splitlines()[0]
    assert sentence and out.count(sentence) == 1
    assert marker_numbers(offline)[0] == 1  # numbered afresh, not after the model's
