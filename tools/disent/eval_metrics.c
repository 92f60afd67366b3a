/* eval_metrics.c - `disent eval --metrics`: disentanglement metrics (MIG,
 * DCI, SAP, modularity, explicitness; dsn_factor_metrics, docs/metrics.md)
 * of latents against known factors, from a .npy of latents (any model, any
 * tool) or from a model that encodes observations first. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cli_eval_metrics_help[] =
    "usage: disent eval --metrics LIST --factors F.npy --latents Z.npy [--set KEY=VALUE]... [--quiet]\n"
    "       disent eval MODEL --metrics LIST --factors F.npy DATA [--part NAME] [--set KEY=VALUE]... [--quiet]\n"
    "\n"
    "Disentanglement metrics of latents against known factors of variation (docs/metrics.md):\n"
    "LIST is a comma list of mig, dci (= dci_disentanglement, dci_completeness,\n"
    "dci_informativeness), sap, modularity, explicitness, or all. F.npy holds the factors\n"
    "[n] or [n, F]; Z.npy the latents [n, d] (e.g. a part written by `disent encode`).\n"
    "With MODEL, the observations of DATA (--mnist DIR [--test-set] | --npy X.npy) are\n"
    "encoded one by one (every item its own group) and the posterior means of each part\n"
    "(or of --part only) are scored.\n"
    "  --set KEY=VALUE  options of dsn_factor_metrics: continuous (auto | none | all |\n"
    "                   factor indices 0:3), bins (20), factor_bins (20), max_classes (64),\n"
    "                   train_fraction (0.8), seed (0), trees (100), depth (3), lr (0.1),\n"
    "                   split_bins (255)\n"
    "Output: a table, then `RESULT PART_METRIC value` lines (PART `latents` for --latents).\n"
    "Example:\n"
    "  disent eval m.dsn --metrics all --npy data/imagesets/shapes/test_x.npy \\\n"
    "      --factors data/imagesets/shapes/test_factors.npy --part style\n";

static int score(const char *what, const char *metrics, const float *z, size_t n, size_t d, const float *f,
                 size_t F, const dsn_options *o, int quiet)
{
    /* expand the list to name the values */
    char names[64][32];
    int k = 0;
    const char *p = metrics;
    static const char *const all[7] = {"mig", "dci_disentanglement", "dci_completeness", "dci_informativeness",
                                       "sap", "modularity", "explicitness"};
    while (*p && k < 57) {
        while (*p == ',' || *p == ' ') p++;
        size_t l = strcspn(p, ", ");
        if (!l) break;
        if (l == 3 && !strncmp(p, "all", 3))
            for (int q = 0; q < 7; q++) snprintf(names[k++], 32, "%s", all[q]);
        else if (l == 3 && !strncmp(p, "dci", 3))
            for (int q = 1; q < 4; q++) snprintf(names[k++], 32, "%s", all[q]);
        else
            snprintf(names[k++], 32, "%.*s", (int)(l < 31 ? l : 31), p);
        p += l;
    }
    double sc[64];
    dsn_status st = dsn_factor_metrics(sc, 64, metrics, z, n, d, f, F, o);
    if (st != DSN_OK) return cli_fail("factor metrics", st);
    if (!quiet) {
        printf("%s (%zu x %zu) against %zu factor%s:\n", what, n, d, F, F == 1 ? "" : "s");
        for (int q = 0; q < k; q++) printf("  %-22s %.4f\n", names[q], sc[q]);
    }
    for (int q = 0; q < k; q++) printf("RESULT %s_%s %.4f\n", what, names[q], sc[q]);
    return 0;
}

