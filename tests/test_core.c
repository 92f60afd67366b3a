/* test_core.c - status, errors, allocator hook, RNG, arena, checked I/O. */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/error.h"
#include "core/fileio.h"
#include "core/pool.h"
#include "core/finite.h"
#include "core/rng.h"
#include "core/sort.h"
#include "disent.h"
#include "support/testutil.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

START_TEST(status_strings)
{
    for (int s = 0; s < DSN_STATUS_COUNT_; s++) {
        const char *t = dsn_status_string((dsn_status)s);
        ck_assert_ptr_nonnull(t);
        ck_assert_int_gt((int)strlen(t), 0);
        ck_assert_str_ne(t, "unknown status");
    }
    ck_assert_str_eq(dsn_status_string((dsn_status)999), "unknown status");
    ck_assert_str_eq(dsn_status_string((dsn_status)-1), "unknown status");
    ck_assert_int_eq(dsn_version_number(), DSN_VERSION_NUMBER);
    ck_assert_str_eq(dsn_version_string(), DSN_VERSION_STRING);
}
END_TEST

START_TEST(error_message_and_prefix)
{
    dsn_clear_error();
    ck_assert_str_eq(dsn_last_error(), "");
    ck_assert_int_eq(dsi_error(DSN_E_SHAPE, "want %d got %d", 3, 4), DSN_E_SHAPE);
    ck_assert_str_eq(dsn_last_error(), "want 3 got 4");
    dsi_error_prefix("dsn_encode");
    ck_assert_str_eq(dsn_last_error(), "dsn_encode: want 3 got 4");
    dsi_error_prefix("dsn_encode"); /* not twice */
    ck_assert_str_eq(dsn_last_error(), "dsn_encode: want 3 got 4");
    /* a very long message is truncated, not overflowed */
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    dsi_error(DSN_E_INVALID, "%s", big);
    dsi_error_prefix("where");
    ck_assert_int_lt((int)strlen(dsn_last_error()), 1024);
    ck_assert(strncmp(dsn_last_error(), "where: xxx", 10) == 0);
}
END_TEST

static void *thread_error(void *arg)
{
    (void)arg;
    dsi_error(DSN_E_IO, "from the thread");
    return (void *)(strcmp(dsn_last_error(), "from the thread") == 0 ? (void *)1 : NULL);
}

START_TEST(error_is_thread_local)
{
    dsi_error(DSN_E_INVALID, "main thread");
    pthread_t th;
    void *ok = NULL;
    pthread_create(&th, NULL, thread_error, NULL);
    pthread_join(th, &ok);
    ck_assert_ptr_nonnull(ok);
    ck_assert_str_eq(dsn_last_error(), "main thread");
}
END_TEST

static size_t hook_allocs;
static void *count_alloc(void *ctx, size_t n) { (void)ctx; hook_allocs++; return malloc(n); }
static void count_free(void *ctx, void *p) { (void)ctx; free(p); }

START_TEST(allocator_hook)
{
    dsn_allocator a = {count_alloc, count_free, NULL};
    dsn_allocator half = {count_alloc, NULL, NULL};
    ck_assert_int_eq(dsn_set_allocator(&half), DSN_E_INVALID);
    ck_assert_int_eq(dsn_set_allocator(&a), DSN_OK);
    uint64_t before = dsn_allocation_count();
    hook_allocs = 0;
    void *p = dsi_aligned_alloc(1000);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(((uintptr_t)p) % 64, 0);
    dsi_aligned_free(p);
    ck_assert_int_eq((int)hook_allocs, 1);
    ck_assert_int_eq((int)(dsn_allocation_count() - before), 1);
    ck_assert_int_eq(dsn_set_allocator(NULL), DSN_OK);
    ck_assert_ptr_null(dsi_calloc(SIZE_MAX / 2, 4)); /* overflow is caught */
}
END_TEST

