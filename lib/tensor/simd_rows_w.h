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
    for (; j < n; j += DSI_VW) {
        const vmask mk = vtail(n - j);
        vecf a = vloadm(mk, b + j);
        for (size_t r = 0; r < rows; r++) a = vadd(a, vloadm(mk, g + r * ld + j));
        vstorem(b + j, mk, a);
    }
}
