/* simd_widths.h - compiles the kernel template named by DSI_SIMD_TEMPLATE
 * twice: at 16 lanes (AVX-512, functions name_512) and at 8 (AVX2 + FMA,
 * name_256), each after simd_vec.h for that width (private to lib/tensor).
 *
 *     #define DSI_SIMD_TEMPLATE "tensor/simd_rows_w.h"
 *     #include "tensor/simd_widths.h"
 *
 * Include it after tensor/simd_x86.h, under DSI_X86_SIMD. No include guard:
 * a file may compile more than one template. */
#undef DSI_VW
#define DSI_VW 16
#include "tensor/simd_vec.h"
#include DSI_SIMD_TEMPLATE
#undef DSI_VW
#define DSI_VW 8
#include "tensor/simd_vec.h"
#include DSI_SIMD_TEMPLATE
#undef DSI_VW
#undef DSI_SIMD_TEMPLATE
