"""The `sanad` command line: index, ask, eval, chat, history.

Errors become one sentence on stderr and a non-zero exit; heavy libraries load only for the
command that needs them, so `sanad --help` is instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from pathlib import Path

from .errors import SanadError
from .settings import VARIABLES, unknown_variables

EPILOG = """\
examples:
  sanad index                         index ./corpus into ./.sanad
  sanad ask "متى أقامت كازاخستان علاقات مع إسرائيل؟"
  sanad ask --json -k 8 "كم نسبة المسلمين في كازاخستان؟"
  sanad eval tests/qa/corpus_qa.jsonl --min-answer-accuracy 0.9
  sanad eval --squad ../shared/bench/arcd/arcd.json --json
  sanad chat
  sanad history show 3                print a saved conversation with its sources

questions:
  Arabic or English. With the default embedding (e5-small-q4, offline) an English question
  finds and quotes the Arabic sentences that answer it; quotes stay verbatim Arabic and a
  refusal comes in the question's language. Other languages the model knows are read by
  meaning alone (measured too: tests/qa/other_languages.jsonl); a refusal comes in
  French, Spanish, German, Italian, Portuguese, Turkish, Russian, Ukrainian, Persian, Urdu,
  Hebrew or Chinese, else English.
  With FreeDict's English-Arabic dictionary installed (apt-get install
  dict-freedict-eng-ara; SANAD_DICTIONARY), English words meet the Arabic words too.
  English questions are also read by a second model (USE, bundled), opened from
  SANAD_CACHE_DIR after its first use on a machine.
  SANAD_EMBEDDINGS=hashing-ngram-v1 matches spelling only: Arabic questions sharing words
  with the articles.

environment:
{variables}
  (see README.md, Configuration)
