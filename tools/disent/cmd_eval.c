/* cmd_eval.c - `disent eval`: evaluate a trained model. For sequence models
 * (DSAE, TS-DSAE) on a clip manifest: the listener-facing swap evaluation of
 * dsn_eval_swaps (swap macro-F1, log-mel errors, timbre transfer towards the
 * rendered truth, raw pitch accuracy against the inversion ceiling). */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char eval_help[] =
    "usage: disent eval MODEL --swaps MANIFEST.csv --label COLUMN [--set KEY=VALUE]... [--quiet]\n"
    "       disent eval [MODEL] --metrics LIST --factors F.npy ...   (see disent eval --metrics --help)\n"
    "\n"
    "Swap evaluation of a sequence model (DSAE, TS-DSAE) on the clips of a CSV manifest\n"
    "(a path column plus factor columns, as for `disent train --audio`). The clips whose\n"
    "split cell is `train` fit a classifier on v; those with `valid` are evaluated:\n"
    "macro-F1 of the instrument/speaker after reconstruction, global and local swap;\n"
    "log-mel MSE of the reconstruction; timbre transfer: MSE(global swap, rendered truth)\n"
    "against MSE(source, rendered truth) when a content column names the same notes in\n"
    "another class; raw pitch accuracy (50 cents) of the reconstruction and both swaps\n"
    "against the inversion ceiling (the same Griffin-Lim applied to the input's log-mel).\n"
    "\n"
    "  --label COLUMN       the static factor's column (instrument, speaker, ...); required\n"
    "  --set KEY=VALUE      options of dsn_eval_swaps: split (split), train (train),\n"
    "                       eval (valid), truth (melody; '' = none), notes (notes; absent:\n"
    "                       YIN F0 of the source audio), classifier (lda|logreg|centroid),\n"
    "                       pitch_clips (16), gl_iter (32), gl_momentum, nnls_iter, seed,\n"
    "                       cache, threads, min_tail, bad_clips (error|skip), and the\n"
    "                       feature keys (default: the model's audio front end)\n"
    "  --quiet              only the RESULT lines\n"
    "\n"
    "Output: a table, then `RESULT key value` lines for scripts (NaN where not measured).\n"
    "Example:\n"
    "  disent eval ts.dsn --swaps data/devsets/tim-flute-sax/factors.csv --label instrument\n"
    "\n";

static void result(const char *k, double v) { printf("RESULT %s %.4f\n", k, v); }

int cli_eval_arg(int argc, char **argv, int *i, dsn_options *opts, int *quiet, const char **model)
{
    const char *v, *a = argv[*i];
    int r = cli_flag_value("eval", argc, argv, i, "--set", &v);
    if (r < 0) return 2;
    if (r) {
        dsn_status st = dsn_options_parse(opts, v);
        return st != DSN_OK ? cli_fail("--set", st) : 0;
    }
    if (!strcmp(a, "--quiet")) *quiet = 1;
    else if (a[0] == '-') return cli_usage_error("eval", "unknown flag '%s'", a);
    else return cli_model_arg("eval", a, model);
    return 0;
}

