/* finite.c - dsi_find_nonfinite. */
#include "core/finite.h"

#include <stdint.h>
#include <string.h>

/* a float is NaN or infinite exactly when its 8 exponent bits are all 1 */
static int bad_bits(uint32_t u) { return (u & 0x7f800000u) == 0x7f800000u; }

/* also compiled for AVX2 (picked at load time: the index found is the same) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
__attribute__((target_clones("avx2", "default")))
#endif
size_t dsi_find_nonfinite(const float *x, size_t n)
{
    enum { BLOCK = 256 };
    size_t i = 0;
    /* blocks: the exponent bits plus one lowest exponent bit carry into bit 31
     * exactly when they are all 1 (and, add, or per value: vectorised) */
    for (; i + BLOCK <= n; i += BLOCK) {
        uint32_t any = 0;
        for (size_t k = 0; k < BLOCK; k++) {
            uint32_t u;
            memcpy(&u, x + i + k, 4);
            any |= (u & 0x7f800000u) + 0x00800000u;
        }
        if (any & 0x80000000u) break;
    }
    for (; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, 4);
        if (bad_bits(u)) return i;
    }
    return n;
}
