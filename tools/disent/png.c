/* png.c - grey PNG files and picture grids of observations for `disent`. */
#include "cli.h"
#include "../common/label_grid.h"

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
    int nd = host_obs_shape(m, dims, 3);
    size_t n = host_info(m).obs_size;
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

/* The value range of a grid: [0, 1] when every value lies in it, else min..max. */
static void grid_range(const cli_view *v, const float *const *cells, size_t count, float *lo_, float *scale_)
{
    size_t n = v->kind == 2 ? v->T * v->D : v->h * v->w;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t c = 0; c < count; c++)
        for (size_t i = 0; cells[c] && i < n; i++) {
            if (cells[c][i] < lo) lo = cells[c][i];
            if (cells[c][i] > hi) hi = cells[c][i];
        }
    if (lo >= 0.0f && hi <= 1.0f) { /* probabilities / pixels: show as they are */
        lo = 0.0f;
        hi = 1.0f;
    }
    *lo_ = lo;
    *scale_ = hi > lo ? 255.0f / (hi - lo) : 0.0f;
}

/* One observation as h x w grey bytes (0 = black): image row-major h x w;
 * spectrogram x[t * D + d] at column t, row D-1-d. */
static void cell_bytes(const cli_view *v, const float *x, float lo, float scale, unsigned char *out)
{
    for (size_t y = 0; y < v->h; y++)
        for (size_t xx = 0; xx < v->w; xx++) {
            float val = v->kind == 2 ? x[xx * v->D + (v->D - 1 - y)] : x[y * v->w + xx];
            float p = (val - lo) * scale;
            out[y * v->w + xx] = (unsigned char)(p < 0 ? 0 : p > 255 ? 255 : p + 0.5f);
        }
}

int cli_grid_png(const char *path, const cli_view *v, const float *const *cells, size_t rows, size_t cols)
{
    const size_t gap = 2;
    float lo, scale;
    grid_range(v, cells, rows * cols, &lo, &scale);
    /* small cells are enlarged (nearest neighbour) to about 28 pixels high */
    size_t zoom = v->h < 28 && v->w < 28 ? (28 + v->h - 1) / v->h : 1;
    size_t ch = v->h * zoom, cw = v->w * zoom;
    size_t W = cols * cw + (cols + 1) * gap, H = rows * ch + (rows + 1) * gap;
    unsigned char *pix = malloc(W * H), *tile = malloc(v->h * v->w);
    if (!pix || !tile) {
        free(pix);
        free(tile);
        fprintf(stderr, "disent: out of memory for the picture\n");
        return -1;
    }
    memset(pix, 128, W * H);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            const float *x = cells[r * cols + c];
            if (!x) continue;
            cell_bytes(v, x, lo, scale, tile);
            size_t y0 = gap + r * (ch + gap), x0 = gap + c * (cw + gap);
            for (size_t yz = 0; yz < ch; yz++)
                for (size_t xz = 0; xz < cw; xz++) pix[(y0 + yz) * W + x0 + xz] = tile[yz / zoom * v->w + xz / zoom];
        }
    int r = cli_png_write(path, pix, W, H);
    free(pix);
    free(tile);
    return r;
}

int cli_grid_png_labelled(const char *path, const cli_view *v, const float *const *cells, size_t rows, size_t cols,
                          const char *title, const char *col_label, const char *row_label)
{
    float lo, scale;
    grid_range(v, cells, rows * cols, &lo, &scale);
    lgrid g;
    lgrid_init(&g, (int)rows - 1, (int)cols - 1, (int)v->h, (int)v->w, title, col_label, row_label);
    unsigned char *tile = malloc(v->h * v->w);
    if (!g.pix || !tile) {
        lgrid_free(&g);
        free(tile);
        fprintf(stderr, "disent: out of memory for the picture\n");
        return -1;
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            const float *x = cells[r * cols + c];
            if (!x) continue;
            cell_bytes(v, x, lo, scale, tile);
            lgrid_tile_u8(&g, (int)r - 1, (int)c - 1, tile);
        }
    int r = cli_png_write(path, g.pix, (size_t)g.W, (size_t)g.H);
    lgrid_free(&g);
    free(tile);
    return r;
}
