/* test_eval_swaps.c - dsn_eval_swaps on a small synthetic manifest: counts,
 * the rendered-truth error against a direct computation, the pitch ceiling,
 * determinism, and every bad input of issue 15 (missing column, single
 * class, silent and clipped clips, clips shorter than a window). */
#include "support/testutil.h"

#include <check.h>
#include <disent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SR 16000
#define NS 8000 /* 0.5 s -> 1 + 8000 / 256 = 32 frames */
#define T 32

static char dir[512];

static const char *path_in(const char *name)
{
    static char buf[4][700];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* melody m (4 notes of 0.125 s) in timbre c (harmonic amplitudes 1/h or 1/h^3 with odd harmonics) */
static void tone(float *x, int m, int c, float gain)
{
    static const int notes[4][4] = {{60, 64, 67, 72}, {62, 65, 69, 74}, {67, 64, 60, 55}, {57, 60, 64, 69}};
    for (int i = 0; i < NS; i++) {
        int k = i / (NS / 4);
        double f = 440.0 * pow(2.0, (notes[m][k] - 69) / 12.0), t = (double)i / SR, s = 0;
        for (int h = 1; h <= 8; h++) {
            double a = c == 0 ? 1.0 / h : (h % 2 ? 1.0 / (h * h * h) : 0.3 / h);
            s += a * sin(2 * 3.14159265358979 * f * h * t);
        }
        x[i] = (float)(0.3 * s) * gain;
    }
}

static void write_clip(const char *name, int m, int c, float gain, int ns)
{
    float x[NS];
    tone(x, m, c, gain);
    ck_assert_int_eq(dsn_audio_write(path_in(name), x, (size_t)ns, SR, NULL), DSN_OK);
}

/* 4 melodies x 2 timbres; melodies 0-2 train, melody 3 valid */
static void make_set(void)
{
    snprintf(dir, sizeof dir, "%s/evswaps", tu_tmpdir());
    char cmd[700];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    FILE *f = fopen(path_in("factors.csv"), "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "path,instrument,melody,split,notes,same\n");
    static const int notes[4][4] = {{60, 64, 67, 72}, {62, 65, 69, 74}, {67, 64, 60, 55}, {57, 60, 64, 69}};
    for (int m = 0; m < 4; m++)
        for (int c = 0; c < 2; c++) {
            char name[64];
            snprintf(name, sizeof name, "c%d_%d.wav", m, c);
            write_clip(name, m, c, 1.0f, NS);
            fprintf(f, "%s,%s,%d,%s,", name, c ? "clar" : "saw", m, m == 3 ? "valid" : "train");
            for (int k = 0; k < 4; k++) fprintf(f, "%s%.3f:0.125:%d", k ? " " : "", 0.125 * k, notes[m][k]);
            fprintf(f, ",x\n");
        }
    fclose(f);
}

static dsn_model *make_model(void)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(o, "frames=32, hidden=16:16, dec_hidden=16:16, z_dim=4, v_dim=4, seed=3"),
                     DSN_OK);
    dsn_model *m;
    ck_assert_int_eq(dsn_model_create(&m, "ts-dsae", o), DSN_OK);
    dsn_options_free(o);
    return m;
}

static dsn_status eval(dsn_model *m, const char *manifest, const char *opts, dsn_swap_eval *r)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    if (opts) ck_assert_int_eq(dsn_options_parse(o, opts), DSN_OK);
    memset(r, 0, sizeof *r);
    r->struct_size = sizeof *r;
    dsn_status st = dsn_eval_swaps(r, m, manifest, o);
    dsn_options_free(o);
    return st;
}

static double mse_frames(const float *a, const float *b, size_t n) /* n = T * 80 */
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return s / (double)n;
}

