/* test_image.c - the PNG writer (lib/io/png.c, dsn_image_save_png): the
 * file is parsed back here with a CRC-32 and an Adler-32 written from the
 * definitions (not the library's table), every stored block is inflated and
 * the pixels compared, for one block and for several. */
#include "disent.h"
#include "support/testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t crc_bitwise(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* Parse a PNG written by the library; check every CRC, the header and the
 * zlib stream, and return the pixels (rows without filter bytes). */
static unsigned char *parse_png(const unsigned char *b, size_t n, size_t *w, size_t *h, int *ctype)
{
    ck_assert_uint_ge(n, 8);
    ck_assert(memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0);
    size_t pos = 8;
    unsigned char *z = NULL, *pix = NULL;
    size_t zn = 0;
    int seen_end = 0;
    while (pos < n) {
        ck_assert_uint_le(pos + 12, n);
        uint32_t len = be32(b + pos);
        ck_assert_uint_le(pos + 12 + len, n);
        const unsigned char *type = b + pos + 4, *data = b + pos + 8;
        ck_assert_uint_eq(be32(data + len), crc_bitwise(type, len + 4));
        if (!memcmp(type, "IHDR", 4)) {
            ck_assert_uint_eq(len, 13);
            *w = be32(data);
            *h = be32(data + 4);
            ck_assert_int_eq(data[8], 8);
            *ctype = data[9];
            ck_assert_int_eq(data[10] | data[11] | data[12], 0);
        } else if (!memcmp(type, "IDAT", 4)) {
            z = realloc(z, zn + len);
            memcpy(z + zn, data, len);
            zn += len;
        } else if (!memcmp(type, "IEND", 4)) {
            ck_assert_uint_eq(len, 0);
            seen_end = 1;
        }
        pos += 12 + len;
    }
    ck_assert(seen_end);
    ck_assert_uint_eq(pos, n);
    int ch = *ctype == 0 ? 1 : *ctype == 2 ? 3 : 4;
    size_t row = *w * (size_t)ch, raw_n = *h * (row + 1);
    unsigned char *raw = malloc(raw_n);
    /* zlib: CMF 0x78, FLG with (CMF*256+FLG) % 31 == 0, stored blocks, Adler-32 */
    ck_assert_uint_ge(zn, 6);
    ck_assert_int_eq(z[0], 0x78);
    ck_assert_int_eq((z[0] * 256 + z[1]) % 31, 0);
    size_t zp = 2, got = 0;
    int last = 0;
    while (!last) {
        ck_assert_uint_le(zp + 5, zn);
        last = z[zp] & 1;
        ck_assert_int_eq(z[zp] >> 1, 0); /* BTYPE 00: stored */
        size_t len = z[zp + 1] | (size_t)z[zp + 2] << 8, nlen = z[zp + 3] | (size_t)z[zp + 4] << 8;
        ck_assert_uint_eq(len ^ 0xffff, nlen);
        zp += 5;
        ck_assert_uint_le(got + len, raw_n);
        ck_assert_uint_le(zp + len, zn);
        memcpy(raw + got, z + zp, len);
        got += len;
        zp += len;
    }
    ck_assert_uint_eq(got, raw_n);
    ck_assert_uint_eq(zp + 4, zn);
    uint32_t a = 1, s2 = 0;
    for (size_t i = 0; i < raw_n; i++) {
        a = (a + raw[i]) % 65521;
        s2 = (s2 + a) % 65521;
    }
    ck_assert_uint_eq(be32(z + zp), s2 << 16 | a);
    pix = malloc(*h * row);
    for (size_t y = 0; y < *h; y++) {
        ck_assert_int_eq(raw[y * (row + 1)], 0);
        memcpy(pix + y * row, raw + y * (row + 1) + 1, row);
    }
    free(raw);
    free(z);
    return pix;
}

static void roundtrip(size_t w, size_t h, int channels)
{
    size_t n = w * h * (size_t)channels;
    unsigned char *pix = malloc(n);
    for (size_t i = 0; i < n; i++) pix[i] = (unsigned char)(i * 7 + i / 251);
    char path[512];
    snprintf(path, sizeof path, "%s/img_%zux%zu_%d.png", tu_tmpdir(), w, h, channels);
    ck_assert_int_eq(dsn_image_save_png(path, pix, w, h, channels), DSN_OK);
    size_t len, gw = 0, gh = 0;
    int ctype = -1;
    unsigned char *file = slurp(path, &len);
    unsigned char *back = parse_png(file, len, &gw, &gh, &ctype);
    ck_assert_uint_eq(gw, w);
    ck_assert_uint_eq(gh, h);
    ck_assert_int_eq(ctype, channels == 1 ? 0 : channels == 3 ? 2 : 6);
    ck_assert(memcmp(back, pix, n) == 0);
    free(back);
    free(file);
    free(pix);
}

START_TEST(png_roundtrip_one_block)
{
    roundtrip(28, 28, 1);
    roundtrip(1, 1, 3);
    roundtrip(5, 3, 4);
}
END_TEST

START_TEST(png_roundtrip_many_blocks)
{
    roundtrip(300, 80, 3);  /* 72,080 bytes: two stored blocks, a row split between them */
    roundtrip(1000, 200, 1); /* 200,200 bytes: four blocks */
}
END_TEST

START_TEST(png_bad_arguments)
{
    unsigned char p[12] = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/bad.png", tu_tmpdir());
    ck_assert_int_eq(dsn_image_save_png(NULL, p, 2, 2, 1), DSN_E_INVALID);
    ck_assert_int_eq(dsn_image_save_png(path, NULL, 2, 2, 1), DSN_E_INVALID);
    ck_assert_int_eq(dsn_image_save_png(path, p, 0, 2, 1), DSN_E_INVALID);
    ck_assert_int_eq(dsn_image_save_png(path, p, 2, 0, 1), DSN_E_INVALID);
    ck_assert_int_eq(dsn_image_save_png(path, p, 2, 2, 2), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "dsn_image_save_png"));
    ck_assert_int_eq(dsn_image_save_png(path, p, (size_t)1 << 40, 2, 1), DSN_E_INVALID);
    ck_assert_int_eq(dsn_image_save_png("/nonexistent-dir/x.png", p, 2, 2, 1), DSN_E_IO);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("png");
    tcase_add_test(tc, png_roundtrip_one_block);
    tcase_add_test(tc, png_roundtrip_many_blocks);
    tcase_add_test(tc, png_bad_arguments);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
