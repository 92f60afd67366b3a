/* simd_lstm.c - the backward of one LSTM cell row and the LSTM layer's
 * recurrent products on packed weights (AVX-512 and AVX2, the same bits)
 * (see simd.h). */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"

#include <string.h>

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

size_t dsi_lstm_pack_floats(int I, int H)
{
    /* forward: ceil(H / VW) VW x 4 (I + H) floats, at most H rounded up to 16, x 4 (I + H);
     * backward: ceil(H / 4 VW) 4 VW x 4H, at most H rounded up to 64, x 4H */
    if (H <= 0 || I < 0) return 0;
    const size_t f = (size_t)((H + 15) / 16 * 16) * 4 * (size_t)(I + H), b = (size_t)((H + 63) / 64 * 64) * 4 * (size_t)H;
    return f > b ? f : b;
}

int dsi_lstm_pack_fwd(int I, int H, const float *wx, const float *wh, float *P)
{
#ifdef DSI_X86_SIMD
    const int l = dsi_simd_level();
    if (l == 2) {
        lstm_pack_fwd_512(I, H, wx, wh, P);
        return 1;
    }
    if (l == 1) {
        lstm_pack_fwd_256(I, H, wx, wh, P);
        return 1;
    }
#endif
    (void)I; (void)H; (void)wx; (void)wh; (void)P;
    return 0;
}

int dsi_lstm_pack_bwd(int H, const float *wh, float *P)
{
#ifdef DSI_X86_SIMD
    const int l = dsi_simd_level();
    if (l == 2) {
        lstm_pack_bwd_512(H, wh, P);
        return 1;
    }
    if (l == 1) {
        lstm_pack_bwd_256(H, wh, P);
        return 1;
    }
#endif
    (void)H; (void)wh; (void)P;
    return 0;
}

void dsi_lstm_rec_fwd(int H, const float *P, const dsi_lstm_rows *b)
{
    DISPATCH(lstm_rec_fwd_512, lstm_rec_fwd_256, H, P, b);
    (void)H; (void)P; (void)b; /* only called after a pack that returned 1 */
}

void dsi_lstm_rec_bwd(int H, const float *P, const dsi_lstm_rows *b)
{
    DISPATCH(lstm_rec_bwd_512, lstm_rec_bwd_256, H, P, b);
    (void)H; (void)P; (void)b;
}