START_TEST(rng_reproducible_and_distributed)
{
    dsi_rng a, b;
    dsi_rng_seed(&a, 42);
    dsi_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++) ck_assert_uint_eq(dsi_rng_u64(&a), dsi_rng_u64(&b));
    dsi_rng_seed(&b, 43);
    ck_assert_uint_ne(dsi_rng_u64(&a), dsi_rng_u64(&b));
    /* moments of 200k normals: mean 0 +- 0.01, variance 1 +- 0.02 (5 sigma) */
    double s = 0, s2 = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = dsi_rng_normal(&a);
        s += x;
        s2 += x * x;
    }
    ck_assert_close(s / n, 0.0, 0.012);
    ck_assert_close(s2 / n, 1.0, 0.02);
    /* uniform in [0,1) and below() in range and roughly uniform */
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) {
        float u = dsi_rng_uniform(&a);
        ck_assert(u >= 0.0f && u < 1.0f);
        counts[dsi_rng_below(&a, 7)]++;
    }
    for (int k = 0; k < 7; k++) ck_assert_int_gt(counts[k], 9500);
    /* shuffle is a permutation */
    int p[50], seen[50] = {0};
    for (int i = 0; i < 50; i++) p[i] = i;
    dsi_rng_shuffle(&a, p, 50);
    for (int i = 0; i < 50; i++) seen[p[i]]++;
    for (int i = 0; i < 50; i++) ck_assert_int_eq(seen[i], 1);
}
END_TEST

START_TEST(rng_save_restore_exact)
{
    dsi_rng a, b;
    dsi_rng_seed(&a, 7);
    (void)dsi_rng_normal(&a); /* leaves a cached spare */
    unsigned char st[DSI_RNG_STATE_BYTES];
    dsi_rng_save(&a, st);
    dsi_rng_load(&b, st);
    for (int i = 0; i < 100; i++) ck_assert_float_eq(dsi_rng_normal(&a), dsi_rng_normal(&b));
}
END_TEST

/* the pooled fill gives dsi_rng_fill_normal's numbers and leaves the same
 * state (spare included): lengths around the pooling threshold, odd and
 * even, with and without a spare at the start, on 1 and 2 threads */
START_TEST(rng_fill_normal_pooled_same_numbers)
{
    static const size_t lens[] = {1, 2, 4095, 4096, 4097, 20000, 20001, 100003};
    enum { MAXL = 100003 };
    float *a = malloc(sizeof(float) * MAXL), *b = malloc(sizeof(float) * MAXL), *w = malloc(sizeof(float) * MAXL);
    ck_assert(a && b && w);
    for (int th = 1; th <= 2; th++) {
        ck_assert_int_eq(dsn_set_threads(th), DSN_OK);
        for (size_t li = 0; li < sizeof lens / sizeof *lens; li++)
            for (int spare = 0; spare < 2; spare++) {
                const size_t n = lens[li];
                dsi_rng r1, r2;
                dsi_rng_seed(&r1, 100 + li);
                if (spare) (void)dsi_rng_normal(&r1);
                r2 = r1;
                dsi_rng_fill_normal(&r1, a, n, 0.5f, 2.0f);
                dsi_rng_fill_normal_pooled(&r2, b, n, 0.5f, 2.0f, w);
                ck_assert_msg(!memcmp(a, b, sizeof(float) * n), "n %zu spare %d threads %d", n, spare, th);
                ck_assert(!memcmp(r1.s, r2.s, sizeof r1.s));
                ck_assert_int_eq(r1.has_spare, r2.has_spare);
                if (r1.has_spare) ck_assert(r1.spare == r2.spare);
                ck_assert(dsi_rng_normal(&r1) == dsi_rng_normal(&r2));
            }
    }
    ck_assert_int_eq(dsn_set_threads(1), DSN_OK);
    free(a), free(b), free(w);
}
END_TEST

START_TEST(arena_stable_across_steps)
{
    dsi_arena ar;
    dsi_arena_init(&ar);
    size_t sizes[] = {100, 5000, 1 << 20, 3, 777777, 64, 2 << 20};
    uint64_t allocs_after_first = 0;
    for (int step = 0; step < 5; step++) {
        dsi_arena_reset(&ar);
        uint64_t before = dsn_allocation_count();
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            unsigned char *p = dsi_arena_alloc(&ar, sizes[i]);
            ck_assert_ptr_nonnull(p);
            ck_assert_int_eq(((uintptr_t)p) % 64, 0);
            memset(p, (int)i, sizes[i]);
        }
        if (step > 0) allocs_after_first += dsn_allocation_count() - before;
    }
    ck_assert_uint_eq(allocs_after_first, 0);
    size_t total = ar.total;
    dsi_arena_reset(&ar);
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) dsi_arena_alloc(&ar, sizes[i]);
    ck_assert_uint_eq(ar.total, total);
    ck_assert_ptr_nonnull(dsi_arena_calloc(&ar, 10));
    dsi_arena_release(&ar);
}
END_TEST

