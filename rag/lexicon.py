"""English words to Arabic stems, by a bilingual dictionary: an English question's stems for
BM25 and for the answerer's coverage features, which otherwise see only its names and numbers.

The dictionary is FreeDict's English-Arabic (Arabeyes' word list, GPL-2+), in the dictd
format that Debian's `dict-freedict-eng-ara` installs under /usr/share/dictd/. sanad reads it
where it lies and ships none of it: `SANAD_DICTIONARY` names the `.index` file (or `off`);
without one, English questions are answered by meaning alone, as before. It is read on the
first English question only: headwords (87k) at once, entries as they are asked for.
"""

from __future__ import annotations

import bisect
import gzip
import re
import threading
from functools import lru_cache
from pathlib import Path

from .analysis import tokenize
from .errors import ConfigError

DEFAULT_PATHS = (Path("/usr/share/dictd/freedict-eng-ara.index"),)
INSTALL = "apt-get install dict-freedict-eng-ara, or SANAD_DICTIONARY=/path/to/freedict-eng-ara.index"
MAX_SENSES = 3  # Arabic stems kept per entry: the first words of its first senses
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
# Words that carry the question's form, not its content.
STOPWORDS = frozenset("""a an the of in on at to for from by with about as is are was were be been
being do does did done what which who whom whose when where why how many much and or not no
this that these those it its their them his her hers they he she we us you your i me my our
into than then there here has have had will would can could should may might must shall
according also any some each other such so if but after before during between under over
again very most more one ones""".split())
# After "how" these ask for a measure ("how long": كم من الوقت), they are not its content: "How
# long should I boil an egg?" met "منذ فترة طويلة" through "long" -> طويل.
HOW_ADJECTIVES = frozenset("long old far often soon late early big large tall high deep wide"
                           .split())


def _b64(text: str) -> int:
    value = 0
    for c in text:
        value = value * 64 + _B64[c]
    return value


@lru_cache(maxsize=1)
def _english():
    import Stemmer  # PyStemmer, already a dependency (Snowball)

    return Stemmer.Stemmer("english")


class Lexicon:
    """A dictd dictionary (`.index` beside `.dict.dz` or `.dict`), English headwords."""

    def __init__(self, index: Path):
        self.index = Path(index)
        body = self.index.with_suffix(".dict.dz")
        self.body = body if body.exists() else self.index.with_suffix(".dict")
        self._heads: list[str] | None = None  # lower case, sorted, one per index line
        self._lines: list[str] = []  # the index's lines in the order of `_heads`
        self._text: bytes = b""
        self._seen: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}
        self._lock = threading.Lock()

    @classmethod
    def find(cls, setting: str | None) -> "Lexicon | None":
        """The dictionary that `setting` names: a path, "off", or "auto"/None (the first of
        DEFAULT_PATHS that exists)."""
        if setting and setting.strip().lower() == "off":
            return None
        if setting and setting.strip().lower() != "auto":
            found = cls(Path(setting).expanduser())
            for path in (found.index, found.body):
                if not path.is_file():
                    raise ConfigError(f"SANAD_DICTIONARY names {setting}, but {path} is not a "
                                      "file: name a dictd .index file with its .dict.dz (or "
                                      ".dict) beside it, or set it to off.")
            return found
        return next((cls(p) for p in DEFAULT_PATHS if p.exists()), None)

    def _unreadable(self, exc: Exception) -> ConfigError:
        return ConfigError(f"The dictionary {self.index} could not be read ({exc}); set "
                           "SANAD_DICTIONARY to a FreeDict .index file, or to off.")

    def _load(self) -> list[str]:
        """The headwords (lower case), sorted, one per line of the index (a word with two
        entries has two), with `_lines` the index's lines in the same order; nothing is
        stemmed or decoded until a question asks for it (0.05 s: the lines are sorted, not
        read into a dict one by one, which took 0.13 s of a cold English question)."""
        try:
            return self._read()
        except (OSError, ValueError, EOFError) as exc:  # gzip's BadGzipFile is an OSError
            raise self._unreadable(exc) from None

    def _read(self) -> list[str]:
        with self._lock:
            if self._heads is None:
                # dictd's own 00-database-* lines stay: no English word sorts among them
                lines = self.index.read_text(encoding="utf-8").splitlines()
                heads = [line.partition("\t")[0].lower() for line in lines]
                order = sorted(range(len(heads)), key=heads.__getitem__)  # stable: file order
                raw = self.body.read_bytes()
                self._text = gzip.decompress(raw) if self.body.suffix == ".dz" else raw
                self._lines = [lines[i] for i in order]
                self._heads = [heads[i] for i in order]
        return self._heads

    def _known(self, words: tuple[str, ...], stems: tuple[str, ...]) -> list[str]:
        """The entries for these words, else those of the headwords that stem as they do
        (visited: visit), found among the headwords that begin with the first stem."""
        heads = self._load()
        exact = self._entries_at(" ".join(words))
        if exact:
            return exact
        stem, found, seen = _english().stemWords, [], None
        at = bisect.bisect_left(heads, stems[0])
        while at < len(heads) and heads[at].startswith(stems[0]):
            head = heads[at]
            if head != seen:  # a word's lines are together: its entries are taken at once
                seen, parts = head, head.split()
                if len(parts) == len(stems) and tuple(stem(parts)) == stems:
                    found += self._entries_at(head)
            at += 1
        return found

    def _entries_at(self, head: str) -> list[str]:
        """The "offset<TAB>length" of every entry of this headword (lower case)."""
        heads = self._heads or []
        lo = bisect.bisect_left(heads, head)
        hi = bisect.bisect_right(heads, head, lo)
        return [at for line in self._lines[lo:hi] if (at := line.partition("\t")[2])]

    def _senses(self, words: tuple[str, ...], stems: tuple[str, ...]) -> tuple[str, ...]:
        """Arabic stems of the entries `_known` finds for these words (kept per dictionary:
        a cache on the class would keep every dictionary ever opened alive)."""
        key = (words, stems)
        if key not in self._seen:
            self._seen[key] = self._look_up(words, stems)
        return self._seen[key]

    def _look_up(self, words: tuple[str, ...], stems: tuple[str, ...]) -> tuple[str, ...]:
        out: list[str] = []
        for at in self._known(words, stems):
            try:
                offset, length = (_b64(part) for part in at.split("\t")[:2])
            except (KeyError, ValueError) as exc:  # not dictd's base64
                raise self._unreadable(exc) from None
            entry = self._text[offset:offset + length].decode("utf-8", "replace")
            for line in entry.split("\n")[1:]:  # the first line is the headword
                line = re.sub(r"^\s*\d+\.\s*", "", line)
                out.extend(tokenize(line)[:MAX_SENSES])
        return tuple(dict.fromkeys(out))

    def translate(self, text: str) -> list[tuple[str, ...]]:
        """One group of Arabic stems per English content word (or two-word headword, such as
        "prime minister") that the dictionary knows, in the text's order."""
        ws = [w.lower() for w in re.findall(r"[A-Za-z]+", text)]
        stems = _english().stemWords(ws)
        groups, i = [], 0
        while i < len(ws):
            pair, pair_stems = tuple(ws[i:i + 2]), tuple(stems[i:i + 2])
            group = self._senses(pair, pair_stems) if len(pair) == 2 else ()
            if group:
                i += 2
            elif ws[i] in STOPWORDS or (i and ws[i - 1] == "how" and ws[i] in HOW_ADJECTIVES):
                i += 1
                continue
            else:
                group, i = self._senses(pair[:1], pair_stems[:1]), i + 1
            if group:
                groups.append(group)
        return groups
