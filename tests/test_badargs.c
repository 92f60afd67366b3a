/* test_badargs.c - every DSN_API function called with bad arguments: NULL
 * handles and pointers, zero and huge sizes (n * dim overflowing), wrong
 * shapes, parts a model lacks, options out of bounds, a handle of another
 * model or family. Each must return a status with a message (or, for a
 * function without a status, its documented value), never crash, and leave
 * its outputs untouched. The last check reads include/disent.h and fails if
 * any DSN_API function was not called here, so a new function cannot be
 * added without its bad-argument cases. */
#include "support/describe.h"
#include "support/testutil.h"

#include <disent.h>
#include <ctype.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- bookkeeping: which functions were called ---- */

static char called[256][64];
static int n_called;

static void mark(const char *name)
{
    for (int i = 0; i < n_called; i++)
        if (!strcmp(called[i], name)) return;
    ck_assert_int_lt(n_called, 256);
    snprintf(called[n_called++], sizeof called[0], "%s", name);
}

/* findings are collected, not fatal, so one run lists them all */
static char findings[16384];
static int n_findings;

static void finding(int line, const char *fmt, const char *a, const char *b)
{
    size_t k = strlen(findings);
    if (k < sizeof findings - 256) {
        snprintf(findings + k, sizeof findings - k, "\n  line %d: ", line);
        k = strlen(findings);
        snprintf(findings + k, sizeof findings - k, fmt, a, b);
    }
    n_findings++;
}

static void expect_fail(const char *call, int line, dsn_status st)
{
    if (st == DSN_OK) finding(line, "%s accepted bad arguments%s", call, "");
    else if ((int)st <= 0 || (int)st >= 64) finding(line, "%s: bad status%s", call, "");
    else if (dsn_last_error()[0] == '\0') finding(line, "%s failed (%s) without a message", call, dsn_status_string(st));
}

