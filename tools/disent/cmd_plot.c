/* cmd_plot.c - `disent plot LOG.jsonl -o curves.png`: the loss curves of a
 * training log (dsn_fit's fit option log, `disent train --log DIR`;
 * docs/logs.md) as a PNG: the step terms over the steps, and the epoch
 * figures (train_loss, valid_loss, valid_objective) over the same axis, with
 * labelled axes, legends and the stage switches marked. */
#include "cli.h"
#include "draw.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char plot_help[] =
    "usage: disent plot LOG.jsonl [-o|--out FILE.png] [--terms LIST] [--width W] [--height H]\n"
    "                   [--linear | --log-y]\n"
    "\n"
    "Draws the training log written by `disent train --log DIR` (DIR/train.jsonl; the\n"
    "fit option log of dsn_fit) as a PNG (default: curves.png): on top every step's\n"
    "loss terms (--terms: a comma list of the terms to draw; default all of them),\n"
    "below the end-of-epoch figures train_loss, valid_loss and valid_objective, both\n"
    "over the training step, with labelled axes and legends; dashed lines mark where\n"
    "the training stage changes. The y axes are logarithmic when every value is\n"
    "positive and they span more than a factor of 50 (--linear / --log-y force it).\n"
    "Prints what it drew.\n"
    "\n"
    "Example:\n"
    "  disent train --model ml-vae --mnist data/mnist --set epochs=2 --out m.dsn --log run\n"
    "  disent plot run/train.jsonl -o run/curves.png\n"
    "\n";

/* ---- the log: series of (step, value) by name ---- */
typedef struct series {
    char name[64];
    size_t n, cap;
    double *x, *y;
} series;

typedef struct plot_data {
    series *s;
    size_t n, cap;
    /* stage switches: the step where a stage starts */
    double switch_step[64];
    char switch_stage[64][32];
    int n_switch;
    char stage[32];
    int have_stage;
    long steps, epochs, skips;
    /* appended runs: a run whose step count starts again (train-prior's new
     * optimizer) continues the axis after the last step drawn */
    double offset, last_x;
    char family[32];
} plot_data;

static series *series_get(plot_data *d, const char *prefix, const char *name)
{
    char full[64];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->s[i].name, full)) return &d->s[i];
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 16;
        series *s = realloc(d->s, cap * sizeof *s);
        if (!s) return NULL;
        d->s = s;
        d->cap = cap;
    }
    series *s = &d->s[d->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", full);
    return s;
}

static int series_add(series *s, double x, double y)
{
    if (!s) return -1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        double *nx = realloc(s->x, cap * sizeof *nx), *ny = nx ? realloc(s->y, cap * sizeof *ny) : NULL;
        if (nx) s->x = nx;
        if (!nx || !ny) return -1;
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n++] = y;
    return 0;
}

static void copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* ---- a small JSON reader for the log's records: an object of strings,
 * numbers, null and objects of numbers ---- */
typedef struct jp {
    const char *p;
    int err;
} jp;

static void ws(jp *j)
{
    while (isspace((unsigned char)*j->p)) j->p++;
}

static int jstr(jp *j, char *out, size_t cap)
{
    ws(j);
    if (*j->p != '"') return j->err = 1, -1;
    j->p++;
    size_t n = 0;
    while (*j->p && *j->p != '"') {
        char ch = *j->p++;
        if (ch == '\\') {
            ch = *j->p++;
            if (ch == 'u') { /* \uXXXX: kept as '?' (the log writes it only for control characters) */
                for (int k = 0; k < 4 && *j->p; k++) j->p++;
                ch = '?';
            } else if (ch == 'n') {
                ch = '\n';
            } else if (ch == 't') {
                ch = '\t';
            } else if (!ch) {
                return j->err = 1, -1;
            }
        }
        if (n + 1 < cap) out[n++] = ch;
    }
    if (*j->p != '"') return j->err = 1, -1;
    j->p++;
    out[n] = 0;
    return 0;
}

/* a number or null (NaN) */
static double jnum(jp *j)
{
    ws(j);
    if (!strncmp(j->p, "null", 4)) {
        j->p += 4;
        return NAN;
    }
    char *end;
    double v = strtod(j->p, &end);
    if (end == j->p) {
        j->err = 1;
        return NAN;
    }
    j->p = end;
    return v;
}

static int jexpect(jp *j, char c)
{
    ws(j);
    if (*j->p != c) return j->err = 1, -1;
    j->p++;
    return 0;
}

/* after a member of an object: 1 when another follows (its ',' taken), 0 at
 * the closing '}' (taken), -1 on anything else */
