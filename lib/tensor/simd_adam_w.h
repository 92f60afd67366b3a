/* simd_adam_w.h - the Adam/AdamW update of simd_adam.c, written once and
 * compiled per vector width (see simd_vec.h); no FMA, so every lane computes
 * what adam_one computes. No include guard on purpose. */
static VT void VN(adam)(float *w, const float *grad, float *m, float *v, size_t n, float s, float b1, float c1,
                        float b2, float c2, float l2, float decay, float ss, float ib, float eps)
{
    const vecf S = vset1(s), B1 = vset1(b1), C1 = vset1(c1), B2 = vset1(b2), C2 = vset1(c2), L2 = vset1(l2),
               DEC = vset1(decay), SS = vset1(ss), IB = vset1(ib), EPS = vset1(eps);
    size_t k = 0;
    for (; k + DSI_VW <= n; k += DSI_VW) {
        vecf wi = vload(w + k);
        vecf g = vadd(vmul(vload(grad + k), S), vmul(L2, wi));
        vecf mi = vadd(vmul(B1, vload(m + k)), vmul(C1, g));
        vecf vi = vadd(vmul(B2, vload(v + k)), vmul(C2, vmul(g, g)));
        vstore(m + k, mi);
        vstore(v + k, vi);
        vecf den = vadd(vmul(vsqrt(vi), IB), EPS);
        vstore(w + k, vsub(vmul(wi, DEC), vdiv(vmul(SS, mi), den)));
    }
    for (; k < n; k++) w[k] = adam_one(w, grad, m, v, k, s, b1, c1, b2, c2, l2, decay, ss, ib, eps);
}
