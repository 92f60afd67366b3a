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

/* ---- the recurrent products of the LSTM layer on packed weights (see
 * simd.h, dsi_lstm_pack_fwd / dsi_lstm_rec_fwd / dsi_lstm_rec_bwd). Register
 * blocks of LR rows x 4 vectors: AVX-512 6 rows (24 of the 32 registers),
 * AVX2 3 rows (12 of 16). The packed panel of 4 vectors is cut into blocks of
 * LK values of k (32 KiB with AVX-512) that stay in L1 while every row block
 * of the call passes over them; the partial sums wait in b->acc between k
 * blocks. Every sum runs over k in order from 0 with fused multiply-adds (a
 * stored and reloaded partial sum is the same float), the same on both widths
 * and for any set of rows. ---- */
#undef LR
#undef LK
#if DSI_VW == 16
#define LR 6
#define LK 128
#else
#define LR 3
#define LK 256
#endif

/* forward packing, K = I + H rows (wx's I, then wh's H): chunk c of VW
 * hidden units, for every k the four gates' VW weights side by side:
 * P[((c K + k) 4 + g) VW + l] = w[k, g H + c VW + l], w = [wx; wh] */
static VT void VN(lstm_pack_fwd)(int I, int H, const float *wx, const float *wh, float *P)
{
    const int NC = (H + DSI_VW - 1) / DSI_VW, G4 = 4 * H, K = I + H;
    for (int c = 0; c < NC; c++) {
        const vmask mk = vtail((size_t)(H - c * DSI_VW));
        for (int k = 0; k < K; k++) {
            const float *w = k < I ? wx + (size_t)k * G4 : wh + (size_t)(k - I) * G4;
            for (int g = 0; g < 4; g++)
                vstore(P + (((size_t)c * K + k) * 4 + g) * DSI_VW,
                       vloadm(mk, w + (size_t)g * H + (size_t)c * DSI_VW));
        }
    }
}

/* backward packing (wh^T): panel p of 4 VW outputs j, for every kk of the 4H
 * inputs: P[(p 4H + kk) 4 VW + l] = wh[p 4 VW + l, kk] (0 past H) */
static VT void VN(lstm_pack_bwd)(int H, const float *wh, float *P)
{
    const int PW = 4 * DSI_VW, NP = (H + PW - 1) / PW, G4 = 4 * H;
    for (int p = 0; p < NP; p++)
        for (int l = 0; l < PW; l++) {
            const int j = p * PW + l;
            float *o = P + (size_t)p * G4 * PW + l;
            if (j < H)
                for (int kk = 0; kk < G4; kk++) o[(size_t)kk * PW] = wh[(size_t)j * G4 + kk];
            else
                for (int kk = 0; kk < G4; kk++) o[(size_t)kk * PW] = 0.0f;
        }
}

/* acc[r][v] (+)= sum_{k < kn} A[r][k0 + k] Pk[k][v] for R <= LR rows, 4 vectors
 * each; acc starts at 0 (first) or at its stored value */
static inline __attribute__((always_inline)) VT void VN(lstm_dot)(int kn, const float *Pk, const float *const *A,
                                                                   int k0, int R, float *out, int first)
{
    vecf acc[LR][4];
    _Pragma("GCC unroll 8")
    for (int r = 0; r < LR; r++)
        _Pragma("GCC unroll 4")
        for (int v = 0; v < 4; v++) acc[r][v] = first || r >= R ? vzero() : vload(out + (r * 4 + v) * DSI_VW);
    const float *a[LR];
    _Pragma("GCC unroll 8")
    for (int r = 0; r < LR; r++) a[r] = r < R ? A[r] + k0 : NULL;
    for (int k = 0; k < kn; k++) {
        const float *pk = Pk + (size_t)k * 4 * DSI_VW;
        const vecf b0 = vload(pk), b1 = vload(pk + DSI_VW), b2 = vload(pk + 2 * DSI_VW), b3 = vload(pk + 3 * DSI_VW);
        _Pragma("GCC unroll 8")
        for (int r = 0; r < LR; r++)
            if (r < R) {
                const vecf x = vset1(a[r][k]);
                acc[r][0] = vfmadd(x, b0, acc[r][0]);
                acc[r][1] = vfmadd(x, b1, acc[r][1]);
                acc[r][2] = vfmadd(x, b2, acc[r][2]);
                acc[r][3] = vfmadd(x, b3, acc[r][3]);
            }
    }
    _Pragma("GCC unroll 8")
    for (int r = 0; r < LR; r++)
        if (r < R)
            _Pragma("GCC unroll 4")
            for (int v = 0; v < 4; v++) vstore(out + (r * 4 + v) * DSI_VW, acc[r][v]);
}

