"""`sanad history`: the chat's saved conversations from the command line (as `llm logs`).

    sanad history                      the latest conversations, newest first
    sanad history --search WORDS       those whose title, questions or answers hold the words
    sanad history show ID [--json]     one conversation: questions, answers, numbered sources
    sanad history export ID [-o FILE]  as Markdown (default: the export folder; - for stdout)
    sanad history rename ID TITLE
    sanad history delete ID --yes
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

from .errors import SanadError

EPILOG = """\
examples:
  sanad history
  sanad history --search كازاخستان --json
  sanad history show 3
  sanad history export 3 -o - > conversation.md
  sanad history rename 3 "Kazakhstan and the Abraham Accords"

Conversations live in chat.sqlite3 under SANAD_DATA_DIR (default ~/.local/share/sanad);
exports go to SANAD_EXPORT_DIR (default: its exports/ folder).
"""


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (all) or more, not {value}")
    return value


def add_parser(sub) -> None:
    p = sub.add_parser("history", help="list, show, search and export saved conversations",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
                       description="The conversations the chat saved: list or search them,\n"
                                   "print one with its sources, export it as Markdown, rename\n"
                                   "or delete it.")
    p.add_argument("action", nargs="?", default="list",
                   choices=["list", "show", "export", "rename", "delete"],
                   help="what to do (default: list)")
    p.add_argument("id", nargs="?", type=int, help="conversation number (see the list)")
    p.add_argument("title", nargs="?", help="with rename: the new title")
    p.add_argument("--search", metavar="WORDS", help="with list: only conversations holding WORDS")
    p.add_argument("--corpus", metavar="DIR",
                   help="with list: only conversations about this corpus directory")
    p.add_argument("-n", type=_count, default=20, metavar="N",
                   help="with list: at most N conversations (default 20; 0 for all)")
    p.add_argument("-o", "--output", metavar="FILE", help="with export: where to write (- for stdout)")
    p.add_argument("--yes", action="store_true",
                   help="with delete: really delete; with export: replace an existing FILE")
    p.add_argument("--json", action="store_true", help="print JSON (list and show)")


def cmd_history(args) -> int:
    from .conversations import ChatStore
    from .settings import Settings

    settings = Settings.from_env()
    store = ChatStore(settings.resolved_data_dir)
    try:
        return _run(store, args, settings)
    except sqlite3.Error as exc:
        raise SanadError(f"The saved conversations in {store.path} cannot be read ({exc}); "
                         "move that file away to start afresh.") from None
    finally:
        store.close()


# Which options each action reads; any other given is refused, not silently ignored.
_READS = {"list": {"search", "corpus", "n", "json"}, "show": {"id", "json"},
          "export": {"id", "output", "yes"}, "rename": {"id", "title"},
          "delete": {"id", "yes"}}
_SPELLED = {"search": "--search", "corpus": "--corpus", "n": "-n", "json": "--json",
            "output": "-o", "yes": "--yes", "id": "a conversation number", "title": "a title"}
_DEFAULTS = {"n": 20}


def _check_options(args) -> None:
    given = [name for name in _SPELLED
             if getattr(args, name, None) not in (None, False, _DEFAULTS.get(name))]
    extra = [name for name in given if name not in _READS[args.action]]
    if extra:
        what = ", ".join(_SPELLED[name] for name in extra)
        raise SanadError(f"`sanad history {args.action}` does not take {what}; "
                         "`sanad history --help` says what each action takes.")


def _run(store, args, settings) -> int:
    _check_options(args)
    if args.action == "list":
        return _list(store, args)
    if args.id is None:
        raise SanadError(f"Give the conversation's number: sanad history {args.action} ID "
                         "(`sanad history` lists them).")
    conversation = store.get(args.id) if store.path.exists() else None  # reads create none
    if conversation is None:
        raise SanadError(f"There is no saved conversation #{args.id} in "
                         f"{store.path}; `sanad history` lists them.")
    return ACTIONS[args.action](store, conversation, args, settings)


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def _list(store, args) -> int:
    from .conversations import corpus_key

    corpus = corpus_key(args.corpus) if args.corpus else None
    if not store.path.exists():
        found = []
    elif args.search:
        found = store.search(args.search, corpus)
    else:
        found = store.conversations(corpus)
    found = [c for c in found if c.messages]
    if args.n > 0:
        found = found[:args.n]
    if args.json:
        print(json.dumps([{"id": c.id, "title": c.title, "corpus": c.corpus,
                           "created": _when(c.created), "updated": _when(c.updated),
                           "questions": c.messages} for c in found],
                         ensure_ascii=False, indent=2))
        return 0
    if not found:
        what = f" holding “{args.search}”" if args.search else ""
        print(f"No saved conversation{what}.", file=sys.stderr)
        return 0
    for c in found:
        plural = "" if c.messages == 1 else "s"
        print(f"#{c.id:<4} {_when(c.updated)}  {c.messages:>3} question{plural:<1}  {c.title}")
    return 0


def _show(store, conversation, args, settings) -> int:
    from .cli import print_answer

    answers = store.answers(conversation.id)
    if args.json:
        print(json.dumps({"id": conversation.id, "title": conversation.title,
                          "corpus": conversation.corpus, "created": _when(conversation.created),
                          "updated": _when(conversation.updated),
                          "answers": [a.to_dict() for a in answers]},
                         ensure_ascii=False, indent=2))
        return 0
    print(f"# {conversation.title}  (#{conversation.id}, {_when(conversation.updated)}, "
          f"corpus {conversation.corpus})")
    for number, answer in enumerate(answers, 1):
        print(f"\n## {number}. {answer.question}")
        print_answer(answer)
    return 0


def _export(store, conversation, args, settings) -> int:
    from .conversations import conversation_markdown, export_path

    text = conversation_markdown(conversation.title, store.answers(conversation.id),
                                 conversation.corpus)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    path = Path(args.output) if args.output else export_path(settings.resolved_export_dir,
                                                             conversation.id)
    if path.exists() and not args.yes:
        raise SanadError(f"{path} exists already; add --yes to replace it, or choose another "
                         "file with -o.")
    if path.is_dir():
        raise SanadError(f"{path} is a folder; give a file name with -o.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SanadError(f"The conversation could not be exported to {path}: {exc}.") from exc
    print(f"Exported conversation #{conversation.id} to {path.resolve()}.")
    return 0


def _rename(store, conversation, args, settings) -> int:
    try:
        title = store.rename(conversation.id, args.title or "")
    except ValueError as exc:
        raise SanadError(f"{exc} Usage: sanad history rename ID \"new title\".") from exc
    print(f"Conversation #{conversation.id} is now “{title}”.")
    return 0


def _delete(store, conversation, args, settings) -> int:
    if not args.yes:
        raise SanadError(f"Deleting conversation #{conversation.id} (“{conversation.title}”) "
                         "cannot be undone; add --yes to delete it.")
    holder = store.holder(conversation.id)
    if holder is not None:
        raise SanadError(f"Conversation #{conversation.id} is open in a running chat (process "
                         f"{holder}); close that chat, or start a new conversation there "
                         "(ctrl+n), then delete it.")
    store.delete(conversation.id)
    print(f"Deleted conversation #{conversation.id}.")
    return 0


ACTIONS = {"show": _show, "export": _export, "rename": _rename, "delete": _delete}
