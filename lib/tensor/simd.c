/* simd.c - the run-time ISA dispatch level, and the activation kernels:
 * tanh, sigmoid, ReLU and their gradients (see simd.h). */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"
#include "tensor/fastmath.h"

#include <stdlib.h>

/* ---- dispatch ---- */

static int g_level = -1; /* read and written with relaxed atomics: every thread computes the same value */

int dsi_simd_level(void)
{
    int l = __atomic_load_n(&g_level, __ATOMIC_RELAXED);
    if (l >= 0) return l;
    l = 0;
#ifdef DSI_X86_SIMD
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) l = 1;
    if (l == 1 && __builtin_cpu_supports("avx512f")) l = 2;
#endif
    const char *cap = getenv("DSI_SIMD");
    if (cap && cap[0] >= '0' && cap[0] <= '2' && cap[0] - '0' < l) l = cap[0] - '0';
    __atomic_store_n(&g_level, l, __ATOMIC_RELAXED);
    return l;
}

/* ---- portable ---- */

static void tanh_c(const float *x, float *y, size_t n)
{
    for (size_t k = 0; k < n; k++) y[k] = dsi_ftanh(x[k]);
}
static void sigm_c(const float *x, float *y, size_t n)
{
    for (size_t k = 0; k < n; k++) y[k] = dsi_fsigm(x[k]);
}

#ifdef DSI_X86_SIMD
#define DSI_SIMD_TEMPLATE "tensor/simd_act_w.h"
#include "tensor/simd_widths.h"
#endif /* DSI_X86_SIMD */

void dsi_simd_tanh(const float *x, float *y, size_t n)
{
    DISPATCH(tanh_512, tanh_256, x, y, n);
    tanh_c(x, y, n);
}

void dsi_simd_sigm(const float *x, float *y, size_t n)
{
    DISPATCH(sigm_512, sigm_256, x, y, n);
    sigm_c(x, y, n);
}

void dsi_simd_relu(const float *x, float *y, size_t n)
{
    DISPATCH(relu_512, relu_256, x, y, n);
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
}

void dsi_simd_relu_grad(const float *y, const float *gy, float *gz, size_t n)
{
    DISPATCH(relu_grad_512, relu_grad_256, y, gy, gz, n);
    for (size_t i = 0; i < n; i++) gz[i] = y[i] > 0 ? gy[i] : 0.0f;
}

void dsi_simd_tanh_grad(const float *y, const float *gy, float *gz, size_t n)
{
    DISPATCH(tanh_grad_512, tanh_grad_256, y, gy, gz, n);
    for (size_t i = 0; i < n; i++) gz[i] = gy[i] * (1.0f - y[i] * y[i]);
}

void dsi_simd_sigm_grad(const float *y, const float *gy, float *gz, size_t n)
{
    DISPATCH(sigm_grad_512, sigm_grad_256, y, gy, gz, n);
    for (size_t i = 0; i < n; i++) gz[i] = gy[i] * y[i] * (1.0f - y[i]);
}

void dsi_simd_relu_grad_acc(const float *x, const float *gy, float *gx, size_t n)
{
    DISPATCH(relu_gacc_512, relu_gacc_256, x, gy, gx, n);
    for (size_t i = 0; i < n; i++) gx[i] += x[i] > 0 ? gy[i] : 0.0f;
}

void dsi_simd_tanh_grad_acc(const float *y, const float *gy, float *gx, size_t n)
{
    DISPATCH(tanh_gacc_512, tanh_gacc_256, y, gy, gx, n);
    for (size_t i = 0; i < n; i++) gx[i] += gy[i] * (1.0f - y[i] * y[i]);
}