"""


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("index and model")
    g.add_argument("--corpus", metavar="DIR", help="corpus directory (default: ./corpus)")
    g.add_argument("--index", metavar="DIR", help="index directory (default: ./.sanad)")
    g.add_argument("--chroma-url", metavar="URL", help="use a Chroma server, e.g. http://127.0.0.1:8000")
    g.add_argument("--model", help="chat model name (SANAD_MODEL)")
    g.add_argument("--base-url", metavar="URL", help="OpenAI-compatible API base URL (OPENAI_BASE_URL)")
    g.add_argument("--offline", action="store_true", default=None,
                   help="never call a chat model; answer extractively")
    g.add_argument("--no-fallback", action="store_true",
                   help="fail instead of answering offline when the chat model fails")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sanad")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sanad", formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG.replace("{variables}", textwrap.fill(
            ", ".join(VARIABLES), 78, initial_indent="  ", subsequent_indent="  ")),
        description="Answer questions about a corpus of Arabic articles, citing the file and "
                    "the words every answer rests on.")
    parser.add_argument("--version", action="version", version=f"sanad {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", help="index (or update the index of) the corpus",
                       description="Add new files, re-index changed ones, drop deleted ones. "
                                   "Unchanged files cost nothing.")
    _common(p)
    p.add_argument("--rebuild", action="store_true", help="drop the index and build it anew")
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = sub.add_parser("ask", help="answer one question",
                       description="Answer one question from the corpus, with numbered sources.")
    _common(p)
    p.add_argument("question", nargs="?", default="-",
                   help="the question, in Arabic or English; - or nothing: read it from "
                        "standard input (echo \"سؤال\" | sanad ask)")
    p.add_argument("-k", type=int, metavar="N", help="passages to retrieve (default 5)")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")

    from .cli_eval import add_parser as add_eval

    add_eval(sub, _common)

    p = sub.add_parser("chat", help="open the terminal chat",
                       description="Open the chat. Builds the index first if there is none.")
    _common(p)
    p.add_argument("--new", action="store_true",
                   help="start a new conversation (the full-screen chat reopens the latest "
                        "by default; the plain chat always starts a new one)")
    p.add_argument("--rtl", choices=["auto", "on", "off"], help="Arabic display mode")
    p.add_argument("--plain", action="store_true",
                   help="a plain line-by-line prompt instead of the full-screen chat (also "
                        "when stdin is not a terminal): /new, /help, /quit; saved like the "
                        "full-screen chat's conversations")

    from .cli_history import add_parser as add_history

    add_history(sub)
    return parser


def settings_from_args(args):
    from .settings import Settings

    return Settings.from_env(
        corpus_dir=Path(args.corpus) if args.corpus else None,
        index_dir=Path(args.index) if args.index else None,
        chroma_url=args.chroma_url, model=args.model, base_url=args.base_url,
        offline=args.offline, fallback=False if args.no_fallback else None,
        top_k=getattr(args, "k", None),
    )


class ProgressBar:
    """Renders `Progress` events on stderr: a bar on a terminal; elsewhere (a log, a pipe)
    one line every LOG_EVERY_S seconds of long work, so a long run is not silent."""

    LOG_EVERY_S = 10.0

    def __init__(self, stream=None, clock=time.monotonic):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.clock = clock
        self.last = clock()
        self.logged = False

    def __call__(self, event) -> None:
        from .loading import safe_name

        if event.total <= 0:
            return
        item = safe_name(event.item)  # a name may hold an escape sequence or a line break
        if not self.tty:
            now, done = self.clock(), event.done >= event.total
            if now - self.last >= self.LOG_EVERY_S or (done and self.logged):
                self.last, self.logged = now, True
                self.stream.write(f"{event.stage} {event.done}/{event.total} "
                                  f"({100 * event.done // event.total}%) {item}\n")
                self.stream.flush()
            return
        width = 30
        filled = int(width * event.done / event.total)
        self.stream.write(f"\r{event.stage:<6} [{'#' * filled}{'.' * (width - filled)}] "
                          f"{event.done}/{event.total} {item[:40]:<40}")
        if event.done >= event.total:
            self.stream.write("\n")
        self.stream.flush()


UNSUPPORTED = ("unsupported answer: none of the words it quotes were found in the articles "
               "(or it quotes none); do not rely on it.")


def _warn(source: str, reason: str) -> None:
    from .loading import safe_name

    print(f"warning: skipped {safe_name(source)}: {reason}", file=sys.stderr)


def _ensure_index(assistant) -> None:
    """Build a missing index, and bring a stale one up to date before answering: the corpus
    is compared with the index's record by size and modification time (a stat per file)."""
    if not assistant.has_index():
        where = (f"collection {assistant.settings.collection!r} on {assistant.settings.chroma_url}"
                 if assistant.settings.chroma_url else assistant.settings.index_dir)
        print(f"No index at {where} yet; indexing {assistant.settings.corpus_dir} first.",
              file=sys.stderr)
        assistant.index(progress=ProgressBar(), warn=_warn)
        return
    from .indexing import index_busy

    if index_busy(assistant.settings):  # wait for it before reading the index at all
        where = assistant.settings.chroma_url or assistant.settings.index_dir
        print(f"Another `sanad index` is updating {where}; waiting for it to finish.",
              file=sys.stderr)
        assistant.index(progress=ProgressBar(), warn=lambda *a: None)
        return
    changes = assistant.changes()
    if changes is None or any(changes.values()):
        if changes is None:  # no record here: an interrupted run, or indexed from elsewhere
            print("This index keeps no record of the corpus here (an indexing run was "
                  "interrupted, or it was indexed from another machine or folder); checking "
                  "the corpus against it first.", file=sys.stderr)
        else:
            what = ", ".join(f"{len(v)} {k}" for k, v in changes.items() if v)
            print(f"The corpus changed since it was indexed ({what} file(s)); updating the "
                  "index first.", file=sys.stderr)
        assistant.index(progress=ProgressBar(), warn=lambda *a: None)


