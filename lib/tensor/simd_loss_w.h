/* simd_loss_w.h - the Bernoulli kernels of simd_loss.c, written once and
 * compiled per vector width (see simd_vec.h). No include guard on purpose. */

/* log1p(e) for e in [0, 1]: u = 1 + e reduced to [sqrt(1/2), sqrt(2)) as 2^k (1 + f) with f computed
 * without rounding (f = e, or (e - 1) / 2 when 1 + e > sqrt 2), then the minimax log polynomial on f */
static inline VT vecf VN(log1p01)(vecf e)
{
    const vmask big = vcmp(e, vset1(0.41421356f), _CMP_GT_OQ);
    const vecf f = vblend(big, e, vmul(vsub(e, vset1(1.0f)), vset1(0.5f)));
    const vecf k = vsel(big, vset1(1.0f));
    const vecf z = vmul(f, f);
    vecf y = vfmadd(vset1(7.0376836292e-2f), f, vset1(-1.1514610310e-1f));
    y = vfmadd(y, f, vset1(1.1676998740e-1f));
    y = vfmadd(y, f, vset1(-1.2420140846e-1f));
    y = vfmadd(y, f, vset1(1.4249322787e-1f));
    y = vfmadd(y, f, vset1(-1.6668057665e-1f));
    y = vfmadd(y, f, vset1(2.0000714765e-1f));
    y = vfmadd(y, f, vset1(-2.4999993993e-1f));
    y = vfmadd(y, f, vset1(3.3333331174e-1f));
    y = vmul(y, vmul(f, z));
    y = vfmadd(k, vset1(-2.12194440e-4f), y);
    y = vfnmadd(vset1(0.5f), z, y);
    return vfmadd(k, vset1(0.693359375f), vadd(f, y));
}

/* l = max(x, 0) - x y + log1p(e^-|x|) */
static inline VT vecf VN(bern)(vecf x, vecf y)
{
    const vecf e = vexp(vsub(vzero(), vabs(x)));
    return vadd(vfnmadd(x, y, vmax(x, vzero())), VN(log1p01)(e));
}

/* the sum in double with the same 16 partial sums at both widths (lane i of
 * each block of 16 inputs goes to sum i; blocks of VW lanes, two halves of
 * VW/2 doubles each), added in order at the end: the same value at any width */
static VT double VN(bern_nll)(const float *x, const float *y, size_t n)
{
    vecd a[32 / DSI_VW];
    for (int i = 0; i < 32 / DSI_VW; i++) a[i] = vd_zero();
    for (size_t k = 0; k < n; k += 16)
        for (int h = 0; h < 16 / DSI_VW; h++) {
            const size_t o = k + DSI_VW * (size_t)h, oo = n > o ? o : 0;
            const vmask mk = vtail(n > o ? n - o : 0);
            const vecf l = vsel(mk, VN(bern)(vloadm(mk, x + oo), vloadm(mk, y + oo)));
            a[2 * h] = vd_add(a[2 * h], vd_lo(l));
            a[2 * h + 1] = vd_add(a[2 * h + 1], vd_hi(l));
        }
    double t[16], s = 0.0;
    for (int i = 0; i < 32 / DSI_VW; i++) vd_store(t + DSI_VW / 2 * i, a[i]);
    for (int i = 0; i < 16; i++) s += t[i];
    return s;
}

/* gx += g (sigm(x) - y) */
static VT void VN(bern_grad)(const float *x, const float *y, float g, float *gx, size_t n)
{
    const vecf G = vset1(g), one = vset1(1.0f);
    for (size_t k = 0; k < n; k += DSI_VW) {
        const vmask mk = vtail(n - k);
        const vecf xv = vloadm(mk, x + k), yv = vloadm(mk, y + k);
        const vecf e = vexp(vsub(vzero(), vabs(xv)));
        const vmask pos = vcmp(xv, vzero(), _CMP_GE_OQ);
        const vecf sg = vdiv(vblend(pos, e, one), vadd(one, e));
        vstorem(gx + k, mk, vfmadd(G, vsub(sg, yv), vloadm(mk, gx + k)));
    }
}

/* ---- KL between diagonal Gaussians, one row of D ----
 * a = clamp(lq), b = clamp(lp) to [KL_LVMIN, KL_LVMAX], d = a - b, dm = mq - mp, ip = e^-b:
 *   l = h(d) + dm^2 ip, h(d) = expm1(d) - d
 * h and expm1 without cancellation: for |d| < 1/2 the Taylor series
 * expm1(d) = d + d^2 q(d) to degree 9 (h = d^2 q), else e^d - 1. */
static inline VT void VN(expm1_h)(vecf d, vecf *em1, vecf *h)
{
    vecf q = vset1(1.0f / 362880.0f);
    q = vfmadd(q, d, vset1(1.0f / 40320.0f));
    q = vfmadd(q, d, vset1(1.0f / 5040.0f));
    q = vfmadd(q, d, vset1(1.0f / 720.0f));
    q = vfmadd(q, d, vset1(1.0f / 120.0f));
    q = vfmadd(q, d, vset1(1.0f / 24.0f));
    q = vfmadd(q, d, vset1(1.0f / 6.0f));
    q = vfmadd(q, d, vset1(0.5f));
    const vecf hs = vmul(vmul(d, d), q);
    const vecf el = vsub(vexp(d), vset1(1.0f));
    const vmask small = vcmp(vabs(d), vset1(0.5f), _CMP_LT_OQ);
    *em1 = vblend(small, el, vadd(d, hs));
    *h = vblend(small, vsub(el, d), hs);
}

