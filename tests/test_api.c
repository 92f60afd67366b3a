/* test_api.c - the public API end to end with ML-VAE on small synthetic
 * grouped data: options, training, encode / swap / decode / sample, model file
 * round trip, exact resume, damaged files and bad arguments. */
#include "audio/io.h"
#include "disent.h"
#include "support/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define D 16
#define CLASSES 4

/* Observation = class prototype (content) scaled by a per-item brightness
 * (style) plus a little noise, clipped to [0, 1]. */
static void make_data(float *x, int32_t *lab, int n, uint64_t seed)
{
    dsi_rng r;
    dsi_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int c = i % CLASSES;
        float b = 0.3f + 0.7f * dsi_rng_uniform(&r);
        for (int d = 0; d < D; d++) {
            float proto = ((d / 4) == c) ? 1.0f : 0.1f;
            float v = proto * b + 0.02f * dsi_rng_normal(&r);
            x[i * D + d] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        lab[i] = c;
    }
}

static dsn_model *small_model(uint64_t seed)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    char text[128];
    snprintf(text, sizeof text, "input_dim=%d, hidden=32, style_dim=2, content_dim=3, seed=%llu", D,
             (unsigned long long)seed);
    ck_assert_int_eq(dsn_options_parse(o, text), DSN_OK);
    dsn_model *m = NULL;
    ck_assert_int_eq(dsn_model_create(&m, "ml-vae", o), DSN_OK);
    dsn_options_free(o);
    return m;
}

static void train(dsn_model *m, dsn_optimizer *opt, const float *x, const int32_t *lab, int n, int steps,
                  float *first, float *last)
{
    for (int s = 0; s < steps; s++) {
        float l;
        ck_assert_int_eq(dsn_train_step(m, opt, &l, x, (size_t)n, &(dsn_batch_args){sizeof(dsn_batch_args), lab, NULL, NULL}), DSN_OK);
        if (s == 0 && first) *first = l;
        if (last) *last = l;
    }
}

/* The fit tests' set-up: FIT_N items of make_data (data_seed), split 3:1
 * into train and valid by group, a small model and its Adam. */
enum { FIT_N = 256 };
typedef struct fit_case {
    float x[FIT_N * D];
    int32_t lab[FIT_N];
    dsn_dataset *all, *tr, *va;
    dsn_model *m;
    dsn_optimizer *opt;
} fit_case;

static fit_case *fit_begin(uint64_t data_seed, uint64_t model_seed)
{
    static fit_case f;
    make_data(f.x, f.lab, FIT_N, data_seed);
    size_t shape[1] = {D};
    ck_assert_int_eq(dsn_dataset_from_memory(&f.all, f.x, FIT_N, shape, 1, f.lab, NULL), DSN_OK);
    ck_assert_int_eq(dsn_dataset_split(f.all, &f.tr, &f.va, 0.25, 3, 1), DSN_OK);
    f.m = small_model(model_seed);
    ck_assert_int_eq(dsn_optimizer_create(&f.opt, f.m, "adam", NULL), DSN_OK);
    return &f;
}

static void fit_end(fit_case *f)
{
    dsn_optimizer_free(f->opt);
    dsn_model_free(f->m);
    dsn_dataset_free(f->tr);
    dsn_dataset_free(f->va);
    dsn_dataset_free(f->all);
}

