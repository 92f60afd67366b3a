/* spectro.c - the labelled spectrogram grid of `disent swap` (and of decode
 * and sample) for sequence models: one cell per log-mel observation [T, D],
 * drawn with the colour map of draw.h, a title, a caption and a label over
 * every column and beside every row, a time axis in seconds under the
 * bottom row and a frequency axis in Hz (at the mel bands' centres) left of
 * the first column, and a colour bar with the value scale. Without audio
 * settings (a model trained on plain [T, D] arrays) the axes count frames
 * and feature rows instead. */
#include "cli.h"
#include "draw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the value of key in the bag, else the library's default of the audio key */
static double audio_key(const dsn_options *o, const char *key)
{
    const char *v = o ? dsn_options_get(o, key) : NULL;
    if (v) return atof(v);
    size_t n = 0;
    if (dsn_option_count(&n, "audio") != DSN_OK) return 0;
    for (size_t i = 0; i < n; i++) {
        dsn_option_info info = DSN_OPTION_INFO_INIT;
        if (dsn_option_describe(&info, "audio", i) == DSN_OK && !strcmp(info.key, key))
            return info.default_value ? atof(info.default_value) : 0;
    }
    return 0;
}

static int slaney_scale(const dsn_options *o)
{
    const char *v = o ? dsn_options_get(o, "scale") : NULL;
    if (v) return !strcmp(v, "slaney");
    size_t n = 0;
    if (dsn_option_count(&n, "audio") != DSN_OK) return 0;
    for (size_t i = 0; i < n; i++) {
        dsn_option_info info = DSN_OPTION_INFO_INIT;
        if (dsn_option_describe(&info, "audio", i) == DSN_OK && !strcmp(info.key, "scale"))
            return info.default_value && !strcmp(info.default_value, "slaney");
    }
    return 0;
}

/* the mel scales of the library's filterbank (HTK, or Slaney's: linear below 1 kHz) */
static double hz_to_mel(double hz, int slaney)
{
    if (!slaney) return 2595.0 * log10(1.0 + hz / 700.0);
    const double f_sp = 200.0 / 3.0, min_log_mel = 1000.0 / f_sp, logstep = log(6.4) / 27.0;
    return hz >= 1000.0 ? min_log_mel + log(hz / 1000.0) / logstep : hz / f_sp;
}

static double mel_to_hz(double mel, int slaney)
{
    if (!slaney) return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
    const double f_sp = 200.0 / 3.0, min_log_mel = 1000.0 / f_sp, logstep = log(6.4) / 27.0;
    return mel >= min_log_mel ? 1000.0 * exp(logstep * (mel - min_log_mel)) : f_sp * mel;
}

static void hz_label(char *buf, size_t cap, double hz)
{
    if (hz >= 1000) snprintf(buf, cap, "%gk", hz / 1000);
    else snprintf(buf, cap, "%g", hz);
}

