/* test_golden.c - compatibility kept from this version on: model files of
 * every family, written once by this version into tests/data/golden/, must
 * load in every later version and give the stored outputs.
 *
 * For each family a small model is trained a few steps on fixed inputs (so
 * its weights and training state are not the initial ones) and saved:
 * ml-vae (a checkpoint with Adam state), dsae, ts-dsae (in its full stage,
 * with the stage-1 snapshot) and vq-vae (EMA codebook with restarts, then its
 * prior stage: the file carries the MSTA training-state section). The test
 * loads each file, checks what it describes (family, stage, epoch, sizes),
 * encodes and decodes fixed inputs and compares with the stored outputs
 * (*.expected, text: one value per line) within a tolerance that allows for
 * kernel changes (float sums in another order), and the VQ-VAE's codes and a
 * seeded prior sample exactly. The golden files are never rewritten by the
 * test: regenerate them only for a deliberate format break (and say so in
 * docs/api-changes.md), with
 *     DSN_GOLDEN_WRITE=1 build/tests/test_golden */
#include "disent.h"
#include "support/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN_DIR DSN_SOURCE_DIR "/tests/data/golden"
#define N_ITEMS 4
#define MAXV 8192

typedef struct family {
    const char *file, *family, *options, *stage;
    int steps, epochs, prior_steps;
} family;

static const family families[] = {
    {"ml-vae", "ml-vae", "input_dim=36, hidden=16, style_dim=3, content_dim=2, seed=11", NULL, 6, 0, 0},
    {"dsae", "dsae",
     "frames=6, n_mels=5, v_dim=3, z_dim=2, hidden=6:6, dec_hidden=6, prior_hidden=4, encoder_lstm=4, decoder_lstm=4,"
     " seed=12",
     NULL, 5, 0, 0},
    {"ts-dsae", "ts-dsae",
     "frames=6, n_mels=5, v_dim=3, z_dim=2, hidden=6:6, dec_hidden=6, prior_hidden=4, encoder_lstm=4, decoder_lstm=4,"
     " constrained_epochs=0, seed=13",
     "full", 5, 0, 0},
    {"vq-vae", "vq-vae",
     "channels=1, height=8, width=8, hidden=6, res_blocks=1, res_channels=3, code_dim=4, num_codes=12,"
     " codebook_update=ema, restart_dead=1, dead_after=2, restart_every=2, restart_buffer=20, prior_channels=4,"
     " prior_layers=2, prior_hidden=8, seed=14",
     "prior", 6, 0, 4},
};

/* fixed inputs in [0.1, 0.9]: a formula, not an RNG, so they never change */
static void inputs(float *x, size_t n, size_t d, int family_index)
{
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < d; i++)
            x[k * d + i] = 0.5f + 0.4f * sinf(0.37f * (float)i + 1.1f * (float)k + 0.5f * (float)family_index);
}

static void path_of(char *buf, size_t len, const char *name, const char *ext)
{
    snprintf(buf, len, "%s/%s%s", GOLDEN_DIR, name, ext);
}

/* the outputs compared: every part's mean (or codes and values), the decode */
typedef struct outputs {
    size_t n;
    double v[MAXV];
} outputs;

static void push(outputs *o, double v)
{
    ck_assert_int_lt(o->n, MAXV);
    o->v[o->n++] = v;
}

