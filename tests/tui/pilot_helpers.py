"""Small helpers the chat's Pilot tests share (conftest.py holds the fixtures; test modules
cannot import it, so they import these)."""

from __future__ import annotations

import asyncio

QUESTION = "ما الدولة التي انضمت إلى الاتفاقات الإبراهيمية؟"


def run(coroutine):
    return asyncio.run(coroutine)


def notifications(app) -> list[str]:
    return [n.message for n in app._notifications]


def option_text(options, index: int, width: int = 60) -> str:
    """The text of an option of an OptionList, as plain text `width` cells wide."""
    prompt = options.get_option_at_index(index).prompt
    return prompt.plain(width) if hasattr(prompt, "plain") else str(prompt)


def option_texts(options, width: int = 80) -> list[str]:
    return [option_text(options, i, width) for i in range(options.option_count)]
