/* ops_lstm.c - the fused LSTM cell and the LSTM layer over time.
 *
 * Gate order i, f, g, o in the 4H columns of wx [I,4H], wh [H,4H] and b [4H]
 * (PyTorch's order, with its two biases summed into one).
 *
 * The layer is one node. Forward: one gemm for the input projections of all
 * B T frames ([B T, I] x [I, 4H], bias folded in), then per time step one gemm
 * h_{t-1} wh ([B, H] x [H, 4H]) and one fused pass for the gates and the
 * state update. On the vector levels (tensor/simd.h, dsi_lstm_rec_fwd) [wx;
 * wh] is packed once and each step computes x_t wx + h_{t-1} wh + b and the
 * gates in one kernel (no [B T, 4H] pre-pass); the backward's dz wh^T runs
 * on wh^T packed once. Saved in the arena: the gates, the cell states, tanh of the
 * cell states, and the h_{t-1} fed into every frame. Backward (BPTT): per step
 * one fused pass that turns the saved gates into dz (in place) and one gemm
 * dz wh^T for dh_{t-1}; then the weight and input gradients of all frames are
 * three gemms over [B T, 4H].
 *
 * Lengths: frame t of sequence b is valid when t < len[b]. Step s processes
 * frame s (forward) or frame len[b] - 1 - s (reverse) of every sequence with
 * s < len[b]; a sequence whose frames are used up keeps its state and its
 * invalid frames output h = 0 (and get no gradient). When all lengths are
 * equal, the step's frames are evenly spaced in memory and the gemms read and
 * write the [B,T,4H] buffer in place (leading dimension T 4H). */
#include "autodiff/ops.h"
#include "tensor/blas.h"
#include "core/pool.h"
#include "tensor/lstm_kernel.h"
#include "tensor/simd.h"

#include <string.h>

/* ---- the cell ---- */

typedef struct cell_saved {
    int B, H, I;
    float *gates; /* [B,4H], turned into dz by the backward */
    float *tc;    /* [B,H] tanh(c') */
} cell_saved;

/* z = x wx + h wh + b; c' = f c + i g; h' = o tanh(c') */
static void lstm_cell_backward(dsi_node *n)
{
    dsi_var *x = n->in[0], *h = n->in[1], *c = n->in[2], *wx = n->in[3], *wh = n->in[4], *b = n->in[5];
    const cell_saved *sv = n->saved;
    const int B = sv->B, H = sv->H, I = sv->I, G4 = 4 * H;
    const float *gh = n->out->g, *gc = n->out->g + (size_t)B * H;
    float *dz = sv->gates;
    for (int r = 0; r < B; r++) {
        const size_t o = (size_t)r * H;
        dsi_lstm_row_backward(H, dz + (size_t)r * G4, sv->tc + o, c ? c->x + o : NULL, gh + o, NULL, gc + o,
                              c && c->g ? c->g + o : NULL, 1, NULL);
    }
    if (b && b->g) dsi_simd_colsum_add(dz, (size_t)B, (size_t)G4, b->g);
    if (wx->g) dsi_gemm(1, 0, I, G4, B, 1.0f, x->x, I, dz, G4, 1.0f, wx->g, G4);
    if (x->g) dsi_gemm(0, 1, B, I, G4, 1.0f, dz, G4, wx->x, G4, 1.0f, x->g, I);
    if (h) {
        if (wh->g) dsi_gemm(1, 0, H, G4, B, 1.0f, h->x, H, dz, G4, 1.0f, wh->g, G4);
        if (h->g) dsi_gemm(0, 1, B, H, G4, 1.0f, dz, G4, wh->x, G4, 1.0f, h->g, H);
    }
}

/* A view of rows [off, off + B H) of a [2,B,H] var as [B,H]. */
static dsi_var *half_view(dsi_tape *t, dsi_var *both, int B, int H, size_t off)
{
    dsi_var *v = dsi_tape_scratch(t, sizeof *v);
    if (!v) return NULL;
    memset(v, 0, sizeof *v);
    v->nd = 2;
    v->shape[0] = B;
    v->shape[1] = H;
    v->n = (size_t)B * H;
    v->x = both->x + off;
    v->g = both->g ? both->g + off : NULL;
    return v;
}

