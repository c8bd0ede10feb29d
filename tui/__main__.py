"""`python -m tui [--new] [--rtl auto|on|off] [--corpus DIR]`: the chat, without the CLI."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui", description="sanad chat")
    parser.add_argument("--new", action="store_true", help="start a new conversation")
    parser.add_argument("--rtl", choices=("auto", "on", "off"), default=None,
                        help="RTL display: shape and reorder Arabic in the app (on), "
                             "leave it to the terminal (off), or decide (auto)")
    parser.add_argument("--corpus", default=None, help="the corpus directory")
    args = parser.parse_args(argv)

    from rag.errors import SanadError
    from rag.settings import Settings

    try:
        settings = Settings.from_env(corpus_dir=args.corpus)
    except SanadError as exc:
        print(f"sanad: {exc}", file=sys.stderr)
        return 2
    from .app import run

    return run(settings, new=args.new, rtl=args.rtl)


if __name__ == "__main__":
    sys.exit(main())
