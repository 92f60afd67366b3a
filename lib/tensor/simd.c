/* simd.c - the run-time ISA dispatch level, and the activation kernels:
 * tanh, sigmoid, ReLU and their gradients (see simd.h). */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"
#include "tensor/fastmath.h"
#include "core/pool.h"

#include <stdlib.h>

/* ---- dispatch ---- */

static int g_level = -1; /* read and written with relaxed atomics: every thread computes the same value */

static int hw_level(void)
{
    int l = 0;
#ifdef DSI_X86_SIMD
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) l = 1;
    if (l == 1 && __builtin_cpu_supports("avx512f")) l = 2;
#endif
    return l;
}

int dsi_simd_level(void)
{
    int l = __atomic_load_n(&g_level, __ATOMIC_RELAXED);
    if (l >= 0) return l;
    l = hw_level();
    const char *cap = getenv("DSI_SIMD");
    if (cap && cap[0] >= '0' && cap[0] <= '2' && cap[0] - '0' < l) l = cap[0] - '0';
    __atomic_store_n(&g_level, l, __ATOMIC_RELAXED);
    return l;
}

int dsi_simd_force(int level)
{
    int l = hw_level();
    if (level < 0) {
        __atomic_store_n(&g_level, -1, __ATOMIC_RELAXED);
        return dsi_simd_level();
    }
    if (level < l) l = level;
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

/* ---- portable loops of the simple kernels ---- */
static void relu_c(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
}
static void relu_grad_c(const float *y, const float *gy, float *gz, size_t n)
{
    for (size_t i = 0; i < n; i++) gz[i] = y[i] > 0 ? gy[i] : 0.0f;
}
static void tanh_grad_c(const float *y, const float *gy, float *gz, size_t n)
{
    for (size_t i = 0; i < n; i++) gz[i] = gy[i] * (1.0f - y[i] * y[i]);
}
static void sigm_grad_c(const float *y, const float *gy, float *gz, size_t n)
{
    for (size_t i = 0; i < n; i++) gz[i] = gy[i] * y[i] * (1.0f - y[i]);
}
static void relu_gacc_c(const float *x, const float *gy, float *gx, size_t n)
{
    for (size_t i = 0; i < n; i++) gx[i] += x[i] > 0 ? gy[i] : 0.0f;
}
static void tanh_gacc_c(const float *y, const float *gy, float *gx, size_t n)
{
    for (size_t i = 0; i < n; i++) gx[i] += gy[i] * (1.0f - y[i] * y[i]);
}

/* ---- the pool: an element's result does not depend on its position, so
 * splitting [0, n) (boundaries multiples of 16) changes nothing ---- */
#define GRAIN_EXP 8192   /* elements per task at least: exp-based kernels */
#define GRAIN_MEM 32768  /* loads and stores only */

typedef void (*un_fn)(const float *, float *, size_t);
typedef void (*bin_fn)(const float *, const float *, float *, size_t);
typedef struct ew_job {
    un_fn u;
    bin_fn b;
    const float *x, *x2;
    float *y;
    size_t n;
} ew_job;

static void ew_task(void *ctx, int t, int nt)
{
    const ew_job *p = ctx;
    size_t lo, hi;
    dsi_pool_split(p->n, t, nt, 16, &lo, &hi);
    if (hi <= lo) return;
    if (p->u) p->u(p->x + lo, p->y + lo, hi - lo);
    else p->b(p->x + lo, p->x2 + lo, p->y + lo, hi - lo);
}

static void run_un(un_fn f, const float *x, float *y, size_t n, double grain)
{
    const int nt = dsi_pool_tasks((double)n, grain);
    if (nt <= 1) {
        f(x, y, n);
        return;
    }
    ew_job p = {f, NULL, x, NULL, y, n};
    dsi_pool_run(nt, ew_task, &p);
}

static void run_bin(bin_fn f, const float *a, const float *b, float *y, size_t n, double grain)
{
    const int nt = dsi_pool_tasks((double)n, grain);
    if (nt <= 1) {
        f(a, b, y, n);
        return;
    }
    ew_job p = {NULL, f, a, b, y, n};
    dsi_pool_run(nt, ew_task, &p);
}

#ifdef DSI_X86_SIMD
#define PICK(f512, f256, fc) (dsi_simd_level() == 2 ? f512 : dsi_simd_level() == 1 ? f256 : fc)
#else
#define PICK(f512, f256, fc) (fc)
#endif

void dsi_simd_tanh(const float *x, float *y, size_t n) { run_un(PICK(tanh_512, tanh_256, tanh_c), x, y, n, GRAIN_EXP); }
void dsi_simd_sigm(const float *x, float *y, size_t n) { run_un(PICK(sigm_512, sigm_256, sigm_c), x, y, n, GRAIN_EXP); }
void dsi_simd_relu(const float *x, float *y, size_t n) { run_un(PICK(relu_512, relu_256, relu_c), x, y, n, GRAIN_MEM); }

void dsi_simd_relu_grad(const float *y, const float *gy, float *gz, size_t n)
{
    run_bin(PICK(relu_grad_512, relu_grad_256, relu_grad_c), y, gy, gz, n, GRAIN_MEM);
}
void dsi_simd_tanh_grad(const float *y, const float *gy, float *gz, size_t n)
{
    run_bin(PICK(tanh_grad_512, tanh_grad_256, tanh_grad_c), y, gy, gz, n, GRAIN_MEM);
}
void dsi_simd_sigm_grad(const float *y, const float *gy, float *gz, size_t n)
{
    run_bin(PICK(sigm_grad_512, sigm_grad_256, sigm_grad_c), y, gy, gz, n, GRAIN_MEM);
}
void dsi_simd_relu_grad_acc(const float *x, const float *gy, float *gx, size_t n)
{
    run_bin(PICK(relu_gacc_512, relu_gacc_256, relu_gacc_c), x, gy, gx, n, GRAIN_MEM);
}
void dsi_simd_tanh_grad_acc(const float *y, const float *gy, float *gx, size_t n)
{
    run_bin(PICK(tanh_gacc_512, tanh_gacc_256, tanh_gacc_c), y, gy, gx, n, GRAIN_MEM);
}
