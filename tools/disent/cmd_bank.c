/* cmd_bank.c - `disent bank`: store the static latent of reference clips in a
 * model file's timbre bank (for dsn_stream_* and the LV2 plugin). */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char bank_help[] =
    "usage: disent bank MODEL CLIP... --name NAME [--out FILE] [audio flags]\n"
    "       disent bank MODEL --remove NAME [--out FILE]\n"
    "       disent bank MODEL --list\n"
    "\n"
    "Encodes the static latent (DSAE / TS-DSAE: the part 'global', v) of each audio\n"
    "CLIP (its first T frames, as `disent encode --audio`), averages it over the clips\n"
    "and stores it in the model's timbre bank as NAME (replacing an entry of that\n"
    "name), with the audio settings used (saved with the bank; dsn_stream_create and\n"
    "the LV2 plugin take them as their front end). The model file is rewritten in\n"
    "place unless --out is given. `disent info` lists the bank.\n"
    "\n"
    "  --name NAME      the timbre's name (1 to 63 bytes)\n"
    "  --remove NAME    delete a timbre\n"
    "  --list           print the bank: index, name, |v|\n"
    "  --out FILE       write the model with its new bank to FILE\n"
    "\n"
    "Example:\n"
    "  disent bank ts.dsn violin_*.wav --name violin --n-fft 512 --hop-length 128\n"
    "\n";

static int list_bank(const dsn_model *m)
{
    size_t n = dsn_model_bank_count(m);
    int p = -1;
    for (int k = 0; k < host_info(m).num_parts; k++)
        if (host_part(m, k).scope == DSN_SCOPE_ITEM) {
            p = k;
            break;
        }
    int dim = p >= 0 ? host_part(m, p).dim : 0;
    printf("timbre bank: %zu entries%s\n", n, n ? "" : " (add some with `disent bank MODEL CLIP... --name NAME`)");
    float *v = malloc(sizeof(float) * (size_t)(dim > 0 ? dim : 1));
    for (size_t i = 0; v && i < n; i++) {
        double s = 0;
        if (dsn_model_bank_get(m, v, (size_t)dim, i) == DSN_OK)
            for (int k = 0; k < dim; k++) s += (double)v[k] * v[k];
        printf("  %zu  %-24s |v| %.3f\n", i, dsn_model_bank_name(m, i), s > 0 ? sqrt(s) : 0.0);
    }
    free(v);
    const dsn_options *a = dsn_model_bank_audio(m);
    if (a && dsn_options_count(a)) {
        printf("  audio settings:");
        for (size_t k = 0; k < dsn_options_count(a); k++)
            printf(" %s=%s", dsn_options_key(a, k), dsn_options_get(a, dsn_options_key(a, k)));
        printf("\n");
    }
    return 0;
}

