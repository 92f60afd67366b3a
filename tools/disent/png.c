/* png.c - grey PNG files and picture grids of observations for `disent`. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- PNG: the library's writer (dsn_image_save_png), with the CLI's message ---- */
int cli_png_write(const char *path, const unsigned char *pix, size_t w, size_t h)
{
    if (dsn_image_save_png(path, pix, w, h, 1) != DSN_OK) {
        fprintf(stderr, "disent: %s\n", dsn_last_error());
        return -1;
    }
    return 0;
}

/* ---- views ------------------------------------------------------------------------ */
int cli_view_for(const dsn_model *m, const char *image_hw, cli_view *v)
{
    size_t dims[3] = {0};
    int nd = cli_obs_shape(m, dims, 3);
    size_t n = cli_info(m).obs_size;
    memset(v, 0, sizeof *v);
    if (image_hw) {
        if (cli_parse_hw(image_hw, &v->h, &v->w)) return -1;
        if (v->h * v->w != n) {
            fprintf(stderr, "disent: --image %s is %zu pixels, the model's observations have %zu floats\n", image_hw,
                    v->h * v->w, n);
            return -1;
        }
        v->kind = 1;
        return 0;
    }
    if (nd == 1) {
        size_t s = (size_t)floor(sqrt((double)n) + 0.5);
        if (s * s == n && s > 1) {
            v->kind = 1;
            v->h = v->w = s;
        }
    } else if (nd == 3 && dims[0] == 1 && dims[1] > 1 && dims[2] > 1) { /* one channel: [1, H, W] */
        v->kind = 1;
        v->h = dims[1];
        v->w = dims[2];
    } else if (nd == 2) {
        v->kind = 2;
        v->T = dims[0];
        v->D = dims[1];
        v->h = dims[1]; /* features up */
        v->w = dims[0]; /* time to the right */
    }
    return 0;
}

int cli_grid_png(const char *path, const cli_view *v, const float *const *cells, size_t rows, size_t cols)
{
    const size_t gap = 2;
    size_t n = v->kind == 2 ? v->T * v->D : v->h * v->w;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t c = 0; c < rows * cols; c++)
        for (size_t i = 0; cells[c] && i < n; i++) {
            if (cells[c][i] < lo) lo = cells[c][i];
            if (cells[c][i] > hi) hi = cells[c][i];
        }
    if (lo >= 0.0f && hi <= 1.0f) { /* probabilities / pixels: show as they are */
        lo = 0.0f;
        hi = 1.0f;
    }
    float scale = hi > lo ? 255.0f / (hi - lo) : 0.0f;
    /* small cells are enlarged (nearest neighbour) to about 28 pixels high */
    size_t zoom = v->h < 28 && v->w < 28 ? (28 + v->h - 1) / v->h : 1;
    size_t ch = v->h * zoom, cw = v->w * zoom;
    size_t W = cols * cw + (cols + 1) * gap, H = rows * ch + (rows + 1) * gap;
    unsigned char *pix = malloc(W * H);
    if (!pix) return -1;
    memset(pix, 128, W * H);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            const float *x = cells[r * cols + c];
            if (!x) continue;
            size_t y0 = gap + r * (ch + gap), x0 = gap + c * (cw + gap);
            for (size_t yz = 0; yz < ch; yz++)
                for (size_t xz = 0; xz < cw; xz++) {
                    size_t y = yz / zoom, xx = xz / zoom;
                    /* image: row-major h x w; spectrogram: x[t * D + d] at column t, row D-1-d */
                    float val = v->kind == 2 ? x[xx * v->D + (v->D - 1 - y)] : x[y * v->w + xx];
                    float p = (val - lo) * scale;
                    pix[(y0 + yz) * W + x0 + xz] = (unsigned char)(p < 0 ? 0 : p > 255 ? 255 : p + 0.5f);
                }
        }
    int r = cli_png_write(path, pix, W, H);
    free(pix);
    return r;
}
