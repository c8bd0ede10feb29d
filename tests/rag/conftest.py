"""Fixtures for the answering tests: the scripted OpenAI-compatible server and real passages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/openai_server.py

from citation_checks import check_answer_citations  # noqa: E402
from openai_server import OpenAIServer, Reply, closed_port  # noqa: E402

from rag.loading import load_document  # noqa: E402
from rag.types import Answer, Citation, Hit, Passage  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
__all__ = ["Reply", "closed_port", "assert_citations_mapped", "passage_hit", "corpus_document",
           "saved_answer"]
# Every conftest.py outside a package is imported as "conftest", so `from conftest import`
# would get whichever was loaded last. Test modules import this one as `rag_conftest`.
sys.modules["rag_conftest"] = sys.modules[__name__]


def assert_citations_mapped(answer: Answer) -> None:
    """The suite-wide invariants (tests/citation_checks.py), and each verified quote is the
    file's own characters at its span."""
    check_answer_citations(answer)
    for c in answer.citations:
        assert 0 <= c.start < c.end, c
        if c.verified:
            text = corpus_document(c.source, answer).text
            assert text[c.start:c.end] == c.quote, c
    counts = answer.citation_counts
    assert counts["verified"] + counts["unverified"] == len(answer.citations)
    assert counts["dropped"] == len(answer.dropped_markers)


_DOCS: dict[str, object] = {}


def corpus_document(source: str, answer: Answer | None = None):
    """The corpus file `source`, decoded as sanad decodes it (from the repo's corpus/)."""
    if source not in _DOCS:
        _DOCS[source] = load_document(CORPUS / source, source)
    return _DOCS[source]


def passage_hit(source: str, snippet: str, *, score: float = 1.0, title: str | None = None) -> Hit:
    """A Hit for the line of a real corpus file that contains `snippet` (exact spans)."""
    doc = corpus_document(source)
    at = doc.text.index(snippet)
    start = doc.text.rfind("\n", 0, at) + 1
    end = doc.text.find("\n", at)
    end = len(doc.text) if end < 0 else end
    while end > start and doc.text[end - 1].isspace():
        end -= 1
    text = doc.text[start:end]
    passage = Passage(id=f"{source}:{start}", source=source, start=start, end=end, text=text,
                      ordinal=0, title=title or doc.title, date=doc.date, outlet=doc.outlet)
    return Hit(passage=passage, score=score)


@pytest.fixture
def llm_server():
    """A fresh scripted server per test; `llm_server.url` is the base URL (…/v1)."""
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def llm_settings(llm_server, tmp_path):
    """Settings for LLM mode against the test server, with a short timeout."""
    from rag import Settings

    return Settings.from_env(env={}, corpus_dir=CORPUS, index_dir=tmp_path / "index",
                             base_url=llm_server.url, api_key="test-key-123",
                             model="test-model", timeout_s=0.5, max_retries=2)


@pytest.fixture
def llm_assistant(indexed, llm_server):
    """A real Assistant over the indexed corpus, answering through the test server."""
    from rag import Assistant, Settings

    corpus, index = indexed
    return Assistant(Settings.from_env(env={}, corpus_dir=corpus, index_dir=index,
                                       base_url=llm_server.url, api_key="test",
                                       model="test-model", timeout_s=0.5, max_retries=2))


def saved_answer(question: str, query: str | None = None, text: str = "") -> Answer:
    """An answer as the chat saves one: two real passages cited, the second quote unverified."""
    src = "004_38e6d22ca08bed6e.txt"
    hits = [passage_hit(src, "1992"), passage_hit(src, "70 بالمائة")]
    cites = [Citation(n, src, h.passage.id, h.passage.start, h.passage.end, h.passage.text,
                      n == 1, h.passage.title, passage=n) for n, h in enumerate(hits, 1)]
    return Answer(text=text or "أقامت علاقات في 1992 [1]، ويدين 70 بالمائة بالإسلام [2].",
                  citations=cites, passages=hits, query=query or question, question=question,
                  answered=True, timings={"total": 12.5})
