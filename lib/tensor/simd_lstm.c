/* simd_lstm.c - the backward of one LSTM cell row (AVX-512 and AVX2, the same
 * bits) (see simd.h). */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"

#ifdef DSI_X86_SIMD
#define DSI_SIMD_TEMPLATE "tensor/simd_lstm_w.h"
#include "tensor/simd_widths.h"
#endif /* DSI_X86_SIMD */

int dsi_simd_lstm_row_backward(int H, float *gates, const float *tc, const float *c_prev, const float *gh,
                               const float *gh2, const float *gc, float *dc_prev, int accumulate)
{
#ifdef DSI_X86_SIMD
    const int l = dsi_simd_level();
    if (l == 2) {
        lstm_bwd_512(H, gates, tc, c_prev, gh, gh2, gc, dc_prev, accumulate);
        return 1;
    }
    if (l == 1) {
        lstm_bwd_256(H, gates, tc, c_prev, gh, gh2, gc, dc_prev, accumulate);
        return 1;
    }
#endif
    (void)H; (void)gates; (void)tc; (void)c_prev; (void)gh; (void)gh2; (void)gc; (void)dc_prev; (void)accumulate;
    return 0;
}
