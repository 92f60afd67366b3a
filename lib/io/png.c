/* png.c - PNG files of 8-bit pixels: a zlib stream of stored deflate blocks,
 * with the CRC-32 of lib/core and an Adler-32. */
#include "io/png.h"
#include "core/error.h"

#include <string.h>

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A chunk: length, type, data, CRC-32 of type + data. The data is already in
 * w from `start` on (length and type were reserved in front of it). */
static void chunk_close(dsi_writer *w, size_t start)
{
    if (w->failed) return;
    size_t n = w->len - start - 8;
    put_be32(w->buf + start, (uint32_t)n);
    unsigned char crc[4];
    put_be32(crc, dsi_crc32(0, w->buf + start + 4, n + 4));
    dsi_write_bytes(w, crc, 4);
}

static size_t chunk_open(dsi_writer *w, const char *type)
{
    size_t start = w->len;
    unsigned char h[8] = {0};
    memcpy(h + 4, type, 4);
    dsi_write_bytes(w, h, 8);
    return start;
}

dsn_status dsi_png_encode(dsi_writer *w, const uint8_t *pix, size_t width, size_t height, int channels)
{
    static const unsigned char color_type[5] = {0, 0, 0, 2, 6};
    if (channels != 1 && channels != 3 && channels != 4)
        return dsi_error(DSN_E_INVALID, "png: %d channels (want 1, 3 or 4)", channels);
    if (width == 0 || height == 0 || width > 0x7fffffffu || height > 0x7fffffffu ||
        width > (SIZE_MAX / 8 - 1) / (size_t)channels || height > SIZE_MAX / 8 / (width * (size_t)channels + 1))
        return dsi_error(DSN_E_INVALID, "png: a %zu x %zu image cannot be written", width, height);
    size_t row = width * (size_t)channels;
    size_t raw_n = height * (row + 1);

    dsi_write_bytes(w, "\x89PNG\r\n\x1a\n", 8);
    size_t c = chunk_open(w, "IHDR");
    unsigned char ihdr[13] = {0};
    put_be32(ihdr, (uint32_t)width);
    put_be32(ihdr + 4, (uint32_t)height);
    ihdr[8] = 8; /* bit depth; compression, filter and interlace 0 */
    ihdr[9] = color_type[channels];
    dsi_write_bytes(w, ihdr, 13);
    chunk_close(w, c);

    c = chunk_open(w, "IDAT");
    dsi_write_bytes(w, "\x78\x01", 2);
    uint32_t a = 1, b = 0;
    size_t left = raw_n, y = 0, x = 0; /* x == 0: the row's filter byte (0, none) */
    while (left) {
        size_t len = left < 65535 ? left : 65535;
        left -= len;
        unsigned char h[5] = {(unsigned char)(left == 0), (unsigned char)len, (unsigned char)(len >> 8),
                              (unsigned char)~len, (unsigned char)(~len >> 8)};
        dsi_write_bytes(w, h, 5);
        while (len) {
            if (x == 0) {
                static const unsigned char filter_none = 0;
                dsi_write_bytes(w, &filter_none, 1);
                b = (b + a) % 65521;
                x = 1;
                len--;
                continue;
            }
            size_t k = row - (x - 1);
            if (k > len) k = len;
            const uint8_t *p = pix + y * row + (x - 1);
            dsi_write_bytes(w, p, k);
            for (size_t i = 0; i < k; i++) {
                a = (a + p[i]) % 65521;
                b = (b + a) % 65521;
            }
            x += k;
            len -= k;
            if (x == row + 1) {
                x = 0;
                y++;
            }
        }
    }
    unsigned char ad[4];
    put_be32(ad, (b << 16) | a);
    dsi_write_bytes(w, ad, 4);
    chunk_close(w, c);
    chunk_close(w, chunk_open(w, "IEND"));
    return w->failed ? dsi_error(DSN_E_NOMEM, "png: out of memory") : DSN_OK;
}

dsn_status dsi_png_save(const char *path, const uint8_t *pix, size_t width, size_t height, int channels)
{
    dsi_writer w;
    dsi_writer_init(&w);
    dsn_status st = dsi_png_encode(&w, pix, width, height, channels);
    if (st == DSN_OK) st = dsi_write_atomic(path, w.buf, w.len);
    dsi_writer_free(&w);
    return st;
}