START_TEST(describe_and_bad_options)
{
    dsn_model *m = small_model(1);
    ck_assert_str_eq(host_info(m).family, "ml-vae");
    ck_assert_int_eq(host_info(m).num_parts, 2);
    ck_assert_str_eq(host_part(m, 0).name, "content");
    ck_assert_int_eq(host_part(m, 0).scope, DSN_SCOPE_GROUP);
    ck_assert_int_eq(host_part(m, 1).dim, 2);
    ck_assert_uint_eq(host_info(m).obs_size, D);
    /* enc 16x32+32, heads 2*(32x4+4)+... just check it is positive and stable */
    ck_assert_uint_gt(host_info(m).num_params, 1000);
    dsn_model_free(m);
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_set(o, "stlye_dim", "3"), DSN_OK);
    dsn_model *bad = (dsn_model *)1;
    ck_assert_int_eq(dsn_model_create(&bad, "ml-vae", o), DSN_E_OPTION);
    ck_assert_ptr_null(bad);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "stlye_dim"));
    ck_assert_int_eq(dsn_options_set(o, "stlye_dim", "x"), DSN_OK);
    dsn_options_free(o);
    ck_assert_int_eq(dsn_model_create(&bad, "no-such-model", NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_model_create(NULL, "ml-vae", NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_model_create(&bad, NULL, NULL), DSN_E_INVALID);
    dsn_model_free(NULL);
    dsn_optimizer *opt;
    m = small_model(1);
    ck_assert_int_eq(dsn_optimizer_create(&opt, m, "rmsprop", NULL), DSN_E_OPTION);
    ck_assert_int_eq(dsn_optimizer_create(&opt, NULL, "adam", NULL), DSN_E_INVALID);
    dsn_model_free(m);
}
END_TEST

START_TEST(learns_and_swaps_content)
{
    enum { N = 64 };
    float x[N * D];
    int32_t lab[N];
    make_data(x, lab, N, 3);
    dsn_model *m = small_model(7);
    dsn_options *oo;
    ck_assert_int_eq(dsn_options_create(&oo), DSN_OK);
    ck_assert_int_eq(dsn_options_set(oo, "lr", "0.01"), DSN_OK);
    dsn_optimizer *opt;
    ck_assert_int_eq(dsn_optimizer_create(&opt, m, "adam", oo), DSN_OK);
    dsn_options_free(oo);
    float first = 0, last = 0;
    uint64_t a0 = 0;
    for (int s = 0; s < 400; s++) {
        if (s == 2) a0 = dsn_allocation_count();
        float l;
        ck_assert_int_eq(dsn_train_step(m, opt, &l, x, N, &(dsn_batch_args){sizeof(dsn_batch_args), lab, NULL, NULL}), DSN_OK);
        if (s == 0) first = l;
        last = l;
    }
    ck_assert_uint_eq(dsn_allocation_count() - a0, 0); /* no allocation after the first steps */
    ck_assert_msg(last < 0.7f * first, "loss %g -> %g", first, last);
    const char *names[8];
    float vals[8];
    ck_assert_int_eq(dsn_train_terms(m, names, vals, 8), 4);
    ck_assert_str_eq(names[1], "rec");

    /* encode every item alone, swap content between a class-0 and a class-1 item */
    dsn_session *s;
    dsn_encoding *e, *f;
    ck_assert_int_eq(dsn_session_create(&s, m, N), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&e, m, N), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&f, m, N), DSN_OK);
    ck_assert_int_eq(dsn_encode(s, e, x, 1, NULL), DSN_OK);          /* item 0: class 0 */
    ck_assert_int_eq(dsn_encode(s, f, x + D, 1, NULL), DSN_OK);      /* item 1: class 1 */
    ck_assert_int_eq(dsn_swap(e, f, "content"), DSN_OK);
    float y[D];
    uint64_t a1 = dsn_allocation_count();
    ck_assert_int_eq(dsn_decode(s, y, D, e), DSN_OK);
    ck_assert_int_eq(dsn_decode(s, y, D, e), DSN_OK);
    /* decoded with class-1 content: block 1 (dims 4..7) brighter than block 0 */
    float b0 = 0, b1 = 0;
    for (int d = 0; d < 4; d++) {
        b0 += y[d];
        b1 += y[4 + d];
    }
    ck_assert_msg(b1 > b0 + 0.5f, "swapped content not decoded: block0 %g block1 %g", b0, b1);
    /* encode + swap + decode do not allocate once warmed up */
    uint64_t a2 = dsn_allocation_count();
    ck_assert_int_eq(dsn_encode(s, e, x, 1, NULL), DSN_OK);
    ck_assert_int_eq(dsn_swap(e, f, "style"), DSN_OK);
    ck_assert_int_eq(dsn_decode(s, y, D, e), DSN_OK);
    ck_assert_uint_eq(dsn_allocation_count(), a2);
    (void)a1;

    /* evidence accumulation: more members -> smaller content variance */
    int32_t g[N];
    float lv1[3], lv8[3];
    for (int i = 0; i < N; i++) g[i] = 0;
    float x0[8 * D];
    for (int i = 0; i < 8; i++) memcpy(x0 + i * D, x + (size_t)(i * CLASSES) * D, sizeof(float) * D);
    ck_assert_int_eq(dsn_encode(s, e, x0, 1, &(dsn_batch_args){sizeof(dsn_batch_args), g, NULL, NULL}), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(e, lv1, 3, NULL, NULL, "content", "logvar"), DSN_OK);
    ck_assert_int_eq(dsn_encode(s, e, x0, 8, &(dsn_batch_args){sizeof(dsn_batch_args), g, NULL, NULL}), DSN_OK);
    ck_assert_uint_eq(tu_ngroups(e), 1);
    size_t rows, dim;
    ck_assert_int_eq(dsn_encoding_get(e, lv8, 3, &rows, &dim, "content", "logvar"), DSN_OK);
    ck_assert_uint_eq(rows, 1);
    ck_assert_uint_eq(dim, 3);
    for (int k = 0; k < 3; k++) ck_assert_float_lt(lv8[k], lv1[k] - 1.0f); /* about log(8) = 2.1 lower */

    /* sampling: reproducible for a seed */
    float s1[2 * 4], s2[2 * 4];
    ck_assert_int_eq(dsn_encode(s, e, x, 4, NULL), DSN_OK);
    ck_assert_int_eq(dsn_sample(s, e, "style", 42), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(e, s1, 8, NULL, NULL, "style", "value"), DSN_OK);
    ck_assert_int_eq(dsn_sample(s, e, "style", 42), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(e, s2, 8, NULL, NULL, "style", "value"), DSN_OK);
    ck_assert_int_eq(memcmp(s1, s2, sizeof s1), 0);

    /* bad arguments */
    ck_assert_int_eq(dsn_encode(s, e, x, N + 1, NULL), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_decode(s, y, 3, e), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_swap(e, f, "colour"), DSN_E_INVALID);
    ck_assert_int_eq(dsn_encoding_get(e, s1, 8, NULL, NULL, "style", "variance"), DSN_E_INVALID);
    float nan_x[D];
    memcpy(nan_x, x, sizeof nan_x);
    nan_x[5] = 0.0f / 0.0f;
    ck_assert_int_eq(dsn_encode(s, e, nan_x, 1, NULL), DSN_E_NUMERIC);
    ck_assert_int_eq(dsn_train_step(m, opt, NULL, nan_x, 1, NULL), DSN_E_NUMERIC);
    ck_assert_int_eq(dsn_encode(NULL, e, x, 1, NULL), DSN_E_INVALID);

    dsn_encoding_free(e);
    dsn_encoding_free(f);
    dsn_session_free(s);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
}
END_TEST

