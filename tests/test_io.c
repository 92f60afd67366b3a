/* test_io.c - the model file container: round trip, and every kind of damage. */
#include "core/alloc.h"
#include "core/endian.h"
#include "io/modelfile.h"
#include "support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void make_params(dsi_params *ps, int rows)
{
    dsi_params_init(ps);
    int g = dsi_params_group(ps, "all");
    int s1[2] = {rows, 5}, s2[1] = {7};
    dsi_params_add(ps, "enc.w", g, 2, s1);
    dsi_params_add(ps, "enc.b", g, 1, s2);
    ck_assert_int_eq(dsi_params_finalize(ps), DSN_OK);
}

static void save_sample(const char *path, dsi_params *ps)
{
    dsi_mfile_out f;
    dsi_mfile_out_init(&f);
    dsi_mfile_begin_section(&f, "META");
    dsi_write_str(dsi_mfile_payload(&f), "ml-vae");
    dsi_mfile_end_section(&f);
    dsi_mfile_begin_section(&f, "PARM");
    dsi_mfile_put_params(dsi_mfile_payload(&f), ps);
    dsi_mfile_end_section(&f);
    ck_assert_int_eq(dsi_mfile_save(&f, path), DSN_OK);
    dsi_mfile_out_free(&f);
}

static dsn_status load_into(const char *path, dsi_params *ps)
{
    dsi_mfile_in f;
    dsn_status st = dsi_mfile_open(&f, path);
    if (st != DSN_OK) return st;
    dsi_reader r;
    char name[64];
    if (!dsi_mfile_find(&f, "META", &r) || dsi_read_str(&r, name, sizeof name)) {
        dsi_mfile_close(&f);
        return DSN_E_FORMAT;
    }
    if (!dsi_mfile_find(&f, "PARM", &r)) {
        dsi_mfile_close(&f);
        return DSN_E_FORMAT;
    }
    st = dsi_mfile_get_params(&r, ps);
    dsi_mfile_close(&f);
    return st;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*len);
    ck_assert_uint_eq(fread(b, 1, *len, fp), *len);
    fclose(fp);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t len)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(b, 1, len, fp), len);
    fclose(fp);
}

START_TEST(roundtrip_exact)
{
    char path[512];
    snprintf(path, sizeof path, "%s/m.dsn", tu_tmpdir());
    dsi_params a, b;
    make_params(&a, 3);
    make_params(&b, 3);
    dsi_rng r;
    dsi_rng_seed(&r, 5);
    tu_fill(&r, a.data, a.n);
    save_sample(path, &a);
    ck_assert_int_eq(load_into(path, &b), DSN_OK);
    for (int i = 0; i < a.count; i++)
        ck_assert_int_eq(memcmp(a.data + a.list[i].offset, b.data + b.list[i].offset, a.list[i].var.n * 4), 0);
    dsi_params_release(&a);
    dsi_params_release(&b);
}
END_TEST

START_TEST(every_truncation_and_flip_is_rejected)
{
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/t.dsn", tu_tmpdir());
    snprintf(bad, sizeof bad, "%s/bad.dsn", tu_tmpdir());
    dsi_params a, b;
    make_params(&a, 3);
    make_params(&b, 3);
    save_sample(path, &a);
    size_t len;
    unsigned char *orig = slurp(path, &len);
    for (size_t cut = 0; cut < len; cut++) {
        spit(bad, orig, cut);
        ck_assert_int_eq(load_into(bad, &b), DSN_E_FORMAT);
        ck_assert_int_gt((int)strlen(dsn_last_error()), 0);
    }
    unsigned char *m = malloc(len);
    for (size_t i = 0; i < len; i++) {
        memcpy(m, orig, len);
        m[i] ^= 0x5a;
        spit(bad, m, len);
        ck_assert_int_eq(load_into(bad, &b), DSN_E_FORMAT);
    }
    free(m);
    free(orig);
    dsi_params_release(&a);
    dsi_params_release(&b);
}
END_TEST

START_TEST(foreign_newer_and_mismatched_files)
{
    char path[512];
    dsi_params a, b;
    make_params(&a, 3);
    make_params(&b, 4); /* different shape */
    snprintf(path, sizeof path, "%s/f.dsn", tu_tmpdir());
    spit(path, (const unsigned char *)"PK\3\4 this is a zip", 19);
    ck_assert_int_eq(load_into(path, &b), DSN_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "magic"));
    spit(path, (const unsigned char *)"", 0);
    ck_assert_int_eq(load_into(path, &b), DSN_E_FORMAT);
    /* a newer version (with a correct CRC) is refused by version, not CRC */
    save_sample(path, &a);
    size_t len;
    unsigned char *buf = slurp(path, &len);
    dsi_put_u32(buf + 8, 99);
    dsi_put_u32(buf + len - 4, dsi_crc32(0, buf, len - 4));
    spit(path, buf, len);
    ck_assert_int_eq(load_into(path, &b), DSN_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "version 99"));
    /* a section claiming more bytes than the file has (CRC fixed up) */
    save_sample(path, &a);
    free(buf);
    buf = slurp(path, &len);
    dsi_put_u64(buf + 16 + 4, (uint64_t)1 << 40);
    dsi_put_u32(buf + len - 4, dsi_crc32(0, buf, len - 4));
    spit(path, buf, len);
    ck_assert_int_eq(load_into(path, &b), DSN_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "longer than the file"));
    free(buf);
    /* shape mismatch names the parameter */
    save_sample(path, &a);
    ck_assert_int_eq(load_into(path, &b), DSN_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "enc.w"));
    ck_assert_int_eq(load_into("/nonexistent/m.dsn", &b), DSN_E_IO);
    dsi_params_release(&a);
    dsi_params_release(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("io");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, roundtrip_exact);
    tcase_add_test(tc, every_truncation_and_flip_is_rejected);
    tcase_add_test(tc, foreign_newer_and_mismatched_files);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
