/* idx.c - MNIST IDX files (big-endian header, unsigned-byte payload). */
#include "data/dataset.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/fileio.h"

#include <stdio.h>
#include <string.h>

#define IDX_MAX_FILE (SIZE_MAX / 4)
#define IDX_UBYTE 0x08

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Validate an IDX image of len bytes holding unsigned bytes in want_nd
 * dimensions; dims[] gets the sizes, *payload the first data byte. Every size
 * is checked against len, so nothing is trusted before it is allocated. */
static dsn_status idx_parse(const unsigned char *buf, size_t len, const char *path, unsigned want_nd, const char *kind,
                            uint32_t *dims, const unsigned char **payload)
{
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
        return dsi_error(DSN_E_UNSUPPORTED, "'%s' is gzip-compressed; decompress it first (gunzip)", path);
    dsi_reader r;
    dsi_reader_init(&r, buf, len, path);
    const unsigned char *m = dsi_read_view(&r, 4);
    if (!m) return dsi_error(DSN_E_FORMAT, "'%s': too short for an IDX header (%zu bytes)", path, len);
    uint32_t magic = get_be32(m), want = (uint32_t)IDX_UBYTE << 8 | want_nd;
    if (m[0] != 0 || m[1] != 0)
        return dsi_error(DSN_E_FORMAT, "'%s' is not an IDX file (magic 0x%08x, expected 0x%08x for %s)", path,
                         (unsigned)magic, (unsigned)want, kind);
    if (m[2] != IDX_UBYTE) {
        int known = m[2] == 0x09 || m[2] == 0x0B || m[2] == 0x0C || m[2] == 0x0D || m[2] == 0x0E;
        return dsi_error(known ? DSN_E_UNSUPPORTED : DSN_E_FORMAT,
                         "'%s': IDX element type 0x%02x; only unsigned bytes (0x08) are read (magic 0x%08x, expected 0x%08x)",
                         path, m[2], (unsigned)magic, (unsigned)want);
    }
    if (m[3] != want_nd)
        return dsi_error(DSN_E_FORMAT, "'%s': IDX file with %u dimensions (magic 0x%08x), expected %u for %s", path,
                         m[3], (unsigned)magic, want_nd, kind);
    const unsigned char *d = dsi_read_view(&r, 4 * (size_t)want_nd);
    if (!d) return dsi_error(DSN_E_FORMAT, "'%s': truncated IDX header (%zu bytes)", path, len);
    uint64_t total = 1;
    int overflow = 0;
    for (unsigned i = 0; i < want_nd; i++) {
        dims[i] = get_be32(d + 4 * i);
        if (dims[i] == 0) return dsi_error(DSN_E_FORMAT, "'%s': IDX dimension %u is zero", path, i);
        if (total > UINT64_MAX / dims[i]) overflow = 1;
        else total *= dims[i];
    }
    size_t left = dsi_reader_left(&r);
    if (overflow || total > left)
        return dsi_error(DSN_E_FORMAT, "'%s': truncated: the header claims %s%llu bytes of data, the file holds %zu",
                         path, overflow ? "more than " : "", overflow ? (unsigned long long)UINT64_MAX : (unsigned long long)total,
                         left);
    if (total < left)
        return dsi_error(DSN_E_FORMAT, "'%s': %zu unexpected bytes after the %llu bytes of data", path,
                         left - (size_t)total, (unsigned long long)total);
    if (payload) *payload = dsi_read_view(&r, (size_t)total);
    return DSN_OK;
}

/* The header of an open IDX file of `size` bytes (its data is not read, its
 * size is checked against the header's). */