START_TEST(save_load_and_exact_resume)
{
    enum { N = 32 };
    float x[N * D];
    int32_t lab[N];
    make_data(x, lab, N, 5);
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/ml.dsn", tu_tmpdir());
    snprintf(bad, sizeof bad, "%s/ml-bad.dsn", tu_tmpdir());

    /* uninterrupted: 20 steps */
    dsn_model *a = small_model(9);
    dsn_optimizer *oa;
    ck_assert_int_eq(dsn_optimizer_create(&oa, a, "adam", NULL), DSN_OK);
    train(a, oa, x, lab, N, 20, NULL, NULL);

    /* interrupted: 10 steps, save with optimizer, load, 10 more */
    dsn_model *b = small_model(9);
    dsn_optimizer *ob;
    ck_assert_int_eq(dsn_optimizer_create(&ob, b, "adam", NULL), DSN_OK);
    train(b, ob, x, lab, N, 10, NULL, NULL);
    ck_assert_int_eq(dsn_model_save(b, ob, path), DSN_OK);
    dsn_optimizer_free(ob);
    dsn_model_free(b);
    ck_assert_int_eq(dsn_model_load(&b, path), DSN_OK);
    ck_assert_int_eq(dsn_optimizer_load(&ob, b, path), DSN_OK);
    ck_assert_int_eq(dsn_optimizer_steps(ob), 10);
    train(b, ob, x, lab, N, 10, NULL, NULL);

    /* identical encodings */
    dsn_session *sa, *sb;
    dsn_encoding *ea, *eb;
    ck_assert_int_eq(dsn_session_create(&sa, a, N), DSN_OK);
    ck_assert_int_eq(dsn_session_create(&sb, b, N), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&ea, a, N), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&eb, b, N), DSN_OK);
    ck_assert_int_eq(dsn_encode(sa, ea, x, N, &(dsn_batch_args){sizeof(dsn_batch_args), lab, NULL, NULL}), DSN_OK);
    ck_assert_int_eq(dsn_encode(sb, eb, x, N, &(dsn_batch_args){sizeof(dsn_batch_args), lab, NULL, NULL}), DSN_OK);
    float va[N * 3], vb[N * 3];
    ck_assert_int_eq(dsn_encoding_get(ea, va, N * 3, NULL, NULL, "content", "mean"), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(eb, vb, N * 3, NULL, NULL, "content", "mean"), DSN_OK);
    ck_assert_int_eq(memcmp(va, vb, sizeof(float) * CLASSES * 3), 0);

    /* damaged files: truncated and flipped give DSN_E_FORMAT, never a crash;
     * the good file on disk is untouched by a failed save */
    FILE *fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)len);
    ck_assert_int_eq((int)fread(buf, 1, (size_t)len, fp), (int)len);
    fclose(fp);
    long cuts[] = {0, 7, 16, 40, len / 2, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        fp = fopen(bad, "wb");
        fwrite(buf, 1, (size_t)cuts[i], fp);
        fclose(fp);
        dsn_model *c = (dsn_model *)1;
        ck_assert_int_eq(dsn_model_load(&c, bad), DSN_E_FORMAT);
        ck_assert_ptr_null(c);
        ck_assert_ptr_nonnull(strstr(dsn_last_error(), "dsn_model_load"));
    }
    buf[len / 3] ^= 1;
    fp = fopen(bad, "wb");
    fwrite(buf, 1, (size_t)len, fp);
    fclose(fp);
    dsn_model *c;
    ck_assert_int_eq(dsn_model_load(&c, bad), DSN_E_FORMAT);
    ck_assert_int_eq(dsn_model_save(a, NULL, "/nonexistent-dir/x.dsn"), DSN_E_IO);
    ck_assert_int_eq(dsn_model_save(a, ob, path), DSN_E_INVALID); /* optimizer of another model */
    ck_assert_int_eq(dsn_model_load(&c, path), DSN_OK);            /* still intact */
    dsn_model_free(c);
    /* a checkpoint saved without optimizer has no optimizer to load */
    ck_assert_int_eq(dsn_model_save(a, NULL, bad), DSN_OK);
    dsn_optimizer *od;
    ck_assert_int_eq(dsn_optimizer_load(&od, a, bad), DSN_E_FORMAT);
    free(buf);

    dsn_encoding_free(ea);
    dsn_encoding_free(eb);
    dsn_session_free(sa);
    dsn_session_free(sb);
    dsn_optimizer_free(oa);
    dsn_optimizer_free(ob);
    dsn_model_free(a);
    dsn_model_free(b);
}
END_TEST

typedef struct progress_log {
    int steps, epochs, stop_at_epoch;
    float last_valid;
} progress_log;

