/* label_grid.h - labelled picture grids, shared by the example programs and
 * the `disent` command line (tools/disent/png.c); not part of the library.
 * A page holds a title (one or more lines), a caption over the columns, a
 * caption down the rows, one header row and one header column of source
 * pictures set off by grey rules, and rows x cols tiles of th x tw grey
 * pictures, written as PNG with dsn_image_save_png. Small tiles are enlarged
 * (nearest neighbour). Text uses the 5x7 font of font5x7.h (printable
 * ASCII). Header-only: every
 * function is static inline; lgrid_init allocates the page (lgrid_free). */
#ifndef DISENT_LABEL_GRID_H
#define DISENT_LABEL_GRID_H

#include <disent.h>

#include "font5x7.h"

#include <stdlib.h>
#include <string.h>

/* Draw text at (x, y) with pixels of size fs; value v. Returns the width drawn. */
static inline int lgrid_text(unsigned char *pix, int W, int H, int x, int y, int fs, const char *text, unsigned char v)
{
    int x0 = x;
    for (const char *p = text; *p; p++, x += 6 * fs) {
        const unsigned char *rows = font5x7_rows(*p);
        if (!rows) continue; /* space and unknown characters */
        for (int r = 0; r < 7; r++)
            for (int b = 0; b < 5; b++)
                if (rows[r] >> (4 - b) & 1)
                    for (int dy = 0; dy < fs; dy++)
                        for (int dx = 0; dx < fs; dx++) {
                            int px = x + b * fs + dx, py = y + r * fs + dy;
                            if (px >= 0 && px < W && py >= 0 && py < H) pix[(size_t)py * W + px] = v;
                        }
    }
    return x - x0;
}

typedef struct lgrid {
    int rows, cols, th, tw, S; /* tiles, tile size in picture pixels, enlargement */
    int W, H, x0, y0, cw, ch, rule;
    unsigned char *pix; /* W x H grey page; NULL when out of memory */
} lgrid;

/* A white page of rows x cols tiles (plus the header row and column) with
 * the title (lines separated by '\n'), col_label over the columns and
 * row_label down the rows. On allocation failure g->pix is NULL and the other
 * calls do nothing (lgrid_write returns -1). */
static inline void lgrid_init(lgrid *g, int rows, int cols, int th, int tw, const char *title, const char *col_label,
                              const char *row_label)
{
    memset(g, 0, sizeof *g);
    g->rows = rows;
    g->cols = cols;
    g->th = th;
    g->tw = tw;
    int big = th > tw ? th : tw;
    g->S = big <= 14 ? (56 + big - 1) / big : big <= 32 ? 2 : 1;
    g->cw = tw * g->S + 2;
    g->ch = th * g->S + 2;
    g->rule = 8;
    const int m = 8, fs = 2, line = 9 * fs;
    int lines = 1, longest = 0, cur = 0;
    for (const char *p = title; *p; p++) {
        if (*p == '\n') {
            lines++;
            cur = 0;
        } else if (++cur > longest) {
            longest = cur;
        }
    }
    g->x0 = m + 6 * fs + 8;
    g->y0 = m + lines * line + 6 + line + 4;
    int gw = g->x0 + (cols + 1) * g->cw + g->rule + m, tw_ = 2 * m + longest * 6 * fs;
    int cl = g->x0 + g->cw + g->rule + (int)strlen(col_label) * 6 * fs + m;
    g->W = gw > tw_ ? gw : tw_;
    if (cl > g->W) g->W = cl;
    int rl = (int)strlen(row_label) * line;
    int gh = g->y0 + (rows + 1) * g->ch + g->rule + m;
    g->H = gh > g->y0 + g->ch + g->rule + rl + m ? gh : g->y0 + g->ch + g->rule + rl + m;
    g->pix = malloc((size_t)g->W * (size_t)g->H);
    if (!g->pix) return;
    memset(g->pix, 255, (size_t)g->W * (size_t)g->H);
    int y = m;
    const char *p = title;
    char buf[256];
    while (*p) {
        size_t n = strcspn(p, "\n");
        size_t k = n < sizeof buf - 1 ? n : sizeof buf - 1;
        memcpy(buf, p, k);
        buf[k] = 0;
        lgrid_text(g->pix, g->W, g->H, m, y, fs, buf, 0);
        y += line;
        p += n;
        if (*p == '\n') p++;
    }
    lgrid_text(g->pix, g->W, g->H, g->x0 + g->cw + g->rule, y + 6, fs, col_label, 90);
    char one[2] = {0, 0};
    for (int i = 0; row_label[i]; i++) { /* down the left margin, one letter under the other */
        one[0] = row_label[i];
        lgrid_text(g->pix, g->W, g->H, m, g->y0 + g->ch + g->rule + i * line, fs, one, 90);
    }
    /* grey rules under the header row and right of the header column */
    int ry = g->y0 + g->ch + g->rule / 2 - 1, rx = g->x0 + g->cw + g->rule / 2 - 1;
    for (int x = g->x0; x < g->x0 + (cols + 1) * g->cw + g->rule; x++)
        g->pix[(size_t)ry * g->W + x] = g->pix[(size_t)(ry + 1) * g->W + x] = 160;
    for (int yy = g->y0; yy < g->y0 + (rows + 1) * g->ch + g->rule; yy++)
        g->pix[(size_t)yy * g->W + rx] = g->pix[(size_t)yy * g->W + rx + 1] = 160;
}

/* Tile (r, c) from th x tw grey bytes (row-major, 0 = black); r = -1 is the
 * header row, c = -1 the header column. */
static inline void lgrid_tile_u8(lgrid *g, int r, int c, const unsigned char *tile)
{
    if (!g->pix) return;
    int px = g->x0 + (c + 1) * g->cw + (c >= 0 ? g->rule : 0), py = g->y0 + (r + 1) * g->ch + (r >= 0 ? g->rule : 0);
    for (int y = 0; y < g->th * g->S; y++)
        for (int x = 0; x < g->tw * g->S; x++)
            g->pix[(size_t)(py + y) * g->W + px + x] = tile[(y / g->S) * g->tw + x / g->S];
}

/* Tile (r, c) from a th x tw picture in [0, 1] drawn dark on white (1 = black). */
static inline void lgrid_tile(lgrid *g, int r, int c, const float *img)
{
    if (!g->pix) return;
    int px = g->x0 + (c + 1) * g->cw + (c >= 0 ? g->rule : 0), py = g->y0 + (r + 1) * g->ch + (r >= 0 ? g->rule : 0);
    for (int y = 0; y < g->th * g->S; y++)
        for (int x = 0; x < g->tw * g->S; x++) {
            float v = img[(y / g->S) * g->tw + x / g->S];
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            g->pix[(size_t)(py + y) * g->W + px + x] = (unsigned char)(255.0f * (1.0f - v) + 0.5f);
        }
}

/* 0 on success, -1 on failure (dsn_last_error() says why when the writer failed). */
static inline int lgrid_write(const lgrid *g, const char *path)
{
    return g->pix && dsn_image_save_png(path, g->pix, (size_t)g->W, (size_t)g->H, 1) == DSN_OK ? 0 : -1;
}

static inline void lgrid_free(lgrid *g)
{
    free(g->pix);
    g->pix = NULL;
}

#endif