int cli_spectro_grid_png(const char *path, const cli_view *v, const float *const *cells, size_t rows, size_t cols,
                         const cli_figure_text *text, const dsn_options *audio)
{
    const size_t T = v->T, D = v->D, n = T * D;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t c = 0; c < rows * cols; c++)
        for (size_t i = 0; cells[c] && i < n; i++)
            if (isfinite(cells[c][i])) {
                if (cells[c][i] < lo) lo = cells[c][i];
                if (cells[c][i] > hi) hi = cells[c][i];
            }
    if (!isfinite(lo)) lo = hi = 0;
    if (!(hi > lo)) hi = lo + 1;
    /* cells of at least ~160 x 96 pixels, whole pixels per frame and band */
    int zx = (int)((160 + T - 1) / T), zy = (int)((96 + D - 1) / D);
    if (zx < 1) zx = 1;
    if (zy < 1) zy = 1;
    const int cw = (int)T * zx, ch = (int)D * zy, gap = 26;
    int label_w = 0;
    for (size_t r = 0; r < rows; r++) {
        int w = text->row_labels && text->row_labels[r] ? cli_text_width(text->row_labels[r], 1) : 0;
        if (w > label_w) label_w = w;
    }
    const int left = 14 + 10 + label_w + 8 + 40, top = 8 + 20 + 14 + 14, bar_w = 16;
    const int W = left + (int)cols * (cw + gap) + 20 + bar_w + 60, H = top + (int)rows * (ch + gap) + 40;
    cli_canvas cv;
    if (cli_canvas_init(&cv, W, H, CLI_WHITE)) return -1;
    cli_text(&cv, 10, 8, 2, text->title ? text->title : "", CLI_BLACK);
    if (text->col_title) cli_text(&cv, left, 8 + 20, 1, text->col_title, CLI_BLACK);
    if (text->row_title) cli_text_up(&cv, 8, top + ((int)rows * (ch + gap)) / 2 + cli_text_width(text->row_title, 1) / 2, 1,
                                     text->row_title, CLI_BLACK);
    const int have_audio = audio != NULL;
    const double sr = have_audio ? audio_key(audio, "sample_rate") : 0, hop = have_audio ? audio_key(audio, "hop_length") : 0;
    double fmin = have_audio ? audio_key(audio, "fmin") : 0, fmax = have_audio ? audio_key(audio, "fmax") : 0;
    if (have_audio && !(fmax > 0)) fmax = sr / 2;
    const int slaney = have_audio && slaney_scale(audio), seconds = have_audio && sr > 0 && hop > 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            const int x0 = left + (int)c * (cw + gap), y0 = top + (int)r * (ch + gap);
            if (r == 0 && text->col_labels && text->col_labels[c])
                cli_text(&cv, x0, y0 - 10, 1, text->col_labels[c], CLI_BLACK);
            if (c == 0 && text->row_labels && text->row_labels[r])
                cli_text(&cv, left - 48 - cli_text_width(text->row_labels[r], 1), y0 + ch / 2 - 3, 1,
                         text->row_labels[r], CLI_BLACK);
            const float *x = cells[r * cols + c];
            if (!x) continue;
            size_t first = 0; /* the row's first drawn cell gets the frequency axis */
            while (first < cols && !cells[r * cols + first]) first++;
            /* time to the right, feature 0 (the lowest band) at the bottom */
            for (size_t t = 0; t < T; t++)
                for (size_t d = 0; d < D; d++) {
                    double val = x[t * D + d];
                    cli_rgb col = isfinite(val) ? cli_colormap((val - lo) / (hi - lo)) : CLI_GREY;
                    int px = x0 + (int)t * zx, py = y0 + ch - (int)(d + 1) * zy;
                    cli_fill(&cv, px, py, px + zx, py + zy, col);
                }
            cli_frame(&cv, x0 - 1, y0 - 1, x0 + cw, y0 + ch, CLI_GREY);
            /* frequency axis left of the first column */
            if (c == first) {
                int last_y = 1 << 30;
                if (have_audio && fmax > fmin) {
                    static const double cand[] = {0, 100, 200, 500, 1000, 2000, 3000, 4000, 5000, 8000, 10000, 16000, 20000};
                    double m0 = hz_to_mel(fmin, slaney), m1 = hz_to_mel(fmax, slaney);
                    double f_lo = mel_to_hz(m0 + (m1 - m0) / (double)(D + 1), slaney);
                    double f_hi = mel_to_hz(m0 + (m1 - m0) * (double)D / (double)(D + 1), slaney);
                    for (size_t k = 0; k < sizeof cand / sizeof *cand; k++) {
                        if (cand[k] < f_lo || cand[k] > f_hi) continue;
                        /* band index (centre of band d at d + 1 steps) -> pixel */
                        double pos = (hz_to_mel(cand[k], slaney) - m0) / (m1 - m0) * (double)(D + 1) - 1.0;
                        int y = y0 + ch - (int)lround((pos + 0.5) * zy);
                        if (last_y - y < 12) continue;
                        last_y = y;
                        char buf[16];
                        hz_label(buf, sizeof buf, cand[k]);
                        cli_fill(&cv, x0 - 4, y, x0 - 1, y + 1, CLI_BLACK);
                        cli_text(&cv, x0 - 6 - cli_text_width(buf, 1), y - 3, 1, buf, CLI_BLACK);
                    }
                } else {
                    double tk[16], step;
                    int nt = cli_nice_ticks(0, (double)D - 1, 4, tk, &step);
                    for (int k = 0; k < nt; k++) {
                        int y = y0 + ch - (int)lround((tk[k] + 0.5) * zy);
                        char buf[16];
                        snprintf(buf, sizeof buf, "%g", tk[k]);
                        cli_fill(&cv, x0 - 4, y, x0 - 1, y + 1, CLI_BLACK);
                        cli_text(&cv, x0 - 6 - cli_text_width(buf, 1), y - 3, 1, buf, CLI_BLACK);
                    }
                }
                cli_text_up(&cv, x0 - 40, y0 + ch, 1, have_audio ? "Hz" : "feature", CLI_GREY);
            }
            /* time axis under the bottom cell of each column */
            if (r + 1 == rows || !cells[(r + 1) * cols + c]) {
                double span = seconds ? (double)(T - 1) * hop / sr : (double)(T - 1), tk[16], step;
                int nt = cli_nice_ticks(0, span, 4, tk, &step);
                for (int k = 0; k < nt; k++) {
                    double frame = seconds ? tk[k] * sr / hop : tk[k];
                    int tx = x0 + (int)lround((frame + 0.5) * zx);
                    char buf[24];
                    cli_tick_label(buf, sizeof buf, tk[k], step);
                    cli_fill(&cv, tx, y0 + ch + 1, tx + 1, y0 + ch + 4, CLI_BLACK);
                    cli_text_centred(&cv, tx, y0 + ch + 6, 1, buf, CLI_BLACK);
                }
                cli_text_centred(&cv, x0 + cw / 2, y0 + ch + 18, 1, seconds ? "time (s)" : "frame", CLI_GREY);
            }
        }
    /* the colour bar */
    const int bx = left + (int)cols * (cw + gap) + 12, by0 = top, by1 = top + (int)rows * (ch + gap) - gap;
    for (int y = by0; y < by1; y++) cli_fill(&cv, bx, y, bx + bar_w, y + 1, cli_colormap((double)(by1 - 1 - y) / (by1 - 1 - by0)));
    cli_frame(&cv, bx - 1, by0 - 1, bx + bar_w, by1, CLI_BLACK);
    double tk[16], step;
    int nt = cli_nice_ticks(lo, hi, 6, tk, &step);
    for (int k = 0; k < nt; k++) {
        int y = by1 - 1 - (int)lround((tk[k] - lo) / (hi - lo) * (by1 - 1 - by0));
        char buf[24];
        cli_tick_label(buf, sizeof buf, tk[k], step);
        cli_fill(&cv, bx + bar_w, y, bx + bar_w + 4, y + 1, CLI_BLACK);
        cli_text(&cv, bx + bar_w + 6, y - 3, 1, buf, CLI_BLACK);
    }
    cli_text(&cv, bx - 4, by0 - 12, 1, text->value_label ? text->value_label : "value", CLI_GREY);
    int rc = cli_canvas_png(&cv, path);
    cli_canvas_free(&cv);
    return rc;
}

