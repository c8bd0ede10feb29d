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


def judged(name: str) -> dict:
    args = argparse.Namespace(scorer=name, k=5, refresh=False, metric=None)
    if extractive.SCORERS[name].metric:
        fa.metric_in_place(name)  # the scorer's weights gain its metric's
    scorer = extractive.SCORERS[name]
    raw = fa.collect(args, fa.UNUSED[name])
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scorer", choices=sorted(extractive.SCORERS))
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--plain-count", action="store_true")
    parser.add_argument("--spans-counted", action="store_true")
    parser.add_argument("--year-as-date", action="store_true")
    parser.add_argument("--measures-as-what", action="store_true")
    args = parser.parse_args()
    name = args.scorer  # one a process: a metric extends the features
    if args.plain_count:
        analysis._counted = lambda word: False
    if args.spans_counted:
        matching._SPAN = matching._TWICE = re.compile(r"(?!)")
        analysis._counts_time = lambda following: False
        analysis._ENGLISH_KINDS = tuple(k for k in analysis._ENGLISH_KINDS
                                        if "how many (?:years" not in k[0].pattern)
    if args.year_as_date:
        analysis._WHICH_KIND.update(dict.fromkeys(map(analysis.normalize,
                                                      analysis.YEAR_WORDS.split()), "date"))
        analysis._ENGLISH_KINDS = tuple(k for k in analysis._ENGLISH_KINDS if k[1] != "year")
    if args.measures_as_what:
        for word in map(analysis.normalize, analysis.MEASURE_WORDS.split() + ["تعداد"]):
            if word not in ("كميه",):  # كمية asked for a number before
                analysis._WHICH_KIND.pop(word, None)
        analysis._ENGLISH_KINDS = tuple(k for k in analysis._ENGLISH_KINDS
                                        if "(?:total )?" not in k[0].pattern
                                        and "(?:area|" not in k[0].pattern)
    if args.fresh:
        variant = ("plain" if args.plain_count else "spans-counted" if args.spans_counted
                   else "year-as-date" if args.year_as_date
                   else "measures-as-what" if args.measures_as_what else "counted")
        fa.WORK = WORK / f"kind-check-{variant}"
        fa.WORK.mkdir(parents=True, exist_ok=True)
    print(json.dumps({"scorer": name} | judged(name)))


if __name__ == "__main__":
    main()
