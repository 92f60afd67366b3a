/* cmd_encode.c - `disent encode`: observations -> one .npy per latent part. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char encode_help[] =
    "usage: disent encode MODEL DATA --out DIR [--index LIST] [--group-by-label]\n"
    "                     [--fields value,logvar] [--batch N]\n"
    "\n"
    "Encodes observations and writes, in DIR (created if needed):\n"
    "  PART.npy          float32 [rows, dim]: each latent part's value (the posterior mean)\n"
    "  PART.FIELD.npy    other fields asked with --fields (mean, logvar), where the part has them\n"
    "  a part with codes (VQ-VAE's `codes`): PART.npy holds int32 [n, positions] code\n"
    "                    indices, and PART.value.npy the code vectors (the value field)\n"
    "  groups.npy        int32 [n]: the group id of each observation (its index, or its\n"
    "                    label with --group-by-label)\n"
    "  index.npy         int32 [n]: the dataset row of each observation\n"
    "  labels.npy        int32 [n]: their labels (when the dataset has labels)\n"
    "Rows: a part of scope `item` has one row per observation, `group` one per group (in\n"
    "order of first appearance), `frame`/`position` one per frame/position of each\n"
    "observation, in order. `disent decode DIR` reads these files back.\n"
    "\n"
    "  --index LIST        dataset rows to encode, e.g. 0-99,500 (default: all)\n"
    "  --group-by-label    pool observations with the same label: group-scoped parts are\n"
    "                      accumulated over all of them (evidence accumulation; encodes\n"
    "                      all rows in one call, so memory grows with the row count)\n"
    "  --batch N           observations per call without grouping (default 256)\n"
    "Sequence models: --audio FILE... encodes audio files (put MODEL first): each clip's\n"
    "first T frames; a shorter clip is padded and the padding masked (dsn_encode with a mask).\n"
    "\n"
    "Example:\n"
    "  disent encode mnist.dsn --mnist data/mnist --test-set --index 0-999 --out enc/\n"
    "\n";

typedef struct part_out {
    const char *name, *field; /* field "codes": the int32 code indices */
    float *data;
    size_t rows, dim, cap;
    int has_codes;
} part_out;

static int append(part_out *p, const dsn_encoding *e)
{
    size_t rows = 0, dim = 1;
    int codes = !strcmp(p->field, "codes");
    dsn_status st = codes ? dsn_encoding_get_codes(e, NULL, 0, &rows, p->name)
                          : dsn_encoding_get(e, NULL, 0, &rows, &dim, p->name, p->field);
    if (st != DSN_OK) {
        char what[160];
        snprintf(what, sizeof what, "reading %s.%s", p->name, p->field);
        return cli_fail(what, st);
    }
    if (p->rows && dim != p->dim) return cli_fail("encode: part width changed", DSN_E_INTERNAL);
    p->dim = dim;
    if ((p->rows + rows) * dim > p->cap) {
        size_t cap = 2 * (p->rows + rows) * dim + 16;
        float *d = realloc(p->data, cap * sizeof *d);
        if (!d) return cli_fail("encode", DSN_E_NOMEM);
        p->data = d;
        p->cap = cap;
    }
    /* codes are stored as int32 in the float buffer (same size) */
    st = codes ? dsn_encoding_get_codes(e, (int32_t *)(void *)(p->data + p->rows), rows, NULL, p->name)
               : dsn_encoding_get(e, p->data + p->rows * dim, rows * dim, NULL, NULL, p->name, p->field);
    if (st != DSN_OK)
        return cli_fail("reading an encoding", st);
    p->rows += rows;
    return 0;
}