static void outputs_of(dsn_model *m, int fi, outputs *o, int32_t *codes, size_t *n_codes)
{
    dsn_model_info info = host_info(m);
    size_t d = info.obs_size;
    float *x = malloc(sizeof(float) * N_ITEMS * d), *y = malloc(sizeof(float) * N_ITEMS * d);
    float buf[MAXV];
    inputs(x, N_ITEMS, d, fi);
    dsn_session *s;
    dsn_encoding *e;
    ck_assert_int_eq(dsn_session_create(&s, m, N_ITEMS), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&e, m, N_ITEMS), DSN_OK);
    int32_t groups[N_ITEMS] = {0, 0, 1, 1};
    dsn_batch_args args = DSN_BATCH_ARGS_INIT;
    args.groups = groups;
    ck_assert_msg(dsn_encode(s, e, x, N_ITEMS, &args) == DSN_OK, "%s", dsn_last_error());
    o->n = 0;
    *n_codes = 0;
    for (int p = 0; p < info.num_parts; p++) {
        dsn_part_info pi = host_part(m, p);
        size_t rows = 0, dim = 0;
        const char *field = pi.kind == DSN_PART_CODES ? "value" : "mean";
        ck_assert_int_eq(dsn_encoding_get(e, buf, MAXV, &rows, &dim, pi.name, field), DSN_OK);
        for (size_t i = 0; i < rows * dim; i++) push(o, buf[i]);
        if (pi.kind == DSN_PART_CODES) {
            size_t nc = 0;
            ck_assert_int_eq(dsn_encoding_get_codes(e, codes, 1024, &nc, pi.name), DSN_OK);
            *n_codes = nc;
        }
    }
    ck_assert_int_eq(dsn_decode(s, y, N_ITEMS * d, e), DSN_OK);
    for (size_t i = 0; i < N_ITEMS * d; i++) push(o, y[i]);
    if (*n_codes) { /* a seeded draw from the prior, decoded */
        ck_assert_int_eq(dsn_encoding_prepare(e, N_ITEMS, NULL), DSN_OK);
        ck_assert_int_eq(dsn_sample(s, e, "codes", 77), DSN_OK);
        size_t nc = 0;
        ck_assert_int_eq(dsn_encoding_get_codes(e, codes + *n_codes, 1024, &nc, "codes"), DSN_OK);
        *n_codes += nc;
        ck_assert_int_eq(dsn_decode(s, y, N_ITEMS * d, e), DSN_OK);
        for (size_t i = 0; i < N_ITEMS * d; i++) push(o, y[i]);
    }
    dsn_encoding_free(e);
    dsn_session_free(s);
    free(x);
    free(y);
}

/* ---- writing (DSN_GOLDEN_WRITE=1 only) ---- */

static dsn_model *make_trained(const family *f, int fi, dsn_optimizer **opt_out)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(o, f->options), DSN_OK);
    dsn_model *m = NULL;
    ck_assert_msg(dsn_model_create(&m, f->family, o) == DSN_OK, "%s", dsn_last_error());
    dsn_options_free(o);
    if (f->stage && strcmp(f->stage, "prior") != 0) ck_assert_int_eq(dsn_model_set_stage(m, f->stage), DSN_OK);
    dsn_optimizer *opt = NULL;
    ck_assert_int_eq(dsn_optimizer_create(&opt, m, "adam", NULL), DSN_OK);
    size_t d = host_info(m).obs_size;
    float *x = malloc(sizeof(float) * 8 * d);
    inputs(x, 8, d, fi + 10);
    int32_t groups[8] = {0, 0, 1, 1, 2, 2, 3, 3};
    dsn_batch_args args = DSN_BATCH_ARGS_INIT;
    args.groups = groups;
    for (int s = 0; s < f->steps; s++)
        ck_assert_msg(dsn_train_step(m, opt, NULL, x, 8, &args) == DSN_OK, "%s", dsn_last_error());
    if (f->prior_steps) {
        ck_assert_int_eq(dsn_model_set_stage(m, "prior"), DSN_OK);
        dsn_optimizer_free(opt);
        ck_assert_int_eq(dsn_optimizer_create(&opt, m, "adam", NULL), DSN_OK);
        for (int s = 0; s < f->prior_steps; s++)
            ck_assert_msg(dsn_train_step(m, opt, NULL, x, 8, &args) == DSN_OK, "%s", dsn_last_error());
    }
    free(x);
    *opt_out = opt;
    return m;
}

static void write_expected(const char *name, const outputs *o, const int32_t *codes, size_t n_codes)
{
    char path[1024];
    path_of(path, sizeof path, name, ".expected");
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "# %s golden outputs: values %zu, codes %zu (test_golden.c)\n", name, o->n, n_codes);
    fprintf(fp, "values %zu\n", o->n);
    for (size_t i = 0; i < o->n; i++) fprintf(fp, "%.9g\n", o->v[i]);
    fprintf(fp, "codes %zu\n", n_codes);
    for (size_t i = 0; i < n_codes; i++) fprintf(fp, "%d\n", (int)codes[i]);
    ck_assert_int_eq(fclose(fp), 0);
}

/* ---- reading ---- */

