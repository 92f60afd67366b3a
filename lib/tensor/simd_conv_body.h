/* simd_conv_body.h - the conv micro-kernels of simd_conv.c, written once over
 * a vector abstraction and included once per ISA (AVX-512: 16 lanes, AVX2:
 * 8 lanes). The including file defines:
 *   SFX(name)   name with the ISA suffix      TGT       target attribute
 *   VT, MT      vector and mask types          VL        lanes
 *   V0()        zero vector                    VLD(p)    unaligned load
 *   VLDM(p, m)  masked load (0 elsewhere)      VSTM(p, m, v)  masked store
 *   VB(x)       broadcast                      VFMA(a, b, c)  a b + c (fused)
 *   VADD(a, b)  a + b                          MTAIL(l)  mask of the first l lanes (1..VL)
 *   MFULL       all lanes                      NVX       widest column block (vectors)
 *   MRX(nv)     rows per block for nv vectors (a constant expression) */

#define IG_ALWAYS static inline __attribute__((always_inline)) TGT

/* The register tile of both kernels: accumulators acc[r][v] for rows r < R of
 * vectors v < nv, on the floats at row[r] (the last vector masked by mk). */
IG_ALWAYS void SFX(tile_load)(VT acc[MRMAX][NVX], float *const row[MRMAX], MT mk, int first, const int R,
                              const int nv)
{
    _Pragma("GCC unroll 16")
    for (int r = 0; r < MRMAX; r++)
        _Pragma("GCC unroll 8")
        for (int v = 0; v < NVX; v++)
            if (r < R && v < nv) acc[r][v] = first ? V0() : VLDM(row[r] + VL * v, v == nv - 1 ? mk : MFULL);
}

/* acc[r][v] += a[r][0] bv[v] */
IG_ALWAYS void SFX(tile_fma)(VT acc[MRMAX][NVX], const VT bv[NVX], const float *const a[MRMAX], const int R,
                             const int nv)
{
    _Pragma("GCC unroll 16")
    for (int r = 0; r < MRMAX; r++)
        if (r < R) {
            const VT ar = VB(a[r][0]);
            _Pragma("GCC unroll 8")
            for (int v = 0; v < NVX; v++)
                if (v < nv) acc[r][v] = VFMA(ar, bv[v], acc[r][v]);
        }
}

/* row[r] = acc[r] (+ the bias row when bias is not NULL) */
IG_ALWAYS void SFX(tile_store)(VT acc[MRMAX][NVX], float *const row[MRMAX], const float *bias, MT mk, const int R,
                               const int nv)
{
    _Pragma("GCC unroll 16")
    for (int r = 0; r < MRMAX; r++)
        if (r < R) {
            _Pragma("GCC unroll 8")
            for (int v = 0; v < NVX; v++)
                if (v < nv) {
                    const MT mv = v == nv - 1 ? mk : MFULL;
                    VT x = acc[r][v];
                    if (bias) x = VADD(x, VLDM(bias + VL * v, mv));
                    VSTM(row[r] + VL * v, mv, x);
                }
        }
}

/* rows m .. m+R-1, columns j .. j + VL nv - 1 (the last vector masked by mk), taps [t0, t1):
 * the sum starts from 0 (first) or from the partial sum stored in y, and the
 * last tap range adds the bias. A float stored and reloaded is exact, so the
 * result does not depend on how the taps are cut. */
IG_ALWAYS void SFX(ig_blk)(const dsi_ig *g, int m, int j, MT mk, int t0, int t1, int first, int last, const int R,
                           const int nv)
{
    VT acc[MRMAX][NVX];
    float *row[MRMAX];
    _Pragma("GCC unroll 16")
    for (int r = 0; r < MRMAX; r++) row[r] = r < R ? g->y[m + r] + j : NULL;
    SFX(tile_load)(acc, row, mk, first, R, nv);
    const int T = g->T, K = g->K, ldb = g->ldb;
    for (int t = t0; t < t1; t++) {
        const float *ap[MRMAX];
        _Pragma("GCC unroll 16")
        for (int r = 0; r < MRMAX; r++)
            if (r < R) ap[r] = g->a[(size_t)(m + r) * T + t];
        const float *bp = g->b + (size_t)t * K * ldb + j;
        for (int k = 0; k < K; k++, bp += ldb) {
            VT bv[NVX];
            _Pragma("GCC unroll 8")
            for (int v = 0; v < NVX; v++)
                if (v < nv) bv[v] = VLD(bp + VL * v);
            const float *ak[MRMAX];
            _Pragma("GCC unroll 16")
            for (int r = 0; r < MRMAX; r++)
                if (r < R) ak[r] = ap[r] + k;
            SFX(tile_fma)(acc, bv, ak, R, nv);
        }
    }
    SFX(tile_store)(acc, row, last && g->bias ? g->bias + j : NULL, mk, R, nv);
}

/* tile of dsi_igtn: c rows i .. i+R-1, columns j .. j + VL nv - 1, pairs [q0, q1), continuing
 * the sum stored in c unless first */
