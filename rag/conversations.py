"""Saved conversations: SQLite in the data directory, shared by the chat and `sanad history`.

An answer is stored as `Answer.to_dict()` JSON, which carries every citation's file name,
character span and quoted words: enough to reopen the source viewer later, even when the
corpus file has changed since (the viewer then finds the quote again, or says it cannot).
A conversation exports as Markdown in logical order, unshaped, so it reads correctly in any
editor or browser.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import unicodedata
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Sequence

from rag.types import Answer, Citation, Hit, Passage

SCHEMA_VERSION = 1
DB_NAME = "chat.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    corpus TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, position);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS holders (
    conversation_id INTEGER PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    since REAL NOT NULL
);
"""
HOLD_ELSEWHERE_S = 24 * 3600  # a chat on another machine holds a conversation this long at most


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    corpus: str
    created: float
    updated: float
    messages: int


def _only(cls, data: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def answer_from_dict(data: dict) -> Answer:
    """Rebuild an `Answer` from `Answer.to_dict()` (what the JSON output and this store hold)."""
    citations = [Citation(**_only(Citation, c)) for c in data.get("citations", [])]
    hits = []
    for h in data.get("passages", []):
        passage = Passage(**_only(Passage, h))
        hits.append(Hit(passage, float(h.get("score", 0.0)), h.get("bm25_rank"),
                        h.get("vector_rank")))
    return Answer(text=data.get("text", ""), citations=citations, passages=hits,
                  query=data.get("query") or data.get("question", ""),
                  question=data.get("question", ""), answered=bool(data.get("answered", True)),
                  mode=data.get("mode", "offline"), model=data.get("model"),
                  timings=dict(data.get("timings_ms", {})), notes=list(data.get("notes", [])),
                  dropped_markers=list(data.get("dropped_markers", [])),
                  unsupported=bool(data.get("unsupported", False)))


UNREADABLE = "(This answer could not be read back from the saved conversation.)"


def _text(stored: str) -> str:
    """An answer's text from its stored JSON; "" when the row cannot be read."""
    try:
        data = json.loads(stored)
    except ValueError:
        return ""
    return data.get("text", "") if isinstance(data, dict) else ""


class ConversationGone(LookupError):
    """The conversation a chat was writing to no longer exists."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ChatStore:
    """Conversations and their answers. Used from the UI thread only; several chats (processes)
    may share the file: positions are assigned inside the write, and a conversation open in
    one chat is held (`claim`) so that a second chat does not interleave its turns."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / DB_NAME
        self._db: sqlite3.Connection | None = None
        self._held: set[int] = set()

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=10)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            for conversation_id in list(self._held):
                self.release(conversation_id)
            self._db.close()
            self._db = None

    def claim(self, conversation_id: int) -> bool:
        """Hold a conversation for this chat; False when another running chat holds it."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            if self.holder(conversation_id) is not None:
                return False
            self.db.execute("INSERT OR REPLACE INTO holders VALUES (?, ?, ?, ?)",
                            (conversation_id, os.getpid(), socket.gethostname(), time.time()))
        self._held.add(conversation_id)
        return True

    def release(self, conversation_id: int) -> None:
        with self.db:
            self.db.execute("DELETE FROM holders WHERE conversation_id = ? AND pid = ?",
                            (conversation_id, os.getpid()))
        self._held.discard(conversation_id)

    def holder(self, conversation_id: int) -> int | None:
        """The process id of another running chat that holds the conversation, or None."""
        row = self.db.execute("SELECT pid, host, since FROM holders WHERE conversation_id = ?",
                              (conversation_id,)).fetchone()
        if row is None:
            return None
        pid, host, since = row
        here = host == socket.gethostname()
        if here and pid == os.getpid():
            return None  # this chat
        held = _alive(pid) if here else time.time() - since < HOLD_ELSEWHERE_S
        return pid if held else None

    def create(self, title: str, corpus: str) -> int:
        """A new conversation, held by this chat. Numbers are never given twice, even after
        a delete: a chat still showing a deleted conversation must not write into a new one
        that took its number."""
        now = time.time()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            last = self.db.execute("SELECT MAX(value) FROM (SELECT MAX(id) AS value FROM "
                                   "conversations UNION ALL SELECT value FROM counters "
                                   "WHERE name = 'conversation')").fetchone()[0]
            conversation_id = int(last or 0) + 1
            self.db.execute(
                "INSERT INTO conversations (id, title, corpus, created, updated) "
                "VALUES (?, ?, ?, ?, ?)",
                (conversation_id, title.strip()[:200] or "conversation", corpus, now, now))
            self.db.execute("INSERT OR REPLACE INTO counters VALUES ('conversation', ?)",
                            (conversation_id,))
        self.claim(conversation_id)
        return conversation_id

    def add(self, conversation_id: int, answer: Answer) -> None:
        """Append a turn. Its position is computed by the INSERT itself, under SQLite's write
        lock: two chats adding at once get distinct positions. ConversationGone when the
        conversation was deleted (from another chat or `sanad history delete`)."""
        now = time.time()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            if self.db.execute("SELECT 1 FROM conversations WHERE id = ?",
                               (conversation_id,)).fetchone() is None:
                raise ConversationGone(f"Conversation #{conversation_id} was deleted.")
            self.db.execute(
                "INSERT INTO messages (conversation_id, position, question, answer, created) "
                "SELECT ?, COALESCE(MAX(position) + 1, 0), ?, ?, ? FROM messages "
                "WHERE conversation_id = ?",
                (conversation_id, answer.question,
                 json.dumps(answer.to_dict(), ensure_ascii=False), now, conversation_id))
            self.db.execute("UPDATE conversations SET updated = ? WHERE id = ?",
                            (now, conversation_id))

    def save(self, conversation_id: int | None, corpus: str, answers: Sequence[Answer]
             ) -> tuple[int, int | None]:
        """Save a chat's newest turn, `answers[-1]`, in its conversation (created with the
        first). When the conversation was deleted meanwhile (another chat, `sanad history
        delete`), what the chat shows is saved as a new one. Returns (the conversation's
        number, the deleted one's or None)."""
        gone = None
        if conversation_id is not None:
            try:
                self.add(conversation_id, answers[-1])
                return conversation_id, None
            except ConversationGone:
                gone = conversation_id
        saved = answers if gone is not None else answers[-1:]
        conversation_id = self.create(saved[0].question, corpus)
        for answer in saved:
            self.add(conversation_id, answer)
        return conversation_id, gone

    def answers(self, conversation_id: int) -> list[Answer]:
        """The conversation's turns in order; a turn whose stored answer cannot be read (a
        damaged row) is kept as its question with a note, so the rest still opens."""
        rows = self.db.execute(
            "SELECT question, answer FROM messages WHERE conversation_id = ? ORDER BY position",
            (conversation_id,)).fetchall()
        out = []
        for question, stored in rows:
            try:
                out.append(answer_from_dict(json.loads(stored)))
            except (ValueError, TypeError, AttributeError):
                out.append(Answer(text=UNREADABLE, citations=[], passages=[], query=question,
                                  question=question, answered=False))
        return out

    def conversations(self, corpus: str | None = None) -> list[Conversation]:
        query = ("SELECT c.id, c.title, c.corpus, c.created, c.updated, COUNT(m.id) "
                 "FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id ")
        args: tuple = ()
        if corpus is not None:
            query += "WHERE c.corpus = ? "
            args = (corpus,)
        query += "GROUP BY c.id ORDER BY c.updated DESC, c.id DESC"
        return [Conversation(*row) for row in self.db.execute(query, args).fetchall()]

    def get(self, conversation_id: int) -> Conversation | None:
        for conversation in self.conversations():
            if conversation.id == conversation_id:
                return conversation
        return None

    def latest(self, corpus: str | None = None) -> Conversation | None:
        found = [c for c in self.conversations(corpus) if c.messages]
        return found[0] if found else None

    def rename(self, conversation_id: int, title: str) -> str:
        """Give a conversation a new title (what lists show); returns it as stored."""
        # control characters (an escape sequence would colour or clear the terminal that
        # lists it) become spaces, as in a question
        title = " ".join("".join(" " if unicodedata.category(c) == "Cc" else c
                                 for c in title).split())[:200]
        if not title:
            raise ValueError("A conversation's title cannot be empty.")
        with self.db:
            self.db.execute("UPDATE conversations SET title = ? WHERE id = ?",
                            (title, conversation_id))
        return title

    def search(self, text: str, corpus: str | None = None) -> list[Conversation]:
        """Conversations whose title, questions or answers hold `text` (after Arabic
        normalisation: hamza forms, ta marbuta and harakat do not decide), newest first."""
        from .analysis import normalize

        needle, fold = normalize(text), normalize
        if not needle:  # only marks the normalisation drops ("_", "%", "?"): match them as typed
            needle, fold = text.strip().casefold(), str.casefold
        if not needle:
            return self.conversations(corpus)
        found = []
        for conversation in self.conversations(corpus):
            rows = self.db.execute("SELECT question, answer FROM messages WHERE conversation_id = ?",
                                   (conversation.id,)).fetchall()
            texts = [conversation.title] + [q for q, _ in rows] + [_text(a) for _, a in rows]
            if any(needle in fold(t) for t in texts):
                found.append(conversation)
        return found

    def drop_last(self, conversation_id: int) -> None:
        """Remove the conversation's last turn (its question is being edited and sent again,
        or its answer regenerated)."""
        with self.db:
            self.db.execute(
                "DELETE FROM messages WHERE id = (SELECT id FROM messages WHERE conversation_id = ? "
                "ORDER BY position DESC LIMIT 1)", (conversation_id,))

    def delete(self, conversation_id: int) -> None:
        with self.db:
            self.db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
            self.db.execute("DELETE FROM holders WHERE conversation_id = ?", (conversation_id,))
        self._held.discard(conversation_id)


# -- Markdown export ---------------------------------------------------------------------

def corpus_key(corpus_dir: Path | str) -> str:
    """Conversations belong to a corpus: its resolved path."""
    return str(Path(corpus_dir).resolve())


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
    flag = ("" if citation.verified else
            " *(unverified: the quote was not found in the file)*" if citation.quoted else
            " *(unverified: no words were quoted for it; its passage follows)*")
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
        out += [f"## {number}. {answer.question}", "", answer_markdown(answer), ""]
    return "\n".join(out).rstrip() + "\n"


def answer_markdown(answer: Answer) -> str:
    """One answer with its notes and numbered sources (what the chat copies, and exports)."""
    out = []
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
    return "\n".join(out).rstrip()


def export_path(directory: Path, conversation_id: int | None, when: datetime | None = None) -> Path:
    when = when or datetime.now()
    name = f"sanad-{when:%Y%m%d-%H%M%S}" + (f"-{conversation_id}" if conversation_id else "")
    return Path(directory) / f"{name}.md"