START_TEST(fileio_roundtrip_and_truncation)
{
    char path[512];
    snprintf(path, sizeof path, "%s/blob.bin", tu_tmpdir());
    dsi_writer w;
    dsi_writer_init(&w);
    dsi_write_u32(&w, 0xdeadbeef);
    dsi_write_u64(&w, 0x0123456789abcdefULL);
    float f[3] = {1.5f, -2.0f, 3.25f};
    dsi_write_f32s(&w, f, 3);
    ck_assert_int_eq(w.failed, 0);
    ck_assert_int_eq(dsi_write_atomic(path, w.buf, w.len), DSN_OK);
    unsigned char *data;
    size_t len;
    ck_assert_int_eq(dsi_read_file(path, 1 << 20, &data, &len), DSN_OK);
    ck_assert_uint_eq(len, w.len);
    dsi_reader r;
    dsi_reader_init(&r, data, len, "blob.bin");
    uint32_t u;
    uint64_t v;
    float g[3];
    ck_assert_int_eq(dsi_read_u32(&r, &u), 0);
    ck_assert_int_eq(dsi_read_u64(&r, &v), 0);
    ck_assert_int_eq(dsi_read_f32s(&r, g, 3), 0);
    ck_assert_uint_eq(u, 0xdeadbeef);
    ck_assert(v == 0x0123456789abcdefULL);
    ck_assert_float_eq(g[2], 3.25f);
    /* reading past the end fails with a message and stays failed */
    ck_assert_int_eq(dsi_read_u32(&r, &u), -1);
    ck_assert_uint_eq(u, 0);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "truncated"));
    ck_assert_int_eq(dsi_reader_left(&r), 0);
    /* a huge length request cannot overflow */
    dsi_reader_init(&r, data, len, "blob.bin");
    ck_assert_ptr_null(dsi_read_view(&r, SIZE_MAX));
    free(data);
    dsi_writer_free(&w);
    /* size limit, missing file, directory */
    ck_assert_int_eq(dsi_read_file(path, 4, &data, &len), DSN_E_FORMAT);
    ck_assert_int_eq(dsi_read_file("/nonexistent/x", 100, &data, &len), DSN_E_IO);
    ck_assert_int_eq(dsi_read_file(tu_tmpdir(), 100, &data, &len), DSN_E_IO);
    ck_assert_int_eq(dsi_write_atomic("/nonexistent/dir/x", "a", 1), DSN_E_IO);
}
END_TEST

START_TEST(atomic_write_keeps_old_file_on_failure)
{
    char path[512];
    snprintf(path, sizeof path, "%s/keep.bin", tu_tmpdir());
    ck_assert_int_eq(dsi_write_atomic(path, "old", 3), DSN_OK);
    /* creating the temporary file fails (the fault-injection hook; every
     * other step is covered by test_reliability) */
    dsi_io_fault f = {1, EACCES, 0, 0};
    dsi_io_fault_hook = &f;
    ck_assert_int_eq(dsi_write_atomic(path, "new", 3), DSN_E_IO);
    dsi_io_fault_hook = NULL;
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), strerror(EACCES)));
    unsigned char *data;
    size_t len;
    ck_assert_int_eq(dsi_read_file(path, 100, &data, &len), DSN_OK);
    ck_assert_int_eq(memcmp(data, "old", 3), 0);
    free(data);
}
END_TEST