static int on_progress(void *user, int epoch, int64_t step, int epoch_end, int n, const char *const *names,
                       const float *values)
{
    progress_log *p = user;
    (void)step;
    if (!epoch_end) {
        p->steps++;
        ck_assert_int_ge(n, 1);
        ck_assert_str_eq(names[0], "loss");
        return 0;
    }
    p->epochs++;
    /* train_loss, valid_loss, best_valid_loss (+ valid_objective,
     * best_valid_objective for a family whose objective can change in a run) */
    ck_assert_int_eq(n, 5);
    ck_assert_str_eq(names[1], "valid_loss");
    ck_assert_str_eq(names[3], "valid_objective");
    p->last_valid = values[1];
    return p->stop_at_epoch && epoch >= p->stop_at_epoch;
}

/* ---- the training log (fit option log) ---- */
static long alloc_calls;
static void *log_count_alloc(void *ctx, size_t size)
{
    (void)ctx;
    alloc_calls++;
    return malloc(size);
}
static void log_count_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

typedef struct alloc_watch {
    long at_step2;
    int checked;
} alloc_watch;

/* within an epoch (steps 2..20 of 20), training and the log allocate nothing */
static int watch_allocs(void *user, int epoch, int64_t step, int epoch_end, int n, const char *const *names,
                        const float *values)
{
    alloc_watch *w = user;
    (void)epoch, (void)n, (void)names, (void)values;
    if (epoch_end) return 0;
    if (step == 2) w->at_step2 = alloc_calls;
    if (step == 20) {
        ck_assert_int_eq(alloc_calls, w->at_step2);
        w->checked = 1;
    }
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

START_TEST(fit_writes_the_training_log)
{
    fit_case *f = fit_begin(5, 2);
    dsn_model *m = f->m;
    dsn_optimizer *opt = f->opt;
    dsn_dataset *tr = f->tr, *va = f->va;
    char path[512], csv[512], text[800];
    snprintf(path, sizeof path, "%s/fitlog.jsonl", tu_tmpdir());
    snprintf(csv, sizeof csv, "%s/fitlog.csv", tu_tmpdir());
    snprintf(text, sizeof text, "epochs=3, steps_per_epoch=20, batch_groups=4, group_size=8, log_every=1, log=%s", path);
    dsn_options *fo;
    ck_assert_int_eq(dsn_options_create(&fo), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(fo, text), DSN_OK);
    alloc_watch w = {0, 0};
    dsn_allocator a = {log_count_alloc, log_count_free, NULL};
    ck_assert_int_eq(dsn_set_allocator(&a), DSN_OK);
    dsn_status st = dsn_fit(m, opt, tr, va, fo, watch_allocs, &w);
    ck_assert_int_eq(dsn_set_allocator(NULL), DSN_OK);
    ck_assert_int_eq(st, DSN_OK);
    ck_assert(w.checked);
    /* one record per line: start, 60 steps, 3 epochs, end, in order */
    char *text_log = slurp(path);
    int lines = 0, steps = 0, epochs = 0, starts = 0, ends = 0;
    long last_step = 0;
    for (char *p = text_log; *p;) {
        char *nl = strchr(p, '\n');
        ck_assert_ptr_nonnull(nl); /* every record ends with a newline */
        *nl = 0;
        ck_assert_msg(!strncmp(p, "{\"event\":\"", 10) && nl[-1] == '}', "bad record: %s", p);
        lines++;
        if (!strncmp(p + 10, "step\"", 5)) {
            const char *sp = strstr(p, "\"step\":");
            ck_assert_ptr_nonnull(sp);
            long sn = strtol(sp + 7, NULL, 10);
            ck_assert_int_eq(sn, last_step + 1); /* every step, none dropped */
            last_step = sn;
            ck_assert_ptr_nonnull(strstr(p, "\"lr\":0.001"));
            ck_assert_ptr_nonnull(strstr(p, "\"terms\":{\"loss\":"));
            ck_assert_ptr_nonnull(strstr(p, "\"kl_style\":"));
            steps++;
        } else if (!strncmp(p + 10, "epoch\"", 6)) {
            ck_assert_ptr_nonnull(strstr(p, "\"valid_loss\":"));
            ck_assert_ptr_nonnull(strstr(p, "\"valid_terms\":{\"loss\":"));
            epochs++;
        } else if (!strncmp(p + 10, "start\"", 6)) {
            ck_assert_ptr_nonnull(strstr(p, "\"family\":\"ml-vae\""));
            starts++;
        } else if (!strncmp(p + 10, "end\"", 4)) {
            ck_assert_ptr_nonnull(strstr(p, "\"status\":\"ok\""));
            ends++;
        }
        p = nl + 1;
    }
    ck_assert_int_eq(steps, 60);
    ck_assert_int_eq(epochs, 3);
    ck_assert_int_eq(starts, 1);
    ck_assert_int_eq(ends, 1);
    ck_assert_int_eq(lines, 65);
    /* the CSV twin: a header and one row per step term / epoch figure */
    char *c = slurp(csv);
    ck_assert_msg(!strncmp(c, "event,epoch,step,time,stage,lr,name,value\n", 42), "%.80s", c);
    ck_assert_ptr_nonnull(strstr(c, "\nstep,1,1,"));
    ck_assert_ptr_nonnull(strstr(c, ",valid.rec,"));
    /* log_append keeps the first run's records; without it the file is replaced */
    ck_assert_int_eq(dsn_options_set(fo, "epochs", "4"), DSN_OK);
    ck_assert_int_eq(dsn_options_set(fo, "log_append", "1"), DSN_OK);
    ck_assert_int_eq(dsn_fit(m, opt, tr, va, fo, NULL, NULL), DSN_OK);
    text_log = slurp(path);
    int starts2 = 0;
    for (const char *p = text_log; (p = strstr(p, "\"event\":\"start\"")); p++) starts2++;
    ck_assert_int_eq(starts2, 2);
    /* an unwritable log fails at the start, before any step */
    int64_t before = dsn_optimizer_steps(opt);
    ck_assert_int_eq(dsn_options_set(fo, "epochs", "5"), DSN_OK);
    ck_assert_int_eq(dsn_options_set(fo, "log", "/nonexistent-dir/x/log.jsonl"), DSN_OK);
    ck_assert_int_eq(dsn_fit(m, opt, tr, va, fo, NULL, NULL), DSN_E_IO);
    ck_assert_msg(strstr(dsn_last_error(), "/nonexistent-dir/x/log.jsonl"), "%s", dsn_last_error());
    ck_assert_int_eq(dsn_optimizer_steps(opt), before);
    dsn_options_free(fo);
    fit_end(f);
}
END_TEST

START_TEST(fit_with_validation_checkpoint_and_stop)
{
    fit_case *f = fit_begin(11, 4);
    dsn_model *m = f->m;
    dsn_optimizer *opt = f->opt;
    dsn_dataset *all = f->all, *tr = f->tr, *va = f->va;
    const float *x = f->x;
    ck_assert_uint_eq(host_ds(all).num_groups, CLASSES);
    ck_assert_uint_eq(host_ds(tr).size + host_ds(va).size, FIT_N);
    char ckpt[512], text[700];
    snprintf(ckpt, sizeof ckpt, "%s/fit.dsn", tu_tmpdir());
    snprintf(text, sizeof text, "epochs=4, steps_per_epoch=20, batch_groups=4, group_size=8, log_every=5, checkpoint=%s", ckpt);
    dsn_options *fo;
    ck_assert_int_eq(dsn_options_create(&fo), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(fo, text), DSN_OK);
    progress_log log = {0, 0, 2, 0};
    ck_assert_int_eq(dsn_fit(m, opt, tr, va, fo, on_progress, &log), DSN_OK);
    ck_assert_int_eq(log.epochs, 2); /* stopped by the callback after epoch 2 */
    ck_assert_int_eq(log.steps, 8);
    ck_assert(isfinite(log.last_valid));
    /* resume from the checkpoint: continues with epochs 3 and 4 */
    dsn_model *m2;
    dsn_optimizer *o2;
    ck_assert_int_eq(dsn_model_load(&m2, ckpt), DSN_OK);
    ck_assert_int_eq(dsn_optimizer_load(&o2, m2, ckpt), DSN_OK);
    log.epochs = 0;
    log.stop_at_epoch = 0;
    ck_assert_int_eq(dsn_fit(m2, o2, tr, va, fo, on_progress, &log), DSN_OK);
    ck_assert_int_eq(log.epochs, 2);
    ck_assert_int_eq(dsn_optimizer_steps(o2), 80);
    /* unknown fit option and shape mismatch */
    ck_assert_int_eq(dsn_options_set(fo, "epocs", "3"), DSN_OK);
    ck_assert_int_eq(dsn_fit(m, opt, tr, va, fo, NULL, NULL), DSN_E_OPTION);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "epocs"));
    dsn_options_free(fo);
    float row[D];
    int32_t l;
    ck_assert_int_eq(dsn_dataset_get(all, row, D, &l, 5), DSN_OK);
    ck_assert_int_eq(l, 5 % CLASSES);
    ck_assert_int_eq(dsn_dataset_get(all, row, D, &l, FIT_N), DSN_E_INVALID);
    size_t sh2[1] = {D + 1};
    dsn_dataset *wrong;
    ck_assert_int_eq(dsn_dataset_from_memory(&wrong, x, 8, sh2, 1, NULL, NULL), DSN_OK);
    ck_assert_int_eq(dsn_fit(m, opt, wrong, NULL, NULL, NULL, NULL), DSN_E_SHAPE);
    dsn_dataset_free(wrong);
    dsn_optimizer_free(o2);
    dsn_model_free(m2);
    fit_end(f);
}
END_TEST

