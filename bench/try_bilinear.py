"""A learned low-rank bilinear match between the question's e5 vector and each sentence's,
as two more answerer features (bench/README.md, "The offline answerer").

The metric in place for English questions (`Scorer.metric`) is diagonal: it reweighs each
dimension of the cosine, so it cannot pair one dimension of the question with another of
the sentence ("asks for a date" with "holds a date"). This fits q' U V' s (rank --rank),
beside the cosine times a fitted scale, by a softmax over each answerable question's
sentences (target: those holding the answer), with a ridge on U and V; the bilinear term and
its gap to the question's best become two features that both stages of the two-stage model
read ("bilinear", "bilinear_gap", added to extractive.FEATURES here). Judged as fit_answerer.py judges:
5-fold expected accuracy, the bilinear fitted on the training folds only (a training
question's features from a fit without it, inner 5 folds), against the same two-stage refit
without the two features. Features are collected once (with the question's and each
sentence's vectors) under bench/.work/try-bilinear/.

    .venv/bin/python bench/try_bilinear.py --scorer e5 --rank 8 --ridge 2e-3

With --write (one rank and one ridge), the fit as it would be put in place: U and V fitted
on every answerable question, written to rag/metrics.json as "<scorer>-bilinear"; the
two-stage model fitted on every question with each question's bilinear features from a fit
without it (inner 5 folds, as in the folds above), and its refusal threshold by
fit_answerer's objective on all questions, printed. sanad itself has no bilinear feature
(not kept: bench/README.md); a measurement on tests/qa needs it added to
extractive.sentence_features by hand, as (q U).(s V) and its gap to the best sentence the
scorer may quote. Restore rag/metrics.json with git afterwards.
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

import fit_answerer  # noqa: E402
from rag import extractive  # noqa: E402
from rag.embeddings import E5_DIM  # noqa: E402
from squad_index import WORK  # noqa: E402

# Vectors ride along as features named "qs_*", which the answerability model never reads;
# the ranker is kept off them (frozen).
VECTORS = tuple(f"qs_s{i}" for i in range(E5_DIM)) + tuple(f"qs_q{i}" for i in range(E5_DIM))


def collect(scorer: str, refresh: bool):
    fit_answerer.extend_features(("bilinear", "bilinear_gap") + VECTORS)
    inner = extractive.sentence_features

    def features(query, hits, retriever):  # "bilinear" and its gap are derived per fit
        out = inner(query, hits, retriever)
        q = query.vector if query.vector is not None else np.zeros(E5_DIM)
        none = np.zeros(E5_DIM)
        return [(c, f[:-1] + [0.0, 0.0] + list(c.vector if c.vector is not None else none)
                 + list(q) + f[-1:]) for c, f in out]
    extractive.sentence_features = features
    fit_answerer.WORK = WORK / "try-bilinear"
    fit_answerer.WORK.mkdir(parents=True, exist_ok=True)
    in_place = fit_answerer.metric_columns
    fit_answerer.metric_columns = lambda: []  # the vectors are not the metric's products
    try:
        args = argparse.Namespace(scorer=scorer, k=5, refresh=refresh)
        data = fit_answerer.collect(args, fit_answerer.UNUSED[scorer])
    finally:
        fit_answerer.metric_columns = in_place
    return fit_answerer.kind_checked(data, extractive.SCORERS[scorer])


def fit_bilinear(rows, s_cols, q_cols, rank: int, ridge: float, steps: int = 500,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """(U, V, c) minimising the softmax loss of c q.s + (q U).(s V) over each question's
    sentences (rows: (features, labels) of answerable questions), plus ridge * (|U|^2 + |V|^2);
    c is fitted too (a cosine's differences between sentences are small: alone its best
    scale is large, and a bilinear term fitted beside too small a one learned to make up for
    it). Adam on the whole batch."""
    rows = [(f, lab) for f, lab in rows if len(f) and lab.sum() > 0]
    x = np.concatenate([f[:, s_cols] for f, _ in rows])
    qs = np.array([f[0, q_cols] for f, _ in rows])
    sizes = np.array([len(f) for f, _ in rows])
    owner = np.repeat(np.arange(len(rows)), sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    target = np.concatenate([lab / lab.sum() for _, lab in rows])
    cos = np.sum(x * qs[owner], axis=1)
    rng = np.random.default_rng(seed)
    u = rng.normal(0, 0.01, (E5_DIM, rank))
    v = rng.normal(0, 0.01, (E5_DIM, rank))
    c = np.array([10.0])
    m = [np.zeros_like(u), np.zeros_like(v), np.zeros_like(c)]
    s2 = [np.zeros_like(u), np.zeros_like(v), np.zeros_like(c)]
    n = len(rows)
    for t in range(1, steps + 1):
        a, b = qs @ u, x @ v
        z = c[0] * cos + np.sum(b * a[owner], axis=1)
        z = z - np.maximum.reduceat(z, starts)[owner]
        e = np.exp(z)
        p = e / np.add.reduceat(e, starts)[owner]
        dz = (p - target) / n
        da = np.zeros_like(a)
        np.add.at(da, owner, dz[:, None] * b)
        grads = [qs.T @ da + 2 * ridge * u, x.T @ (dz[:, None] * a[owner]) + 2 * ridge * v,
                 np.array([dz @ cos])]
        for i, (w, g) in enumerate(zip((u, v, c), grads)):
            m[i] = 0.9 * m[i] + 0.1 * g
            s2[i] = 0.999 * s2[i] + 0.001 * g * g
            rate = 0.5 if i == 2 else 0.01
            w -= rate * (m[i] / (1 - 0.9 ** t)) / (np.sqrt(s2[i] / (1 - 0.999 ** t)) + 1e-8)
    return u, v, float(c[0])


def write(args, data, learn, fit, s_cols, q_cols) -> None:
    # each question's features from a fit without it
    crossfitted = learn(fit_answerer.Data.every(data))(data)
    both = fit_answerer.Data.every(crossfitted)
    rank, able = fit(both)
    accuracy, threshold, rates = fit_answerer.expected((rank, able), both)
    u, v, scale = fit_bilinear(every.rows(), s_cols, q_cols, args.rank[0], args.ridge[0])
    name = f"{args.scorer}-bilinear"
    path = extractive.METRICS  # a measurement only: restore it with git
    metrics = json.loads(path.read_text(encoding="utf-8"))
    metrics[name] = {key: [[float(f"{x:.4g}") for x in row] for row in m]
                     for key, m in (("u", u), ("v", v))}
    path.write_text(json.dumps(metrics, indent=None) + "\n", encoding="utf-8")
    own = [i for i, n in enumerate(extractive.FEATURES) if not n.startswith("qs_")]
    rounded = lambda ws: [round(float(w), 3) for w in ws]  # noqa: E731
    print(json.dumps({
        "scorer": args.scorer, "rank": args.rank[0], "ridge": args.ridge[0],
        "cosine_scale": round(scale, 2), "features": [extractive.FEATURES[i] for i in own],
        "weights": rounded(rank[own]), "answerability": rounded(able), "threshold": threshold,
        "strict_expected_accuracy_all": round(accuracy, 4),
        "answered_correctly": round(float(rates[0]), 4),
        "refused_on_topic": round(float(rates[1]), 4),
        "refused_off_topic": round(float(rates[2]), 4),
        "metric_saved": f"rag/metrics.json[{name!r}] (restore the file with git)"},
        ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scorer", default="e5")
    parser.add_argument("--rank", type=int, nargs="+", default=[8])
    parser.add_argument("--ridge", type=float, nargs="+", default=[2e-3])
    parser.add_argument("--seeds", type=int, nargs="+", default=[13])
    parser.add_argument("--refresh", action="store_true")
    parser.add_argument("--write", action="store_true",
                        help="fit on all questions and write the bilinear to rag/metrics.json")
    args = parser.parse_args()
    data = collect(args.scorer, args.refresh)
    names = extractive.FEATURES
    at = names.index("bilinear")
    s_cols = [names.index(f"qs_s{i}") for i in range(E5_DIM)]
    q_cols = [names.index(f"qs_q{i}") for i in range(E5_DIM)]
    unused = fit_answerer.UNUSED[args.scorer] + s_cols + q_cols
    without = lambda d: fit_answerer._two_stage(d, unused + [at, at + 1])  # noqa: E731
    with_it = lambda d: fit_answerer._two_stage(d, unused)  # noqa: E731

    def prepare(rank, ridge):
        def learn(train):
            def fit(rows):
                return fit_bilinear(rows, s_cols, q_cols, rank, ridge)
            fitted = fit(train.rows())
            own = fit_answerer.crossfitted(train, fit)  # a training question's: fit without it

            def derive(f):
                if not len(f):
                    return f
                u, v, _ = own.get(id(f), fitted)
                f = f.copy()
                f[:, at] = np.sum((f[:, s_cols] @ v) * (f[0, q_cols] @ u), axis=1)
                f[:, at + 1] = f[:, at] - f[:, at].max()
                return f
            return lambda d: ([(derive(f), lab) for f, lab in d[0]], [derive(f) for f in d[1]],
                              [derive(f) for f in d[2]],
                              [(derive(f), lab) for f, lab in d[3]], [derive(f) for f in d[4]],
                              *d[5:])
        return learn

    if args.write:
        write(args, data, prepare(args.rank[0], args.ridge[0]), with_it, s_cols, q_cols)
        return
    report = {}
    for seed in args.seeds:
        report[f"seed {seed}, without"] = fit_answerer.crossvalidated(data, without, seed=seed)
        print(json.dumps(report), flush=True)
        for rank in args.rank:
            for ridge in args.ridge:
                report[f"seed {seed}, rank {rank}, ridge {ridge}"] = fit_answerer.crossvalidated(
                    data, with_it, seed=seed, prepare=prepare(rank, ridge))
                print(json.dumps(report), flush=True)
    print(json.dumps({"scorer": args.scorer, "cv5_expected_accuracy": report}, indent=1))


if __name__ == "__main__":
    main()