static int jmore(jp *j)
{
    ws(j);
    if (*j->p == ',') {
        j->p++;
        return 1;
    }
    return jexpect(j, '}');
}

typedef struct record {
    char event[16], stage[32], family[32];
    double epoch, step;
    int n;              /* numeric fields: top level and nested (prefixed) */
    char names[48][64];
    double values[48];
} record;

static int parse_record(const char *line, record *r)
{
    jp j = {line, 0};
    memset(r, 0, sizeof *r);
    r->epoch = r->step = NAN;
    if (jexpect(&j, '{')) return -1;
    ws(&j);
    if (*j.p == '}') return 0;
    for (;;) {
        char key[64];
        if (jstr(&j, key, sizeof key) || jexpect(&j, ':')) return -1;
        ws(&j);
        if (*j.p == '"') {
            char val[256];
            if (jstr(&j, val, sizeof val)) return -1;
            if (!strcmp(key, "event")) copy(r->event, sizeof r->event, val);
            else if (!strcmp(key, "stage")) copy(r->stage, sizeof r->stage, val);
            else if (!strcmp(key, "family")) copy(r->family, sizeof r->family, val);
        } else if (*j.p == '{') { /* terms / valid_terms: numbers by name */
            j.p++;
            ws(&j);
            if (*j.p == '}') j.p++;
            else
                for (;;) {
                    char sub[64];
                    if (jstr(&j, sub, sizeof sub) || jexpect(&j, ':')) return -1;
                    double v = jnum(&j);
                    if (j.err) return -1;
                    if (r->n < 48) {
                        char full[80];
                        snprintf(full, sizeof full, "%s%.60s", strcmp(key, "terms") ? "valid." : "", sub);
                        copy(r->names[r->n], sizeof r->names[r->n], full);
                        r->values[r->n++] = v;
                    }
                    int more = jmore(&j);
                    if (more < 0) return -1;
                    if (!more) break;
                }
        } else {
            double v = jnum(&j);
            if (j.err) return -1;
            if (!strcmp(key, "epoch")) r->epoch = v;
            else if (!strcmp(key, "step")) r->step = v;
            else if (r->n < 48) {
                snprintf(r->names[r->n], sizeof r->names[r->n], "%s", key);
                r->values[r->n++] = v;
            }
        }
        int more = jmore(&j);
        if (more < 0) return -1;
        if (more) continue;
        ws(&j);
        return *j.p ? -1 : 0;
    }
}

static int in_csv_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

/* epoch figures drawn in the lower panel */
static int epoch_figure(const char *name)
{
    return !strcmp(name, "train_loss") || !strcmp(name, "valid_loss") || !strcmp(name, "valid_objective");
}

static int read_log(const char *path, plot_data *d)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "disent: plot: cannot open '%s'\n", path);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = 0;
    record *r = malloc(sizeof *r);
    if (!r) rc = cli_fail("plot", DSN_E_NOMEM);
    while (!rc && getline(&line, &cap, f) > 0) {
        lineno++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!len) continue;
        if (parse_record(line, r)) {
            fprintf(stderr, "disent: plot: %s:%ld: not a record of a training log (JSON object expected)\n", path,
                    lineno);
            rc = 1;
            break;
        }
        if (!strcmp(r->event, "start")) {
            if (r->family[0]) snprintf(d->family, sizeof d->family, "%s", r->family);
            if (d->steps + d->epochs > 0) {
                if (isfinite(r->step) && r->step + d->offset < d->last_x) d->offset = d->last_x - r->step;
                for (size_t i = 0; i < d->n && !rc; i++) /* a gap: the curves do not join across runs */
                    if (series_add(&d->s[i], d->last_x, NAN)) rc = cli_fail("plot", DSN_E_NOMEM);
            }
        }
        if (!strcmp(r->event, "skip")) d->skips++;
        int is_step = !strcmp(r->event, "step"), is_epoch = !strcmp(r->event, "epoch");
        if (!is_step && !is_epoch) continue;
        if (!isfinite(r->step)) {
            fprintf(stderr, "disent: plot: %s:%ld: a %s record without a step\n", path, lineno, r->event);
            rc = 1;
            break;
        }
        r->step += d->offset;
        if (r->step > d->last_x) d->last_x = r->step;
        if (is_step && (!d->have_stage || strcmp(d->stage, r->stage))) {
            if (d->have_stage && d->n_switch < 64) { /* a stage switch before this step */
                d->switch_step[d->n_switch] = r->step - 0.5;
                snprintf(d->switch_stage[d->n_switch++], sizeof d->switch_stage[0], "%s", r->stage);
            }
            snprintf(d->stage, sizeof d->stage, "%s", r->stage);
            d->have_stage = 1;
        }
        if (is_step) d->steps++;
        else d->epochs++;
        for (int i = 0; i < r->n && !rc; i++) {
            if (is_step && !strncmp(r->names[i], "valid.", 6)) continue;
            if (is_step && !strcmp(r->names[i], "time")) continue;
            if (is_step && !strcmp(r->names[i], "lr")) continue;
            if (is_epoch && !epoch_figure(r->names[i])) continue;
            if (series_add(series_get(d, is_step ? "" : "@", r->names[i]), r->step, r->values[i]))
                rc = cli_fail("plot", DSN_E_NOMEM);
        }
    }
    free(r);
    free(line);
    fclose(f);
    if (!rc && !d->steps && !d->epochs) {
        fprintf(stderr, "disent: plot: '%s' holds no step or epoch records\n", path);
        rc = 1;
    }
    return rc;
}

