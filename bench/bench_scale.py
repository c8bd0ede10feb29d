"""Scale: a cold start that does not grow with the corpus (issue 9).

Builds a corpus of about N passages from real Arabic text (the sentences of every ARCD and
TyDi-GoldP-ar paragraph, shuffled with a fixed seed into new articles of 12 sentences, repeated
as needed), indexes it, and measures against a bare Chroma collection doing the same work on
the same index in the same run:

- indexing time, passages/s, disk;
- a no-op `sanad index` on the unchanged corpus;
- cold `sanad ask` (a fresh process, index built) and a fresh process that only opens the
  Chroma collection and runs one vector query (median of --runs each; the ratio is the target);
- warm `Assistant.ask` p50/p95 over 50 ARCD questions, and the warm process's max RSS.

    .venv/bin/python bench/bench_scale.py --passages 10000 [--embedding hashing-ngram-v1]

The corpus and index are kept under bench/.work/scale-N-EMBEDDING (not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.analysis import split_sentences  # noqa: E402
from rag.evaluation import load_squad  # noqa: E402

SHARED = ROOT.parent / "shared" / "bench"
SETS = [SHARED / "arcd" / "arcd.json", SHARED / "tydiqa_goldp_ar" / "arabic_tydiqa_dev.json"]
SENTENCES_PER_ARTICLE = 12
PASSAGES_PER_ARTICLE = 6.1  # measured on this text: 12 sentences chunk into ~6.1 passages

BARE = """
import sys, time
t = time.perf_counter()
import chromadb
from chromadb.config import Settings
from rag.embeddings import make_embeddings
from rag.settings import Settings as S
client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
col = client.get_collection("sanad", embedding_function=None)
emb = make_embeddings(S.from_env(env={"SANAD_EMBEDDINGS": sys.argv[2]}), langchain=False)
col.query(query_embeddings=[emb.query_vector(sys.argv[3]).tolist()], n_results=50)
"""


def build_corpus(target: Path, passages: int) -> int:
    if target.exists() and any(target.iterdir()):
        return sum(1 for _ in target.iterdir())
    sentences = []
    for path in SETS:
        docs, _ = load_squad(path)
        for d in docs:
            sentences.extend(s for s in split_sentences(d.text) if len(s.split()) >= 4)
    rng = random.Random(9)
    articles = int(passages / PASSAGES_PER_ARTICLE) + 1
    target.mkdir(parents=True)
    for a in range(articles):
        picked = rng.sample(sentences, SENTENCES_PER_ARTICLE)
        (target / f"article_{a:07d}.txt").write_text("\n".join(picked) + "\n", encoding="utf-8")
    return articles


def timed(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
    return time.perf_counter() - t


def disk(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--embedding", default="hashing-ngram-v1")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = ROOT / "bench" / ".work" / f"scale-{args.passages}-{args.embedding}"
    corpus, index = work / "corpus", work / "index"
    files = build_corpus(corpus, args.passages)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SANAD_"))}
    env.update(SANAD_EMBEDDINGS=args.embedding, SANAD_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    sanad = str(Path(sys.executable).with_name("sanad"))
    where = ["--corpus", str(corpus), "--index", str(index)]
    fresh = not index.exists()
    index_s = timed([sanad, "index", *where], env)
    noop = [timed([sanad, "index", *where], env) for _ in range(args.runs)]

    from rag import Assistant, Settings

    settings = Settings.from_env(env={"SANAD_EMBEDDINGS": args.embedding}, corpus_dir=corpus,
                                 index_dir=index, offline=True)
    _, questions = load_squad(SETS[0])
    questions = [q["question"] for q in questions[:50]]
    cold, bare = [], []
    for i in range(args.runs):
        cold.append(timed([sanad, "ask", *where, questions[i]], env))
        bare.append(timed([sys.executable, "-c", BARE, str(index), args.embedding, questions[i]],
                          env))
    assistant = Assistant(settings)
    t = time.perf_counter()
    assistant.ask(questions[0])
    first_s = time.perf_counter() - t
    warm = []
    for q in questions:
        t = time.perf_counter()
        assistant.ask(q)
        warm.append((time.perf_counter() - t) * 1000)
    passages = assistant.store.count()
    out = {
        "embedding": args.embedding, "files": files, "passages": passages,
        "index_s": round(index_s, 1) if fresh else None,
        "index_passages_per_s": round(passages / index_s, 1) if fresh else None,
        "disk_mb": round(disk(index) / 2**20, 1),
        "noop_index_s_median": round(statistics.median(noop), 2),
        "cold_ask_s_median": round(statistics.median(cold), 2),
        "bare_chroma_open_query_s_median": round(statistics.median(bare), 2),
        "cold_ratio": round(statistics.median(cold) / statistics.median(bare), 2),
        "first_ask_in_process_s": round(first_s, 2),
        "warm_ms_p50": round(statistics.median(warm), 1),
        "warm_ms_p95": round(sorted(warm)[int(0.95 * (len(warm) - 1))], 1),
        "warm_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
