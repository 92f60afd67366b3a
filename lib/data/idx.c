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
    *payload = dsi_read_view(&r, (size_t)total);
    return DSN_OK;
}

dsn_status dsi_dataset_load_idx(dsi_dataset **out, const char *images_path, const char *labels_path)
{
    DSI_CHECK_NULL(out, "out");
    DSI_CHECK_NULL(images_path, "images path");
    unsigned char *ib = NULL, *lb = NULL;
    size_t il = 0, ll = 0;
    uint32_t idim[3], ldim[1];
    const unsigned char *pix = NULL, *lab = NULL;
    dsi_dataset *ds = NULL;
    dsn_status st = dsi_read_file(images_path, IDX_MAX_FILE, &ib, &il);
    if (st == DSN_OK) st = idx_parse(ib, il, images_path, 3, "images (idx3-ubyte)", idim, &pix);
    if (st == DSN_OK && labels_path) {
        st = dsi_read_file(labels_path, IDX_MAX_FILE, &lb, &ll);
        if (st == DSN_OK) st = idx_parse(lb, ll, labels_path, 1, "labels (idx1-ubyte)", ldim, &lab);
        if (st == DSN_OK && ldim[0] != idim[0])
            st = dsi_error(DSN_E_FORMAT, "'%s' holds %u labels but '%s' holds %u images", labels_path, (unsigned)ldim[0],
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
        if (st == DSN_OK && lab) {
            int32_t *l = dsi_malloc(n * sizeof *l);
            if (!l) st = dsi_error(DSN_E_NOMEM, "cannot allocate %zu labels", n);
            else {
                for (size_t i = 0; i < n; i++) l[i] = lab[i];
                st = dsi_dataset_set_labels(ds, l);
                dsi_free(l);
            }
        }
    }
    dsi_free(ib);
    dsi_free(lb);
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
