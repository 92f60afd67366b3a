/* test_options.c - dsn_options and the typed readers. */
#include "core/options.h"
#include "disent.h"
#include "support/testutil.h"

#include <stdio.h>
#include <string.h>

START_TEST(set_get_parse)
{
    dsn_options *o = NULL;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_set(o, "lr", "0.001"), DSN_OK);
    ck_assert_int_eq(dsn_options_set(o, "lr", "0.002"), DSN_OK);
    ck_assert_str_eq(dsn_options_get(o, "lr"), "0.002");
    ck_assert_uint_eq(dsn_options_count(o), 1);
    ck_assert_int_eq(dsn_options_parse(o, "# a comment\n style_dim = 10 ; content_dim=12, hidden = 500:500 # tail\n"), DSN_OK);
    ck_assert_str_eq(dsn_options_get(o, "style_dim"), "10");
    ck_assert_str_eq(dsn_options_get(o, "hidden"), "500:500");
    ck_assert_ptr_null(dsn_options_get(o, "absent"));
    ck_assert_str_eq(dsn_options_key(o, 0), "lr");
    ck_assert_ptr_null(dsn_options_key(o, 99));
    /* a bad line adds nothing and names the line */
    size_t before = dsn_options_count(o);
    ck_assert_int_eq(dsn_options_parse(o, "a=1\nnot a pair\n"), DSN_E_OPTION);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "line 2"));
    ck_assert_uint_eq(dsn_options_count(o), before);
    ck_assert_int_eq(dsn_options_set(o, "Bad Key", "1"), DSN_E_OPTION);
    ck_assert_int_eq(dsn_options_set(NULL, "k", "1"), DSN_E_INVALID);
    ck_assert_int_eq(dsn_options_set(o, "k", NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_options_create(NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_options_load(o, "/nonexistent.conf"), DSN_E_IO);
    char path[512];
    snprintf(path, sizeof path, "%s/opts.conf", tu_tmpdir());
    FILE *fp = fopen(path, "w");
    fputs("epochs = 3\nbatch_groups=16\n", fp);
    fclose(fp);
    ck_assert_int_eq(dsn_options_load(o, path), DSN_OK);
    ck_assert_str_eq(dsn_options_get(o, "epochs"), "3");
    dsn_options_free(o);
    dsn_options_free(NULL);
}
END_TEST

START_TEST(typed_readers_and_unknown_keys)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(o, "n=5, f=0.5, b=true, e=bern, s=abc, l=1:2:3"), DSN_OK);
    dsi_optr r;
    dsi_optr_init(&r, o, "test");
    int n = 0, b = 0, e = 0, l[4], nl = 0;
    float f = 0;
    char s[8] = "";
    const char *names[] = {"gauss", "bern", NULL};
    dsi_opt_int(&r, "n", &n, 1, 10);
    dsi_opt_float(&r, "f", &f, 0, 1);
    dsi_opt_bool(&r, "b", &b);
    dsi_opt_enum(&r, "e", &e, names);
    dsi_opt_str(&r, "s", s, sizeof s);
    dsi_opt_ints(&r, "l", l, 4, &nl, 1, 9);
    ck_assert_int_eq(dsi_optr_finish(&r), DSN_OK);
    ck_assert_int_eq(n, 5);
    ck_assert_float_eq(f, 0.5f);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(e, 1);
    ck_assert_str_eq(s, "abc");
    ck_assert_int_eq(nl, 3);
    ck_assert_int_eq(l[2], 3);
    /* an unread key is reported by name */
    dsi_optr_init(&r, o, "ml-vae");
    dsi_opt_int(&r, "n", &n, 1, 10);
    ck_assert_int_eq(dsi_optr_finish(&r), DSN_E_OPTION);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "unknown option 'f'"));
    /* out of range and unparsable values name the key */
    dsi_optr_init(&r, o, "ml-vae");
    dsi_opt_int(&r, "n", &n, 6, 10);
    ck_assert_int_eq(r.status, DSN_E_OPTION);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "'n'"));
    ck_assert_int_eq(n, 5); /* unchanged */
    dsi_optr_init(&r, o, "x");
    dsi_opt_float(&r, "s", &f, 0, 1);
    ck_assert_int_eq(r.status, DSN_E_OPTION);
    dsi_optr_init(&r, o, "x");
    dsi_opt_enum(&r, "s", &e, names);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "one of: gauss bern"));
    /* NULL bag: defaults stay, finish is OK */
    dsi_optr_init(&r, NULL, "x");
    n = 42;
    dsi_opt_int(&r, "n", &n, 0, 100);
    ck_assert_int_eq(n, 42);
    ck_assert_int_eq(dsi_optr_finish(&r), DSN_OK);
    dsn_options_free(o);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, set_get_parse);
    tcase_add_test(tc, typed_readers_and_unknown_keys);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