/* Returns DSN_OK, or the tape's status (with *h_out = *c_out = NULL) on failure.
 * b may be NULL (no bias). h_out and c_out are views of one [2,B,H] result, so
 * the cell is one node whichever of them is used later. */
int dsi_lstm_cell(dsi_tape *t, dsi_var *x, dsi_var *h, dsi_var *c, dsi_var *wx, dsi_var *wh, dsi_var *b,
                  dsi_var **h_out, dsi_var **c_out)
{
    char s1[64], s2[64];
    if (h_out) *h_out = NULL;
    if (c_out) *c_out = NULL;
    if (!h_out || !c_out) {
        dsi_tape_fail(t, DSN_E_INTERNAL, "lstm_cell: h_out and c_out must not be NULL");
        return t->status;
    }
    if (!x || !wx || !wh) {
        if (t->status == DSN_OK) dsi_tape_fail(t, DSN_E_INVALID, "lstm_cell: NULL input");
        return t->status;
    }
    if (x->nd != 2 || wx->nd != 2 || wh->nd != 2 || wx->shape[1] % 4 != 0 || wx->shape[1] == 0) {
        dsi_tape_fail(t, DSN_E_SHAPE, "lstm_cell: want x [B,I] and wx [I,4H], got %s and %s",
                      dsi_shape_str(x, s1, sizeof s1), dsi_shape_str(wx, s2, sizeof s2));
        return t->status;
    }
    const int B = x->shape[0], I = x->shape[1], H = wx->shape[1] / 4, G4 = 4 * H;
    if (wx->shape[0] != I || wh->shape[0] != H || wh->shape[1] != G4 || (b && b->n != (size_t)G4)) {
        dsi_tape_fail(t, DSN_E_SHAPE, "lstm_cell: x %s, wx %s, wh [%d,%d], b of %zu values do not fit (want wx "
                      "[%d,4H], wh [H,4H], b [4H])",
                      dsi_shape_str(x, s1, sizeof s1), dsi_shape_str(wx, s2, sizeof s2), wh->shape[0],
                      wh->shape[1], b ? b->n : (size_t)G4, I);
        return t->status;
    }
    if ((h && (h->nd != 2 || h->shape[0] != B || h->shape[1] != H)) ||
        (c && (c->nd != 2 || c->shape[0] != B || c->shape[1] != H))) {
        dsi_tape_fail(t, DSN_E_SHAPE, "lstm_cell: h and c must be [%d,%d]", B, H);
        return t->status;
    }
    dsi_var *in[6] = {x, h, c, wx, wh, b};
    int shape[3] = {2, B, H};
    dsi_var *both = dsi_tape_new(t, 3, shape, dsi_tape_needs_grad(t, 6, in));
    float *z = dsi_tape_scratch(t, sizeof(float) * (size_t)B * G4);
    float *tc = both && both->g ? dsi_tape_scratch(t, sizeof(float) * (size_t)B * H) : NULL;
    cell_saved *sv = both && both->g ? dsi_tape_scratch(t, sizeof *sv) : NULL;
    if (!both || !z || (both->g && (!tc || !sv))) return t->status;
    if (b)
        for (int r = 0; r < B; r++) memcpy(z + (size_t)r * G4, b->x, sizeof(float) * G4);
    dsi_gemm(0, 0, B, G4, I, 1.0f, x->x, I, wx->x, G4, b ? 1.0f : 0.0f, z, G4);
    if (h) dsi_gemm(0, 0, B, G4, H, 1.0f, h->x, H, wh->x, G4, 1.0f, z, G4);
    const size_t BH = (size_t)B * H;
    for (int r = 0; r < B; r++) {
        const size_t o = (size_t)r * H;
        dsi_lstm_row_forward(H, z + (size_t)r * G4, NULL, c ? c->x + o : NULL, both->x + BH + o, NULL,
                             tc ? tc + o : NULL, both->x + o, NULL);
    }
    dsi_var *hv = half_view(t, both, B, H, 0), *cv = half_view(t, both, B, H, BH);
    if (!hv || !cv) return t->status;
    if (both->g) {
        sv->B = B;
        sv->H = H;
        sv->I = I;
        sv->gates = z;
        sv->tc = tc;
        dsi_node *n = dsi_tape_record(t, lstm_cell_backward, both, 6, in);
        if (!n) return t->status;
        n->saved = sv;
    }
    *h_out = hv;
    *c_out = cv;
    return DSN_OK;
}

