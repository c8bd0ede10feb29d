"""chromadb's import and client start, bare and as sanad does them (`rag.chroma_import`).

Each round runs two fresh processes, in alternating order: one imports chromadb and opens a
PersistentClient on the corpus's index the bare way, the other inside
`rag.chroma_import.unchecked()`; both then list the collections. Prints the medians and their
ratio. The index must exist (`sanad index`, or `make chat` once).

    .venv/bin/python bench/bench_import.py [--rounds 10] [--index .sanad]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import sys, time
t = time.perf_counter()
sys.path.insert(0, {root!r})
if {sanad}:
    from rag.chroma_import import unchecked
else:
    import contextlib
    unchecked = contextlib.nullcontext
with unchecked():
    import chromadb
    from chromadb.config import Settings
    client = chromadb.PersistentClient(path={index!r},
                                       settings=Settings(anonymized_telemetry=False))
client.list_collections()
print(time.perf_counter() - t)
"""


def timed(sanad: bool, index: Path) -> float:
    code = _CHILD.format(root=str(ROOT), sanad=sanad, index=str(index))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"ANONYMIZED_TELEMETRY": "False", "PATH": ""})
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--index", type=Path, default=ROOT / ".sanad")
    args = parser.parse_args()
    if not (args.index / "chroma.sqlite3").exists():
        sys.exit(f"No index at {args.index}: run `sanad index` first.")
    bare, sanad = [], []
    for r in range(args.rounds):
        for which in ((False, True) if r % 2 == 0 else (True, False)):
            (sanad if which else bare).append(timed(which, args.index))
    result = {"rounds": args.rounds, "bare_median_s": round(statistics.median(bare), 3),
              "sanad_median_s": round(statistics.median(sanad), 3),
              "ratio": round(statistics.median(sanad) / statistics.median(bare), 3)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