int cli_figure_audio(const cli_audio *a, const dsn_model *m, dsn_options **out)
{
    *out = NULL;
    int flags = a && (a->sample_rate || a->n_fft || a->hop_length || a->fmin || a->fmax);
    if (!flags && !(m && dsn_model_audio(m))) return 0;
    return cli_audio_options(a, m, 0, out);
}

int cli_spectro_figure(const char *path, const cli_view *v, const float *const *cells, size_t rows, size_t cols,
                       const char *title, const char *col_title, const char *row_title, cli_label_fn label, void *ctx,
                       const cli_audio *audio, const dsn_model *m)
{
    dsn_options *fig = NULL;
    int rc = cli_figure_audio(audio, m, &fig);
    if (rc) return rc;
    char *buf = malloc((rows + cols) * 32 + 1);
    const char **rl = calloc(rows, sizeof *rl), **cl = calloc(cols, sizeof *cl);
    if (!buf || !rl || !cl) rc = cli_fail("figure", DSN_E_NOMEM);
    for (size_t k = 0; !rc && k < rows + cols; k++) {
        int is_col = k >= rows;
        buf[32 * k] = 0;
        label(ctx, is_col, is_col ? k - rows : k, buf + 32 * k, 32);
        if (is_col) cl[k - rows] = buf + 32 * k;
        else rl[k] = buf + 32 * k;
    }
    cli_figure_text t = {title, col_title, row_title, fig ? "log-mel" : "value", rl, cl};
    if (!rc && cli_spectro_grid_png(path, v, cells, rows, cols, &t, fig)) rc = 1;
    free(buf);
    free(rl);
    free(cl);
    dsn_options_free(fig);
    return rc;
}

/* a flat grid: rows start at observation r * cols, columns add c */
static void flat_label(void *ctx, int is_col, size_t i, char *buf, size_t cap)
{
    size_t cols = *(const size_t *)ctx;
    if (is_col) snprintf(buf, cap, "+%zu", i);
    else snprintf(buf, cap, "%zu", i * cols);
}

int cli_obs_grid_png(const char *path, const cli_view *v, const float *const *cells, size_t rows, size_t cols,
                     const char *title, const cli_audio *audio, const dsn_model *m)
{
    if (v->kind != 2) return cli_grid_png(path, v, cells, rows, cols);
    return cli_spectro_figure(path, v, cells, rows, cols, title, "observation = row + column", NULL, flat_label,
                              &cols, audio, m);
}

int cli_obs_outputs(const char *cmd, const char *out, const char *png, const char *wav, const char *title,
                    const cli_view *v, size_t cols, const float *obs, size_t n, size_t T, size_t D,
                    const cli_audio *audio, const dsn_model *m)
{
    char path[1200];
    int rc = 0;
    if (v->kind) {
        if (!cols) cols = v->kind == 1 ? 16 : 4;
        if (cols > n) cols = n;
        size_t rows = (n + cols - 1) / cols, obs_n = host_info(m).obs_size;
        const float **cells = calloc(rows * cols, sizeof *cells);
        if (!cells) return cli_fail(cmd, DSN_E_NOMEM);
        for (size_t i = 0; i < n; i++) cells[i] = obs + i * obs_n;
        cli_join(path, sizeof path, out, png);
        rc = cli_obs_grid_png(path, v, cells, rows, cols, title, audio, m) ? 1 : 0;
        free(cells);
        if (rc) return rc;
        printf(", %s", path);
    }
    if (audio->wav) {
        for (size_t i = 0; i < n && !rc; i++) {
            char file[200];
            snprintf(file, sizeof file, "%s_%zu.wav", wav, i);
            cli_join(path, sizeof path, out, file);
            rc = cli_wav_write(audio, m, path, obs + i * T * D, T, D);
        }
        if (rc) return rc;
        printf(", %zu WAV files", n);
    }
    return 0;
}
