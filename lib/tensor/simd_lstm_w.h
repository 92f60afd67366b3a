/* simd_lstm_w.h - the LSTM row backward of simd_lstm.c, written once and
 * compiled per vector width (see simd_vec.h). No include guard on purpose. */

/* dsi_lstm_row_backward (lstm_kernel.c) on VW lanes, the same operations in the same order (no FMA) */
static VT void VN(lstm_bwd)(int H, float *gates, const float *tc, const float *c_prev, const float *gh,
                            const float *gh2, const float *gc, float *dc_prev, int accumulate)
{
    float *gi = gates, *gf = gates + H, *gg = gates + 2 * H, *go = gates + 3 * H;
    const vecf one = vset1(1.0f), zero = vzero();
    for (int j = 0; j < H; j += DSI_VW) {
        const vmask mk = vtail((size_t)(H - j));
        const vecf i = vloadm(mk, gi + j), f = vloadm(mk, gf + j), g = vloadm(mk, gg + j), o = vloadm(mk, go + j),
                   t = vloadm(mk, tc + j);
        const vecf dh = vadd(vloadm(mk, gh + j), gh2 ? vloadm(mk, gh2 + j) : zero);
        const vecf gcv = gc ? vloadm(mk, gc + j) : zero;
        const vecf dc = vadd(gcv, vmul(vmul(dh, o), vsub(one, vmul(t, t))));
        const vecf cp = c_prev ? vloadm(mk, c_prev + j) : zero;
        vstorem(gi + j, mk, vmul(vmul(vmul(dc, g), i), vsub(one, i)));
        vstorem(gf + j, mk, vmul(vmul(vmul(dc, cp), f), vsub(one, f)));
        vstorem(gg + j, mk, vmul(vmul(dc, i), vsub(one, vmul(g, g))));
        vstorem(go + j, mk, vmul(vmul(vmul(dh, t), o), vsub(one, o)));
        if (dc_prev) {
            const vecf d = vmul(dc, f);
            vstorem(dc_prev + j, mk, accumulate ? vadd(vloadm(mk, dc_prev + j), d) : d);
        }
    }
}
