/* cmd_info.c - `disent info MODEL`: describe and validate a model file. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char info_help[] =
    "usage: disent info MODEL... [DATA]\n"
    "\n"
    "Loads each model or checkpoint file (checking its CRC and every size) and prints its\n"
    "family, options, latent parts (name, scope, floats per row), parameter count,\n"
    "observation shape, file size, epochs trained, the training stage, the audio front end\n"
    "it was trained with (sequence models trained on audio) and codebook\n"
    "figures (VQ-VAE) and, for a checkpoint, the optimizer's update count.\n"
    "A damaged, truncated or foreign file is an error (exit status 1).\n"
    "With DATA (the data flags of disent encode), the model's figures on that data are\n"
    "printed too (dsn_model_stats: mean loss terms; a VQ-VAE's codebook perplexity and\n"
    "codes used, its prior's bits per code).\n";

static const char *scope_name(dsn_scope s)
{
    switch (s) {
    case DSN_SCOPE_GROUP: return "group";
    case DSN_SCOPE_ITEM: return "item";
    case DSN_SCOPE_FRAME: return "frame";
    case DSN_SCOPE_POSITION: return "position";
    }
    return "?";
}

static int info_one(const char *path, const cli_data *data)
{
    dsn_model *m = NULL;
    if (cli_model_load(&m, path)) return 1;
    dsn_status st;
    struct stat sb;
    long long bytes = stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
    printf("file:        %s (%lld bytes, valid)\n", path, bytes);
    printf("family:      %s\n", host_info(m).family);
    const dsn_options *o = dsn_model_options(m);
    printf("options:    ");
    if (dsn_options_count(o) == 0) printf(" (defaults)");
    for (size_t i = 0; i < dsn_options_count(o); i++) {
        const char *k = dsn_options_key(o, i);
        printf(" %s=%s", k, dsn_options_get(o, k));
    }
    printf("\n");
    size_t dims[3] = {0};
    int nd = host_obs_shape(m, dims, 3);
    printf("observation: [");
    for (int i = 0; i < nd; i++) printf("%s%zu", i ? ", " : "", dims[i]);
    printf("] (%zu floats)\n", host_info(m).obs_size);
    printf("parameters:  %zu\n", host_info(m).num_params);
    printf("epochs:      %d\n", host_info(m).epoch);
    if (host_info(m).stage) printf("stage:       %s\n", host_info(m).stage);
    const dsn_options *fe = dsn_model_audio(m);
    if (fe) {
        printf("audio:      ");
        for (size_t i = 0; i < dsn_options_count(fe); i++)
            printf(" %s=%s", dsn_options_key(fe, i), dsn_options_get(fe, dsn_options_key(fe, i)));
        printf("\n");
    }
    if (cli_data_given(data)) { /* (the training tracker starts afresh at load: nothing to show without data) */
        const char *names[64];
        double vals[64];
        size_t ns = 0;
        dsn_dataset *ds = NULL;
        cli_audio audio = {0};
        if (cli_data_load_for(data, "info", &audio, m, &ds, NULL)) {
            dsn_model_free(m);
            return 1;
        }
        if ((st = dsn_model_stats(m, names, vals, 64, &ns, ds)) != DSN_OK) {
            dsn_dataset_free(ds);
            dsn_model_free(m);
            return cli_fail("measuring the model on the data", st);
        }
        printf("on the data (%zu observations):\n", host_ds(ds).size);
        for (size_t k = 0; k < ns && k < 64; k++) printf("  %-28s %.6g\n", names[k], vals[k]);
        dsn_dataset_free(ds);
    }
    dsn_clear_error();
    printf("parts:       %d\n", host_info(m).num_parts);
    for (int i = 0; i < host_info(m).num_parts; i++)
        printf("  %-12s scope %-8s dim %d\n", host_part(m, i).name, scope_name(host_part(m, i).scope),
               host_part(m, i).dim);
    if (dsn_model_bank_count(m)) {
        printf("timbres:     %zu (disent bank MODEL --list; streaming: docs/plugin.md)\n", dsn_model_bank_count(m));
        for (size_t i = 0; i < dsn_model_bank_count(m); i++) printf("  %zu  %s\n", i, dsn_model_bank_name(m, i));
    }
    dsn_optimizer *opt = NULL;
    if (dsn_optimizer_load(&opt, m, path) == DSN_OK) {
        printf("checkpoint:  yes (optimizer state after %lld updates; resume with disent train --resume)\n",
               (long long)dsn_optimizer_steps(opt));
        dsn_optimizer_free(opt);
    } else {
        printf("checkpoint:  no (weights only)\n");
    }
    dsn_clear_error();
    dsn_model_free(m);
    return 0;
}

int cmd_info(int argc, char **argv)
{
    if (argc < 2) return cli_usage_error("info", "give a model file");
    if (cli_help(argc, argv, info_help, (const char *)NULL)) return 0;
    int rc = 0, r, first = 1;
    cli_data data = {0};
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-') continue;
        if ((r = cli_data_arg(&data, "info", argc, argv, &i)) < 0) return 2;
        if (!r) return cli_usage_error("info", "unknown flag '%s'", argv[i]);
        if (data.audio_files) return cli_usage_error("info", "give a folder or CSV with --audio");
    }
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') { /* skip the data flags and their values */
            cli_data skip = {0};
            if (cli_data_arg(&skip, "info", argc, argv, &i) < 0) return 2;
            continue;
        }
        if (!first) printf("\n");
        first = 0;
        if (info_one(argv[i], &data)) rc = 1;
    }
    if (first) return cli_usage_error("info", "give a model file");
    return rc;
}