static dsn_status idx_header(int fd, const char *path, uint64_t size, unsigned want_nd, const char *kind,
                             uint32_t *dims)
{
    unsigned char head[16];
    size_t first = 4 + 4 * (size_t)want_nd;
    if (first > size) first = (size_t)size;
    dsn_status st = dsi_file_read_at(fd, path, 0, head, first);
    if (st) return st;
    if (size > SIZE_MAX) return dsi_error(DSN_E_FORMAT, "'%s' is too large", path);
    /* the parse reads the header only; the length it is told is the file's */
    return idx_parse(head, first < 4 + 4 * (size_t)want_nd ? first : (size_t)size, path, want_nd, kind, dims, NULL);
}

dsn_status dsi_dataset_load_idx_rows(dsi_dataset **out, const char *images_path, const int32_t *rows, size_t n,
                                     const int32_t *labels, size_t *total)
{
    DSI_CHECK_NULL(out, "out");
    DSI_CHECK_NULL(images_path, "images path");
    int fd = -1;
    uint64_t size = 0;
    uint32_t idim[3];
    dsn_status st = dsi_file_open(images_path, &fd, &size);
    if (st) return st;
    st = idx_header(fd, images_path, size, 3, "images (idx3-ubyte)", idim);
    if (st == DSN_OK && (idim[0] > INT32_MAX || (uint64_t)idim[1] * idim[2] > INT32_MAX))
        st = dsi_error(DSN_E_UNSUPPORTED, "'%s': %u images of %u x %u pixels exceed the dataset limits", images_path,
                       (unsigned)idim[0], (unsigned)idim[1], (unsigned)idim[2]);
    if (st == DSN_OK && total) *total = idim[0];
    if (st == DSN_OK && !rows) { /* the count only */
        dsi_file_close(fd);
        return DSN_OK;
    }
    size_t obs = st == DSN_OK ? (size_t)idim[1] * idim[2] : 0;
    for (size_t j = 0; st == DSN_OK && j < n; j++)
        if (rows[j] < 0 || (uint32_t)rows[j] >= idim[0] || (j && rows[j] <= rows[j - 1]))
            st = dsi_error(DSN_E_INVALID, "'%s': row list entry %zu (%d) is not an increasing row of the %u",
                           images_path, j, (int)rows[j], (unsigned)idim[0]);
    if (st == DSN_OK && n == 0) st = dsi_error(DSN_E_INVALID, "'%s': no rows to read", images_path);
    float *x = st == DSN_OK ? dsi_aligned_alloc(n * obs * sizeof(float)) : NULL;
    unsigned char *buf = st == DSN_OK ? dsi_malloc(obs * 256) : NULL;
    if (st == DSN_OK && (!x || !buf)) st = dsi_error(DSN_E_NOMEM, "cannot allocate %zu images of '%s'", n, images_path);
    float lut[256];
    for (int v = 0; v < 256; v++) lut[v] = (float)v / 255.0f;
    for (size_t j = 0; st == DSN_OK && j < n;) { /* runs of consecutive rows, up to 256 at a read */
        size_t run = 1;
        while (j + run < n && run < 256 && rows[j + run] == rows[j] + (int32_t)run) run++;
        st = dsi_file_read_at(fd, images_path, 16 + (uint64_t)rows[j] * obs, buf, run * obs);
        for (size_t i = 0; st == DSN_OK && i < run * obs; i++) x[j * obs + i] = lut[buf[i]];
        j += run;
    }
    dsi_free(buf);
    dsi_file_close(fd);
    dsi_dataset *ds = NULL;
    int shape[1] = {(int)obs};
    if (st == DSN_OK) st = dsi_dataset_adopt(&ds, x, n, 1, shape);
    else dsi_aligned_free(x);
    if (st == DSN_OK && labels && (st = dsi_dataset_set_labels(ds, labels))) dsi_dataset_free(ds);
    if (st) return st;
    *out = ds;
    return DSN_OK;
}

