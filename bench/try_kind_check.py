"""Judge the kind check (`Scorer.kind_required`: a question naming a checkable kind is answered
only by a sentence holding it) for each scorer, with its weights in place: the fitting
objective of `fit_answerer.py` (5-fold over FOLD_SEEDS, and on all questions with the best
threshold), with the check and without. Reads the features `fit_answerer.py` cached; the
English scorers with their metric (as they are fitted); e5-english's were collected with
SANAD_DICTIONARY=off.

    .venv/bin/python bench/try_kind_check.py e5-dictionary
    SANAD_DICTIONARY=off .venv/bin/python bench/try_kind_check.py e5-english

With --fresh the features are computed anew by the code as it is (cached apart, under
bench/.work/kind-check-counted/ or, with --plain-count, kind-check-plain/): --plain-count
reads "كم" before a counted noun ("كم سفارة") as asking for any number, as before the
eleventh session, instead of a count; --spans-counted (under kind-check-spans-counted/) takes
a span of time ("منذ ثلاثين عاما") for a count, and not twice ("مرتين"), as before the twelfth
session; --year-as-date (kind-check-year-as-date/) reads "في أي عام" as asking for any date, as
before the twelfth session, instead of a year; --measures-as-what (kind-check-measures-as-what/)
reads "ما مساحة", "كم يبلغ تعداد", "what is the population/area" as before the twelfth session
(what; a number; what), instead of a number, a count, a count or a number. The variants
measure one change each against the code as it is.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import fit_answerer as fa  # noqa: E402
from rag import analysis, extractive, matching  # noqa: E402
from squad_index import WORK  # noqa: E402


def collected(name: str):
    """The scorer's features as `fit_answerer.collect` gives them (cached), with its metric's
    weights in place if it has one."""
    if extractive.SCORERS[name].metric:
        fa.metric_in_place(name)  # the scorer's weights gain its metric's
    args = argparse.Namespace(scorer=name, k=5, refresh=False, metric=None)
    return fa.collect(args, fa.UNUSED[name])


def judged(name: str, raw=None) -> dict:
    """The weights in place, with the kind check and without, on `raw` (`collected(name)`)."""
    raw = collected(name) if raw is None else raw
    scorer = extractive.SCORERS[name]
    current = fa.weights_in_place(scorer)
    out = {"in_place": scorer.kind_required}
    for required in (False, True):
        data = fa.kind_checked(raw, dataclasses.replace(scorer, kind_required=required))
        acc, threshold, rates = fa.expected(current, fa.Data.every(data))
        cv, _ = fa.crossvalidated_seeds(data, lambda d: current)
        out["checked" if required else "unchecked"] = {
            "cv5": cv, "all": round(acc, 4), "threshold": threshold,
            "answered_correctly": round(float(rates[0]), 4),
            "refused_on_topic": round(float(rates[1]), 4),
            "refused_off_topic": round(float(rates[2]), 4)}
    return out


def _drop_english(fragment: str) -> None:
    """Undo an English kind: its pattern, found by a piece of its text, is dropped (and must be
    found: a variant that no longer matches the code would measure nothing)."""
    kinds = analysis._ENGLISH_KINDS
    analysis._ENGLISH_KINDS = tuple(k for k in kinds if fragment not in k[0].pattern)
    if len(analysis._ENGLISH_KINDS) != len(kinds) - 1:
        sys.exit(f"no single English kind pattern holds {fragment!r}")


def _spans_counted() -> None:
    matching._SPAN = matching._TWICE = re.compile(r"(?!)")
    analysis._counts_time = lambda following: False
    _drop_english("how many (?:years")


def _year_as_date() -> None:
    analysis._WHICH_KIND.update(dict.fromkeys(map(analysis.normalize,
                                                  analysis.YEAR_WORDS.split()), "date"))
    _drop_english("(?:what|which) year\\b")


def _measures_as_what() -> None:
    words = {analysis.normalize(w) for w in analysis.MEASURE_WORDS.split() + ["تعداد"]}
    for word in words - {analysis.normalize("كمية")}:  # كمية asked for a number before
        del analysis._WHICH_KIND[word]
    _drop_english("(?:total )?")
    _drop_english("(?:area|")


# The code as it was before a change, one a run, by the flag's name (its cache, with --fresh:
# bench/.work/kind-check-NAME/; the code as it is: kind-check-counted/).
VARIANTS = {"plain-count": lambda: setattr(analysis, "_counted", lambda word: False),
            "spans-counted": _spans_counted, "year-as-date": _year_as_date,
            "measures-as-what": _measures_as_what}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scorer", choices=sorted(extractive.SCORERS))
    parser.add_argument("--fresh", action="store_true")
    before = parser.add_mutually_exclusive_group()
    for flag in VARIANTS:
        before.add_argument(f"--{flag}", action="store_true")
    args = parser.parse_args()
    name = args.scorer  # one a process: a metric extends the features
    variant = next((v for v in VARIANTS if getattr(args, v.replace("-", "_"))), None)
    if variant:
        VARIANTS[variant]()
    if args.fresh:
        fa.WORK = WORK / f"kind-check-{variant or 'counted'}"
        fa.WORK.mkdir(parents=True, exist_ok=True)
    print(json.dumps({"scorer": name} | judged(name)))


if __name__ == "__main__":
    main()
