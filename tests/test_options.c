/* test_options.c - dsn_options and the typed readers. */
#include "core/options.h"
#include "disent.h"
#include "support/testutil.h"

#include <pthread.h>
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

/* ---- introspection: dsn_option_count / dsn_option_describe ---- */

static const char *const whats[] = {"ml-vae", "vq-vae", "dsae", "ts-dsae", "fit", "sgd", "adam", "adamw"};

static int is_model(const char *w) { return strcmp(w, "fit") && strcmp(w, "sgd") && strcmp(w, "adam") && strcmp(w, "adamw"); }

START_TEST(describe_lists_documented_keys)
{
    static const char *const types[] = {"int", "int64", "uint64", "float", "bool", "enum", "string", "ints"};
    for (size_t w = 0; w < sizeof whats / sizeof *whats; w++) {
        size_t n = 0;
        ck_assert_int_eq(dsn_option_count(&n, whats[w]), DSN_OK);
        ck_assert_uint_gt(n, 5);
        for (size_t i = 0; i < n; i++) {
            dsn_option_info o = DSN_OPTION_INFO_INIT;
            ck_assert_int_eq(dsn_option_describe(&o, whats[w], i), DSN_OK);
            ck_assert_ptr_nonnull(o.key);
            ck_assert_ptr_nonnull(o.default_value);
            ck_assert_msg(o.doc && strcmp(o.doc, "(undocumented)") && strlen(o.doc) > 5, "%s: key '%s' has no doc line",
                          whats[w], o.key);
            int known = 0;
            for (size_t t = 0; t < sizeof types / sizeof *types; t++) known |= !strcmp(o.type, types[t]);
            ck_assert_msg(known, "%s.%s: type %s", whats[w], o.key, o.type);
            ck_assert((strcmp(o.type, "enum") == 0) == (o.choices != NULL));
            ck_assert(o.min <= o.max);
            for (size_t j = 0; j < i; j++) { /* each key once */
                dsn_option_info p = DSN_OPTION_INFO_INIT;
                ck_assert_int_eq(dsn_option_describe(&p, whats[w], j), DSN_OK);
                ck_assert_str_ne(p.key, o.key);
            }
        }
        dsn_option_info o = DSN_OPTION_INFO_INIT;
        ck_assert_int_eq(dsn_option_describe(&o, whats[w], n), DSN_E_INVALID);
    }
    /* known entries */
    dsn_option_info o = DSN_OPTION_INFO_INIT;
    size_t n;
    ck_assert_int_eq(dsn_option_count(&n, "ml-vae"), DSN_OK);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(dsn_option_describe(&o, "ml-vae", i), DSN_OK);
        if (!strcmp(o.key, "content_dim")) {
            found = 1;
            ck_assert_str_eq(o.type, "int");
            ck_assert_str_eq(o.default_value, "10");
            ck_assert(o.min == 1 && o.max == 4096);
        }
        if (!strcmp(o.key, "likelihood")) ck_assert_str_eq(o.choices, "bernoulli|gaussian");
    }
    ck_assert(found);
    /* a key read only under another enum value (vq-vae layout=sequence) is listed */
    ck_assert_int_eq(dsn_option_count(&n, "vq-vae"), DSN_OK);
    found = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(dsn_option_describe(&o, "vq-vae", i), DSN_OK);
        if (!strcmp(o.key, "features")) {
            found = 1;
            ck_assert_str_eq(o.requires, "layout=sequence");
        }
        if (!strcmp(o.key, "num_codes")) ck_assert_ptr_null(o.requires);
    }
    ck_assert(found);
}
END_TEST

/* Every default, given back as an option, is accepted; every bound is
 * enforced: just outside it the creation fails with DSN_E_OPTION. */
