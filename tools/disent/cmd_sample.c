/* cmd_sample.c - `disent sample`: latents drawn from the model's prior, decoded. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char sample_help[] =
    "usage: disent sample MODEL [-n N] [--seed S] [--temperature T] [--top-k K] --out DIR\n"
    "                     [--part NAME [DATA [--index LIST]]] [--image HxW] [--cols N] [--wav ...]\n"
    "\n"
    "Draws latents from the model's prior (dsn_sample; the same seed gives the same draws)\n"
    "and decodes them. Without --part every part is drawn from the prior: VQ-VAE codes\n"
    "position by position from the trained autoregressive prior (train it first with\n"
    "disent train-prior), DSAE/TS-DSAE the global part from N(0, I) and the local part from\n"
    "the LSTM prior, ML-VAE content and style from N(0, I).\n"
    "With --part NAME only that part is drawn; the other parts come from encoding DATA\n"
    "(rows --index LIST, default the first N rows; N = the number of rows), or are zeros\n"
    "(the prior mean) without DATA, e.g. new styles for the contents of given digits.\n"
    "\n"
    "Writes, in DIR (created if needed):\n"
    "  samples.npy     float32 [N, observation shape...]: the decoded samples\n"
    "  samples.png     image or spectrogram grid (N per row: --cols, default 16 or 4)\n"
    "  PART.npy        the latents in the layout of disent encode (float32 values; for a\n"
    "                  part with codes, such as VQ-VAE's `codes`, int32 [N, positions] code\n"
    "                  indices and PART.value.npy the code vectors), and groups.npy: so\n"
    "                  `disent decode MODEL --in DIR` decodes them again\n"
    "  sample_I.wav    with --wav (sequence models): Griffin-Lim audio of each sample\n"
    "\n"
    "  -n N            number of samples (default 16)\n"
    "  --seed S        random seed of the draws (default 1)\n"
    "  --temperature T VQ-VAE: divide the prior's logits by T (0: the most likely code)\n"
    "  --top-k K       VQ-VAE: draw among the K most likely codes only (0: all)\n"
    "                  (defaults: the model's options temperature (1) and top_k (0))\n"
    "\n"
    "Examples:\n"
    "  disent sample vq-prior.dsn -n 64 --seed 7 --temperature 0.8 --out samples/\n"
    "  disent sample mnist.dsn --part style --mnist data/mnist --test-set --index 0-15 --out styles/\n"
    "  disent sample seq.dsn -n 4 --out gen/ --wav --sample-rate 16000\n"
    "\n";

/* the latents of enc in encode's layout: PART.npy (values, or codes), PART.value.npy, groups.npy */
static int write_parts(const dsn_model *m, const dsn_encoding *e, size_t n, const char *dir)
{
    char path[1200], file[200];
    int rc = 0;
    for (int p = 0; p < host_info(m).num_parts && !rc; p++) {
        const char *name = host_part(m, p).name;
        size_t rows = 0, dim = 0;
        float *v = NULL;
        int32_t *codes = NULL;
        dsn_status st = dsn_encoding_get(e, NULL, 0, &rows, &dim, name, "value");
        if (st == DSN_OK && !(v = malloc(rows * dim * sizeof *v + 1))) st = DSN_E_NOMEM;
        if (st == DSN_OK) st = dsn_encoding_get(e, v, rows * dim, NULL, NULL, name, "value");
        if (st != DSN_OK) {
            free(v);
            return cli_fail("reading the latents", st);
        }
        int has_codes = cli_part_has_codes(m, name);
        snprintf(file, sizeof file, has_codes ? "%s.value.npy" : "%s.npy", name);
        cli_join(path, sizeof path, dir, file);
        size_t shape[2] = {rows, dim};
        rc = cli_npy_write_f32(path, v, shape, 2);
        if (!rc && has_codes) {
            size_t crow = 0;
            st = dsn_encoding_get_codes(e, NULL, 0, &crow, name);
            if (st == DSN_OK && !(codes = malloc(crow * sizeof *codes + 1))) st = DSN_E_NOMEM;
            if (st == DSN_OK) st = dsn_encoding_get_codes(e, codes, crow, NULL, name);
            if (st != DSN_OK) rc = cli_fail("reading the codes", st);
            else {
                size_t cshape[2] = {n, n ? crow / n : 0};
                snprintf(file, sizeof file, "%s.npy", name);
                cli_join(path, sizeof path, dir, file);
                rc = cli_npy_write_i32(path, codes, cshape, 2);
            }
        }
        free(v);
        free(codes);
    }
    if (rc) return rc;
    int32_t *g = malloc((n + 1) * sizeof *g);
    if (!g) return cli_fail("sample", DSN_E_NOMEM);
    dsn_status st = dsn_encoding_groups(e, g, n, NULL, NULL);
    if (st == DSN_OK) {
        size_t shape[1] = {n};
        cli_join(path, sizeof path, dir, "groups.npy");
        rc = cli_npy_write_i32(path, g, shape, 1);
    } else {
        rc = cli_fail("reading the groups", st);
    }
    free(g);
    return rc;
}

