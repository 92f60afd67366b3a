/* example_png.h - a minimal PNG writer shared by the example programs (not
 * part of the library): 8-bit grey or RGB, deflate "stored" blocks (no
 * compression), CRC-32 and Adler-32 as the format requires. */
#ifndef EXAMPLE_PNG_H
#define EXAMPLE_PNG_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline unsigned long ex_png_crc(unsigned long c, const unsigned char *b, size_t n)
{
    c ^= 0xffffffffUL;
    while (n--) {
        c ^= *b++;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320UL ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffUL;
}

static inline void ex_png_be32(unsigned char *p, unsigned long v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static inline void ex_png_chunk(FILE *f, const char *type, const unsigned char *data, size_t n)
{
    unsigned char h[8];
    ex_png_be32(h, (unsigned long)n);
    memcpy(h + 4, type, 4);
    fwrite(h, 1, 8, f);
    if (n) fwrite(data, 1, n, f);
    ex_png_be32(h, ex_png_crc(ex_png_crc(0, (const unsigned char *)type, 4), data, n));
    fwrite(h, 1, 4, f);
}

/* Write w x h pixels of `channels` bytes each (1 = grey, 3 = RGB), rows top
 * to bottom. Returns 0 on success, -1 on failure. */
static inline int ex_write_png(const char *path, const unsigned char *pix, int w, int h, int channels)
{
    size_t row = (size_t)w * (size_t)channels + 1, raw_n = (size_t)h * row;
    size_t nblocks = (raw_n + 65534) / 65535;
    unsigned char *raw = malloc(raw_n), *z = malloc(2 + raw_n + nblocks * 5 + 4);
    FILE *f = raw && z ? fopen(path, "wb") : NULL;
    if (!f) {
        free(raw);
        free(z);
        return -1;
    }
    for (int y = 0; y < h; y++) {
        raw[(size_t)y * row] = 0; /* filter: none */
        memcpy(raw + (size_t)y * row + 1, pix + (size_t)y * (row - 1), row - 1);
    }
    size_t k = 0;
    z[k++] = 0x78;
    z[k++] = 0x01;
    for (size_t off = 0; off < raw_n; off += 65535) {
        size_t len = raw_n - off < 65535 ? raw_n - off : 65535;
        z[k++] = off + len == raw_n;
        z[k++] = (unsigned char)len;
        z[k++] = (unsigned char)(len >> 8);
        z[k++] = (unsigned char)~len;
        z[k++] = (unsigned char)(~len >> 8);
        memcpy(z + k, raw + off, len);
        k += len;
    }
    unsigned long a = 1, b = 0;
    for (size_t i = 0; i < raw_n; i++) {
        a = (a + raw[i]) % 65521;
        b = (b + a) % 65521;
    }
    ex_png_be32(z + k, (b << 16) | a);
    k += 4;
    unsigned char ihdr[13];
    ex_png_be32(ihdr, (unsigned long)w);
    ex_png_be32(ihdr + 4, (unsigned long)h);
    ihdr[8] = 8;
    ihdr[9] = channels == 3 ? 2 : 0;
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
    ex_png_chunk(f, "IHDR", ihdr, 13);
    ex_png_chunk(f, "IDAT", z, k);
    ex_png_chunk(f, "IEND", NULL, 0);
    free(raw);
    free(z);
    return fclose(f) == 0 ? 0 : -1;
}

#endif