/* ---- the layer ---- */

typedef struct lstm_saved {
    int B, T, I, H, reverse, uniform, maxlen;
    int *len;        /* [B] valid frames per sequence */
    float *G;        /* [B,T,4H] gates; the backward turns them into dz */
    float *Cs, *TC;  /* [B,T,H] cell state and its tanh at each valid frame */
    float *Hp;       /* [B,T,H] h_{t-1} fed into each frame (0 for invalid frames) */
    float *step;     /* [B,4H] per-step scratch */
    float *hs, *cs;  /* [B,H] running state (forward), running dh, dc (backward) */
    float *hs2;      /* [B,H] the other h of the packed forward (h_{t-1} and h_t alternate), or NULL */
    float *P;        /* packed wh (dsi_lstm_pack_*), or NULL: OpenBLAS per step */
    void **rp;       /* [8 B] row pointers of the packed kernels (each part uses its rows' slots) */
    const float *x, *bias; /* the packed forward's input [B,T,I] and bias (NULL: none) */
    float *acc;      /* [B DSI_LSTM_ACC_ROW] their partial sums */
} lstm_saved;

/* the packed kernels' row arrays for batch rows [lo, hi) */
static dsi_lstm_rows part_rows(const lstm_saved *S, int lo, int hi)
{
    const size_t B = (size_t)S->B;
    dsi_lstm_rows b;
    b.n = 0;
    b.h = (const float **)(S->rp + lo);
    b.z = (float **)(S->rp + B + lo);
    b.c = (float **)(S->rp + 2 * B + lo);
    b.cs = (float **)(S->rp + 3 * B + lo);
    b.tc = (float **)(S->rp + 4 * B + lo);
    b.hn = (float **)(S->rp + 5 * B + lo);
    b.y = (float **)(S->rp + 6 * B + lo);
    b.x = (const float **)(S->rp + 7 * B + lo);
    b.I = S->I;
    b.bias = S->bias;
    b.acc = S->acc + (size_t)lo * DSI_LSTM_ACC_ROW;
    (void)hi;
    return b;
}

/* frame of sequence b processed at step s (s < len) */
static inline int frame_at(const lstm_saved *S, int b, int s) { return S->reverse ? S->len[b] - 1 - s : s; }

/* ---- the time loops, over batch rows [lo, hi): a sequence's recurrence only
 * involves its own row, so the pool runs each part of the batch through all
 * steps with no synchronisation (one job per layer and pass); a part's
 * recurrent products are one single-threaded gemm of its rows per step. ---- */
typedef struct lstm_job {
    const lstm_saved *S;
    const float *wh;
    const float *gy;  /* backward: gradient at y */
    float *y;         /* forward: the output */
    const float *c0;  /* backward: initial cell state or NULL */
    int h0;           /* forward: an initial state is given; backward: h0 wants a gradient */
} lstm_job;

static int lstm_tasks(const lstm_saved *S)
{
    /* flops of the recurrent products; a part of at least 16 rows */
    const double work = 2.0 * S->B * (double)S->maxlen * 4.0 * S->H * S->H;
    int nt = dsi_pool_tasks(work, 2e6);
    if (nt > S->B / 16) nt = S->B / 16 > 1 ? S->B / 16 : 1;
    return nt;
}

/* the packed path: per step one call for the rows of [lo, hi) still running,
 * h_{t-1} read from one of hs / hs2 and h_t written to the other */
