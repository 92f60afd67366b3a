/* conv_nhwc.c - channels-last conv / transposed conv drivers over the
 * indirect-gemm kernels (see conv_nhwc.h, conv_kernel.h). */
#include "tensor/conv_nhwc.h"
#include "tensor/conv_kernel.h"
#include "tensor/simd.h"
#include "core/pool.h"

#include <stdint.h>
#include <string.h>

static size_t pad16(size_t n) { return (n + 15) / 16 * 16; }
static size_t al64(size_t b) { return (b + 63) / 64 * 64; }

/* bump allocation in the caller's workspace */
typedef struct bump {
    unsigned char *p;
} bump;
static void *take(bump *b, size_t bytes)
{
    void *r = b->p;
    b->p += al64(bytes);
    return r;
}

static int taps_per_phase(int K, int s) { return (K + s - 1) / s; }

size_t dsi_cg_work_bytes(const dsi_cg *g)
{
    const size_t T = (size_t)g->KH * g->KW;
    const size_t Ms = (size_t)g->N * g->Hs * g->Ws, Mb = (size_t)g->N * g->Hb * g->Wb;
    const size_t tp = (size_t)taps_per_phase(g->KH, g->sh) * taps_per_phase(g->KW, g->sw);
    size_t down = al64(4 * pad16(g->Cb)) + al64(4 * T * g->Cb * pad16(g->Cs)) + al64(8 * Ms * T) + al64(8 * Ms);
    size_t up = al64(4 * pad16(g->Cs)) + al64(4 * T * g->Cs * pad16(g->Cb)) + al64(8 * Mb * tp) + al64(8 * Mb);
    size_t wg = 2 * al64(8 * T * Ms) + T * al64(4 * (size_t)g->Cs * g->Cb);
    size_t patch = 2 * al64(8 * Ms) + al64(4 * Ms * T * g->Cb) + al64(4 * T * (size_t)g->Cb * g->Cs);
    if (patch > wg) wg = patch;
    size_t fold = al64(4 * (size_t)g->Cs * pad16(T * g->Cb)) + al64(4 * Ms * T * g->Cb) + 2 * al64(8 * Ms);
    if (fold > up) up = fold;
    size_t m = down > up ? down : up;
    return (m > wg ? m : wg) + 64;
}

static bump start(void *work)
{
    bump b = {(unsigned char *)(((uintptr_t)work + 63) / 64 * 64)};
    return b;
}

/* ---- tasks over the pool ---- */

/* a job over items [0, n): task t of nt gets the part dsi_pool_split gives it */
typedef void (*range_fn)(void *ctx, size_t lo, size_t hi);
typedef struct par_job {
    range_fn fn;
    void *ctx;
    size_t n, align;
} par_job;

static void par_task(void *ctx, int t, int nt)
{
    const par_job *j = ctx;
    size_t lo, hi;
    dsi_pool_split(j->n, t, nt, j->align, &lo, &hi);
    if (lo < hi) j->fn(j->ctx, lo, hi);
}

/* run fn over [0, n) items of `per_item` units of work each, split at multiples of align.
 * Units: multiply-adds for the products; the memory-bound loops (layout
 * transposes, pointer lists, gradient scatters) count 8 per float moved (16
 * per pointer pair), so they split from ~25 K floats (2e5 units) */
static void par_for(size_t n, size_t align, double per_item, range_fn fn, void *ctx)
{
    if (n == 0) return;
    par_job j = {fn, ctx, n, align ? align : 1};
    int nt = dsi_pool_tasks((double)n * per_item, 2e5);
    size_t blocks = (n + j.align - 1) / j.align;
    if ((size_t)nt > blocks) nt = (int)blocks;
    dsi_pool_run(nt, par_task, &j);
}

/* packed weights B[t][k][ldb] = w[k sk + n sn + tap[t]] for n < N, 0 for N <= n < ldb */
typedef struct pack_job {
    float *B;
    const float *w;
    const int *tap;
    int K, N, ldb;
    size_t sk, sn;
} pack_job;

