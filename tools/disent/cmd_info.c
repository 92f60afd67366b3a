/* cmd_info.c - `disent info MODEL`: describe and validate a model file. */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char info_help[] =
    "usage: disent info MODEL...\n"
    "\n"
    "Loads each model or checkpoint file (checking its CRC and every size) and prints its\n"
    "family, options, latent parts (name, scope, floats per row), parameter count,\n"
    "observation shape, file size and, for a checkpoint, the optimizer's update count.\n"
    "A damaged, truncated or foreign file is an error (exit status 1).\n";

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

static int info_one(const char *path)
{
    dsn_model *m = NULL;
    dsn_status st = dsn_model_load(&m, path);
    if (st != DSN_OK) {
        char what[600];
        snprintf(what, sizeof what, "loading '%s'", path);
        return cli_fail(what, st);
    }
    struct stat sb;
    long long bytes = stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
    printf("file:        %s (%lld bytes, valid)\n", path, bytes);
    printf("family:      %s\n", dsn_model_family(m));
    const dsn_options *o = dsn_model_options(m);
    printf("options:    ");
    if (dsn_options_count(o) == 0) printf(" (defaults)");
    for (size_t i = 0; i < dsn_options_count(o); i++) {
        const char *k = dsn_options_key(o, i);
        printf(" %s=%s", k, dsn_options_get(o, k));
    }
    printf("\n");
    size_t dims[3] = {0};
    int nd = dsn_model_obs_shape(m, dims, 3);
    printf("observation: [");
    for (int i = 0; i < nd; i++) printf("%s%zu", i ? ", " : "", dims[i]);
    printf("] (%zu floats)\n", dsn_model_obs_size(m));
    printf("parameters:  %zu\n", dsn_model_num_params(m));
    printf("parts:       %d\n", dsn_model_num_parts(m));
    for (int i = 0; i < dsn_model_num_parts(m); i++)
        printf("  %-12s scope %-8s dim %d\n", dsn_model_part_name(m, i), scope_name(dsn_model_part_scope(m, i)),
               dsn_model_part_dim(m, i));
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
    for (int i = 1; i < argc; i++)
        if (cli_is_help(argv[i])) {
            fputs(info_help, stdout);
            return 0;
        }
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') return cli_usage_error("info", "unknown flag '%s'", argv[i]);
        if (i > 1) printf("\n");
        if (info_one(argv[i])) rc = 1;
    }
    return rc;
}