static void lstm_fwd_rows_packed(const lstm_job *j, int lo, int hi)
{
    const lstm_saved *S = j->S;
    const int T = S->T, H = S->H, G4 = 4 * H;
    dsi_lstm_rows b = part_rows(S, lo, hi);
    const float **hrows = b.h;
    const int I = S->I;
    for (int s = 0; s < S->maxlen; s++) {
        const float *hp = s % 2 ? S->hs2 : S->hs;
        float *hn = s % 2 ? S->hs : S->hs2;
        b.n = 0;
        for (int bb = lo; bb < hi; bb++) {
            if (s >= S->len[bb]) continue;
            const size_t row = (size_t)bb * T + frame_at(S, bb, s);
            const float *hb = hp + (size_t)bb * H;
            if (S->Hp) memcpy(S->Hp + row * H, hb, sizeof(float) * H);
            const int r = b.n++;
            hrows[r] = hb;
            b.z[r] = S->G + row * G4;
            b.c[r] = S->cs + (size_t)bb * H;
            b.cs[r] = S->Cs ? S->Cs + row * H : NULL;
            b.tc[r] = S->TC ? S->TC + row * H : NULL;
            b.hn[r] = hn + (size_t)bb * H;
            b.y[r] = j->y + row * H;
            b.x[r] = S->x + row * I;
        }
        b.h = s > 0 || j->h0 ? hrows : NULL;
        if (b.n) dsi_lstm_rec_fwd(H, S->P, &b);
    }
}

static void lstm_fwd_rows(const lstm_job *j, int lo, int hi)
{
    const lstm_saved *S = j->S;
    if (S->P) {
        lstm_fwd_rows_packed(j, lo, hi);
        return;
    }
    const int T = S->T, H = S->H, G4 = 4 * H, R = hi - lo;
    float *G = S->G + (size_t)lo * T * G4, *hs = S->hs + (size_t)lo * H, *step = S->step + (size_t)lo * G4;
    for (int s = 0; s < S->maxlen; s++) {
        const int have_rec = s > 0 || j->h0;
        const float *rbuf = NULL;
        if (have_rec) {
            if (S->uniform) { /* add h_{t-1} wh straight into the step's frames */
                const int tt = S->reverse ? S->len[0] - 1 - s : s;
                dsi_gemm(0, 0, R, G4, H, 1.0f, hs, H, j->wh, G4, 1.0f, G + (size_t)tt * G4, T * G4);
            } else {
                dsi_gemm(0, 0, R, G4, H, 1.0f, hs, H, j->wh, G4, 0.0f, step, G4);
                rbuf = S->step;
            }
        }
        for (int bb = lo; bb < hi; bb++) {
            if (s >= S->len[bb]) continue;
            const int tt = frame_at(S, bb, s);
            const size_t row = (size_t)bb * T + tt;
            float *hb = S->hs + (size_t)bb * H, *cb = S->cs + (size_t)bb * H;
            if (S->Hp) memcpy(S->Hp + row * H, hb, sizeof(float) * H);
            dsi_lstm_row_forward(H, S->G + row * G4, rbuf ? rbuf + (size_t)bb * G4 : NULL, cb, cb,
                                 S->Cs ? S->Cs + row * H : NULL, S->TC ? S->TC + row * H : NULL, hb,
                                 j->y + row * H);
        }
    }
}

/* the packed path: per step the dz of the rows of [lo, hi) still running
 * (in place in G), then one call for dh_{t-1} = dz wh^T into hs */
static void lstm_bwd_rows_packed(const lstm_job *j, int lo, int hi)
{
    const lstm_saved *S = j->S;
    const int T = S->T, H = S->H, G4 = 4 * H;
    dsi_lstm_rows b = part_rows(S, lo, hi);
    for (int s = S->maxlen - 1; s >= 0; s--) {
        b.n = 0;
        for (int bb = lo; bb < hi; bb++) {
            if (s >= S->len[bb]) continue;
            const int tt = frame_at(S, bb, s);
            const size_t row = (size_t)bb * T + tt;
            const float *cp;
            if (s > 0) cp = S->Cs + ((size_t)bb * T + (S->reverse ? tt + 1 : tt - 1)) * H;
            else cp = j->c0 ? j->c0 + (size_t)bb * H : NULL;
            float *dh = S->hs + (size_t)bb * H, *dc = S->cs + (size_t)bb * H;
            dsi_lstm_row_backward(H, S->G + row * G4, S->TC + row * H, cp, j->gy + row * H, dh, dc, dc, 0, NULL);
            const int r = b.n++;
            b.z[r] = S->G + row * G4;
            b.hn[r] = dh;
        }
        if (b.n && (s > 0 || j->h0)) dsi_lstm_rec_bwd(H, S->P, &b);
    }
}