static void pack_rows(void *ctx, size_t lo, size_t hi)
{
    const pack_job *p = ctx;
    for (size_t r = lo; r < hi; r++) {
        const size_t t = r / (size_t)p->K, k = r % (size_t)p->K;
        float *row = p->B + r * p->ldb;
        const float *src = p->w + k * p->sk + (size_t)p->tap[t];
        for (int n = 0; n < p->N; n++) row[n] = src[(size_t)n * p->sn];
        for (int n = p->N; n < p->ldb; n++) row[n] = 0.0f;
    }
}

static void pack(float *B, const float *w, const int *tap, int T, int K, int N, int ldb, size_t sk, size_t sn)
{
    pack_job p = {B, w, tap, K, N, ldb, sk, sn};
    par_for((size_t)T * K, 1, (double)N * 4, pack_rows, &p);
}

static void ig_rows_of(void *ctx, size_t lo, size_t hi) { dsi_ig_rows(ctx, (int)lo, (int)hi); }

/* ---- down: one indirect gemm over the small pixels ---- */

typedef struct down_job {
    const dsi_cg *g;
    dsi_ig ig;
    const float **a;
    float **y;
    const float *big, *zero;
    float *small;
} down_job;

static void down_rows(void *ctx, size_t lo, size_t hi)
{
    down_job *d = ctx;
    const dsi_cg *g = d->g;
    const int T = g->KH * g->KW;
    for (size_t m = lo; m < hi; m++) {
        const int ws = (int)(m % (size_t)g->Ws), hs = (int)(m / (size_t)g->Ws % (size_t)g->Hs);
        const size_t n = m / ((size_t)g->Ws * g->Hs);
        d->y[m] = d->small + m * g->Cs;
        for (int kh = 0; kh < g->KH; kh++) {
            const int hb = hs * g->sh - g->ph + kh;
            for (int kw = 0; kw < g->KW; kw++) {
                const int wb = ws * g->sw - g->pw + kw;
                const int in = hb >= 0 && hb < g->Hb && wb >= 0 && wb < g->Wb;
                d->a[m * T + kh * g->KW + kw] = in ? d->big + ((n * g->Hb + hb) * g->Wb + wb) * g->Cb : d->zero;
            }
        }
    }
    dsi_ig_rows(&d->ig, (int)lo, (int)hi);
}

void dsi_cg_down(const dsi_cg *g, const float *w, const float *big, const float *bias, float *small, void *work)
{
    const int T = g->KH * g->KW, Cb = g->Cb, Cs = g->Cs;
    const int Ms = g->N * g->Hs * g->Ws;
    const int ldb = (int)pad16(Cs);
    bump bp = start(work);
    float *zero = take(&bp, 4 * pad16(Cb));
    float *B = take(&bp, 4 * (size_t)T * Cb * ldb);
    const float **a = take(&bp, 8 * (size_t)Ms * T);
    float **y = take(&bp, 8 * (size_t)Ms);
    memset(zero, 0, 4 * pad16(Cb));
    int tap[DSI_CG_MAXTAPS];
    for (int t = 0; t < T; t++) tap[t] = t;
    pack(B, w, tap, T, Cb, Cs, ldb, (size_t)T, (size_t)Cb * T); /* B[t][cb][cs] = w[cs][cb][t] */
    down_job d = {g, {.M = Ms, .T = T, .K = Cb, .N = Cs, .a = a, .b = B, .ldb = ldb, .y = y, .bias = bias},
                  a, y, big, zero, small};
    par_for((size_t)Ms, (size_t)dsi_ig_row_align(Cs), (double)T * Cb * Cs, down_rows, &d);
}

/* ---- up ---- */

/* one phase: the big pixels hb = hb0 + i sh (i < nh), wb = wb0 + j sw (j < nw) of every image */
typedef struct up_job {
    const dsi_cg *g;
    dsi_ig ig;
    const float **a;
    float **y;
    const float *small, *zero;
    float *big;
    const int *tk;
    int ntp, hb0, wb0, nh, nw;
} up_job;