int cmd_eval(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) /* the factor-metrics mode has its own flags */
        if (!strcmp(argv[i], "--metrics")) return cli_eval_metrics(argc, argv);
    const char *model_path = NULL, *manifest = NULL, *label = NULL;
    int quiet = 0;
    dsn_options *o = NULL;
    if (dsn_options_create(&o) != DSN_OK) return cli_fail("options", DSN_E_NOMEM);
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *v;
        int r;
        if (cli_is_help(argv[i])) {
            fputs(eval_help, stdout);
            dsn_options_free(o);
            return 0;
        }
        if ((r = cli_flag_value("eval", argc, argv, &i, "--swaps", &v))) rc = r < 0 ? 2 : (manifest = v, 0);
        else if ((r = cli_flag_value("eval", argc, argv, &i, "--label", &v))) rc = r < 0 ? 2 : (label = v, 0);
        else rc = cli_eval_arg(argc, argv, &i, o, &quiet, &model_path);
    }
    if (!rc && !model_path) rc = cli_usage_error("eval", "no MODEL given");
    if (!rc && !manifest) rc = cli_usage_error("eval", "nothing to evaluate: give --swaps MANIFEST.csv");
    if (!rc && !label) rc = cli_usage_error("eval", "--label COLUMN is required (the static factor's column)");
    if (rc) {
        dsn_options_free(o);
        return rc;
    }
    dsn_status st = dsn_options_set(o, "label", label);
    if (st != DSN_OK) {
        dsn_options_free(o);
        return cli_fail("options", st);
    }
    dsn_model *m = NULL;
    st = dsn_model_load(&m, model_path);
    if (st != DSN_OK) {
        dsn_options_free(o);
        return cli_fail("loading the model", st);
    }
    dsn_swap_eval r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    st = dsn_eval_swaps(&r, m, manifest, o);
    dsn_options_free(o);
    dsn_model_free(m);
    if (st != DSN_OK) return cli_fail("evaluating swaps", st);
    if (!quiet) {
        printf("swap evaluation of %s on %s (label '%s', %zu classes)\n", model_path, manifest, label, r.n_classes);
        printf("  classifier fitted on %zu training windows, %zu windows evaluated\n", r.n_train, r.n_eval);
        if (r.n_short_clips)
            printf("  note: %zu clips shorter than the model's window: %zu padded frames masked\n", r.n_short_clips,
                   r.n_masked_frames);
        if (r.n_dropped_frames)
            printf("  note: %zu tail frames shorter than min_tail left out of every window\n", r.n_dropped_frames);
        if (r.n_skipped_clips) printf("  note: %zu silent or clipped clips left out (bad_clips=skip)\n", r.n_skipped_clips);
        printf("  macro-F1   input v %.3f | pre-swap %.3f | global swap %.3f | local swap %.3f\n", r.f1_direct,
               r.f1_pre, r.f1_global, r.f1_local);
        printf("  log-mel MSE reconstruction %.3f | global swap to the source %.3f\n", r.mse_rec, r.mse_source_global);
        if (r.n_truth)
            printf("  timbre transfer (%zu swaps with a rendered truth): MSE(global swap, truth) %.3f vs "
                   "MSE(source, truth) %.3f, ratio %.3f; local swap %.3f vs %.3f\n",
                   r.n_truth, r.mse_truth_global, r.mse_truth_source, r.mse_truth_global / r.mse_truth_source,
                   r.mse_truth_local, r.mse_truth_local_source);
        else printf("  timbre transfer: no rendered truth (no content column)\n");
        if (r.pitch_reference)
            printf("  raw pitch accuracy (%zu clips, %zu voiced frames, against %s): ceiling %.3f | reconstruction "
                   "%.3f | global swap %.3f | local swap %.3f\n",
                   r.n_pitch, r.n_pitch_frames, r.pitch_reference == 1 ? "the notes" : "the source F0",
                   r.rpa_ceiling, r.rpa_rec, r.rpa_global, r.rpa_local);
    }
    result("f1_direct", r.f1_direct);
    result("f1_pre", r.f1_pre);
    result("f1_global", r.f1_global);
    result("f1_local", r.f1_local);
    result("mse_rec", r.mse_rec);
    result("mse_source_global", r.mse_source_global);
    result("mse_truth_global", r.mse_truth_global);
    result("mse_truth_source", r.mse_truth_source);
    result("transfer_ratio", r.n_truth ? r.mse_truth_global / r.mse_truth_source : NAN);
    result("mse_truth_local", r.mse_truth_local);
    result("mse_truth_local_source", r.mse_truth_local_source);
    result("rpa_ceiling", r.rpa_ceiling);
    result("rpa_rec", r.rpa_rec);
    result("rpa_global", r.rpa_global);
    result("rpa_local", r.rpa_local);
    printf("RESULT n_eval %zu\nRESULT n_train %zu\nRESULT n_masked_frames %zu\nRESULT n_dropped_frames %zu\n",
           r.n_eval, r.n_train, r.n_masked_frames, r.n_dropped_frames);
    return 0;
}
