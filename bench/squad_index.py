"""A SQuAD file's paragraphs indexed once and kept under bench/.work/ (not committed), so that
the fitting scripts and `make bench` do not embed the same paragraphs again on every run.
Incremental indexing makes a kept index cost nothing when nothing changed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.evaluation import load_squad  # noqa: E402
from rag.indexing import index_documents  # noqa: E402
from rag.retrieval import HybridRetriever  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import open_store  # noqa: E402

WORK = ROOT / "bench" / ".work"
SHARED = ROOT.parent / "shared" / "bench"
ARCD_TRAIN = SHARED / "arcd" / "arcd-train.json"
ARCD_ALL = SHARED / "arcd" / "arcd.json"
TYDI = SHARED / "tydiqa_goldp_ar" / "arabic_tydiqa_dev.json"


def squad_retriever(path: Path, embedding: str = "e5-small-q4", **kwargs):
    """(retriever, questions, documents by source) over the kept index of one SQuAD file."""
    docs, questions = load_squad(path)
    index = WORK / f"{path.stem}-{embedding}"
    env = {k: v for k, v in os.environ.items() if k == "SANAD_DICTIONARY"}  # only this one
    settings = Settings.from_env(env=env, index_dir=index, embedding=embedding, collection="squad")
    store = open_store(settings)
    index_documents(settings, store, docs)
    return (HybridRetriever.from_store(store, settings, **kwargs), questions,
            {d.source: d for d in docs})
