/* label_grid.h - labelled picture grids, shared by the example programs and
 * the `disent` command line (tools/disent/png.c); not part of the library.
 * A page holds a title (one or more lines), a caption over the columns, a
 * caption down the rows, one header row and one header column of source
 * pictures set off by grey rules, and rows x cols tiles of th x tw grey
 * pictures, written as PNG with dsn_image_save_png. Small tiles are enlarged
 * (nearest neighbour). Text uses a built-in 5x7 font (upper case, digits, a
 * little punctuation; lower case is drawn as upper case). Header-only: every
 * function is static inline; lgrid_init allocates the page (lgrid_free). */
#ifndef DISENT_LABEL_GRID_H
#define DISENT_LABEL_GRID_H

#include <disent.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* 5x7 glyphs, one byte per row (bit 4 = leftmost column) */
static const struct lgrid_glyph {
    char c;
    unsigned char rows[7];
} lgrid_font[] = {
    {'A', {14, 17, 17, 31, 17, 17, 17}}, {'B', {30, 17, 17, 30, 17, 17, 30}}, {'C', {14, 17, 16, 16, 16, 17, 14}},
    {'D', {28, 18, 17, 17, 17, 18, 28}}, {'E', {31, 16, 16, 30, 16, 16, 31}}, {'F', {31, 16, 16, 30, 16, 16, 16}},
    {'G', {14, 17, 16, 23, 17, 17, 15}}, {'H', {17, 17, 17, 31, 17, 17, 17}}, {'I', {14, 4, 4, 4, 4, 4, 14}},
    {'J', {7, 2, 2, 2, 2, 18, 12}},      {'K', {17, 18, 20, 24, 20, 18, 17}}, {'L', {16, 16, 16, 16, 16, 16, 31}},
    {'M', {17, 27, 21, 21, 17, 17, 17}}, {'N', {17, 17, 25, 21, 19, 17, 17}}, {'O', {14, 17, 17, 17, 17, 17, 14}},
    {'P', {30, 17, 17, 30, 16, 16, 16}}, {'Q', {14, 17, 17, 17, 21, 18, 13}}, {'R', {30, 17, 17, 30, 20, 18, 17}},
    {'S', {15, 16, 16, 14, 1, 1, 30}},   {'T', {31, 4, 4, 4, 4, 4, 4}},       {'U', {17, 17, 17, 17, 17, 17, 14}},
    {'V', {17, 17, 17, 17, 17, 10, 4}},  {'W', {17, 17, 17, 21, 21, 21, 10}}, {'X', {17, 17, 10, 4, 10, 17, 17}},
    {'Y', {17, 17, 10, 4, 4, 4, 4}},     {'Z', {31, 1, 2, 4, 8, 16, 31}},     {'0', {14, 17, 19, 21, 25, 17, 14}},
    {'1', {4, 12, 4, 4, 4, 4, 14}},      {'2', {14, 17, 1, 2, 4, 8, 31}},     {'3', {31, 2, 4, 2, 1, 17, 14}},
    {'4', {2, 6, 10, 18, 31, 2, 2}},     {'5', {31, 16, 30, 1, 1, 17, 14}},   {'6', {6, 8, 16, 30, 17, 17, 14}},
    {'7', {31, 1, 2, 4, 8, 8, 8}},       {'8', {14, 17, 17, 14, 17, 17, 14}}, {'9', {14, 17, 17, 15, 1, 2, 12}},
    {'.', {0, 0, 0, 0, 0, 12, 12}},      {',', {0, 0, 0, 0, 12, 4, 8}},       {':', {0, 12, 12, 0, 12, 12, 0}},
    {'=', {0, 0, 31, 0, 31, 0, 0}},      {'-', {0, 0, 0, 31, 0, 0, 0}},       {'+', {0, 4, 4, 31, 4, 4, 0}},
    {'(', {2, 4, 8, 8, 8, 4, 2}},        {')', {8, 4, 2, 2, 2, 4, 8}},        {'/', {0, 1, 2, 4, 8, 16, 0}},
    {'%', {24, 25, 2, 4, 8, 19, 3}},     {'_', {0, 0, 0, 0, 0, 0, 31}},       {'>', {8, 4, 2, 1, 2, 4, 8}},
    {'<', {2, 4, 8, 16, 8, 4, 2}},       {'|', {4, 4, 4, 4, 4, 4, 4}},        {'#', {10, 10, 31, 10, 31, 10, 10}},
};

/* Draw text at (x, y) with pixels of size fs; value v. Returns the width drawn. */
static inline int lgrid_text(unsigned char *pix, int W, int H, int x, int y, int fs, const char *text, unsigned char v)
{
    int x0 = x;
    for (const char *p = text; *p; p++, x += 6 * fs) {
        char c = (char)toupper((unsigned char)*p);
        const unsigned char *rows = NULL;
        for (size_t g = 0; g < sizeof lgrid_font / sizeof *lgrid_font; g++)
            if (lgrid_font[g].c == c) rows = lgrid_font[g].rows;
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
