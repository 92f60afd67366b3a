/* cmd_decode.c - `disent decode`: latent .npy files -> observations (.npy, PNG). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char decode_help[] =
    "usage: disent decode MODEL --in DIR --out DIR [--image HxW] [--cols N] [--wav ...]\n"
    "\n"
    "Reads latents in the layout `disent encode` writes: DIR/PART.npy (float32 or float64\n"
    "[rows, dim]) for each part of the model, and DIR/groups.npy (int32 [n], optional:\n"
    "without it every observation is its own group and n is the row count of an\n"
    "item-scoped part). A missing part is set to zeros (the prior mean), with a note.\n"
    "Parts with codes (VQ-VAE's `codes`): an integer PART.npy holds code indices [n,\n"
    "positions] (as encode and sample write them; n is its row count), set with\n"
    "dsn_encoding_set_codes so the codebook gives the vectors; a float PART.npy, or\n"
    "PART.value.npy when PART.npy is absent, holds the vectors themselves [n * positions, D].\n"
    "Writes DIR/decoded.npy (float32 [n, observation shape...]) and, for image or\n"
    "sequence observations, DIR/decoded.png: a grid of the observations (N per row,\n"
    "default 16 images or 4 spectrograms), row-major in observation order.\n"
    "\n"
    "  --image HxW   draw observations as HxW images (default: a square one-dimensional\n"
    "                observation is an image, a [T, D] one a spectrogram)\n"
    "  --wav         sequence models on log-mel features: also write DIR/decoded_I.wav,\n"
    "                Griffin-Lim audio of each decoded observation (see the audio flags)\n"
    "\n"
    "Example (decode edited latents):\n"
    "  disent encode mnist.dsn --mnist data/mnist --index 0-15 --out enc\n"
    "  disent decode mnist.dsn --in enc --out dec\n"
    "\n";

int cmd_decode(int argc, char **argv)
{
    const char *model_path = NULL, *in = NULL, *out = NULL, *image = NULL, *v;
    size_t cols = 0;
    int r, rc = 0;
    cli_audio audio = {0};
    if (cli_help(argc, argv, decode_help, cli_audio_help, (const char *)NULL)) return 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-') {
            if ((r = cli_model_arg("decode", argv[i], &model_path)) != 0) return r;
        } else if ((r = cli_flag_value("decode", argc, argv, &i, "--in", &in)) != 0) {
            if (r < 0) return 2;
        } else if ((r = cli_flag_value("decode", argc, argv, &i, "--out", &out)) != 0) {
            if (r < 0) return 2;
        } else if ((r = cli_flag_value("decode", argc, argv, &i, "--image", &image)) != 0) {
            if (r < 0) return 2;
        } else if ((r = cli_flag_value("decode", argc, argv, &i, "--cols", &v)) != 0) {
            if (r < 0) return 2;
            cols = (size_t)atol(v);
            if (!cols) return cli_usage_error("decode", "--cols %s: a positive count expected", v);
        } else if ((r = cli_audio_arg(&audio, "decode", argc, argv, &i)) != 0) {
            if (r < 0) return 2;
        } else {
            return cli_usage_error("decode", "unknown flag '%s'", argv[i]);
        }
    }
    if (!model_path) return cli_usage_error("decode", "give a model file");
    if (!in || !out) return cli_usage_error("decode", "give --in DIR and --out DIR");

    dsn_model *m = NULL;
    dsn_session *s = NULL;
    dsn_encoding *e = NULL;
    int32_t *groups = NULL, *codes[64] = {NULL};
    float *lat[64] = {NULL}, *obs = NULL;
    size_t lat_shape[64][4], n = 0;
    int lat_nd[64] = {0};
    char path[1200], file[200];
    dsn_status st;
    cli_view view;

    if ((rc = cli_model_load(&m, model_path)) != 0) goto done;
    if (cli_view_for(m, image, &view)) {
        rc = 2;
        goto done;
    }
    size_t T = 0, D = 0;
    if ((rc = cli_require_wav_ok("decode", m, audio.wav, &T, &D)) != 0) goto done;
    int np = host_info(m).num_parts;
    if (np > 64) np = 64;
    cli_join(path, sizeof path, in, "groups.npy");
    if (cli_exists(path)) {
        size_t gshape[4];
        int gnd;
        if ((rc = cli_npy_read_i32(path, &groups, gshape, &gnd, 4)) != 0) goto done;
        n = gshape[0];
    }
    for (int p = 0; p < np; p++) {
        const char *name = host_part(m, p).name;
        snprintf(file, sizeof file, "%s.npy", name);
        cli_join(path, sizeof path, in, file);
        if (!cli_exists(path) && cli_part_has_codes(m, name)) { /* the vectors alone */
            snprintf(file, sizeof file, "%s.value.npy", name);
            cli_join(path, sizeof path, in, file);
        }
        if (!cli_exists(path)) {
            snprintf(file, sizeof file, "%s.npy", name);
            cli_join(path, sizeof path, in, file);
            cli_note("decode: no %s, part '%s' set to zeros", path, name);
            continue;
        }
        if (cli_npy_kind(path) == 'i') { /* code indices [n, positions] */
            if (!cli_part_has_codes(m, name)) {
                fprintf(stderr, "disent: decode: %s holds integers, but part '%s' has no codes\n", path, name);
                rc = 1;
                goto done;
            }
            if ((rc = cli_npy_read_i32(path, &codes[p], lat_shape[p], &lat_nd[p], 4)) != 0) goto done;
            if (!n && lat_nd[p] == 2) n = lat_shape[p][0];
            continue;
        }
        if ((rc = cli_npy_read_f32(path, &lat[p], lat_shape[p], &lat_nd[p], 4)) != 0) goto done;
        size_t cols_p = 1;
        for (int d = 1; d < lat_nd[p]; d++) cols_p *= lat_shape[p][d];
        if (cols_p != (size_t)host_part(m, p).dim) {
            fprintf(stderr, "disent: decode: %s has rows of %zu floats, part '%s' has %d\n", path, cols_p,
                    host_part(m, p).name, host_part(m, p).dim);
            rc = 1;
            goto done;
        }
        if (!n && host_part(m, p).scope == DSN_SCOPE_ITEM) n = lat_shape[p][0];
    }
    if (!n) {
        fprintf(stderr, "disent: decode: cannot tell the number of observations: give %s/groups.npy\n", in);
        rc = 1;
        goto done;
    }
    obs = malloc(n * host_info(m).obs_size * sizeof *obs);
    if (!obs) {
        rc = cli_fail("decode", DSN_E_NOMEM);
        goto done;
    }
    if ((st = dsn_session_create(&s, m, n)) != DSN_OK || (st = dsn_encoding_create(&e, m, n)) != DSN_OK ||
        (st = dsn_encoding_prepare(e, n, groups)) != DSN_OK) {
        rc = cli_fail("preparing the encoding", st);
        goto done;
    }
    for (int p = 0; p < np; p++) {
        if (codes[p]) {
            size_t rows = 1;
            for (int d = 0; d < lat_nd[p]; d++) rows *= lat_shape[p][d];
            if ((st = dsn_encoding_set_codes(e, host_part(m, p).name, codes[p], rows)) != DSN_OK) {
                snprintf(path, sizeof path, "setting the codes of part '%s' (%zu values) for %zu observations",
                         host_part(m, p).name, rows, n);
                rc = cli_fail(path, st);
                goto done;
            }
            continue;
        }
        if (!lat[p]) continue;
        if ((st = dsn_encoding_set(e, host_part(m, p).name, "value", lat[p], lat_shape[p][0])) != DSN_OK) {
            snprintf(path, sizeof path, "setting part '%s' (%zu rows) for %zu observations",
                     host_part(m, p).name, lat_shape[p][0], n);
            rc = cli_fail(path, st);
            goto done;
        }
    }
    if ((st = dsn_decode(s, obs, n * host_info(m).obs_size, e)) != DSN_OK) {
        rc = cli_fail("decoding", st);
        goto done;
    }
    if (cli_mkdir(out)) {
        rc = 1;
        goto done;
    }
    if ((rc = cli_write_obs_npy(out, "decoded.npy", m, obs, n, path, sizeof path)) != 0) goto done;
    printf("decoded %zu observations: %s", n, path);
    if ((rc = cli_obs_outputs("decode", out, "decoded.png", "decoded", "decoded observations", &view, cols, obs, n,
                              T, D, &audio, m)) != 0)
        goto done;
    printf("\n");
done:
    for (int p = 0; p < 64; p++) {
        free(lat[p]);
        free(codes[p]);
    }
    free(obs);
    free(groups);
    dsn_encoding_free(e);
    dsn_session_free(s);
    dsn_model_free(m);
    return rc;
}
