/* ops_xent.c - softmax cross-entropy of integer targets (categorical NLL),
 * for autoregressive priors over code indices. */
#include "autodiff/ops.h"

#include <stdint.h>

#include <math.h>
#include <string.h>

typedef struct xent_saved {
    const int32_t *target;
    float *prob;            /* softmax, same layout as the logits */
    size_t outer, inner;
    int K;
    double scale;
} xent_saved;

/* d logits = g * scale * (softmax - onehot(target)) */
static void xent_backward(dsi_node *nd)
{
    dsi_var *x = nd->in[0];
    const xent_saved *s = nd->saved;
    if (!x->g) return;
    float gs = (float)(nd->out->g[0] * s->scale);
    size_t inner = s->inner, K = (size_t)s->K;
    for (size_t o = 0; o < s->outer; o++) {
        const float *p = s->prob + o * K * inner;
        float *g = x->g + o * K * inner;
        for (size_t i = 0; i < K * inner; i++) g[i] += gs * p[i];
        for (size_t i = 0; i < inner; i++) g[(size_t)s->target[o * inner + i] * inner + i] -= gs;
    }
}

/* L = scale * sum_{o,i} -log softmax(x[o,:,i])[target[o,i]]; scale = 1 or 1/count */
dsi_var *dsi_softmax_xent(dsi_tape *t, dsi_var *x, const int32_t *target, int class_axis, int mean)
{
    if (!x) return NULL;
    if (!target) return dsi_tape_fail(t, DSN_E_INVALID, "softmax_xent: NULL targets");
    if (x->nd < 1 || class_axis < 0 || class_axis >= x->nd)
        return dsi_tape_fail(t, DSN_E_SHAPE, "softmax_xent: class axis %d of a %d-d input", class_axis, x->nd);
    size_t outer = 1, inner = 1;
    for (int i = 0; i < class_axis; i++) outer *= (size_t)x->shape[i];
    for (int i = class_axis + 1; i < x->nd; i++) inner *= (size_t)x->shape[i];
    int K = x->shape[class_axis];
    size_t count = outer * inner;
    if (K < 1 || count == 0) return dsi_tape_fail(t, DSN_E_SHAPE, "softmax_xent: empty input");
    for (size_t i = 0; i < count; i++)
        if (target[i] < 0 || target[i] >= K)
            return dsi_tape_fail(t, DSN_E_INVALID, "softmax_xent: target %d at %zu outside [0,%d)", (int)target[i], i, K);
    int rec = dsi_tape_needs_grad(t, 1, &x);
    float *prob = rec ? dsi_tape_scratch(t, sizeof(float) * x->n) : NULL;
    if (rec && !prob) return NULL;
    double total = 0.0;
    for (size_t o = 0; o < outer; o++) {
        const float *xo = x->x + o * (size_t)K * inner;
        for (size_t i = 0; i < inner; i++) {
            float mx = -INFINITY;
            for (int k = 0; k < K; k++) mx = xo[(size_t)k * inner + i] > mx ? xo[(size_t)k * inner + i] : mx;
            double z = 0.0;
            for (int k = 0; k < K; k++) {
                float e = expf(xo[(size_t)k * inner + i] - mx);
                z += e;
                if (prob) prob[o * (size_t)K * inner + (size_t)k * inner + i] = e;
            }
            double lz = log(z) + mx;
            total += lz - xo[(size_t)target[o * inner + i] * inner + i];
            if (prob) {
                float iz = (float)(1.0 / z);
                for (int k = 0; k < K; k++) prob[o * (size_t)K * inner + (size_t)k * inner + i] *= iz;
            }
        }
    }
    double scale = mean ? 1.0 / (double)count : 1.0;
    dsi_var *out = dsi_tape_new(t, 0, NULL, rec);
    if (!out) return NULL;
    out->x[0] = (float)(total * scale);
    if (!isfinite(out->x[0])) return dsi_tape_fail(t, DSN_E_NUMERIC, "softmax_xent: non-finite loss");
    dsi_node *nd = dsi_tape_record(t, xent_backward, out, 1, &x);
    if (nd) {
        xent_saved *s = dsi_tape_scratch(t, sizeof *s);
        if (!s) return NULL;
        s->target = target;
        s->prob = prob;
        s->outer = outer;
        s->inner = inner;
        s->K = K;
        s->scale = scale;
        nd->saved = s;
    }
    return out;
}
