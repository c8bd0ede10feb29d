"""The chat's responsiveness: launch to a usable input, and typing while work runs.

1. launch (the real app, `python -m tui`, under a pseudo-terminal, offline, index built):
   from spawning the process to
   - first_paint_s:   the input's placeholder is drawn on the terminal;
   - input_usable_s:  keys typed right after the first paint are drawn back in the input;
   - stats_loaded_s:  the status line shows the index size (files · passages), which needs
                      the Chroma store opened in a worker.
   Target: input_usable_s < 1.5 s.
2. typing while an answer streams (in-process, headless `App.run_test`, the real Assistant in
   LLM mode against the scripted OpenAI-compatible server of tests/openai_server.py, streaming
   slowly): every key typed during the stream must land in the input; per-key handling time.
3. typing while the index is built (same, offline, with an empty index dir and the corpus
   copied 40 times over, so the app indexes 200 files at start).

    .venv/bin/python bench/bench_tui.py [--runs 5]

Prints one JSON object. Work files go to bench/.work/tui/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pty
import re
import select
import shutil
import signal
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work" / "tui"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

TARGET_INPUT_S = 1.5
COLUMNS, ROWS = 120, 36
PROBE = "zqzq"
QUESTION = "ما الدولة التي انضمت إلى الاتفاقات الإبراهيمية؟"
TYPED = "kazakhstan abraham accords 2025"
COPIES = 40  # the corpus is small; indexed 40 times over, indexing lasts long enough to type
_CSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def _settings(index: Path, data: Path, **changes):
    from rag.settings import Settings

    return Settings.from_env(env={}, corpus_dir=ROOT / "corpus", index_dir=index, data_dir=data,
                             **changes)


def build_index() -> Path:
    from rag.assistant import Assistant

    index = WORK / "index"
    settings = _settings(index, WORK / "data", offline=True)
    assistant = Assistant(settings)
    if not assistant.has_index():
        assistant.index()
    return index


# -- 1. launch under a pseudo-terminal --------------------------------------------------------
def _screen_text(raw: bytes) -> str:
    return _CSI.sub("", raw.decode("utf-8", errors="ignore"))


def launch_once(index: Path) -> dict:
    data = Path(tempfile.mkdtemp(prefix="sanad-tui-", dir=WORK))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANAD_", "OPENAI_"))}
    env.update(SANAD_CORPUS_DIR=str(ROOT / "corpus"), SANAD_INDEX_DIR=str(index),
               SANAD_DATA_DIR=str(data), SANAD_OFFLINE="1", SANAD_RTL="on",
               TERM="xterm-256color", COLUMNS=str(COLUMNS), LINES=str(ROWS),
               ANONYMIZED_TELEMETRY="False")
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real app, as a person would start it
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "tui", "--new"], env)
    import fcntl
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    raw = b""
    marks: dict[str, float] = {}
    probe_at = None
    deadline = started + 30
    try:
        while time.perf_counter() < deadline and len(marks) < 3:
            ready, _, _ = select.select([fd], [], [], 0.01)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                raw += chunk
                if b"\x1b[c" in chunk or b"\x1b[>c" in chunk:
                    os.write(fd, b"\x1b[?62;22c")  # answer a device-attributes query
            now = time.perf_counter() - started
            text = _screen_text(raw)
            if "first_paint_s" not in marks and "sk a question" in text:
                marks["first_paint_s"] = now
                os.write(fd, PROBE.encode())
                probe_at = len(raw)
            if probe_at is not None and "input_usable_s" not in marks \
                    and PROBE in _screen_text(raw[probe_at:]):
                marks["input_usable_s"] = now
            if "stats_loaded_s" not in marks and re.search(r"\d+ files · \d+ passages", text):
                marks["stats_loaded_s"] = now
    finally:
        try:
            os.write(fd, b"\x11")  # ctrl+q
        except OSError:
            pass
        end = time.perf_counter() + 5
        status = None
        while time.perf_counter() < end:
            try:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if ready:
                    os.read(fd, 65536)
            except OSError:
                pass
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
        shutil.rmtree(data, ignore_errors=True)
    marks["exit_status"] = status
    return marks


def launch(index: Path, runs: int) -> dict:
    results = [launch_once(index) for _ in range(runs)]
    out: dict = {"runs": runs, "terminal": f"{COLUMNS}x{ROWS} pty, TERM=xterm-256color"}
    for key in ("first_paint_s", "input_usable_s", "stats_loaded_s"):
        values = [r[key] for r in results if key in r]
        out[key] = {"median": round(statistics.median(values), 3), "max": round(max(values), 3),
                    "all": [round(v, 3) for v in values]} if values else None
        if len(values) < runs:
            out[key + "_missing"] = runs - len(values)
    usable = out["input_usable_s"]
    out["target_input_s"] = TARGET_INPUT_S
    out["meets_target"] = bool(usable and usable["max"] < TARGET_INPUT_S)
    return out


# -- 2 and 3. typing while work runs ----------------------------------------------------------
async def _type_during(pilot, app, busy, text: str, gap_s: float = 0.03) -> dict:
    """Type `text` one key every `gap_s` or so, as the terminal driver delivers keys; per key,
    the time until the input's value shows it, and how many keys were typed while `busy()`."""
    from textual import events

    field = app.chat.input
    field.focus()
    field.value = ""
    await pilot.pause()
    driver = app._driver
    timings = []
    while_busy = 0
    for number, ch in enumerate(text, 1):
        key = events.Key("space" if ch == " " else ch, ch)
        key.set_sender(app)
        t = time.perf_counter()
        driver.send_message(key)
        while len(field.value) < number and time.perf_counter() - t < 2.0:
            await asyncio.sleep(0.0005)
        timings.append((time.perf_counter() - t) * 1000)
        while_busy += bool(busy())
        await asyncio.sleep(gap_s)
    landed = field.value
    ordered = sorted(timings)
    return {"keys": len(text), "landed": landed == text,
            "dropped": max(0, len(text) - len(landed)),
            "keys_while_busy": while_busy,
            "key_to_input_ms": {"p50": round(statistics.median(timings), 2),
                                "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
                                "max": round(max(timings), 2)}}


