"""A conversation as a Markdown file: questions, answers, and every citation with its quote.

Text is written exactly as it was stored (logical order, unshaped), so it reads correctly in
any editor or browser.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Sequence

from rag.types import Answer, Citation


def citation_line(citation: Citation) -> str:
    where = " — ".join(x for x in (citation.outlet, citation.title) if x)
    parts = [f"[{citation.marker}]"]
    if where:
        parts.append(where)
    parts.append(f"`{citation.source}`")
    if citation.date:
        parts.append(citation.date)
    head = ", ".join(parts[1:])
    quote = " ".join(citation.quote.split())
    flag = "" if citation.verified else " *(unverified: the quote was not found in the file)*"
    return f"{parts[0]} {head}, characters {citation.start}–{citation.end}{flag}\n  > {quote}"


def conversation_markdown(title: str, answers: Sequence[Answer], corpus: str = "",
                          when: datetime | None = None) -> str:
    when = when or datetime.now()
    out = [f"# {title}", ""]
    meta = f"Exported from sanad on {when:%Y-%m-%d %H:%M}"
    if corpus:
        meta += f" · corpus `{corpus}`"
    out += [f"_{meta}._", ""]
    for number, answer in enumerate(answers, 1):
        out += [f"## {number}. {answer.question}", ""]
        if answer.rewritten:
            out += [f"_Searched: {answer.query}_", ""]
        out += [answer.text.strip(), ""]
        for note in answer.notes:
            out += [f"> Note: {note}", ""]
        if answer.citations:
            out += ["**Sources**", ""]
            out += [f"- {citation_line(c)}" for c in answer.citations]
            out.append("")
        if answer.dropped_markers:
            markers = ", ".join(f"[{m}]" for m in answer.dropped_markers)
            out += [f"_Markers without a source, removed: {markers}._", ""]
    return "\n".join(out).rstrip() + "\n"


def export_path(directory: Path, conversation_id: int | None, when: datetime | None = None) -> Path:
    when = when or datetime.now()
    name = f"sanad-{when:%Y%m%d-%H%M%S}" + (f"-{conversation_id}" if conversation_id else "")
    return Path(directory) / f"{name}.md"