IG_ALWAYS void SFX(tn_blk)(const dsi_igtn *g, int i, int j, int q0, int q1, MT mk, int first, const int R,
                           const int nv)
{
    VT acc[MRMAX][NVX];
    float *row[MRMAX];
    _Pragma("GCC unroll 16")
    for (int r = 0; r < MRMAX; r++) row[r] = r < R ? g->c + (size_t)(i + r) * g->ldc + j : NULL;
    SFX(tile_load)(acc, row, mk, first, R, nv);
    for (int q = q0; q < q1; q++) {
        const float *ar = g->a[q] + i, *br = g->b[q] + j;
        VT bv[NVX];
        _Pragma("GCC unroll 8")
        for (int v = 0; v < NVX; v++)
            if (v < nv) bv[v] = v == nv - 1 ? VLDM(br + VL * v, mk) : VLD(br + VL * v);
        const float *ak[MRMAX];
        _Pragma("GCC unroll 16")
        for (int r = 0; r < MRMAX; r++)
            if (r < R) ak[r] = ar + r;
        SFX(tile_fma)(acc, bv, ak, R, nv);
    }
    SFX(tile_store)(acc, row, NULL, mk, R, nv);
}

/* the switch over (R, nv): every case an inlined block with constant sizes */
#define IG_CASE(R_, NV_) case (NV_) * 32 + (R_): SFX(ig_blk)(g, m, j, mk, t0, t1, first, last, R_, NV_); break;
#define TN_CASE(R_, NV_) case (NV_) * 32 + (R_): SFX(tn_blk)(g, i, j, q0, q1, mk, first, R_, NV_); break;

static TGT void SFX(ig_call)(const dsi_ig *g, int m, int j, MT mk, int t0, int t1, int first, int last, int R, int nv)
{
    switch (nv * 32 + R) { IG_CASES(IG_CASE) default: break; }
}

static TGT void SFX(tn_call)(const dsi_igtn *g, int i, int j, int q0, int q1, MT mk, int first, int R, int nv)
{
    switch (nv * 32 + R) { IG_CASES(TN_CASE) default: break; }
}

/* column blocks: nv vectors each (the widest that fits, NVX at most), the last one masked */
static inline int SFX(col_nv)(int N)
{
    const int cap = dsi_conv_nv_cap > 0 && dsi_conv_nv_cap < NVX ? dsi_conv_nv_cap : NVX;
    return N >= VL * cap ? cap : (N + VL - 1) / VL;
}

static TGT void SFX(ig_rows)(const dsi_ig *g, int m0, int m1)
{
    for (int j = 0; j < g->N;) {
        const int left = g->N - j;
        const int nv = SFX(col_nv)(left);
        const int w = left < VL * nv ? left : VL * nv;
        const int tl = w - VL * (nv - 1);
        const MT mk = tl >= VL ? MFULL : MTAIL(tl);
        const int mr = MRX(nv);
        /* taps in chunks whose weights (K x VL nv floats each) stay in L1 */
        const size_t per_tap = (size_t)g->K * VL * nv * sizeof(float);
        int tc = (int)(DSI_IG_L1 / (per_tap ? per_tap : 1));
        if (tc < 1) tc = 1;
        if (g->T == 0)
            for (int m = m0; m < m1; m += mr) SFX(ig_call)(g, m, j, mk, 0, 0, 1, 1, m1 - m < mr ? m1 - m : mr, nv);
        /* rows in groups whose input rows (T K floats each, shared in part) stay in L2 */
        size_t per_row = (size_t)g->T * g->K * sizeof(float);
        int rg = (int)(dsi_conv_l2_rows / (per_row ? per_row : 1)) / mr * mr;
        if (rg < mr) rg = mr;
        for (int mg = m0; mg < m1; mg += rg) {
            const int me = m1 - mg < rg ? m1 : mg + rg;
            for (int t0 = 0; t0 < g->T; t0 += tc) {
                const int t1 = g->T - t0 < tc ? g->T : t0 + tc;
                for (int m = mg; m < me; m += mr)
                    SFX(ig_call)(g, m, j, mk, t0, t1, t0 == 0, t1 == g->T, me - m < mr ? me - m : mr, nv);
            }
        }
        j += w;
    }
}

static int SFX(ig_align)(int N) { return MRX(SFX(col_nv)(N)); }

/* tiles: i blocks of MRX(nv) rows x column blocks, i-major */
static int SFX(tn_tiles)(const dsi_igtn *g)
{
    const int nv = SFX(col_nv)(g->NJ), mr = MRX(nv);
    const int nj = (g->NJ + VL * nv - 1) / (VL * nv);
    return (g->MI + mr - 1) / mr * nj;
}

static TGT void SFX(tn_run)(const dsi_igtn *g, int t0, int t1)
{
    const int nv = SFX(col_nv)(g->NJ), mr = MRX(nv), wb = VL * nv;
    const int nj = (g->NJ + wb - 1) / wb;
    int qb = (int)(dsi_conv_tn_block / (((size_t)g->MI + g->NJ) * sizeof(float)));
    if (qb < 16) qb = 16;
    for (int q0 = 0, first = 1; first || q0 < g->P; q0 += qb, first = 0) {
        const int q1 = g->P - q0 < qb ? g->P : q0 + qb;
        for (int tile = t0; tile < t1; tile++) {
            const int i = tile / nj * mr, j = tile % nj * wb;
            const int R = g->MI - i < mr ? g->MI - i : mr;
            const int w = g->NJ - j < wb ? g->NJ - j : wb;
            const int tnv = (w + VL - 1) / VL, tl = w - VL * (tnv - 1);
            const MT mk = tl >= VL ? MFULL : MTAIL(tl);
            SFX(tn_call)(g, i, j, q0, q1, mk, first, R, tnv);
        }
        if (g->P == 0) break;
    }
}

#undef IG_CASE
#undef TN_CASE
#undef IG_ALWAYS
