/* simd_lstm.c - the backward of one LSTM cell row (AVX-512) (see simd.h). */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"

#ifdef DSI_X86_SIMD

/* dsi_lstm_row_backward (lstm_kernel.c) on 16 lanes, the same operations in the same order (no FMA) */
static T512 void lstm_bwd_512(int H, float *gates, const float *tc, const float *c_prev, const float *gh,
                              const float *gh2, const float *gc, float *dc_prev, int accumulate)
{
    float *gi = gates, *gf = gates + H, *gg = gates + 2 * H, *go = gates + 3 * H;
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    for (int j = 0; j < H; j += 16) {
        const __mmask16 mk = H - j >= 16 ? (__mmask16)0xFFFF : tail16((size_t)(H - j));
        const __m512 i = _mm512_maskz_loadu_ps(mk, gi + j), f = _mm512_maskz_loadu_ps(mk, gf + j),
                     g = _mm512_maskz_loadu_ps(mk, gg + j), o = _mm512_maskz_loadu_ps(mk, go + j),
                     t = _mm512_maskz_loadu_ps(mk, tc + j);
        const __m512 dh = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, gh + j), gh2 ? _mm512_maskz_loadu_ps(mk, gh2 + j) : zero);
        const __m512 gcv = gc ? _mm512_maskz_loadu_ps(mk, gc + j) : zero;
        const __m512 dc = _mm512_add_ps(gcv, _mm512_mul_ps(_mm512_mul_ps(dh, o), _mm512_sub_ps(one, _mm512_mul_ps(t, t))));
        const __m512 cp = c_prev ? _mm512_maskz_loadu_ps(mk, c_prev + j) : zero;
        _mm512_mask_storeu_ps(gi + j, mk, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dc, g), i), _mm512_sub_ps(one, i)));
        _mm512_mask_storeu_ps(gf + j, mk, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dc, cp), f), _mm512_sub_ps(one, f)));
        _mm512_mask_storeu_ps(gg + j, mk, _mm512_mul_ps(_mm512_mul_ps(dc, i), _mm512_sub_ps(one, _mm512_mul_ps(g, g))));
        _mm512_mask_storeu_ps(go + j, mk, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dh, t), o), _mm512_sub_ps(one, o)));
        if (dc_prev) {
            const __m512 d = _mm512_mul_ps(dc, f);
            _mm512_mask_storeu_ps(dc_prev + j, mk,
                                  accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(mk, dc_prev + j), d) : d);
        }
    }
}
#endif /* DSI_X86_SIMD */

int dsi_simd_lstm_row_backward(int H, float *gates, const float *tc, const float *c_prev, const float *gh,
                               const float *gh2, const float *gc, float *dc_prev, int accumulate)
{
#ifdef DSI_X86_SIMD
    if (dsi_simd_level() == 2) {
        lstm_bwd_512(H, gates, tc, c_prev, gh, gh2, gc, dc_prev, accumulate);
        return 1;
    }
#endif
    return 0;
}