/* a call that must fail with a message */
#define BAD(fn, ...) (mark(#fn), dsn_clear_error(), expect_fail(#fn "(" #__VA_ARGS__ ")", __LINE__, fn(__VA_ARGS__)))
/* a call that must fail with exactly this status */
#define BADST(want, fn, ...)                                                                  \
    do {                                                                                      \
        mark(#fn);                                                                            \
        dsn_clear_error();                                                                    \
        dsn_status st_ = fn(__VA_ARGS__);                                                     \
        expect_fail(#fn "(" #__VA_ARGS__ ")", __LINE__, st_);                                 \
        if (st_ != DSN_OK && st_ != (want))                                                   \
            finding(__LINE__, "%s gave %s", #fn "(" #__VA_ARGS__ ")", dsn_status_string(st_)); \
    } while (0)
#define EXPECT_NULL(p) \
    do { if (p) finding(__LINE__, "%s%s is not NULL after a failed call", #p, ""); } while (0)
#define EXPECT_EQ(a, b) \
    do { if ((long long)(a) != (long long)(b)) finding(__LINE__, "%s is not %s", #a, #b); } while (0)
/* a call that must succeed (used to build the valid context) */
#define OK(fn, ...)                                                                                         \
    do {                                                                                                    \
        mark(#fn);                                                                                          \
        dsn_status st_ = fn(__VA_ARGS__);                                                                   \
        ck_assert_msg(st_ == DSN_OK, "line %d: %s: %s", __LINE__, #fn, dsn_last_error());                  \
    } while (0)
/* a function without a status: evaluate and mark */
#define CALL(fn, ...) (mark(#fn), fn(__VA_ARGS__))

#define HUGE_N ((size_t)1 << 62)        /* n * dim * sizeof(float) overflows */
#define SENT 0x5a                       /* output sentinel byte */

#define UNTOUCHED(p, n) \
    do { if (!untouched_(p, n)) finding(__LINE__, "%s%s was written by a failed call", #p, ""); } while (0)
static int untouched_(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != SENT) return 0;
    return 1;
}

static dsn_options *opts(const char *text)
{
    dsn_options *o = NULL;
    OK(dsn_options_create, &o);
    if (text) OK(dsn_options_parse, o, text);
    return o;
}

static dsn_model *model(const char *family, const char *text)
{
    dsn_options *o = opts(text);
    dsn_model *m = NULL;
    OK(dsn_model_create, &m, family, o);
    dsn_options_free(o);
    return m;
}

#define MLVAE "input_dim=6, hidden=4, style_dim=2, content_dim=2, seed=1"
#define TSDSAE "frames=6, n_mels=4, v_dim=2, z_dim=2, hidden=5, encoder_lstm=3, dec_hidden=4, local_encoder=lstm, local_context=0, z_norm=none"
#define VQVAE "channels=1, height=4, width=4, hidden=2, res_blocks=1, res_channels=2, code_dim=2, num_codes=4, " \
              "prior_channels=2, prior_layers=1, prior_hidden=2"

static char path_buf[8][600];
static const char *tpath(int k, const char *name)
{
    snprintf(path_buf[k], sizeof path_buf[k], "%s/%s", tu_tmpdir(), name);
    return path_buf[k];
}

/* ---- core: version, status, errors, allocator ---- */
static void core_calls(void)
{
    ck_assert_int_gt(CALL(dsn_version_number), 0);
    ck_assert_ptr_nonnull(CALL(dsn_version_string));
    ck_assert_str_eq(CALL(dsn_status_string, (dsn_status)-1), "unknown status");
    ck_assert_str_eq(CALL(dsn_status_string, (dsn_status)9999), "unknown status");
    CALL(dsn_clear_error);
    ck_assert_str_eq(CALL(dsn_last_error), "");
    const int threads = CALL(dsn_get_threads);
    ck_assert_int_ge(threads, 1);
    BADST(DSN_E_INVALID, dsn_set_threads, -1);
    BADST(DSN_E_INVALID, dsn_set_threads, 65);
    ck_assert_int_eq(CALL(dsn_get_threads), threads); /* failed calls change nothing */
    dsn_allocator half = {NULL, NULL, NULL};
    BADST(DSN_E_INVALID, dsn_set_allocator, &half);
    OK(dsn_set_allocator, NULL);
    uint64_t a = CALL(dsn_allocation_count);
    ck_assert_uint_ge(CALL(dsn_allocation_count), a);
    int nthr = CALL(dsn_get_threads);
    ck_assert_int_ge(nthr, 1);
    BADST(DSN_E_INVALID, dsn_set_threads, -1);
    BADST(DSN_E_INVALID, dsn_set_threads, 65);
    BADST(DSN_E_INVALID, dsn_set_threads, INT_MIN);
    ck_assert_int_eq(CALL(dsn_get_threads), nthr); /* a refused count changes nothing */
    const char *hint = CALL(dsn_blas_coretype_hint); /* no arguments: a static name or NULL */
    ck_assert(!hint || !strcmp(hint, "SkylakeX") || !strcmp(hint, "Haswell"));
}

/* ---- options ---- */
static void options_calls(void)
{
    BADST(DSN_E_INVALID, dsn_options_create, NULL);
    CALL(dsn_options_free, NULL);
    dsn_options *o = opts(NULL);
    BAD(dsn_options_set, NULL, "a", "1");
    BAD(dsn_options_set, o, NULL, "1");
    BAD(dsn_options_set, o, "a", NULL);
    BAD(dsn_options_set, o, "", "1");
    BAD(dsn_options_set, o, "Bad Key", "1");
    char big[2048];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    BAD(dsn_options_set, o, big, "1");
    BAD(dsn_options_set, o, "a", big);
    BAD(dsn_options_parse, NULL, "a=1");
    BAD(dsn_options_parse, o, NULL);
    BAD(dsn_options_parse, o, "novalue");
    BAD(dsn_options_parse, o, "a=1, =2");
    BAD(dsn_options_load, NULL, "x");
    BAD(dsn_options_load, o, NULL);
    BAD(dsn_options_load, o, "/nonexistent/opts.conf");
    BAD(dsn_options_load, o, tu_tmpdir()); /* a folder */
    EXPECT_EQ(CALL(dsn_options_count, o), 0); /* every failure above added nothing */
    ck_assert_ptr_null(CALL(dsn_options_get, NULL, "a"));
    ck_assert_ptr_null(CALL(dsn_options_get, o, NULL));
    ck_assert_ptr_null(CALL(dsn_options_get, o, "absent"));
    EXPECT_EQ(CALL(dsn_options_count, NULL), 0);
    ck_assert_ptr_null(CALL(dsn_options_key, NULL, 0));
    ck_assert_ptr_null(CALL(dsn_options_key, o, 0));
    ck_assert_ptr_null(CALL(dsn_options_key, o, SIZE_MAX));
    dsn_options_free(o);
}

/* ---- models: create, describe, save, load, stage, options, stats ---- */
static void model_calls(dsn_model *m, dsn_model *mv)
{
    dsn_model *out = (dsn_model *)1;
    BADST(DSN_E_INVALID, dsn_model_create, NULL, "ml-vae", NULL);
    BAD(dsn_model_create, &out, NULL, NULL);
    EXPECT_NULL(out);
    out = (dsn_model *)1;
    BAD(dsn_model_create, &out, "no-such-family", NULL);
    EXPECT_NULL(out);
    const char *bad_opts[] = {"input_dim=0", "input_dim=-3", "input_dim=99999999999", "hidden=0", "style_dim=1e9",
                              "nonsense_key=1", "seed=-1", "input_dim=abc"};
    for (size_t i = 0; i < sizeof bad_opts / sizeof bad_opts[0]; i++) {
        dsn_options *o = opts(bad_opts[i]);
        out = (dsn_model *)1;
        BADST(DSN_E_OPTION, dsn_model_create, &out, "ml-vae", o);
        EXPECT_NULL(out);
        dsn_options_free(o);
    }
    CALL(dsn_model_free, NULL);
    /* option introspection: NULL outputs, unknown families, an index past the
     * end and a struct_size below the first version's are refused */
    size_t count = 12345;
    BADST(DSN_E_INVALID, dsn_option_count, NULL, "ml-vae");
    BADST(DSN_E_INVALID, dsn_option_count, &count, NULL);
    BADST(DSN_E_INVALID, dsn_option_count, &count, "no-such-family");
    ck_assert_int_eq(dsn_option_count(&count, "ml-vae"), DSN_OK);
    dsn_option_info oi = DSN_OPTION_INFO_INIT;
    BADST(DSN_E_INVALID, dsn_option_describe, NULL, "ml-vae", 0);
    BADST(DSN_E_INVALID, dsn_option_describe, &oi, NULL, 0);
    BADST(DSN_E_INVALID, dsn_option_describe, &oi, "no-such-family", 0);
    BADST(DSN_E_INVALID, dsn_option_describe, &oi, "ml-vae", count);
    BADST(DSN_E_INVALID, dsn_option_describe, &oi, "ml-vae", (size_t)-1);
    oi.struct_size = 4;
    BADST(DSN_E_INVALID, dsn_option_describe, &oi, "ml-vae", 0);
    ck_assert_ptr_nonnull(CALL(dsn_model_families));
    EXPECT_NULL(CALL(dsn_model_options, NULL));
    dsn_model_info info;
    memset(&info, SENT, sizeof info);
    BADST(DSN_E_INVALID, dsn_model_describe, NULL, &info);
    BADST(DSN_E_INVALID, dsn_model_describe, m, NULL);
    UNTOUCHED(&info, sizeof info);
    info.struct_size = 4; /* below the first version's */
    BADST(DSN_E_INVALID, dsn_model_describe, m, &info);
    dsn_part_info pi;
    memset(&pi, SENT, sizeof pi);
    BADST(DSN_E_INVALID, dsn_model_part, NULL, &pi, 0);
    BADST(DSN_E_INVALID, dsn_model_part, m, NULL, 0);
    BADST(DSN_E_INVALID, dsn_model_part, m, &pi, -1);
    BADST(DSN_E_INVALID, dsn_model_part, m, &pi, 99);
    UNTOUCHED(&pi, sizeof pi);
    pi.struct_size = 2;
    BADST(DSN_E_INVALID, dsn_model_part, m, &pi, 0);

    const char *p = tpath(0, "badargs_model.dsn");
    BAD(dsn_model_save, NULL, NULL, p);
    BAD(dsn_model_save, m, NULL, NULL);
    BAD(dsn_model_save, m, NULL, "");
    BAD(dsn_model_save, m, NULL, "/nonexistent/dir/m.dsn");
    BAD(dsn_model_save, m, NULL, tu_tmpdir()); /* a folder */
    dsn_optimizer *ov = NULL;
    OK(dsn_optimizer_create, &ov, mv, "adam", NULL);
    BADST(DSN_E_INVALID, dsn_model_save, m, ov, p); /* another model's optimizer */
    OK(dsn_model_save, m, NULL, p);
    out = (dsn_model *)1;
    BADST(DSN_E_INVALID, dsn_model_load, NULL, p);
    BAD(dsn_model_load, &out, NULL);
    EXPECT_NULL(out);
    BADST(DSN_E_IO, dsn_model_load, &out, "/nonexistent/m.dsn");
    BADST(DSN_E_IO, dsn_model_load, &out, tu_tmpdir());
    const char *junk = tpath(1, "badargs_junk.dsn");
    FILE *f = fopen(junk, "wb");
    fputs("DSNMODEL but not really", f);
    fclose(f);
    BADST(DSN_E_FORMAT, dsn_model_load, &out, junk);
    EXPECT_NULL(out);

    /* stage, options, stats */
    BAD(dsn_model_set_stage, NULL, "prior");
    BAD(dsn_model_set_stage, mv, NULL);
    BAD(dsn_model_set_stage, mv, "no-such-stage");
    BADST(DSN_E_UNSUPPORTED, dsn_model_set_stage, m, "prior"); /* another family's stage */
    BAD(dsn_model_set_option, NULL, "temperature", "1");
    BAD(dsn_model_set_option, mv, NULL, "1");
    BAD(dsn_model_set_option, mv, "temperature", NULL);
    BADST(DSN_E_OPTION, dsn_model_set_option, mv, "temperature", "-1");
    BADST(DSN_E_OPTION, dsn_model_set_option, mv, "temperature", "1e300");
    BADST(DSN_E_OPTION, dsn_model_set_option, mv, "top_k", "-2");
    BADST(DSN_E_OPTION, dsn_model_set_option, m, "temperature", "1"); /* ml-vae has none */
    const char *names[4];
    double vals[4];
    memset(vals, SENT, sizeof vals);
    size_t cnt = 77;
    BAD(dsn_model_stats, NULL, names, vals, 4, &cnt, NULL);
    BAD(dsn_model_stats, m, NULL, vals, 4, &cnt, NULL);
    BAD(dsn_model_stats, m, names, NULL, 4, &cnt, NULL);
    dsn_dataset *wrong = NULL;
    float xw[2 * 3] = {0};
    size_t sh3[1] = {3};
    OK(dsn_dataset_from_memory, &wrong, xw, 2, sh3, 1, NULL, NULL);
    BADST(DSN_E_SHAPE, dsn_model_stats, m, names, vals, 4, &cnt, wrong); /* 3 floats, the model wants 6 */
    UNTOUCHED(vals, sizeof vals);
    EXPECT_EQ(cnt, 77);
    dsn_dataset_free(wrong);
    dsn_optimizer_free(ov);
}

/* ---- optimizer and training ---- */
static void optimizer_calls(dsn_model *m, dsn_model *mv, dsn_model *ms)
{
    dsn_optimizer *o = (dsn_optimizer *)1;
    BADST(DSN_E_INVALID, dsn_optimizer_create, NULL, m, "adam", NULL);
    BAD(dsn_optimizer_create, &o, NULL, "adam", NULL);
    EXPECT_NULL(o);
    o = (dsn_optimizer *)1;
    BAD(dsn_optimizer_create, &o, m, "no-such-optimizer", NULL);
    EXPECT_NULL(o);
    const char *bad_opts[] = {"lr=-1", "lr=1e30", "lr=nan", "beta1=1", "beta2=2", "eps=0", "momentum=1",
                              "schedule=wavy", "warmup=-1", "unknown=1"};
    for (size_t i = 0; i < sizeof bad_opts / sizeof bad_opts[0]; i++) {
        dsn_options *op = opts(bad_opts[i]);
        o = (dsn_optimizer *)1;
        BADST(DSN_E_OPTION, dsn_optimizer_create, &o, m, "adam", op);
        EXPECT_NULL(o);
        dsn_options_free(op);
    }
    const char *p = tpath(0, "badargs_model.dsn"); /* saved without an optimizer by model_calls */
    o = (dsn_optimizer *)1;
    BADST(DSN_E_INVALID, dsn_optimizer_load, NULL, m, p);
    BAD(dsn_optimizer_load, &o, NULL, p);
    BAD(dsn_optimizer_load, &o, m, NULL);
    BAD(dsn_optimizer_load, &o, m, p); /* no optimizer in the file */
    EXPECT_NULL(o);
    dsn_optimizer *ov = NULL;
    OK(dsn_optimizer_create, &ov, mv, "adam", NULL);
    const char *pv = tpath(2, "badargs_vq.dsn");
    OK(dsn_model_save, mv, ov, pv);
    BAD(dsn_optimizer_load, &o, m, pv); /* a checkpoint of another model */
    EXPECT_NULL(o);
    CALL(dsn_optimizer_free, NULL);
    dsn_optimizer *om = NULL;
    OK(dsn_optimizer_create, &om, m, "adam", NULL);
    BAD(dsn_optimizer_set_lr, NULL, 0.1f);
    BAD(dsn_optimizer_set_lr, om, 0.0f);
    BAD(dsn_optimizer_set_lr, om, -1.0f);
    BAD(dsn_optimizer_set_lr, om, 1e30f);
    EXPECT_EQ(CALL(dsn_optimizer_steps, NULL), 0);

    /* dsn_train_step */
    float x[4 * 6], loss = 12345.0f;
    for (int i = 0; i < 24; i++) x[i] = (float)(i % 3) / 3.0f;
    size_t np = host_info(m).num_params;
    BAD(dsn_train_step, NULL, om, &loss, x, 4, NULL);
    BAD(dsn_train_step, m, NULL, &loss, x, 4, NULL);
    BAD(dsn_train_step, m, om, &loss, NULL, 4, NULL);
    BADST(DSN_E_SHAPE, dsn_train_step, m, om, &loss, x, 0, NULL);
    BADST(DSN_E_SHAPE, dsn_train_step, m, om, &loss, x, HUGE_N, NULL);
    BADST(DSN_E_INVALID, dsn_train_step, m, ov, &loss, x, 4, NULL); /* another model's optimizer */
    float mask[4 * 6] = {0};
    dsn_batch_args ba = DSN_BATCH_ARGS_INIT;
    ba.mask = mask;
    BADST(DSN_E_INVALID, dsn_train_step, m, om, &loss, x, 4, &ba); /* a mask on ML-VAE */
    ba.mask = NULL;
    ba.part = "style";
    BADST(DSN_E_INVALID, dsn_train_step, m, om, &loss, x, 4, &ba); /* part: encode only */
    ba.part = NULL;
    ba.struct_size = 3;
    BADST(DSN_E_INVALID, dsn_train_step, m, om, &loss, x, 4, &ba);
    x[7] = NAN;
    BADST(DSN_E_NUMERIC, dsn_train_step, m, om, &loss, x, 4, NULL);
    x[7] = 0.0f;
    if (loss != 12345.0f) finding(__LINE__, "loss written by a failed step%s%s", "", "");
    EXPECT_EQ(dsn_optimizer_steps(om), 0);
    EXPECT_EQ(host_info(m).num_params, np);
    const char *tn[4];
    float tv[4];
    EXPECT_EQ(CALL(dsn_train_terms, NULL, tn, tv, 4), 0);
    ck_assert_int_ge(CALL(dsn_train_terms, m, NULL, NULL, 0), 0);
    ck_assert_int_ge(CALL(dsn_train_terms, m, tn, tv, -1), 0);

    /* a sequence model: mask values out of [0, 1], a frame count that does not fit */
    dsn_optimizer *os = NULL;
    OK(dsn_optimizer_create, &os, ms, "adam", NULL);
    size_t ds_ = host_info(ms).obs_size;
    float *xs = calloc(2 * ds_, sizeof *xs), ms_mask[2 * 6];
    for (int i = 0; i < 12; i++) ms_mask[i] = 1.0f;
    ms_mask[3] = 2.0f;
    dsn_batch_args sa = DSN_BATCH_ARGS_INIT;
    sa.mask = ms_mask;
    BADST(DSN_E_INVALID, dsn_train_step, ms, os, NULL, xs, 2, &sa);
    ms_mask[3] = -0.5f;
    BADST(DSN_E_INVALID, dsn_train_step, ms, os, NULL, xs, 2, &sa);
    free(xs);
    dsn_optimizer_free(os);
    dsn_optimizer_free(ov);
    dsn_optimizer_free(om);
}

/* ---- sessions and encodings ---- */
static void inference_calls(dsn_model *m, dsn_model *mv, dsn_model *ms)
{
    dsn_session *s = (dsn_session *)1;
    BADST(DSN_E_INVALID, dsn_session_create, NULL, m, 4);
    BAD(dsn_session_create, &s, NULL, 4);
    EXPECT_NULL(s);
    s = (dsn_session *)1;
    BAD(dsn_session_create, &s, m, 0);
    BAD(dsn_session_create, &s, m, HUGE_N);
    EXPECT_NULL(s);
    CALL(dsn_session_free, NULL);
    dsn_encoding *e = (dsn_encoding *)1;
    BADST(DSN_E_INVALID, dsn_encoding_create, NULL, m, 4);
    BAD(dsn_encoding_create, &e, NULL, 4);
    BAD(dsn_encoding_create, &e, m, 0);
    BAD(dsn_encoding_create, &e, m, HUGE_N);
    EXPECT_NULL(e);
    CALL(dsn_encoding_free, NULL);

    OK(dsn_session_create, &s, m, 4);
    OK(dsn_encoding_create, &e, m, 4);
    dsn_session *sv = NULL;
    dsn_encoding *ev = NULL, *e2 = NULL, *es = NULL;
    OK(dsn_session_create, &sv, mv, 2);
    OK(dsn_encoding_create, &ev, mv, 2);
    OK(dsn_encoding_create, &e2, m, 2);
    OK(dsn_encoding_create, &es, ms, 2);
    float x[4 * 6] = {0};
    int32_t g[4] = {1, 1, 2, 2};
    dsn_batch_args a = DSN_BATCH_ARGS_INIT;
    a.groups = g;
    BAD(dsn_encode, NULL, e, x, 4, &a);
    BAD(dsn_encode, s, NULL, x, 4, &a);
    BAD(dsn_encode, s, e, NULL, 4, &a);
    BADST(DSN_E_SHAPE, dsn_encode, s, e, x, 0, &a);
    BADST(DSN_E_SHAPE, dsn_encode, s, e, x, 5, &a);      /* more than the session holds */
    BADST(DSN_E_SHAPE, dsn_encode, s, e, x, HUGE_N, &a); /* overflow */
    BAD(dsn_encode, s, ev, x, 4, &a);                    /* another model's encoding */
    x[2] = INFINITY;
    BADST(DSN_E_NUMERIC, dsn_encode, s, e, x, 4, &a);
    x[2] = 0.0f;
    float mask[4 * 6] = {0};
    a.mask = mask;
    BADST(DSN_E_INVALID, dsn_encode, s, e, x, 4, &a); /* a mask on ML-VAE */
    a.mask = NULL;
    a.part = "no-such-part";
    BAD(dsn_encode, s, e, x, 4, &a);
    a.part = "codes"; /* VQ-VAE's part on ML-VAE */
    BAD(dsn_encode, s, e, x, 4, &a);
    a.part = NULL;
    a.struct_size = 1;
    BADST(DSN_E_INVALID, dsn_encode, s, e, x, 4, &a);
    a.struct_size = sizeof a;
    size_t ni = 77, ng = 77;
    OK(dsn_encoding_groups, e, NULL, 0, &ni, &ng);
    EXPECT_EQ(ni, 0); /* still empty */
    /* decode and friends on an empty encoding, then on a filled one */
    float out[4 * 6];
    memset(out, SENT, sizeof out);
    BAD(dsn_decode, NULL, out, 24, e);
    BAD(dsn_decode, s, out, 24, NULL);
    BAD(dsn_decode, s, NULL, 24, e);
    BAD(dsn_decode, s, out, 24, e); /* nothing encoded yet */
    OK(dsn_encode, s, e, x, 4, &a);
    BADST(DSN_E_SHAPE, dsn_decode, s, out, 23, e); /* one float short */
    BAD(dsn_decode, sv, out, 24, e);               /* another model's session */
    UNTOUCHED(out, sizeof out);
    int32_t gr[4];
    memset(gr, SENT, sizeof gr);
    BAD(dsn_encoding_groups, NULL, gr, 4, &ni, &ng);
    BADST(DSN_E_SHAPE, dsn_encoding_groups, e, gr, 3, &ni, &ng);
    UNTOUCHED(gr, sizeof gr);
    OK(dsn_encode, s, e2, x, 2, &a);
    BAD(dsn_swap, NULL, e, "style");
    BAD(dsn_swap, e, NULL, "style");
    BAD(dsn_swap, e, e2, NULL);
    BAD(dsn_swap, e, e2, "no-such-part");
    BAD(dsn_swap, e, e2, "content"); /* 2 groups vs 1 */
    BAD(dsn_swap, e, ev, "codes");   /* another family */
    BAD(dsn_encoding_copy_item, NULL, 0, e2, 0, "style");
    BAD(dsn_encoding_copy_item, e, 0, NULL, 0, "style");
    BAD(dsn_encoding_copy_item, e, 0, e2, 0, NULL);
    BAD(dsn_encoding_copy_item, e, 4, e2, 0, "style");      /* item out of range */
    BAD(dsn_encoding_copy_item, e, 0, e2, HUGE_N, "style"); /* item out of range */
    BAD(dsn_encoding_copy_item, e, 0, e2, 0, "nope");
    BAD(dsn_encoding_copy_item, e, 0, ev, 0, "codes");
    BAD(dsn_encoding_prepare, NULL, 2, NULL);
    BAD(dsn_encoding_prepare, e, 0, NULL);
    BAD(dsn_encoding_prepare, e, 5, NULL);
    BAD(dsn_encoding_prepare, e, HUGE_N, NULL);
    BAD(dsn_sample, NULL, e, "style", 1);
    BAD(dsn_sample, s, NULL, "style", 1);
    BAD(dsn_sample, s, e, "nope", 1);
    BAD(dsn_sample, sv, e, "style", 1); /* another model's session */
    float buf[64];
    size_t rows = 99, dim = 99;
    memset(buf, SENT, sizeof buf);
    BAD(dsn_encoding_get, NULL, buf, 64, &rows, &dim, "style", "mean");
    BAD(dsn_encoding_get, e, buf, 64, &rows, &dim, NULL, "mean");
    BAD(dsn_encoding_get, e, buf, 64, &rows, &dim, "nope", "mean");
    BAD(dsn_encoding_get, e, buf, 64, &rows, &dim, "style", "no-such-field");
    BADST(DSN_E_SHAPE, dsn_encoding_get, e, buf, 1, &rows, &dim, "style", "mean");
    UNTOUCHED(buf, sizeof buf);
    BAD(dsn_encoding_set, NULL, "style", "mean", buf, 4);
    BAD(dsn_encoding_set, e, NULL, "mean", buf, 4);
    BAD(dsn_encoding_set, e, "style", "mean", NULL, 4);
    BAD(dsn_encoding_set, e, "style", "mean", buf, 3); /* rows must match */
    BAD(dsn_encoding_set, e, "style", "mean", buf, HUGE_N);
    BAD(dsn_encoding_set, e, "nope", "mean", buf, 4);
    float nanrow[8];
    for (int i = 0; i < 8; i++) nanrow[i] = NAN;
    BAD(dsn_encoding_set, e, "style", "mean", nanrow, 4);
    /* codes: only VQ-VAE has them */
    int32_t codes[64];
    memset(codes, SENT, sizeof codes);
    BAD(dsn_encoding_get_codes, NULL, codes, 64, &rows, "codes");
    BAD(dsn_encoding_get_codes, e, codes, 64, &rows, "style"); /* a part without codes */
    BAD(dsn_encoding_get_codes, ev, codes, 64, &rows, NULL);
    BAD(dsn_encoding_get_codes, ev, codes, 64, &rows, "nope");
    float xv[2 * 16] = {0};
    OK(dsn_encode, sv, ev, xv, 2, NULL);
    BADST(DSN_E_SHAPE, dsn_encoding_get_codes, ev, codes, 1, &rows, "codes");
    UNTOUCHED(codes, sizeof codes);
    int32_t badc[64];
    for (int i = 0; i < 64; i++) badc[i] = 4; /* K = 4: out of range */
    BAD(dsn_encoding_set_codes, NULL, "codes", badc, 32);
    BAD(dsn_encoding_set_codes, ev, NULL, badc, 32);
    BAD(dsn_encoding_set_codes, ev, "codes", NULL, 32);
    BAD(dsn_encoding_set_codes, e, "style", badc, 4);
    BAD(dsn_encoding_set_codes, ev, "codes", badc, rows); /* out of range */
    badc[0] = -1;
    BAD(dsn_encoding_set_codes, ev, "codes", badc, rows);
    BAD(dsn_encoding_set_codes, ev, "codes", codes, rows + 1); /* rows must match */
    dsn_encoding_free(es);
    dsn_encoding_free(e2);
    dsn_encoding_free(ev);
    dsn_session_free(sv);
    dsn_encoding_free(e);
    dsn_session_free(s);
}

/* ---- timbre banks and streams (sequence models) ---- */
static void stream_calls(dsn_model *m, dsn_model *mv, dsn_model *ms)
{
    float v[2] = {0.5f, -0.5f}, vbad[2] = {NAN, 0};
    BAD(dsn_model_bank_add, NULL, "a", v, 2, NULL);
    BAD(dsn_model_bank_add, ms, NULL, v, 2, NULL);
    BAD(dsn_model_bank_add, ms, "a", NULL, 2, NULL);
    BAD(dsn_model_bank_add, ms, "a", v, 1, NULL);   /* wrong size */
    BAD(dsn_model_bank_add, ms, "", v, 2, NULL);
    BAD(dsn_model_bank_add, ms, "a", vbad, 2, NULL);
    BADST(DSN_E_UNSUPPORTED, dsn_model_bank_add, mv, "a", v, 2, NULL); /* VQ-VAE has no static latent */
    BAD(dsn_model_bank_remove, NULL, "a");
    BAD(dsn_model_bank_remove, ms, NULL);
    BAD(dsn_model_bank_remove, ms, "absent");
    EXPECT_EQ(CALL(dsn_model_bank_count, NULL), 0);
    EXPECT_EQ(CALL(dsn_model_bank_count, ms), 0);
    ck_assert_ptr_null(CALL(dsn_model_bank_name, NULL, 0));
    ck_assert_ptr_null(CALL(dsn_model_bank_name, ms, 0));
    size_t idx = 77;
    BAD(dsn_model_bank_find, NULL, &idx, "a");
    BAD(dsn_model_bank_find, ms, NULL, "a");
    BAD(dsn_model_bank_find, ms, &idx, NULL);
    BAD(dsn_model_bank_find, ms, &idx, "absent");
    EXPECT_EQ(idx, 77);
    float got[4];
    memset(got, SENT, sizeof got);
    BAD(dsn_model_bank_get, NULL, got, 2, 0);
    BAD(dsn_model_bank_get, ms, NULL, 2, 0);
    BAD(dsn_model_bank_get, ms, got, 2, 0); /* empty bank */
    OK(dsn_model_bank_add, ms, "a", v, 2, NULL);
    BADST(DSN_E_SHAPE, dsn_model_bank_get, ms, got, 1, 0);
    BAD(dsn_model_bank_get, ms, got, 2, 5);
    UNTOUCHED(got, sizeof got);
    ck_assert_ptr_null(CALL(dsn_model_bank_audio, NULL));
    CALL(dsn_model_bank_audio, ms);

    /* a model's audio front end */
    ck_assert_ptr_null(CALL(dsn_model_audio, NULL));
    ck_assert_ptr_null(CALL(dsn_model_audio, ms));
    BAD(dsn_model_set_audio, NULL, NULL);
    dsn_options *fe = opts("n_fft=1023");
    BADST(DSN_E_OPTION, dsn_model_set_audio, ms, fe); /* odd */
    dsn_options_free(fe);
    fe = opts("fmax=9000");
    BADST(DSN_E_OPTION, dsn_model_set_audio, ms, fe); /* above Nyquist */
    dsn_options_free(fe);
    fe = opts("n_mels=7");
    BADST(DSN_E_SHAPE, dsn_model_set_audio, ms, fe); /* not the frame size */
    dsn_options_free(fe);
    fe = opts("frames=3");
    BADST(DSN_E_SHAPE, dsn_model_set_audio, ms, fe);
    dsn_options_free(fe);
    fe = opts("no_such_key=1");
    BADST(DSN_E_OPTION, dsn_model_set_audio, ms, fe);
    dsn_options_free(fe);
    fe = opts("power=3");
    BADST(DSN_E_OPTION, dsn_model_set_audio, ms, fe); /* out of bounds */
    dsn_options_free(fe);
    BADST(DSN_E_UNSUPPORTED, dsn_model_set_audio, m, NULL); /* ML-VAE: not sequences */
    ck_assert_ptr_null(CALL(dsn_model_audio, ms)); /* failed calls set nothing */

    dsn_stream *st = (dsn_stream *)1;
    BADST(DSN_E_INVALID, dsn_stream_create, NULL, ms, 16000, 256, v, 2, NULL);
    BAD(dsn_stream_create, &st, NULL, 16000, 256, v, 2, NULL);
    EXPECT_NULL(st);
    st = (dsn_stream *)1;
    BAD(dsn_stream_create, &st, ms, 0, 256, v, 2, NULL);
    BAD(dsn_stream_create, &st, ms, -16000, 256, v, 2, NULL);
    BAD(dsn_stream_create, &st, ms, 16000, 0, v, 2, NULL);
    BAD(dsn_stream_create, &st, ms, 16000, HUGE_N, v, 2, NULL);
    BAD(dsn_stream_create, &st, ms, 16000, 256, v, 1, NULL); /* target of the wrong size */
    BAD(dsn_stream_create, &st, ms, 16000, 256, vbad, 2, NULL);
    BAD(dsn_stream_create, &st, m, 16000, 256, v, 2, NULL); /* ML-VAE cannot stream */
    dsn_options *so = opts("no_such_stream_option=1");
    BADST(DSN_E_OPTION, dsn_stream_create, &st, ms, 16000, 256, v, 2, so);
    dsn_options_free(so);
    EXPECT_NULL(st);
    CALL(dsn_stream_free, NULL);
    EXPECT_EQ(CALL(dsn_stream_latency, NULL), 0);
    EXPECT_EQ(CALL(dsn_stream_max_block, NULL), 0);
    CALL(dsn_stream_reset, NULL);
    EXPECT_EQ(CALL(dsn_stream_counter, NULL, "blocks"), 0);
    so = opts("n_fft=64, hop_length=16, n_mels=4");
    OK(dsn_stream_create, &st, ms, 16000, 64, v, 2, so);
    dsn_options_free(so);
    float in[128] = {0}, out[128];
    memset(out, SENT, sizeof out);
    BAD(dsn_stream_process, NULL, out, in, 64);
    BAD(dsn_stream_process, st, NULL, in, 64);
    BAD(dsn_stream_process, st, out, NULL, 64);
    BAD(dsn_stream_process, st, out, in, 65); /* more than max_block */
    UNTOUCHED(out, sizeof out);
    BAD(dsn_stream_set_target, NULL, v, 2);
    BAD(dsn_stream_set_target, st, NULL, 2);
    BAD(dsn_stream_set_target, st, v, 3);
    BAD(dsn_stream_set_target, st, vbad, 2);
    BAD(dsn_stream_set_timbre, NULL, 0, 0, 0.5f);
    BAD(dsn_stream_set_timbre, st, 0, 9, 0.5f); /* no such bank entry */
    BAD(dsn_stream_set_timbre, st, 0, 0, 2.0f);
    BAD(dsn_stream_set_timbre, st, 0, 0, NAN);
    BAD(dsn_stream_set_mix, NULL, 0.5f);
    BAD(dsn_stream_set_mix, st, -0.1f);
    BAD(dsn_stream_set_mix, st, 1.5f);
    BAD(dsn_stream_set_mix, st, NAN);
    EXPECT_EQ(CALL(dsn_stream_counter, st, NULL), 0);
    EXPECT_EQ(CALL(dsn_stream_counter, st, "no-such-counter"), 0);
    CALL(dsn_stream_reset, st);
    ck_assert_uint_gt(CALL(dsn_stream_max_block, st), 0);
    CALL(dsn_stream_latency, st);
    dsn_stream_free(st);
    OK(dsn_model_bank_remove, ms, "a");
}

/* ---- datasets and dsn_fit ---- */
static void dataset_calls(dsn_model *m)
{
    float x[8 * 6] = {0};
    size_t sh[1] = {6}, sh2[2] = {3, 2}, sh0[1] = {0};
    int32_t lab[8] = {0, 0, 1, 1, 2, 2, 3, 3}, neg[8] = {0, -1, 0, 0, 0, 0, 0, 0};
    float badmask[8 * 3];
    for (int i = 0; i < 24; i++) badmask[i] = 1.0f;
    badmask[5] = 3.0f;
    dsn_dataset *d = (dsn_dataset *)1;
    BADST(DSN_E_INVALID, dsn_dataset_from_memory, NULL, x, 8, sh, 1, lab, NULL);
    BAD(dsn_dataset_from_memory, &d, NULL, 8, sh, 1, lab, NULL);
    BAD(dsn_dataset_from_memory, &d, x, 8, NULL, 1, lab, NULL);
    BAD(dsn_dataset_from_memory, &d, x, 0, sh, 1, lab, NULL);
    BAD(dsn_dataset_from_memory, &d, x, HUGE_N, sh, 1, lab, NULL);
    BAD(dsn_dataset_from_memory, &d, x, 8, sh, 0, lab, NULL);
    BAD(dsn_dataset_from_memory, &d, x, 8, sh, 9, lab, NULL);
    BAD(dsn_dataset_from_memory, &d, x, 8, sh0, 1, lab, NULL);
    BAD(dsn_dataset_from_memory, &d, x, 8, sh, 1, neg, NULL);
    BAD(dsn_dataset_from_memory, &d, x, 8, sh2, 2, lab, badmask);
    x[3] = NAN;
    BADST(DSN_E_NUMERIC, dsn_dataset_from_memory, &d, x, 8, sh, 1, lab, NULL);
    x[3] = 0.0f;
    EXPECT_NULL(d);
    BAD(dsn_dataset_from_idx, &d, NULL, NULL);
    BAD(dsn_dataset_from_idx, NULL, "a", "b");
    BAD(dsn_dataset_from_idx, &d, "/nonexistent/images", "/nonexistent/labels");
    BAD(dsn_dataset_from_mnist, &d, NULL, 0);
    BAD(dsn_dataset_from_mnist, NULL, "x", 0);
    BAD(dsn_dataset_from_mnist, &d, "/nonexistent", 0);
    BAD(dsn_dataset_from_npy, &d, NULL, NULL);
    BAD(dsn_dataset_from_npy, NULL, "x.npy", NULL);
    BAD(dsn_dataset_from_npy, &d, "/nonexistent/x.npy", NULL);
    BAD(dsn_dataset_from_audio, &d, NULL, NULL);
    BAD(dsn_dataset_from_audio, NULL, tu_tmpdir(), NULL);
    BAD(dsn_dataset_from_audio, &d, "/nonexistent/folder", NULL);
    dsn_options *ao = opts("frames=-1");
    BADST(DSN_E_OPTION, dsn_dataset_from_audio, &d, tu_tmpdir(), ao);
    dsn_options_free(ao);
    BAD(dsn_dataset_load_audio, &d, NULL, NULL);
    BAD(dsn_dataset_load_audio, NULL, "x", NULL);
    BAD(dsn_dataset_load_audio, &d, "/nonexistent/set.dsa", NULL);
    EXPECT_NULL(d);
    ao = opts("bad_clips=maybe");
    BADST(DSN_E_OPTION, dsn_dataset_from_audio, &d, tu_tmpdir(), ao);
    dsn_options_free(ao);
    ao = opts("window=kaiser");
    BADST(DSN_E_OPTION, dsn_dataset_from_audio, &d, tu_tmpdir(), ao);
    dsn_options_free(ao);
    ao = opts("fmin=9000, fmax=8000");
    BADST(DSN_E_OPTION, dsn_dataset_from_audio, &d, tu_tmpdir(), ao);
    dsn_options_free(ao);
    EXPECT_NULL(d);
    ck_assert_ptr_null(CALL(dsn_dataset_audio, NULL));
    EXPECT_EQ(CALL(dsn_dataset_counter, NULL, "clips"), 0);

    OK(dsn_dataset_from_memory, &d, x, 8, sh, 1, lab, NULL);
    ck_assert_ptr_null(CALL(dsn_dataset_audio, d)); /* not from audio */
    EXPECT_EQ(CALL(dsn_dataset_counter, d, "clips"), 0);
    EXPECT_EQ(CALL(dsn_dataset_counter, d, NULL), 0);
    dsn_dataset *tr = (dsn_dataset *)1, *va = (dsn_dataset *)1;
    BAD(dsn_dataset_split, NULL, &tr, &va, 0.5, 1, 0);
    BAD(dsn_dataset_split, d, NULL, &va, 0.5, 1, 0);
    BAD(dsn_dataset_split, d, &tr, NULL, 0.5, 1, 0);
    BAD(dsn_dataset_split, d, &tr, &va, -0.1, 1, 0);
    BAD(dsn_dataset_split, d, &tr, &va, 1.0, 1, 0);
    BAD(dsn_dataset_split, d, &tr, &va, NAN, 1, 0);
    EXPECT_NULL(tr);
    EXPECT_NULL(va);
    int32_t want[2] = {1, 2};
    BAD(dsn_dataset_select_labels, NULL, &tr, &va, want, 2);
    BAD(dsn_dataset_select_labels, d, &tr, &va, NULL, 2);
    BAD(dsn_dataset_select_labels, d, &tr, &va, want, HUGE_N);
    tr = (dsn_dataset *)1;
    BAD(dsn_dataset_shard, NULL, &tr, NULL, NULL, 0, 1);
    EXPECT_NULL(tr);
    BAD(dsn_dataset_shard, d, NULL, NULL, NULL, 0, 1);
    BAD(dsn_dataset_shard, d, &tr, NULL, NULL, 0, 1);
    EXPECT_NULL(tr);
    EXPECT_EQ(CALL(dsn_dataset_shard_size, NULL, NULL, NULL, 0, 1), 0);
    EXPECT_EQ(CALL(dsn_dataset_shard_size, d, NULL, NULL, 0, 1), 0);
    dsn_shard_split sp = DSN_SHARD_SPLIT_INIT;
    BAD(dsn_dataset_from_npy_shard, NULL, NULL, "x.npy", NULL, NULL, NULL, 0, 1, NULL);
    BAD(dsn_dataset_from_npy_shard, &tr, NULL, NULL, NULL, NULL, NULL, 0, 1, NULL);
    BAD(dsn_dataset_from_npy_shard, &tr, NULL, "x.npy", NULL, NULL, NULL, 0, 1, NULL);
    EXPECT_NULL(tr);
    sp.valid_fraction = 0.5; /* a split with nowhere to put the validation part */
    BAD(dsn_dataset_from_npy_shard, &tr, NULL, "x.npy", NULL, NULL, NULL, 0, 1, &sp);
    sp.valid_fraction = 1.0;
    BAD(dsn_dataset_from_npy_shard, &tr, &va, "x.npy", NULL, NULL, NULL, 0, 1, &sp);
    EXPECT_NULL(va);
    sp.valid_fraction = 0.5;
    sp.struct_size = 4;
    BAD(dsn_dataset_from_mnist_shard, &tr, &va, "dir", 0, NULL, NULL, 0, 1, &sp);
    BAD(dsn_dataset_from_mnist_shard, NULL, NULL, "dir", 0, NULL, NULL, 0, 1, NULL);
    BAD(dsn_dataset_from_mnist_shard, &tr, NULL, NULL, 0, NULL, NULL, 0, 1, NULL);
    BAD(dsn_dataset_from_mnist_shard, &tr, NULL, "dir", 0, NULL, NULL, 0, 1, NULL);
    EXPECT_NULL(tr);
    BAD(dsn_dataset_mark_shard, NULL, 0, 1, 8, 0, 0);
    BAD(dsn_dataset_mark_shard, d, 1, 1, 8, 0, 0);
    BAD(dsn_dataset_mark_shard, d, 0, 1, 7, 8, 0); /* fewer rows than it holds */
    size_t tg = 99;
    EXPECT_EQ(CALL(dsn_dataset_total, NULL, &tg), 0);
    EXPECT_EQ(tg, 0);
    EXPECT_EQ(CALL(dsn_dataset_total, d, NULL), 8);
    CALL(dsn_dataset_free, NULL);
    dsn_dataset_info di;
    memset(&di, SENT, sizeof di);
    BADST(DSN_E_INVALID, dsn_dataset_describe, NULL, &di);
    BADST(DSN_E_INVALID, dsn_dataset_describe, d, NULL);
    UNTOUCHED(&di, sizeof di);
    di.struct_size = 4;
    BADST(DSN_E_INVALID, dsn_dataset_describe, d, &di);
    float row[8];
    int32_t l = 77;
    memset(row, SENT, sizeof row);
    BAD(dsn_dataset_get, NULL, row, 6, &l, 0);
    BAD(dsn_dataset_get, d, row, 6, &l, 8);      /* index out of range */
    BAD(dsn_dataset_get, d, row, 6, &l, HUGE_N); /* index out of range */
    BADST(DSN_E_SHAPE, dsn_dataset_get, d, row, 5, &l, 0);
    UNTOUCHED(row, sizeof row);
    EXPECT_EQ(l, 77);

    const char *fd = CALL(dsn_fit_defaults, NULL);
    if (!fd || fd[0]) finding(__LINE__, "dsn_fit_defaults(NULL) is not \"\"%s%s", "", "");
    ck_assert_ptr_nonnull(CALL(dsn_fit_defaults, m));
    dsn_optimizer *om = NULL;
    OK(dsn_optimizer_create, &om, m, "adam", NULL);
    BAD(dsn_fit, NULL, om, d, NULL, NULL, NULL, NULL);
    BAD(dsn_fit, m, NULL, d, NULL, NULL, NULL, NULL);
    BAD(dsn_fit, m, om, NULL, NULL, NULL, NULL, NULL);
    const char *bad_fit[] = {"epochs=0", "batch_size=0", "patience=-1", "checkpoint_every=0", "max_skipped_steps=-1",
                             "no_such_key=1", "steps_per_epoch=-1", "log_every=0"};
    for (size_t i = 0; i < sizeof bad_fit / sizeof bad_fit[0]; i++) {
        dsn_options *fo = opts(bad_fit[i]);
        BAD(dsn_fit, m, om, d, NULL, fo, NULL, NULL);
        dsn_options_free(fo);
    }
    dsn_dataset *wrong = NULL;
    OK(dsn_dataset_from_memory, &wrong, x, 8, sh2, 2, NULL, NULL); /* [3, 2]: 6 floats, but a sequence */
    float x5[8 * 5] = {0};
    size_t sh5[1] = {5};
    dsn_dataset *five = NULL;
    OK(dsn_dataset_from_memory, &five, x5, 8, sh5, 1, NULL, NULL);
    BADST(DSN_E_SHAPE, dsn_fit, m, om, five, NULL, NULL, NULL, NULL);
    BADST(DSN_E_SHAPE, dsn_fit, m, om, d, five, NULL, NULL, NULL);
    dsn_dataset_free(five);
    dsn_dataset_free(wrong);
    if (dsn_optimizer_steps(om) != 0) finding(__LINE__, "a refused dsn_fit trained%s%s", "", "");
    /* a checkpoint that cannot be written: found when the first epoch ends */
    dsn_options *fo = opts("epochs=1, checkpoint=/nonexistent/dir/ck.dsn");
    BADST(DSN_E_IO, dsn_fit, m, om, d, NULL, fo, NULL, NULL);
    if (!strstr(dsn_last_error(), "/nonexistent/dir/ck.dsn")) finding(__LINE__, "%s%s", "the message does not name the checkpoint", "");
    dsn_options_free(fo);
    dsn_optimizer_free(om);
    dsn_dataset_free(d);
}

/* ---- classifiers and metrics ---- */
static void eval_calls(dsn_model *ms)
{
    dsn_classifier *c = (dsn_classifier *)1;
    BADST(DSN_E_INVALID, dsn_classifier_create, NULL, "logreg", NULL);
    BAD(dsn_classifier_create, &c, "no-such-classifier", NULL);
    dsn_options *co = opts("no_such_key=1");
    BAD(dsn_classifier_create, &c, "logreg", co);
    BAD(dsn_classifier_create, &c, NULL, NULL);
    dsn_options_free(co);
    EXPECT_NULL(c);
    CALL(dsn_classifier_free, NULL);
    OK(dsn_classifier_create, &c, "logreg", NULL);
    float x[8 * 2] = {0, 0, 1, 1, 0, 1, 1, 0, 2, 2, 3, 3, 2, 3, 3, 2};
    int32_t y[8] = {0, 0, 0, 0, 1, 1, 1, 1}, one[8] = {0};
    BAD(dsn_classifier_fit, NULL, x, 8, 2, y);
    BAD(dsn_classifier_fit, c, NULL, 8, 2, y);
    BAD(dsn_classifier_fit, c, x, 8, 2, NULL);
    BAD(dsn_classifier_fit, c, x, 0, 2, y);
    BAD(dsn_classifier_fit, c, x, 8, 0, y);
    BAD(dsn_classifier_fit, c, x, HUGE_N, 2, y);
    BAD(dsn_classifier_fit, c, x, 8, HUGE_N, y);
    BAD(dsn_classifier_fit, c, x, 8, 2, one); /* a single class */
    int32_t pred[8];
    memset(pred, SENT, sizeof pred);
    BAD(dsn_classifier_predict, c, pred, x, 8, 2); /* not fitted */
    UNTOUCHED(pred, sizeof pred);
    int it = 77, conv = 77;
    double val = 77;
    BAD(dsn_classifier_report, NULL, &it, &conv, &val);
    BAD(dsn_classifier_report, c, &it, &conv, &val); /* not fitted */
    EXPECT_EQ(it, 77);
    OK(dsn_classifier_fit, c, x, 8, 2, y);
    BAD(dsn_classifier_predict, NULL, pred, x, 8, 2);
    BAD(dsn_classifier_predict, c, NULL, x, 8, 2);
    BAD(dsn_classifier_predict, c, pred, NULL, 8, 2);
    BAD(dsn_classifier_predict, c, pred, x, 8, 3); /* another dimension */
    BAD(dsn_classifier_predict, c, pred, x, HUGE_N, 2);
    float sc[16];
    memset(sc, SENT, sizeof sc);
    BAD(dsn_classifier_scores, NULL, sc, 16, x, 8, 2);
    BAD(dsn_classifier_scores, c, NULL, 16, x, 8, 2);
    BADST(DSN_E_SHAPE, dsn_classifier_scores, c, sc, 15, x, 8, 2);
    BAD(dsn_classifier_scores, c, sc, 16, x, 8, 3);
    UNTOUCHED(sc, sizeof sc);
    UNTOUCHED(pred, sizeof pred);
    int32_t cls[4];
    EXPECT_EQ(CALL(dsn_classifier_classes, NULL, cls, 4), 0);
    EXPECT_EQ(CALL(dsn_classifier_classes, c, NULL, 0), 2);
    dsn_classifier_free(c);

    double r = 77;
    int32_t t[4] = {0, 1, 2, 3}, p[4] = {0, 1, 2, -1};
    BAD(dsn_accuracy, NULL, t, t, 4);
    BAD(dsn_accuracy, &r, NULL, t, 4);
    BAD(dsn_accuracy, &r, t, NULL, 4);
    BAD(dsn_macro_f1, NULL, t, t, 4);
    BAD(dsn_macro_f1, &r, NULL, t, 4);
    if (r != 77) finding(__LINE__, "a failed metric wrote its output%s%s", "", "");
    uint64_t cm[16];
    memset(cm, SENT, sizeof cm);
    BAD(dsn_confusion_matrix, NULL, 16, t, t, 4, 4);
    BAD(dsn_confusion_matrix, cm, 16, NULL, t, 4, 4);
    BADST(DSN_E_SHAPE, dsn_confusion_matrix, cm, 15, t, t, 4, 4);
    BAD(dsn_confusion_matrix, cm, 16, t, t, 4, 0);
    UNTOUCHED(cm, sizeof cm);
    BAD(dsn_confusion_matrix, cm, 16, t, t, 4, 3); /* label 3 >= n_classes (counts then undefined) */
    BAD(dsn_confusion_matrix, cm, 16, t, p, 4, 4);
    double scores[8];
    memset(scores, SENT, sizeof scores);
    float lat[8 * 2] = {0}, fac[8] = {0};
    BAD(dsn_factor_metrics, NULL, 8, "mig", lat, 8, 2, fac, 1, NULL);
    BAD(dsn_factor_metrics, scores, 8, "mig", NULL, 8, 2, fac, 1, NULL);
    BAD(dsn_factor_metrics, scores, 8, "mig", lat, 8, 2, NULL, 1, NULL);
    BAD(dsn_factor_metrics, scores, 8, "no-such-metric", lat, 8, 2, fac, 1, NULL);
    BAD(dsn_factor_metrics, scores, 8, "mig", lat, 0, 2, fac, 1, NULL);
    BAD(dsn_factor_metrics, scores, 8, "mig", lat, 8, 0, fac, 1, NULL);
    BAD(dsn_factor_metrics, scores, 8, "mig", lat, HUGE_N, 2, fac, 1, NULL);
    BAD(dsn_factor_metrics, scores, 8, "mig", lat, 8, HUGE_N, fac, 1, NULL);
    BAD(dsn_factor_metrics, scores, 0, "mig", lat, 8, 2, fac, 1, NULL);
    lat[3] = NAN;
    BADST(DSN_E_NUMERIC, dsn_factor_metrics, scores, 8, "mig", lat, 8, 2, fac, 1, NULL);
    UNTOUCHED(scores, sizeof scores);
    double acc = 77, chroma = 77;
    size_t nv = 77;
    float est[4] = {440, 0, 220, 110}, ref[4] = {69, 0, 57, 45};
    BAD(dsn_raw_pitch_accuracy, NULL, &chroma, &nv, est, ref, 4, DSN_PITCH_MIDI, 50);
    BAD(dsn_raw_pitch_accuracy, &acc, &chroma, &nv, NULL, ref, 4, DSN_PITCH_MIDI, 50);
    BAD(dsn_raw_pitch_accuracy, &acc, &chroma, &nv, est, NULL, 4, DSN_PITCH_MIDI, 50);
    BAD(dsn_raw_pitch_accuracy, &acc, &chroma, &nv, est, ref, 4, DSN_PITCH_MIDI, -1);
    BAD(dsn_raw_pitch_accuracy, &acc, &chroma, &nv, est, ref, 4, DSN_PITCH_MIDI, NAN);
    BAD(dsn_raw_pitch_accuracy, &acc, &chroma, &nv, est, ref, 4, (dsn_pitch_unit)99, 50);
    if (acc != 77 || nv != 77) finding(__LINE__, "a failed pitch accuracy wrote its outputs%s%s", "", "");
    float f0[64], sig[1024] = {0};
    size_t nf = 77;
    memset(f0, SENT, sizeof f0);
    BAD(dsn_pitch_track, f0, 64, &nf, NULL, 1024, 16000, NULL);
    BAD(dsn_pitch_track, f0, 64, &nf, sig, 1024, 0, NULL);
    BAD(dsn_pitch_track, f0, 64, &nf, sig, HUGE_N, 16000, NULL);
    BADST(DSN_E_SHAPE, dsn_pitch_track, f0, 1, &nf, sig, 1024, 16000, NULL);
    sig[10] = NAN;
    BADST(DSN_E_NUMERIC, dsn_pitch_track, f0, 64, &nf, sig, 1024, 16000, NULL);
    UNTOUCHED(f0, sizeof f0);
    dsn_swap_eval ev;
    memset(&ev, SENT, sizeof ev);
    BAD(dsn_eval_swaps, NULL, ms, "x.csv", NULL);
    BAD(dsn_eval_swaps, &ev, NULL, "x.csv", NULL);
    BAD(dsn_eval_swaps, &ev, ms, NULL, NULL);
    BAD(dsn_eval_swaps, &ev, ms, "/nonexistent/factors.csv", NULL);
    UNTOUCHED(&ev, sizeof ev);
}

/* ---- files for hosts: .npy, PNG, audio ---- */
static void file_calls(void)
{
    const char *np = tpath(3, "badargs.npy");
    float d[6] = {1, 2, 3, 4, 5, 6};
    size_t sh[2] = {2, 3}, sh0[2] = {0, 3}, shape[4];
    BAD(dsn_npy_write, NULL, d, sh, 2, DSN_DTYPE_FLOAT32);
    BAD(dsn_npy_write, np, NULL, sh, 2, DSN_DTYPE_FLOAT32);
    BAD(dsn_npy_write, np, d, NULL, 2, DSN_DTYPE_FLOAT32);
    BAD(dsn_npy_write, np, d, sh, 99, DSN_DTYPE_FLOAT32);
    BAD(dsn_npy_write, np, d, sh, 2, (dsn_dtype)99);
    size_t shh[2] = {HUGE_N, HUGE_N};
    BAD(dsn_npy_write, np, d, shh, 2, DSN_DTYPE_FLOAT32);
    BAD(dsn_npy_write, "/nonexistent/dir/x.npy", d, sh, 2, DSN_DTYPE_FLOAT32);
    (void)sh0;
    OK(dsn_npy_write, np, d, sh, 2, DSN_DTYPE_FLOAT32);
    float back[6];
    int nd = 77, isint = 77;
    memset(back, SENT, sizeof back);
    BAD(dsn_npy_read, back, 6, shape, 4, &nd, &isint, NULL, DSN_DTYPE_FLOAT32);
    BAD(dsn_npy_read, back, 6, shape, 4, &nd, &isint, "/nonexistent.npy", DSN_DTYPE_FLOAT32);
    BADST(DSN_E_INVALID, dsn_npy_read, back, 5, shape, 4, &nd, &isint, np, DSN_DTYPE_FLOAT32);
    BAD(dsn_npy_read, back, 6, shape, 1, &nd, &isint, np, DSN_DTYPE_FLOAT32); /* shape_len too small */
    BAD(dsn_npy_read, back, 6, shape, 4, &nd, &isint, np, (dsn_dtype)99);
    UNTOUCHED(back, sizeof back);

    const char *png = tpath(4, "badargs.png");
    uint8_t px[12] = {0};
    BAD(dsn_image_save_png, NULL, px, 2, 2, 3);
    BAD(dsn_image_save_png, png, NULL, 2, 2, 3);
    BAD(dsn_image_save_png, png, px, 0, 2, 3);
    BAD(dsn_image_save_png, png, px, 2, 0, 3);
    BAD(dsn_image_save_png, png, px, 2, 2, 2);
    BAD(dsn_image_save_png, png, px, HUGE_N, HUGE_N, 3);
    BAD(dsn_image_save_png, "/nonexistent/dir/x.png", px, 2, 2, 3);

    float *samples = (float *)1;
    size_t n = 77;
    int rate = 77;
    BAD(dsn_audio_read, NULL, &n, &rate, "x.wav", 0);
    BAD(dsn_audio_read, &samples, NULL, &rate, "x.wav", 0);
    BAD(dsn_audio_read, &samples, &n, &rate, NULL, 0);
    BAD(dsn_audio_read, &samples, &n, &rate, "/nonexistent.wav", 0);
    BAD(dsn_audio_read, &samples, &n, &rate, np, 0); /* not audio */
    BAD(dsn_audio_read, &samples, &n, &rate, np, -5);
    EXPECT_EQ(samples, 1); /* untouched */
    int chans = 77;
    BAD(dsn_audio_read_channels, NULL, &n, &chans, &rate, "x.wav", 0);
    BAD(dsn_audio_read_channels, &samples, NULL, &chans, &rate, "x.wav", 0);
    BAD(dsn_audio_read_channels, &samples, &n, NULL, &rate, "x.wav", 0);
    BAD(dsn_audio_read_channels, &samples, &n, &chans, &rate, NULL, 0);
    BAD(dsn_audio_read_channels, &samples, &n, &chans, &rate, "/nonexistent.wav", 0);
    BAD(dsn_audio_read_channels, &samples, &n, &chans, &rate, np, 0);
    BAD(dsn_audio_read_channels, &samples, &n, &chans, &rate, np, -5);
    EXPECT_EQ(samples, 1);
    EXPECT_EQ(chans, 77);
    CALL(dsn_audio_free, NULL);
    const char *wav = tpath(5, "badargs.wav");
    float sig[800] = {0}, nanblk[4] = {0, NAN, 0, 0};
    BAD(dsn_audio_write, NULL, sig, 800, 8000, NULL);
    BAD(dsn_audio_write, wav, NULL, 800, 8000, NULL);
    BAD(dsn_audio_write, wav, sig, 800, 0, NULL);
    BAD(dsn_audio_write, wav, sig, HUGE_N, 8000, NULL);
    BAD(dsn_audio_write, wav, nanblk, 4, 8000, NULL);
    BAD(dsn_audio_write, "/nonexistent/dir/x.wav", sig, 800, 8000, NULL);
    dsn_options *wo = opts("format=no-such-format");
    BAD(dsn_audio_write, wav, sig, 800, 8000, wo);
    BAD(dsn_audio_write_channels, wav, sig, 400, 2, 8000, wo);
    dsn_options_free(wo);
    BAD(dsn_audio_write_channels, NULL, sig, 400, 2, 8000, NULL);
    BAD(dsn_audio_write_channels, wav, NULL, 400, 2, 8000, NULL);
    BAD(dsn_audio_write_channels, wav, sig, 400, 0, 8000, NULL);
    BAD(dsn_audio_write_channels, wav, sig, 400, 257, 8000, NULL);
    BAD(dsn_audio_write_channels, wav, sig, 400, 2, 0, NULL);
    BAD(dsn_audio_write_channels, wav, sig, HUGE_N, 2, 8000, NULL);
    BAD(dsn_audio_write_channels, wav, nanblk, 2, 2, 8000, NULL);
    BADST(DSN_E_UNSUPPORTED, dsn_audio_write_channels, tpath(6, "badargs.flac"), sig, 80, 10, 8000, NULL);
    BAD(dsn_audio_write_channels, "/nonexistent/dir/x.wav", sig, 400, 2, 8000, NULL);
    float feat[256];
    size_t nfr = 77, nm = 77;
    memset(feat, SENT, sizeof feat);
    dsn_options *fo = opts("n_fft=64, hop_length=32, n_mels=8");
    BAD(dsn_audio_features, feat, 256, &nfr, &nm, NULL, 800, 8000, fo);
    BAD(dsn_audio_features, feat, 256, &nfr, &nm, sig, 800, 0, fo);
    BAD(dsn_audio_features, feat, 256, &nfr, &nm, sig, HUGE_N, 8000, fo);
    BADST(DSN_E_SHAPE, dsn_audio_features, feat, 8, &nfr, &nm, sig, 800, 8000, fo);
    BAD(dsn_audio_features, feat, 256, &nfr, &nm, nanblk, 4, 8000, fo);
    dsn_options *bo = opts("n_mels=0");
    BADST(DSN_E_OPTION, dsn_audio_features, feat, 256, &nfr, &nm, sig, 800, 8000, bo);
    dsn_options_free(bo);
    UNTOUCHED(feat, sizeof feat);
    float mel[8 * 8] = {0}, au[4096];
    size_t ns = 77;
    memset(au, SENT, sizeof au);
    BAD(dsn_mel_to_audio, au, 4096, &ns, NULL, 8, 8, fo);
    BAD(dsn_mel_to_audio, au, 4096, &ns, mel, 0, 8, fo);
    BAD(dsn_mel_to_audio, au, 4096, &ns, mel, 8, 0, fo);
    BAD(dsn_mel_to_audio, au, 4096, &ns, mel, HUGE_N, 8, fo);
    BAD(dsn_mel_to_audio, au, 4096, &ns, mel, 8, 7, fo); /* not the options' n_mels */
    BADST(DSN_E_SHAPE, dsn_mel_to_audio, au, 1, &ns, mel, 8, 8, fo);
    dsn_mel_inverter *inv = NULL;
    BAD(dsn_mel_inverter_create, NULL, 8, 8, fo);
    BAD(dsn_mel_inverter_create, &inv, 1, 8, fo);
    ck_assert_ptr_null(inv);
    BAD(dsn_mel_inverter_create, &inv, HUGE_N, 8, fo);
    BAD(dsn_mel_inverter_create, &inv, 8, 0, fo);
    BAD(dsn_mel_inverter_create, &inv, 8, 7, fo); /* not the options' n_mels */
    ck_assert_ptr_null(inv);
    OK(dsn_mel_inverter_create, &inv, 8, 8, fo);
    BAD(dsn_mel_inverter_run, NULL, au, 4096, &ns, mel, 8);
    BAD(dsn_mel_inverter_run, inv, au, 4096, NULL, mel, 8);
    BAD(dsn_mel_inverter_run, inv, au, 4096, &ns, NULL, 8);
    BAD(dsn_mel_inverter_run, inv, au, 4096, &ns, mel, 9); /* over its max */
    BAD(dsn_mel_inverter_run, inv, au, 4096, &ns, mel, 1);
    BADST(DSN_E_SHAPE, dsn_mel_inverter_run, inv, au, 1, &ns, mel, 8);
    mel[5] = NAN;
    BAD(dsn_mel_inverter_run, inv, au, 4096, &ns, mel, 8);
    CALL(dsn_mel_inverter_free, inv);
    CALL(dsn_mel_inverter_free, NULL);
    BAD(dsn_mel_to_audio, au, 4096, &ns, mel, 8, 8, fo);
    UNTOUCHED(au, sizeof au);
    dsn_options_free(fo);
}

/* ---- every DSN_API function of the header was called ---- */
static void check_header_coverage(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/include/disent.h", DSN_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    int total = 0, missing = 0;
    char list[4096] = "";
    for (char *p = text; (p = strstr(p, "\nDSN_API ")); p++) {
        char *paren = strchr(p, '(');
        ck_assert_ptr_nonnull(paren);
        char *e = paren;
        while (e > p && isspace((unsigned char)e[-1])) e--;
        char *b = e;
        while (b > p && (isalnum((unsigned char)b[-1]) || b[-1] == '_')) b--;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(e - b), b);
        total++;
        int found = 0;
        for (int i = 0; i < n_called && !found; i++) found = !strcmp(called[i], name);
        if (!found) {
            missing++;
            size_t k = strlen(list);
            snprintf(list + k, sizeof list - k, " %s", name);
        }
    }
    ck_assert_int_gt(total, 50);
    ck_assert_msg(missing == 0, "%d of %d DSN_API functions have no bad-argument case:%s", missing, total, list);
    printf("bad arguments: all %d DSN_API functions of include/disent.h called\n", total);
}

START_TEST(every_function_every_bad_argument)
{
    dsn_model *m = model("ml-vae", MLVAE);
    dsn_model *mv = model("vq-vae", VQVAE);
    dsn_model *ms = model("ts-dsae", TSDSAE);
    core_calls();
    options_calls();
    model_calls(m, mv);
    optimizer_calls(m, mv, ms);
    inference_calls(m, mv, ms);
    stream_calls(m, mv, ms);
    dataset_calls(m);
    eval_calls(ms);
    file_calls();
    dsn_model_free(ms);
    dsn_model_free(mv);
    dsn_model_free(m);
    check_header_coverage();
    ck_assert_msg(n_findings == 0, "%d findings:%s", n_findings, findings);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("badargs");
    TCase *tc = tcase_create("badargs");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_function_every_bad_argument);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