int cmd_encode(int argc, char **argv)
{
    const char *model_path = NULL, *out = NULL, *index = NULL, *fields = "value", *v;
    int group_by_label = 0, rc = 0, r;
    size_t batch = 256;
    cli_data data = {0};
    cli_audio audio = {0};
    if (cli_help(argc, argv, encode_help, cli_data_help, cli_audio_help, (const char *)NULL)) return 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-') {
            if ((r = cli_model_arg("encode", argv[i], &model_path)) != 0) return r;
        } else if ((r = cli_flag_value("encode", argc, argv, &i, "--out", &out)) != 0) {
            if (r < 0) return 2;
        } else if ((r = cli_flag_value("encode", argc, argv, &i, "--index", &index)) != 0) {
            if (r < 0) return 2;
        } else if ((r = cli_flag_value("encode", argc, argv, &i, "--fields", &fields)) != 0) {
            if (r < 0) return 2;
        } else if ((r = cli_flag_value("encode", argc, argv, &i, "--batch", &v)) != 0) {
            if (r < 0) return 2;
            batch = (size_t)atol(v);
            if (batch < 1) return cli_usage_error("encode", "--batch %s: a positive count expected", v);
        } else if (!strcmp(argv[i], "--group-by-label")) {
            group_by_label = 1;
        } else if ((r = cli_data_arg(&data, "encode", argc, argv, &i)) != 0 ||
                   (r = cli_audio_arg(&audio, "encode", argc, argv, &i)) != 0) {
            if (r < 0) return 2;
        } else {
            return cli_usage_error("encode", "unknown flag '%s'", argv[i]);
        }
    }
    if (!model_path) return cli_usage_error("encode", "give a model file");
    if (!out) return cli_usage_error("encode", "give the output folder with --out DIR");

    dsn_model *m = NULL;
    dsn_dataset *ds = NULL;
    dsn_session *s = NULL;
    dsn_encoding *e = NULL;
    size_t *idx = NULL, n = 0, obs = 0, np = 0;
    float *x = NULL, *mask = NULL, *mrows = NULL;
    size_t T = 0;
    int32_t *groups = NULL, *labels = NULL, *rows_i32 = NULL;
    part_out parts[64];
    dsn_status st;
    memset(parts, 0, sizeof parts);

    if ((rc = cli_model_load(&m, model_path)) != 0) goto done;
    if (audio.wav) {
        rc = cli_usage_error("encode", "--wav goes with decode, swap and sample");
        goto done;
    }
    if ((rc = cli_data_load_for(&data, "encode", &audio, m, &ds, &mask)) != 0) goto done;
    cli_is_sequence(m, &T, NULL);
    obs = host_info(m).obs_size;
    if (host_ds(ds).obs_size != obs) {
        fprintf(stderr, "disent: encode: the data has observations of %zu floats, the model wants %zu\n",
                host_ds(ds).obs_size, obs);
        rc = 1;
        goto done;
    }
    if (index) {
        if (cli_parse_ranges(index, host_ds(ds).size, &idx, &n)) {
            rc = cli_usage_error("encode", "--index '%s': rows in 0..%zu expected, e.g. 0-99,500", index,
                                 host_ds(ds).size - 1);
            goto done;
        }
    } else {
        n = host_ds(ds).size;
        idx = malloc((n + 1) * sizeof *idx);
        for (size_t i = 0; idx && i < n; i++) idx[i] = i;
    }
    /* the parts and fields to write: every part x every field asked */
    char fnames[8][16];
    int nf = 0;
    for (const char *f = fields; *f && nf < 8;) {
        size_t len = strcspn(f, ",");
        if (len == 0 || len >= sizeof fnames[0]) {
            rc = cli_usage_error("encode", "--fields '%s': e.g. value,logvar", fields);
            goto done;
        }
        memcpy(fnames[nf], f, len);
        fnames[nf++][len] = 0;
        f += len + (f[len] == ',');
    }
    for (int p = 0; p < host_info(m).num_parts; p++) {
        const char *name = host_part(m, p).name;
        int has_codes = cli_part_has_codes(m, name);
        if (has_codes) {
            parts[np].name = name;
            parts[np].has_codes = 1;
            parts[np++].field = "codes";
        }
        for (int f = 0; f < nf && np < sizeof parts / sizeof *parts; f++) {
            parts[np].name = name;
            parts[np].has_codes = has_codes;
            parts[np++].field = fnames[f];
        }
    }
    if (group_by_label) batch = n;
    if (batch > n) batch = n;
    x = malloc(batch * obs * sizeof *x + 1);
    mrows = malloc(batch * T * sizeof *mrows + 1);
    groups = malloc((n + 1) * sizeof *groups);
    labels = malloc((n + 1) * sizeof *labels);
    rows_i32 = malloc((n + 1) * sizeof *rows_i32);
    if (!idx || !x || !mrows || !groups || !labels || !rows_i32) {
        rc = cli_fail("encode", DSN_E_NOMEM);
        goto done;
    }
    if ((st = dsn_session_create(&s, m, batch)) != DSN_OK || (st = dsn_encoding_create(&e, m, batch)) != DSN_OK) {
        rc = cli_fail("creating a session", st);
        goto done;
    }
    int have_labels = 1;
    for (size_t off = 0; off < n; off += batch) {
        size_t k = n - off < batch ? n - off : batch;
        for (size_t i = 0; i < k; i++) {
            if ((st = dsn_dataset_get(ds, x + i * obs, obs, labels + off + i, idx[off + i])) != DSN_OK) {
                rc = cli_fail("reading the data", st);
                goto done;
            }
            if (labels[off + i] < 0) have_labels = 0;
            if (mask) memcpy(mrows + i * T, mask + idx[off + i] * T, T * sizeof *mrows);
            rows_i32[off + i] = (int32_t)idx[off + i];
            groups[off + i] = group_by_label ? labels[off + i] : (int32_t)(off + i);
        }
        if (group_by_label && !have_labels) {
            rc = cli_usage_error("encode", "--group-by-label: the data has no labels");
            goto done;
        }
        if ((st = dsn_encode(s, e, x, k, &(dsn_batch_args){sizeof(dsn_batch_args), group_by_label ? groups + off : NULL, mask ? mrows : NULL, NULL})) !=
            DSN_OK) {
            rc = cli_fail("encoding", st);
            goto done;
        }
        for (size_t p = 0; p < np; p++)
            if ((rc = append(&parts[p], e)) != 0) goto done;
    }
    if (cli_mkdir(out)) {
        rc = 1;
        goto done;
    }
    char path[1200], file[200];
    for (size_t p = 0; p < np; p++) {
        int codes = !strcmp(parts[p].field, "codes");
        if (codes || (!parts[p].has_codes && !strcmp(parts[p].field, "value")))
            snprintf(file, sizeof file, "%s.npy", parts[p].name);
        else snprintf(file, sizeof file, "%s.%s.npy", parts[p].name, parts[p].field);
        cli_join(path, sizeof path, out, file);
        if (codes) { /* [n, positions] */
            size_t shape[2] = {n, n ? parts[p].rows / n : 0};
            if ((rc = cli_npy_write_i32(path, (const int32_t *)(const void *)parts[p].data, shape, 2)) != 0) goto done;
        } else {
            size_t shape[2] = {parts[p].rows, parts[p].dim};
            if ((rc = cli_npy_write_f32(path, parts[p].data, shape, 2)) != 0) goto done;
        }
    }
    size_t shape1[1] = {n};
    cli_join(path, sizeof path, out, "groups.npy");
    if ((rc = cli_npy_write_i32(path, groups, shape1, 1)) != 0) goto done;
    cli_join(path, sizeof path, out, "index.npy");
    if ((rc = cli_npy_write_i32(path, rows_i32, shape1, 1)) != 0) goto done;
    if (have_labels) {
        cli_join(path, sizeof path, out, "labels.npy");
        if ((rc = cli_npy_write_i32(path, labels, shape1, 1)) != 0) goto done;
    }
    printf("encoded %zu observations into %s:", n, out);
    for (size_t p = 0; p < np; p++) {
        if (!strcmp(parts[p].field, "codes"))
            printf(" %s.codes [%zu, %zu] (int32)", parts[p].name, n, n ? parts[p].rows / n : 0);
        else
            printf(" %s.%s [%zu, %zu]", parts[p].name, parts[p].field, parts[p].rows, parts[p].dim);
    }
    if (mask) printf(" (padded clips masked)");
    printf("\n");
done:
    for (size_t p = 0; p < np; p++) free(parts[p].data);
    free(idx);
    free(x);
    free(mask);
    free(mrows);
    free(groups);
    free(labels);
    free(rows_i32);
    dsn_encoding_free(e);
    dsn_session_free(s);
    dsn_dataset_free(ds);
    dsn_model_free(m);
    return rc;
}
