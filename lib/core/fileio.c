/* fileio.c - bounded reads, atomic writes, CRC-32. */
#include "core/fileio.h"
#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

dsn_status dsi_read_file(const char *path, size_t max_len, unsigned char **data, size_t *len)
{
    if (!path) return dsi_error(DSN_E_INVALID, "file path must not be NULL");
    int fd = open(path, O_RDONLY);
    if (fd < 0) return dsi_error(DSN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dsi_error(DSN_E_IO, "'%s' is not a regular file", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)max_len) {
        close(fd);
        return dsi_error(DSN_E_FORMAT, "'%s' is too large (%lld bytes, limit %zu)", path,
                         (long long)st.st_size, max_len);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = dsi_malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return dsi_error(DSN_E_NOMEM, "cannot allocate %zu bytes to read '%s'", n, path);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            dsi_free(buf);
            close(fd);
            return dsi_error(DSN_E_IO, "error reading '%s': %s", path, k ? strerror(errno) : "unexpected end");
        }
        got += (size_t)k;
    }
    close(fd);
    *data = buf;
    *len = n;
    return DSN_OK;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

dsn_status dsi_write_atomic(const char *path, const void *data, size_t len)
{
    if (!path) return dsi_error(DSN_E_INVALID, "file path must not be NULL");
    size_t pl = strlen(path);
    char tmp[4096];
    if (pl + 32 > sizeof tmp) return dsi_error(DSN_E_INVALID, "path too long");
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return dsi_error(DSN_E_IO, "cannot create '%s': %s", tmp, strerror(errno));
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return dsi_error(DSN_E_IO, "cannot write '%s': %s", tmp, strerror(e));
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return dsi_error(DSN_E_IO, "cannot close '%s': %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return dsi_error(DSN_E_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(e));
    }
    /* make the rename itself durable */
    char dir[4096];
    memcpy(dir, path, pl + 1);
    char *slash = strrchr(dir, '/');
    if (slash) {
        if (slash == dir) slash[1] = '\0';
        else *slash = '\0';
    } else {
        strcpy(dir, ".");
    }
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return DSN_OK;
}

void dsi_reader_init(dsi_reader *r, const void *data, size_t len, const char *what)
{
    r->p = data;
    r->len = len;
    r->pos = 0;
    r->failed = 0;
    r->what = what ? what : "input";
}

size_t dsi_reader_left(const dsi_reader *r) { return r->failed ? 0 : r->len - r->pos; }

static int need(dsi_reader *r, size_t n)
{
    if (r->failed) return -1;
    if (n > r->len - r->pos) {
        r->failed = 1;
        dsi_error(DSN_E_FORMAT, "'%s': truncated (wanted %zu bytes at offset %zu, %zu left)", r->what, n,
                  r->pos, r->len - r->pos);
        return -1;
    }
    return 0;
}

int dsi_read_bytes(dsi_reader *r, void *out, size_t n)
{
    if (need(r, n)) {
        memset(out, 0, n);
        return -1;
    }
    memcpy(out, r->p + r->pos, n);
    r->pos += n;
    return 0;
}

const unsigned char *dsi_read_view(dsi_reader *r, size_t n)
{
    if (need(r, n)) return NULL;
    const unsigned char *p = r->p + r->pos;
    r->pos += n;
    return p;
}

int dsi_read_u32(dsi_reader *r, uint32_t *v)
{
    const unsigned char *p = dsi_read_view(r, 4);
    *v = p ? dsi_get_u32(p) : 0;
    return p ? 0 : -1;
}

int dsi_read_u64(dsi_reader *r, uint64_t *v)
{
    const unsigned char *p = dsi_read_view(r, 8);
    *v = p ? dsi_get_u64(p) : 0;
    return p ? 0 : -1;
}

int dsi_read_f32s(dsi_reader *r, float *out, size_t n)
{
    if (n > SIZE_MAX / 4) return -1;
    const unsigned char *p = dsi_read_view(r, n * 4);
    if (!p) return -1;
    for (size_t i = 0; i < n; i++) out[i] = dsi_get_f32(p + 4 * i);
    return 0;
}

void dsi_writer_init(dsi_writer *w) { memset(w, 0, sizeof *w); }

void dsi_writer_free(dsi_writer *w)
{
    dsi_free(w->buf);
    dsi_writer_init(w);
}

void dsi_write_bytes(dsi_writer *w, const void *data, size_t n)
{
    if (w->failed) return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n) cap *= 2;
        unsigned char *b = dsi_realloc(w->buf, w->len, cap);
        if (!b) {
            w->failed = 1;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, data, n);
    w->len += n;
}

void dsi_write_u32(dsi_writer *w, uint32_t v)
{
    unsigned char b[4];
    dsi_put_u32(b, v);
    dsi_write_bytes(w, b, 4);
}

void dsi_write_u64(dsi_writer *w, uint64_t v)
{
    unsigned char b[8];
    dsi_put_u64(b, v);
    dsi_write_bytes(w, b, 8);
}

void dsi_write_f32s(dsi_writer *w, const float *x, size_t n)
{
    unsigned char b[256];
    while (n) {
        size_t k = n < 64 ? n : 64;
        for (size_t i = 0; i < k; i++) dsi_put_f32(b + 4 * i, x[i]);
        dsi_write_bytes(w, b, 4 * k);
        x += k;
        n -= k;
    }
}

static uint32_t crc_table[256];
static int crc_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    crc_ready = 1;
}

uint32_t dsi_crc32(uint32_t crc, const void *data, size_t len)
{
    if (!crc_ready) crc_init(); /* idempotent: racing threads write identical values */
    const unsigned char *p = data;
    crc = ~crc;
    while (len--) crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}
