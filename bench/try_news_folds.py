"""News questions judged by story (bench/README.md, "A hundred more news stories"):

    .venv/bin/python bench/try_news_folds.py new e5 [metric]        # stories after the first 60
    .venv/bin/python bench/try_news_folds.py variants e5 [metric]   # held-out-source variants

`new`: on the news stories after the first OLD ones (never seen by the weights in place), the
weights in place against their form refitted in 5 folds of those stories (everything else
trains) and refitted with no news question at all. `variants`: each answerable news question
asked again with the articles that answer it held out of the hits (where its story keeps
one), as on-topic unanswerable training questions; judged on the written questions of
held-out stories (5 story folds), refitted with them against without. Three fold seeds
(FOLD_SEEDS); rates are (answered rightly, on-topic refused, the two mixed as PRIOR mixes
them). Features come from fit_answerer's cache (run it first for the scorer)."""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

import fit_answerer as fa  # noqa: E402
from rag import extractive  # noqa: E402

OLD = 60  # the stories the weights in place were fitted with (ninth session)


def setup(scorer_name: str, metric: bool, extra_on=()):
    args = argparse.Namespace(scorer=scorer_name, k=5, refresh=False,
                              metric=0.3 if metric else None)
    frozen = fa.UNUSED[scorer_name]
    if metric:
        fa.metric_in_place(scorer_name)
    pos, on, off, pp, po, pm, pmeta = fa.collect(args, frozen)
    extra = list(extra_on(args, frozen)) if extra_on else []
    data = fa.kind_checked((pos, on, off, pp, po + extra, pm, pmeta),
                           extractive.SCORERS[scorer_name])
    scorer = extractive.SCORERS[scorer_name]
    current = fa.weights_in_place(scorer)
    form_data, form_fit = fa.in_place_form(data, scorer, frozen,
                                           fa.metric_ridge(args.metric) if metric else 1e-2)
    return args, data, scorer, current, form_data, form_fit, len(extra)


def story_of_questions():
    stories = fa.news_stories()
    qs = [(si, q) for si, s in enumerate(stories) for q in s["questions"]]
    return (stories, [si for si, q in qs if q["answerable"]],
            [si for si, q in qs if not q["answerable"]])


def new_stories(scorer_name: str, metric: bool) -> dict:
    _, data, scorer, current, form_data, form_fit, _ = setup(scorer_name, metric)
    stories, pos_story, on_story = story_of_questions()
    n_para, n_on = len(data[3]), len(data[4])
    pos0, on0 = n_para - len(pos_story), n_on - len(on_story)
    news_pos, news_on = set(range(pos0, n_para)), set(range(on0, n_on))
    out = {"in_place": [], "refit": [], "refit_no_news": []}
    for seed in fa.FOLD_SEEDS:
        order = np.random.default_rng(seed).permutation(range(OLD, len(stories)))
        for part in map(set, np.array_split(order, 5)):
            held_pos = [pos0 + j for j, si in enumerate(pos_story) if si in part]
            held_on = [on0 + j for j, si in enumerate(on_story) if si in part]
            held = fa.Data(form_data, [], held_pos, held_on)
            train = fa.Data(form_data, range(len(data[0])),
                            sorted(set(range(n_para)) - set(held_pos)),
                            sorted(set(range(n_on)) - set(held_on)))
            w = form_fit(train)
            out["refit"].append(fa.news_rates(w, held, fa.expected(w, train)[1]))
            out["in_place"].append(fa.news_rates(
                current, fa.Data(data, [], held_pos, held_on), scorer.threshold))
            if seed == fa.FOLD_SEEDS[0]:
                bare = fa.Data(form_data, range(len(data[0])),
                               sorted(set(range(n_para)) - news_pos),
                               sorted(set(range(n_on)) - news_on))
                w0 = form_fit(bare)
                out["refit_no_news"].append(fa.news_rates(w0, held, fa.expected(w0, bare)[1]))
    return {k: np.round(np.mean(v, axis=0), 4).tolist() for k, v in out.items()}


def variant_features(scorer_name: str, metric: bool):
    """(features, story) of the held-out-source variants, cached under bench/.work/."""
    cache = fa.WORK / f"variants-{scorer_name}{'-metric' if metric else ''}.pkl"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    args = argparse.Namespace(scorer=scorer_name, k=5)
    frozen = fa.UNUSED[scorer_name]
    news, news_qs = fa.news_set("hashing-ngram-v1" if scorer_name == "lexical" else "e5-small-q4")
    if scorer_name != "e5-dictionary":
        news.lexicon = None
    stories = fa.news_stories()
    written = [(si, q) for si, s in enumerate(stories) for q in s["questions"]]
    feats, story = [], []
    for (si, raw), q in zip(written, news_qs):
        if not q["answerable"] or len(raw["sources"]) >= len(stories[si]["articles"]):
            continue
        query = news.query(q["question_en"] if scorer_name in fa.ENGLISH else q["question"])
        hits = [h for h in news.search(query, args.k + 10)
                if h.passage.source not in q["sources"]][:args.k]
        (f, _), = fa.feature_matrices(news, query, [hits], frozen)
        feats.append(f)
        story.append(si)
    cache.write_bytes(pickle.dumps((feats, story)))
    return feats, story


def variants(scorer_name: str, metric: bool) -> dict:
    feats, vstory = variant_features(scorer_name, metric)
    _, data, _, _, form_data, form_fit, n_var = setup(scorer_name, metric, lambda *_: feats)
    stories, pos_story, on_story = story_of_questions()
    n_para, n_on_all = len(data[3]), len(data[4])
    n_on = n_on_all - n_var
    pos0, on0, var0 = n_para - len(pos_story), n_on - len(on_story), n_on
    all_var = set(range(var0, n_on_all))
    out = {"without": [], "with": []}
    for seed in fa.FOLD_SEEDS:
        order = np.random.default_rng(seed).permutation(len(stories))
        for part in map(set, np.array_split(order, 5)):
            held_pos = [pos0 + j for j, si in enumerate(pos_story) if si in part]
            held_on = [on0 + j for j, si in enumerate(on_story) if si in part]
            held_var = [var0 + j for j, si in enumerate(vstory) if si in part]
            base = sorted(set(range(n_para)) - set(held_pos))
            kept_on = set(range(n_on_all)) - set(held_on)
            for name, on_train in (("without", kept_on - all_var),
                                   ("with", kept_on - set(held_var))):
                train = fa.Data(form_data, range(len(data[0])), base, sorted(on_train))
                w = form_fit(train)
                out[name].append(fa.news_rates(w, fa.Data(form_data, [], held_pos, held_on),
                                               fa.expected(w, train)[1]))
    return {"variants": n_var, **{k: np.round(np.mean(v, axis=0), 4).tolist()
                                  for k, v in out.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("new", "variants"))
    parser.add_argument("scorer", choices=sorted(fa.UNUSED))
    parser.add_argument("metric", nargs="?", choices=("metric",))
    args = parser.parse_args()
    run = new_stories if args.what == "new" else variants
    print(args.what, args.scorer, run(args.scorer, args.metric == "metric"))


if __name__ == "__main__":
    main()
