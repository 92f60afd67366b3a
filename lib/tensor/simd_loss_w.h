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
