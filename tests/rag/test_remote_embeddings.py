"""Optional remote embeddings: OpenAIEmbeddings against the scripted server over HTTP."""

from __future__ import annotations

import shutil

import pytest

from rag import Assistant, ConfigError, EmbeddingMismatchError, Settings
from rag.embeddings import RemoteEmbeddings, make_embeddings


@pytest.fixture
def remote_settings(llm_server, tmp_path, corpus_dir):
    corpus = tmp_path / "corpus"
    shutil.copytree(corpus_dir, corpus)
    return Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index",
                             embedding="test-embed", base_url=llm_server.url, api_key="test-key")


def test_remote_embeddings_index_and_answer(remote_settings, llm_server):
    emb = make_embeddings(remote_settings)
    assert isinstance(emb, RemoteEmbeddings) and emb.name == "openai:test-embed"
    assistant = Assistant(remote_settings.replace(offline=True))
    # offline forbids a remote embedding model: a clear error, not a silent fallback
    with pytest.raises(ConfigError, match="offline.*needs a server"):
        assistant.index()
    assistant = Assistant(remote_settings.replace(offline=False, api_key=None,
                                                   base_url=llm_server.url, model="m"))
    report = assistant.index()
    assert report.files == 5 and report.passages_embedded == report.passages > 0
    embed_calls = [r for r in llm_server.requests if r["path"].endswith("/embeddings")]
    assert embed_calls and all(r["body"]["model"] == "test-embed" for r in embed_calls)
    hits = assistant.retrieve("متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟")
    assert hits and all(h.passage.source.endswith(".txt") for h in hits)


def test_opening_with_another_embedding_says_reindex(remote_settings, llm_server):
    Assistant(remote_settings.replace(model="m")).index()
    hashing = remote_settings.replace(embedding="hashing-ngram-v1")
    with pytest.raises(EmbeddingMismatchError, match="run `sanad index`"):
        Assistant(hashing).retrieve("كازاخستان")


def test_the_api_key_never_leaks_through_an_embeddings_error(remote_settings, llm_server,
                                                              capsys, tmp_path, monkeypatch):
    from rag.cli import main
    from rag.errors import IndexStoreError

    llm_server.reject_embeddings = True
    key = "sk-proj-SECRET0123456789abcdef"
    settings = remote_settings.replace(api_key=key, index_dir=tmp_path / "i")
    with pytest.raises(IndexStoreError) as info:
        make_embeddings(settings).embed_query("كازاخستان")
    message = str(info.value)
    assert "401" in message and key not in message and "SECRET" not in message
    assert "Bearer ***" in message  # what the server said stays readable, minus the key
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("SANAD_EMBEDDINGS", "test-embed")
    code = main(["index", "--corpus", str(settings.corpus_dir), "--index", str(tmp_path / "j"),
                 "--base-url", llm_server.url])
    captured = capsys.readouterr()
    assert code == 1 and "SECRET" not in captured.err + captured.out
