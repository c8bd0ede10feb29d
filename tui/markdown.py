"""Answers are Markdown; this turns them into logical paragraphs that `rtl.layout` can lay out.

Textual's own Markdown widget wraps inside Textual, after any reordering we could do, which
puts an Arabic paragraph's lines in the wrong order. So we parse (markdown-it, which Textual
already depends on) into `Block`s of styled logical text and do the layout ourselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from rich.style import Style
from rich.text import Text

MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Block:
    """One paragraph of logical text; `prefix` starts its first line (bullet, number, bar)."""

    text: Text
    prefix: str = ""
    kind: str = "p"  # p, h, li, quote, code, hr, note
    rtl: bool | None = None  # None: decided from the text


MarkerStyle = Callable[[int], Style | str | None]


def _inline(children, base: Style | None = None) -> Text:
    out = Text()
    stack: list[str] = []
    for child in children or []:
        kind = child.type
        style = " ".join(stack) or None
        if kind == "text" or kind == "html_inline":
            out.append(child.content, style)
        elif kind in ("softbreak", "hardbreak"):
            out.append(" ")
        elif kind == "code_inline":
            out.append(child.content, "bold cyan")
        elif kind == "strong_open":
            stack.append("bold")
        elif kind == "em_open":
            stack.append("italic")
        elif kind == "link_open":
            stack.append("underline")
        elif kind in ("strong_close", "em_close", "link_close") and stack:
            stack.pop()
        elif kind == "image":
            out.append(child.content or "", style)
    if base is not None:
        out.stylize(base)
    return out


def style_markers(text: Text, marker_style: MarkerStyle | None) -> Text:
    if marker_style is None:
        return text
    for match in MARKER.finditer(text.plain):
        style = marker_style(int(match.group(1)))
        if style:
            text.stylize(style, match.start(), match.end())
    return text


def parse(markdown: str, marker_style: MarkerStyle | None = None) -> list[Block]:
    """Blocks of an answer, with `[n]` markers styled by `marker_style(n)`."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(markdown)
    blocks: list[Block] = []
    lists: list[list] = []  # stack of [ordered, next number]
    quote = 0
    item_prefix: str | None = None
    heading = False
    for token in tokens:
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrs.get("start", 1) or 1) if token.attrs else 1
            lists.append([kind == "ordered_list_open", start])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            ordered, number = lists[-1]
            depth = "  " * (len(lists) - 1)
            item_prefix = f"{depth}{number}. " if ordered else f"{depth}• "
            lists[-1][1] += 1
        elif kind == "blockquote_open":
            quote += 1
        elif kind == "blockquote_close":
            quote -= 1
        elif kind == "heading_open":
            heading = True
        elif kind == "heading_close":
            heading = False
        elif kind == "inline":
            text = style_markers(_inline(token.children), marker_style)
            if heading:
                text.stylize("bold")
            if item_prefix is not None:
                prefix, item_prefix = item_prefix, None
            elif lists:
                prefix = "  " * len(lists)
            else:
                prefix = ""
            if quote:
                prefix = "│ " * quote + prefix
                text.stylize("italic")
            blocks.append(Block(text, prefix, "h" if heading else "li" if lists else
                                "quote" if quote else "p"))
        elif kind in ("fence", "code_block"):
            for line in token.content.rstrip("\n").split("\n"):
                blocks.append(Block(Text(line, "cyan"), "  ", "code", rtl=False))
        elif kind == "hr":
            blocks.append(Block(Text("───"), "", "hr", rtl=False))
    return blocks


def blank_between(previous: Block, block: Block) -> bool:
    """One blank line between paragraphs, none inside a list or a code block."""
    return not (previous.kind == block.kind and block.kind in ("li", "code"))
