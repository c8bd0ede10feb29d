"""Conversations kept across runs: SQLite in the data directory.

An answer is stored as `Answer.to_dict()` JSON, which carries every citation's file name,
character span and quoted words: enough to reopen the source viewer later, even when the
corpus file has changed since (the viewer then finds the quote again, or says it cannot).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, fields
from pathlib import Path

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
"""


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
                  dropped_markers=list(data.get("dropped_markers", [])))


class ChatStore:
    """Conversations and their answers. Used from the UI thread only."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / DB_NAME
        self._db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def create(self, title: str, corpus: str) -> int:
        now = time.time()
        with self.db:
            cursor = self.db.execute(
                "INSERT INTO conversations (title, corpus, created, updated) VALUES (?, ?, ?, ?)",
                (title.strip()[:200] or "conversation", corpus, now, now))
        return int(cursor.lastrowid)

    def add(self, conversation_id: int, answer: Answer) -> None:
        now = time.time()
        with self.db:
            (position,) = self.db.execute(
                "SELECT COUNT(*) FROM messages WHERE conversation_id = ?",
                (conversation_id,)).fetchone()
            self.db.execute(
                "INSERT INTO messages (conversation_id, position, question, answer, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (conversation_id, position, answer.question,
                 json.dumps(answer.to_dict(), ensure_ascii=False), now))
            self.db.execute("UPDATE conversations SET updated = ? WHERE id = ?",
                            (now, conversation_id))

    def answers(self, conversation_id: int) -> list[Answer]:
        rows = self.db.execute(
            "SELECT answer FROM messages WHERE conversation_id = ? ORDER BY position",
            (conversation_id,)).fetchall()
        return [answer_from_dict(json.loads(row[0])) for row in rows]

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

    def delete(self, conversation_id: int) -> None:
        with self.db:
            self.db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
