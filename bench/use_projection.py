"""Write rag/use_projection.npz: the 64 axes on which the answerer's second model (rag/use.py,
Google's Universal Sentence Encoder, multilingual v3) is stored beside e5 in each sentence
vector.

The axes are the first 64 principal axes of the model's unit vectors of the fitting texts,
and nothing else: every answer-sized sentence of ARCD-train's and TyDi-GoldP-ar dev's
paragraphs, and the fitting questions (those sets' own, in Arabic, and the English and
paraphrased ones of bench/*.jsonl that bench/fit_answerer.py reads). Never tests/qa. 64 kept
the gain of all 512 numbers when it was measured (bench/try_features.py --use sentence
--dims N; bench/README.md). After a new projection, rename rag/use.NAME (stored vectors name
it), re-index and refit the e5-dictionary scorer.

    .venv/bin/python bench/use_projection.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import use  # noqa: E402
from rag.chunking import chunk_document, file_sentences  # noqa: E402
from rag.evaluation import load_squad  # noqa: E402
from rag.settings import Settings  # noqa: E402

SHARED = ROOT.parent / "shared" / "bench"
SETS = (SHARED / "arcd" / "arcd-train.json", SHARED / "tydiqa_goldp_ar" / "arabic_tydiqa_dev.json")
QUESTION_FILES = ("arcd_train_en.jsonl", "tydi_dev_en.jsonl", "arcd_train_paraphrase.jsonl",
                  "tydi_dev_paraphrase.jsonl")


def fitting_texts() -> list[str]:
    settings = Settings.from_env(env={})
    texts: list[str] = []
    for path in SETS:
        docs, questions = load_squad(path)
        for doc in docs:
            passages = chunk_document(doc, settings.chunk_target, settings.chunk_overlap)
            texts.extend(s.text for s in file_sentences(passages))
        texts.extend(q["question"] for q in questions)
    for name in QUESTION_FILES:
        for line in (ROOT / "bench" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["question"])
    return list(dict.fromkeys(texts))


def main() -> None:
    texts = fitting_texts()
    start = time.perf_counter()
    encoder = use.model()
    raw = np.concatenate([encoder.encode(texts[i:i + 512]) for i in range(0, len(texts), 512)])
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    mean = raw.mean(axis=0)
    axes = np.linalg.svd(raw - mean, full_matrices=False)[2][:use.DIM]
    kept = float((((raw - mean) @ axes.T) ** 2).sum() / ((raw - mean) ** 2).sum())
    np.savez(use.PROJECTION, mean=mean.astype(np.float32), axes=axes.astype(np.float32))
    print(f"{len(texts)} texts encoded in {time.perf_counter() - start:.1f} s; {use.DIM} axes "
          f"keep {kept:.1%} of their variance; wrote {use.PROJECTION.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