START_TEST(crc32_known_values)
{
    /* standard check value of CRC-32/ISO-HDLC */
    ck_assert_uint_eq(dsi_crc32(0, "123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(dsi_crc32(0, "", 0), 0);
    uint32_t c = dsi_crc32(0, "1234", 4);
    ck_assert_uint_eq(dsi_crc32(c, "56789", 5), 0xCBF43926u);
}
END_TEST

/* The CRC table is built under pthread_once: threads that start at once all
 * get the right values (under TSan the lazy fill it replaces was a race). */
static void *crc_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++)
        if (dsi_crc32(0, "123456789", 9) != 0xCBF43926u) return (void *)1;
    return NULL;
}

START_TEST(crc32_from_many_threads)
{
    pthread_t th[8];
    for (int i = 0; i < 8; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, crc_thread, NULL), 0);
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(th[i], &r);
        ck_assert_ptr_null(r);
    }
}
END_TEST

START_TEST(find_nonfinite)
{
    enum { N = 300 };
    float x[N];
    for (int i = 0; i < N; i++) x[i] = i % 3 == 0 ? FLT_MAX : i % 3 == 1 ? -FLT_MIN / 4 : (float)i;
    ck_assert_uint_eq(dsi_find_nonfinite(x, N), N);
    ck_assert(dsi_all_finite(x, N));
    ck_assert_uint_eq(dsi_find_nonfinite(NULL, 0), 0);
    const float bad[3] = {NAN, INFINITY, -INFINITY};
    const size_t at[8] = {0, 1, 63, 64, 200, 255, 256, N - 1}; /* around the 256-value blocks */
    for (int b = 0; b < 3; b++)
        for (int k = 0; k < 8; k++) {
            float keep = x[at[k]];
            x[at[k]] = bad[b];
            ck_assert_uint_eq(dsi_find_nonfinite(x, N), at[k]);
            ck_assert(!dsi_all_finite(x, N));
            ck_assert_uint_eq(dsi_find_nonfinite(x, at[k]), at[k]); /* before it: all finite */
            if (at[k] < N - 1) { /* a later one does not change the first */
                x[N - 1] = NAN;
                ck_assert_uint_eq(dsi_find_nonfinite(x, N), at[k]);
                x[N - 1] = 1.0f;
            }
            x[at[k]] = keep;
        }
}
END_TEST


/* ---- the thread pool ---- */
typedef struct pool_job {
    int hits[64];
    int nested_hits[64 * 4];
    int nest;
    size_t len, align;
    int cover[1000];
} pool_job;

static void pool_nested_task(void *ctx, int t, int n)
{
    int *h = ctx;
    __atomic_fetch_add(&h[t], n == 4 ? 1 : 100, __ATOMIC_RELAXED);
}

static void pool_task(void *ctx, int t, int n)
{
    pool_job *j = ctx;
    __atomic_fetch_add(&j->hits[t], 1, __ATOMIC_RELAXED);
    size_t lo, hi;
    dsi_pool_split(j->len, t, n, j->align, &lo, &hi);
    int bad = !(lo <= hi && hi <= j->len) || (t + 1 < n && hi % j->align != 0);
    for (size_t i = lo; i < hi; i++) __atomic_fetch_add(&j->cover[i], 1, __ATOMIC_RELAXED);
    if (j->nest) {
        bad |= dsi_pool_tasks(1e9, 1) != 1; /* inside a task: no further split */
        dsi_pool_run(4, pool_nested_task, j->nested_hits + 4 * t);
    }
    if (bad) __atomic_fetch_add(&j->hits[t], 1000, __ATOMIC_RELAXED);
}

/* returns the number of wrong counts (no ck_assert in the loops: Check
 * records every assertion, which would dominate the test's time) */
static int pool_check(int ntasks, size_t len, size_t align, int nest)
{
    static pool_job j;
    memset(&j, 0, sizeof j);
    j.len = len;
    j.align = align;
    j.nest = nest;
    dsi_pool_run(ntasks, pool_task, &j);
    int n = ntasks < 1 ? 1 : ntasks, wrong = 0;
    for (int t = 0; t < 64; t++) wrong += j.hits[t] != (t < n);
    for (size_t i = 0; i < len; i++) wrong += j.cover[i] != 1;
    if (nest)
        for (int t = 0; t < n; t++)
            for (int k = 0; k < 4; k++) wrong += j.nested_hits[4 * t + k] != 1;
    return wrong;
}

