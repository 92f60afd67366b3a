/* bench_wlat.c - issue #9 latency: encode clip A, encode clip B, swap the
 * global part (v), decode, on one 4-s clip (250 frames x 80 mel) with the W4
 * model (ts-dsae defaults), one thread, no sampling.
 *
 *   build/bench/bench_wlat [runs]        (runs >= 1000, default 2000)
 *
 * Prints the median and 99th percentile over the runs (after 50 warm-up
 * runs), and counts heap allocations in the timed loop twice: with the
 * library's own counter (dsn_allocation_count) and with an interposed malloc
 * counter: this program defines malloc, calloc, realloc, free, posix_memalign,
 * aligned_alloc and memalign, forwarding to glibc's __libc_* entry points, so
 * every allocation of the process (libdisent, OpenBLAS, libc) is counted
 * while the counter is armed. (Not under a sanitizer, which owns malloc.) */
#include "bench_w.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define BW_NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BW_NO_INTERPOSE 1
#endif
#endif

static volatile int g_armed;
static volatile uint64_t g_mallocs;

#if !defined(BW_NO_INTERPOSE) && defined(__GLIBC__)
#define BW_INTERPOSED 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
void *memalign(size_t align, size_t size);

void *malloc(size_t n)
{
    if (g_armed) g_mallocs++;
    return __libc_malloc(n);
}
void *calloc(size_t k, size_t n)
{
    if (g_armed) g_mallocs++;
    return __libc_calloc(k, n);
}
void *realloc(void *p, size_t n)
{
    if (g_armed) g_mallocs++;
    return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }
void *memalign(size_t align, size_t size)
{
    if (g_armed) g_mallocs++;
    return __libc_memalign(align, size);
}
void *aligned_alloc(size_t align, size_t size)
{
    if (g_armed) g_mallocs++;
    return __libc_memalign(align, size);
}
int posix_memalign(void **out, size_t align, size_t size)
{
    if (g_armed) g_mallocs++;
    void *p = __libc_memalign(align, size);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}
#endif

enum { T = 250, F = 80 };

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 2000;
    if (runs < 1000) runs = 1000;
    /* "part": clip B is encoded with dsn_encode_part(..., "global"), which
     * skips its local encoder: all a host swapping B's instrument in needs */
    const int part_b = argc > 2 && strcmp(argv[2], "part") == 0;
    dsi_blas_set_threads(1);
    dsn_model *m = bw_model("ts-dsae", "frames=250, n_mels=80");
    float *xa = bw_random((size_t)T * F, -1.0f, 1.0f, 5), *xb = bw_random((size_t)T * F, -1.0f, 1.0f, 6);
    float *out = malloc(sizeof(float) * T * F);
    dsn_session *s;
    dsn_encoding *ea, *eb;
    BW_CHECK(dsn_session_create(&s, m, 1));
    BW_CHECK(dsn_encoding_create(&ea, m, 1));
    BW_CHECK(dsn_encoding_create(&eb, m, 1));
    double *us = malloc(sizeof(double) * (size_t)runs);
    for (int i = 0; i < 50; i++) {
        BW_CHECK(dsn_encode(s, ea, xa, 1, NULL));
        BW_CHECK(part_b ? dsn_encode(s, eb, xb, 1, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, NULL, "global"}) : dsn_encode(s, eb, xb, 1, NULL));
        BW_CHECK(dsn_swap(ea, eb, "global"));
        BW_CHECK(dsn_decode(s, out, (size_t)T * F, ea));
    }
#ifdef BW_INTERPOSED
    { /* the counter must see a malloc made now (through a volatile pointer, so it is not optimised away) */
        void *(*volatile mf)(size_t) = malloc;
        g_mallocs = 0;
        g_armed = 1;
        void *p = mf(32);
        g_armed = 0;
        free(p);
        if (g_mallocs != 1) {
            fprintf(stderr, "the interposed malloc counter does not work\n");
            return 1;
        }
    }
#endif
    uint64_t lib0 = dsn_allocation_count();
    g_mallocs = 0;
    g_armed = 1;
    int fails = 0;
    for (int i = 0; i < runs; i++) {
        double t0 = bw_now();
        fails += dsn_encode(s, ea, xa, 1, NULL) != DSN_OK;
        fails += (part_b ? dsn_encode(s, eb, xb, 1, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, NULL, "global"}) : dsn_encode(s, eb, xb, 1, NULL)) != DSN_OK;
        fails += dsn_swap(ea, eb, "global") != DSN_OK;
        fails += dsn_decode(s, out, (size_t)T * F, ea) != DSN_OK;
        us[i] = 1e3 * (bw_now() - t0);
    }
    g_armed = 0;
    uint64_t lib_allocs = dsn_allocation_count() - lib0, heap = g_mallocs;
    if (fails) {
        fprintf(stderr, "%d calls failed: %s\n", fails, dsn_last_error());
        return 1;
    }
    double med = bw_median(us, runs), p99 = us[(int)(0.99 * (runs - 1) + 0.5)];
    printf("latency: encode A + encode B%s + swap global + decode, 250 x 80 clip, ts-dsae defaults, 1 thread, %d runs\n",
           part_b ? " (global part only)" : "", runs);
#ifdef BW_INTERPOSED
    printf("  median %.4f ms  p99 %.4f ms  min %.4f ms  max %.4f ms; heap allocations in the timed loop: %llu "
           "(interposed malloc), %llu (dsn_allocation_count)\n",
           med, p99, us[0], us[runs - 1], (unsigned long long)heap, (unsigned long long)lib_allocs);
#else
    printf("  median %.4f ms  p99 %.4f ms; heap allocations (dsn_allocation_count only, malloc not interposed): %llu\n",
           med, p99, (unsigned long long)lib_allocs);
    heap = lib_allocs;
#endif
    printf("RESULT LAT %.5f %.5f %.5f %.6f %llu\n", med, us[0], p99, 0.0, (unsigned long long)(heap + lib_allocs));
    dsn_encoding_free(ea);
    dsn_encoding_free(eb);
    dsn_session_free(s);
    dsn_model_free(m);
    free(us);
    free(out);
    free(xa);
    free(xb);
    return 0;
}