/* its own function: the epilogues' constants would take the accumulators' registers */
static __attribute__((noinline)) VT void VN(lstm_dots)(int kn, const float *Pk, const float *const *A, int k0,
                                                       int R, float *out, int first)
{
    switch (R) {
#if LR > 5
    case 6: VN(lstm_dot)(kn, Pk, A, k0, 6, out, first); break;
    case 5: VN(lstm_dot)(kn, Pk, A, k0, 5, out, first); break;
    case 4: VN(lstm_dot)(kn, Pk, A, k0, 4, out, first); break;
#endif
    case 3: VN(lstm_dot)(kn, Pk, A, k0, 3, out, first); break;
    case 2: VN(lstm_dot)(kn, Pk, A, k0, 2, out, first); break;
    case 1: VN(lstm_dot)(kn, Pk, A, k0, 1, out, first); break;
    default: break;
    }
}

/* gates, state and outputs of chunk c for rows [r0, r0 + R) from their sums in acc */
static VT void VN(lstm_fwd_tail)(int H, int c, const dsi_lstm_rows *b, int r0, int R, const float *acc)
{
    const size_t o = (size_t)c * DSI_VW;
    const vmask mk = vtail((size_t)(H - c * DSI_VW));
    for (int r = 0; r < R; r++) {
        float *z = b->z[r0 + r];
        const float *a = acc + r * 4 * DSI_VW;
        /* the same operations as dsi_lstm_row_forward (z + rec, then the gates) */
        /* the pre-activations: bias + sums (input projection fused), or z + sums */
        const float *zb = b->x ? b->bias : z;
        const vecf zi = zb ? vloadm(mk, zb + o) : vzero(), zf = zb ? vloadm(mk, zb + H + o) : vzero();
        const vecf zg = zb ? vloadm(mk, zb + 2 * H + o) : vzero(), zo = zb ? vloadm(mk, zb + 3 * H + o) : vzero();
        const vecf i = vsigm(vadd(zi, vload(a)));
        const vecf f = vsigm(vadd(zf, vload(a + DSI_VW)));
        const vecf g = vtanh(vadd(zg, vload(a + 2 * DSI_VW)));
        const vecf og = vsigm(vadd(zo, vload(a + 3 * DSI_VW)));
        vstorem(z + o, mk, i);
        vstorem(z + H + o, mk, f);
        vstorem(z + 2 * H + o, mk, g);
        vstorem(z + 3 * H + o, mk, og);
        float *cc = b->c[r0 + r];
        const vecf cn = vadd(vmul(f, vloadm(mk, cc + o)), vmul(i, g));
        vstorem(cc + o, mk, cn);
        if (b->cs[r0 + r]) vstorem(b->cs[r0 + r] + o, mk, cn);
        const vecf t = vtanh(cn);
        if (b->tc[r0 + r]) vstorem(b->tc[r0 + r] + o, mk, t);
        const vecf h = vmul(og, t);
        vstorem(b->hn[r0 + r] + o, mk, h);
        if (b->y[r0 + r]) vstorem(b->y[r0 + r] + o, mk, h);
    }
}