def cmd_index(args) -> int:
    from .assistant import Assistant

    assistant = Assistant(settings_from_args(args))
    report = assistant.index(progress=ProgressBar(), warn=_warn, rebuild=args.rebuild)
    if report.damaged_set_aside:
        print(f"The index's database was damaged; moved it to {report.damaged_set_aside} and "
              "built the index afresh.", file=sys.stderr)
    if report.replaced_embedding == assistant.settings.embedding:  # its sentences' differ
        print("The index's sentence vectors were made by an older sanad (without "
              "the answerer's second model); rebuilt it.", file=sys.stderr)
    elif report.replaced_embedding:
        print(f"The index was built with the embedding {report.replaced_embedding!r}; rebuilt "
              f"it with {assistant.settings.embedding!r}.", file=sys.stderr)
    if args.json:
        from .loading import safe_name

        data = report.to_dict()  # a name that is not UTF-8 would make the output not UTF-8
        data["skipped"] = [[safe_name(source), reason] for source, reason in data["skipped"]]
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    if not report.files and not report.skipped:
        print(f"note: {assistant.settings.corpus_dir} holds no .txt or .md files to index.",
              file=sys.stderr)
    print(f"indexed {assistant.settings.corpus_dir} into "
          f"{assistant.settings.chroma_url or assistant.settings.index_dir}: "
          f"{len(report.added)} added, {len(report.updated)} updated, "
          f"{len(report.removed)} removed, {len(report.unchanged)} unchanged, "
          f"{len(report.skipped)} skipped; {report.files} files, {report.passages} passages "
          f"({report.passages_embedded} passages and {report.sentences_embedded} sentences "
          "embedded now" + (f"; {len(report.reused)} renamed, moved or copied "
                            f"file{'s' if len(report.reused) != 1 else ''} took the vectors "
                            "of an indexed file with the same content" if report.reused else "")
          + ").")
    return 0


def print_answer(answer, out=None, body: bool = True) -> None:
    """The answer, its notes and its numbered sources; `body=False` when the text and notes
    were already streamed to the terminal."""
    from .loading import safe_name

    out = out or sys.stdout  # looked up per call: a default bound at import misses redirects
    if body:
        if answer.rewritten:
            print(f"(searched: {answer.query})", file=out)
        print(answer.text, file=out)
        for note in answer.notes:
            print(f"note: {note}", file=out)
    if answer.citations:
        print("\nSources:", file=out)
        for c in answer.citations:
            flag = ("" if c.verified else " (quote not found in the source)" if c.quoted
                    else " (no words quoted for it; its passage:)")
            label = " · ".join(x for x in (c.outlet, c.title) if x)
            label = label if len(label) <= 80 else label[:79] + "…"
            print(f"[{c.marker}] {safe_name(c.source)} {c.start}-{c.end}{flag}"
                  + (f"  {label}" if label else ""), file=out)
            print(f"    «{c.quote}»" if c.quoted else f"    {c.quote}", file=out)
    if answer.dropped_markers:
        print(f"(dropped markers naming no passage: {answer.dropped_markers})", file=out)
    if answer.unsupported:
        print(f"warning: {UNSUPPORTED}", file=out)


def cmd_ask(args) -> int:
    from .assistant import Assistant, check_question
    from .citations import LiveMarkers
    from .types import Done, Notice, QueryRewritten, TextDelta

    assistant = Assistant(settings_from_args(args))
    if args.question == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise SanadError("Give the question as an argument, or pipe it in: "
                             "echo \"سؤال\" | sanad ask")
        args.question = sys.stdin.read()
    check_question(args.question)  # before any indexing: a bad question is said at once
    _ensure_index(assistant)
    if args.json:
        print(json.dumps(assistant.ask(args.question, k=args.k).to_dict(), ensure_ascii=False,
                         indent=2))
        return 0
    live = assistant.mode == "llm" and sys.stdout.isatty()  # show the model's words as they come
    streamed: list[str] = []
    since_notice = 0
    markers = LiveMarkers(args.k or assistant.settings.top_k)  # as the checked answer will be
    for event in assistant.stream(args.question, k=args.k):
        if not live:
            if isinstance(event, Done):
                print_answer(event.answer)
        elif isinstance(event, QueryRewritten):
            print(f"(searched: {event.query})")
        elif isinstance(event, TextDelta):
            streamed.append(markers.feed(event.text))
            sys.stdout.write(streamed[-1])
            sys.stdout.flush()
        elif isinstance(event, Notice):
            print(f"\nnote: {event.text}\n")
            # after a fallback the offline answer streams next, with markers of its own
            since_notice = len(streamed)
            markers = LiveMarkers(args.k or assistant.settings.top_k)
        elif isinstance(event, Done):
            answer = event.answer
            streamed.append(markers.flush())
            sys.stdout.write(streamed[-1])
            shown = {"".join(streamed).strip(), "".join(streamed[since_notice:]).strip()}
            if answer.text.strip() not in shown:
                # what streamed was the model's unchecked text (or was replaced by the
                # offline answer): the checked answer is what is read last
                print("\n\n── checked answer " + "─" * 40)
                print(answer.text)
            else:
                print()
            print_answer(answer, body=False)
    return 0


