"""Run every benchmark and write bench/results.json (the numbers quoted in bench/README.md).

    make bench          # or: .venv/bin/python bench/run_all.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "bench"
SANAD = str(Path(sys.executable).with_name("sanad"))
SQUAD_SETS = {
    "arcd_all": [SHARED / "arcd" / "arcd.json"],
    "arcd_test": [SHARED / "arcd" / "arcd-test.json"],
    "tydi_dev": [SHARED / "tydiqa_goldp_ar" / "arabic_tydiqa_dev.json"],
    "pooled_arcd_tydi": [SHARED / "arcd" / "arcd.json",
                         SHARED / "tydiqa_goldp_ar" / "arabic_tydiqa_dev.json"],
}


def run_json(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT)
    if out.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def main() -> None:
    results: dict = {"date": time.strftime("%Y-%m-%d"), "squad": {}}
    for name, files in SQUAD_SETS.items():
        t = time.perf_counter()
        results["squad"][name] = run_json(
            [SANAD, "eval", "--offline", "--json", "--retrieval", "bm25,vector,hybrid", "--squad",
             *map(str, files)])
        results["squad"][name]["seconds"] = round(time.perf_counter() - t, 1)
        print(name, json.dumps(results["squad"][name]["modes"]), flush=True)
    where = ["--index", str(ROOT / "bench" / ".work" / "qa-index"), "--corpus", str(ROOT / "corpus")]
    subprocess.run([SANAD, "index", "--offline", *where], check=True, capture_output=True)  # up to date
    for name in ("corpus_qa", "followups", "english", "other_languages"):
        qa = run_json([SANAD, "eval", "--offline", "--json", *where,
                       str(ROOT / "tests" / "qa" / f"{name}.jsonl")])
        results[name] = {k: v for k, v in qa.items() if k != "failures"}
        results[name]["failures"] = len(qa["failures"])
        print(name, json.dumps(results[name]), flush=True)
    results["latency"] = run_json([sys.executable, str(ROOT / "bench" / "bench_latency.py")])
    print("latency", json.dumps(results["latency"]), flush=True)
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