/* e^x in double (|rel. error| ~2e-16): 2^n e^r, |r| <= ln2 / 2, Taylor series to degree 13 */
static inline VT vecd VN(exp_d)(vecd x)
{
    x = vd_min(vd_max(x, vd_set1(-708.0)), vd_set1(709.0));
    const vecd n = vd_round(vd_mul(x, vd_set1(1.4426950408889634)));
    vecd r = vd_fnmadd(n, vd_set1(6.93147180369123816490e-01), x);
    r = vd_fnmadd(n, vd_set1(1.90821492927058770002e-10), r);
    static const double c[14] = {1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0,
                                 1.0 / 362880.0,     1.0 / 40320.0,     1.0 / 5040.0,     1.0 / 720.0,
                                 1.0 / 120.0,        1.0 / 24.0,        1.0 / 6.0,        0.5,
                                 1.0,                1.0};
    vecd p = vd_set1(c[0]);
    for (int i = 1; i < 14; i++) p = vd_fmadd(p, r, vd_set1(c[i]));
    return vd_scale2(p, n);
}

/* expm1(d) - d in double without cancellation: d^2 sum_{k>=2} d^(k-2)/k! (to degree 17) for |d| < 1/2 */
static inline VT vecd VN(hfun_d)(vecd d)
{
    vecd q = vd_set1(1.0 / 355687428096000.0); /* 1/17! */
    static const double f[15] = {1.0 / 20922789888000.0, 1.0 / 1307674368000.0, 1.0 / 87178291200.0,
                                 1.0 / 6227020800.0,     1.0 / 479001600.0,     1.0 / 39916800.0,
                                 1.0 / 3628800.0,        1.0 / 362880.0,        1.0 / 40320.0,
                                 1.0 / 5040.0,           1.0 / 720.0,           1.0 / 120.0,
                                 1.0 / 24.0,             1.0 / 6.0,             0.5};
    for (int i = 0; i < 15; i++) q = vd_fmadd(q, d, vd_set1(f[i]));
    const vecd hs = vd_mul(vd_mul(d, d), q);
    const vecd hl = vd_sub(vd_sub(VN(exp_d)(d), vd_set1(1.0)), d);
    return vd_blend(vd_cmp(vd_abs(d), vd_set1(0.5), _CMP_LT_OQ), hl, hs);
}

/* the forward in double (it is the loss value: same as the scalar libm loop to ~1e-15), VW/2 lanes; the
 * lanes' sums are added in order (the AVX-512 and AVX2 sums agree to rounding) */
static VT double VN(klg_row)(const float *mq, const float *lq, const float *mp, const float *lp, int D)
{
    const vech lo = vh_set1(KL_LVMIN), hi = vh_set1(KL_LVMAX);
    vecd acc = vd_zero();
    for (int k = 0; k < D; k += DSI_VW / 2) {
        const vhmask mk = vh_tail(D - k);
        const vecd a = vd_from_h(vh_min(vh_max(vh_loadm(mk, lq + k), lo), hi));
        const vecd b = vd_from_h(vh_min(vh_max(vh_loadm(mk, lp + k), lo), hi));
        const vecd dm = vd_sub(vd_from_h(vh_loadm(mk, mq + k)), vd_from_h(vh_loadm(mk, mp + k)));
        const vecd ip = VN(exp_d)(vd_sub(vd_zero(), b));
        const vecd l = vd_add(VN(hfun_d)(vd_sub(a, b)), vd_mul(vd_mul(dm, dm), ip));
        acc = vd_add(acc, vd_sel(vd_hmask(mk), l));
    }
    double t[DSI_VW / 2], s = 0.0;
    vd_store(t, acc);
    for (int i = 0; i < DSI_VW / 2; i++) s += t[i];
    return s;
}

/* gmq += g dm ip, gmp -= g dm ip, glq += g/2 expm1(d) [lq in range], glp -= g/2 (expm1(d) + dm^2 ip) [lp in
 * range]; in float, the same operations at both widths (the same bits) */
static VT void VN(klg_row_grad)(const float *mq, const float *lq, const float *mp, const float *lp, int D, float g,
                                float *gmq, float *glq, float *gmp, float *glp)
{
    const vecf lo = vset1(KL_LVMIN), hi = vset1(KL_LVMAX), G = vset1(g), hG = vset1(0.5f * g);
    for (int k = 0; k < D; k += DSI_VW) {
        const vmask mk = vtail(D - k);
        const vecf lqv = vloadm(mk, lq + k), lpv = vloadm(mk, lp + k);
        const vecf a = vmin(vmax(lqv, lo), hi), b = vmin(vmax(lpv, lo), hi);
        const vecf dm = vsub(vloadm(mk, mq + k), vloadm(mk, mp + k));
        vecf em1, h;
        VN(expm1_h)(vsub(a, b), &em1, &h);
        const vecf ip = vexp(vsub(vzero(), b));
        const vecf gm = vmul(G, vmul(dm, ip));
        if (gmq) vstorem(gmq + k, mk, vadd(vloadm(mk, gmq + k), gm));
        if (gmp) vstorem(gmp + k, mk, vsub(vloadm(mk, gmp + k), gm));
        if (glq) {
            const vmask in = vmask_and(vmask_and(mk, vcmp(lqv, lo, _CMP_GE_OQ)), vcmp(lqv, hi, _CMP_LE_OQ));
            vstorem(glq + k, in, vadd(vloadm(in, glq + k), vmul(hG, em1)));
        }
        if (glp) {
            const vmask in = vmask_and(vmask_and(mk, vcmp(lpv, lo, _CMP_GE_OQ)), vcmp(lpv, hi, _CMP_LE_OQ));
            const vecf t = vmul(hG, vfmadd(vmul(dm, dm), ip, em1));
            vstorem(glp + k, in, vsub(vloadm(in, glp + k), t));
        }
    }
}
