"""Corpus loading: bytes to `Document`, with best-effort title, date, outlet and boilerplate.

Files are decoded from bytes here (no newline translation, no normalisation) so that every
span handed out later indexes the exact text a person sees when opening the file.
"""

from __future__ import annotations

import datetime as _dt
import gc
import hashlib
import os
import re
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from .analysis import normalize
from .errors import CorpusError
from .types import Document

SUFFIXES = (".txt", ".md")
TITLE_MAX = 200
HEAD_LINES = 10  # metadata is looked for in the first non-empty lines only

KNOWN_OUTLETS = ("رويترز", "أكسيوس", "ynet", "ميدل إيست آي", "الجزيرة", "بي بي سي", "فرانس برس",
                 "سكاي نيوز", "العربية", "الحدث", "الأناضول", "أسوشيتد برس", "Reuters", "Axios",
                 "BBC")

_LEVANTINE = ("كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب", "أيلول",
              "تشرين الأول", "تشرين الثاني", "كانون الأول")
_EGYPTIAN = ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر",
             "أكتوبر", "نوفمبر", "ديسمبر")
_MONTHS = {normalize(name): i % 12 + 1 for i, name in enumerate(_LEVANTINE + _EGYPTIAN)}
_MONTHS.update({normalize("يونيه"): 6, normalize("يوليه"): 7})
_MONTH_RE = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))
_ARABIC_DATE = re.compile(rf"(?<!\d)(\d{{1,2}}) ({_MONTH_RE})(?: (?:{_MONTH_RE}))? (\d{{4}})(?!\d)")
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?!\d)")
_TIME = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)")
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)
_DATE_PREFIX = re.compile(r"^\s*date\s+\d{4}-\d{1,2}-\d{1,2}\s*", re.IGNORECASE)

_DATE_WORDS = {normalize(w) for w in "السبت الأحد الاثنين الإثنين الثلاثاء الأربعاء الخميس الجمعة"
               .split()} | {"am", "pm", "ص", "م", "date"} | {w for m in _MONTHS for w in m.split()}

# Boilerplate is dropped only on explicit evidence: a real sentence must never be lost, so
# verbs that are also news words (اشترك "took part", سجل "recorded") need a channel word too.
_PROMPT = re.compile(
    r"^\W*(?:(?:قم بالتسجيل|اشتركوا|تابعونا|اشترك الآن|سجل الآن|شاركها|شاركونا|subscribe|sign up"
    r"|follow us)(?!\w)"
    r"|(?:شارك(?:\s+(?:المقال|الخبر|القصة))?|share(?:\s+(?:this|on|via)(?!\w).*)?)\W*$"
    r"|(?:اشترك|اشتركي|سجل|تابعوا)(?!\w)(?!.*[.!?؟]\W*$).*(?:خدمة|واتساب|تلغرام|تيليغرام|قناتنا"
    r"|يوتيوب|فيسبوك|النشرة|نشرة|البريد))", re.IGNORECASE)
_NEWSLETTER = re.compile(r"نشر(?:ة|ات)\s.*ال[إا]خبارية|النشرة (?:البريدية|ال[إا]خبارية)|newsletter",
                         re.IGNORECASE)
_COPYRIGHT = re.compile(r"جميع الحقوق محفوظة|©|\bcopyright\b|all rights reserved", re.IGNORECASE)
_BLANK = re.compile(r"[\s\u200b-\u200f\ufeff]+")
_SENTENCE_END = re.compile(r"[.!?؟]\W*$")
_DATELINE = re.compile(r"^(?:\S+\s+){0,3}\(([^()\d\n]{2,30})\)\s*[-–—:]")
_LATIN_LINE = re.compile(r"^(?=.{2,25}$)[A-Za-z][A-Za-z0-9.\-]*(?: [A-Za-z0-9.\-]+){0,2}$")


class _BinaryData(UnicodeError):
    """Decoding failed because the bytes are not text at all."""


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _controls(text: str) -> int:
    """C0/C1 control characters other than line and tab breaks: the mark of binary data."""
    return sum(1 for c in text if (c < " " and c not in "\t\n\r\f\v") or "\x7f" <= c <= "\x9f")


