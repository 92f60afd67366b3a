/* vq_prior.c - autoregressive priors over VQ code indices (see vq_prior.h). */
#include "models/vq_prior.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int add4(dsi_params *ps, int g, const char *name, int a, int b, int c, int d)
{
    int sh[4] = {a, b, c, d};
    return dsi_params_add(ps, name, g, 4, sh);
}

static int add_n(dsi_params *ps, int g, const char *name, int nd, int a, int b)
{
    int sh[2] = {a, b};
    return dsi_params_add(ps, name, g, nd, sh);
}

dsn_status dsi_vq_prior_add(dsi_vq_prior *p, dsi_params *ps, int g, int seq, int K, int C, int layers, int kernel,
                            int hid, int gh, int gw)
{
    memset(p, 0, sizeof *p);
    if (layers < 1 || layers > DSI_VQP_MAX_LAYERS || kernel < 1 || kernel % 2 == 0)
        return dsi_error(DSN_E_OPTION, "prior: layers %d must be in [1, %d] and kernel %d odd", layers,
                         DSI_VQP_MAX_LAYERS, kernel);
    p->seq = seq;
    p->K = K;
    p->C = C;
    p->layers = layers;
    p->kernel = kernel;
    p->hid = hid;
    p->gh = gh;
    p->gw = gw;
    int ok = (p->emb = add_n(ps, g, "prior.emb", 2, K + 1, C)) >= 0;
    char nm[DSI_PARAM_NAME];
    if (!seq) {
        int k = kernel, c = k / 2;
        p->masks = dsi_calloc(4 * (size_t)k * k, sizeof(float));
        if (!p->masks) return dsi_error(DSN_E_NOMEM, "prior: out of memory");
        float *va = p->masks, *vb = va + k * k, *ha = vb + k * k, *hb = ha + k * k;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
                va[i * k + j] = i < c;
                vb[i * k + j] = i <= c;
                ha[i * k + j] = i == c && j < c;
                hb[i * k + j] = i == c && j <= c;
            }
        for (int l = 0; ok && l < layers; l++) {
#define P4(field, suffix, a, b, cc, d)                                   \
    snprintf(nm, sizeof nm, "prior.l%d.%s", l, suffix);                  \
    ok = ok && (p->field[l] = add4(ps, g, nm, a, b, cc, d)) >= 0;
#define P1(field, suffix, a)                                             \
    snprintf(nm, sizeof nm, "prior.l%d.%s", l, suffix);                  \
    ok = ok && (p->field[l] = add_n(ps, g, nm, 1, a, 1)) >= 0;
            P4(vw, "v.w", 2 * C, C, k, k) P1(vb, "v.b", 2 * C)
            P4(hw, "h.w", 2 * C, C, k, k) P1(hb, "h.b", 2 * C)
            P4(vhw, "vh.w", 2 * C, 2 * C, 1, 1) P1(vhb, "vh.b", 2 * C)
            P4(ow, "o.w", C, C, 1, 1) P1(ob, "o.b", C)
#undef P4
#undef P1
        }
        ok = ok && (p->h1w = add4(ps, g, "prior.head1.w", hid, C, 1, 1)) >= 0;
        ok = ok && (p->h1b = add_n(ps, g, "prior.head1.b", 1, hid, 1)) >= 0;
        ok = ok && (p->h2w = add4(ps, g, "prior.head2.w", K, hid, 1, 1)) >= 0;
        ok = ok && (p->h2b = add_n(ps, g, "prior.head2.b", 1, K, 1)) >= 0;
    } else {
        ok = ok && (p->lwx = add_n(ps, g, "prior.lstm.wx", 2, C, 4 * C)) >= 0;
        ok = ok && (p->lwh = add_n(ps, g, "prior.lstm.wh", 2, C, 4 * C)) >= 0;
        ok = ok && (p->lb = add_n(ps, g, "prior.lstm.b", 1, 4 * C, 1)) >= 0;
        ok = ok && (p->h1w = add_n(ps, g, "prior.head1.w", 2, C, hid)) >= 0;
        ok = ok && (p->h1b = add_n(ps, g, "prior.head1.b", 1, hid, 1)) >= 0;
        ok = ok && (p->h2w = add_n(ps, g, "prior.head2.w", 2, hid, K)) >= 0;
        ok = ok && (p->h2b = add_n(ps, g, "prior.head2.b", 1, K, 1)) >= 0;
    }
    return ok ? DSN_OK : DSN_E_INTERNAL;
}

void dsi_vq_prior_release(dsi_vq_prior *p)
{
    if (!p) return;
    dsi_free(p->masks);
    p->masks = NULL;
}

