/* draw.c - the RGB canvas of `disent`'s figures (draw.h). */
#include "draw.h"
#include "../common/font5x7.h"

#include <disent.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_canvas_init(cli_canvas *c, int w, int h, cli_rgb bg)
{
    c->w = w;
    c->h = h;
    c->pix = w > 0 && h > 0 ? malloc((size_t)w * (size_t)h * 3) : NULL;
    if (!c->pix) {
        fprintf(stderr, "disent: out of memory for a %d x %d figure\n", w, h);
        return -1;
    }
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
        c->pix[3 * i] = bg.r;
        c->pix[3 * i + 1] = bg.g;
        c->pix[3 * i + 2] = bg.b;
    }
    return 0;
}

void cli_canvas_free(cli_canvas *c)
{
    free(c->pix);
    c->pix = NULL;
}

int cli_canvas_png(const cli_canvas *c, const char *path)
{
    if (dsn_image_save_png(path, c->pix, (size_t)c->w, (size_t)c->h, 3) != DSN_OK) {
        fprintf(stderr, "disent: %s\n", dsn_last_error());
        return -1;
    }
    return 0;
}

void cli_pixel(cli_canvas *c, int x, int y, cli_rgb col)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    unsigned char *p = c->pix + 3 * ((size_t)y * (size_t)c->w + (size_t)x);
    p[0] = col.r;
    p[1] = col.g;
    p[2] = col.b;
}

void cli_fill(cli_canvas *c, int x0, int y0, int x1, int y1, cli_rgb col)
{
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < c->h; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < c->w; x++) cli_pixel(c, x, y, col);
}

void cli_frame(cli_canvas *c, int x0, int y0, int x1, int y1, cli_rgb col)
{
    cli_fill(c, x0, y0, x1 + 1, y0 + 1, col);
    cli_fill(c, x0, y1, x1 + 1, y1 + 1, col);
    cli_fill(c, x0, y0, x0 + 1, y1 + 1, col);
    cli_fill(c, x1, y0, x1 + 1, y1 + 1, col);
}

void cli_line(cli_canvas *c, double x0, double y0, double x1, double y1, cli_rgb col, int width, int dash)
{
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1)) return;
    double dx = x1 - x0, dy = y1 - y0, len = fabs(dx) > fabs(dy) ? fabs(dx) : fabs(dy);
    if (len > 1e5) return; /* far outside any figure */
    int n = (int)ceil(len), lo = -(width - 1) / 2, hi = width / 2;
    for (int i = 0; i <= n; i++) {
        if (dash > 0 && (i / dash) % 2) continue;
        double t = n ? (double)i / n : 0.0;
        int x = (int)lround(x0 + t * dx), y = (int)lround(y0 + t * dy);
        for (int a = lo; a <= hi; a++)
            for (int b = lo; b <= hi; b++) cli_pixel(c, x + a, y + b, col);
    }
}

int cli_text_width(const char *text, int scale) { return (int)strlen(text) * 6 * scale - (*text ? scale : 0); }

int cli_text(cli_canvas *c, int x, int y, int scale, const char *text, cli_rgb col)
{
    int x0 = x;
    for (const char *p = text; *p; p++, x += 6 * scale) {
        const unsigned char *rows = font5x7_rows(*p);
        if (!rows) continue;
        for (int r = 0; r < 7; r++)
            for (int b = 0; b < 5; b++)
                if (rows[r] >> (4 - b) & 1) cli_fill(c, x + b * scale, y + r * scale, x + (b + 1) * scale, y + (r + 1) * scale, col);
    }
    return x - x0;
}

void cli_text_up(cli_canvas *c, int x, int y, int scale, const char *text, cli_rgb col)
{
    for (const char *p = text; *p; p++, y -= 6 * scale) {
        const unsigned char *rows = font5x7_rows(*p);
        if (!rows) continue;
        /* glyph column b goes up from y, glyph row r goes right from x */
        for (int r = 0; r < 7; r++)
            for (int b = 0; b < 5; b++)
                if (rows[r] >> (4 - b) & 1)
                    cli_fill(c, x + r * scale, y - (b + 1) * scale, x + (r + 1) * scale, y - b * scale, col);
    }
}

void cli_text_centred(cli_canvas *c, int x, int y, int scale, const char *text, cli_rgb col)
{
    cli_text(c, x - cli_text_width(text, scale) / 2, y, scale, text, col);
}

