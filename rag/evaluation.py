"""Evaluation: scripted Q&A files (JSONL) and SQuAD-format benchmarks.

Scripted cases check the whole path (retrieval, answer, citations, refusals); SQuAD files
measure retrieval against data nobody on this project wrote.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .analysis import normalize
from .errors import EvalError, QuestionError
from .types import Answer, Document

REQUIRED_KEYS = {"id", "question", "answerable"}


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    sources: tuple[str, ...]
    answer_contains: tuple[str, ...]
    answerable: bool
    history: tuple[str, ...] = ()  # earlier questions of the conversation, asked first


def load_cases(path: Path | str) -> list[Case]:
    from .assistant import check_question

    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise EvalError(f"Cannot read the Q&A file {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError as exc:
        raise EvalError(f"The Q&A file {path} is not UTF-8 text (byte {exc.start}); save it "
                        "as UTF-8.") from None
    cases, ids = [], set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalError(f"{path}:{n} is not valid JSON ({exc.msg}).") from None
        if not isinstance(raw, dict) or not REQUIRED_KEYS <= raw.keys():
            raise EvalError(f"{path}:{n} needs the keys id, question and answerable.")
        if raw["id"] in ids:
            raise EvalError(f"{path}:{n} repeats the id {raw['id']!r}.")
        ids.add(raw["id"])
        history = raw.get("history") or []
        if not isinstance(history, list) or not all(isinstance(h, str) and h.strip()
                                                    for h in history):
            raise EvalError(f"{path}:{n}: history must be a list of earlier questions.")
        # a string where a list belongs would be read letter by letter ("2035" met by "2")
        if not isinstance(raw["id"], (str, int)) or isinstance(raw["id"], bool):
            raise EvalError(f"{path}:{n}: id must be a string or a number.")
        if not isinstance(raw["question"], str):
            raise EvalError(f"{path}:{n}: question must be a string.")
        for asked in (raw["question"], *history):  # checked here, so the error names the line
            try:
                check_question(asked)
            except QuestionError as exc:
                raise EvalError(f"{path}:{n}: {exc}") from None
        if not isinstance(raw["answerable"], bool):
            raise EvalError(f"{path}:{n}: answerable must be true or false.")
        for key in ("sources", "answer_contains"):
            value = raw.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise EvalError(f"{path}:{n}: {key} must be a list of strings.")
        cases.append(Case(str(raw["id"]), str(raw["question"]), tuple(raw.get("sources") or ()),
                          tuple(raw.get("answer_contains") or ()), raw["answerable"],
                          tuple(history)))
    if not cases:
        raise EvalError(f"The Q&A file {path} has no cases.")
    return cases


def contains_answer(text: str, expected: tuple[str, ...]) -> bool:
    norm = f" {normalize(text)} "
    return any(normalize(e) and normalize(e) in norm for e in expected)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    idx = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[idx]


@dataclass
class _Tally:
    hits: list[bool] = field(default_factory=list)
    rr: list[float] = field(default_factory=list)
    cited: int = 0
    cited_ok: int = 0
    cite_hit: list[bool] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)
    refusal: list[bool] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)


def run_cases(assistant, cases: list[Case], k: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> dict:
    """Ask every case; return the metrics described in README (Scripted Q&A)."""
    k = k or assistant.settings.top_k
    t = _Tally()
    for n, case in enumerate(cases, 1):
        turns: list[Answer] = []
        for earlier in case.history:  # the conversation so far; only the last answer is scored
            turns.append(assistant.ask(earlier, history=turns, k=k))
        start = time.perf_counter()
        answer: Answer = assistant.ask(case.question, history=turns, k=k)
        t.latency.append((time.perf_counter() - start) * 1000)
        t.modes.append(answer.mode)
        reasons = []
        if case.answerable:
            ranks = [i for i, h in enumerate(answer.passages[:k], 1) if h.passage.source in case.sources]
            t.hits.append(bool(ranks))
            t.rr.append(1.0 / ranks[0] if ranks else 0.0)
            if not ranks:
                reasons.append("no expected source retrieved")
            ok = answer.answered and contains_answer(answer.text, case.answer_contains)
            t.correct.append(ok)
            if not answer.answered:
                reasons.append("refused an answerable question")
            elif not ok:
                reasons.append("answer lacks the expected words")
        elif answer.answered:
            reasons.append("answered a question the corpus cannot answer")
        if answer.answered:
            cited = [c.source for c in answer.citations]
            good = [s for s in cited if s in case.sources]
            t.cited += len(cited)
            t.cited_ok += len(good)
            if case.answerable:
                t.cite_hit.append(bool(good))
            if cited and len(good) < len(cited) and case.answerable:
                reasons.append("cites a file that does not hold the answer: "
                               + ", ".join(sorted(set(cited) - set(case.sources))))
        t.refusal.append(answer.answered == case.answerable)
        if reasons:
            t.failures.append({"id": case.id, "question": case.question, "query": answer.query,
                               "reason": "; ".join(reasons), "answer": answer.text[:300]})
        if progress:
            progress(n, len(cases))
    mean = lambda xs: round(sum(xs) / len(xs), 4) if xs else None  # noqa: E731
    return {
        "n": len(cases),
        "k": k,
        "mode": assistant.mode,
        # answers the offline answerer gave although a chat model was configured (it failed
        # and `fallback` was on): the metrics then mix the two
        "fell_back": sum(m != "llm" for m in t.modes) if assistant.mode == "llm" else 0,
        "retrieval_hit_at_k": mean(t.hits),
        "mrr": mean(t.rr),
        "citation_precision": round(t.cited_ok / t.cited, 4) if t.cited else None,
        "citation_hit": mean(t.cite_hit),
        "answer_accuracy": mean(t.correct),
        "refusal_accuracy": mean(t.refusal),
        "latency_ms_p50": round(statistics.median(t.latency), 2),
        "latency_ms_p95": round(_percentile(t.latency, 0.95), 2),
        "failures": t.failures,
    }


# -- SQuAD-format benchmarks ----------------------------------------------------------------

def load_squad(path: Path | str) -> tuple[list[Document], list[dict]]:
    """Each distinct paragraph becomes a document; each question keeps its gold paragraph."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EvalError(f"{path} is not a readable SQuAD-format JSON file ({exc}).") from None
    try:
        return _squad_documents(data, path)
    except (KeyError, TypeError, AttributeError) as exc:
        raise EvalError(f"{path} is not in SQuAD format (data → paragraphs → context, qas → "
                        f"question): {type(exc).__name__} {exc}.") from None