void dsi_vq_prior_init(dsi_vq_prior *p, dsi_params *ps, dsi_rng *rng)
{
    int C = p->C, k = p->kernel;
    dsi_params_init_fanin(ps, p->emb, 1, rng);
    if (!p->seq) {
        for (int l = 0; l < p->layers; l++) {
            /* fan-in of the unmasked taps, roughly half the kernel */
            int fv = C * (k / 2 + 1) * k, fh = C * (k / 2 + 1);
            dsi_params_init_fanin(ps, p->vw[l], fv, rng);
            dsi_params_init_fanin(ps, p->vb[l], fv, rng);
            dsi_params_init_fanin(ps, p->hw[l], fh, rng);
            dsi_params_init_fanin(ps, p->hb[l], fh, rng);
            dsi_params_init_fanin(ps, p->vhw[l], 2 * C, rng);
            dsi_params_init_fanin(ps, p->vhb[l], 2 * C, rng);
            dsi_params_init_fanin(ps, p->ow[l], C, rng);
            dsi_params_init_fanin(ps, p->ob[l], C, rng);
        }
    } else {
        dsi_params_init_fanin(ps, p->lwx, C, rng);
        dsi_params_init_fanin(ps, p->lwh, C, rng);
        dsi_params_init_fanin(ps, p->lb, C, rng);
    }
    dsi_params_init_fanin(ps, p->h1w, C, rng);
    dsi_params_init_fanin(ps, p->h1b, C, rng);
    dsi_params_init_fanin(ps, p->h2w, p->hid, rng);
    dsi_params_init_fanin(ps, p->h2b, p->hid, rng);
}

int dsi_vq_prior_class_axis(const dsi_vq_prior *p) { return p->seq ? 2 : 1; }

#define PV(i) dsi_params_var(ps, (i))

/* tanh(a) * sigmoid(b) over the two channel halves of x [N, 2C, ...] */
static dsi_var *gate(dsi_tape *t, dsi_var *x, int C)
{
    return dsi_mul(t, dsi_tanh(t, dsi_slice(t, x, 1, 0, C)), dsi_sigmoid(t, dsi_slice(t, x, 1, C, C)));
}

static dsi_var *masked(dsi_tape *t, dsi_var *w, const float *mask, int k)
{
    int sh[2] = {k, k};
    return dsi_mul(t, w, dsi_tape_wrap(t, mask, 2, sh));
}

dsi_var *dsi_vq_prior_logits(dsi_tape *t, const dsi_vq_prior *p, dsi_params *ps, const int32_t *codes, int N)
{
    int C = p->C, k = p->kernel, P = p->gh * p->gw;
    size_t M = (size_t)N * P;
    int *idx = dsi_tape_scratch(t, sizeof(int) * (M + 1));
    if (!idx) return NULL;
    if (!p->seq) {
        for (size_t i = 0; i < M; i++) idx[i] = codes[i];
    } else {
        for (int n = 0; n < N; n++)
            for (int s = 0; s < P; s++) idx[(size_t)n * P + s] = s ? codes[(size_t)n * P + s - 1] : p->K;
    }
    dsi_var *e = dsi_gather_rows(t, PV(p->emb), idx, (int)M);
    if (p->seq) {
        int sh[3] = {N, P, C};
        dsi_var *x = dsi_reshape(t, e, 3, sh);
        dsi_var *h = dsi_lstm(t, x, PV(p->lwx), PV(p->lwh), PV(p->lb), NULL, NULL, 0, NULL);
        h = dsi_linear(t, h, PV(p->h1w), PV(p->h1b), DSI_ACT_RELU);
        return dsi_linear(t, h, PV(p->h2w), PV(p->h2b), DSI_ACT_NONE);
    }
    int sh[4] = {N, p->gh, p->gw, C}, perm[4] = {0, 3, 1, 2};
    dsi_var *x = dsi_transpose(t, dsi_reshape(t, e, 4, sh), perm);
    const float *va = p->masks, *vb = va + k * k, *ha = vb + k * k, *hb = ha + k * k;
    dsi_var *v = x, *h = x;
    for (int l = 0; l < p->layers; l++) {
        dsi_var *vpre = dsi_conv2d(t, v, masked(t, PV(p->vw[l]), l ? vb : va, k), PV(p->vb[l]), 1, k / 2);
        dsi_var *hpre = dsi_conv2d(t, h, masked(t, PV(p->hw[l]), l ? hb : ha, k), PV(p->hb[l]), 1, k / 2);
        hpre = dsi_add(t, hpre, dsi_conv2d(t, vpre, PV(p->vhw[l]), PV(p->vhb[l]), 1, 0));
        dsi_var *ho = dsi_conv2d(t, gate(t, hpre, C), PV(p->ow[l]), PV(p->ob[l]), 1, 0);
        h = l ? dsi_add(t, h, ho) : ho;
        if (l + 1 < p->layers) v = gate(t, vpre, C);
    }
    h = dsi_relu(t, dsi_conv2d(t, dsi_relu(t, h), PV(p->h1w), PV(p->h1b), 1, 0));
    return dsi_conv2d(t, h, PV(p->h2w), PV(p->h2b), 1, 0);
}

