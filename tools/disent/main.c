/* main.c - `disent`: train, inspect and use libdisent models from the shell.
 *
 *   disent SUBCOMMAND [ARGS...]      disent SUBCOMMAND --help
 *
 * A host program of the public API (include/disent.h) only. Subcommands are
 * rows of the table below; each lives in cmd_NAME.c (see cli.h). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

/* One row per subcommand, in the order `disent help` lists them. */
static const command commands[] = {
    {"train", cmd_train, "train a model (options file and/or --set flags); Ctrl-C checkpoints; --resume"},
    {"encode", cmd_encode, "observations -> one .npy per latent part (groups for evidence accumulation)"},
    {"swap", cmd_swap, "exchange a latent part between two sets of observations; PNG swap grid"},
    {"decode", cmd_decode, "latent .npy files (as written by encode) -> observations (.npy, PNG)"},
    {"train-prior", cmd_train_prior, "train the code prior of a VQ-VAE (its second stage); Ctrl-C; --resume"},
    {"sample", cmd_sample, "draw latents from the prior and decode them (.npy, PNG, codes, --wav)"},
    {"eval", cmd_eval, "evaluate a model: sequence-model swaps on a clip manifest (F1, pitch accuracy, timbre transfer)"},
    {"bank", cmd_bank, "store the static latent (timbre) of reference clips in a model's bank, for streaming"},
    {"info", cmd_info, "describe and validate a model or checkpoint file"},
    {"plot", cmd_plot, "draw a training log (train --log DIR) as loss curves in a PNG"},
};
enum { N_COMMANDS = sizeof commands / sizeof *commands };

static void help(FILE *f)
{
    fprintf(f, "usage: disent SUBCOMMAND [ARGS...]   (libdisent %s)\n\nSubcommands:\n", dsn_version_string());
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-12s %s\n\n", "help [CMD]", "this list, or the help of one subcommand");
    fprintf(f, "Run `disent SUBCOMMAND --help` for its arguments. Guide: docs/cli.md.\n\n");
    fprintf(f, "Exit status: 0 success; 1 a library call failed (disent: <what>: <status>: <detail>);\n"
               "2 bad usage (an unknown flag, a missing value); 130 training was interrupted\n"
               "(Ctrl-C or SIGTERM; the checkpoint was saved).\n");
}

/* OpenBLAS on a CPU it does not know runs its SSE3 kernels (gemms ~4x
 * slower); it reads OPENBLAS_CORETYPE once, when it is loaded, so set it and
 * start again. Once only: the variable is set in the new process. On failure
 * (no /proc) the program just runs on. */
static void blas_core_restart(char **argv)
{
    const char *core = dsn_blas_coretype_hint();
    if (!core || setenv("OPENBLAS_CORETYPE", core, 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");
}

int main(int argc, char **argv)
{
    blas_core_restart(argv);
    if (dsn_version_number() / 10000 != DSN_VERSION_MAJOR) {
        fprintf(stderr, "disent: built for libdisent %s but linked with %s\n", DSN_VERSION_STRING,
                dsn_version_string());
        return 1;
    }
    if (argc < 2) {
        help(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (cli_is_help(name) || !strcmp(name, "help")) {
        if (!strcmp(name, "help") && argc > 2) {
            for (int i = 0; i < N_COMMANDS; i++)
                if (!strcmp(commands[i].name, argv[2])) {
                    char *args[] = {argv[2], (char *)"--help", NULL};
                    return commands[i].run(2, args);
                }
            fprintf(stderr, "disent: no subcommand '%s'\n", argv[2]);
            return 2;
        }
        help(stdout);
        return 0;
    }
    if (!strcmp(name, "--version")) {
        printf("disent %s\n", dsn_version_string());
        return 0;
    }
    /* under mpirun or srun: MPI for data-parallel training (docs/scale-out.md) */
    if (cli_mpi_start(&argc, &argv) < 0) {
        fprintf(stderr, "disent: MPI_Init failed\n");
        return 1;
    }
    name = argv[1];
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, name)) return cli_mpi_end(commands[i].run(argc - 1, argv + 1));
    fprintf(stderr, "disent: no subcommand '%s' (see: disent help)\n", name);
    return cli_mpi_end(2);
}
