/* ops_linalg.c - matrix product and the fused linear layer. */
#include "autodiff/ops.h"
#include "tensor/act.h"
#include "tensor/blas.h"
#include "tensor/simd.h"

#include <string.h>

/* C = op(A) op(B) */
static void matmul_backward(dsi_node *n)
{
    dsi_var *a = n->in[0], *b = n->in[1], *c = n->out;
    int ta = n->ip[0], tb = n->ip[1], M = n->ip[2], N = n->ip[3], K = n->ip[4];
    /* dA = dC op(B)^T (stored transposed if ta); dB = op(A)^T dC */
    if (a->g) {
        if (!ta) dsi_gemm(0, !tb, M, K, N, 1.0f, c->g, N, b->x, b->shape[1], 1.0f, a->g, K);
        else dsi_gemm(tb, 1, K, M, N, 1.0f, b->x, b->shape[1], c->g, N, 1.0f, a->g, M);
    }
    if (b->g) {
        if (!tb) dsi_gemm(!ta, 0, K, N, M, 1.0f, a->x, a->shape[1], c->g, N, 1.0f, b->g, N);
        else dsi_gemm(1, ta, N, K, M, 1.0f, c->g, N, a->x, a->shape[1], 1.0f, b->g, K);
    }
}

dsi_var *dsi_matmul(dsi_tape *t, dsi_var *a, dsi_var *b, int ta, int tb)
{
    if (!a || !b) return NULL;
    if (a->nd != 2 || b->nd != 2) return dsi_tape_fail(t, DSN_E_SHAPE, "matmul needs 2-D operands");
    int M = ta ? a->shape[1] : a->shape[0], K = ta ? a->shape[0] : a->shape[1];
    int K2 = tb ? b->shape[1] : b->shape[0], N = tb ? b->shape[0] : b->shape[1];
    if (K != K2) return dsi_tape_fail(t, DSN_E_SHAPE, "matmul inner sizes differ (%d vs %d)", K, K2);
    dsi_var *in[2] = {a, b};
    dsi_var *c = dsi_tape_new2(t, M, N, dsi_tape_needs_grad(t, 2, in));
    if (!c) return NULL;
    dsi_gemm(ta, tb, M, N, K, 1.0f, a->x, a->shape[1], b->x, b->shape[1], 0.0f, c->x, N);
    dsi_node *n = dsi_tape_record(t, matmul_backward, c, 2, in);
    if (n) {
        n->ip[0] = ta; n->ip[1] = tb; n->ip[2] = M; n->ip[3] = N; n->ip[4] = K;
    }
    return c;
}

/* y = act(x W + b) */
static void linear_backward(dsi_node *n)
{
    dsi_var *x = n->in[0], *w = n->in[1], *b = n->in[2], *y = n->out;
    dsi_act act = (dsi_act)n->ip[0];
    int M = n->ip[1], K = n->ip[2], N = n->ip[3];
    float *gz = y->g; /* no activation: the pre-activation gradient is y's, no copy */
    if (act != DSI_ACT_NONE) {
        gz = n->saved; /* M*N scratch: gradient at the pre-activation */
        float *z = (float *)n->saved + (size_t)M * N; /* pre-activation, kept only when needed */
        if (!dsi_act_backward_from_y(act, n->fp[0], y->x, y->g, gz, (size_t)M * N)) {
            memset(gz, 0, sizeof(float) * (size_t)M * N);
            dsi_act_backward(act, n->fp[0], z, y->x, y->g, gz, (size_t)M * N);
        }
    }
    if (b && b->g) dsi_simd_colsum_add(gz, (size_t)M, (size_t)N, b->g);
    if (w->g) dsi_gemm(1, 0, K, N, M, 1.0f, x->x, K, gz, N, 1.0f, w->g, N);
    if (x->g) dsi_gemm(0, 1, M, K, N, 1.0f, gz, N, w->x, N, 1.0f, x->g, K);
}

dsi_var *dsi_linear(dsi_tape *t, dsi_var *x, dsi_var *w, dsi_var *b, dsi_act act)
{
    if (!x || !w) return NULL;
    char s1[64], s2[64];
    if (w->nd != 2 || x->nd < 1 || dsi_var_cols(x) != w->shape[0])
        return dsi_tape_fail(t, DSN_E_SHAPE, "linear: input %s does not fit weight %s",
                             dsi_shape_str(x, s1, sizeof s1), dsi_shape_str(w, s2, sizeof s2));
    int K = w->shape[0], N = w->shape[1], M = dsi_var_rows(x);
    if (b && (b->n != (size_t)N))
        return dsi_tape_fail(t, DSN_E_SHAPE, "linear: bias has %zu values, want %d", b->n, N);
    dsi_var *in[3] = {x, w, b};
    int shape[DSI_MAXDIM];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->nd - 1] = N;
    dsi_var *y = dsi_tape_new(t, x->nd, shape, dsi_tape_needs_grad(t, 3, in));
    if (!y) return NULL;
    /* narrow layers: one pass of the small gemm with bias and activation in its write-back */
    const int gs_act = act == DSI_ACT_NONE ? DSI_GS_NONE : act == DSI_ACT_RELU ? DSI_GS_RELU
                       : act == DSI_ACT_TANH ? DSI_GS_TANH : -1;
    int fused = gs_act >= 0 && N <= 80 && K <= 512 &&
                dsi_gemm_small(M, N, K, x->x, K, w->x, N, 0.0f, y->x, N, b ? b->x : NULL, gs_act);
    if (!fused) {
        if (b)
            dsi_simd_bcast_rows(y->x, b->x, (size_t)M, (size_t)N);
        dsi_gemm(0, 0, M, N, K, 1.0f, x->x, K, w->x, N, b ? 1.0f : 0.0f, y->x, N);
    }
    int keep_z = y->g && !dsi_act_grad_from_y(act);
    float *saved = NULL;
    if (y->g && act != DSI_ACT_NONE) {
        saved = dsi_tape_scratch(t, sizeof(float) * (size_t)M * N * (keep_z ? 2 : 1));
        if (!saved) return NULL;
        if (keep_z) memcpy(saved + (size_t)M * N, y->x, sizeof(float) * (size_t)M * N);
    }
    float alpha = act == DSI_ACT_LEAKY ? 0.01f : 0.0f;
    if (!fused) dsi_act_forward(act, alpha, y->x, y->x, (size_t)M * N);
    dsi_node *n = dsi_tape_record(t, linear_backward, y, 3, in);
    if (n) {
        n->ip[0] = act; n->ip[1] = M; n->ip[2] = K; n->ip[3] = N;
        n->fp[0] = alpha;
        n->saved = saved;
    }
    return y;
}
