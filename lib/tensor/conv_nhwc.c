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
    size_t m = down > up ? down : up;
    return (m > wg ? m : wg) + 64;
}

static bump start(void *work)
{
    bump b = {(unsigned char *)(((uintptr_t)work + 63) / 64 * 64)};
    return b;
}

/* ---- tasks over the pool ---- */

typedef struct ig_job {
    const dsi_ig *g;
    int align;
} ig_job;

static void ig_task(void *ctx, int t, int n)
{
    const ig_job *j = ctx;
    size_t lo, hi;
    dsi_pool_split((size_t)j->g->M, t, n, (size_t)j->align, &lo, &hi);
    dsi_ig_rows(j->g, (int)lo, (int)hi);
}

static void ig_par(const dsi_ig *g)
{
    if (g->M <= 0) return;
    ig_job j = {g, dsi_ig_row_align(g->N)};
    double work = (double)g->M * g->T * g->K * (double)g->N;
    int nt = dsi_pool_tasks(work, 2e6);
    int blocks = (g->M + j.align - 1) / j.align;
    if (nt > blocks) nt = blocks;
    dsi_pool_run(nt, ig_task, &j);
}

/* ---- down ---- */

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
    /* B[t][cb][cs] = w[cs][cb][t] */
    for (int t = 0; t < T; t++)
        for (int cb = 0; cb < Cb; cb++) {
            float *row = B + ((size_t)t * Cb + cb) * ldb;
            for (int cs = 0; cs < Cs; cs++) row[cs] = w[((size_t)cs * Cb + cb) * T + t];
            for (int cs = Cs; cs < ldb; cs++) row[cs] = 0.0f;
        }
    size_t m = 0;
    for (int n = 0; n < g->N; n++)
        for (int hs = 0; hs < g->Hs; hs++)
            for (int ws = 0; ws < g->Ws; ws++, m++) {
                y[m] = small + m * Cs;
                for (int kh = 0; kh < g->KH; kh++) {
                    const int hb = hs * g->sh - g->ph + kh;
                    for (int kw = 0; kw < g->KW; kw++) {
                        const int wb = ws * g->sw - g->pw + kw;
                        const int in = hb >= 0 && hb < g->Hb && wb >= 0 && wb < g->Wb;
                        a[m * T + kh * g->KW + kw] =
                            in ? big + (((size_t)n * g->Hb + hb) * g->Wb + wb) * Cb : zero;
                    }
                }
            }
    dsi_ig ig = {.M = Ms, .T = T, .K = Cb, .N = Cs, .a = a, .b = B, .ldb = ldb, .y = y, .bias = bias, .beta = 0};
    ig_par(&ig);
}

/* ---- up ---- */

void dsi_cg_up(const dsi_cg *g, const float *w, const float *small, const float *bias, float *big, void *work)
{
    const int T = g->KH * g->KW, Cb = g->Cb, Cs = g->Cs;
    const int ldb = (int)pad16(Cb);
    bump bp = start(work);
    float *zero = take(&bp, 4 * pad16(Cs));
    float *B = take(&bp, 4 * (size_t)T * Cs * ldb);
    const int tpmax = taps_per_phase(g->KH, g->sh) * taps_per_phase(g->KW, g->sw);
    const float **a = take(&bp, 8 * (size_t)g->N * g->Hb * g->Wb * tpmax);
    float **y = take(&bp, 8 * (size_t)g->N * g->Hb * g->Wb);
    memset(zero, 0, 4 * pad16(Cs));
    float *Bp = B;
    for (int rh = 0; rh < g->sh; rh++)
        for (int rw = 0; rw < g->sw; rw++) {
            /* this phase's taps, in (kh, kw) order */
            int tk[DSI_CG_MAXTAPS], ntp = 0;
            for (int kh = rh; kh < g->KH; kh += g->sh)
                for (int kw = rw; kw < g->KW; kw += g->sw) tk[ntp++] = kh * g->KW + kw;
            /* B[tp][cs][cb] = w[cs][cb][tap] */
            for (int tp = 0; tp < ntp; tp++)
                for (int cs = 0; cs < Cs; cs++) {
                    float *row = Bp + ((size_t)tp * Cs + cs) * ldb;
                    for (int cb = 0; cb < Cb; cb++) row[cb] = w[((size_t)cs * Cb + cb) * T + tk[tp]];
                    for (int cb = Cb; cb < ldb; cb++) row[cb] = 0.0f;
                }
            /* the big pixels of this phase: (hb + ph) mod sh == rh */
            int M = 0;
            for (int n = 0; n < g->N; n++)
                for (int hb = 0; hb < g->Hb; hb++) {
                    if ((hb + g->ph) % g->sh != rh) continue;
                    for (int wb = 0; wb < g->Wb; wb++) {
                        if ((wb + g->pw) % g->sw != rw) continue;
                        y[M] = big + (((size_t)n * g->Hb + hb) * g->Wb + wb) * Cb;
                        for (int tp = 0; tp < ntp; tp++) {
                            const int kh = tk[tp] / g->KW, kw = tk[tp] % g->KW;
                            const int hs = (hb + g->ph - kh) / g->sh, ws = (wb + g->pw - kw) / g->sw;
                            const int in = hb + g->ph - kh >= 0 && hs < g->Hs && wb + g->pw - kw >= 0 && ws < g->Ws;
                            a[(size_t)M * ntp + tp] = in ? small + (((size_t)n * g->Hs + hs) * g->Ws + ws) * Cs : zero;
                        }
                        M++;
                    }
                }
            dsi_ig ig = {.M = M, .T = ntp, .K = Cs, .N = Cb, .a = a, .b = Bp, .ldb = ldb, .y = y, .bias = bias,
                         .beta = 0};
            ig_par(&ig);
            Bp += (size_t)ntp * Cs * ldb;
        }
}

