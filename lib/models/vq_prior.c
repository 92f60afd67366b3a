/* vq_prior.c - autoregressive priors over VQ code indices (see vq_prior.h). */
#include "models/vq_prior.h"

#include <math.h>
#include <string.h>

dsn_status dsi_vq_prior_add(dsi_vq_prior *p, dsi_params *ps, int g, int seq, int K, int C, int layers, int kernel,
                            int hid, int gh, int gw)
{
    memset(p, 0, sizeof *p);
    p->seq = seq;
    p->K = K;
    p->C = C;
    p->hid = hid;
    p->gh = gh;
    p->gw = gw;
    dsn_status st = dsi_embedding_add(&p->emb, ps, "prior.emb", g, K + 1, C);
    if (st != DSN_OK) return st;
    if (!seq) {
        st = dsi_pixelcnn_add(&p->pcnn, ps, "prior", g, C, layers, kernel);
        if (st == DSN_OK)
            st = dsi_conv_add(&p->c1, ps, "prior.head1", g, (dsi_conv_spec){.dims = 2, .in = C, .out = hid, .kernel = 1});
        if (st == DSN_OK)
            st = dsi_conv_add(&p->c2, ps, "prior.head2", g, (dsi_conv_spec){.dims = 2, .in = hid, .out = K, .kernel = 1});
        return st;
    }
    st = dsi_lstm_layer_add(&p->lstm, ps, "prior.lstm", g, C, C);
    if (st == DSN_OK) st = dsi_linear_layer_add(&p->l1, ps, "prior.head1", g, C, hid, DSI_ACT_RELU, DSI_INIT_FANIN);
    if (st == DSN_OK) st = dsi_linear_layer_add(&p->l2, ps, "prior.head2", g, hid, K, DSI_ACT_NONE, DSI_INIT_FANIN);
    return st;
}

void dsi_vq_prior_init(const dsi_vq_prior *p, dsi_params *ps, dsi_rng *rng)
{
    dsi_embedding_init(&p->emb, ps, rng);
    if (!p->seq) {
        dsi_pixelcnn_init(&p->pcnn, ps, rng);
        dsi_conv_init(&p->c1, ps, rng);
        dsi_conv_init(&p->c2, ps, rng);
    } else {
        dsi_lstm_layer_init(&p->lstm, ps, rng);
        dsi_linear_layer_init(&p->l1, ps, rng);
        dsi_linear_layer_init(&p->l2, ps, rng);
    }
}

int dsi_vq_prior_class_axis(const dsi_vq_prior *p) { return p->seq ? 2 : 1; }

dsi_var *dsi_vq_prior_logits(dsi_tape *t, const dsi_vq_prior *p, dsi_params *ps, const int32_t *codes, int N)
{
    int C = p->C, P = p->gh * p->gw;
    size_t M = (size_t)N * P;
    int *idx = dsi_tape_scratch(t, sizeof(int) * (M + 1));
    if (!idx) return NULL;
    if (!p->seq) {
        for (size_t i = 0; i < M; i++) idx[i] = codes[i];
    } else {
        for (int n = 0; n < N; n++)
            for (int s = 0; s < P; s++) idx[(size_t)n * P + s] = s ? codes[(size_t)n * P + s - 1] : p->K;
    }
    dsi_var *e = dsi_embedding_forward(t, &p->emb, ps, idx, (int)M);
    if (p->seq) {
        int sh[3] = {N, P, C};
        dsi_var *h = dsi_lstm_layer_forward(t, &p->lstm, ps, dsi_reshape(t, e, 3, sh), NULL, NULL, 0, NULL);
        return dsi_linear_layer_forward(t, &p->l2, ps, dsi_linear_layer_forward(t, &p->l1, ps, h));
    }
    int sh[4] = {N, p->gh, p->gw, C}, perm[4] = {0, 3, 1, 2};
    dsi_var *h = dsi_pixelcnn_forward(t, &p->pcnn, ps, dsi_transpose(t, dsi_reshape(t, e, 4, sh), perm));
    h = dsi_relu(t, dsi_conv_forward(t, &p->c1, ps, dsi_relu(t, h)));
    return dsi_conv_forward(t, &p->c2, ps, h);
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
            if (!lg || !scratch) return dsi_tape_failure(t);
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
        dsi_var *x = dsi_embedding_forward(t, &p->emb, ps, idx, N);
        if (dsi_lstm_layer_step(t, &p->lstm, ps, x, h, c, &h, &c) != DSN_OK) return t->status;
        dsi_var *y = dsi_linear_layer_forward(t, &p->l2, ps, dsi_linear_layer_forward(t, &p->l1, ps, h));
        if (!y) return dsi_tape_failure(t);
        for (int n = 0; n < N; n++)
            codes[(size_t)n * P + s] = dsi_vq_sample_logits(y->x + (size_t)n * K, 1, K, temperature, top_k, scratch, rng);
    }
    return DSN_OK;
}
