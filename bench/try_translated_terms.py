"""How an English question's words become terms for the coverage features, judged on the
fitting objective: e5-dictionary's features computed with a variant, and the weights in place
judged on them as `try_kind_check.py` does (5-fold over FOLD_SEEDS and all questions, with
the kind check in place), and their form refitted in the folds ("cv5_refit", as
fit_answerer.py judges the weights in place). Features cached under
bench/.work/translated-VARIANT/.

- --absent: a word none of whose Arabic stems the index holds is kept, weighing what a stem
  the corpus lacks weighs (as an Arabic question's stem does), instead of being left out as
  "a dictionary's stray sense" (`matching.translated_terms`). Tried for "How long should I
  boil an egg?", which over the news corpus was left with "long" alone, met by "منذ فترة
  طويلة". Not built: see bench/README.md.
- --how-translated: the adjective after "how" (long, old, far...) is translated as a content
  word, as before the twelfth session (`lexicon.HOW_ADJECTIVES`).

    .venv/bin/python bench/try_translated_terms.py [--absent | --how-translated]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import fit_answerer as fa  # noqa: E402
import try_kind_check  # noqa: E402
from rag import extractive, lexicon, matching  # noqa: E402
from squad_index import WORK  # noqa: E402


def kept_absent(query, retriever):
    """`matching.translated_terms`, with each translated word the index lacks entirely kept
    as a term weighing what a stem the corpus lacks weighs."""
    terms = matching.translated_terms(query, retriever)
    idf = retriever.bm25.idf
    rarest = idf("")
    weights, alternatives = dict(terms.weights), dict(terms.alternatives)
    for i, group in enumerate(query.translations):
        key = f"~{i}"
        if key not in weights and group:
            weights[key], alternatives[key] = rarest, group
    return matching.QueryTerms(weights, terms.optional, alternatives)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--absent", action="store_true", help="keep the words the index lacks")
    parser.add_argument("--how-translated", action="store_true",
                        help="translate the adjective after 'how', as before")
    args = parser.parse_args()
    if args.absent:
        extractive.translated_terms = kept_absent
    if args.how_translated:
        lexicon.HOW_ADJECTIVES = frozenset()
    variant = ("absent-kept" if args.absent else "how-translated" if args.how_translated
               else "in-place")
    fa.WORK = WORK / f"translated-{variant}"
    fa.WORK.mkdir(parents=True, exist_ok=True)
    name = "e5-dictionary"
    raw = try_kind_check.collected(name)
    out = try_kind_check.judged(name, raw)
    scorer = extractive.SCORERS[name]
    frozen = fa.UNUSED[name]
    form_data, form_fit = fa.in_place_form(fa.kind_checked(raw, scorer), scorer, frozen,
                                           fa.metric_ridge(0.3))  # its metric's ridge
    refit, _ = fa.crossvalidated_seeds(form_data, form_fit)
    print(json.dumps({"variant": variant, **out["checked"],
                      "cv5_refit": refit}))


if __name__ == "__main__":
    main()