/* value range of the chosen series; 1 when all are positive */
static void range_of(const plot_data *d, int epoch_panel, const char *terms, double *lo, double *hi, int *pos)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    *pos = 1;
    for (size_t i = 0; i < d->n; i++) {
        const series *s = &d->s[i];
        if ((s->name[0] == '@') != epoch_panel) continue;
        if (!epoch_panel && terms && !in_csv_list(terms, s->name)) continue;
        for (size_t k = 0; k < s->n; k++)
            if (isfinite(s->y[k])) {
                if (s->y[k] < *lo) *lo = s->y[k];
                if (s->y[k] > *hi) *hi = s->y[k];
                if (s->y[k] <= 0) *pos = 0;
            }
    }
}

static void draw_panel(cli_canvas *c, const plot_data *d, int epoch_panel, const char *terms, int top, int bottom,
                       double xlo, double xhi, int force_log, const char *title)
{
    double lo, hi;
    int pos;
    range_of(d, epoch_panel, terms, &lo, &hi, &pos);
    cli_axes a = {84, top + 22, c->w - 170, bottom - 36, xlo, xhi, lo, hi, 0};
    cli_text(c, a.x0, top + 4, 1, title, CLI_BLACK);
    if (!isfinite(lo)) {
        cli_text(c, a.x0 + 10, (a.y0 + a.y1) / 2, 1, "(no values)", CLI_GREY);
        cli_frame(c, a.x0, a.y0, a.x1, a.y1, CLI_BLACK);
        return;
    }
    a.logy = force_log > 0 ? pos : force_log < 0 ? 0 : pos && hi > 50 * lo;
    if (a.logy) {
        a.ylo = pow(10, floor(log10(lo) * 10) / 10);
        a.yhi = pow(10, ceil(log10(hi) * 10) / 10);
    } else {
        double pad = hi > lo ? 0.05 * (hi - lo) : fabs(hi) * 0.1 + 1;
        a.ylo = lo - pad;
        a.yhi = hi + pad;
    }
    cli_axes_draw(c, &a, "training step", a.logy ? "value (log scale)" : "value", 1);
    for (int k = 0; k < d->n_switch; k++) {
        double x = cli_axes_x(&a, d->switch_step[k]);
        cli_line(c, x, a.y0 + 1, x, a.y1 - 1, CLI_GREY, 1, 4);
        char lab[48];
        snprintf(lab, sizeof lab, "stage %s", d->switch_stage[k]);
        cli_text(c, (int)x + 3, a.y0 + 3, 1, lab, CLI_GREY);
    }
    int legend = 0, ly = a.y0;
    for (size_t i = 0; i < d->n; i++) {
        const series *s = &d->s[i];
        if ((s->name[0] == '@') != epoch_panel) continue;
        if (!epoch_panel && terms && !in_csv_list(terms, s->name)) continue;
        cli_rgb col = cli_palette(legend);
        /* the objective dashed: it often equals valid_loss, which stays visible under it */
        int dashed = !strcmp(s->name, "@valid_objective");
        double px = NAN, py = NAN;
        for (size_t k = 0; k < s->n; k++) {
            if (!isfinite(s->y[k]) || (a.logy && s->y[k] <= 0)) {
                px = NAN;
                continue;
            }
            double x = cli_axes_x(&a, s->x[k]), y = cli_axes_y(&a, s->y[k]);
            if (isfinite(px)) cli_line(c, px, py, x, y, col, epoch_panel ? 2 : 1, dashed ? 5 : 0);
            if (epoch_panel) cli_fill(c, (int)x - 2, (int)y - 2, (int)x + 3, (int)y + 3, col);
            px = x;
            py = y;
        }
        /* legend right of the plot */
        cli_fill(c, a.x1 + 12, ly + 2, a.x1 + 28, ly + 5, col);
        cli_text(c, a.x1 + 32, ly, 1, s->name + (s->name[0] == '@'), CLI_BLACK);
        ly += 12;
        legend++;
    }
}

