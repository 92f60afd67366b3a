/* cmd_swap.c - `disent swap`: decode one latent part of A with the other parts of B. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char swap_help[] =
    "usage: disent swap MODEL --part NAME (DATA --a LIST --b LIST | --a-file A.npy --b-file B.npy)\n"
    "                   --out DIR [--image HxW] [--title TEXT] [--wav ...]\n"
    "\n"
    "Encodes two sets of observations A and B and decodes, for every pair (a, b), the\n"
    "part NAME taken from a with all the other parts taken from b. Writes:\n"
    "  DIR/swap.npy  float32 [nA, nB, observation shape...]: cell [i, j] = decode(NAME of\n"
    "                A[i], the rest of B[j]); for sequence models the decoded log-mel frames\n"
    "  DIR/swap.png  for image or sequence ([T, D]: spectrogram, time to the right)\n"
    "                observations, the swap grid: row i+1 holds A[i]'s NAME, column j+1\n"
    "                holds B[j]'s other parts; the first column shows the A observations\n"
    "                and the first row the B observations, under a title with the\n"
    "                model and the swap scores below; rows are labelled 'NAME SOURCE',\n"
    "                columns with the other parts' names.\n"
    "For ML-VAE with --part content: rows = content source, columns = style source.\n"
    "Scores (printed, and in the picture's title): every swapped observation is\n"
    "encoded again; 'NAME from row' is the fraction whose NAME is nearest (Euclidean,\n"
    "over the A observations' NAME) to its own row's A[i], 'rest from column' the\n"
    "fraction whose other parts are nearest (over the B observations) to its own\n"
    "column's B[j]; chance is 1/nA and 1/nB. Both near 1: the swap keeps what it\n"
    "should from each source, as the model itself reads it.\n"
    "\n"
    "  --a LIST, --b LIST   rows of the dataset (or of the --a-file / --b-file arrays),\n"
    "                       e.g. 0-7 or 3,10,12; default all rows of a file\n"
    "  --a-file, --b-file   .npy files of observations [n, ...] instead of dataset rows\n"
    "  --image HxW          draw observations as HxW images\n"
    "  --title TEXT         an extra title line for the picture (e.g. scores of an\n"
    "                       evaluation)\n"
    "  --wav                sequence models on log-mel features: also write\n"
    "                       DIR/swap_I_J.wav, Griffin-Lim audio of cell [I, J] (see the\n"
    "                       audio flags; give the settings the model was trained with)\n"
    "Sequence models take audio files as DATA: --audio FILE... (put MODEL first); --a and\n"
    "--b then pick among the files, e.g. --audio a.wav b.wav c.wav --a 0 --b 1,2. Each\n"
    "clip gives its first T frames; shorter clips are padded and the padding masked.\n"
    "\n"
    "Example:\n"
    "  disent swap mnist.dsn --part content --mnist data/mnist --test-set --a 3,2,1,18 --b 4,8,11 --out swap/\n"
    "\n";

typedef struct source {
    const char *list, *file;
    dsn_dataset *own; /* loaded from file */
    const dsn_dataset *ds;
    size_t *idx, n;
    float *x;
    float *mask; /* [n, T] frame masks when the data has padded clips, else NULL */
} source;

