"""Scale: a cold start that does not grow with the corpus (issue 9).

Builds a corpus of about N passages from real Arabic text (the sentences of every ARCD and
TyDi-GoldP-ar paragraph, shuffled with a fixed seed into new articles of 12 sentences, repeated
as needed), indexes it, and measures against a bare Chroma collection doing the same work on
the same index in the same run:

- indexing time, passages/s, disk;
- a no-op `sanad index` on the unchanged corpus;
- cold `sanad ask` (a fresh process, index built) and a fresh process that only opens the
  Chroma collection and runs one vector query (median of --runs each; the ratio is the target);
- warm `Assistant.ask` p50/p95 over 50 ARCD questions, in a process that does only what a chat
  does (opens the Assistant, answers them), and its RSS beside that of a bare Chroma process
  that opens the collection and runs as many vector queries.

    .venv/bin/python bench/bench_scale.py --passages 10000 [--embedding hashing-ngram-v1]
    nice -n 10 .venv/bin/python bench/bench_scale.py --passages 1000000 --stage 200000

`--upto-stage K` stops after the first K stages (a run cut short) and measures the index as it
is then, with the corpus trimmed to what it holds.

`--stage S` indexes the corpus S passages at a time (files are added, then `sanad index`
updates the index), so that one run never holds more than S passages' vectors in memory; the
index's time is the sum of the stages'. A run that stops is resumed where it stopped: the
corpus is deterministic and each finished stage is recorded in index_run.json. The corpus and
index are kept under bench/.work/scale-N-EMBEDDING (not committed); progress goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "bench"
SETS = [SHARED / "arcd" / "arcd.json", SHARED / "tydiqa_goldp_ar" / "arabic_tydiqa_dev.json"]
SENTENCES_PER_ARTICLE = 12
PASSAGES_PER_ARTICLE = 6.1  # measured on this text: 12 sentences chunk into ~6.1 passages
QUESTIONS = 50

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

# What a chat process does, and nothing else: open the Assistant, answer the questions (JSON
# on stdin). Prints timings and memory as JSON.
WARM = """
import json, resource, statistics, sys, time
questions = json.load(sys.stdin)
from rag import Assistant, Settings
from pathlib import Path
settings = Settings.from_env(env={"SANAD_EMBEDDINGS": sys.argv[3]}, corpus_dir=Path(sys.argv[1]),
                             index_dir=Path(sys.argv[2]), offline=True)
assistant = Assistant(settings)
t = time.perf_counter()
assistant.ask(questions[0])
first = time.perf_counter() - t
warm = []
for q in questions:
    t = time.perf_counter()
    assistant.ask(q)
    warm.append((time.perf_counter() - t) * 1000)
mem = {k: int(v.split()[0]) for k, v in (l.split(":", 1) for l in open("/proc/self/status"))
       if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}
print(json.dumps({"first_s": first, "warm_ms": warm, "mem_kb": mem,
                  "passages": assistant.retriever.bm25.n}))
"""

# The same number of vector queries (and question embeddings) on a bare collection.
BARE_WARM = """
import json, sys
questions = json.load(sys.stdin)
import chromadb
from chromadb.config import Settings
from rag.embeddings import make_embeddings
from rag.settings import Settings as S
client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
col = client.get_collection("sanad", embedding_function=None)
emb = make_embeddings(S.from_env(env={"SANAD_EMBEDDINGS": sys.argv[2]}), langchain=False)
for q in questions[:1] + questions:
    col.query(query_embeddings=[emb.query_vector(q).tolist()], n_results=50,
              include=["distances", "metadatas"])
mem = {k: int(v.split()[0]) for k, v in (l.split(":", 1) for l in open("/proc/self/status"))
       if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}
print(json.dumps({"mem_kb": mem}))
"""

# `sanad index` (Assistant.index, as the CLI calls it) with progress lines for long runs.
INDEX = """
import sys, time
from pathlib import Path
from rag import Assistant, Settings
settings = Settings.from_env(env={"SANAD_EMBEDDINGS": sys.argv[3]}, corpus_dir=Path(sys.argv[1]),
                             index_dir=Path(sys.argv[2]), offline=True)
last = [0.0]
def progress(event):
    now = time.monotonic()
    if now - last[0] >= 60 or event.done >= event.total:
        last[0] = now
        print(f"  {time.strftime('%H:%M:%S')} {event.stage} {event.done}/{event.total}", flush=True)