int cmd_sample(int argc, char **argv)
{
    const char *model_path = NULL, *out = NULL, *part = NULL, *image = NULL, *index = NULL, *v;
    const char *temp_s = NULL, *topk_s = NULL;
    size_t n = 16, cols = 0;
    uint64_t seed = 1;
    int r, rc = 0, n_given = 0;
    cli_data data = {0};
    cli_audio audio = {0};
    if (cli_help(argc, argv, sample_help, cli_data_help, cli_audio_help, (const char *)NULL)) return 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-') {
            if ((r = cli_model_arg("sample", argv[i], &model_path)) != 0) return r;
        } else if ((r = cli_flag_value("sample", argc, argv, &i, "-n", &v)) != 0) {
            if (r < 0) return 2;
            char *end;
            long long x = strtoll(v, &end, 10);
            if (*end || x < 1 || x > (1LL << 24)) return cli_usage_error("sample", "-n %s: a positive count expected", v);
            n = (size_t)x;
            n_given = 1;
        } else if ((r = cli_flag_value("sample", argc, argv, &i, "--seed", &v)) != 0) {
            if (r < 0) return 2;
            char *end;
            seed = strtoull(v, &end, 10);
            if (*end || !*v) return cli_usage_error("sample", "--seed %s: a non-negative integer expected", v);
        } else if ((r = cli_flag_value("sample", argc, argv, &i, "--cols", &v)) != 0) {
            if (r < 0) return 2;
            cols = (size_t)atol(v);
            if (!cols) return cli_usage_error("sample", "--cols %s: a positive count expected", v);
        } else if ((r = cli_flag_value("sample", argc, argv, &i, "--out", &out)) != 0 ||
                   (r = cli_flag_value("sample", argc, argv, &i, "--part", &part)) != 0 ||
                   (r = cli_flag_value("sample", argc, argv, &i, "--image", &image)) != 0 ||
                   (r = cli_flag_value("sample", argc, argv, &i, "--index", &index)) != 0 ||
                   (r = cli_flag_value("sample", argc, argv, &i, "--temperature", &temp_s)) != 0 ||
                   (r = cli_flag_value("sample", argc, argv, &i, "--top-k", &topk_s)) != 0 ||
                   (r = cli_data_arg(&data, "sample", argc, argv, &i)) != 0 ||
                   (r = cli_audio_arg(&audio, "sample", argc, argv, &i)) != 0) {
            if (r < 0) return 2;
        } else {
            return cli_usage_error("sample", "unknown flag '%s'", argv[i]);
        }
    }
    if (!model_path) return cli_usage_error("sample", "give a model file");
    if (!out) return cli_usage_error("sample", "give the output folder with --out DIR");
    if (cli_data_given(&data) && !part)
        return cli_usage_error("sample", "DATA gives the parts that are not drawn: use it with --part NAME");
    if (index && !cli_data_given(&data)) return cli_usage_error("sample", "--index goes with DATA");

    dsn_model *m = NULL;
    dsn_dataset *ds = NULL;
    dsn_session *s = NULL;
    dsn_encoding *e = NULL;
    size_t *idx = NULL;
    float *x = NULL, *mask = NULL, *mrows = NULL, *obs = NULL;
    char path[1200];
    dsn_status st;
    cli_view view;

    if ((rc = cli_model_load(&m, model_path)) != 0) goto done;
    int np = host_info(m).num_parts;
    if (part && (rc = cli_require_part("sample", m, part)) != 0) goto done;
    if (cli_view_for(m, image, &view)) {
        rc = 2;
        goto done;
    }
    size_t T = 0, D = 0;
    if ((rc = cli_require_wav_ok("sample", m, audio.wav, &T, &D)) != 0) goto done;
    if ((temp_s && (st = dsn_model_set_option(m, "temperature", temp_s)) != DSN_OK) ||
        (topk_s && (st = dsn_model_set_option(m, "top_k", topk_s)) != DSN_OK)) {
        rc = cli_fail(temp_s && st != DSN_OK && strstr(dsn_last_error(), "temperature") ? "--temperature" : "--top-k", st);
        goto done;
    }
    size_t obs_n = host_info(m).obs_size;
    if (cli_data_given(&data)) {
        if ((rc = cli_data_load_for(&data, "sample", &audio, m, &ds, &mask)) != 0) goto done;
        if (host_ds(ds).obs_size != obs_n) {
            fprintf(stderr, "disent: sample: the data has observations of %zu floats, the model wants %zu\n",
                    host_ds(ds).obs_size, obs_n);
            rc = 1;
            goto done;
        }
        size_t size = host_ds(ds).size;
        if (index) {
            if (cli_parse_ranges(index, size, &idx, &n)) {
                rc = cli_usage_error("sample", "--index '%s': rows in 0..%zu expected", index, size ? size - 1 : 0);
                goto done;
            }
        } else {
            if (!n_given || n > size) n = size;
            idx = malloc((n + 1) * sizeof *idx);
            for (size_t i = 0; idx && i < n; i++) idx[i] = i;
        }
        if (!idx || !n) {
            rc = !idx ? cli_fail("sample", DSN_E_NOMEM) : cli_usage_error("sample", "the data is empty");
            goto done;
        }
    }
    if ((st = dsn_session_create(&s, m, n)) != DSN_OK || (st = dsn_encoding_create(&e, m, n)) != DSN_OK) {
        rc = cli_fail("creating a session", st);
        goto done;
    }
    obs = malloc(n * obs_n * sizeof *obs + 1);
    if (!obs) {
        rc = cli_fail("sample", DSN_E_NOMEM);
        goto done;
    }
    if (ds) { /* the parts that are not drawn: encoded from the data */
        x = malloc(n * obs_n * sizeof *x + 1);
        mrows = mask ? malloc(n * T * sizeof *mrows + 1) : NULL;
        if (!x || (mask && !mrows)) {
            rc = cli_fail("sample", DSN_E_NOMEM);
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            if ((st = dsn_dataset_get(ds, x + i * obs_n, obs_n, NULL, idx[i])) != DSN_OK) {
                rc = cli_fail("reading the data", st);
                goto done;
            }
            if (mrows) memcpy(mrows + i * T, mask + idx[i] * T, T * sizeof *mrows);
        }
        if ((st = dsn_encode(s, e, x, n, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mrows, NULL})) != DSN_OK) {
            rc = cli_fail("encoding", st);
            goto done;
        }
    } else if ((st = dsn_encoding_prepare(e, n, NULL)) != DSN_OK) {
        rc = cli_fail("preparing an encoding", st);
        goto done;
    }
    for (int p = 0; p < np; p++) {
        const char *name = host_part(m, p).name;
        if (part && strcmp(part, name) != 0) continue;
        if ((st = dsn_sample(s, e, name, seed + (uint64_t)p)) != DSN_OK) {
            snprintf(path, sizeof path, "sampling part '%s'", name);
            rc = cli_fail(path, st);
            goto done;
        }
    }
    if ((st = dsn_decode(s, obs, n * obs_n, e)) != DSN_OK) {
        rc = cli_fail("decoding", st);
        goto done;
    }
    if (cli_mkdir(out)) {
        rc = 1;
        goto done;
    }
    if ((rc = cli_write_obs_npy(out, "samples.npy", m, obs, n, path, sizeof path)) != 0) goto done;
    if ((rc = write_parts(m, e, n, out)) != 0) goto done;
    printf("sampled %zu observations (%s, seed %llu): %s", n, part ? part : "every part", (unsigned long long)seed,
           path);
    if ((rc = cli_obs_outputs("sample", out, "samples.png", "sample", "samples", &view, cols, obs, n, T, D, &audio,
                              m)) != 0)
        goto done;
    printf("\n");
done:
    free(obs);
    free(x);
    free(mask);
    free(mrows);
    free(idx);
    dsn_encoding_free(e);
    dsn_session_free(s);
    dsn_dataset_free(ds);
    dsn_model_free(m);
    return rc;
}