async def _wait(pilot, condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        await pilot.pause(0.01)


def typing_while_streaming(index: Path) -> dict:
    from openai_server import OpenAIServer, Reply

    from tui.app import SanadApp

    words = ("أعلنت كازاخستان انضمامها رسميًا إلى الاتفاقات الإبراهيمية [1]، في خطوة "
             "وصفها مسؤولون أمريكيون بأنها رمزية. ").split(" ")
    chunks = [w + " " for w in words * 8]

    async def scenario(server) -> dict:
        data = Path(tempfile.mkdtemp(prefix="sanad-tui-", dir=WORK))
        settings = _settings(index, data, base_url=server.url, api_key="bench", model="bench")
        app = SanadApp(settings, new=True, rtl="on", env={}, export_dir=data)
        async with app.run_test(size=(COLUMNS, ROWS)) as pilot:
            await _wait(pilot, lambda: "passages" in app.chat.status.index)
            await app.workers.wait_for_complete()
            app.chat.input.value = QUESTION
            t = time.perf_counter()
            await pilot.press("enter")
            await _wait(pilot, lambda: app.chat.pending and app.chat.pending.answer_view.text)
            first_text_ms = (time.perf_counter() - t) * 1000
            result = await _type_during(pilot, app, lambda: app.chat.pending is not None, TYPED)
            await _wait(pilot, lambda: app.chat.pending is None)
            result["first_text_ms"] = round(first_text_ms, 1)
            result["answer_chars"] = len(app.chat.answers[-1].text) if app.chat.answers else 0
            result["input_after_answer"] = app.chat.input.value == TYPED
        shutil.rmtree(data, ignore_errors=True)
        return result

    with OpenAIServer() as server:
        server.script(Reply(chunks=chunks, chunk_delay=0.04))
        out = asyncio.run(scenario(server))
    out["stream"] = f"{len(chunks)} chunks, 40 ms apart, from a local OpenAI-compatible server"
    return out


def _big_corpus(target: Path, copies: int) -> Path:
    """The corpus, `copies` times over (each copy differs, so each is indexed)."""
    target.mkdir(parents=True)
    for n in range(copies):
        for source in sorted((ROOT / "corpus").iterdir()):
            text = source.read_text(encoding="utf-8")
            (target / f"{n:03d}_{source.name}").write_text(f"{text}\n(نسخة {n})\n",
                                                           encoding="utf-8")
    return target


def typing_while_indexing() -> dict:
    from tui.app import SanadApp

    async def scenario() -> dict:
        data = Path(tempfile.mkdtemp(prefix="sanad-tui-", dir=WORK))
        corpus = _big_corpus(data / "corpus", COPIES)
        settings = _settings(data / "index", data, offline=True).replace(corpus_dir=corpus)
        app = SanadApp(settings, new=True, rtl="on", env={}, export_dir=data)
        async with app.run_test(size=(COLUMNS, ROWS)) as pilot:
            await _wait(pilot, lambda: app.chat.indexing)
            t = time.perf_counter()
            result = await _type_during(pilot, app, lambda: app.chat.indexing, TYPED,
                                        gap_s=0.01)
            await _wait(pilot, lambda: "passages" in app.chat.status.index, timeout=300)
            result["index_s"] = round(time.perf_counter() - t, 2)
            result["corpus_files"] = len(list(corpus.iterdir()))
        shutil.rmtree(data, ignore_errors=True)
        return result

    return asyncio.run(scenario())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    os.environ["ANONYMIZED_TELEMETRY"] = "False"
    index = build_index()
    result = {"launch": launch(index, args.runs),
              "typing_while_streaming": typing_while_streaming(index),
              "typing_while_indexing": typing_while_indexing()}
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
