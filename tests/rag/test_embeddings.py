"""The offline hashing embeddings: a LangChain `Embeddings`, deterministic, and kind to
Arabic spelling variants; remote models only when a server is configured."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from rag import ConfigError, Settings
from rag.embeddings import (E5_DIM, E5_NAME, HASHING_DIM, HASHING_NAME, HashingEmbeddings,
                            make_embeddings)

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["كازاخستان تنضم إلى الاتفاقات الإبراهيمية.",
         "قال المبعوث الأمريكي ستيف ويتكوف إن دولة جديدة ستنضم الليلة.",
         "ك",
         "الرئيس الكازاخستاني قاسم جومارت توكايف " * 40,
         "Reuters reported it first, 2025-11-07."]


@pytest.fixture(scope="module")
def emb():
    return HashingEmbeddings()


def cos(emb, a: str, b: str) -> float:
    return float(np.dot(emb.embed_query(a), emb.embed_query(b)))


def test_is_a_langchain_embeddings_named_and_sized(emb):
    assert isinstance(emb, Embeddings)
    assert emb.name == HASHING_NAME
    assert emb.dimension == HASHING_DIM


def test_deterministic_unit_norm_constant_dimension(emb):
    docs = emb.embed_documents(TEXTS)
    assert docs == HashingEmbeddings().embed_documents(TEXTS)
    assert docs == [emb.embed_query(t) for t in TEXTS]
    for vec in docs:
        assert len(vec) == HASHING_DIM
        assert all(math.isfinite(x) for x in vec)
        assert np.linalg.norm(vec) == pytest.approx(1.0, abs=1e-9)
    assert len({tuple(v) for v in docs}) == len(TEXTS)


def test_text_without_content_words_gives_a_finite_vector(emb):
    for text in ("", "   ", "، . ؟", "في من على"):
        vec = emb.embed_query(text)
        assert len(vec) == HASHING_DIM and all(math.isfinite(x) for x in vec)


def test_same_vectors_in_another_process(emb):
    # Stored vectors must match the query vectors of every later process: no hash() seeds.
    code = ("import json, sys; from rag.embeddings import HashingEmbeddings; "
            "print(json.dumps(HashingEmbeddings().embed_documents(json.loads(sys.argv[1]))))")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code, json.dumps(TEXTS)], env=env,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    other = json.loads(out)
    assert np.allclose(other, emb.embed_documents(TEXTS), atol=1e-12)


def test_diacritics_and_letter_forms_do_not_change_the_vector(emb):
    assert np.allclose(emb.embed_query("سيُعلن رسميًا انضمامَ الدولة"),
                       emb.embed_query("سيعلن رسميا انضمام الدوله"))


@pytest.mark.parametrize("a, b, unrelated", [
    ("كازاخستان", "قازاخستان", ["كرة القدم", "البرازيل", "أسعار النفط", "الطقس"]),
    ("توكايف", "توكاييف", ["ميسي", "الاقتصاد", "الطقس", "ترامب"]),
    ("الاتفاقات", "اتفاقيات", ["الطقس", "المباراة", "السيارات"]),
    ("الرئيس الكازاخستاني توكايف", "رئيس قازاخستان توكاييف",
     ["دوري أبطال أوروبا لكرة القدم", "أسعار النفط في الأسواق العالمية"]),
])
def test_spelling_variants_are_closer_than_unrelated_text(emb, a, b, unrelated):
    variant = cos(emb, a, b)
    assert variant > 0.2
    for other in unrelated:
        assert variant > cos(emb, a, other) + 0.15, other


def test_a_variant_query_finds_its_sentence_among_others(emb):
    sentences = ["أعلن الرئيس قاسم جومارت توكاييف انضمام بلاده إلى الاتفاقات.",
                 "فاز الفريق بالمباراة النهائية في الدوري.",
                 "ارتفعت أسعار النفط في الأسواق العالمية اليوم.",
                 "هطلت أمطار غزيرة على العاصمة خلال الليل."]
    vectors = np.array(emb.embed_documents(sentences))
    scores = vectors @ np.array(emb.embed_query("ماذا أعلن توكايف؟"))
    assert int(np.argmax(scores)) == 0


def test_make_embeddings_default_is_offline_e5_and_hashing_stays_available():
    emb = make_embeddings(Settings.from_env(env={}))
    assert isinstance(emb, Embeddings) and emb.name == E5_NAME and emb.dimension == E5_DIM
    hashing = make_embeddings(Settings.from_env(env={"SANAD_EMBEDDINGS": HASHING_NAME}))
    assert hashing.name == HASHING_NAME
    assert hashing.embed_query("كازاخستان") == HashingEmbeddings().embed_query("كازاخستان")


@pytest.mark.parametrize("env", [
    {"SANAD_EMBEDDINGS": "text-embedding-3-small"},
    {"SANAD_EMBEDDINGS": "text-embedding-3-small", "SANAD_OFFLINE": "1", "OPENAI_API_KEY": "k"},
    {"SANAD_EMBEDDINGS": "text-embedding-3-small", "SANAD_OFFLINE": "true",
     "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"},
])
def test_a_remote_model_without_a_usable_server_is_a_config_error(env):
    with pytest.raises(ConfigError, match="text-embedding-3-small.*needs a server"):
        make_embeddings(Settings.from_env(env=env))


def test_a_remote_model_embeds_through_an_openai_compatible_server(llm_server):
    settings = Settings.from_env(env={}, embedding="test-embed", base_url=llm_server.url,
                                 api_key="k", timeout_s=5, max_retries=0)
    emb = make_embeddings(settings)
    assert isinstance(emb, Embeddings)
    assert emb.name == "openai:test-embed"
    vectors = emb.embed_documents(["كازاخستان", "إسرائيل"])
    assert len(vectors) == 2 and len(vectors[0]) == llm_server.embedding_dims
    assert emb.dimension == llm_server.embedding_dims
    assert len(emb.embed_query("سؤال")) == llm_server.embedding_dims


@pytest.mark.parametrize("preset, expected", [
    ({}, "1000"),  # spin briefly, then sleep
    ({"OMP_WAIT_POLICY": "ACTIVE"}, None),  # a caller's own policy is left alone
    ({"GOMP_SPINCOUNT": "50"}, "50"),  # and so is its own spin count
])
def test_the_engine_threads_spin_briefly_unless_told_otherwise(preset, expected):
    """Long-spinning OpenMP threads made a question's embedding take over a second on a busy
    machine; waiting passively cost ~10 ms on a quiet one."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(preset)
    code = ("import os; from rag.embeddings import e5_model; e5_model(); "
            "print(os.environ.get('GOMP_SPINCOUNT'))")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-1000:]
    assert done.stdout.strip() == str(expected)