int cmd_plot(int argc, char **argv)
{
    const char *log = NULL, *out = "curves.png", *terms = NULL, *v;
    int W = 900, H = 640, force_log = 0, r;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(plot_help, stdout);
            return 0;
        }
        if ((r = cli_flag_value("plot", argc, argv, &i, "--out", &v)) != 0 ||
            (r = cli_flag_value("plot", argc, argv, &i, "-o", &v)) != 0) {
            if (r < 0) return 2;
            out = v;
        } else if ((r = cli_flag_value("plot", argc, argv, &i, "--terms", &v)) != 0) {
            if (r < 0) return 2;
            terms = v;
        } else if ((r = cli_flag_value("plot", argc, argv, &i, "--width", &v)) != 0 ||
                   (r = cli_flag_value("plot", argc, argv, &i, "--height", &v)) != 0) {
            if (r < 0) return 2;
            int is_w = !strncmp(argv[i], "--width", 7) || (i > 0 && !strcmp(argv[i - 1], "--width"));
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 200 || n > 8000)
                return cli_usage_error("plot", "%s '%s': 200 to 8000 pixels", is_w ? "--width" : "--height", v);
            if (is_w) W = (int)n;
            else H = (int)n;
        } else if (!strcmp(argv[i], "--log-y")) {
            force_log = 1;
        } else if (!strcmp(argv[i], "--linear")) {
            force_log = -1;
        } else if (argv[i][0] == '-') {
            return cli_usage_error("plot", "unknown flag '%s'", argv[i]);
        } else if (log) {
            return cli_usage_error("plot", "unexpected argument '%s' (one log file)", argv[i]);
        } else {
            log = argv[i];
        }
    }
    if (!log) return cli_usage_error("plot", "give the training log (LOG.jsonl, written by disent train --log DIR)");
    plot_data d;
    memset(&d, 0, sizeof d);
    int rc = read_log(log, &d);
    if (!rc && terms) {
        int any = 0;
        for (size_t i = 0; i < d.n; i++) any |= d.s[i].name[0] != '@' && in_csv_list(terms, d.s[i].name);
        if (!any) {
            fprintf(stderr, "disent: plot: none of the terms '%s' is in the log (terms:", terms);
            for (size_t i = 0; i < d.n; i++)
                if (d.s[i].name[0] != '@') fprintf(stderr, " %s", d.s[i].name);
            fprintf(stderr, ")\n");
            rc = 1;
        }
    }
    cli_canvas c = {0};
    if (!rc) {
        double xlo = INFINITY, xhi = -INFINITY;
        for (size_t i = 0; i < d.n; i++)
            for (size_t k = 0; k < d.s[i].n; k++) {
                if (d.s[i].x[k] < xlo) xlo = d.s[i].x[k];
                if (d.s[i].x[k] > xhi) xhi = d.s[i].x[k];
            }
        if (!(xhi > xlo)) xhi = xlo + 1;
        rc = cli_canvas_init(&c, W, H, CLI_WHITE) ? 1 : 0;
        if (!rc) {
            char title[160];
            snprintf(title, sizeof title, "%s%straining log %s", d.family, d.family[0] ? " " : "", log);
            cli_text(&c, 12, 8, 2, title, CLI_BLACK);
            int mid = 30 + (H - 30) / 2;
            draw_panel(&c, &d, 0, terms, 30, mid, xlo, xhi, force_log, "loss terms of every training step");
            draw_panel(&c, &d, 1, NULL, mid, H - 8, xlo, xhi, force_log, "end of each epoch (validation)");
            rc = cli_canvas_png(&c, out) ? 1 : 0;
        }
    }
    if (!rc) {
        printf("wrote %s (%d x %d): %ld steps, %ld epochs", out, W, H, d.steps, d.epochs);
        if (d.skips) printf(", %ld skipped steps", d.skips);
        printf("; curves:");
        for (size_t i = 0; i < d.n; i++)
            if (d.s[i].name[0] == '@' || !terms || in_csv_list(terms, d.s[i].name))
                printf(" %s%s", d.s[i].name[0] == '@' ? "epoch " : "", d.s[i].name + (d.s[i].name[0] == '@'));
        printf("\n");
    }
    cli_canvas_free(&c);
    for (size_t i = 0; i < d.n; i++) {
        free(d.s[i].x);
        free(d.s[i].y);
    }
    free(d.s);
    return rc;
}