START_TEST(describe_defaults_parse_and_bounds_hold)
{
    for (size_t w = 0; w < sizeof whats / sizeof *whats; w++) {
        if (!is_model(whats[w])) continue;
        size_t n;
        ck_assert_int_eq(dsn_option_count(&n, whats[w]), DSN_OK);
        for (size_t i = 0; i < n; i++) {
            dsn_option_info o = DSN_OPTION_INFO_INIT;
            ck_assert_int_eq(dsn_option_describe(&o, whats[w], i), DSN_OK);
            if (!o.default_value[0]) continue; /* an empty list: absent means the same */
            dsn_options *opts;
            dsn_model *m = NULL;
            ck_assert_int_eq(dsn_options_create(&opts), DSN_OK);
            ck_assert_int_eq(dsn_options_set(opts, o.key, o.default_value), DSN_OK);
            if (o.requires) { /* "key=value" */
                char k[64];
                const char *eq = strchr(o.requires, '=');
                ck_assert_ptr_nonnull(eq);
                snprintf(k, sizeof k, "%.*s", (int)(eq - o.requires), o.requires);
                ck_assert_int_eq(dsn_options_set(opts, k, eq + 1), DSN_OK);
            }
            dsn_status st = dsn_model_create(&m, whats[w], opts);
            ck_assert_msg(st == DSN_OK, "%s: %s = %s refused: %s", whats[w], o.key, o.default_value, dsn_last_error());
            dsn_model_free(m);
            int numeric = !strcmp(o.type, "int") || !strcmp(o.type, "float") || !strcmp(o.type, "int64");
            if (numeric && o.max < 1e9) {
                char v[64];
                snprintf(v, sizeof v, !strcmp(o.type, "float") ? "%.17g" : "%.0f", !strcmp(o.type, "float") ? o.max * 1.01 + 1e-3 : o.max + 1);
                ck_assert_int_eq(dsn_options_set(opts, o.key, v), DSN_OK);
                m = NULL;
                ck_assert_msg(dsn_model_create(&m, whats[w], opts) == DSN_E_OPTION, "%s: %s = %s above max %g accepted",
                              whats[w], o.key, v, o.max);
                ck_assert_ptr_nonnull(strstr(dsn_last_error(), o.key));
            }
            if (numeric && o.min > 0) {
                char v[64];
                snprintf(v, sizeof v, !strcmp(o.type, "float") ? "%.17g" : "%.0f", !strcmp(o.type, "float") ? o.min * 0.5 : o.min - 1);
                ck_assert_int_eq(dsn_options_set(opts, o.key, v), DSN_OK);
                m = NULL;
                ck_assert_msg(dsn_model_create(&m, whats[w], opts) == DSN_E_OPTION, "%s: %s = %s below min %g accepted",
                              whats[w], o.key, v, o.min);
            }
            dsn_options_free(opts);
        }
    }
}
END_TEST

START_TEST(describe_bad_arguments)
{
    size_t n;
    dsn_option_info o = DSN_OPTION_INFO_INIT;
    ck_assert_int_eq(dsn_option_count(NULL, "fit"), DSN_E_INVALID);
    ck_assert_int_eq(dsn_option_count(&n, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_option_count(&n, "no-such-model"), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "no-such-model"));
    ck_assert_int_eq(dsn_option_describe(NULL, "fit", 0), DSN_E_INVALID);
    ck_assert_int_eq(dsn_option_describe(&o, "no-such-model", 0), DSN_E_INVALID);
    o.struct_size = 8;
    ck_assert_int_eq(dsn_option_describe(&o, "fit", 0), DSN_E_INVALID);
}
END_TEST

static void *describe_thread(void *arg)
{
    const char *w = arg;
    size_t n = 0;
    if (dsn_option_count(&n, w) != DSN_OK || n == 0) return (void *)1;
    for (size_t i = 0; i < n; i++) {
        dsn_option_info o = DSN_OPTION_INFO_INIT;
        if (dsn_option_describe(&o, w, i) != DSN_OK) return (void *)1;
    }
    return NULL;
}

START_TEST(describe_from_many_threads)
{
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, describe_thread, (void *)whats[i % 3]), 0);
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(th[i], &r);
        ck_assert_ptr_null(r);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("options");
    tcase_set_timeout(tc, 120); /* builds every model family once per option: seconds on a loaded machine */
    tcase_add_test(tc, set_get_parse);
    tcase_add_test(tc, typed_readers_and_unknown_keys);
    tcase_add_test(tc, describe_lists_documented_keys);
    tcase_add_test(tc, describe_defaults_parse_and_bounds_hold);
    tcase_add_test(tc, describe_bad_arguments);
    tcase_add_test(tc, describe_from_many_threads);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