static void up_rows(void *ctx, size_t lo, size_t hi)
{
    up_job *u = ctx;
    const dsi_cg *g = u->g;
    for (size_t m = lo; m < hi; m++) {
        const int j = (int)(m % (size_t)u->nw), i = (int)(m / (size_t)u->nw % (size_t)u->nh);
        const size_t n = m / ((size_t)u->nw * u->nh);
        const int hb = u->hb0 + i * g->sh, wb = u->wb0 + j * g->sw;
        u->y[m] = u->big + ((n * g->Hb + hb) * g->Wb + wb) * g->Cb;
        for (int tp = 0; tp < u->ntp; tp++) {
            const int kh = u->tk[tp] / g->KW, kw = u->tk[tp] % g->KW;
            const int dh = hb + g->ph - kh, dw = wb + g->pw - kw; /* multiples of the strides */
            const int hs = dh / g->sh, ws = dw / g->sw;
            const int in = dh >= 0 && hs < g->Hs && dw >= 0 && ws < g->Ws;
            u->a[m * u->ntp + tp] = in ? u->small + ((n * g->Hs + hs) * g->Ws + ws) * g->Cs : u->zero;
        }
    }
    dsi_ig_rows(&u->ig, (int)lo, (int)hi);
}

/* fold of z [Ms][T][Cb] (every small pixel's contribution to each tap) into the big pixels:
 * big[pixel] = bias + sum over its phase's taps in (kh, kw) order of z[small pixel][tap] */
typedef struct fold_job {
    const dsi_cg *g;
    const float *z, *bias;
    float *big;
} fold_job;

static void fold_rows(void *ctx, size_t lo, size_t hi)
{
    const fold_job *f = ctx;
    const dsi_cg *g = f->g;
    const int T = g->KH * g->KW, Cb = g->Cb;
    for (size_t m = lo; m < hi; m++) {
        const int wb = (int)(m % (size_t)g->Wb), hb = (int)(m / (size_t)g->Wb % (size_t)g->Hb);
        const size_t n = m / ((size_t)g->Wb * g->Hb);
        float *o = f->big + m * Cb;
        for (int c = 0; c < Cb; c++) o[c] = f->bias ? f->bias[c] : 0.0f;
        const int rh = (hb + g->ph) % g->sh, rw = (wb + g->pw) % g->sw;
        for (int kh = rh; kh < g->KH; kh += g->sh) {
            const int hs = (hb + g->ph - kh) / g->sh;
            if (hb + g->ph - kh < 0 || hs >= g->Hs) continue;
            for (int kw = rw; kw < g->KW; kw += g->sw) {
                const int ws = (wb + g->pw - kw) / g->sw;
                if (wb + g->pw - kw < 0 || ws >= g->Ws) continue;
                const float *zr = f->z + (((n * g->Hs + hs) * g->Ws + ws) * T + kh * g->KW + kw) * Cb;
                for (int c = 0; c < Cb; c++) o[c] += zr[c];
            }
        }
    }
}

/* few big-side channels (less than a vector): the phase gemm would waste most
 * lanes, so z = small x w [Cs][T Cb] (a plain gemm, T Cb wide) and a fold */
static int up_by_fold(const dsi_cg *g) { return g->Cb < 16 && (size_t)g->KH * g->KW * g->Cb >= 16; }

