/* simd_rows_w.h - the row kernels of simd_rows.c, written once and compiled
 * per vector width (see simd_vec.h). No include guard on purpose. */

/* sum of x^2 in double: two accumulators of VW/2 lanes, then the tail in order */
static VT double VN(sumsq)(const float *x, size_t n)
{
    vecd a0 = vd_zero(), a1 = vd_zero();
    size_t k = 0;
    for (; k + DSI_VW <= n; k += DSI_VW) {
        vecd lo = vd_cvt(x + k), hi = vd_cvt(x + k + DSI_VW / 2);
        a0 = vd_fmadd(lo, lo, a0);
        a1 = vd_fmadd(hi, hi, a1);
    }
    double s = vd_hsum(vd_add(a0, a1));
    for (; k < n; k++) s += (double)x[k] * x[k];
    return s;
}

/* colsum's last nv (1-4) vectors, w columns (masked): each column summed over
 * the rows in order, as in the full blocks */
static inline __attribute__((always_inline)) VT void VN(colsum_tail)(const float *g, size_t rows, size_t w,
                                                                      size_t ld, float *b, int nv)
{
    vmask mk[4];
    vecf a[4];
    _Pragma("GCC unroll 4")
    for (int v = 0; v < 4; v++)
        if (v < nv) {
            mk[v] = vtail(w - (size_t)DSI_VW * v);
            a[v] = vloadm(mk[v], b + DSI_VW * v);
        }
    for (size_t r = 0; r < rows; r++) {
        const float *row = g + r * ld;
        _Pragma("GCC unroll 4")
        for (int v = 0; v < 4; v++)
            if (v < nv) a[v] = vadd(a[v], vloadm(mk[v], row + DSI_VW * v));
    }
    _Pragma("GCC unroll 4")
    for (int v = 0; v < 4; v++)
        if (v < nv) vstorem(b + DSI_VW * v, mk[v], a[v]);
}

/* b[j] += sum_r g[r, j], j < n, rows ld floats apart: blocks of 4 vectors of
 * columns kept in registers over all rows */
static VT void VN(colsum)(const float *g, size_t rows, size_t n, size_t ld, float *b)
{
    size_t j = 0;
    for (; j + 4 * DSI_VW <= n; j += 4 * DSI_VW) {
        vecf a0 = vload(b + j), a1 = vload(b + j + DSI_VW), a2 = vload(b + j + 2 * DSI_VW),
             a3 = vload(b + j + 3 * DSI_VW);
        for (size_t r = 0; r < rows; r++) {
            const float *row = g + r * ld + j;
            a0 = vadd(a0, vload(row));
            a1 = vadd(a1, vload(row + DSI_VW));
            a2 = vadd(a2, vload(row + 2 * DSI_VW));
            a3 = vadd(a3, vload(row + 3 * DSI_VW));
        }
        vstore(b + j, a0);
        vstore(b + j + DSI_VW, a1);
        vstore(b + j + 2 * DSI_VW, a2);
        vstore(b + j + 3 * DSI_VW, a3);
    }
    /* the last 1..4 vectors (less than 4 whole ones) in one pass over the rows (a pool part is often
     * 2 vectors wide: one pass per vector read every row's lines twice) */
    switch ((n - j + DSI_VW - 1) / DSI_VW) {
    case 1: VN(colsum_tail)(g + j, rows, n - j, ld, b + j, 1); break;
    case 2: VN(colsum_tail)(g + j, rows, n - j, ld, b + j, 2); break;
    case 3: VN(colsum_tail)(g + j, rows, n - j, ld, b + j, 3); break;
    case 4: VN(colsum_tail)(g + j, rows, n - j, ld, b + j, 4); break;
    default: break;
    }
}