START_TEST(counts_truth_and_ceiling)
{
    make_set();
    dsn_model *m = make_model();
    dsn_swap_eval r, r2;
    ck_assert_int_eq(eval(m, path_in("factors.csv"), "label=instrument, pitch_clips=2", &r), DSN_OK);
    ck_assert_uint_eq(r.n_train, 6);
    ck_assert_uint_eq(r.n_eval, 2);
    ck_assert_uint_eq(r.n_classes, 2);
    ck_assert_uint_eq(r.n_truth, 2);
    ck_assert_uint_eq(r.n_dropped_frames, 0);
    ck_assert_uint_eq(r.n_masked_frames, 0);
    ck_assert_int_eq(r.pitch_reference, 1);
    ck_assert_uint_eq(r.n_pitch, 2);
    ck_assert(r.f1_pre >= 0 && r.f1_pre <= 1 && r.f1_global >= 0 && r.f1_local <= 1);
    /* the truth of either valid clip's global swap is its twin: the other timbre */
    float a[T * 80], b[T * 80];
    size_t nf, nm;
    float x[NS];
    tone(x, 3, 0, 1);
    float *xa = NULL;
    size_t n;
    ck_assert_int_eq(dsn_audio_read(&xa, &n, NULL, path_in("c3_0.wav"), SR), DSN_OK);
    ck_assert_int_eq(dsn_audio_features(a, T * 80, &nf, &nm, xa, n, SR, NULL), DSN_OK);
    dsn_audio_free(xa);
    ck_assert_int_eq(dsn_audio_read(&xa, &n, NULL, path_in("c3_1.wav"), SR), DSN_OK);
    ck_assert_int_eq(dsn_audio_features(b, T * 80, &nf, &nm, xa, n, SR, NULL), DSN_OK);
    dsn_audio_free(xa);
    ck_assert_uint_eq(nf, T);
    ck_assert_double_eq_tol(r.mse_truth_source, mse_frames(a, b, T * 80), 1e-4 * r.mse_truth_source);
    ck_assert(r.mse_truth_source > 0.1);
    /* clean harmonic tones survive the inversion: a high ceiling; the
     * untrained model's output carries no melody */
    fprintf(stderr, "eval_swaps: ceiling %.3f, untrained rec %.3f, mse_rec %.2f\n", r.rpa_ceiling, r.rpa_rec,
            r.mse_rec);
    ck_assert(r.rpa_ceiling >= 0.8);
    ck_assert(r.rpa_rec < r.rpa_ceiling);
    ck_assert(r.mse_rec > 1.0);
    /* deterministic */
    ck_assert_int_eq(eval(m, path_in("factors.csv"), "label=instrument, pitch_clips=2", &r2), DSN_OK);
    ck_assert_mem_eq(&r, &r2, sizeof r);
    /* no notes column: the F0 of the source audio is the reference, and the
     * ceiling is still high; no truth column: no truth */
    ck_assert_int_eq(eval(m, path_in("factors.csv"), "label=instrument, pitch_clips=2, notes=, truth=", &r2), DSN_OK);
    ck_assert_int_eq(r2.pitch_reference, 2);
    ck_assert_uint_eq(r2.n_truth, 0);
    ck_assert(isnan(r2.mse_truth_global));
    ck_assert(r2.rpa_ceiling >= 0.8);
    /* train and eval the same split value: every clip fits and is evaluated */
    ck_assert_int_eq(eval(m, path_in("factors.csv"), "label=instrument, pitch_clips=0, split=same, train=x, eval=x", &r2),
                     DSN_OK);
    ck_assert_uint_eq(r2.n_train, 8);
    ck_assert_uint_eq(r2.n_eval, 8);
    ck_assert(isnan(r2.rpa_ceiling));
    dsn_model_free(m);
}
END_TEST

