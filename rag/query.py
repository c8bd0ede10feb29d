"""A question, analysed once: built once per ask and handed to retrieval and answering.

Before, the question's text was tokenised six times on its way through follow-up rewriting,
retrieval, the answerer and the vector; now each stage reads what it needs from one `Query`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .analysis import question_kind, reply_language, scorer_language, tokenize


@dataclass
class Query:
    """`question` is what the person typed; `text` what is searched (the question plus words
    carried from the conversation, for a follow-up). Tokens are `analysis.tokenize` stems."""

    question: str
    text: str
    tokens: list[str]
    typed: frozenset[str]  # the tokens of the question as typed
    kind: str | None
    language: str  # "ar" or "en": which scorer reads it
    # Of an English question: one group of Arabic stems per word the English-Arabic
    # dictionary knows (`lexicon`); its stems are also among `tokens`, for BM25, and so are
    # those of the words carried into `text`, which count as context there.
    translations: tuple[tuple[str, ...], ...] = ()
    embeddings: object = field(default=None, repr=False)
    _vector: np.ndarray | None = field(default=None, repr=False)
    _meaning: np.ndarray | None = field(default=None, repr=False)
    reply: str = ""  # the language a refusal is written in (analysis.reply_language)

    def __post_init__(self) -> None:
        self.reply = self.reply or self.language

    @classmethod
    def build(cls, question: str, text: str | None = None, embeddings=None,
              lexicon=None) -> "Query":
        text = question if text is None else text
        reply = reply_language(question)
        lang = scorer_language(reply)  # `language(question)`, without reading it again
        # The dictionary is English-Arabic: a French or Spanish word spelt like an English
        # one ("la", "est", "de") would be looked up as that English word.
        translate = lexicon is not None and reply == "en"
        groups = tuple(lexicon.translate(question)) if translate else ()
        typed = tokenize(question) + [s for g in groups for s in g]
        tokens = typed
        if text != question:  # words carried from the conversation, translated alike
            carried = lexicon.translate(text) if translate else []
            tokens = tokenize(text) + [s for g in carried for s in g]
        return cls(question=question, text=text, tokens=tokens, typed=frozenset(typed),
                   kind=question_kind(question), language=lang, translations=groups,
                   embeddings=embeddings, reply=reply)

    @property
    def carried(self) -> bool:
        """The search text adds words from the conversation."""
        return self.text != self.question

    @property
    def context_tokens(self) -> list[str]:
        return [t for t in self.tokens if t not in self.typed]

    @property
    def vector(self) -> np.ndarray | None:
        """The search text's unit vector (`query: ` prefix for e5), embedded on first use only."""
        if self._vector is None and self.embeddings is not None:
            self._vector = self.embeddings.query_vector(self.text)
        return self._vector

    @property
    def meaning(self) -> np.ndarray | None:
        """The search text's vector by the answerer's second model (`use`), for the scorer
        that reads it; encoded on first use only (None if the embeddings have no such model)."""
        if self._meaning is None:
            own = getattr(self.embeddings, "question_meaning", None)
            if own is not None:
                self._meaning = own(self.text)
        return self._meaning