dsi_var *dsi_vq_prior_nll(dsi_tape *t, const dsi_vq_prior *p, dsi_params *ps, const int32_t *codes, int N)
{
    dsi_var *lg = dsi_vq_prior_logits(t, p, ps, codes, N);
    return dsi_softmax_xent(t, lg, codes, dsi_vq_prior_class_axis(p), 1);
}

/* the value of rank k (0-based, descending) among a[0..n-1]; reorders a */
static float kth_largest(float *a, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        float piv = a[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] > piv) i++;
            while (a[j] < piv) j--;
            if (i <= j) {
                float tmp = a[i];
                a[i] = a[j];
                a[j] = tmp;
                i++;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return a[k];
    }
    return a[k];
}

int dsi_vq_sample_logits(const float *logits, size_t stride, int K, float temperature, int top_k, float *scratch,
                         dsi_rng *rng)
{
    int best = 0;
    for (int k = 1; k < K; k++)
        if (logits[(size_t)k * stride] > logits[(size_t)best * stride]) best = k;
    if (!(temperature > 0.0f) || K == 1) return best;
    float thr = -INFINITY, mx = logits[(size_t)best * stride] / temperature;
    if (top_k > 0 && top_k < K) {
        for (int k = 0; k < K; k++) scratch[K + k] = logits[(size_t)k * stride];
        thr = kth_largest(scratch + K, K, top_k - 1);
    }
    double z = 0.0;
    for (int k = 0; k < K; k++) {
        float l = logits[(size_t)k * stride];
        float e = l >= thr ? expf(l / temperature - mx) : 0.0f;
        scratch[k] = e;
        z += e;
    }
    double u = dsi_rng_uniform_d(rng) * z, acc = 0.0;
    int last = best;
    for (int k = 0; k < K; k++) {
        if (scratch[k] <= 0.0f) continue;
        acc += scratch[k];
        last = k;
        if (acc > u) return k;
    }
    return last;
}

dsn_status dsi_vq_prior_sample(dsi_tape *t, const dsi_vq_prior *p, dsi_params *ps, int32_t *codes, int N,
                               float temperature, int top_k, dsi_rng *rng)
{
    int P = p->gh * p->gw, K = p->K;
    memset(codes, 0, sizeof(int32_t) * (size_t)N * P);
    if (!p->seq) {
        for (int pos = 0; pos < P; pos++) {
            dsi_tape_reset(t);
            float *scratch = dsi_tape_scratch(t, sizeof(float) * 2 * (size_t)K);
            dsi_var *lg = dsi_vq_prior_logits(t, p, ps, codes, N);
            if (!lg || !scratch) return t->status != DSN_OK ? t->status : DSN_E_INTERNAL;
            for (int n = 0; n < N; n++)
                codes[(size_t)n * P + pos] =
                    dsi_vq_sample_logits(lg->x + (size_t)n * K * P + pos, (size_t)P, K, temperature, top_k, scratch, rng);
        }
        return DSN_OK;
    }
    float *scratch = dsi_tape_scratch(t, sizeof(float) * 2 * (size_t)K);
    int *idx = dsi_tape_scratch(t, sizeof(int) * (size_t)N);
    if (!scratch || !idx) return t->status;
    dsi_var *h = NULL, *c = NULL;
    for (int s = 0; s < P; s++) {
        for (int n = 0; n < N; n++) idx[n] = s ? codes[(size_t)n * P + s - 1] : K;
        dsi_var *x = dsi_gather_rows(t, PV(p->emb), idx, N);
        if (dsi_lstm_cell(t, x, h, c, PV(p->lwx), PV(p->lwh), PV(p->lb), &h, &c) != DSN_OK || !h) {
            return t->status != DSN_OK ? t->status : DSN_E_INTERNAL;
        }
        dsi_var *y = dsi_linear(t, h, PV(p->h1w), PV(p->h1b), DSI_ACT_RELU);
        y = dsi_linear(t, y, PV(p->h2w), PV(p->h2b), DSI_ACT_NONE);
        if (!y) return t->status != DSN_OK ? t->status : DSN_E_INTERNAL;
        for (int n = 0; n < N; n++)
            codes[(size_t)n * P + s] = dsi_vq_sample_logits(y->x + (size_t)n * K, 1, K, temperature, top_k, scratch, rng);
    }
    return DSN_OK;
}
