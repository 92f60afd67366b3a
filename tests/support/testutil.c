/* testutil.c - helpers for the Check suites. */
#include "support/testutil.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

double tu_max_rel_err(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]) / (1.0 + fabs((double)b[i]));
        if (!(e <= m)) m = e; /* NaN propagates as a failure */
    }
    return m;
}

void tu_fill(dsi_rng *r, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = 2.0f * dsi_rng_uniform(r) - 1.0f;
}

static char tmp_dir[256];
static pthread_once_t tmp_once = PTHREAD_ONCE_INIT;

static void make_tmpdir(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/dsn-test-XXXXXX");
    if (!mkdtemp(tmp_dir)) snprintf(tmp_dir, sizeof tmp_dir, "/tmp");
}

/* once, even when test threads ask first (ThreadSanitizer saw the lazy fill race) */
const char *tu_tmpdir(void)
{
    pthread_once(&tmp_once, make_tmpdir);
    return tmp_dir;
}

char *tu_tmp_path(const char *name)
{
    static _Thread_local char buf[8][512];
    static _Thread_local unsigned k;
    char *p = buf[k++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", tu_tmpdir(), name);
    return p;
}

void tu_skip(const char *test_fn, const char *fmt, ...)
{
    /* Check names a test's function <name>_fn */
    size_t n = strlen(test_fn);
    if (n > 3 && !strcmp(test_fn + n - 3, "_fn")) n -= 3;
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    printf("DSN-SKIP %.*s: %s\n", (int)n, test_fn, reason);
    fflush(stdout);
}

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed;
}
