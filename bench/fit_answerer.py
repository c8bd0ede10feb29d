"""Fit the offline answerer's scorers on data nobody on this project wrote (never tests/qa).

Questions, for the scorer of rag/extractive.py named by --scorer:
- "e5" and "lexical": ARCD-train and TyDi-GoldP-ar dev questions (Arabic), pooled;
- plus, for both, questions in a person's own words on all 231 ARCD-train paragraphs and 320
  TyDi ones (bench/arcd_train_paraphrase.jsonl, bench/tydi_dev_paraphrase.jsonl, written for
  this: an answerable paraphrase sharing few words with its paragraph, and an on-topic
  question the paragraph does not answer), since Wikipedia-style questions copy the
  article's words and people mostly do not;
- plus, for every scorer (in English for the English ones), the questions of the news stories
  written for this (bench/news_written.json, NEWS_FILE; 160 stories since the tenth session:
  three articles an event, answerable questions in a person's own words and on-topic ones no
  article answers), asked of one index over all their articles: the corpus is news, not
  Wikipedia;
- "e5-crosslingual": English translations of 671 ARCD-train questions over all its articles
  (bench/arcd_train_en.jsonl, translated for this purpose, as a person would ask them), and,
  in the same file and bench/tydi_dev_en.jsonl (lines with "gold", "answers" and
  "answerable"), the paraphrased pairs above asked in English. An English question shares
  no stems with Arabic text: its coverage features read what it can share, numbers and the
  consonant skeletons of its names (matching.crosslingual_terms);
- "e5-dictionary": the same English questions, with the English-Arabic dictionary
  (rag/lexicon.py; Debian's dict-freedict-eng-ara, which must be installed): its Arabic stems
  join the BM25 side of retrieval and the coverage features (matching.translated_terms).
Each question is asked three ways (top-k passages, their answer-sized sentences as features):
  - answerable: of its own set's index, the gold paragraph among the hits;
  - on-topic unanswerable: the same, with the gold paragraph held out of the hits (other
    paragraphs of the same article stay: hard cases);
  - off-topic: of the other set's index (ARCD questions of TyDi's, and the reverse).
The objective is the expected accuracy under PRIOR: an answerable question counts when its
best sentence holds the reference answer and scores above the threshold, the others when
refused. Questions are split 80/20. On the 80%: a logistic model (does a sentence hold the
answer?) and, from it, a coordinate-ascent fit of the objective itself; each candidate (and
the weights in place) gets its best threshold on the 80% and is judged on the held-out 20%.
Candidates: the single-stage logistic model and its coordinate-ascent fit (the best sentence's
probability decides the refusal), and a two-stage model: a conditional logit that ranks each
question's sentences, and a separate logistic answerability model over the best-ranked
sentence and the question as a whole (extractive.ANSWERABILITY), fitted on every kind of
question weighted as the objective weighs them; the single-stage fit never sees an
unanswerable question, so its probabilities say little about refusing one.
Each is also judged by 5-fold cross-validation (the 20% holds about 110 paraphrased pairs),
averaged over three fold seeds (FOLD_SEEDS); the best by that mean, if a point or more above
the weights in place, is kept, and its refusal threshold set by the same objective on all
questions. The weights in place are judged in the folds as their own form refitted on the
training folds (`in_place_form`): their fitted values have seen every fold's questions.
The news questions, which the weights in place may never have seen, are also judged alone
(`news_judged`: the weights in place against their form refitted in folds of the news
questions); a point or more there puts the form refitted in place.
Copy the printed weights, answerability weights and threshold into rag/extractive.py
(SCORERS).

With --second, the rule for a second quoted sentence is chosen instead, for the weights in
place, over the answerable questions (`second_sentence`); the cached features record where
each candidate sentence comes from (`_origins`). Copy its cut, its origin and its measure
into the Scorer (a rule named "...-odds" is second_by="odds").

With --metric [RIDGE], the ranker also reads the product of the question's and each
sentence's vector, dimension by dimension (384 features, ridge 0.3 by default); the
candidates are the two-stage model with and without them and the weights in place (with
their metric, if any). If the one with them is chosen, its 384 weights are written to
rag/metrics.json under the scorer's name (extractive.Scorer.metric); the rest is copied by
hand as always. --second --metric chooses the second-sentence rule for a scorer with one.

--choose CANDIDATE takes that candidate whatever the rule says (its threshold set on all
questions, its metric written if it has one), to put its weights in place by hand and ask
tests/qa for a measurement; what is kept is still the rule's choice.

    .venv/bin/python bench/fit_answerer.py --scorer e5 [--refresh] [--second] [--metric]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import pickle
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from rag import extractive, lexicon  # noqa: E402
from rag.evaluation import contains_answer  # noqa: E402
import squad_index  # noqa: E402
from squad_index import ARCD_TRAIN, TYDI, WORK, squad_retriever  # noqa: E402

# Share of questions that are answerable / on-topic but unanswerable / off-topic, as we
# expect people to ask a chat grounded in a news corpus. A product judgement, fixed here.
PRIOR = (0.8, 0.1, 0.1)
# The second model's features (rag/use.py) are read by the scorer with `use` only.
_USE = [extractive.FEATURES.index(f) for f in ("use_cos", "use_gap")]
UNUSED = {"lexical": [extractive.FEATURES.index(f) for f in (
              "sentence_cos_gap", "passage_cos", "neighbour_cos", "best_passage_cos",
              "passage_cos_margin")] + _USE,
          "e5": _USE, "e5-crosslingual": _USE, "e5-dictionary": [], "e5-english": []}
ENGLISH = ("e5-crosslingual", "e5-dictionary", "e5-english")


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2,
                 weights: np.ndarray | None = None, iterations: int = 50) -> np.ndarray:
    """Ridge logistic regression by Newton's method on standardised features (the cosines
    vary over a few hundredths, the coverages over the whole unit range), each row weighing
    `weights` (1 by default); returned in the features' own units, bias last."""
    sw = np.ones(len(x)) if weights is None else weights
    mean, std = x[:, :-1].mean(axis=0), x[:, :-1].std(axis=0)
    std[std == 0] = 1.0
    z = np.c_[(x[:, :-1] - mean) / std, np.ones(len(x))]
    w = np.zeros(z.shape[1])
    ridge = l2 * len(z) * np.r_[np.ones(z.shape[1] - 1), 0.0]
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(z @ w)))
        grad = z.T @ (sw * (p - y)) + ridge * w
        hess = (z * (sw * p * (1 - p))[:, None]).T @ z + np.diag(ridge + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    out = np.r_[w[:-1] / std, 0.0]
    out[-1] = w[-1] - float(np.sum(w[:-1] * mean / std))
    return out


def coordinate_ascent(w: np.ndarray, objective, frozen: list[int], scale: np.ndarray,
                      rounds: int = 3) -> np.ndarray:
    """Ranking fit: nudge one weight at a time (by multiples of 1/its feature's spread) while
    the top-1 objective improves. The bias (last) does not change a ranking: left alone."""
    best = objective(w)
    for _ in range(rounds):
        for j in range(len(w) - 1):
            if j in frozen:
                continue
            for delta in (-1.0, -0.5, -0.25, 0.25, 0.5, 1.0):
                trial = w.copy()
                trial[j] += delta / scale[j]
                score = objective(trial)
                if score > best + 1e-9:
                    best, w = score, trial
    return w


# Features that are the same for every sentence of a question cannot rank its sentences.
# (By name: bench/try_features.py adds features before the bias.)
QUESTION_LEVEL = ("best_passage_cov", "best_passage_cos", "passage_cos_margin", "bias")


def fit_ranker(items, frozen: list[int], l2: float | np.ndarray = 1e-2) -> np.ndarray:
    """Two-stage, stage one: a conditional logit over each answerable question's sentences
    (softmax of f . w; the target spread over the sentences holding the answer), fitted by
    Newton's method on standardised features; then scaled, and given a bias, so that its
    logistic is the probability that a sentence holds the answer (Platt's calibration, on the
    same sentences), as `score_sentences` promises and the second sentence's rule reads.
    `l2` is the ridge on the standardised weights, one for all or one per feature."""
    level = [extractive.FEATURES.index(f) for f in QUESTION_LEVEL]
    cols = [j for j in range(len(extractive.FEATURES)) if j not in level + frozen]
    data = [(f[:, cols], lab / lab.sum()) for f, lab in items if len(f) and lab.sum() > 0]
    allx = np.concatenate([x for x, _ in data])
    mean, std = allx.mean(axis=0), allx.std(axis=0)
    std[std == 0] = 1.0
    data = [((x - mean) / std, t) for x, t in data]
    w = np.zeros(len(cols))
    ridge = np.broadcast_to(np.asarray(l2, dtype=float), (len(extractive.FEATURES),))[cols]
    ridge = ridge * len(data)
    for _ in range(50):
        grad, hess = ridge * w, np.diag(ridge)
        for x, t in data:
            z = x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            grad += x.T @ (p - t)
            xp = x.T @ p
            hess += (x * p[:, None]).T @ x - np.outer(xp, xp)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    out = np.zeros(len(extractive.FEATURES))
    out[cols] = w / std
    z = np.concatenate([f @ out for f, _ in items])
    a, b = fit_logistic(np.c_[z, np.ones(len(z))], np.concatenate([lab for _, lab in items]),
                        l2=1e-6)
    out *= a
    out[extractive.FEATURES.index("bias")] = b
    return out


def fit_answerability(d: "Data", rank: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Two-stage, stage two: does the question's best-ranked sentence answer it? A logistic
    model over extractive.ANSWERABILITY (`answerability_rows`)."""
    x, y, sw = answerability_rows(d, rank)
    return fit_logistic(x, y, l2, weights=sw, iterations=100)


def answerability_rows(d: "Data", rank) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, labels, weights) of the answerability model: each question one row, weighted so
    that the groups count as in the objective (answerable Wikipedia-style and paraphrased 0.4
    each, on-topic 0.05 each, off-topic 0.1). An answerable question whose best sentence is
    wrong counts the same answered or refused, so it is left out."""
    xs, ys, ws = [], [], []
    halves = 2 if d.para_pos else 1  # without paraphrased questions, Wikipedia-style weigh all
    groups = [(d.pos, True, PRIOR[0] / halves), (d.para_pos, True, PRIOR[0] / 2),
              (d.on, False, PRIOR[1] / halves), (d.para_on, False, PRIOR[1] / 2),
              (d.off, False, PRIOR[2])]
    for items, answerable, weight in groups:
        rows = []
        for item in items:
            f, lab = item if answerable else (item, None)
            if not len(f):
                continue
            best, row = extractive.answerability_features(f, rank)
            if answerable and lab[best] <= 0:
                continue
            rows.append(row)
        xs += rows
        ys += [float(answerable)] * len(rows)
        ws += [weight / max(1, len(rows))] * len(rows)
    x, y, sw = np.array(xs), np.array(ys), np.array(ws)
    return x, y, sw * len(x) / sw.sum()


def crossfitted(train: "Data", fit) -> dict[int, object]:
    """For a fit that makes features (a metric, a bilinear match), what each training
    question's features should come from: `fit` on the training rows (answerable ones,
    `Data.rows`) without its fifth of them, so that it is judged as a held-out question is.
    Keyed by id() of each feature matrix: a question's answerable, on-topic and off-topic
    matrices share its fold; on-topic paraphrased ones were never fitted on, and any fold's
    fit is fair to them."""
    own: dict[int, object] = {}
    wiki = len(train.pos)
    for j in range(5):
        fitted = fit([x for i, x in enumerate(train.rows()) if i % 5 != j])
        for i in range(j, wiki, 5):
            for f in (train.pos[i][0], train.on[i], train.off[i]):
                own[id(f)] = fitted
        for i, (f, _) in enumerate(train.para_pos):  # rows() = pos + para_pos
            if (wiki + i) % 5 == j:
                own[id(f)] = fitted
        for f in train.para_on[j::5]:
            own[id(f)] = fitted
    return own


# --metric: one feature per dimension of the vectors, the question's times the sentence's, so
# that the ranker's weights on them are a diagonal metric (extractive.Scorer.metric).
METRIC = tuple(f"qs_{i}" for i in range(384))


def extend_features(names: tuple[str, ...]) -> None:
    """FEATURES gain `names` before the bias; every scorer's weights gain zeros for them (so
    the weights in place score as before; the answerability model never reads "qs_*")."""
    old = extractive.FEATURES
    extractive.FEATURES = old[:-1] + names + ("bias",)
    zeros = (0.0,) * len(names)
    for key, s in list(extractive.SCORERS.items()):
        able = s.answerability
        if able is not None and not all(n.startswith("qs_") for n in names):
            able = able[:len(old) - 1] + zeros + able[len(old) - 1:]
        extractive.SCORERS[key] = dataclasses.replace(
            s, weights=s.weights[:-1] + zeros + s.weights[-1:], answerability=able)


def metric_columns() -> list[int]:
    return [i for i, name in enumerate(extractive.FEATURES) if name.startswith("qs_")]


def metric_ridge(ridge: float) -> np.ndarray:
    """fit_ranker's ridge per feature: `ridge` on METRIC's, the usual 1e-2 on the others."""
    l2 = np.full(len(extractive.FEATURES), 1e-2)
    l2[metric_columns()] = ridge
    return l2


def metric_in_place(name: str) -> None:
    """FEATURES gain METRIC, and the scorer's weights its metric in place (zeros if none)."""
    extend_features(METRIC)
    scorer = extractive.SCORERS[name]
    if scorer.metric:
        weights = np.array(scorer.weights)
        weights[metric_columns()] = extractive.metric_of(scorer.metric)
        extractive.SCORERS[name] = dataclasses.replace(scorer, weights=tuple(weights))


def save_metric(name: str, weights: np.ndarray) -> str:
    """The scorer's fitted metric, written to rag/metrics.json (Scorer.metric names it)."""
    path = extractive.METRICS
    metrics = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    metrics[name] = [float(f"{v:.4g}") for v in weights]
    path.write_text(json.dumps(metrics, indent=None) + "\n", encoding="utf-8")
    return f"{path.relative_to(ROOT)}[{name!r}]: set metric={name!r} in its Scorer"


def features(retriever, question: str, k: int, gold: str | None, frozen: list[int]):  # noqa
    """(features with gold among the hits, features with gold held out, candidates)."""
    query = retriever.query(question)
    return feature_matrices(retriever, query, hit_lists(retriever, query, k, gold), frozen)


def hit_lists(retriever, query, k: int, gold: str | None) -> tuple[list, list]:
    """The top k hits, and the top k with the gold paragraph held out."""
    hits = retriever.search(query, k + 6)
    return hits[:k], [h for h in hits if h.passage.source != gold][:k]


def feature_matrices(retriever, query, hit_lists, frozen: list[int]):
    """(features, candidates) of the question over each list of hits: a row of FEATURES per
    candidate sentence (with the metric's products, if FEATURES has them), `frozen` zeroed."""
    metric = metric_columns()
    out = []
    for chosen in hit_lists:
        cands = extractive.sentence_features(query, chosen, retriever)
        f = np.array([fs for _, fs in cands], dtype=float).reshape(
            -1, len(extractive.FEATURES) - len(metric))
        if metric:
            none = np.zeros(len(metric))
            products = [query.vector * c.vector if c.vector is not None else none
                        for c, _ in cands]
            f = np.c_[f[:, :-1], np.array(products).reshape(-1, len(metric)), f[:, -1:]]
        f[:, frozen] = 0.0
        out.append((f, [c for c, _ in cands]))
    return out


def _origins(cands, gold: str | frozenset[str]) -> dict:
    """Where each candidate sentence of an answerable question comes from: its hit's rank
    (the passage), its source (the rank of the first hit of that source: in these sets a
    source is a paragraph, in the news stories an article) and whether that source is a gold
    one (the paragraph; any article that answers the question)."""
    golds = frozenset([gold]) if isinstance(gold, str) else gold
    first: dict[str, int] = {}
    for c in cands:
        first.setdefault(c.hit.passage.source, c.hit_rank)
    return {"hit": np.array([c.hit_rank for c in cands], dtype=int),
            "source": np.array([first[c.hit.passage.source] for c in cands], dtype=int),
            "gold": np.array([c.hit.passage.source in golds for c in cands], dtype=bool)}


# Paraphrased pairs (Arabic; English: the lines with "gold" of the English files): on
# ARCD-train paragraphs, and on TyDi-GoldP-ar dev paragraphs.
PARAPHRASE_FILES = ("arcd_train_paraphrase.jsonl", "tydi_dev_paraphrase.jsonl")
ENGLISH_FILES = ("arcd_train_en.jsonl", "tydi_dev_en.jsonl")


# News stories written for this (bench/README.md, "News-style fitting data"): each story three
# articles by different outlets on one event, with answerable questions in a person's own
# words (their answers verbatim, their sources every article that answers) and on-topic ones
# no article answers. Asked of one index over all the stories' articles, where the other
# articles of a question's story are on its topic, as the corpus's articles are.
NEWS_FILE = "news_written.json"


def news_stories() -> list[dict]:
    """The stories of NEWS_FILE ([] without it)."""
    path = ROOT / "bench" / NEWS_FILE
    return json.loads(path.read_text(encoding="utf-8"))["stories"] if path.exists() else []


def news_set(embedding: str):
    """(retriever, questions) of the written news stories (NEWS_FILE): their articles made a
    SQuAD file under WORK (each article one "paragraph"; a story's questions ride on its first
    article only because a SQuAD file must hold some, and are read from the stories) and
    indexed as the other sets are; each question with "sources" as the index names them.
    (None, []) without the file."""
    stories = news_stories()
    if not stories:
        return None, []
    squad = {"data": [{"title": s["story"], "paragraphs": [
        {"context": a["text"], "qas": [{"id": q["id"], "question": q["question"], "answers": []}
                                       for q in (s["questions"] if i == 0 else [])]}
        for i, a in enumerate(s["articles"])]} for s in stories]}
    made = squad_index.WORK / "news-written.json"  # its index: squad_index.WORK too
    text = json.dumps(squad, ensure_ascii=False)
    if not made.exists() or made.read_text(encoding="utf-8") != text:
        made.parent.mkdir(parents=True, exist_ok=True)
        made.write_text(text, encoding="utf-8")
    retriever, _, docs = squad_retriever(made, embedding)
    source_of = {d.text: src for src, d in docs.items()}
    questions = []
    for s in stories:
        article = {a["id"]: source_of[a["text"]] for a in s["articles"]}
        questions += [{**q, "sources": frozenset(article[a] for a in q["sources"])}
                      for q in s["questions"]]
    return retriever, questions


def _lines(*names: str) -> list[dict]:
    """The JSON lines of these files of bench/, those that exist."""
    paths = [ROOT / "bench" / n for n in names]
    return [json.loads(line) for p in paths if p.exists()
            for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]


def collect(args, frozen):
    """Features of every question: (answerable with gold, on-topic without, off-topic,
    paraphrased answerable, paraphrased on-topic), each a list of feature matrices (with
    labels for the answerable), then the answerable ones' candidate origins (`_origins`);
    the news stories' questions last in the paraphrased lists. Cached under bench/.work/ in
    two parts: the SQuAD sets' questions, and the news stories' (named by a digest of
    NEWS_FILE, so that new stories cost only their own questions)."""
    metric = "-metric" if metric_columns() else ""
    stem = f"fit-{args.scorer}-k{args.k}{metric}"  # of the current code
    embedding = "hashing-ngram-v1" if args.scorer == "lexical" else "e5-small-q4"
    squad = _cached(WORK / f"{stem}-squad.pkl", args.refresh,
                    lambda: squad_features(args, frozen, embedding))
    path = ROOT / "bench" / NEWS_FILE
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.exists() else "none"
    news = _cached(WORK / f"{stem}-news-{digest}.pkl", args.refresh,
                   lambda: news_features(args, frozen, embedding))
    pos, on, off, para_pos, para_on, pos_meta, para_meta = squad
    return (pos, on, off, para_pos + news[0], para_on + news[1], pos_meta, para_meta + news[2])


def _cached(path: Path, refresh: bool, make):
    """`make()`, kept in `path` (read from it unless `refresh`)."""
    if path.exists() and not refresh:
        return pickle.loads(path.read_bytes())
    data = make()
    path.write_bytes(pickle.dumps(data))
    return data


def squad_features(args, frozen, embedding: str):
    """`collect`'s tuple for ARCD-train's and TyDi's questions and the paraphrased pairs
    written on their paragraphs."""
    arcd, arcd_qs, _ = squad_retriever(ARCD_TRAIN, embedding)
    tydi, tydi_qs, tydi_docs = squad_retriever(TYDI, embedding)
    if args.scorer == "e5-dictionary" and arcd.lexicon is None:
        sys.exit(f"e5-dictionary needs the English-Arabic dictionary: {lexicon.INSTALL}")
    if args.scorer != "e5-dictionary":
        arcd.lexicon = tydi.lexicon = None
    if args.scorer in ENGLISH:  # translations, then paraphrases (lines with "gold")
        english = _lines(*ENGLISH_FILES)
        by_id = {q["id"]: q for q in arcd_qs}
        asked = [(arcd, tydi, {**by_id[e["id"]], "question": e["question"]})
                 for e in english if "gold" not in e]
        paraphrased = [e for e in english if "gold" in e]
    else:  # each set's questions, and asked of the other set's index as off-topic ones
        asked = [(arcd, tydi, q) for q in arcd_qs] + [(tydi, arcd, q) for q in tydi_qs]
        paraphrased = _lines(*PARAPHRASE_FILES)
    pos, on, off, pos_meta = [], [], [], []
    for own, other, q in asked:
        (f, cands), (f_on, _) = features(own, q["question"], args.k, q["gold"], frozen)
        lab = np.array([contains_answer(c.text, tuple(q["answers"])) for c in cands], dtype=float)
        pos.append((f, lab))
        pos_meta.append(_origins(cands, q["gold"]))
        on.append(f_on)
        off.append(features(other, q["question"], args.k, None, frozen)[0][0])
    # Questions in a person's own words (PARAPHRASE_FILES, written for this on all 231
    # ARCD-train paragraphs and on TyDi paragraphs): answerable ones, and on-topic ones their
    # paragraph does not answer, each asked of its paragraph's own set.
    own_words = [(tydi if q["gold"] in tydi_docs else arcd, q["question"], q["gold"], q)
                 for q in paraphrased]
    para_pos, para_on, para_meta = own_words_features(args, frozen, own_words)
    return (pos, on, off, para_pos, para_on, pos_meta, para_meta)


def news_features(args, frozen, embedding: str):
    """(answerable, on-topic, origins) of the written news stories' questions (in a person's
    own words too), asked of the news index; in English for the English scorers."""
    news, news_qs = news_set(embedding)
    if news is not None and args.scorer != "e5-dictionary":
        news.lexicon = None
    return own_words_features(args, frozen, [
        (news, q["question_en"] if args.scorer in ENGLISH else q["question"], q["sources"], q)
        for q in news_qs])


def own_words_features(args, frozen, own_words) -> tuple[list, list, list]:
    """(answerable, on-topic, origins) of questions asked in a person's own words, each
    (index, question, gold, line)."""
    para_pos, para_on, para_meta = [], [], []
    for own, question, gold, q in own_words:
        (f, cands), _ = features(own, question, args.k, None, frozen)
        if q["answerable"]:
            lab = np.array([contains_answer(c.text, tuple(q["answers"])) for c in cands],
                           dtype=float)
            para_pos.append((f, lab))
            para_meta.append(_origins(cands, gold))
        else:
            para_on.append(f)
    return para_pos, para_on, para_meta


def kind_checked(data, scorer):
    """With the scorer's `kind_required`, each question's sentences lacking the kind of answer
    it names are dropped, as `extractive.kind_checked` drops them (none left: refused).
    Chosen by this objective: with it, the e5 scorer's 5-fold mean rose .6628 -> .6688 for
    the weights in place and .6606 -> .6646 refitted (.6785 once the date pattern knew older
    years; bench/README.md); the cross-lingual scorer's fell then (.4904 -> .4801), and with
    the weights in place in the eleventh session the English scorers' were unchanged either
    way (`try_kind_check.py`), so they check as issue 8 asks; the lexical scorer does not."""
    if not scorer.kind_required:
        return data
    missing = extractive.FEATURES.index("kind_missing")
    pos, on, off, para_pos, para_on, pos_meta, para_meta = data

    def answerable(items, metas):  # the candidates' origins (`_origins`) dropped alike
        kept, kept_metas = [], []
        for (f, lab), m in zip(items, metas):
            keep = f[:, missing] == 0
            kept.append((f[keep], lab[keep]))
            kept_metas.append({k: v[keep] for k, v in m.items()})
        return kept, kept_metas

    (pos, pos_meta), (para_pos, para_meta) = answerable(pos, pos_meta), answerable(para_pos,
                                                                                    para_meta)
    unanswerable = lambda items: [f[f[:, missing] == 0] for f in items]  # noqa: E731
    return (pos, unanswerable(on), unanswerable(off), para_pos, unanswerable(para_on),
            pos_meta, para_meta)


def split(n: int, seed: int = 13) -> tuple[list[int], list[int]]:
    """(80% train, 20% held out) of range(n), by a fixed shuffle."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return sorted(order[n // 5:]), sorted(order[: n // 5])


def _best(w, f) -> float:
    """The logit on which a question is answered or refused: with `w` a plain weight vector,
    its best sentence's; with a (ranking, answerability) pair, the answerability model's on
    the best-ranked sentence (rag/extractive.py `answerable`)."""
    if not len(f):
        return -np.inf
    if isinstance(w, tuple):
        rank, able = w
        _, row = extractive.answerability_features(f, rank)
        return float(row @ able)
    return float((f @ w).max())


def _top(w, f) -> int:
    return int(np.argmax(f @ (w[0] if isinstance(w, tuple) else w)))


def _sig(z):
    return 1 / (1 + np.exp(-np.asarray(z)))


THRESHOLDS = np.arange(5, 96) / 100


class Data:
    """The questions of one side of a split: Wikipedia-style (ARCD/TyDi) and paraphrased."""

    def __init__(self, data, idx, para_pos_idx, para_on_idx):
        pos, on, off, para_pos, para_on = data[:5]
        self.pos = [pos[i] for i in idx]
        self.on = [on[i] for i in idx]
        self.off = [off[i] for i in idx]
        self.para_pos = [para_pos[i] for i in para_pos_idx]
        self.para_on = [para_on[i] for i in para_on_idx]

    @classmethod
    def every(cls, data) -> "Data":
        """All the questions of `data`."""
        return cls(data, range(len(data[0])), range(len(data[3])), range(len(data[4])))

    def rows(self):
        return self.pos + self.para_pos


def _answered(w, items, ts, strict):
    p = _sig([_best(w, f) for f, _ in items])
    good = np.array([not strict or (bool(len(f)) and lab[_top(w, f)] > 0)
                     for f, lab in items])
    return ((p[None, :] >= ts[:, None]) & good[None, :]).mean(axis=1)


def _refused(w, items, ts):
    p = _sig([_best(w, f) for f in items])
    return (p[None, :] < ts[:, None]).mean(axis=1)


def expected(w, d: Data, threshold=None, strict=True):
    """Expected accuracy under PRIOR: an answerable question counts when it is answered (with
    `strict`, only with a sentence holding the reference answer); the others when refused.
    Answerable and on-topic rates weigh Wikipedia-style and paraphrased questions equally
    (people ask in their own words at least as often as in an article's). (accuracy,
    threshold, rates) at the given threshold, or at the best one."""
    ts = THRESHOLDS if threshold is None else np.array([threshold])
    answered = _answered(w, d.pos, ts, strict)
    on = _refused(w, d.on, ts)
    if d.para_pos:
        answered = (answered + _answered(w, d.para_pos, ts, strict)) / 2
    if d.para_on:
        on = (on + _refused(w, d.para_on, ts)) / 2
    rates = np.stack([answered, on, _refused(w, d.off, ts)], axis=1)
    acc = rates @ np.array(PRIOR)
    i = int(np.argmax(acc))
    return float(acc[i]), float(ts[i]), rates[i]


# The 5-fold means that decide are averaged over these fold seeds: at one seed a candidate
# came out 1.2 points ahead and at another 0.4 (the bilinear match, bench/README.md).
FOLD_SEEDS = (13, 1, 2)


def crossvalidated_seeds(data, fit, prepare=None) -> tuple[float, list[float]]:
    """(mean, each) of `crossvalidated` at every seed of FOLD_SEEDS."""
    each = [crossvalidated(data, fit, seed=seed, prepare=prepare) for seed in FOLD_SEEDS]
    return round(float(np.mean(each)), 4), each


def fold_parts(n: int, seed: int, folds: int = 5) -> list[list[int]]:
    """range(n) shuffled by `seed` and dealt into `folds` parts, each sorted: the folds of
    `crossvalidated`, `second_sentence` and `news_judged` alike."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [sorted(order[i::folds]) for i in range(folds)]


def crossvalidated(data, fit, folds: int = 5, seed: int = 13, prepare=None) -> float:
    """Mean held-out expected accuracy over `folds` folds (threshold from the other folds):
    the 20% split holds about 110 paraphrased questions of each kind, and one of them moves its
    score by about a third of a point. `prepare(train)`, if given, returns a function that
    derives every question's features from what the training folds alone taught it
    (bench/try_features.py)."""
    def parts(n):
        return fold_parts(n, seed, folds)
    # answerable and on-topic paraphrased questions are folded apart: some pairs lost their
    # on-topic question (another paragraph of the set answers it)
    wiki, para, para_on = parts(len(data[0])), parts(len(data[3])), parts(len(data[4]))
    accs = []
    for i in range(folds):
        rest = lambda p: sorted(set(range(sum(map(len, p)))) - set(p[i]))  # noqa: E731
        train = Data(data, rest(wiki), rest(para), rest(para_on))
        fold = data
        if prepare is not None:
            fold = prepare(train)(data)
            train = Data(fold, rest(wiki), rest(para), rest(para_on))
        w = fit(train)
        accs.append(expected(w, Data(fold, wiki[i], para[i], para_on[i]),
                             expected(w, train)[1])[0])
    return round(float(np.mean(accs)), 4)


def _rows(d: Data):
    return (np.concatenate([f for f, _ in d.rows()]), np.concatenate([lab for _, lab in d.rows()]))


def _frozen(w, frozen):
    w[frozen] = 0.0
    return w


def _two_stage(d: Data, frozen, l2: float | np.ndarray = 1e-2):
    rank = fit_ranker(d.rows(), frozen, l2)
    return rank, fit_answerability(d, rank)


def in_place_form(data, scorer, frozen: list[int], l2: float | np.ndarray):
    """(data, fit) that refit the weights in place as they are: their model (two-stage or
    logistic) over the features they read, the others blanked (a feature added to try, the
    metric's products when the scorer has no metric). The weights in place cannot be judged
    by the folds themselves: they were fitted on every question, each fold's held-out ones
    too, and with a metric's 384 weights that flattered them by 3 points (e5-dictionary,
    .5963 in the folds against .5675 refitted in them), so no candidate could pass."""
    ranker = np.asarray(scorer.weights, dtype=float)
    able = scorer.answerability
    unread = [j for j, name in enumerate(extractive.FEATURES[:-1]) if ranker[j] == 0
              and (able is None or name.startswith("qs_") or able[j] == 0)]

    def blank(f):
        f = f.copy()
        f[:, unread] = 0.0
        return f
    pos, on, off, para_pos, para_on, *meta = data
    blanked = ([(blank(f), lab) for f, lab in pos], [blank(f) for f in on],
               [blank(f) for f in off], [(blank(f), lab) for f, lab in para_pos],
               [blank(f) for f in para_on], *meta)
    if able is None:
        return blanked, lambda d: _frozen(fit_logistic(*_rows(d)), frozen + unread)
    return blanked, lambda d: _two_stage(d, sorted(set(frozen + unread)), l2)


# The second quoted sentence (issue 8). Rules, each given a cut: after the best sentence,
# the best-ranked other sentence that the rule allows is quoted too when it is close enough.
# "ratio" allows any; "same-passage" only one of the best's passage, "same-source" of its
# source (here a paragraph, in the corpus an article); "kind" only one holding the question's
# kind (matching.kind_found) when the best does not. "one" quotes the best sentence alone.
# Close enough, by score: its score (the ranker's probability) is at least max(threshold,
# cut * the best's), RATIOS. By odds (the rules named "...-odds"): the ranker's odds of it
# against the best, exp(z - z_best), are at least the cut, ODDS. For a two-stage scorer the
# threshold is the answerability model's and the ranker is a conditional logit whose
# probabilities are only comparable within a question: the score rule then compared units
# that differ (quotes per answer 1.055 for e5), and the odds are the ranker's own measure of
# how close the second sentence comes.
RATIOS = (0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
ODDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
KIND = extractive.FEATURES.index("kind_found")
SECOND_FROM = {"any": "ratio", "source": "same-source", "passage": "same-passage"}  # Scorer's
SECOND_RULES = {
    "ratio": lambda f, m, a, b: True,
    "same-passage": lambda f, m, a, b: m["hit"][b] == m["hit"][a],
    "same-source": lambda f, m, a, b: m["source"][b] == m["source"][a],
    "kind": lambda f, m, a, b: f[a, KIND] == 0 and f[b, KIND] > 0,
    "kind+same-source": lambda f, m, a, b: (f[a, KIND] == 0 and f[b, KIND] > 0
                                            and m["source"][b] == m["source"][a]),
}
ODDS_RULES = ("ratio", "same-passage", "same-source")  # each also as "<name>-odds"
# A quote that does not hold the answer costs the reader a sentence read in vain: in the
# objective each second quote that does not hold the reference answer costs a quarter of a
# right answer (written before the odds rules were fitted; before them the objective counted
# right answers only, and no rule quoted much).
WASTED_QUOTE = 0.25


def _cuts(rule: str) -> tuple[float, ...]:
    return ODDS if rule.endswith("-odds") else RATIOS


def _quoted(scorer, f, meta):
    """Of an answerable question: the index of its best sentence and, for each rule, that
    of its second sentence (or None) at each of the rule's cuts. None when the scorer
    refuses the question (no rule can change that)."""
    if not len(f):
        return None
    w = np.asarray(scorer.weights, dtype=float)
    z = f @ w
    p = _sig(z)
    if scorer.answerability is not None:
        _, row = extractive.answerability_features(f, w)
        able = float(_sig(row @ np.asarray(scorer.answerability)))
    else:
        able = float(p.max())
    if able < scorer.threshold:
        return None
    order = np.argsort(-p, kind="stable")
    a = int(order[0])
    seconds = {}
    for name, allowed in SECOND_RULES.items():
        b = next((int(j) for j in order[1:] if allowed(f, meta, a, int(j))), None)
        seconds[name] = [b if b is not None and p[b] >= max(scorer.threshold, r * p[a])
                         else None for r in RATIOS]
        if name in ODDS_RULES:
            seconds[f"{name}-odds"] = [b if b is not None and np.exp(z[b] - z[a]) >= r
                                       else None for r in ODDS]
    return a, seconds


def _outcome(item, meta, chosen):
    """(right: any quote holds the reference answer and every quote is from the gold
    paragraph, holds the answer, quotes, quotes from the gold paragraph, second quotes that
    do not hold the answer)."""
    _, lab = item
    holds = any(lab[i] > 0 for i in chosen)
    gold = sum(bool(meta["gold"][i]) for i in chosen)
    wasted = sum(lab[i] <= 0 for i in chosen[1:])
    return float(holds and gold == len(chosen)), float(holds), len(chosen), gold, wasted


def second_sentence(args, data) -> dict:
    """Choose the second-sentence rule for the scorer in place (its weights and threshold) by
    a rule written before looking: the objective is, over answerable questions the scorer
    answers, the share whose quotes hold the reference answer and all come from the gold
    paragraph (a quote from another paragraph is a wrong citation), less WASTED_QUOTE for
    each second quote that does not hold the answer, Wikipedia-style and paraphrased
    questions weighing half each as in `expected`. Refusals do not depend on this rule. Each
    rule's cut is fitted on the training side (the 80% split; in 5-fold CV the other folds)
    from its cuts (RATIOS or ODDS), and also judged at the cut in place; each ratio is judged
    fixed too. Kept: the best 5-fold mean over FOLD_SEEDS (ties to the earlier listed: one
    sentence only, then the rules at the cut in place), the rule in place unless beaten by
    half a point or more."""
    scorer = extractive.SCORERS[args.scorer]
    pos, para_pos, pos_meta, para_meta = data[0], data[3], data[5], data[6]
    groups = []
    for items, metas in ((pos, pos_meta), (para_pos, para_meta)):
        rows = []
        for item, meta in zip(items, metas):
            q = _quoted(scorer, item[0], meta)
            if q is not None:
                rows.append((item, meta, q))
        groups.append(rows)

    def score(rows, rule, r):
        """(objective, answer holds, citation precision, quotes per answer, right answers)
        of `rows`."""
        out = []
        for item, meta, (a, seconds) in rows:
            b = None if rule is None else seconds[rule][r]
            out.append(_outcome(item, meta, [a] + ([b] if b is not None else [])))
        if not out:
            return np.zeros(5)
        o = np.array(out)
        return np.array([o[:, 0].mean() - WASTED_QUOTE * o[:, 4].mean(), o[:, 1].mean(),
                         o[:, 3].sum() / o[:, 2].sum(), o[:, 2].mean(), o[:, 0].mean()])

    def judged(parts, rule, r):
        vals = [score(rows, rule, r) for rows in parts if rows]
        return np.mean(vals, axis=0)

    def fit_cut(parts, rule):
        return max(range(len(_cuts(rule))), key=lambda r: (judged(parts, rule, r)[0], r))

    by = "-odds" if scorer.second_by == "odds" else ""
    current = _cuts(by).index(scorer.second_ratio)
    in_place = f"{SECOND_FROM[scorer.second_from]}{by}@{_cuts(by)[current]}"
    candidates = {"one": (None, None)}
    names = list(SECOND_RULES) + [f"{name}-odds" for name in ODDS_RULES]
    for name in names:
        if _cuts(name) is _cuts(by):
            candidates[f"{name}@{_cuts(by)[current]}"] = (name, current)
        candidates[f"{name}@fitted"] = (name, "fit")
    for r in range(len(RATIOS)):
        candidates.setdefault(f"ratio@{RATIOS[r]}", ("ratio", r))

    def parts_of(n, seed):
        return [set(part) for part in fold_parts(n, seed)]

    # Questions are split as in `main` and `crossvalidated` (by question, before refusals).
    index = [{id(it): i for i, it in enumerate(items)} for items in (pos, para_pos)]
    ids = [[index[g][id(row[0])] for row in groups[g]] for g in range(2)]

    def side(sets):
        return [[row for row, i in zip(groups[g], ids[g]) if i in sets[g]] for g in range(2)]

    train_i, test_i = split(len(pos))
    ptrain, ptest = split(len(para_pos))
    train = side([set(train_i), set(ptrain)])
    test = side([set(test_i), set(ptest)])
    folds = [[parts_of(len(pos), seed), parts_of(len(para_pos), seed)] for seed in FOLD_SEEDS]
    report = {}
    for name, (rule, r) in candidates.items():
        def run(tr, te):
            cut = fit_cut(tr, rule) if r == "fit" else r
            return judged(te, rule, cut), cut
        held, cut = run(train, test)
        cv, cuts = [], []
        for wiki, para in folds:
            for i in range(5):
                te = side([wiki[i], para[i]])
                tr = side([set(range(len(pos))) - wiki[i], set(range(len(para_pos))) - para[i]])
                v, c = run(tr, te)
                cv.append(v)
                cuts.append(c)
        cv = np.mean(cv, axis=0)
        every = judged(groups, rule, fit_cut(groups, rule) if r == "fit" else r)
        report[name] = {
            "heldout": round(float(held[0]), 4), "cv5": round(float(cv[0]), 4),
            "cv5_answer": round(float(cv[1]), 4), "cv5_citation_precision": round(float(cv[2]), 4),
            "cv5_quotes": round(float(cv[3]), 3), "cv5_right": round(float(cv[4]), 4),
            "cut": None if rule is None else (_cuts(rule)[cut] if r != "fit" else
                                              _cuts(rule)[fit_cut(groups, rule)]),
            "cv5_cuts": None if r != "fit" else [_cuts(rule)[c] for c in cuts],
            "all": round(float(every[0]), 4)}
    order = list(candidates)
    best = max(order, key=lambda k: (report[k]["cv5"], -order.index(k)))
    chosen = best if report[best]["cv5"] >= report[in_place]["cv5"] + 0.005 else in_place
    return {"scorer": args.scorer, "answered": [len(g) for g in groups],
            "asked": [len(pos), len(para_pos)],
            "gold_among_hits": round(float(np.mean([m["gold"].any() for m in pos_meta])), 4),
            "in_place": in_place, "chosen": chosen, "rules": report}


def news_counts() -> tuple[int, int]:
    """(answerable, unanswerable) questions of NEWS_FILE: the last of `collect`'s paraphrased
    ones of each kind."""
    qs = [q for s in news_stories() for q in s["questions"]]
    return sum(q["answerable"] for q in qs), sum(not q["answerable"] for q in qs)


def news_rates(w, d, t: float) -> np.ndarray:
    """(answered rightly, on-topic refused, the two mixed as PRIOR mixes them, 0.8 / 0.1
    scaled to one) of the paraphrased questions of `d` under weights `w` and threshold `t`."""
    mix = np.array([PRIOR[0], PRIOR[1]]) / (PRIOR[0] + PRIOR[1])
    t = np.array([t])
    r = np.array([_answered(w, d.para_pos, t, True)[0], _refused(w, d.para_on, t)[0]])
    return np.r_[r, r @ mix]


def weights_in_place(scorer):
    """The scorer's weights as the fits' candidates are: the ranker's, with the answerability
    model's beside them if it has one."""
    current = np.array(scorer.weights, dtype=float)
    if scorer.answerability is not None:
        current = (current, np.array(scorer.answerability, dtype=float))
    return current


def news_judged(data, current, threshold, form_data, form_fit) -> dict | None:
    """The news questions alone, which weights fitted before they were written never saw
    (weights fitted with them are flattered here, as `in_place_form` says): the share answered
    rightly, the share of on-topic ones refused, and the two mixed as PRIOR mixes them (0.8 /
    0.1, scaled to one), for the weights in place at their threshold and for their form
    refitted in 5 folds of the news questions (every other question always trains), over
    FOLD_SEEDS. None without news questions."""
    n_pos, n_on = news_counts()
    if not n_pos:
        return None
    n_para, n_para_on = len(data[3]), len(data[4])
    out = {"in_place": [], "refit": []}
    for seed in FOLD_SEEDS:  # the news questions are the last of each list
        pos_parts, on_parts = fold_parts(n_pos, seed), fold_parts(n_on, seed)
        for pos_part, on_part in zip(pos_parts, on_parts):
            held_pos = [n_para - n_pos + j for j in pos_part]
            held_on = [n_para_on - n_on + j for j in on_part]
            train = Data(form_data, range(len(data[0])),
                         sorted(set(range(n_para)) - set(held_pos)),
                         sorted(set(range(n_para_on)) - set(held_on)))
            w = form_fit(train)
            out["refit"].append(news_rates(w, Data(form_data, [], held_pos, held_on),
                                           expected(w, train)[1]))
            out["in_place"].append(news_rates(current, Data(data, [], held_pos, held_on),
                                              threshold))
    return {k: dict(zip(("answered_correctly", "refused_on_topic", "mixed"),
                        np.round(np.mean(v, axis=0), 4).tolist())) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scorer", choices=sorted(UNUSED), default="e5")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--refresh", action="store_true",
                        help="recompute the features (after a change to rag/extractive.py)")
    parser.add_argument("--second", action="store_true",
                        help="choose the rule for the second quoted sentence (issue 8)")
    parser.add_argument("--metric", type=float, nargs="?", const=0.3, metavar="RIDGE",
                        help="fit a metric for the vectors with the ranker (Scorer.metric), "
                        "its weights under this ridge (default 0.3); if chosen, it is written "
                        "to rag/metrics.json")
    parser.add_argument("--choose", metavar="CANDIDATE",
                        help="take this candidate whatever the rule says, for a measurement "
                        "(its weights put in place by hand and tests/qa asked): the rule "
                        "still decides what is kept")
    args = parser.parse_args()
    frozen = UNUSED[args.scorer]
    if args.metric is not None:
        metric_in_place(args.scorer)
    data = kind_checked(collect(args, frozen), extractive.SCORERS[args.scorer])
    if args.second:
        print(json.dumps(second_sentence(args, data), ensure_ascii=False))
        return
    train_i, test_i = split(len(data[0]))
    ptrain, ptest = split(len(data[3]))
    otrain, otest = split(len(data[4]))
    train, test = Data(data, train_i, ptrain, otrain), Data(data, test_i, ptest, otest)
    every = Data.every(data)
    scorer = extractive.SCORERS[args.scorer]
    current = weights_in_place(scorer)
    metric = metric_columns()
    if metric:  # the ranker's 384 more weights: the single-stage fits would take hours
        l2 = metric_ridge(args.metric)
        fits = {"two-stage": lambda d: _two_stage(d, frozen, l2),
                "two-stage without metric": lambda d: _two_stage(d, frozen + metric),
                "current": lambda d: current}
    else:
        fits = {"logistic": lambda d: _frozen(fit_logistic(*_rows(d)), frozen),
                "fitted": None, "two-stage": lambda d: _two_stage(d, frozen),
                "current": lambda d: current}
    candidates = {}
    for name, fit in fits.items():
        if name == "fitted":
            x = _rows(train)[0]
            scale = x.std(axis=0)
            scale[scale == 0] = 1.0
            candidates[name] = coordinate_ascent(candidates["logistic"].copy(),
                                                 lambda w: expected(w, train)[0], frozen, scale)
        else:
            candidates[name] = fit(train)
    report = {}
    for name, w in candidates.items():  # threshold from the 80%, judged on the held-out 20%
        _, t, _ = expected(w, train)
        acc, _, rates = expected(w, test, t)
        report[name] = {"heldout_expected_accuracy": round(acc, 4), "threshold": t,
                        "answered_correctly": round(float(rates[0]), 4),
                        "refused_on_topic": round(float(rates[1]), 4),
                        "refused_off_topic": round(float(rates[2]), 4)}
    for name, fit in fits.items():
        if fit is not None and name != "current":
            (report[name]["cv5_expected_accuracy"],
             report[name]["cv5_by_seed"]) = crossvalidated_seeds(data, fit)
    # The weights in place, judged by the folds as their form refitted on each fold's
    # training side (`in_place_form`); their own weights' fold means, fitted on the held-out
    # folds too, are shown beside it and decide nothing.
    form_data, form_fit = in_place_form(data, scorer, frozen,
                                        metric_ridge(args.metric) if metric else 1e-2)
    refit = form_fit(Data(form_data, train_i, ptrain, otrain))
    here = report["current"]
    here["heldout_in_sample"] = here["heldout_expected_accuracy"]
    here["heldout_expected_accuracy"] = round(expected(
        refit, Data(form_data, test_i, ptest, otest),
        expected(refit, Data(form_data, train_i, ptrain, otrain))[1])[0], 4)
    here["cv5_expected_accuracy"], here["cv5_by_seed"] = crossvalidated_seeds(form_data, form_fit)
    here["cv5_in_sample"] = crossvalidated_seeds(data, fits["current"])[0]
    news = news_judged(data, current, scorer.threshold, form_data, form_fit)
    if news:
        here["news_5fold"] = news
    # Chosen by the 5-fold mean over FOLD_SEEDS (the single 20% split is too small to rank
    # close candidates), and only by a point or more over the weights in place. The
    # coordinate-ascent fit is too slow to cross-validate: it counts as the logistic model it
    # starts from plus what it adds on the split (its split number against the others' 5-fold
    # means favoured it whenever the split ran easier than the folds).
    def merit(k):
        r = report[k]
        if k == "fitted":
            return report["logistic"]["cv5_expected_accuracy"] + (
                r["heldout_expected_accuracy"] - report["logistic"]["heldout_expected_accuracy"])
        return r["cv5_expected_accuracy"] + (0.01 if k == "current" else 0.0)
    chosen = max(report, key=lambda k: (merit(k), k == "current"))
    # The news stories' questions (NEWS_FILE) are of a kind the weights in place never saw:
    # when their form refitted gains a point or more on them (`news_judged`), the weights in
    # place give way to that form refitted (the two-stage candidate: every scorer in place
    # with an answerability model is one; with --metric, the one with the metric).
    if (news and chosen == "current" and scorer.answerability is not None
            and news["refit"]["mixed"] >= news["in_place"]["mixed"] + 0.01):
        chosen = "two-stage"
    if args.choose:
        if args.choose not in report:
            sys.exit(f"--choose takes one of {', '.join(report)}")
        chosen = args.choose
    w = candidates[chosen]
    # The refusal threshold by the same objective, on all questions: an answerable question
    # counts only when its answer is right. (Issue 2's rule counted any answer; with the
    # paraphrased questions in the pool it refuses almost nothing: reported, not used.)
    strict_acc, threshold, strict_rates = expected(w, every)
    # Like the weights, the threshold in place stays unless another gains half a point: the
    # objective is flat near its top (0.50 to 0.57 differ by 0.0005 with the 195 pairs), and
    # bootstrapped questions put its argmax anywhere from 0.47 to 0.66.
    if chosen == "current":
        kept = expected(w, every, scorer.threshold)
        if strict_acc < kept[0] + 0.005:
            strict_acc, threshold, strict_rates = kept
    acc, lenient_threshold, rates = expected(w, every, strict=False)
    rates = expected(w, every, threshold, strict=False)[2]
    rounded = lambda ws: [round(float(v), 3) for v in ws]  # noqa: E731
    own = [i for i in range(len(extractive.FEATURES)) if i not in metric]
    weights = w[0] if isinstance(w, tuple) else w
    saved = None
    if metric and chosen == "two-stage":
        saved = save_metric(args.scorer, weights[metric])
    elif metric and chosen == "two-stage without metric":
        saved = "none: remove the metric its Scorer names, if any"
    print(json.dumps({
        "scorer": args.scorer, "questions": len(data[0]),
        "paraphrased": [len(data[3]), len(data[4])],
        "features": [f for f in extractive.FEATURES if not f.startswith("qs_")],
        "sentences": int(sum(len(f) for f, _ in every.rows())),
        "positives": int(sum(lab.sum() for _, lab in every.rows())),
        "heldout": report, "chosen": chosen,
        **{name: rounded(candidates[name]) for name in ("logistic", "fitted")
           if name in candidates},
        "two_stage": [rounded(part[own] if i == 0 else part)
                      for i, part in enumerate(candidates["two-stage"])],
        "answerability_features": extractive.ANSWERABILITY,
        "weights": rounded(weights[own]), "metric_saved": saved,
        "answerability": rounded(w[1]) if isinstance(w, tuple) else None,
        "threshold": threshold,
        "lenient_threshold": lenient_threshold,
        "expected_accuracy_all": round(acc, 4), "answered": round(float(rates[0]), 4),
        "answered_correctly": round(float(strict_rates[0]), 4),
        "strict_expected_accuracy_all": round(strict_acc, 4),
        "refused_on_topic": round(float(rates[1]), 4),
        "refused_off_topic": round(float(rates[2]), 4),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