START_TEST(dataset_from_audio_manifest)
{
    char dir[512], path[700];
    snprintf(dir, sizeof dir, "%s/clips", tu_tmpdir());
    mkdir(dir, 0755);
    const int sr = 16000;
    float *x = malloc(sizeof(float) * sr);
    for (int c = 0; c < 3; c++) {
        size_t n = (size_t)(sr / 2 + c * 2000);
        for (size_t i = 0; i < n; i++) x[i] = 0.5f * sinf(6.2831853f * (220.0f + 110.0f * c) * (float)i / sr);
        snprintf(path, sizeof path, "%s/c%d.wav", dir, c);
        ck_assert_int_eq(dsi_audio_write(path, x, n, sr, DSI_AUDIO_AUTO), DSN_OK);
    }
    free(x);
    snprintf(path, sizeof path, "%s/manifest.csv", dir);
    FILE *fp = fopen(path, "w");
    fputs("path,instrument\nc0.wav,violin\nc1.wav,trumpet\nc2.wav,violin\n", fp);
    fclose(fp);
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(o, "frames=16, n_fft=256, hop_length=64, n_mels=20, label=instrument"), DSN_OK);
    dsn_dataset *ds;
    ck_assert_int_eq(dsn_dataset_from_audio(&ds, path, o), DSN_OK);
    size_t dims[3];
    ck_assert_int_eq(host_ds_shape(ds, dims, 3), 2);
    ck_assert_uint_eq(dims[0], 16);
    ck_assert_uint_eq(dims[1], 20);
    ck_assert_uint_ge(host_ds(ds).size, 3 * 7); /* >= 8000 samples / 64 hop / 16 frames each */
    ck_assert_uint_eq(host_ds(ds).num_groups, 2);
    dsn_dataset_free(ds);
    /* a broken clip is named in the error; unknown options are rejected */
    fp = fopen(path, "a");
    fputs("missing.wav,violin\n", fp);
    fclose(fp);
    ck_assert_int_ne(dsn_dataset_from_audio(&ds, path, o), DSN_OK);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "missing.wav"));
    ck_assert_int_eq(dsn_options_set(o, "n_mel", "3"), DSN_OK);
    ck_assert_int_eq(dsn_dataset_from_audio(&ds, dir, o), DSN_E_OPTION);
    ck_assert_int_eq(dsn_dataset_load_audio(&ds, "/nonexistent.dsa", NULL), DSN_E_IO);
    dsn_options_free(o);
}
END_TEST