static int load_source(source *s, const char *which, const dsn_dataset *data, const float *mask, size_t T,
                       size_t obs)
{
    if (s->file) {
        dsn_status st = dsn_dataset_from_npy(&s->own, s->file, NULL);
        if (st != DSN_OK) {
            char what[600];
            snprintf(what, sizeof what, "reading '%s'", s->file);
            return cli_fail(what, st);
        }
        s->ds = s->own;
        mask = NULL;
    } else {
        s->ds = data;
    }
    if (!s->ds) return cli_usage_error("swap", "no observations for %s: give DATA with --%s, or --%s-file", which, which, which);
    if (host_ds(s->ds).obs_size != obs) {
        fprintf(stderr, "disent: swap: %s has observations of %zu floats, the model wants %zu\n", which,
                host_ds(s->ds).obs_size, obs);
        return 1;
    }
    size_t size = host_ds(s->ds).size;
    if (s->list) {
        if (cli_parse_ranges(s->list, size, &s->idx, &s->n))
            return cli_usage_error("swap", "--%s '%s': rows in 0..%zu expected", which, s->list, size ? size - 1 : 0);
    } else if (s->file) {
        s->n = size;
        s->idx = malloc((size + 1) * sizeof *s->idx);
        for (size_t i = 0; s->idx && i < size; i++) s->idx[i] = i;
    } else {
        return cli_usage_error("swap", "give the rows of %s with --%s LIST", which, which);
    }
    s->x = malloc(s->n * obs * sizeof *s->x + 1);
    if (mask) s->mask = malloc(s->n * T * sizeof *s->mask + 1);
    if (!s->idx || !s->x || (mask && !s->mask)) return cli_fail("swap", DSN_E_NOMEM);
    for (size_t i = 0; i < s->n; i++) {
        dsn_status st = dsn_dataset_get(s->ds, s->x + i * obs, obs, NULL, s->idx[i]);
        if (st != DSN_OK) return cli_fail("reading observations", st);
        if (mask) memcpy(s->mask + i * T, mask + s->idx[i] * T, T * sizeof *s->mask);
    }
    return 0;
}

/* Labels of the swap figure: row 0 the B sources, column 0 the A sources,
 * cell (i + 1, j + 1) part `part` of A[i] with the rest of B[j]. */
typedef struct swap_sources {
    const source *a, *b;
} swap_sources;

static void swap_label(void *ctx, int is_col, size_t i, char *buf, size_t cap)
{
    const swap_sources *s = ctx;
    if (i == 0) snprintf(buf, cap, "%s", is_col ? "A:" : "B:");
    else snprintf(buf, cap, "%s %zu", is_col ? "B" : "A", (is_col ? s->b : s->a)->idx[i - 1]);
}

/* The value fields of `part` (or, part_is_rest, of every other part) of
 * each of enc's n items, concatenated per item into out (n x *width floats,
 * malloc'ed). 0 on success. */
static int item_values(const dsn_model *m, const dsn_encoding *enc, size_t n, const char *part, int rest, float **out,
                       size_t *width)
{
    int np = host_info(m).num_parts;
    size_t w = 0, off = 0;
    *out = NULL;
    for (int pass = 0; pass < 2; pass++) {
        for (int p = 0; p < np; p++) {
            const char *name = host_part(m, p).name;
            if ((strcmp(name, part) == 0) == (rest != 0)) continue;
            size_t rows = 0, dim = 0;
            if (dsn_encoding_get(enc, NULL, 0, &rows, &dim, name, NULL) != DSN_OK || rows % n) return -1;
            size_t per = rows / n * dim;
            if (!pass) {
                w += per;
                continue;
            }
            float *tmp = malloc(rows * dim * sizeof *tmp + 1);
            if (!tmp || dsn_encoding_get(enc, tmp, rows * dim, NULL, NULL, name, NULL) != DSN_OK) {
                free(tmp);
                return -1;
            }
            for (size_t i = 0; i < n; i++) memcpy(*out + i * w + off, tmp + i * per, per * sizeof *tmp);
            off += per;
            free(tmp);
        }
        if (!pass && !(*out = malloc(n * w * sizeof **out + 1))) return -1;
    }
    *width = w;
    return 0;
}

/* Index of the row of ref [n, w] nearest to x [w]. */
static size_t nearest(const float *ref, size_t n, size_t w, const float *x)
{
    size_t best = 0;
    double bd = INFINITY;
    for (size_t i = 0; i < n; i++) {
        double d = 0;
        for (size_t k = 0; k < w; k++) {
            double t = (double)ref[i * w + k] - x[k];
            d += t * t;
        }
        if (d < bd) {
            bd = d;
            best = i;
        }
    }
    return best;
}