void dsi_cg_up(const dsi_cg *g, const float *w, const float *small, const float *bias, float *big, void *work)
{
    const int T = g->KH * g->KW, Cb = g->Cb, Cs = g->Cs;
    const int Ms = g->N * g->Hs * g->Ws, Mb = g->N * g->Hb * g->Wb;
    bump bp = start(work);
    if (up_by_fold(g)) {
        const int NZ = T * Cb, ldb = (int)pad16((size_t)NZ);
        float *B = take(&bp, 4 * (size_t)Cs * ldb);
        float *z = take(&bp, 4 * (size_t)Ms * NZ);
        const float **a = take(&bp, 8 * (size_t)Ms);
        float **y = take(&bp, 8 * (size_t)Ms);
        /* B[cs][t Cb + cb] = w[cs][cb][t]: the packer's "tap" axis is one, n = t Cb + cb */
        for (int cs = 0; cs < Cs; cs++) {
            float *row = B + (size_t)cs * ldb;
            for (int t = 0; t < T; t++)
                for (int cb = 0; cb < Cb; cb++) row[t * Cb + cb] = w[((size_t)cs * Cb + cb) * T + t];
            for (int n = NZ; n < ldb; n++) row[n] = 0.0f;
        }
        for (int m = 0; m < Ms; m++) {
            a[m] = small + (size_t)m * Cs;
            y[m] = z + (size_t)m * NZ;
        }
        dsi_ig ig = {.M = Ms, .T = 1, .K = Cs, .N = NZ, .a = a, .b = B, .ldb = ldb, .y = y, .bias = NULL};
        par_for((size_t)Ms, (size_t)dsi_ig_row_align(NZ), (double)Cs * NZ, ig_rows_of, &ig);
        fold_job f = {g, z, bias, big};
        par_for((size_t)Mb, 1, (double)(T / (g->sh * g->sw) + 1) * Cb, fold_rows, &f);
        return;
    }
    const int ldb = (int)pad16(Cb);
    float *zero = take(&bp, 4 * pad16(Cs));
    float *B = take(&bp, 4 * (size_t)T * Cs * ldb);
    const int tpmax = taps_per_phase(g->KH, g->sh) * taps_per_phase(g->KW, g->sw);
    const float **a = take(&bp, 8 * (size_t)Mb * tpmax);
    float **y = take(&bp, 8 * (size_t)Mb);
    memset(zero, 0, 4 * pad16(Cs));
    float *Bp = B;
    for (int rh = 0; rh < g->sh; rh++)
        for (int rw = 0; rw < g->sw; rw++) {
            int tk[DSI_CG_MAXTAPS], ntp = 0;
            for (int kh = rh; kh < g->KH; kh += g->sh)
                for (int kw = rw; kw < g->KW; kw += g->sw) tk[ntp++] = kh * g->KW + kw;
            /* the big rows with (hb + ph) mod sh == rh start at hb0 */
            const int hb0 = ((rh - g->ph) % g->sh + g->sh) % g->sh, wb0 = ((rw - g->pw) % g->sw + g->sw) % g->sw;
            const int nh = hb0 < g->Hb ? (g->Hb - hb0 + g->sh - 1) / g->sh : 0;
            const int nw = wb0 < g->Wb ? (g->Wb - wb0 + g->sw - 1) / g->sw : 0;
            const int M = g->N * nh * nw;
            if (M == 0) continue;
            pack(Bp, w, tk, ntp, Cs, Cb, ldb, (size_t)Cb * T, (size_t)T); /* B[tp][cs][cb] = w[cs][cb][tap] */
            up_job u = {g, {.M = M, .T = ntp, .K = Cs, .N = Cb, .a = a, .b = Bp, .ldb = ldb, .y = y, .bias = bias},
                        a, y, small, zero, big, tk, ntp, hb0, wb0, nh, nw};
            par_for((size_t)M, (size_t)dsi_ig_row_align(Cb), (double)ntp * Cs * Cb, up_rows, &u);
            Bp += (size_t)ntp * Cs * ldb;
        }
}

/* ---- weight gradient ---- */

typedef struct wg_job {
    const dsi_cg *g;
    dsi_igtn *p; /* one problem per tap */
    const float **pa, **pb;
    const float *big, *small;
    float *gw;
    int T, tiles, vs; /* tiles per tap (the same for every tap) */
} wg_job;