/* dsn_encode_masked: padding frames do not change a sequence model's
 * encoding; a mask on a non-sequence model and bad mask values are errors. */
START_TEST(encode_masked_sequences)
{
    enum { T = 12, F = 6 };
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(o, "frames=12, n_mels=6, hidden=8, dec_hidden=8, v_dim=3, z_dim=2, seed=3"), DSN_OK);
    dsn_model *m = NULL;
    ck_assert_int_eq(dsn_model_create(&m, "dsae", o), DSN_OK);
    dsn_options_free(o);
    dsn_session *s;
    dsn_encoding *a, *b;
    ck_assert_int_eq(dsn_session_create(&s, m, 2), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&a, m, 2), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&b, m, 2), DSN_OK);
    float x[2 * T * F], y[2 * T * F], mask[2 * T];
    dsi_rng r;
    dsi_rng_seed(&r, 5);
    for (int i = 0; i < 2 * T * F; i++) x[i] = y[i] = dsi_rng_normal(&r);
    for (int i = 0; i < 2 * T; i++) mask[i] = (i % T) < 8 ? 1.0f : 0.0f;
    for (int i = 0; i < 2; i++) /* garbage in the padded frames of y */
        for (int t = 8; t < T; t++)
            for (int f = 0; f < F; f++) y[(i * T + t) * F + f] = 100.0f + (float)f;
    ck_assert_int_eq(dsn_encode(s, a, x, 2, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL}), DSN_OK);
    ck_assert_int_eq(dsn_encode(s, b, y, 2, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL}), DSN_OK);
    float va[6], vb[6];
    ck_assert_int_eq(dsn_encoding_get(a, va, 6, NULL, NULL, "global", "mean"), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(b, vb, 6, NULL, NULL, "global", "mean"), DSN_OK);
    for (int i = 0; i < 6; i++) ck_assert_float_eq_tol(va[i], vb[i], 1e-6);
    /* without the mask the garbage does change v */
    ck_assert_int_eq(dsn_encode(s, b, y, 2, NULL), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(b, vb, 6, NULL, NULL, "global", "mean"), DSN_OK);
    int differs = 0;
    for (int i = 0; i < 6; i++) differs |= fabsf(va[i] - vb[i]) > 1e-3f;
    ck_assert(differs);
    /* an all-ones mask is the same as no mask */
    for (int i = 0; i < 2 * T; i++) mask[i] = 1.0f;
    ck_assert_int_eq(dsn_encode(s, a, y, 2, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL}), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(a, va, 6, NULL, NULL, "global", "mean"), DSN_OK);
    for (int i = 0; i < 6; i++) ck_assert_float_eq_tol(va[i], vb[i], 1e-6);
    /* only the global part: the same v, zeros for z */
    ck_assert_int_eq(dsn_encode(s, b, y, 2, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, "global"}), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(b, vb, 6, NULL, NULL, "global", "mean"), DSN_OK);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(va[i], vb[i]);
    float zb[2 * T * 2];
    size_t zrows = 0;
    ck_assert_int_eq(dsn_encoding_get(b, zb, sizeof zb / sizeof *zb, &zrows, NULL, "local", "value"), DSN_OK);
    ck_assert_uint_eq(zrows, 2 * T);
    for (int i = 0; i < 2 * T * 2; i++) ck_assert_float_eq(zb[i], 0.0f);
    ck_assert_int_eq(dsn_encode(s, b, y, 2, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, NULL, "local"}), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(b, vb, 6, NULL, NULL, "global", "value"), DSN_OK);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(vb[i], 0.0f);
    ck_assert_int_eq(dsn_encode(s, b, y, 2, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, NULL, "content"}), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "content"));
    /* sized args: struct_size 0 counts as the first version, a smaller one is refused */
    dsn_batch_args zero = {0};
    zero.part = "global";
    ck_assert_int_eq(dsn_encode(s, b, y, 2, &zero), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(b, zb, sizeof zb / sizeof *zb, NULL, NULL, "local", "value"), DSN_OK);
    for (int i = 0; i < 2 * T * 2; i++) ck_assert_float_eq(zb[i], 0.0f);
    zero.struct_size = sizeof(size_t);
    ck_assert_int_eq(dsn_encode(s, b, y, 2, &zero), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "struct_size"));
    mask[3] = 2.0f;
    ck_assert_int_eq(dsn_encode(s, a, y, 2, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL}), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "mask"));
    mask[3] = NAN;
    ck_assert_int_eq(dsn_encode(s, a, y, 2, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL}), DSN_E_INVALID);
    ck_assert_int_eq(dsn_encode(NULL, a, y, 2, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL}), DSN_E_INVALID);
    dsn_encoding_free(a);
    dsn_encoding_free(b);
    dsn_session_free(s);
    dsn_model_free(m);

    /* ML-VAE observations are not sequences */
    m = small_model(1);
    ck_assert_int_eq(dsn_session_create(&s, m, 2), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&a, m, 2), DSN_OK);
    ck_assert_int_eq(dsn_encode(s, a, x, 2, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL}), DSN_E_INVALID);
    ck_assert_int_eq(dsn_encode(s, a, x, 2, NULL), DSN_OK);
    /* the item -> group rows of an encoding */
    const int32_t g2[2] = {9, 9};
    int32_t rows[2] = {-1, -1};
    ck_assert_int_eq(dsn_encode(s, a, x, 2, &(dsn_batch_args){sizeof(dsn_batch_args), g2, NULL, NULL}), DSN_OK);
    ck_assert_int_eq(dsn_encoding_groups(a, rows, 2, NULL, NULL), DSN_OK);
    ck_assert_int_eq(rows[0], 0);
    ck_assert_int_eq(rows[1], 0);
    ck_assert_int_eq(dsn_encoding_groups(a, rows, 1, NULL, NULL), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_encoding_groups(NULL, rows, 2, NULL, NULL), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_model_families(), "ts-dsae"));
    ck_assert_ptr_nonnull(strstr(dsn_model_families(), "ml-vae"));
    dsn_encoding_free(a);
    dsn_session_free(s);
    dsn_model_free(m);
}
END_TEST

