"""Latency of answering on the corpus: warm `Assistant.ask` and a cold `sanad ask` process.

Targets (issue 8): warm p50 <= 40 ms; cold `sanad ask` with the index built, median <= 1.5 s;
indexing in seconds and passages/s; a re-run on an unchanged corpus embeds nothing; the
memory (max RSS) of the warm process. English questions are timed apart: their scorer reads
a second model (rag/use.py), which a process loads on its first one, from the cache folder
that indexing filled (a process with an empty cache reads the package's files: timed once).

    .venv/bin/python bench/bench_latency.py
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Assistant, Settings  # noqa: E402
from rag.evaluation import load_cases  # noqa: E402

COLD_RUNS = 5
BIG_COPIES = 40


def _asked(assistant, questions: list[str]) -> list[float]:
    """Milliseconds each question took, asked one after another."""
    out = []
    for q in questions:
        t = time.perf_counter()
        assistant.ask(q)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    questions = [c.question for c in load_cases(ROOT / "tests" / "qa" / "corpus_qa.jsonl")]
    english = [c.question for c in load_cases(ROOT / "tests" / "qa" / "english.jsonl")]
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        shutil.copytree(ROOT / "corpus", corpus)
        cache = Path(tmp) / "cache"
        settings = Settings.from_env(env={}, corpus_dir=corpus, index_dir=index, cache_dir=cache)
        assistant = Assistant(settings)
        t0 = time.perf_counter()
        assistant.index()
        index_s = time.perf_counter() - t0
        rerun = assistant.index()  # unchanged corpus: nothing embedded
        assistant.ask(questions[0])  # warm: opens the store, builds BM25, loads the model
        warm = _asked(assistant, questions * 3)
        warm_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        warm_english = _asked(assistant, english * 3)
        english_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sanad = Path(sys.executable).with_name("sanad")
        ask = [str(sanad), "ask", "--offline", "--corpus", str(corpus), "--index", str(index)]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SANAD_"))}
        env["SANAD_CACHE_DIR"] = str(cache)

        def cold_runs(question: str, runs: int = COLD_RUNS) -> list[float]:
            out = []
            for _ in range(runs):
                t = time.perf_counter()
                subprocess.run(ask + [question], check=True, capture_output=True, env=env)
                out.append(time.perf_counter() - t)
            return out
        cold = cold_runs("متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟")
        cold_english = cold_runs("When did Kazakhstan establish diplomatic relations with Israel?")
        shutil.rmtree(cache)
        cold_english_uncached = cold_runs("When did Netanyahu visit Kazakhstan?", 1)[0]
        t = time.perf_counter()
        subprocess.run([str(sanad), "--help"], check=True, capture_output=True, env=env)
        help_s = time.perf_counter() - t
        big = Path(tmp) / "big"  # 200 files: the corpus 40 times over, under other names,
        big.mkdir()  # each with a first line of its own (a copy's vectors would be lent)
        for i in range(BIG_COPIES):
            for f in sorted(corpus.glob("*.txt")):
                (big / f"{f.stem}_{i:02d}.txt").write_text(
                    f"نسخة رقم {i}\n" + f.read_text(encoding="utf-8"), encoding="utf-8")
        big_assistant = Assistant(settings.replace(corpus_dir=big, index_dir=Path(tmp) / "big-index"))
        t = time.perf_counter()
        big_report = big_assistant.index()
        big_s = time.perf_counter() - t
    print(json.dumps({
        "index_corpus_s": round(index_s, 3),
        "index_corpus_passages": rerun.passages,
        "index_corpus_passages_per_s": round(rerun.passages / index_s, 1),
        "reindex_unchanged_embedded": rerun.passages_embedded + rerun.sentences_embedded,
        "warm_rss_mb": round(warm_rss_mb, 1),
        "warm_ask_ms_p50": round(statistics.median(warm), 2),
        "warm_ask_ms_p95": round(sorted(warm)[int(0.95 * (len(warm) - 1))], 2),
        "warm_ask_n": len(warm),
        "cold_sanad_ask_s_median": round(statistics.median(cold), 3),
        "cold_sanad_ask_s_max": round(max(cold), 3),
        "warm_english_ask_ms_p50": round(statistics.median(warm_english), 2),
        "warm_english_rss_mb": round(english_rss_mb, 1),
        "cold_sanad_ask_english_s_median": round(statistics.median(cold_english), 3),
        "cold_sanad_ask_english_s_max": round(max(cold_english), 3),
        "cold_sanad_ask_english_empty_cache_s": round(cold_english_uncached, 3),
        "sanad_help_s": round(help_s, 3),
        "index_files": big_report.files,
        "index_passages": big_report.passages,
        "index_files_s": round(big_s, 2),
        "index_files_passages_per_s": round(big_report.passages / big_s, 1),
        "index_files_sentences": big_report.sentences_embedded,
    }, indent=2))


if __name__ == "__main__":
    main()
