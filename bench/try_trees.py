"""Tree ensembles in the two-stage answerer, judged by the fitting objective itself
(bench/README.md, "The offline answerer"): fit_answerer.py's 5-fold expected accuracy of the
weights in place refitted (its `in_place_form`), against the same with scikit-learn's
gradient-boosted trees as the answerability model (stage two), and as the ranker too
(stage one, pointwise: does this sentence hold the answer?, each question's sentences
weighing one question). `bench/try_rankers.py` judged LightGBM rankers by top-1 accuracy
alone; this asks whether trees decide the refusal better. The features are fit_answerer's
cache (`fit_answerer.py --scorer SCORER --refresh` first if the features changed).
scikit-learn is not a dependency of sanad: install it where you run this.

    .venv/bin/pip install scikit-learn && .venv/bin/python bench/try_trees.py --scorer e5
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import fit_answerer as fa  # noqa: E402
from rag import extractive  # noqa: E402


class _Logits:
    """A fitted classifier that `row @ model` (fit_answerer._best, _top, and
    extractive.answerability_features through `_answerability_features`) turns into logits:
    one for a row, one per row of a matrix."""

    __array_ufunc__ = None  # numpy leaves `array @ self` to __rmatmul__

    def __init__(self, model):
        self.model = model

    def __rmatmul__(self, x):
        x = np.asarray(x, dtype=float)
        p = np.clip(self.model.predict_proba(x.reshape(-1, x.shape[-1]))[:, 1], 1e-9, 1 - 1e-9)
        z = np.log(p / (1 - p))
        return float(z[0]) if x.ndim == 1 else z


_linear_answerability = extractive.answerability_features


def _answerability_features(features, weights, adapted=None):
    """extractive.answerability_features, for a tree ranker too (the same row)."""
    if not isinstance(weights, _Logits):
        return _linear_answerability(features, weights, adapted)
    z = features @ weights
    order = np.argsort(-z, kind="stable")
    best = int(order[0])
    margin = z[best] - z[order[1]] if len(z) > 1 else 5.0
    col = extractive.FEATURES.index
    row = features[best]
    return best, np.r_[row[:-1], z[best], margin, features[:, col("sentence_cov")].max(),
                       features[:, col("window_cov")].max(),
                       row[col("sentence_cos")] - row[col("sentence_cos_gap")], 1.0]


def main() -> None:
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scorer", default="e5", choices=sorted(fa.UNUSED))
    args = parser.parse_args()
    args.k, args.refresh = 5, False
    extractive.answerability_features = _answerability_features
    frozen = fa.UNUSED[args.scorer]
    scorer = extractive.SCORERS[args.scorer]
    data, refit = fa.in_place_form(fa.kind_checked(fa.collect(args, frozen), scorer), scorer,
                                   frozen, 1e-2)
    able = {"boosted trees, depth 2, 100": lambda: GradientBoostingClassifier(
                n_estimators=100, max_depth=2, learning_rate=0.1, subsample=0.8, random_state=0),
            "boosted trees, depth 3, 150": lambda: GradientBoostingClassifier(
                n_estimators=150, max_depth=3, learning_rate=0.05, subsample=0.8,
                random_state=0),
            "histogram trees, 8 leaves, 150": lambda: HistGradientBoostingClassifier(
                max_iter=150, learning_rate=0.05, max_leaf_nodes=8, l2_regularization=1.0,
                random_state=0)}

    def with_trees(make_able, make_rank=None):
        def fit(d):
            if make_rank is None:
                rank = fa.fit_ranker(d.rows(), frozen)
            else:
                x, y = fa._rows(d)
                x = x.copy()
                x[:, frozen] = 0.0
                sw = np.concatenate([np.full(len(f), 1.0 / len(f)) for f, _ in d.rows()
                                     if len(f)])
                rank = _Logits(make_rank().fit(x, y, sample_weight=sw * len(sw) / sw.sum()))
            if make_able is None:
                return rank, fa.fit_answerability(d, rank)
            x, y, sw = fa.answerability_rows(d, rank)
            return rank, _Logits(make_able().fit(x, y, sample_weight=sw))
        return fit

    report = {"weights in place, refitted": fa.crossvalidated(data, refit)}
    for name, make in able.items():
        report[f"answerability by {name}"] = fa.crossvalidated(data, with_trees(make))
    ranker = able["histogram trees, 8 leaves, 150"]
    rank_trees = lambda: HistGradientBoostingClassifier(  # noqa: E731
        max_iter=200, learning_rate=0.05, max_leaf_nodes=15, l2_regularization=1.0,
        random_state=0)
    report["ranker by histogram trees, answerability logistic"] = fa.crossvalidated(
        data, with_trees(None, rank_trees))
    report["ranker and answerability by histogram trees"] = fa.crossvalidated(
        data, with_trees(ranker, rank_trees))
    print(json.dumps({"scorer": args.scorer, "cv5_expected_accuracy": report},
                     ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