/* Style means of x under model m (n items of D floats). */
static void style_means(dsn_model *m, const float *x, int n, float *out)
{
    dsn_session *s;
    dsn_encoding *e;
    ck_assert_int_eq(dsn_session_create(&s, m, (size_t)n), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&e, m, (size_t)n), DSN_OK);
    ck_assert_int_eq(dsn_encode(s, e, x, (size_t)n, NULL), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(e, out, (size_t)n * 2, NULL, NULL, "style", "mean"), DSN_OK);
    dsn_encoding_free(e);
    dsn_session_free(s);
}

/* dsn_fit for 2 epochs, checkpoint, load, continue to 4 == 4 epochs in one
 * go, bit for bit: with grouped batches and with plain shuffled batches. */
START_TEST(fit_resume_is_bit_exact)
{
    enum { N = 96 };
    static float x[N * D];
    int32_t lab[N];
    make_data(x, lab, N, 21);
    size_t shape[1] = {D};
    for (int grouped = 1; grouped >= 0; grouped--) {
        dsn_dataset *ds;
        ck_assert_int_eq(dsn_dataset_from_memory(&ds, x, N, shape, 1, grouped ? lab : NULL, NULL), DSN_OK);
        char ckpt[512], text[700];
        snprintf(ckpt, sizeof ckpt, "%s/resume%d.dsn", tu_tmpdir(), grouped);
        dsn_options *fo;
        ck_assert_int_eq(dsn_options_create(&fo), DSN_OK);
        /* straight run */
        dsn_model *a = small_model(9);
        dsn_optimizer *oa;
        ck_assert_int_eq(dsn_optimizer_create(&oa, a, "adam", NULL), DSN_OK);
        ck_assert_int_eq(dsn_options_parse(fo, "epochs=4, batch_groups=3, group_size=5, batch_size=20, seed=5"), DSN_OK);
        ck_assert_int_eq(dsn_fit(a, oa, ds, NULL, fo, NULL, NULL), DSN_OK);
        /* 2 epochs, checkpoint, reload, 2 more */
        dsn_model *b = small_model(9);
        dsn_optimizer *ob;
        ck_assert_int_eq(dsn_optimizer_create(&ob, b, "adam", NULL), DSN_OK);
        snprintf(text, sizeof text, "epochs=2, checkpoint=%s", ckpt);
        ck_assert_int_eq(dsn_options_parse(fo, text), DSN_OK);
        ck_assert_int_eq(dsn_fit(b, ob, ds, NULL, fo, NULL, NULL), DSN_OK);
        dsn_optimizer_free(ob);
        dsn_model_free(b);
        ck_assert_int_eq(dsn_model_load(&b, ckpt), DSN_OK);
        ck_assert_int_eq(dsn_optimizer_load(&ob, b, ckpt), DSN_OK);
        ck_assert_int_eq(dsn_options_parse(fo, "epochs=4"), DSN_OK);
        ck_assert_int_eq(dsn_fit(b, ob, ds, NULL, fo, NULL, NULL), DSN_OK);
        ck_assert_int_eq(dsn_optimizer_steps(ob), dsn_optimizer_steps(oa));
        ck_assert_int_eq(host_info(b).epoch, 4);
        ck_assert_int_eq(host_info(NULL).epoch, 0);
        /* a weights-only file keeps the epoch count (and the frozen groups) */
        char wpath[512];
        snprintf(wpath, sizeof wpath, "%s/weights%d.dsn", tu_tmpdir(), grouped);
        ck_assert_int_eq(dsn_model_save(a, NULL, wpath), DSN_OK);
        dsn_model *w;
        ck_assert_int_eq(dsn_model_load(&w, wpath), DSN_OK);
        ck_assert_int_eq(host_info(w).epoch, 4);
        dsn_model_free(w);
        float sa[N * 2], sb[N * 2];
        style_means(a, x, N, sa);
        style_means(b, x, N, sb);
        float md = 0;
        for (int i = 0; i < N * 2; i++) md = fmaxf(md, fabsf(sa[i] - sb[i]));
        ck_assert_msg(memcmp(sa, sb, sizeof sa) == 0, "resumed run differs (grouped %d): max |diff| %g", grouped, md);
        dsn_optimizer_free(oa);
        dsn_optimizer_free(ob);
        dsn_model_free(a);
        dsn_model_free(b);
        dsn_options_free(fo);
        dsn_dataset_free(ds);
    }
}
END_TEST