static void lstm_bwd_rows(const lstm_job *j, int lo, int hi)
{
    const lstm_saved *S = j->S;
    if (S->P) {
        lstm_bwd_rows_packed(j, lo, hi);
        return;
    }
    const int T = S->T, H = S->H, G4 = 4 * H, R = hi - lo;
    float *G = S->G;
    for (int s = S->maxlen - 1; s >= 0; s--) {
        for (int bb = lo; bb < hi; bb++) {
            float *dzc = S->uniform ? NULL : S->step + (size_t)bb * G4;
            if (s >= S->len[bb]) {
                if (dzc) memset(dzc, 0, sizeof(float) * G4);
                continue;
            }
            const int tt = frame_at(S, bb, s);
            const size_t row = (size_t)bb * T + tt;
            const float *cp;
            if (s > 0) cp = S->Cs + ((size_t)bb * T + (S->reverse ? tt + 1 : tt - 1)) * H;
            else cp = j->c0 ? j->c0 + (size_t)bb * H : NULL;
            dsi_lstm_row_backward(H, G + row * G4, S->TC + row * H, cp, j->gy + row * H, S->hs + (size_t)bb * H,
                                  S->cs + (size_t)bb * H, S->cs + (size_t)bb * H, 0, dzc);
        }
        if (s > 0 || j->h0) {
            if (S->uniform) {
                const int tt = S->reverse ? S->len[0] - 1 - s : s;
                dsi_gemm(0, 1, R, H, G4, 1.0f, G + ((size_t)lo * T + tt) * G4, T * G4, j->wh, G4, 0.0f,
                         S->hs + (size_t)lo * H, H);
            } else {
                dsi_gemm(0, 1, R, H, G4, 1.0f, S->step + (size_t)lo * G4, G4, j->wh, G4, 0.0f,
                         S->hs + (size_t)lo * H, H);
            }
        }
    }
}

static void lstm_fwd_task(void *ctx, int t, int n)
{
    const lstm_job *j = ctx;
    size_t lo, hi;
    dsi_pool_split((size_t)j->S->B, t, n, 16, &lo, &hi);
    if (hi > lo) lstm_fwd_rows(j, (int)lo, (int)hi);
}

static void lstm_bwd_task(void *ctx, int t, int n)
{
    const lstm_job *j = ctx;
    size_t lo, hi;
    dsi_pool_split((size_t)j->S->B, t, n, 16, &lo, &hi);
    if (hi > lo) lstm_bwd_rows(j, (int)lo, (int)hi);
}

/* BPTT: dz_t from (gy_t + dh_t, dc_t) and the saved gates; dh_{t-1} = dz_t wh^T, dc_{t-1} = dc_t f_t;
 * then dwx = X^T dZ, dx = dZ wx^T, dwh = Hprev^T dZ, db = sum dZ over all frames */