def _utf16_order(data: bytes) -> str | None:
    """'le' or 'be' when the NUL bytes sit on one parity, as in UTF-16 Arabic/ASCII text."""
    if len(data) < 2 or len(data) % 2 or b"\0" not in data:
        return None
    high_bytes = {0x00, 0x06, 0x20, 0xFB, 0xFC, 0xFD, 0xFE}
    for order, hi, lo in (("le", data[1::2], data[0::2]), ("be", data[0::2], data[1::2])):
        if lo.count(0) <= len(lo) // 100 and sum(b in high_bytes for b in hi) >= 0.9 * len(hi):
            return order
    return None


def _plausible_arabic(text: str) -> bool:
    """Mostly Arabic letters, whitespace, digits and punctuation: cp1256 decodes anything."""
    letters = [c for c in text if c.isalpha()]
    arabic = sum(1 for c in letters if "\u0600" <= c <= "\u06ff")
    ok = sum(1 for c in text if "\u0600" <= c <= "\u06ff" or c.isspace() or c.isdigit()
             or (c.isascii() and c.isprintable()) or c in "«»–—“”‘’…")
    return bool(letters) and arabic >= 0.6 * len(letters) and ok >= 0.95 * len(text)


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Return (text, encoding_name); UnicodeError (or a subclass) when it is not sensible text."""
    if data.startswith(b"\xef\xbb\xbf"):
        text, encoding = data[3:].decode("utf-8"), "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16-le" if data[0] == 0xFF else "utf-16-be"
        text = data[2:].decode(encoding)
    elif order := _utf16_order(data):
        text, encoding = data.decode(f"utf-16-{order}"), f"utf-16-{order}"
    elif b"\0" in data:
        raise _BinaryData("NUL bytes outside a UTF-16 pattern")
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = data.decode("cp1256"), "cp1256"
            if not _plausible_arabic(text) and _controls(text) <= len(text) // 100:
                raise UnicodeError("neither UTF-8 nor plausible Windows-1256 Arabic") from None
    if _controls(text) > len(text) // 100:
        raise _BinaryData("control characters")
    return text, encoding


def _lines(text: str) -> list[tuple[int, int, str]]:
    """(start, end, line) for each line; the span leaves out the line break."""
    out, pos = [], 0
    for raw in text.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        out.append((pos, pos + len(line), line))
        pos += len(raw) + 1
    return out


def _is_date_line(line: str) -> bool:
    """Only a date or time plus weekday/month names: a page header or a timestamp."""
    digits = line.translate(_DIGITS)
    norm = normalize(line)
    if not (_ISO_DATE.search(digits) or _ARABIC_DATE.search(norm) or _TIME.search(digits)):
        return False
    return all(w.isdigit() or w in _DATE_WORDS for w in norm.split())


def _is_boilerplate(line: str) -> bool:
    words = len(line.split())
    return bool(line.upper() == "LOGO" or _is_date_line(line)
                or (words <= 12 and _PROMPT.search(line))
                or (words <= 20 and _COPYRIGHT.search(line))
                or (words <= 20 and not _SENTENCE_END.search(line) and _NEWSLETTER.search(line)))


def _boilerplate(lines: list[tuple[int, int, str]]) -> tuple[tuple[int, int], ...]:
    """Lines matching an explicit pattern, plus exact repeats of an earlier line (a title twice)."""
    seen: set[str] = set()
    spans = []
    for start, end, line in filter(lambda t: t[2].strip(), lines):
        if line.strip() in seen or _is_boilerplate(line.strip()):
            spans.append((start, end))
        seen.add(line.strip())
    return tuple(spans)


def _date(head: list[str]) -> str | None:
    """ISO timestamps win over Arabic dates: a weekday header is often the page's 'today'."""
    found = []
    for line in head:
        for m in _ISO_DATE.finditer(line.translate(_DIGITS)):
            found.append((0, m.group(1), m.group(2), m.group(3)))
        for m in _ARABIC_DATE.finditer(normalize(line)):
            found.append((1, m.group(3), _MONTHS[m.group(2)], m.group(1)))
    for _, year, month, day in sorted(found, key=lambda f: f[0]):
        try:
            return _dt.date(int(year), int(month), int(day)).isoformat()
        except ValueError:
            continue
    return None