/* ---- weight gradient ---- */

typedef struct wg_job {
    const dsi_igtn *p; /* one problem per tap */
    int T, tiles;      /* tiles per tap (the same for every tap) */
} wg_job;

static void wg_task(void *ctx, int t, int n)
{
    const wg_job *j = ctx;
    size_t lo, hi;
    dsi_pool_split((size_t)j->T * j->tiles, t, n, 1, &lo, &hi);
    for (int tap = (int)(lo / j->tiles); tap < j->T && (size_t)tap * j->tiles < hi; tap++) {
        size_t a = (size_t)tap * j->tiles, b = a + j->tiles;
        if (a < lo) a = lo;
        if (b > hi) b = hi;
        dsi_igtn_run(&j->p[tap], (int)(a - (size_t)tap * j->tiles), (int)(b - (size_t)tap * j->tiles));
    }
}

void dsi_cg_wgrad(const dsi_cg *g, const float *big, const float *small, float *gw, void *work)
{
    const int T = g->KH * g->KW, Cb = g->Cb, Cs = g->Cs;
    const size_t Ms = (size_t)g->N * g->Hs * g->Ws;
    /* vectors over the wider side: c[cb][cs] (a = big rows) or c[cs][cb] (a = small rows) */
    const int vs = Cs >= Cb;
    bump bp = start(work);
    const float **pa = take(&bp, 8 * (size_t)T * Ms);
    const float **pb = take(&bp, 8 * (size_t)T * Ms);
    dsi_igtn pr[DSI_CG_MAXTAPS];
    for (int kh = 0; kh < g->KH; kh++)
        for (int kw = 0; kw < g->KW; kw++) {
            const int t = kh * g->KW + kw;
            const float **ra = pa + (size_t)t * Ms, **rb = pb + (size_t)t * Ms;
            int P = 0;
            for (int n = 0; n < g->N; n++)
                for (int hs = 0; hs < g->Hs; hs++) {
                    const int hb = hs * g->sh - g->ph + kh;
                    if (hb < 0 || hb >= g->Hb) continue;
                    for (int ws = 0; ws < g->Ws; ws++) {
                        const int wb = ws * g->sw - g->pw + kw;
                        if (wb < 0 || wb >= g->Wb) continue;
                        const float *s = small + (((size_t)n * g->Hs + hs) * g->Ws + ws) * Cs;
                        const float *b = big + (((size_t)n * g->Hb + hb) * g->Wb + wb) * Cb;
                        ra[P] = vs ? b : s;
                        rb[P] = vs ? s : b;
                        P++;
                    }
                }
            float *c = take(&bp, 4 * (size_t)Cs * Cb);
            pr[t] = (dsi_igtn){.P = P, .MI = vs ? Cb : Cs, .NJ = vs ? Cs : Cb, .a = ra, .b = rb, .c = c,
                               .ldc = vs ? Cs : Cb};
        }
    wg_job j = {pr, T, dsi_igtn_tiles(&pr[0])};
    double wk = (double)Ms * T * Cs * (double)Cb;
    int nt = dsi_pool_tasks(wk, 2e6);
    if (nt > T * j.tiles) nt = T * j.tiles;
    dsi_pool_run(nt, wg_task, &j);
    /* gw[cs][cb][t] += c_t */
    for (int cs = 0; cs < Cs; cs++)
        for (int cb = 0; cb < Cb; cb++) {
            float *gr = gw + ((size_t)cs * Cb + cb) * T;
            for (int t = 0; t < T; t++) gr[t] += vs ? pr[t].c[(size_t)cb * Cs + cs] : pr[t].c[(size_t)cs * Cb + cb];
        }
}

/* ---- layout ---- */

#define TB 16
void dsi_nchw_to_nhwc(const float *src, int N, int C, size_t P, float *dst)
{
    for (int n = 0; n < N; n++) {
        const float *s = src + (size_t)n * C * P;
        float *d = dst + (size_t)n * C * P;
        for (size_t p0 = 0; p0 < P; p0 += TB)
            for (int c0 = 0; c0 < C; c0 += TB) {
                const size_t p1 = p0 + TB < P ? p0 + TB : P;
                const int c1 = c0 + TB < C ? c0 + TB : C;
                for (size_t p = p0; p < p1; p++)
                    for (int c = c0; c < c1; c++) d[p * C + c] = s[(size_t)c * P + p];
            }
    }
}

void dsi_nhwc_to_nchw(const float *src, int N, int C, size_t P, float *dst, int accumulate)
{
    for (int n = 0; n < N; n++) {
        const float *s = src + (size_t)n * C * P;
        float *d = dst + (size_t)n * C * P;
        for (int c0 = 0; c0 < C; c0 += TB)
            for (size_t p0 = 0; p0 < P; p0 += TB) {
                const size_t p1 = p0 + TB < P ? p0 + TB : P;
                const int c1 = c0 + TB < C ? c0 + TB : C;
                if (accumulate) {
                    for (int c = c0; c < c1; c++)
                        for (size_t p = p0; p < p1; p++) d[(size_t)c * P + p] += s[p * C + c];
                } else {
                    for (int c = c0; c < c1; c++)
                        for (size_t p = p0; p < p1; p++) d[(size_t)c * P + p] = s[p * C + c];
                }
            }
    }
}