START_TEST(sort_unique_and_find)
{
    /* every small array over a few values (repeats, negatives, the int32
     * extremes): the distinct values ascending, each found at its place,
     * every other value absent; found in the sorted array with repeats too */
    const int32_t vals[5] = {INT32_MIN, -3, 0, 7, INT32_MAX};
    dsi_rng rng;
    dsi_rng_seed(&rng, 5);
    for (int trial = 0; trial < 400; trial++) {
        int32_t a[12] = {0}, b[12], s[12];
        size_t n = (size_t)(trial % 12);
        int have[5] = {0};
        for (size_t i = 0; i < n; i++) {
            int k = (int)dsi_rng_below(&rng, 5);
            a[i] = vals[k];
            have[k] = 1;
        }
        memcpy(b, a, sizeof a);
        memcpy(s, a, sizeof a);
        qsort(s, n, sizeof *s, dsi_i32_cmp);
        for (size_t i = 1; i < n; i++) ck_assert(s[i - 1] <= s[i]);
        size_t u = dsi_i32_sort_unique(b, n), want = 0;
        for (int k = 0; k < 5; k++) {
            ptrdiff_t at = dsi_i32_find(b, u, vals[k]);
            if (have[k]) {
                ck_assert_int_eq(at, (ptrdiff_t)want);
                ck_assert_int_eq(b[want], vals[k]);
                want++;
                ptrdiff_t r = dsi_i32_find(s, n, vals[k]);
                ck_assert(r >= 0 && s[r] == vals[k]);
            } else {
                ck_assert_int_eq(at, -1);
                ck_assert_int_eq(dsi_i32_find(s, n, vals[k]), -1);
            }
        }
        ck_assert_uint_eq(u, want);
    }
    ck_assert_uint_eq(dsi_i32_sort_unique(NULL, 0), 0);
    ck_assert_int_eq(dsi_i32_find(NULL, 0, 1), -1);
    const char *w[4] = {"b", "a", "ab", ""};
    qsort(w, 4, sizeof *w, dsi_str_cmp);
    ck_assert_str_eq(w[0], "");
    ck_assert_str_eq(w[1], "a");
    ck_assert_str_eq(w[2], "ab");
    ck_assert_str_eq(w[3], "b");
}
END_TEST

START_TEST(pool_runs_every_task_once)
{
    const int counts[] = {1, 2, 3, 4, 1, 2};
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        ck_assert_int_eq(dsn_set_threads(counts[c]), DSN_OK);
        ck_assert_int_eq(dsn_get_threads(), counts[c]);
        int wrong = 0;
        for (int nt = 0; nt <= 9; nt++) {
            wrong += pool_check(nt, 1000, 16, 0);
            wrong += pool_check(nt, 37, 8, nt % 2);
            wrong += pool_check(nt, 0, 4, 0);
        }
        ck_assert_int_eq(wrong, 0);
        /* many short jobs back to back (the workers' spin/sleep hand-over) */
        uint64_t a0 = dsn_allocation_count();
        for (int r = 0; r < 300; r++) wrong += pool_check(counts[c] + (r % 3), 64, 16, 0);
        ck_assert_int_eq(wrong, 0);
        ck_assert_uint_eq(dsn_allocation_count(), a0); /* no allocation per job */
    }
    ck_assert_int_eq(dsn_set_threads(-1), DSN_E_INVALID);
    ck_assert(strstr(dsn_last_error(), "threads") != NULL);
    ck_assert_int_eq(dsn_set_threads(65), DSN_E_INVALID);
    ck_assert_int_eq(dsn_get_threads(), 2);
    /* task counts: by work size and thread count only */
    ck_assert_int_eq(dsi_pool_tasks(10, 100), 1);
    ck_assert_int_eq(dsi_pool_tasks(1000, 100), 2);
    dsi_pool_set_serial(1);
    ck_assert_int_eq(dsi_pool_tasks(1000, 100), 1);
    ck_assert_int_eq(pool_check(3, 100, 8, 1), 0); /* a serial thread runs the tasks itself */
    dsi_pool_set_serial(0);
    ck_assert_int_eq(dsn_set_threads(1), DSN_OK);
    ck_assert_int_eq(dsi_pool_tasks(1000, 100), 1);
}
END_TEST