def cmd_eval(args) -> int:
    from .cli_eval import cmd_eval as run

    return run(args)


def cmd_chat(args) -> int:
    settings = settings_from_args(args)
    if args.plain or not sys.stdin.isatty():
        return plain_chat(settings)
    return chat_frontend()(settings, new=args.new, rtl=args.rtl)


def chat_frontend():
    """The full-screen chat, found through the `sanad.frontends` entry point: the library
    never imports `tui` by name (DESIGN.md), the installed package provides it."""
    from importlib.metadata import entry_points

    from .errors import ConfigError

    found = entry_points(group="sanad.frontends", name="chat")
    if not found:
        raise ConfigError("The terminal chat is not installed; reinstall sanad "
                          "(pip install -e .) or use `sanad chat --plain`.")
    return next(iter(found)).load()


PLAIN_HELP = """\
Type a question and Enter. Follow-up questions use the conversation so far.
  /new    start a new conversation
  /help   this text
  /quit   leave (so do Ctrl-D, and an empty line on a terminal)
Each conversation is saved; `sanad history` lists it."""


def plain_chat(settings) -> int:
    """A line-by-line chat for pipes and terminals without a full screen. Each run starts a
    new conversation, saved as the full-screen chat saves its own; on a pipe, blank lines
    are skipped and each question is echoed before its answer."""
    from .assistant import Assistant
    from .conversations import ChatStore, corpus_key

    assistant = Assistant(settings)
    _ensure_index(assistant)
    interactive = sys.stdin.isatty()
    store = ChatStore(settings.resolved_data_dir)
    corpus = corpus_key(settings.corpus_dir)
    conversation, history = None, []
    failed = 0  # questions that got an error instead of an answer: the exit code says so
    print("sanad: ask a question; /help lists the commands, Ctrl-D quits.", file=sys.stderr)
    try:
        while True:
            try:
                line = input("> ") if interactive else input()
            except EOFError:
                break
            question = line.strip()
            if not question:
                if interactive:
                    break
                continue  # a blank line between questions in a file
            if not interactive:
                print(f"> {question}")
            if question.startswith("/") and " " not in question:
                command = question[1:].lower()
                if command in ("quit", "exit", "q"):
                    break
                if command == "new":
                    conversation, history = None, []
                    print("New conversation.", file=sys.stderr)
                elif command == "help":
                    print(PLAIN_HELP, file=sys.stderr)
                else:
                    print(f"sanad: unknown command {question}; /help lists them.",
                          file=sys.stderr)
                continue
            try:
                answer = assistant.ask(question, history=history)
            except SanadError as exc:
                print(f"sanad: {exc}", file=sys.stderr)
                failed += 1
                continue
            print_answer(answer)
            print()
            history.append(answer)
            conversation = _save_turn(store, conversation, corpus, history)
    finally:
        store.close()
    if failed:
        print(f"sanad: {failed} question(s) got an error instead of an answer.", file=sys.stderr)
    return 1 if failed else 0


def _save_turn(store, conversation: int | None, corpus: str, answers: list) -> int | None:
    """Save a plain chat's newest turn (`ChatStore.save`); a store that cannot be written is
    said once per turn, and the chat goes on."""
    import sqlite3

    try:
        saved, gone = store.save(conversation, corpus, answers)
    except (sqlite3.Error, OSError) as exc:
        print(f"sanad: the conversation could not be saved ({exc}).", file=sys.stderr)
        return conversation
    if gone is not None:
        print(f"sanad: conversation #{gone} was deleted meanwhile; this one is saved as "
              f"#{saved}.", file=sys.stderr)
    return saved


def cmd_history(args) -> int:
    from .cli_history import cmd_history as run

    return run(args)


COMMANDS = {"index": cmd_index, "ask": cmd_ask, "eval": cmd_eval, "chat": cmd_chat,
            "history": cmd_history}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    for warning in unknown_variables():
        print(f"sanad: warning: {warning}", file=sys.stderr)
    try:
        return COMMANDS[args.command](args)
    except SanadError as exc:
        print(f"sanad: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sanad: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