int cli_eval_metrics(int argc, char **argv)
{
    const char *model_path = NULL, *metrics = NULL, *factors = NULL, *latents = NULL, *part = NULL;
    int quiet = 0, rc = 0;
    cli_data data = {0};
    if (cli_help(argc, argv, cli_eval_metrics_help, (const char *)NULL)) return 0;
    dsn_options *o = NULL;
    if (dsn_options_create(&o) != DSN_OK) return cli_fail("options", DSN_E_NOMEM);
    for (int i = 1; i < argc && !rc; i++) {
        const char *v;
        int r;
        if ((r = cli_flag_value("eval", argc, argv, &i, "--metrics", &v))) rc = r < 0 ? 2 : (metrics = v, 0);
        else if ((r = cli_flag_value("eval", argc, argv, &i, "--factors", &v))) rc = r < 0 ? 2 : (factors = v, 0);
        else if ((r = cli_flag_value("eval", argc, argv, &i, "--latents", &v))) rc = r < 0 ? 2 : (latents = v, 0);
        else if ((r = cli_flag_value("eval", argc, argv, &i, "--part", &v))) rc = r < 0 ? 2 : (part = v, 0);
        else if ((r = cli_data_arg(&data, "eval", argc, argv, &i))) rc = r < 0 ? 2 : 0;
        else rc = cli_eval_arg(argc, argv, &i, o, &quiet, &model_path);
    }
    if (!rc && !factors) rc = cli_usage_error("eval", "--metrics needs --factors F.npy");
    if (!rc && !latents && !model_path) rc = cli_usage_error("eval", "give --latents Z.npy, or MODEL and its data");
    if (!rc && latents && model_path) rc = cli_usage_error("eval", "give either --latents or MODEL, not both");
    if (!rc && model_path && !cli_data_given(&data)) rc = cli_usage_error("eval", "MODEL needs data (--mnist DIR or --npy X.npy)");
    float *f = NULL, *z = NULL;
    size_t fs[4] = {0}, zs[4] = {0};
    int fnd = 0, znd = 0;
    if (!rc) rc = cli_npy_read_f32(factors, &f, fs, &fnd, 4);
    size_t n = fs[0], F = 1;
    for (int q = 1; q < fnd; q++) F *= fs[q];
    if (!rc && latents) {
        rc = cli_npy_read_f32(latents, &z, zs, &znd, 4);
        size_t d = 1;
        for (int q = 1; q < znd && !rc; q++) d *= zs[q];
        if (!rc && zs[0] != n)
            rc = cli_usage_error("eval", "%s has %zu rows, %s %zu", latents, zs[0], factors, n);
        if (!rc) rc = score("latents", metrics, z, n, d, f, F, o, quiet);
    } else if (!rc) {
        dsn_model *m = NULL;
        dsn_dataset *ds = NULL;
        dsn_status st = dsn_model_load(&m, model_path);
        if (st != DSN_OK) rc = cli_fail("loading the model", st);
        if (!rc && part) rc = cli_require_part("eval", m, part);
        if (!rc) rc = cli_data_load(&data, "eval", NULL, &ds);
        dsn_dataset_info di = DSN_DATASET_INFO_INIT;
        dsn_model_info mi = DSN_MODEL_INFO_INIT;
        if (!rc && (st = dsn_dataset_describe(ds, &di)) != DSN_OK) rc = cli_fail("data", st);
        if (!rc && (st = dsn_model_describe(m, &mi)) != DSN_OK) rc = cli_fail("model", st);
        if (!rc && di.size != n)
            rc = cli_usage_error("eval", "the data has %zu observations, %s %zu rows", di.size, factors, n);
        enum { CHUNK = 256 };
        dsn_session *s = NULL;
        dsn_encoding *e = NULL;
        size_t obs = mi.obs_size;
        float *x = NULL;
        if (!rc && ((st = dsn_session_create(&s, m, CHUNK)) != DSN_OK || (st = dsn_encoding_create(&e, m, CHUNK)) != DSN_OK))
            rc = cli_fail("session", st);
        if (!rc && !(x = malloc(sizeof(float) * CHUNK * obs))) rc = cli_fail("memory", DSN_E_NOMEM);
        for (int p = 0; !rc && p < mi.num_parts; p++) {
            dsn_part_info pi = DSN_PART_INFO_INIT;
            if ((st = dsn_model_part(m, &pi, p)) != DSN_OK) {
                rc = cli_fail("model", st);
                break;
            }
            const char *name = pi.name;
            if (part && strcmp(part, name)) continue;
            if (pi.scope != DSN_SCOPE_ITEM && pi.scope != DSN_SCOPE_GROUP) {
                if (part) rc = cli_usage_error("eval", "part '%s' has no single vector per observation", name);
                continue;
            }
            size_t d = (size_t)pi.dim;
            float *zz = malloc(sizeof(float) * n * d);
            if (!zz) rc = cli_fail("memory", DSN_E_NOMEM);
            for (size_t off = 0; !rc && off < n; off += CHUNK) {
                size_t k = n - off < CHUNK ? n - off : CHUNK;
                for (size_t i = 0; i < k && !rc; i++)
                    if ((st = dsn_dataset_get(ds, x + i * obs, obs, NULL, off + i)) != DSN_OK) rc = cli_fail("data", st);
                if (!rc && (st = dsn_encode(s, e, x, k, NULL)) != DSN_OK) rc = cli_fail("encoding", st);
                if (!rc && (st = dsn_encoding_get(e, zz + off * d, k * d, NULL, NULL, name, "mean")) != DSN_OK)
                    rc = cli_fail("encoding", st);
            }
            if (!rc) rc = score(name, metrics, zz, n, d, f, F, o, quiet);
            free(zz);
        }
        free(x);
        dsn_encoding_free(e);
        dsn_session_free(s);
        dsn_dataset_free(ds);
        dsn_model_free(m);
    }
    free(f);
    free(z);
    dsn_options_free(o);
    return rc;
}