/* The swap scores (see swap_help): encode every row of the grid again and
 * count the cells whose `part` is nearest to its row's source and whose
 * other parts are nearest to its column's source. -1 where undefined. */
static int swap_scores(const dsn_model *m, dsn_session *s, dsn_encoding *e, const dsn_encoding *ea,
                       const dsn_encoding *eb, const float *grid, size_t na, size_t nb, const char *part,
                       double *row_score, double *col_score)
{
    size_t obs = host_info(m).obs_size, wa = 0, wb = 0, w1 = 0, w2 = 0, row_ok = 0, col_ok = 0;
    float *ra = NULL, *rb = NULL, *xa = NULL, *xb = NULL;
    int rc = -1;
    *row_score = *col_score = -1;
    if (item_values(m, ea, na, part, 0, &ra, &wa) || item_values(m, eb, nb, part, 1, &rb, &wb)) goto done;
    for (size_t i = 0; i < na; i++) {
        if (dsn_encode(s, e, grid + i * nb * obs, nb, NULL) != DSN_OK) goto done;
        free(xa);
        free(xb);
        xa = xb = NULL;
        if (item_values(m, e, nb, part, 0, &xa, &w1) || item_values(m, e, nb, part, 1, &xb, &w2) || w1 != wa ||
            w2 != wb)
            goto done;
        for (size_t j = 0; j < nb; j++) {
            row_ok += nearest(ra, na, wa, xa + j * wa) == i;
            if (wb) col_ok += nearest(rb, nb, wb, xb + j * wb) == j;
        }
    }
    if (na > 1) *row_score = (double)row_ok / (double)(na * nb);
    if (nb > 1 && wb) *col_score = (double)col_ok / (double)(na * nb);
    rc = 0;
done:
    free(ra);
    free(rb);
    free(xa);
    free(xb);
    return rc;
}