static void lstm_backward(dsi_node *n)
{
    dsi_var *x = n->in[0], *wx = n->in[1], *wh = n->in[2], *b = n->in[3], *h0 = n->in[4], *c0 = n->in[5];
    const lstm_saved *S = n->saved;
    const int B = S->B, T = S->T, I = S->I, H = S->H, G4 = 4 * H;
    const size_t BT = (size_t)B * T;
    const float *gy = n->out->g;
    float *G = S->G;
    memset(S->hs, 0, sizeof(float) * (size_t)B * H);
    memset(S->cs, 0, sizeof(float) * (size_t)B * H);
    for (int bb = 0; bb < B; bb++) /* invalid frames contribute nothing */
        if (S->len[bb] < T)
            memset(G + ((size_t)bb * T + S->len[bb]) * G4, 0, sizeof(float) * (size_t)(T - S->len[bb]) * G4);
    const int need_h0 = h0 && h0->g;
    lstm_job j = {S, wh->x, gy, NULL, c0 ? c0->x : NULL, need_h0};
    if (S->P && !dsi_lstm_pack_bwd(H, wh->x, S->P)) { /* the level changed since the forward (tests) */
        lstm_saved *Sw = n->saved;
        Sw->P = NULL;
    }
    dsi_pool_run(lstm_tasks(S), lstm_bwd_task, &j);
    if (S->maxlen > 0) {
        if (need_h0)
            for (size_t k = 0; k < (size_t)B * H; k++) h0->g[k] += S->hs[k];
        if (c0 && c0->g)
            for (size_t k = 0; k < (size_t)B * H; k++) c0->g[k] += S->cs[k];
    }
    if (b && b->g) dsi_simd_colsum_add(G, BT, (size_t)G4, b->g);
    if (wx->g) dsi_gemm(1, 0, I, G4, (int)BT, 1.0f, x->x, I, G, G4, 1.0f, wx->g, G4);
    if (x->g) dsi_gemm(0, 1, (int)BT, I, G4, 1.0f, G, G4, wx->x, G4, 1.0f, x->g, I);
    if (wh->g) dsi_gemm(1, 0, H, G4, (int)BT, 1.0f, S->Hp, H, G, G4, 1.0f, wh->g, G4);
}

/* h_t = o_t tanh(c_t), c_t = f_t c_{t-1} + i_t g_t, gates from x_t wx + h_{t-1} wh + b;
 * frames t >= len[b] give h = 0. b, h0, c0 may be NULL (no bias, zero state). */
