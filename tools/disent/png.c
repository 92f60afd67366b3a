/* png.c - grey PNG files and picture grids of observations for `disent`. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- PNG: 8-bit grey, zlib stream of stored (uncompressed) deflate blocks ---- */
static uint32_t crc_update(uint32_t c, const unsigned char *b, size_t n)
{
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t k = 0; k < 256; k++) {
            uint32_t v = k;
            for (int j = 0; j < 8; j++) v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
            table[k] = v;
        }
    c = ~c;
    while (n--) c = table[(c ^ *b++) & 0xff] ^ (c >> 8);
    return ~c;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void chunk(FILE *f, const char *type, const unsigned char *data, size_t n)
{
    unsigned char h[8];
    put32(h, (uint32_t)n);
    memcpy(h + 4, type, 4);
    fwrite(h, 1, 8, f);
    if (n) fwrite(data, 1, n, f);
    put32(h, crc_update(crc_update(0, (const unsigned char *)type, 4), data, n));
    fwrite(h, 1, 4, f);
}

int cli_png_write(const char *path, const unsigned char *pix, size_t w, size_t h)
{
    size_t raw_n = h * (w + 1), nblocks = (raw_n + 65534) / 65535;
    unsigned char *z = malloc(2 + raw_n + nblocks * 5 + 4);
    if (!z) return -1;
    size_t k = 0;
    uint32_t a = 1, b = 0;
    z[k++] = 0x78;
    z[k++] = 0x01;
    /* rows with filter byte 0, cut into stored blocks of at most 65535 bytes */
    size_t left = raw_n, row = 0, col = 0; /* col 0 = filter byte */
    while (left) {
        size_t len = left < 65535 ? left : 65535;
        left -= len;
        z[k++] = left == 0;
        z[k++] = (unsigned char)len;
        z[k++] = (unsigned char)(len >> 8);
        z[k++] = (unsigned char)~len;
        z[k++] = (unsigned char)(~len >> 8);
        for (size_t i = 0; i < len; i++) {
            unsigned char v = col ? pix[row * w + col - 1] : 0;
            if (++col == w + 1) {
                col = 0;
                row++;
            }
            z[k++] = v;
            a = (a + v) % 65521;
            b = (b + a) % 65521;
        }
    }
    put32(z + k, (b << 16) | a);
    k += 4;
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "disent: cannot write '%s': %s\n", path, strerror(errno));
        free(z);
        return -1;
    }
    unsigned char ihdr[13] = {0};
    put32(ihdr, (uint32_t)w);
    put32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8; /* bit depth; colour type 0 (grey), no interlace */
    fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
    chunk(f, "IHDR", ihdr, 13);
    chunk(f, "IDAT", z, k);
    chunk(f, "IEND", NULL, 0);
    free(z);
    if (fclose(f) != 0) {
        fprintf(stderr, "disent: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- views ------------------------------------------------------------------------ */
int cli_view_for(const dsn_model *m, const char *image_hw, cli_view *v)
{
    size_t dims[3] = {0};
    int nd = dsn_model_obs_shape(m, dims, 3);
    size_t n = dsn_model_obs_size(m);
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