cli_rgb cli_colormap(double t)
{
    /* five samples of matplotlib's viridis, linearly interpolated */
    static const double k[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    if (!(t > 0)) t = 0;
    if (t > 1) t = 1;
    double f = t * 4;
    int i = f >= 4 ? 3 : (int)f;
    double u = f - i;
    cli_rgb o;
    o.r = (unsigned char)lround(k[i][0] + u * (k[i + 1][0] - k[i][0]));
    o.g = (unsigned char)lround(k[i][1] + u * (k[i + 1][1] - k[i][1]));
    o.b = (unsigned char)lround(k[i][2] + u * (k[i + 1][2] - k[i][2]));
    return o;
}

cli_rgb cli_palette(int i)
{
    static const cli_rgb p[10] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},   {148, 103, 189},
                                  {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
    return p[(i % 10 + 10) % 10];
}

int cli_nice_ticks(double lo, double hi, int max, double *ticks, double *step)
{
    if (!(hi > lo) || max < 2) {
        ticks[0] = lo;
        *step = 1;
        return 1;
    }
    double raw = (hi - lo) / (max - 1), mag = pow(10, floor(log10(raw))), s = mag;
    const double mult[4] = {1, 2, 5, 10};
    for (int i = 0; i < 4; i++)
        if (mag * mult[i] >= raw) {
            s = mag * mult[i];
            break;
        }
    int n = 0;
    for (double v = ceil(lo / s - 1e-9) * s; v <= hi + 1e-9 * s && n < max; v += s) ticks[n++] = fabs(v) < 1e-12 * s ? 0 : v;
    *step = s;
    return n;
}

void cli_tick_label(char *buf, size_t cap, double v, double step)
{
    double a = fabs(v);
    if (a != 0 && (a >= 1e6 || a < 1e-3)) {
        snprintf(buf, cap, "%.2g", v);
        return;
    }
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 6) dec = 6;
    snprintf(buf, cap, "%.*f", dec, v);
}

double cli_axes_x(const cli_axes *a, double x)
{
    return a->x0 + (x - a->xlo) / (a->xhi > a->xlo ? a->xhi - a->xlo : 1) * (a->x1 - a->x0);
}

double cli_axes_y(const cli_axes *a, double y)
{
    double lo = a->ylo, hi = a->yhi;
    if (a->logy) {
        y = y > 0 ? log10(y) : -INFINITY;
        lo = log10(lo);
        hi = log10(hi);
    }
    return a->y1 - (y - lo) / (hi > lo ? hi - lo : 1) * (a->y1 - a->y0);
}

void cli_axes_draw(cli_canvas *c, const cli_axes *a, const char *xlabel, const char *ylabel, int scale)
{
    double t[64], step;
    char buf[48];
    int n = cli_nice_ticks(a->xlo, a->xhi, 8, t, &step), ch = 8 * scale, widest = 0;
    for (int i = 0; i < n; i++) {
        int x = (int)lround(cli_axes_x(a, t[i]));
        cli_fill(c, x, a->y0 + 1, x + 1, a->y1, CLI_LIGHT);
        cli_fill(c, x, a->y1, x + 1, a->y1 + 4, CLI_BLACK);
        cli_tick_label(buf, sizeof buf, t[i], step);
        cli_text_centred(c, x, a->y1 + 6, scale, buf, CLI_BLACK);
    }
    if (a->logy) { /* decades, and 2 and 5 times them when there are few */
        double l0 = floor(log10(a->ylo)), l1 = ceil(log10(a->yhi));
        int few = l1 - l0 <= 2;
        n = 0;
        for (double d = l0; d <= l1 && n < 60; d++)
            for (int m = 1; m <= 5 && n < 60; m += few ? (m == 1 ? 1 : 3) : 10) {
                double v = (double)m * pow(10, d);
                if (v >= a->ylo * (1 - 1e-9) && v <= a->yhi * (1 + 1e-9)) t[n++] = v;
            }
        step = 0;
    } else {
        n = cli_nice_ticks(a->ylo, a->yhi, 7, t, &step);
    }
    for (int i = 0; i < n; i++) {
        int y = (int)lround(cli_axes_y(a, t[i]));
        cli_fill(c, a->x0 + 1, y, a->x1, y + 1, CLI_LIGHT);
        cli_fill(c, a->x0 - 4, y, a->x0, y + 1, CLI_BLACK);
        if (a->logy) snprintf(buf, sizeof buf, "%g", t[i]);
        else cli_tick_label(buf, sizeof buf, t[i], step);
        int w = cli_text_width(buf, scale);
        if (w > widest) widest = w;
        cli_text(c, a->x0 - 7 - w, y - 3 * scale, scale, buf, CLI_BLACK);
    }
    cli_frame(c, a->x0, a->y0, a->x1, a->y1, CLI_BLACK);
    if (xlabel) cli_text_centred(c, (a->x0 + a->x1) / 2, a->y1 + 8 + ch, scale, xlabel, CLI_BLACK);
    if (ylabel) {
        int x = a->x0 - 10 - widest - ch;
        cli_text_up(c, x < 0 ? 0 : x, (a->y0 + a->y1) / 2 + cli_text_width(ylabel, scale) / 2, scale, ylabel,
                    CLI_BLACK);
    }
}