/* the next row block's gate lines of chunk c, ahead of its epilogue */
static inline VT void VN(lstm_prefetch_z)(int H, int c, const dsi_lstm_rows *b, int r0, int R)
{ /* (fused input projection: z is only written, but its lines still come from memory) */
    for (int r = r0; r < r0 + R && r < b->n; r++)
        for (int g = 0; g < 4; g++) __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)(b->z[r] + (size_t)g * H + (size_t)c * DSI_VW)));
}

static VT void VN(lstm_rec_fwd)(int H, const float *P, const dsi_lstm_rows *b)
{
    const int NC = (H + DSI_VW - 1) / DSI_VW, I = b->x ? b->I : 0, K = I + H;
    /* k runs over the input segment [0, I) (x rows), then the recurrent one
     * [I, I + H) (h rows, when given); blocks of at most LK in each */
    const int k_end = b->h ? K : I;
    for (int c = 0; c < NC; c++) {
        const float *Pc = P + (size_t)c * K * 4 * DSI_VW;
        if (k_end == 0) {
            for (int r0 = 0; r0 < b->n; r0 += LR) {
                const int R = b->n - r0 < LR ? b->n - r0 : LR;
                memset(b->acc, 0, sizeof(float) * (size_t)R * 4 * DSI_VW);
                VN(lstm_fwd_tail)(H, c, b, r0, R, b->acc);
            }
            continue;
        }
        for (int k0 = b->x ? 0 : I; k0 < k_end;) {
            const int seg_end = k0 < I ? I : K;
            const int kn = seg_end - k0 < LK ? seg_end - k0 : LK, last = k0 + kn == k_end;
            const int first = k0 == (b->x ? 0 : I);
            const float *const *A = k0 < I ? b->x : b->h;
            const int koff = k0 < I ? k0 : k0 - I;
            for (int r0 = 0; r0 < b->n; r0 += LR) {
                const int R = b->n - r0 < LR ? b->n - r0 : LR;
                float *acc = b->acc + (size_t)r0 * 4 * DSI_VW;
                if (first) VN(lstm_prefetch_z)(H, c, b, r0, LR); /* for the epilogue, a k block ahead */
                if (last && !first) VN(lstm_prefetch_z)(H, c, b, r0 + LR, LR);
                VN(lstm_dots)(kn, Pc + (size_t)k0 * 4 * DSI_VW, A + r0, koff, R, acc, first);
                if (last) VN(lstm_fwd_tail)(H, c, b, r0, R, acc);
            }
            k0 += kn;
        }
    }
}

/* hn[r] = z[r] wh^T */
static VT void VN(lstm_rec_bwd)(int H, const float *P, const dsi_lstm_rows *b)
{
    const int PW = 4 * DSI_VW, NP = (H + PW - 1) / PW, G4 = 4 * H;
    for (int p = 0; p < NP; p++) {
        const float *Pp = P + (size_t)p * G4 * PW;
        for (int k0 = 0; k0 < G4; k0 += LK) {
            const int kn = G4 - k0 < LK ? G4 - k0 : LK, last = k0 + kn == G4;
            for (int r0 = 0; r0 < b->n; r0 += LR) {
                const int R = b->n - r0 < LR ? b->n - r0 : LR;
                float *acc = b->acc + (size_t)r0 * PW;
                VN(lstm_dots)(kn, Pp + (size_t)k0 * PW, (const float *const *)b->z + r0, k0, R, acc, k0 == 0);
                if (last)
                    for (int r = 0; r < R; r++)
                        for (int v = 0; v < 4; v++) {
                            const int j = p * PW + v * DSI_VW;
                            if (j < H) vstorem(b->hn[r0 + r] + j, vtail((size_t)(H - j)), vload(acc + (r * 4 + v) * DSI_VW));
                        }
            }
        }
    }
}