static int read_expected(const char *name, outputs *o, int32_t *codes, size_t *n_codes)
{
    char path[1024], line[256];
    path_of(path, sizeof path, name, ".expected");
    FILE *fp = fopen(path, "r");
    if (!fp) return 0;
    size_t n = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp)); /* comment */
    ck_assert_int_eq(fscanf(fp, "values %zu\n", &n), 1);
    ck_assert_uint_le(n, MAXV);
    o->n = n;
    for (size_t i = 0; i < n; i++) ck_assert_int_eq(fscanf(fp, "%lf\n", &o->v[i]), 1);
    ck_assert_int_eq(fscanf(fp, "codes %zu\n", n_codes), 1);
    for (size_t i = 0; i < *n_codes; i++) {
        int c;
        ck_assert_int_eq(fscanf(fp, "%d\n", &c), 1);
        codes[i] = c;
    }
    fclose(fp);
    return 1;
}

START_TEST(golden_files)
{
    const family *f = &families[_i];
    char path[1024];
    path_of(path, sizeof path, f->file, ".dsn");
    static outputs got, want;
    int32_t codes[2048], want_codes[2048];
    size_t n_codes = 0, n_want = 0;
    if (getenv("DSN_GOLDEN_WRITE")) {
        dsn_optimizer *opt = NULL;
        dsn_model *m = make_trained(f, _i, &opt);
        /* ml-vae: a checkpoint (optimizer state too); the others weights + state */
        ck_assert_int_eq(dsn_model_save(m, strcmp(f->family, "ml-vae") ? NULL : opt, path), DSN_OK);
        dsn_optimizer_free(opt);
        dsn_model_free(m);
        ck_assert_int_eq(dsn_model_load(&m, path), DSN_OK);
        outputs_of(m, _i, &got, codes, &n_codes);
        write_expected(f->file, &got, codes, n_codes);
        dsn_model_free(m);
        fprintf(stderr, "golden: wrote %s and its outputs\n", path);
    }
    dsn_model *m = NULL;
    dsn_status st = dsn_model_load(&m, path);
    ck_assert_msg(st == DSN_OK, "%s: %s (a model file of this version must load in every later one)", path,
                  dsn_last_error());
    ck_assert_msg(read_expected(f->file, &want, want_codes, &n_want), "no expected outputs for %s", f->file);
    dsn_model_info info = host_info(m);
    ck_assert_str_eq(info.family, f->family);
    /* the file holds the resolved options (every key the family reads, with
     * the value it used), so a later change of a default cannot change the
     * model a file rebuilds */
    const dsn_options *saved = dsn_model_options(m);
    size_t n_saved = dsn_options_count(saved);
    ck_assert_msg(n_saved >= 8, "%s stores only %zu options", f->file, n_saved);
    ck_assert_ptr_nonnull(dsn_options_get(saved, "seed"));
    if (f->stage) ck_assert_str_eq(info.stage, f->stage);
    else ck_assert_ptr_null(info.stage);
    outputs_of(m, _i, &got, codes, &n_codes);
    ck_assert_uint_eq(got.n, want.n);
    double worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < got.n; i++) {
        double err = fabs(got.v[i] - want.v[i]) / (1e-3 + fabs(want.v[i]));
        if (err > worst) worst = err, at = i;
    }
    ck_assert_msg(worst < 2e-3, "%s: output %zu is %.9g, the golden file says %.9g", f->file, at, got.v[at],
                  want.v[at]);
    ck_assert_uint_eq(n_codes, n_want);
    for (size_t i = 0; i < n_codes; i++)
        ck_assert_msg(codes[i] == want_codes[i], "%s: code %zu is %d, the golden file says %d", f->file, i,
                      (int)codes[i], (int)want_codes[i]);
    if (!strcmp(f->family, "ml-vae")) { /* the checkpoint resumes: the optimizer state loads */
        dsn_optimizer *opt = NULL;
        ck_assert_int_eq(dsn_optimizer_load(&opt, m, path), DSN_OK);
        ck_assert_int_eq(dsn_optimizer_steps(opt), f->steps);
        dsn_optimizer_free(opt);
    }
    if (!strcmp(f->family, "vq-vae")) { /* its training state (MSTA) came back: the tracker counts steps again */
        size_t ns = 0;
        ck_assert_int_eq(dsn_model_stats(m, NULL, NULL, 0, &ns, NULL), DSN_OK);
        ck_assert_uint_gt(ns, 0);
    }
    dsn_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, golden_files, 0, (int)(sizeof families / sizeof *families));
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
