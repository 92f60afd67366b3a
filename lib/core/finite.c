/* finite.c - dsi_find_nonfinite. */
#include "core/finite.h"

#include <stdint.h>
#include <string.h>

/* a float is NaN or infinite exactly when its 8 exponent bits are all 1 */
static int bad_bits(uint32_t u) { return (u & 0x7f800000u) == 0x7f800000u; }

size_t dsi_find_nonfinite(const float *x, size_t n)
{
    enum { BLOCK = 64 };
    size_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK) {
        uint32_t any = 0;
        for (size_t k = 0; k < BLOCK; k++) {
            uint32_t u;
            memcpy(&u, x + i + k, 4);
            any |= (uint32_t)bad_bits(u);
        }
        if (any) break;
    }
    for (; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, 4);
        if (bad_bits(u)) return i;
    }
    return n;
}
