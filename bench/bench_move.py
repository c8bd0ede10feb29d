"""Moving files costs no embedding: index N distinct files, move them all into a subfolder,
index again; seconds and texts embedded each time (bench/README.md, "Renamed and moved files").
Then a sentence is added near the start of every file, which moves every later passage and
sentence, and the files are indexed again: only what the new words changed is embedded.

    .venv/bin/python bench/bench_move.py [--files 40] [--tree DIR]

--tree times another checkout of sanad (for example the code before a change, made with
`git worktree add`) on the same machine, for a before/after in the same minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--tree", type=Path, default=ROOT)
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree.resolve()))
    from rag import Settings
    from rag.indexing import build_index
    from rag.store import open_store

    originals = sorted((ROOT / "corpus").glob("*.txt"))
    with tempfile.TemporaryDirectory(prefix="sanad-move-") as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for i in range(args.files):  # distinct files: a first line of their own
            f = originals[i % len(originals)]
            (corpus / f"{f.stem}_{i:03d}.txt").write_text(
                f"نسخة رقم {i}\n" + f.read_text(encoding="utf-8"), encoding="utf-8")
        settings = Settings.from_env(env={}, corpus_dir=corpus, index_dir=Path(tmp) / "index")
        t = time.perf_counter()
        first = build_index(settings, open_store(settings))
        first_s = time.perf_counter() - t
        (corpus / "moved").mkdir()
        for f in sorted(corpus.glob("*.txt")):
            f.rename(corpus / "moved" / f.name)
        t = time.perf_counter()
        moved = build_index(settings, open_store(settings))
        moved_s = time.perf_counter() - t
        for f in sorted(corpus.glob("moved/*.txt")):  # after the first line, a sentence more
            head, rest = f.read_text(encoding="utf-8").split("\n", 1)
            f.write_text(f"{head}\nتحديث: أضيفت هذه الجملة إلى أول الملف بعد نشره.\n{rest}",
                         encoding="utf-8")
        t = time.perf_counter()
        edited = build_index(settings, open_store(settings))
        edited_s = time.perf_counter() - t
    print(json.dumps({
        "tree": str(args.tree), "files": args.files,
        "first_s": round(first_s, 2),
        "first_embedded": first.passages_embedded + first.sentences_embedded,
        "moved_s": round(moved_s, 2),
        "moved_embedded": moved.passages_embedded + moved.sentences_embedded,
        "moved_reused": len(getattr(moved, "reused", [])),
        "edited_s": round(edited_s, 2),
        "edited_embedded": edited.passages_embedded + edited.sentences_embedded,
    }))


if __name__ == "__main__":
    main()
