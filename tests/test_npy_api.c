/* test_npy_api.c - the public .npy calls (dsn_npy_read / dsn_npy_write) that
 * the CLI uses: round trips, the shape query, and the refusals (a shape whose
 * element count overflows, too small a buffer, floats read as integers, more
 * dimensions than the caller has room for). */
#include "disent.h"
#include "support/testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

START_TEST(roundtrip_and_shape_query)
{
    float x[6] = {1.5f, -2.0f, 0.0f, 3.25f, 1e-3f, -7.0f};
    size_t shape[2] = {2, 3};
    const char *p = tu_tmp_path("a.npy");
    ck_assert_int_eq(dsn_npy_write(p, x, shape, 2, DSN_DTYPE_FLOAT32), DSN_OK);
    size_t got[4] = {0};
    int nd = -1, is_int = -1;
    ck_assert_int_eq(dsn_npy_read(NULL, 0, got, 4, &nd, &is_int, p, DSN_DTYPE_FLOAT32), DSN_OK);
    ck_assert_int_eq(nd, 2);
    ck_assert_uint_eq(got[0], 2);
    ck_assert_uint_eq(got[1], 3);
    ck_assert_int_eq(is_int, 0);
    float y[6] = {0};
    ck_assert_int_eq(dsn_npy_read(y, 6, NULL, 0, NULL, NULL, p, DSN_DTYPE_FLOAT32), DSN_OK);
    ck_assert(memcmp(x, y, sizeof x) == 0);
    /* too small a buffer: refused, outputs untouched */
    nd = -1;
    ck_assert_int_eq(dsn_npy_read(y, 5, got, 4, &nd, NULL, p, DSN_DTYPE_FLOAT32), DSN_E_INVALID);
    ck_assert_int_eq(nd, -1);
    /* more dimensions than the caller has room for */
    ck_assert_int_eq(dsn_npy_read(NULL, 0, got, 1, &nd, NULL, p, DSN_DTYPE_FLOAT32), DSN_E_SHAPE);
    /* floats are not integers */
    int32_t k[6];
    ck_assert_int_eq(dsn_npy_read(k, 6, NULL, 0, NULL, NULL, p, DSN_DTYPE_INT32), DSN_E_UNSUPPORTED);

    int32_t c[3] = {7, -1, 2147483647};
    size_t s1[1] = {3};
    const char *q = tu_tmp_path("c.npy");
    ck_assert_int_eq(dsn_npy_write(q, c, s1, 1, DSN_DTYPE_INT32), DSN_OK);
    ck_assert_int_eq(dsn_npy_read(NULL, 0, NULL, 0, NULL, &is_int, q, DSN_DTYPE_INT32), DSN_OK);
    ck_assert_int_eq(is_int, 1);
    ck_assert_int_eq(dsn_npy_read(k, 3, NULL, 0, NULL, NULL, q, DSN_DTYPE_INT32), DSN_OK);
    ck_assert(memcmp(c, k, sizeof c) == 0);
    ck_assert_int_eq(dsn_npy_read(y, 3, NULL, 0, NULL, NULL, q, DSN_DTYPE_FLOAT32), DSN_OK);
    ck_assert_float_eq(y[1], -1.0f);
}
END_TEST

/* A header whose shape multiplies past 2^64 must be refused before any
 * allocation (the CLI's own reader multiplied without a check). */
START_TEST(overflowing_shape_is_refused)
{
    const char *p = tu_tmp_path("overflow.npy");
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967297), }");
    while ((10 + n + 1) % 64) hdr[n++] = ' ';
    hdr[n++] = '\n';
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 255), (unsigned char)(n >> 8)};
    fwrite(pre, 1, 10, f);
    fwrite(hdr, 1, (size_t)n, f);
    fwrite("\0\0\0\0\0\0\0\0", 1, 8, f);
    fclose(f);
    size_t shape[4];
    int nd;
    ck_assert_int_eq(dsn_npy_read(NULL, 0, shape, 4, &nd, NULL, p, DSN_DTYPE_FLOAT32), DSN_E_FORMAT);
    float y[2];
    ck_assert_int_eq(dsn_npy_read(y, 2, shape, 4, &nd, NULL, p, DSN_DTYPE_FLOAT32), DSN_E_FORMAT);
}
END_TEST

START_TEST(bad_arguments)
{
    float x[1] = {0};
    size_t s[1] = {1};
    ck_assert_int_eq(dsn_npy_read(NULL, 0, NULL, 0, NULL, NULL, NULL, DSN_DTYPE_FLOAT32), DSN_E_INVALID);
    ck_assert_int_eq(dsn_npy_read(NULL, 0, NULL, 0, NULL, NULL, "x.npy", (dsn_dtype)7), DSN_E_INVALID);
    ck_assert_int_eq(dsn_npy_write(NULL, x, s, 1, DSN_DTYPE_FLOAT32), DSN_E_INVALID);
    ck_assert_int_eq(dsn_npy_write(tu_tmp_path("b.npy"), x, s, 1, (dsn_dtype)7), DSN_E_INVALID);
    ck_assert_int_eq(dsn_npy_write(tu_tmp_path("b.npy"), NULL, s, 1, DSN_DTYPE_FLOAT32), DSN_E_INVALID);
    ck_assert_int_eq(dsn_npy_read(NULL, 0, NULL, 0, NULL, NULL, "/nonexistent/x.npy", DSN_DTYPE_FLOAT32), DSN_E_IO);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("npy_api");
    TCase *tc = tcase_create("npy_api");
    tcase_add_test(tc, roundtrip_and_shape_query);
    tcase_add_test(tc, overflowing_shape_is_refused);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
