/* fileio.c - bounded reads, atomic writes, CRC-32. */
#include "core/fileio.h"
#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

dsn_status dsi_read_file(const char *path, size_t max_len, unsigned char **data, size_t *len)
{
    int fd;
    uint64_t size;
    dsn_status st = dsi_file_open(path, &fd, &size);
    if (st != DSN_OK) return st;
    if (size > (uint64_t)max_len) {
        close(fd);
        return dsi_error(DSN_E_FORMAT, "'%s' is too large (%lld bytes, limit %zu)", path, (long long)size, max_len);
    }
    size_t n = (size_t)size;
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

dsn_status dsi_file_open(const char *path, int *fd, uint64_t *size)
{
    if (!path) return dsi_error(DSN_E_INVALID, "file path must not be NULL");
    int f = open(path, O_RDONLY);
    if (f < 0) return dsi_error(DSN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(f);
        return dsi_error(DSN_E_IO, "'%s' is not a regular file", path);
    }
    *fd = f;
    *size = (uint64_t)st.st_size;
    return DSN_OK;
}

dsn_status dsi_file_read_at(int fd, const char *path, uint64_t offset, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t k = pread(fd, (unsigned char *)buf + got, len - got, (off_t)(offset + got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0)
            return dsi_error(DSN_E_IO, "error reading '%s' at byte %llu: %s", path,
                             (unsigned long long)(offset + got), k ? strerror(errno) : "unexpected end");
        got += (size_t)k;
    }
    return DSN_OK;
}

void dsi_file_close(int fd)
{
    if (fd >= 0) close(fd);
}

/* ---- fault injection (tests only) ---- */

dsi_io_fault *dsi_io_fault_hook;

/* 1 (errno set) when the test hook says this I/O operation fails; *half is
 * set instead when a write is to be cut short. */
static int injected(int *half)
{
    dsi_io_fault *f = dsi_io_fault_hook;
    if (half) *half = 0;
    if (!f || f->countdown <= 0) return 0;
    f->seen++;
    if (--f->countdown > 0) return 0;
    if (half && f->short_write) {
        *half = 1;
        f->countdown = 1; /* the write after the short one fails with err */
        f->short_write = 0;
        return 0;
    }
    errno = f->err;
    return 1;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        int half;
        if (injected(&half)) return -1;
        size_t want = half && n > 1 ? n / 2 : n;
        ssize_t k = write(fd, p, want);
        if (k < 0 && errno == EINTR) continue;
        if (k == 0) errno = ENOSPC;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int io_fsync(int fd) { return injected(NULL) ? -1 : fsync(fd); }
static int io_close(int fd)
{
    if (injected(NULL)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return close(fd);
}
static int io_rename(const char *a, const char *b) { return injected(NULL) ? -1 : rename(a, b); }

/* Split path into its folder (dir, "." when none) and file name (base). */
static void split_path(const char *path, char *dir, size_t dlen, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, dlen, ".");
        *base = path;
    } else {
        size_t k = (size_t)(slash - path);
        if (k == 0) k = 1; /* "/name": the root */
        snprintf(dir, dlen, "%.*s", (int)k, path);
        *base = slash + 1;
    }
}

/* Remove temporary files "<base>.tmp.XXXXXX" that earlier saves of the same
 * path left behind when they were killed. A live saver holds an exclusive
 * flock on its temporary file for the whole save, so a file we can lock (and
 * that is older than a second, to cover the instant between its creation and
 * its lock) has no owner any more. Best effort: failures are ignored. */
static void remove_stale(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d) return;
    size_t bl = strlen(base);
    struct dirent *e;
    time_t now = time(NULL);
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, base, bl) != 0 || strncmp(n + bl, ".tmp.", 5) != 0 || strlen(n + bl + 5) != 6) continue;
        char full[4096];
        if (snprintf(full, sizeof full, "%s/%s", dir, n) >= (int)sizeof full) continue;
        int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) continue;
        struct stat sb;
        if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && now - sb.st_mtime > 1 && flock(fd, LOCK_EX | LOCK_NB) == 0)
            unlink(full);
        close(fd);
    }
    closedir(d);
}

/* A step of a save failed (errno set): the temporary file closed and removed,
 * DSN_E_IO naming the step, the files and the error. */
static dsn_status save_failed(int fd, const char *tmp, const char *path, const char *step)
{
    int e = errno;
    close(fd);
    unlink(tmp);
    if (!strcmp(step, "rename")) return dsi_error(DSN_E_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(e));
    return dsi_error(DSN_E_IO, "cannot %s '%s' (saving '%s'): %s", step, tmp, path, strerror(e));
}

dsn_status dsi_write_atomic(const char *path, const void *data, size_t len)
{
    if (!path) return dsi_error(DSN_E_INVALID, "file path must not be NULL");
    size_t pl = strlen(path);
    char tmp[4096], dir[4096];
    if (pl == 0 || pl + 32 > sizeof tmp) return dsi_error(DSN_E_INVALID, "path of %zu bytes is empty or too long", pl);
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    if (!*base) return dsi_error(DSN_E_INVALID, "'%s' names a folder, not a file", path);
    /* a fresh name per save (two savers of one path, even in one process,
     * never share a temporary file), in the target's folder (rename is atomic
     * only within one file system) */
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    int fd = injected(NULL) ? -1 : mkstemp(tmp);
    if (fd < 0) return dsi_error(DSN_E_IO, "cannot create a temporary file next to '%s': %s", path, strerror(errno));
    /* mkstemp makes 0600 files; saved files are 0644 like open(..., 0644) made them */
    if (flock(fd, LOCK_EX) != 0 || fchmod(fd, 0644) != 0 || write_all(fd, data, len) != 0)
        return save_failed(fd, tmp, path, "write");
    if (io_fsync(fd) != 0) return save_failed(fd, tmp, path, "fsync");
    /* rename while still holding the lock, so no cleaner takes the file */
    if (io_rename(tmp, path) != 0) return save_failed(fd, tmp, path, "rename");
    if (io_close(fd) != 0) {
        int e = errno;
        return dsi_error(DSN_E_IO, "'%s' is in place, but closing it failed: %s", path, strerror(e));
    }
    /* make the rename itself durable */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || io_fsync(dfd) != 0) {
        int e = errno;
        if (dfd >= 0) close(dfd);
        return dsi_error(DSN_E_IO, "'%s' is in place, but syncing its folder '%s' failed: %s", path, dir, strerror(e));
    }
    close(dfd);
    remove_stale(dir, base);
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

void dsi_write_str(dsi_writer *w, const char *s)
{
    size_t n = strlen(s);
    dsi_write_u32(w, (uint32_t)n);
    dsi_write_bytes(w, s, n);
}

char *dsi_read_str_dup(dsi_reader *r, uint32_t max)
{
    uint32_t n;
    if (dsi_read_u32(r, &n) || n > max) {
        r->failed = 1;
        return NULL;
    }
    const unsigned char *p = dsi_read_view(r, n);
    if (!p) return NULL;
    char *s = dsi_malloc((size_t)n + 1);
    if (!s) {
        r->failed = 1;
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* The table is filled once, under pthread_once: the lazy check it replaces
 * ("if not ready, fill") was a data race (TSan reports it) even though every
 * thread wrote the same values. */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t dsi_crc32(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
    const unsigned char *p = data;
    crc = ~crc;
    while (len--) crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}
