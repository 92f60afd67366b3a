/* npy.c - dsn_npy_read / dsn_npy_write, the public face of lib/data/npy.c. */
#include "core/alloc.h"
#include "core/error.h"
#include "data/npy.h"

#include <string.h>

static int is_int_dtype(dsi_npy_dtype d) { return d != DSI_NPY_F4 && d != DSI_NPY_F8; }

dsn_status dsn_npy_read(void *out, size_t len, size_t *shape, size_t shape_len, int *ndim, int *is_integer,
                        const char *path, dsn_dtype as)
{
    DSI_CHECK_NULL(path, "dsn_npy_read: path");
    if (as != DSN_DTYPE_FLOAT32 && as != DSN_DTYPE_INT32)
        return dsi_error(DSN_E_INVALID, "dsn_npy_read: unknown dtype %d", (int)as);
    dsi_npy_header h;
    void *data = NULL;
    dsn_status st;
    if (!out) st = dsi_npy_read_header(path, &h);
    else if (as == DSN_DTYPE_FLOAT32) st = dsi_npy_read_f32(path, (float **)&data, &h);
    else st = dsi_npy_read_i32(path, (int32_t **)&data, &h);
    if (st != DSN_OK) {
        dsi_error_prefix("dsn_npy_read");
        return st;
    }
    if (shape && (size_t)h.ndim > shape_len)
        st = dsi_error(DSN_E_SHAPE, "dsn_npy_read: '%s' has %d dimensions, more than the %zu of shape", path, h.ndim,
                       shape_len);
    else if (out && h.count > len)
        st = dsi_error(DSN_E_INVALID, "dsn_npy_read: '%s' holds %llu elements, out has room for %zu", path,
                       (unsigned long long)h.count, len);
    if (st == DSN_OK) {
        if (out) memcpy(out, data, (size_t)h.count * 4);
        for (int d = 0; shape && d < h.ndim; d++) shape[d] = (size_t)h.shape[d];
        if (ndim) *ndim = h.ndim;
        if (is_integer) *is_integer = is_int_dtype(h.dtype);
    }
    if (data && as == DSN_DTYPE_FLOAT32) dsi_aligned_free(data);
    else dsi_free(data);
    return st;
}

dsn_status dsn_npy_write(const char *path, const void *data, const size_t *shape, int ndim, dsn_dtype dtype)
{
    DSI_CHECK_NULL(path, "dsn_npy_write: path");
    if (dtype != DSN_DTYPE_FLOAT32 && dtype != DSN_DTYPE_INT32)
        return dsi_error(DSN_E_INVALID, "dsn_npy_write: unknown dtype %d", (int)dtype);
    dsn_status st = dsi_npy_write(path, dtype == DSN_DTYPE_FLOAT32 ? DSI_NPY_F4 : DSI_NPY_I4, data, ndim, shape);
    if (st != DSN_OK) dsi_error_prefix("dsn_npy_write");
    return st;
}