int cmd_swap(int argc, char **argv)
{
    const char *model_path = NULL, *out = NULL, *part = NULL, *image = NULL, *title_extra = NULL;
    source a = {0}, b = {0};
    cli_data data = {0};
    cli_audio audio = {0};
    int r, rc = 0;
    if (cli_help(argc, argv, swap_help, cli_data_help, cli_audio_help, (const char *)NULL)) return 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-') {
            if ((r = cli_model_arg("swap", argv[i], &model_path)) != 0) return r;
        } else if ((r = cli_flag_value("swap", argc, argv, &i, "--out", &out)) != 0 ||
                   (r = cli_flag_value("swap", argc, argv, &i, "--part", &part)) != 0 ||
                   (r = cli_flag_value("swap", argc, argv, &i, "--image", &image)) != 0 ||
                   (r = cli_flag_value("swap", argc, argv, &i, "--title", &title_extra)) != 0 ||
                   (r = cli_flag_value("swap", argc, argv, &i, "--a", &a.list)) != 0 ||
                   (r = cli_flag_value("swap", argc, argv, &i, "--b", &b.list)) != 0 ||
                   (r = cli_flag_value("swap", argc, argv, &i, "--a-file", &a.file)) != 0 ||
                   (r = cli_flag_value("swap", argc, argv, &i, "--b-file", &b.file)) != 0 ||
                   (r = cli_data_arg(&data, "swap", argc, argv, &i)) != 0 ||
                   (r = cli_audio_arg(&audio, "swap", argc, argv, &i)) != 0) {
            if (r < 0) return 2;
        } else {
            return cli_usage_error("swap", "unknown flag '%s'", argv[i]);
        }
    }
    if (!model_path) return cli_usage_error("swap", "give a model file");
    if (!out) return cli_usage_error("swap", "give the output folder with --out DIR");
    if (!part) return cli_usage_error("swap", "give the part to swap with --part NAME");

    dsn_model *m = NULL;
    dsn_dataset *ds = NULL;
    dsn_session *s = NULL;
    dsn_encoding *ea = NULL, *eb = NULL, *e = NULL;
    float *grid = NULL, *mask = NULL;
    const float **cells = NULL;
    char path[1200];
    dsn_status st;
    cli_view view;

    if ((rc = cli_model_load(&m, model_path)) != 0) goto done;
    if ((rc = cli_require_part("swap", m, part)) != 0) goto done;
    int np = host_info(m).num_parts;
    if (cli_view_for(m, image, &view)) {
        rc = 2;
        goto done;
    }
    size_t T = 0, D = 0;
    if ((rc = cli_require_wav_ok("swap", m, audio.wav, &T, &D)) != 0) goto done;
    if (cli_data_given(&data) && (rc = cli_data_load_for(&data, "swap", &audio, m, &ds, &mask)) != 0) goto done;
    size_t obs = host_info(m).obs_size;
    if ((rc = load_source(&a, "a", ds, mask, T, obs)) != 0 || (rc = load_source(&b, "b", ds, mask, T, obs)) != 0)
        goto done;
    size_t nmax = a.n > b.n ? a.n : b.n;
    if ((st = dsn_session_create(&s, m, nmax)) != DSN_OK || (st = dsn_encoding_create(&ea, m, a.n)) != DSN_OK ||
        (st = dsn_encoding_create(&eb, m, b.n)) != DSN_OK || (st = dsn_encoding_create(&e, m, b.n)) != DSN_OK) {
        rc = cli_fail("creating a session", st);
        goto done;
    }
    if ((st = dsn_encode(s, ea, a.x, a.n, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, a.mask, NULL})) != DSN_OK ||
        (st = dsn_encode(s, eb, b.x, b.n, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, b.mask, NULL})) != DSN_OK) {
        rc = cli_fail("encoding", st);
        goto done;
    }
    grid = malloc(a.n * b.n * obs * sizeof *grid);
    cells = calloc((a.n + 1) * (b.n + 1), sizeof *cells);
    if (!grid || !cells) {
        rc = cli_fail("swap", DSN_E_NOMEM);
        goto done;
    }
    if ((st = dsn_encoding_prepare(e, b.n, NULL)) != DSN_OK) {
        rc = cli_fail("preparing an encoding", st);
        goto done;
    }
    for (size_t i = 0; i < a.n; i++) {
        /* row i: every part from B[j], except `part` from A[i] */
        for (size_t j = 0; j < b.n; j++)
            for (int p = 0; p < np; p++) {
                const char *name = host_part(m, p).name;
                int from_a = !strcmp(name, part);
                st = dsn_encoding_copy_item(e, j, from_a ? ea : eb, from_a ? i : j, name);
                if (st != DSN_OK) {
                    rc = cli_fail("swapping", st);
                    goto done;
                }
            }
        if ((st = dsn_decode(s, grid + i * b.n * obs, b.n * obs, e)) != DSN_OK) {
            rc = cli_fail("decoding", st);
            goto done;
        }
    }
    if (cli_mkdir(out)) {
        rc = 1;
        goto done;
    }
    size_t shape[5] = {a.n, b.n};
    int nd = 2 + host_obs_shape(m, shape + 2, 3);
    cli_join(path, sizeof path, out, "swap.npy");
    if ((rc = cli_npy_write_f32(path, grid, shape, nd)) != 0) goto done;
    printf("swapped part '%s' of %zu A observations into %zu B observations: %s", part, a.n, b.n, path);
    double row_score, col_score;
    char rest[256] = "", title[1024];
    size_t rl = 0;
    for (int p = 0; p < np && rl < sizeof rest; p++)
        if (strcmp(host_part(m, p).name, part))
            rl += (size_t)snprintf(rest + rl, sizeof rest - rl, "%s%s", rl ? "+" : "", host_part(m, p).name);
    int scored = swap_scores(m, s, e, ea, eb, grid, a.n, b.n, part, &row_score, &col_score) == 0;
    snprintf(title, sizeof title, "%s, EPOCH %d: %s OF THE ROW, %s OF THE COLUMN%s%s", host_info(m).family,
             host_info(m).epoch, part, rest, title_extra ? "\n" : "", title_extra ? title_extra : "");
    if (scored) {
        int tl = snprintf(title, sizeof title, "%s, EPOCH %d: %s OF THE ROW, %s OF THE COLUMN\nRE-ENCODED SWAPS:",
                          host_info(m).family, host_info(m).epoch, part, rest);
        if (row_score >= 0 && tl > 0 && (size_t)tl < sizeof title)
            tl += snprintf(title + tl, sizeof title - (size_t)tl, " %s FROM ROW %.2f (CHANCE %.2f)", part, row_score,
                           1.0 / (double)a.n);
        if (col_score >= 0 && tl > 0 && (size_t)tl < sizeof title)
            tl += snprintf(title + tl, sizeof title - (size_t)tl, " %s FROM COLUMN %.2f (CHANCE %.2f)", rest,
                           col_score, 1.0 / (double)b.n);
        if (title_extra && tl > 0 && (size_t)tl < sizeof title)
            snprintf(title + tl, sizeof title - (size_t)tl, "\n%s", title_extra);
    }
    if (view.kind) {
        size_t cols = b.n + 1;
        for (size_t j = 0; j < b.n; j++) cells[j + 1] = b.x + j * obs;
        for (size_t i = 0; i < a.n; i++) {
            cells[(i + 1) * cols] = a.x + i * obs;
            for (size_t j = 0; j < b.n; j++) cells[(i + 1) * cols + j + 1] = grid + (i * b.n + j) * obs;
        }
        cli_join(path, sizeof path, out, "swap.png");
        if (view.kind == 2) { /* spectrograms: labelled, axes in s and Hz, a colour scale */
            swap_sources src = {&a, &b};
            char ftitle[160], rt[160];
            snprintf(ftitle, sizeof ftitle, "swap of part '%.40s'", part);
            snprintf(rt, sizeof rt, "rows: '%.40s' of A (first column: A itself)", part);
            rc = cli_spectro_figure(path, &view, cells, a.n + 1, cols, ftitle,
                                    "columns: the other parts of B (first row: B itself)", rt, swap_label, &src,
                                    &audio, m);
        } else {
            char row_label[300], col_label[300];
            snprintf(row_label, sizeof row_label, "%s source", part);
            snprintf(col_label, sizeof col_label, "%s source", rest);
            if (cli_grid_png_labelled(path, &view, cells, a.n + 1, cols, title, col_label, row_label)) rc = 1;
        }
        if (rc) goto done;
        printf(", %s (rows: '%s' of A; columns: the rest of B)", path, part);
    }
    if (audio.wav) {
        for (size_t i = 0; i < a.n && !rc; i++)
            for (size_t j = 0; j < b.n && !rc; j++) {
                char file[80];
                snprintf(file, sizeof file, "swap_%zu_%zu.wav", i, j);
                cli_join(path, sizeof path, out, file);
                rc = cli_wav_write(&audio, m, path, grid + (i * b.n + j) * obs, T, D);
            }
        if (rc) goto done;
        printf(", %zu WAV files", a.n * b.n);
    }
    printf("\n");
    if (scored && (row_score >= 0 || col_score >= 0)) { /* see swap_help; < 0: undefined (one row or column) */
        printf("swap scores (re-encoded):");
        if (row_score >= 0) printf(" %s from row %.3f (chance %.3f)", part, row_score, 1.0 / (double)a.n);
        if (col_score >= 0)
            printf("%s %s from column %.3f (chance %.3f)", row_score >= 0 ? "," : "", rest, col_score,
                   1.0 / (double)b.n);
        printf("\n");
    }
done:
    free(grid);
    free(mask);
    free(a.mask);
    free(b.mask);
    free(cells);
    free(a.idx);
    free(a.x);
    free(b.idx);
    free(b.x);
    dsn_dataset_free(a.own);
    dsn_dataset_free(b.own);
    dsn_encoding_free(e);
    dsn_encoding_free(ea);
    dsn_encoding_free(eb);
    dsn_session_free(s);
    dsn_dataset_free(ds);
    dsn_model_free(m);
    return rc;
}