/* the pair lists of taps [lo, hi) */
static void wg_pairs(void *ctx, size_t lo, size_t hi)
{
    wg_job *j = ctx;
    const dsi_cg *g = j->g;
    const size_t Ms = (size_t)g->N * g->Hs * g->Ws;
    for (size_t t = lo; t < hi; t++) {
        const int kh = (int)t / g->KW, kw = (int)t % g->KW;
        const float **ra = j->pa + t * Ms, **rb = j->pb + t * Ms;
        int P = 0;
        for (int n = 0; n < g->N; n++)
            for (int hs = 0; hs < g->Hs; hs++) {
                const int hb = hs * g->sh - g->ph + kh;
                if (hb < 0 || hb >= g->Hb) continue;
                for (int ws = 0; ws < g->Ws; ws++) {
                    const int wb = ws * g->sw - g->pw + kw;
                    if (wb < 0 || wb >= g->Wb) continue;
                    const float *s = j->small + (((size_t)n * g->Hs + hs) * g->Ws + ws) * g->Cs;
                    const float *b = j->big + (((size_t)n * g->Hb + hb) * g->Wb + wb) * g->Cb;
                    ra[P] = j->vs ? b : s;
                    rb[P] = j->vs ? s : b;
                    P++;
                }
            }
        j->p[t].P = P;
    }
}

static void wg_tiles(void *ctx, size_t lo, size_t hi)
{
    const wg_job *j = ctx;
    for (size_t tap = lo / j->tiles; tap < (size_t)j->T && tap * j->tiles < hi; tap++) {
        size_t a = tap * j->tiles, b = a + j->tiles;
        if (a < lo) a = lo;
        if (b > hi) b = hi;
        dsi_igtn_run(&j->p[tap], (int)(a - tap * j->tiles), (int)(b - tap * j->tiles));
    }
}

/* gw[cs][cb][t] += c_t for cs in [lo, hi) */
static void wg_add(void *ctx, size_t lo, size_t hi)
{
    const wg_job *j = ctx;
    const dsi_cg *g = j->g;
    for (size_t cs = lo; cs < hi; cs++)
        for (int cb = 0; cb < g->Cb; cb++) {
            float *gr = j->gw + (cs * g->Cb + cb) * j->T;
            const size_t e = j->vs ? (size_t)cb * g->Cs + cs : cs * g->Cb + cb;
            for (int t = 0; t < j->T; t++) gr[t] += j->p[t].c[e];
        }
}

/* few big-side channels: every small pixel's big-side patch gathered into
 * z [Ms][T Cb] (0 in the padding), then one dsi_igtn with T Cb rows of c */
typedef struct patch_job {
    const dsi_cg *g;
    const float *big, *small;
    float *z;
    const float **pa, **pb;
} patch_job;

static void patch_rows(void *ctx, size_t lo, size_t hi)
{
    const patch_job *j = ctx;
    const dsi_cg *g = j->g;
    const int T = g->KH * g->KW, Cb = g->Cb;
    for (size_t m = lo; m < hi; m++) {
        const int ws = (int)(m % (size_t)g->Ws), hs = (int)(m / (size_t)g->Ws % (size_t)g->Hs);
        const size_t n = m / ((size_t)g->Ws * g->Hs);
        float *zr = j->z + m * T * Cb;
        for (int kh = 0; kh < g->KH; kh++) {
            const int hb = hs * g->sh - g->ph + kh;
            for (int kw = 0; kw < g->KW; kw++, zr += Cb) {
                const int wb = ws * g->sw - g->pw + kw;
                if (hb >= 0 && hb < g->Hb && wb >= 0 && wb < g->Wb)
                    memcpy(zr, j->big + ((n * g->Hb + hb) * g->Wb + wb) * Cb, sizeof(float) * Cb);
                else
                    memset(zr, 0, sizeof(float) * Cb);
            }
        }
        j->pa[m] = j->z + m * T * Cb;
        j->pb[m] = j->small + m * g->Cs;
    }
}

static void patch_add(void *ctx, size_t lo, size_t hi)
{
    const wg_job *j = ctx;
    const dsi_cg *g = j->g;
    for (size_t cs = lo; cs < hi; cs++)
        for (int cb = 0; cb < g->Cb; cb++) {
            float *gr = j->gw + (cs * g->Cb + cb) * j->T;
            for (int t = 0; t < j->T; t++) gr[t] += j->p[0].c[((size_t)t * g->Cb + cb) * g->Cs + cs];
        }
}

static int wgrad_by_patch(const dsi_cg *g) { return g->Cb < 16 && g->Cs >= 16; }