START_TEST(bad_input)
{
    make_set();
    dsn_model *m = make_model();
    dsn_swap_eval r;
    /* no label option; a missing column lists the columns */
    ck_assert_int_eq(eval(m, path_in("factors.csv"), NULL, &r), DSN_E_OPTION);
    ck_assert_int_eq(eval(m, path_in("factors.csv"), "label=speaker", &r), DSN_E_OPTION);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "speaker"));
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "instrument, melody, split, notes"));
    ck_assert_int_eq(eval(m, path_in("factors.csv"), "label=instrument, split=fold", &r), DSN_E_OPTION);
    /* a single class */
    ck_assert_int_eq(eval(m, path_in("factors.csv"), "label=same", &r), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "single class"));
    /* no clip in the eval split */
    ck_assert_int_eq(eval(m, path_in("factors.csv"), "label=instrument, eval=test", &r), DSN_E_INVALID);
    /* too small a report */
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r - 8;
    ck_assert_int_eq(dsn_eval_swaps(&r, m, path_in("factors.csv"), NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_eval_swaps(NULL, m, path_in("factors.csv"), NULL), DSN_E_INVALID);

    /* a silent clip, a clipped clip, a short clip */
    write_clip("silent.wav", 0, 0, 0.0f, NS);
    write_clip("loud.wav", 1, 1, 8.0f, NS);
    write_clip("short.wav", 2, 0, 1.0f, NS / 2);
    FILE *f = fopen(path_in("bad.csv"), "w");
    ck_assert_ptr_nonnull(f);
    FILE *g = fopen(path_in("factors.csv"), "r");
    char line[512];
    while (fgets(line, sizeof line, g)) fputs(line, f);
    fclose(g);
    fprintf(f, "silent.wav,saw,9,valid,0:0.5:60,x\n");
    fclose(f);
    ck_assert_int_eq(eval(m, path_in("bad.csv"), "label=instrument, pitch_clips=1", &r), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "silent.wav"));
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "silent"));
    ck_assert_int_eq(eval(m, path_in("bad.csv"), "label=instrument, pitch_clips=1, bad_clips=skip", &r), DSN_OK);
    ck_assert_uint_eq(r.n_skipped_clips, 1);
    ck_assert_uint_eq(r.n_eval, 2);
    f = fopen(path_in("bad.csv"), "a");
    fprintf(f, "loud.wav,clar,8,valid,0:0.5:62,x\n");
    fclose(f);
    ck_assert_int_eq(eval(m, path_in("bad.csv"), "label=instrument, pitch_clips=1, bad_clips=skip", &r), DSN_OK);
    ck_assert_uint_eq(r.n_skipped_clips, 2);
    /* the short clip: one padded window, its frames masked and counted */
    f = fopen(path_in("short.csv"), "w");
    g = fopen(path_in("factors.csv"), "r");
    while (fgets(line, sizeof line, g)) fputs(line, f);
    fclose(g);
    fprintf(f, "short.wav,saw,7,valid,0:0.25:67,x\n");
    fclose(f);
    ck_assert_int_eq(eval(m, path_in("short.csv"), "label=instrument, pitch_clips=3", &r), DSN_OK);
    ck_assert_uint_eq(r.n_short_clips, 1);
    ck_assert_uint_eq(r.n_eval, 3);
    ck_assert_uint_eq(r.n_masked_frames, T - (1 + (NS / 2) / 256));
    ck_assert(isfinite(r.mse_rec) && isfinite(r.rpa_ceiling));
    /* a manifest without a split column: every clip fits and is evaluated */
    f = fopen(path_in("nosplit.csv"), "w");
    fprintf(f, "path,instrument\nc0_0.wav,saw\nc0_1.wav,clar\nc1_0.wav,saw\nc1_1.wav,clar\n");
    fclose(f);
    ck_assert_int_eq(eval(m, path_in("nosplit.csv"), "label=instrument, pitch_clips=1", &r), DSN_OK);
    ck_assert_uint_eq(r.n_train, 4);
    ck_assert_uint_eq(r.n_eval, 4);
    ck_assert_int_eq(r.pitch_reference, 2);
    /* a bad notes cell is an error naming the clip */
    f = fopen(path_in("notes.csv"), "w");
    fprintf(f, "path,instrument,split,notes\nc0_0.wav,saw,train,0:0.5:60\nc0_1.wav,clar,train,0:0.5:60\n"
               "c1_0.wav,saw,valid,sixty\nc1_1.wav,clar,valid,0:0.5:62\n");
    fclose(f);
    ck_assert_int_eq(eval(m, path_in("notes.csv"), "label=instrument, pitch_clips=2", &r), DSN_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "c1_0.wav"));
    /* a model that is not a sequence model */
    dsn_model *v;
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(o, "input_dim=16, hidden=8"), DSN_OK);
    if (dsn_model_create(&v, "ml-vae", o) == DSN_OK) {
        ck_assert_int_eq(eval(v, path_in("factors.csv"), "label=instrument", &r), DSN_E_INVALID);
        dsn_model_free(v);
    }
    dsn_options_free(o);
    dsn_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eval_swaps");
    TCase *tc = tcase_create("eval_swaps");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, counts_truth_and_ceiling);
    tcase_add_test(tc, bad_input);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