/* Sized structs: a caller built against a newer header (a bigger struct) gets
 * the fields this library knows and nothing written past them; a struct_size
 * below the first version's is refused; 0 counts as the first version. */
START_TEST(sized_structs)
{
    dsn_model *m = NULL;
    ck_assert_int_eq(dsn_model_create(&m, "ml-vae", NULL), DSN_OK);
    unsigned char buf[sizeof(dsn_model_info) + 32];
    memset(buf, 0xab, sizeof buf);
    dsn_model_info *mi = (dsn_model_info *)(void *)buf;
    mi->struct_size = sizeof buf;
    ck_assert_int_eq(dsn_model_describe(m, mi), DSN_OK);
    ck_assert_str_eq(mi->family, "ml-vae");
    ck_assert_int_eq(mi->num_parts, 2);
    ck_assert_uint_eq(mi->obs_size, 784);
    ck_assert_ptr_null(mi->stage);
    for (size_t i = sizeof(dsn_model_info); i < sizeof buf; i++) ck_assert_uint_eq(buf[i], 0xab);
    dsn_model_info z = {0};
    ck_assert_int_eq(dsn_model_describe(m, &z), DSN_OK);
    ck_assert_uint_eq(z.obs_size, 784);
    z.struct_size = 8;
    ck_assert_int_eq(dsn_model_describe(m, &z), DSN_E_INVALID);
    ck_assert_int_eq(dsn_model_describe(NULL, &z), DSN_E_INVALID);
    dsn_part_info p = DSN_PART_INFO_INIT;
    ck_assert_int_eq(dsn_model_part(m, &p, 1), DSN_OK);
    ck_assert_str_eq(p.name, "style");
    ck_assert_int_eq(p.scope, DSN_SCOPE_ITEM);
    ck_assert_int_eq(p.kind, DSN_PART_GAUSSIAN);
    ck_assert_int_eq(dsn_model_part(m, &p, 2), DSN_E_INVALID);
    ck_assert_int_eq(dsn_model_part(m, &p, -1), DSN_E_INVALID);
    float x[3 * 4] = {0};
    size_t shape[2] = {2, 2};
    int32_t lab[3] = {0, 1, 1};
    dsn_dataset *ds = NULL;
    ck_assert_int_eq(dsn_dataset_from_memory(&ds, x, 3, shape, 2, lab, NULL), DSN_OK);
    dsn_dataset_info di = DSN_DATASET_INFO_INIT;
    ck_assert_int_eq(dsn_dataset_describe(ds, &di), DSN_OK);
    ck_assert_uint_eq(di.size, 3);
    ck_assert_uint_eq(di.obs_size, 4);
    ck_assert_int_eq(di.obs_ndim, 2);
    ck_assert_uint_eq(di.obs_shape[1], 2);
    ck_assert_uint_eq(di.num_groups, 2);
    ck_assert_int_eq(di.has_labels, 1);
    ck_assert_int_eq(di.has_mask, 0);
    dsn_dataset_free(ds);
    dsn_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, describe_and_bad_options);
    tcase_add_test(tc, sized_structs);
    tcase_add_test(tc, learns_and_swaps_content);
    tcase_add_test(tc, save_load_and_exact_resume);
    tcase_add_test(tc, fit_with_validation_checkpoint_and_stop);
    tcase_add_test(tc, fit_writes_the_training_log);
    tcase_add_test(tc, dataset_from_audio_manifest);
    tcase_add_test(tc, encode_masked_sequences);
    tcase_add_test(tc, fit_resume_is_bit_exact);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