def _squad_documents(data, path: Path) -> tuple[list[Document], list[dict]]:
    docs: dict[str, Document] = {}
    questions = []
    for article in data:
        for para in article.get("paragraphs", []):
            context = para["context"]
            digest = hashlib.sha256(context.encode("utf-8")).hexdigest()
            source = f"p{digest[:12]}"
            if source not in docs:
                docs[source] = Document(source=source, text=context, sha256=digest,
                                        encoding="utf-8", title=article.get("title"))
            for qa in para.get("qas", []):
                answers = [a["text"] for a in qa.get("answers", []) if a.get("text")]
                questions.append({"id": qa.get("id"), "question": qa["question"],
                                  "gold": source, "answers": answers})
    if not docs or not questions:
        raise EvalError(f"{path} holds no paragraphs with questions.")
    return list(docs.values()), questions


def run_squad(paths: list[Path | str], settings, modes: tuple[str, ...] = ("hybrid",),
              progress: Callable[[str, int, int], None] | None = None,
              limit: int | None = None) -> dict:
    """Index every paragraph of the given files (pooled) in a temporary index and measure."""
    from . import extractive
    from .indexing import index_documents
    from .retrieval import HybridRetriever
    from .store import open_store

    docs, questions = [], []
    for p in paths:
        d, q = load_squad(p)
        docs.extend(d)
        questions.extend(q)
    by_source = {d.source: d for d in docs}
    docs = list(by_source.values())
    if limit:
        questions = questions[:limit]
    with tempfile.TemporaryDirectory(prefix="sanad-squad-") as tmp:
        settings = settings.replace(index_dir=Path(tmp), chroma_url=None,
                                    collection="squad")
        store = open_store(settings)
        index_documents(settings, store, docs,
                        progress=(lambda s, d, t, i="": progress("index", d, t)) if progress else None)
        results = {"paragraphs": len(docs), "questions": len(questions), "modes": {}}
        for mode in modes:
            retriever = HybridRetriever.from_store(store, mode=mode)
            r1 = r5 = r20 = mrr10 = contains = 0.0
            lat = []
            for n, q in enumerate(questions, 1):
                t0 = time.perf_counter()
                query = retriever.query(q["question"])
                ranked = retriever.rank_sources(query, 20)
                lat.append((time.perf_counter() - t0) * 1000)
                rank = ranked.index(q["gold"]) + 1 if q["gold"] in ranked else None
                r1 += rank == 1
                r5 += bool(rank and rank <= 5)
                r20 += bool(rank)
                mrr10 += 1.0 / rank if rank and rank <= 10 else 0.0
                if mode == "hybrid":
                    hits = retriever.search(query, settings.top_k)
                    ans = extractive.answer(query, hits, retriever, by_source.__getitem__)
                    contains += ans.answered and contains_answer(ans.text, tuple(q["answers"]))
                if progress:
                    progress(mode, n, len(questions))
            nq = len(questions)
            results["modes"][mode] = {
                "recall_at_1": round(r1 / nq, 4), "recall_at_5": round(r5 / nq, 4),
                "recall_at_20": round(r20 / nq, 4), "mrr_at_10": round(mrr10 / nq, 4),
                "latency_ms_p50": round(statistics.median(lat), 2),
            }
            if mode == "hybrid":
                results["modes"][mode]["answer_contains"] = round(contains / nq, 4)
        main = results["modes"].get("hybrid") or next(iter(results["modes"].values()))
        results.update(main)
        return results