void dsi_cg_wgrad(const dsi_cg *g, const float *big, const float *small, float *gw, void *work)
{
    const int T = g->KH * g->KW, Cb = g->Cb, Cs = g->Cs;
    const size_t Ms = (size_t)g->N * g->Hs * g->Ws;
    if (wgrad_by_patch(g)) {
        bump bp = start(work);
        const float **pa = take(&bp, 8 * Ms), **pb = take(&bp, 8 * Ms);
        float *z = take(&bp, 4 * Ms * T * Cb);
        dsi_igtn pr = {.P = (int)Ms, .MI = T * Cb, .NJ = Cs, .a = pa, .b = pb, .c = take(&bp, 4 * (size_t)T * Cb * Cs),
                       .ldc = Cs};
        patch_job pj = {g, big, small, z, pa, pb};
        par_for(Ms, 1, (double)T * Cb, patch_rows, &pj);
        wg_job j = {g, &pr, pa, pb, big, small, gw, T, dsi_igtn_tiles(&pr), 1};
        const int T1 = j.T;
        j.T = 1; /* one problem */
        par_for((size_t)j.tiles, 1, (double)Ms * T * Cb * Cs / j.tiles, wg_tiles, &j);
        j.T = T1;
        par_for((size_t)Cs, 1, (double)Cb * T * 8, patch_add, &j);
        return;
    }
    /* vectors over the wider side: c[cb][cs] (a = big rows) or c[cs][cb] (a = small rows) */
    const int vs = Cs >= Cb;
    bump bp = start(work);
    const float **pa = take(&bp, 8 * (size_t)T * Ms);
    const float **pb = take(&bp, 8 * (size_t)T * Ms);
    dsi_igtn pr[DSI_CG_MAXTAPS];
    for (int t = 0; t < T; t++)
        pr[t] = (dsi_igtn){.P = 0, .MI = vs ? Cb : Cs, .NJ = vs ? Cs : Cb, .a = pa + (size_t)t * Ms,
                           .b = pb + (size_t)t * Ms, .c = take(&bp, 4 * (size_t)Cs * Cb), .ldc = vs ? Cs : Cb};
    wg_job j = {g, pr, pa, pb, big, small, gw, T, dsi_igtn_tiles(&pr[0]), vs};
    par_for((size_t)T, 1, (double)Ms * 16, wg_pairs, &j);
    par_for((size_t)T * j.tiles, 1, (double)Ms * Cs * Cb / j.tiles, wg_tiles, &j);
    par_for((size_t)Cs, 1, (double)Cb * T * 8, wg_add, &j);
}

/* ---- layout ---- */

typedef struct lay_job {
    const float *src;
    float *dst;
    int C, acc;
    size_t P;
} lay_job;

/* [n][c][p] -> [n][p][c] for the images [lo, hi) */
static void to_nhwc(void *ctx, size_t lo, size_t hi)
{
    const lay_job *l = ctx;
    for (size_t n = lo; n < hi; n++)
        dsi_conv_transpose_block(l->src + n * l->C * l->P, l->P, l->dst + n * l->C * l->P, (size_t)l->C, l->C,
                                 (int)l->P, 0);
}

static void to_nchw(void *ctx, size_t lo, size_t hi)
{
    const lay_job *l = ctx;
    for (size_t n = lo; n < hi; n++)
        dsi_conv_transpose_block(l->src + n * l->C * l->P, (size_t)l->C, l->dst + n * l->C * l->P, l->P,
                                 (int)l->P, l->C, l->acc);
}

void dsi_nchw_to_nhwc(const float *src, int N, int C, size_t P, float *dst)
{
    lay_job l = {src, dst, C, 0, P};
    par_for((size_t)N, 1, (double)C * P * 8, to_nhwc, &l);
}

void dsi_nhwc_to_nchw(const float *src, int N, int C, size_t P, float *dst, int accumulate)
{
    lay_job l = {src, dst, C, accumulate, P};
    par_for((size_t)N, 1, (double)C * P * 8, to_nchw, &l);
}