int cmd_bank(int argc, char **argv)
{
    const char *model_path = NULL, *name = NULL, *remove = NULL, *out = NULL;
    int list = 0, r;
    if (cli_help(argc, argv, bank_help, cli_audio_help, (const char *)NULL)) return 0;
    char **clips = calloc((size_t)argc + 1, sizeof *clips);
    size_t n_clips = 0;
    cli_audio audio = {0};
    if (!clips) return cli_fail("arguments", DSN_E_NOMEM);
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        if (argv[i][0] != '-') {
            if (!model_path) model_path = argv[i];
            else clips[n_clips++] = argv[i];
        } else if ((r = cli_flag_value("bank", argc, argv, &i, "--name", &name)) != 0 ||
                   (r = cli_flag_value("bank", argc, argv, &i, "--remove", &remove)) != 0 ||
                   (r = cli_flag_value("bank", argc, argv, &i, "--out", &out)) != 0) {
            if (r < 0) rc = 2;
        } else if (!strcmp(argv[i], "--list")) {
            list = 1;
        } else if ((r = cli_audio_arg(&audio, "bank", argc, argv, &i)) != 0) {
            if (r < 0) rc = 2;
        } else {
            rc = cli_usage_error("bank", "unknown flag '%s'", argv[i]);
        }
    }
    if (!rc && !model_path) rc = cli_usage_error("bank", "give a model file");
    if (!rc && !list && !remove && (!name || !n_clips))
        rc = cli_usage_error("bank", "give reference clips and --name NAME (or --list, --remove NAME)");
    if (!rc && audio.wav) rc = cli_usage_error("bank", "--wav goes with decode, swap and sample");
    if (rc) {
        free(clips);
        return rc;
    }
    dsn_model *m = NULL;
    dsn_dataset *ds = NULL;
    dsn_session *s = NULL;
    dsn_encoding *e = NULL;
    dsn_options *ao = NULL;
    float *mask = NULL, *x = NULL, *v = NULL, *acc = NULL;
    dsn_status st;
    if ((rc = cli_model_load(&m, model_path)) != 0) goto done;
    if (list && !name && !remove) {
        rc = list_bank(m);
        goto done;
    }
    if (remove) {
        if ((st = dsn_model_bank_remove(m, remove)) != DSN_OK) {
            rc = cli_fail("removing a timbre", st);
            goto done;
        }
    } else {
        size_t T = 0;
        if (!cli_is_sequence(m, &T, NULL)) {
            rc = cli_usage_error("bank", "'%s' is not a sequence model (DSAE, TS-DSAE)", model_path);
            goto done;
        }
        int p = -1;
        for (int k = 0; k < host_info(m).num_parts; k++)
            if (host_part(m, k).scope == DSN_SCOPE_ITEM) {
                p = k;
                break;
            }
        if (p < 0) {
            rc = cli_usage_error("bank", "the %s model has no static latent", host_info(m).family);
            goto done;
        }
        const char *part = host_part(m, p).name;
        const size_t dim = (size_t)host_part(m, p).dim, obs = host_info(m).obs_size;
        cli_data data = {0};
        data.audio_files = clips;
        data.n_audio_files = n_clips;
        if ((rc = cli_data_load_for(&data, "bank", &audio, m, &ds, &mask)) != 0) goto done;
        size_t n = host_ds(ds).size;
        x = malloc(sizeof(float) * obs);
        v = malloc(sizeof(float) * dim);
        acc = calloc(dim, sizeof(float));
        if (!x || !v || !acc) {
            rc = cli_fail("buffers", DSN_E_NOMEM);
            goto done;
        }
        if ((st = dsn_session_create(&s, m, 1)) != DSN_OK || (st = dsn_encoding_create(&e, m, 1)) != DSN_OK) {
            rc = cli_fail("session", st);
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            if ((st = dsn_dataset_get(ds, x, obs, NULL, i)) != DSN_OK ||
                (st = dsn_encode(s, e, x, 1, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask ? mask + i * T : NULL, part})) != DSN_OK ||
                (st = dsn_encoding_get(e, v, dim, NULL, NULL, part, "value")) != DSN_OK) {
                char what[600];
                snprintf(what, sizeof what, "encoding '%s'", clips[i]);
                rc = cli_fail(what, st);
                goto done;
            }
            for (size_t k = 0; k < dim; k++) acc[k] += v[k] / (float)n;
        }
        if ((rc = cli_audio_options(&audio, m, 0, &ao)) != 0) goto done;
        if ((st = dsn_model_bank_add(m, name, acc, dim, ao)) != DSN_OK) {
            rc = cli_fail("adding the timbre", st);
            goto done;
        }
        cli_note("timbre '%s' = mean %s of %zu clip(s)", name, part, n);
    }
    if ((st = dsn_model_save(m, NULL, out ? out : model_path)) != DSN_OK) {
        rc = cli_fail("saving the model", st);
        goto done;
    }
    if (list) list_bank(m);
done:
    free(clips);
    free(mask);
    free(x);
    free(v);
    free(acc);
    dsn_options_free(ao);
    dsn_encoding_free(e);
    dsn_session_free(s);
    dsn_dataset_free(ds);
    dsn_model_free(m);
    return rc;
}
