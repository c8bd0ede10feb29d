"""Other forms of the sentence ranker over the same features (bench/README.md, "The offline
answerer"): gradient-boosted trees (LightGBM, lambdarank and binary) against the conditional
logit in place (fit_answerer.fit_ranker), by 5-fold top-1 accuracy: does each answerable
question's best-ranked sentence hold the reference answer? Wikipedia-style (ARCD-train,
TyDi dev) and paraphrased questions apart, the e5 scorer's cached features
(bench/.work/fit-e5-k5.pkl: run `fit_answerer.py --scorer e5` first), kind-checked as
fitted. LightGBM is not a dependency of sanad: install it where you run this.

    .venv/bin/pip install lightgbm && .venv/bin/python bench/try_rankers.py
"""

from __future__ import annotations

import pickle
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import fit_answerer  # noqa: E402
from rag import extractive  # noqa: E402

KIND_MISSING = extractive.FEATURES.index("kind_missing")
TREES = {"100 trees": 100, "300 trees": 300}  # of 7 leaves, learning rate 0.05


def folds(n: int, k: int = 5, seed: int = 13) -> list[set[int]]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [set(order[i::k]) for i in range(k)]


def top1(score, items) -> float:
    return float(np.mean([lab[int(np.argmax(score(f)))] > 0 for f, lab in items if len(f)]))


def main() -> None:
    import lightgbm as lgb

    data = pickle.loads((fit_answerer.WORK / "fit-e5-k5.pkl").read_bytes())
    sets = [[(f[f[:, KIND_MISSING] == 0], lab[f[:, KIND_MISSING] == 0]) for f, lab in items]
            for items in (data[0], data[3])]  # Wikipedia-style, paraphrased
    split = [folds(len(items)) for items in sets]
    results: dict[str, list] = {}
    for i in range(5):
        train = [x for g, items in enumerate(sets) for j, x in enumerate(items)
                 if j not in split[g][i]]
        test = [[x for j, x in enumerate(items) if j in split[g][i]]
                for g, items in enumerate(sets)]
        w = fit_answerer.fit_ranker(train, [])
        results.setdefault("conditional logit (in place)", []).append(
            [top1(lambda f: f @ w, t) for t in test])
        asked = [(f, lab) for f, lab in train if len(f) and lab.sum() > 0]
        x = np.concatenate([f for f, _ in asked])
        y = np.concatenate([(lab > 0).astype(int) for _, lab in asked])
        params = {"num_leaves": 7, "learning_rate": 0.05, "min_data_in_leaf": 20,
                  "verbose": -1}
        for name, n in TREES.items():
            rank = lgb.train({**params, "objective": "lambdarank"},
                             lgb.Dataset(x, y, group=[len(f) for f, _ in asked]), n)
            binary = lgb.train({**params, "objective": "binary"}, lgb.Dataset(x, y), n)
            for label, model in ((f"lambdarank, {name}", rank), (f"binary, {name}", binary)):
                results.setdefault(label, []).append([top1(model.predict, t) for t in test])
    for label, v in results.items():
        v = np.array(v)
        print(f"{label:32s} top-1 Wikipedia-style {v[:, 0].mean():.4f}  paraphrased "
              f"{v[:, 1].mean():.4f}")


if __name__ == "__main__":
    main()