def _known_outlet(line: str) -> str | None:
    padded = f" {normalize(line)} "
    hits = [(padded.find(f" {normalize(o)} "), o) for o in KNOWN_OUTLETS]
    hits = [h for h in hits if h[0] >= 0]
    return min(hits)[1] if hits else None


def _copyright_holder(line: str) -> str | None:
    s = re.sub(r"جميع الحقوق محفوظة|all rights reserved|copyright|©|\(c\)|\b(?:19|20)\d\d\b", " ",
               line, flags=re.IGNORECASE).strip(" \t.-–|:،,")
    s = re.sub(r"^لـ\s*", "", s)
    s = re.sub(r"^لل(?=\w)", "ال", s)
    return re.sub(r"\s+", " ", s) or None


def _outlet(head: list[str], bp_lines: list[str]) -> str | None:
    """The publisher, only where the text names it: dateline, ©, boilerplate, header line."""
    for line in head:
        if m := _DATELINE.match(line.strip()):
            return m.group(1).strip()
    for line in bp_lines:
        if _COPYRIGHT.search(line) and (holder := _copyright_holder(line)):
            return holder
    for line in bp_lines:
        if outlet := _known_outlet(line):
            return outlet
    header = [line.strip() for line in head if line.strip() not in bp_lines]
    for line in header[:4]:
        if _LATIN_LINE.match(line):
            return line
    for line in header:  # a short label such as a section name, never an article sentence
        if len(line.split()) <= 5 and not _SENTENCE_END.search(line) and (o := _known_outlet(line)):
            return o
    return None


def _title(content: list[str]) -> str | None:
    for line in content:
        title = _DATE_PREFIX.sub("", line).strip()
        if title and not _is_date_line(title):
            if len(title) > TITLE_MAX:
                title = title[:TITLE_MAX].rsplit(" ", 1)[0].rstrip("،,") + "…"
            return title
    return None


def load_document(path: Path, source: str | None = None) -> Document:
    """Read one file; `source` defaults to path.name. Raises CorpusError naming the file."""
    path = Path(path)
    source = source or path.name
    label = safe_name(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{label} could not be read ({exc.strerror or exc}).") from exc
    try:
        text, encoding = decode_bytes(data)
    except _BinaryData as exc:
        raise CorpusError(f"{label} looks binary, not text.") from exc
    except UnicodeError as exc:
        try:
            data.decode("utf-8")
            where = ""
        except UnicodeDecodeError as bad:  # most files are UTF-8: say where it stops being so
            where = f" (its first byte that is not UTF-8 is at offset {bad.start:,})"
        raise CorpusError(f"{label} could not be decoded as UTF-8, UTF-16 or Windows-1256 "
                          f"Arabic text{where}.") from exc
    if not _BLANK.sub("", text):
        raise CorpusError(f"{label} is empty.")
    lines = _lines(text)
    spans = _boilerplate(lines)
    bp_starts = {s for s, _ in spans}
    bp_lines = [line.strip() for s, _, line in lines if s in bp_starts]
    content = [line.strip() for s, _, line in lines if line.strip() and s not in bp_starts]
    head = [line for _, _, line in lines if line.strip()][:HEAD_LINES]
    return Document(source=source, text=text, sha256=file_sha256(data), encoding=encoding,
                    title=_title(content), date=_date(head), outlet=_outlet(head, bp_lines),
                    boilerplate=spans)


def safe_name(name: str) -> str:
    """A file name fit to print: control characters (an escape sequence in a name would
    colour or move the terminal) shown escaped."""
    if name.isprintable():
        return name
    return "".join(c if c.isprintable()
                   else f"\\x{ord(c) - 0xDC00:02x}" if "\udc80" <= c <= "\udcff"  # a raw byte
                   else c.encode("unicode_escape").decode() for c in name)


def iter_corpus_files(corpus_dir: Path | str, max_bytes: int | None = None,
                      warn: Callable[[str, str], None] | None = None) -> list[tuple[str, Path]]:
    """(source, path) of every *.txt and *.md file, sorted (`corpus_entries`)."""
    return [(source, path) for source, path, _ in corpus_entries(corpus_dir, max_bytes, warn)]


def _sizes(size: int, limit: int) -> tuple[str, str]:
    """A file's size and the limit it is above, with enough digits to tell them apart
    ("5.0 MB, above the limit of 5 MB" read as no reason at all)."""
    for digits in (1, 2, 3):
        a, b = f"{size / 2**20:.{digits}f}", f"{limit / 2**20:.{digits}f}"
        if a != b:
            return f"{a} MB", f"{b} MB"
    return f"{size:,} bytes", f"{limit:,} bytes"


def corpus_entries(corpus_dir: Path | str, max_bytes: int | None = None,
                   warn: Callable[[str, str], None] | None = None,
                   unreadable_folders: list[str] | None = None
                   ) -> list[tuple[str, Path, os.stat_result]]:
    """(source, path, stat) of every *.txt and *.md file, sorted; hidden files and folders
    skipped. One `lstat` per file (a link's target is checked and stat-ed instead).

    Never silent about what it leaves out (`warn(source, reason)`): folders it cannot read,
    links that are broken, loop, or lead outside the corpus directory (a link to /etc/passwd
    must not become a cited source), and files above `max_bytes`. The folders it cannot read
    go in `unreadable_folders` (their files were not seen, which is not their removal).
    CorpusError when the directory itself is missing, not a directory, or unreadable."""
    root = Path(corpus_dir)
    if not root.exists():
        raise CorpusError(f"The corpus directory {root} does not exist.")
    if not root.is_dir():
        raise CorpusError(f"The corpus path {root} is not a directory.")
    real_root = root.resolve()
    say = warn or (lambda source, reason: None)

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename or root)
        name = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
        if name == ".":  # nothing could be seen: not an empty corpus
            raise CorpusError(f"The corpus directory {root} could not be read "
                              f"({exc.strerror or exc}).")
        if unreadable_folders is not None:
            unreadable_folders.append(name)
        say(name, f"the folder {safe_name(name)} could not be read ({exc.strerror or exc}); "
                  "what was indexed from it is kept.")

    with gc_paused():
        found = list(_walk(root, real_root, max_bytes, say, unreadable))
    return sorted(found, key=lambda entry: entry[0])