report = Assistant(settings).index(progress=progress)
Path(sys.argv[4]).write_text(next(l.split()[1] for l in open("/proc/self/status")
                                  if l.startswith("VmHWM:")))
print(f"  indexed: {report.files} files, {report.passages} passages, "
      f"{report.passages_embedded} passages and {report.sentences_embedded} sentences embedded",
      flush=True)
"""


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def articles(passages: int):
    """(file name, text) of every article of the corpus, always the same for the same N."""
    from rag.analysis import split_sentences
    from rag.evaluation import load_squad

    sentences = []
    for path in SETS:
        docs, _ = load_squad(path)
        for d in docs:
            sentences.extend(s for s in split_sentences(d.text) if len(s.split()) >= 4)
    rng = random.Random(9)
    for a in range(int(passages / PASSAGES_PER_ARTICLE) + 1):
        picked = rng.sample(sentences, SENTENCES_PER_ARTICLE)
        yield f"article_{a:07d}.txt", "\n".join(picked) + "\n"


def write_files(target: Path, todo, upto: int) -> int:
    """Write the next articles of `todo` until `upto` files exist (existing ones are kept)."""
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    for name, text in todo:
        path = target / name
        if not path.exists():
            path.write_text(text, encoding="utf-8")
        written = int(name[8:15]) + 1
        if written >= upto:
            break
    return written


def trim(corpus: Path, files: int) -> None:
    """Remove the corpus files past the first `files` (written for a stage not indexed)."""
    for path in corpus.glob("article_*.txt"):
        if int(path.name[8:15]) >= files:
            path.unlink()


def timed(cmd: list[str], env: dict, **kwargs) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT, **kwargs)
    return time.perf_counter() - t


def disk(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def child_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def index_stages(args, work: Path, corpus: Path, index: Path, env: dict) -> dict | None:
    """Index the corpus (in stages of --stage passages), recorded in index_run.json.
    None when the index was built before this record existed (older runs)."""
    record_path = work / "index_run.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else None
    if record is None and index.exists():
        return None
    total = int(args.passages / PASSAGES_PER_ARTICLE) + 1
    stages = max(1, round(args.passages / args.stage)) if args.stage else 1
    bounds = [round(total * (k + 1) / stages) for k in range(stages)][:args.upto_stage or None]
    record = record or {"files": total, "stages": []}
    if len(record["stages"]) > len(bounds):
        sys.exit(f"the index already holds {len(record['stages'])} stages")
    if len(record["stages"]) == len(bounds):
        trim(corpus, bounds[-1])
        return record
    todo = articles(args.passages)
    for n, upto in enumerate(bounds):
        write_files(corpus, todo, upto)
        if n < len(record["stages"]):
            continue
        log(f"stage {n + 1}/{len(bounds)}: indexing {upto} files")
        t = time.perf_counter()
        hwm = work / "index_peak_kb"
        proc = subprocess.Popen([sys.executable, "-c", INDEX, str(corpus), str(index),
                                 args.embedding, str(hwm)], env=env, cwd=ROOT)
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(300):
                log(f"  {time.perf_counter() - t:.0f} s, RSS {child_rss_mb(proc.pid):.0f} MB, "
                    f"index {disk(index) / 2**30:.2f} GB")

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        code = proc.wait()
        stop.set()
        if code:
            sys.exit(f"stage {n + 1} failed ({code}); run the same command again to resume")
        seconds = time.perf_counter() - t
        peak = int(hwm.read_text()) / 1024
        meta = json.loads((index / "lexical" / "sanad" / "meta.json").read_text())
        record["stages"].append({"files": upto, "passages": meta["passages"],
                                 "s": round(seconds, 1), "peak_rss_mb": round(peak)})
        record_path.write_text(json.dumps(record, indent=1))
        done_s = sum(s["s"] for s in record["stages"])
        log(f"stage {n + 1} done in {seconds:.0f} s: {meta['passages']} passages, "
            f"{meta['passages'] / done_s:.1f} p/s overall, peak RSS {peak:.0f} MB")
    trim(corpus, bounds[-1])
    return record


def measure(args, work: Path, corpus: Path, index: Path, env: dict) -> dict:
    from rag.evaluation import load_squad

    sanad = str(Path(sys.executable).with_name("sanad"))
    where = ["--corpus", str(corpus), "--index", str(index)]
    log("no-op sanad index")
    noop = [timed([sanad, "index", *where], env) for _ in range(args.runs)]
    _, questions = load_squad(SETS[0])
    questions = [q["question"] for q in questions[:QUESTIONS]]
    log("cold ask and bare Chroma")
    cold, bare = [], []
    for i in range(args.runs):
        cold.append(timed([sanad, "ask", *where, questions[i]], env))
        bare.append(timed([sys.executable, "-c", BARE, str(index), args.embedding, questions[i]],
                          env))
    log("warm asks (chat-like process) and a bare Chroma process with as many queries")
    stdin = json.dumps(questions)
    got = subprocess.run([sys.executable, "-c", WARM, str(corpus), str(index), args.embedding],
                         input=stdin, text=True, check=True, capture_output=True, env=env,
                         cwd=ROOT)
    warm = json.loads(got.stdout.splitlines()[-1])
    got = subprocess.run([sys.executable, "-c", BARE_WARM, str(index), args.embedding],
                         input=stdin, text=True, check=True, capture_output=True, env=env,
                         cwd=ROOT)
    bare_warm = json.loads(got.stdout.splitlines()[-1])
    ms = warm["warm_ms"]
    mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
    return {
        "noop_index_s_median": round(statistics.median(noop), 2),
        "cold_ask_s_median": round(statistics.median(cold), 2),
        "bare_chroma_open_query_s_median": round(statistics.median(bare), 2),
        "cold_ratio": round(statistics.median(cold) / statistics.median(bare), 2),
        "first_ask_in_process_s": round(warm["first_s"], 2),
        "warm_ms_p50": round(statistics.median(ms), 1),
        "warm_ms_p95": round(sorted(ms)[int(0.95 * (len(ms) - 1))], 1),
        "passages": warm["passages"],
        "warm_rss_mb": mb(warm["mem_kb"]["VmHWM"]),
        "warm_rss_anon_mb": mb(warm["mem_kb"]["RssAnon"]),
        "warm_rss_file_mb": mb(warm["mem_kb"]["RssFile"]),
        "bare_chroma_rss_mb": mb(bare_warm["mem_kb"]["VmHWM"]),
        "bare_chroma_rss_anon_mb": mb(bare_warm["mem_kb"]["RssAnon"]),
        "bare_chroma_rss_file_mb": mb(bare_warm["mem_kb"]["RssFile"]),
        "sanad_over_bare_rss_mb": mb(warm["mem_kb"]["VmHWM"] - bare_warm["mem_kb"]["VmHWM"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--embedding", default="hashing-ngram-v1")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stage", type=int, default=0,
                        help="index this many passages at a time (default: all at once)")
    parser.add_argument("--upto-stage", type=int, default=0,
                        help="stop after this many stages and measure the index then")
    parser.add_argument("--measure-only", action="store_true",
                        help="(internal) measure an index already built")
    args = parser.parse_args()
    work = ROOT / "bench" / ".work" / f"scale-{args.passages}-{args.embedding}"
    corpus, index = work / "corpus", work / "index"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SANAD_"))}
    env.update(SANAD_EMBEDDINGS=args.embedding, SANAD_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    if not args.measure_only:
        index_stages(args, work, corpus, index, env)
        # measured by this script as it is now on disk (a long run outlives edits to it)
        again = [sys.executable, __file__, *sys.argv[1:], "--measure-only"]
        sys.exit(subprocess.run(again).returncode)
    record_path = work / "index_run.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else None
    out = {"embedding": args.embedding, "files": sum(1 for _ in corpus.iterdir())}
    if record is not None:
        stages = record["stages"][:args.upto_stage or None]
        index_s = sum(s["s"] for s in stages)
        out.update(index_s=round(index_s, 1),
                   index_passages_per_s=round(stages[-1]["passages"] / index_s, 1),
                   index_stages=len(stages), index_stage_s=[s["s"] for s in stages],
                   index_peak_rss_mb=max(s["peak_rss_mb"] for s in stages))
        if args.upto_stage:  # an index run cut short after these stages is repaired first
            timed([str(Path(sys.executable).with_name("sanad")), "index", "--corpus", str(corpus),
                   "--index", str(index)], env)
    else:
        out.update(index_s=None, index_passages_per_s=None)
    out["disk_mb"] = round(disk(index) / 2**20, 1)
    out.update(measure(args, work, corpus, index, env))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