dsi_var *dsi_lstm(dsi_tape *t, dsi_var *x, dsi_var *wx, dsi_var *wh, dsi_var *b, dsi_var *h0, dsi_var *c0,
                  int reverse, const int *lengths)
{
    char s1[64], s2[64];
    if (!x || !wx || !wh) return NULL;
    if (x->nd != 3 || wx->nd != 2 || wh->nd != 2 || wx->shape[1] % 4 != 0 || wx->shape[1] == 0)
        return dsi_tape_fail(t, DSN_E_SHAPE, "lstm: want x [B,T,I] and wx [I,4H], got %s and %s",
                             dsi_shape_str(x, s1, sizeof s1), dsi_shape_str(wx, s2, sizeof s2));
    const int B = x->shape[0], T = x->shape[1], I = x->shape[2], H = wx->shape[1] / 4, G4 = 4 * H;
    if (B < 1 || T < 1 || I < 1)
        return dsi_tape_fail(t, DSN_E_SHAPE, "lstm: empty input %s", dsi_shape_str(x, s1, sizeof s1));
    if (wx->shape[0] != I || wh->shape[0] != H || wh->shape[1] != G4 || (b && b->n != (size_t)G4))
        return dsi_tape_fail(t, DSN_E_SHAPE,
                             "lstm: x %s, wx %s, wh [%d,%d], b of %zu values do not fit (want wx [%d,4H], wh "
                             "[H,4H], b [4H])",
                             dsi_shape_str(x, s1, sizeof s1), dsi_shape_str(wx, s2, sizeof s2), wh->shape[0],
                             wh->shape[1], b ? b->n : (size_t)G4, I);
    if ((h0 && (h0->nd != 2 || h0->shape[0] != B || h0->shape[1] != H)) ||
        (c0 && (c0->nd != 2 || c0->shape[0] != B || c0->shape[1] != H)))
        return dsi_tape_fail(t, DSN_E_SHAPE, "lstm: h0 and c0 must be [%d,%d]", B, H);
    int maxlen = 0, uniform = 1;
    if (lengths)
        for (int bb = 0; bb < B; bb++) {
            if (lengths[bb] < 0 || lengths[bb] > T)
                return dsi_tape_fail(t, DSN_E_SHAPE, "lstm: length %d of sequence %d is outside [0, %d]",
                                     lengths[bb], bb, T);
            if (lengths[bb] > maxlen) maxlen = lengths[bb];
            if (lengths[bb] != lengths[0]) uniform = 0;
        }
    else
        maxlen = T;

    dsi_var *in[6] = {x, wx, wh, b, h0, c0};
    int shape[3] = {B, T, H};
    dsi_var *y = dsi_tape_new(t, 3, shape, dsi_tape_needs_grad(t, 6, in));
    if (!y) return NULL;
    const int rec = y->g != NULL;
    const size_t BT = (size_t)B * T, BH = (size_t)B * H;
    lstm_saved *S = dsi_tape_scratch(t, sizeof *S);
    if (!S) return NULL;
    memset(S, 0, sizeof *S);
    S->B = B; S->T = T; S->I = I; S->H = H;
    S->reverse = reverse != 0;
    S->uniform = uniform;
    S->maxlen = maxlen;
    S->len = dsi_tape_scratch(t, sizeof(int) * (size_t)B);
    S->G = dsi_tape_scratch(t, sizeof(float) * BT * G4);
    S->step = dsi_tape_scratch(t, sizeof(float) * (size_t)B * G4);
    S->hs = dsi_tape_scratch(t, sizeof(float) * BH);
    S->cs = dsi_tape_scratch(t, sizeof(float) * BH);
    if (!S->len || !S->G || !S->step || !S->hs || !S->cs) return NULL;
    /* the recurrent weights packed once for all steps (vector levels) */
    /* the weights packed once for all steps (vector levels): [wx; wh], the
     * input projection computed in the steps' products; not for a handful of
     * frames (packing would cost more than the products) */
    if ((size_t)B * (size_t)maxlen >= 16) {
        S->P = dsi_tape_scratch(t, sizeof(float) * dsi_lstm_pack_floats(I, H));
        S->hs2 = dsi_tape_scratch(t, sizeof(float) * BH);
        S->rp = dsi_tape_scratch(t, sizeof(void *) * 8 * (size_t)B);
        S->acc = dsi_tape_scratch(t, sizeof(float) * (size_t)B * DSI_LSTM_ACC_ROW);
        if (!S->P || !S->hs2 || !S->rp || !S->acc) return NULL;
        if (!dsi_lstm_pack_fwd(I, H, wx->x, wh->x, S->P)) S->P = S->hs2 = NULL;
        S->x = x->x;
        S->bias = b ? b->x : NULL;
    }
    if (rec) {
        S->Cs = dsi_tape_scratch(t, sizeof(float) * BT * H);
        S->TC = dsi_tape_scratch(t, sizeof(float) * BT * H);
        S->Hp = dsi_tape_scratch(t, sizeof(float) * BT * H);
        if (!S->Cs || !S->TC || !S->Hp) return NULL;
    }
    for (int bb = 0; bb < B; bb++) S->len[bb] = lengths ? lengths[bb] : T;

    /* input projections of all frames (padded frames too: one gemm beats
     * skipping them), unless the packed steps compute them */
    float *G = S->G;
    if (!S->P) {
        if (b) dsi_simd_bcast_rows(G, b->x, BT, (size_t)G4); /* on the pool */
        dsi_gemm(0, 0, (int)BT, G4, I, 1.0f, x->x, I, wx->x, G4, b ? 1.0f : 0.0f, G, G4);
    }
    if (h0) memcpy(S->hs, h0->x, sizeof(float) * BH);
    else memset(S->hs, 0, sizeof(float) * BH);
    if (c0) memcpy(S->cs, c0->x, sizeof(float) * BH);
    else memset(S->cs, 0, sizeof(float) * BH);
    for (int bb = 0; bb < B; bb++) /* invalid frames: h = 0 (and h_{t-1} = 0 for the dwh gemm) */
        if (S->len[bb] < T) {
            const size_t off = ((size_t)bb * T + S->len[bb]) * H, cnt = (size_t)(T - S->len[bb]) * H;
            memset(y->x + off, 0, sizeof(float) * cnt);
            if (S->Hp) memset(S->Hp + off, 0, sizeof(float) * cnt);
        }

    lstm_job j = {S, wh->x, NULL, y->x, NULL, h0 != NULL};
    dsi_pool_run(lstm_tasks(S), lstm_fwd_task, &j);
    if (rec) {
        dsi_node *nd = dsi_tape_record(t, lstm_backward, y, 6, in);
        if (!nd) return NULL;
        nd->saved = S;
    }
    return y;
}