@contextmanager
def gc_paused():
    """No garbage collection while a loop allocates a few objects per file: at 164k files the
    collector's passes over the whole heap took longer than the loop itself (a walk of the
    1M-passage corpus 1.4-3.4 s with it, 1.1 s without)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _walk(root: Path, real_root: Path, max_bytes: int | None, say, unreadable
          ) -> Iterator[tuple[str, Path, os.stat_result]]:
    # Strings, not Paths, per file: at 164k files the pathlib calls were most of the walk.
    for folder, dirs, files in os.walk(root, onerror=unreadable, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = os.path.relpath(folder, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        for name in files:
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in SUFFIXES:
                continue
            source = prefix + name
            full = os.path.join(folder, name)
            if any("\udc80" <= c <= "\udcff" for c in source):  # bytes that were not UTF-8
                say(source, f"{safe_name(source)} has a name that is not valid UTF-8 "
                            "(citations name files); rename it to index it.")
                continue
            try:
                info = os.lstat(full)
                if stat.S_ISLNK(info.st_mode):
                    # the walk follows no folder link, so only the file itself can lead out
                    real = Path(full).resolve(strict=True)
                    if real != real_root and real_root not in real.parents:
                        say(source, f"{safe_name(source)} links outside the corpus directory "
                                    f"({safe_name(str(real))}).")
                        continue
                    info = real.stat()
            except (OSError, RuntimeError):
                say(source, f"{safe_name(source)} is a broken or looping link.")
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            if max_bytes is not None and info.st_size > max_bytes:
                size, limit = _sizes(info.st_size, max_bytes)
                say(source, f"{safe_name(source)} is {size}, above the limit of {limit} for "
                            "one file; raise SANAD_MAX_FILE_MB to index it.")
                continue
            yield source, Path(full), info


def load_corpus(corpus_dir: Path | str,
                warn: Callable[[str, str], None] | None = None) -> list[Document]:
    """Every loadable file under corpus_dir; the others go to warn(source, reason), not raised."""
    docs = []
    for source, path in iter_corpus_files(corpus_dir, warn=warn):
        try:
            docs.append(load_document(path, source))
        except CorpusError as exc:
            if warn is not None:
                warn(source, str(exc))
    return docs