/* dsn_blas_coretype_hint: a core name only for a CPU with AVX2 + FMA, and
 * never once OPENBLAS_CORETYPE is set */
START_TEST(blas_coretype_hint)
{
    const char *had = getenv("OPENBLAS_CORETYPE");
    char *keep = had ? strdup(had) : NULL;
    const char *h = dsn_blas_coretype_hint();
    if (had) ck_assert_ptr_null(h);
    if (h) {
        ck_assert_msg(!strcmp(h, "SkylakeX") || !strcmp(h, "Haswell"), "hint %s", h);
#if defined(__x86_64__) && defined(__GNUC__)
        ck_assert(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
        if (!strcmp(h, "SkylakeX")) ck_assert(__builtin_cpu_supports("avx512f"));
#endif
    }
    ck_assert_int_eq(setenv("OPENBLAS_CORETYPE", "Haswell", 1), 0);
    ck_assert_ptr_null(dsn_blas_coretype_hint());
    if (keep) setenv("OPENBLAS_CORETYPE", keep, 1);
    else unsetenv("OPENBLAS_CORETYPE");
    free(keep);
}
END_TEST

typedef struct pool_sum_job {
    const float *x;
    size_t n;
    double part[8];
} pool_sum_job;

static void pool_sum_task(void *ctx, int t, int n)
{
    pool_sum_job *j = ctx;
    size_t lo, hi;
    dsi_pool_split(j->n, t, n, 64, &lo, &hi);
    double s = 0;
    for (size_t i = lo; i < hi; i++) s += j->x[i];
    j->part[t] = s;
}

static void *pool_client(void *arg)
{
    /* several application threads share the pool: each result is the one of
     * its partition, whichever thread ran the tasks */
    const float *x = arg;
    for (int r = 0; r < 300; r++) {
        pool_sum_job j = {.x = x, .n = 10000};
        dsi_pool_run(4, pool_sum_task, &j);
        double want = 0;
        for (int t = 0; t < 4; t++) {
            size_t lo, hi;
            dsi_pool_split(j.n, t, 4, 64, &lo, &hi);
            double s = 0;
            for (size_t i = lo; i < hi; i++) s += x[i];
            want += s;
        }
        double got = j.part[0] + j.part[1] + j.part[2] + j.part[3];
        if (got != want) return (void *)1;
    }
    return NULL;
}

START_TEST(pool_shared_by_application_threads)
{
    static float x[10000];
    for (int i = 0; i < 10000; i++) x[i] = (float)((i * 7919) % 1000) * 1e-3f;
    ck_assert_int_eq(dsn_set_threads(2), DSN_OK);
    pthread_t th[4];
    for (int k = 0; k < 4; k++) ck_assert_int_eq(pthread_create(&th[k], NULL, pool_client, x), 0);
    for (int k = 0; k < 4; k++) {
        void *r;
        pthread_join(th[k], &r);
        ck_assert_ptr_null(r);
    }
    ck_assert_int_eq(dsn_set_threads(1), DSN_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60); /* the pool tests wait for threads on a loaded machine */
    tcase_add_test(tc, status_strings);
    tcase_add_test(tc, error_message_and_prefix);
    tcase_add_test(tc, error_is_thread_local);
    tcase_add_test(tc, allocator_hook);
    tcase_add_test(tc, rng_reproducible_and_distributed);
    tcase_add_test(tc, rng_save_restore_exact);
    tcase_add_test(tc, rng_fill_normal_pooled_same_numbers);
    tcase_add_test(tc, arena_stable_across_steps);
    tcase_add_test(tc, fileio_roundtrip_and_truncation);
    tcase_add_test(tc, atomic_write_keeps_old_file_on_failure);
    tcase_add_test(tc, crc32_known_values);
    tcase_add_test(tc, crc32_from_many_threads);
    tcase_add_test(tc, find_nonfinite);
    tcase_add_test(tc, sort_unique_and_find);
    tcase_add_test(tc, pool_runs_every_task_once);
    tcase_add_test(tc, pool_shared_by_application_threads);
    tcase_add_test(tc, blas_coretype_hint);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
