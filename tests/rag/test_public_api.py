"""The public surface: `rag.__all__`, `Assistant`, the one `Answer` type, streamed events."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rag
from rag import (Answer, Assistant, CitationsReady, ConfigError, Done, QuestionError, SanadError,
                 Settings, TextDelta)

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("chromadb", "langchain_openai", "textual", "openai")


def test_all_is_sorted_unique_and_resolves():
    names = rag.__all__
    assert names == sorted(names)
    assert len(names) == len(set(names))
    for name in names:
        assert getattr(rag, name) is not None, name
    assert {"Assistant", "Answer", "Settings", "SanadError", "Citation", "Hit", "Passage",
            "TextDelta", "CitationsReady", "Done"} <= set(names)


def test_every_public_class_and_function_is_listed():
    public = {name for name, value in vars(rag).items()
              if not name.startswith("_") and not inspect.ismodule(value)}
    assert public <= set(rag.__all__), sorted(public - set(rag.__all__))


def test_unknown_attributes_raise_attribute_error():
    with pytest.raises(AttributeError):
        rag.NoSuchThing  # noqa: B018


def test_errors_form_one_hierarchy():
    errors = [getattr(rag, n) for n in rag.__all__ if n.endswith("Error")]
    assert len(errors) >= 10
    assert all(issubclass(e, SanadError) for e in errors)
    assert issubclass(rag.EmbeddingMismatchError, rag.IndexStoreError)
    assert issubclass(rag.IndexLockedError, rag.IndexStoreError)
    assert issubclass(rag.LLMTimeoutError, rag.LLMError)


def run_python(code: str, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_rag_loads_no_heavy_library(tmp_path):
    out = run_python("import sys, json, rag\n"
                     "from rag import Assistant, Settings\n"
                     "Assistant.open('corpus', 'idx', Settings.from_env(env={}))\n"
                     f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))", tmp_path)
    assert json.loads(out) == []
    assert not (tmp_path / "idx").exists()  # opening touches no store


def test_open_defaults_and_overrides(tmp_path):
    a = Assistant.open(tmp_path / "c", tmp_path / "i", Settings.from_env(env={}, top_k=7))
    assert a.settings.corpus_dir == tmp_path / "c" and a.settings.index_dir == tmp_path / "i"
    assert a.settings.top_k == 7 and a.mode == "offline"
    b = Assistant.open(settings=Settings.from_env(env={}))
    assert b.settings.corpus_dir == Path("corpus") and b.settings.index_dir == Path(".sanad")


def test_open_takes_any_setting_by_name(tmp_path):
    base = Settings.from_env(env={"OPENAI_API_KEY": "sk-test"})
    a = Assistant.open(tmp_path / "c", settings=base, offline=True, top_k=3, model=None)
    assert a.settings.offline and a.settings.top_k == 3 and a.mode == "offline"
    assert a.settings.model == base.model  # None leaves a setting as it was
    with pytest.raises(TypeError, match="unknown setting.*k, ofline.*offline"):
        Assistant.open(tmp_path / "c", settings=base, ofline=True, k=3)
    with pytest.raises(ConfigError, match="SANAD_TOP_K"):
        Assistant.open(tmp_path / "c", settings=base, top_k=0)


@pytest.fixture
def opened(indexed):
    corpus, index = indexed
    return Assistant.open(corpus, index, Settings.from_env(env={}))


def test_ask_returns_an_answer_that_serialises_to_json(opened):
    answer = opened.ask("متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟")
    assert isinstance(answer, Answer)
    assert answer.answered and "1992" in answer.text and answer.citations
    assert answer.query == answer.question == "متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟"
    data = answer.to_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert {"text", "citations", "passages", "query", "answered", "question", "mode"} <= set(data)
    assert data["answered"] is True and data["text"] == answer.text
    timings = data["timings_ms"]
    assert {"retrieve", "answer", "total"} <= set(timings)
    assert all(isinstance(v, float) and v >= 0 for v in timings.values())
    c = data["citations"][0]
    assert {"marker", "source", "passage_id", "start", "end", "quote"} <= set(c)
    p = data["passages"][0]
    assert {"id", "source", "start", "end", "text", "score"} <= set(p)
    assert len(data["passages"]) == opened.settings.top_k


def test_refusals_serialise_too(opened):
    data = opened.ask("من فاز بكأس العالم لكرة القدم؟").to_dict()
    assert data["answered"] is False and data["citations"] == []
    json.dumps(data)


def test_stream_yields_text_then_citations_then_done(opened):
    events = list(opened.stream("كم نسبة المسلمين في كازاخستان؟"))
    kinds = [type(e) for e in events]
    assert kinds == [TextDelta, CitationsReady, Done]
    text, cites, done = events
    assert done.answer.text == text.text
    assert cites.citations == tuple(done.answer.citations)
    assert "70" in done.answer.text


def test_ask_with_history_and_k(opened):
    first = opened.ask("كم نسبة المسلمين في كازاخستان؟", k=3)
    assert len(first.passages) == 3
    second = opened.ask("ومتى أقامت علاقات دبلوماسية مع إسرائيل؟", history=[first])
    assert isinstance(second, Answer) and second.passages


@pytest.mark.parametrize("question", ["", "   ", "\n\t ", None])
def test_empty_questions_are_refused(opened, question):
    with pytest.raises(QuestionError, match="empty"):
        opened.ask(question)
    with pytest.raises(QuestionError):
        list(opened.stream(question))


@pytest.mark.parametrize("question, message", [
    (123, "must be text"), (b"?", "must be text"),
    # bytes that are not UTF-8, as Python hands them on from argv or a pipe (cp1256 here)
    ("متى؟".encode("cp1256").decode("utf-8", "surrogateescape"), "not valid UTF-8"),
])
def test_questions_that_are_not_text_are_refused_in_a_sentence(opened, question, message):
    with pytest.raises(QuestionError, match=message):
        opened.ask(question)
    with pytest.raises(QuestionError, match=message):
        list(opened.stream(question))


def test_an_overlong_question_is_refused(opened):
    with pytest.raises(QuestionError, match="too long"):
        opened.ask("كازاخستان " * 1000)


def test_document_returns_the_cited_file_and_refuses_others(opened, indexed):
    answer = opened.ask("كم نسبة المسلمين في كازاخستان؟")
    c = answer.citations[0]
    assert opened.document(c.source).text[c.start:c.end] == c.quote
    with pytest.raises(QuestionError):
        opened.document("../../etc/passwd")


def test_stats(opened):
    stats = opened.stats()
    assert stats["files"] == 5 and stats["passages"] > 5 and stats["mode"] == "offline"


def test_the_suite_checks_the_citations_of_every_answer(assistant, _every_answer_maps_its_citations):
    """The autouse wrapper in tests/conftest.py sees the answers that ask() returns."""
    assistant.ask("متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟")
    assert _every_answer_maps_its_citations == [1]


def test_the_library_never_imports_the_chat():
    """DESIGN.md: rag/ never imports tui; `sanad chat` finds it through an entry point."""
    import ast

    root = Path(rag.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "tui" or n.startswith("tui.") for n in names), path.name
    from rag.cli import chat_frontend
    from tui.app import run

    assert chat_frontend() is run