dsn_status dsi_idx_read_labels(const char *path, int32_t **labels, size_t *n)
{
    unsigned char *lb = NULL;
    size_t ll = 0;
    uint32_t ldim[1];
    const unsigned char *lab = NULL;
    dsn_status st = dsi_read_file(path, IDX_MAX_FILE, &lb, &ll);
    if (st == DSN_OK) st = idx_parse(lb, ll, path, 1, "labels (idx1-ubyte)", ldim, &lab);
    int32_t *l = st == DSN_OK ? dsi_malloc((ldim[0] ? ldim[0] : 1) * sizeof *l) : NULL;
    if (st == DSN_OK && !l) st = dsi_error(DSN_E_NOMEM, "cannot allocate %u labels", (unsigned)ldim[0]);
    for (size_t i = 0; st == DSN_OK && i < ldim[0]; i++) l[i] = lab[i];
    dsi_free(lb);
    if (st) return st;
    *labels = l;
    *n = ldim[0];
    return DSN_OK;
}

dsn_status dsi_dataset_load_idx(dsi_dataset **out, const char *images_path, const char *labels_path)
{
    DSI_CHECK_NULL(out, "out");
    DSI_CHECK_NULL(images_path, "images path");
    unsigned char *ib = NULL;
    size_t il = 0, nl = 0;
    uint32_t idim[3];
    const unsigned char *pix = NULL;
    int32_t *lab = NULL;
    dsi_dataset *ds = NULL;
    dsn_status st = dsi_read_file(images_path, IDX_MAX_FILE, &ib, &il);
    if (st == DSN_OK) st = idx_parse(ib, il, images_path, 3, "images (idx3-ubyte)", idim, &pix);
    if (st == DSN_OK && labels_path) {
        st = dsi_idx_read_labels(labels_path, &lab, &nl);
        if (st == DSN_OK && nl != idim[0])
            st = dsi_error(DSN_E_FORMAT, "'%s' holds %zu labels but '%s' holds %u images", labels_path, nl,
                           images_path, (unsigned)idim[0]);
    }
    if (st == DSN_OK && (idim[0] > INT32_MAX || (uint64_t)idim[1] * idim[2] > INT32_MAX))
        st = dsi_error(DSN_E_UNSUPPORTED, "'%s': %u images of %u x %u pixels exceed the dataset limits", images_path,
                       (unsigned)idim[0], (unsigned)idim[1], (unsigned)idim[2]);
    if (st == DSN_OK) {
        /* the sizes are now backed by the file, so this allocation is bounded by it */
        size_t n = idim[0], obs = (size_t)idim[1] * idim[2];
        float *x = dsi_aligned_alloc(n * obs * sizeof(float));
        if (!x) st = dsi_error(DSN_E_NOMEM, "cannot allocate %zu x %zu floats for '%s'", n, obs, images_path);
        else {
            float lut[256];
            for (int v = 0; v < 256; v++) lut[v] = (float)v / 255.0f;
            for (size_t i = 0; i < n * obs; i++) x[i] = lut[pix[i]];
            int shape[1] = {(int)obs};
            st = dsi_dataset_adopt(&ds, x, n, 1, shape);
        }
        if (st == DSN_OK && lab) st = dsi_dataset_set_labels(ds, lab);
    }
    dsi_free(ib);
    dsi_free(lab);
    if (st) {
        dsi_dataset_free(ds);
        return st;
    }
    *out = ds;
    return DSN_OK;
}

dsn_status dsi_dataset_load_mnist(dsi_dataset **out, const char *dir, int test_set)
{
    DSI_CHECK_NULL(out, "out");
    DSI_CHECK_NULL(dir, "directory");
    const char *pre = test_set ? "t10k" : "train";
    char ip[4096], lp[4096];
    int a = snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte", dir, pre);
    int b = snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte", dir, pre);
    if (a < 0 || b < 0 || (size_t)a >= sizeof ip || (size_t)b >= sizeof lp)
        return dsi_error(DSN_E_INVALID, "directory path too long");
    return dsi_dataset_load_idx(out, ip, lp);
}
