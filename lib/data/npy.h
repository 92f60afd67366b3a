/* npy.h - NumPy .npy reading and writing (internal).
 *
 * Format versions 1.0, 2.0 and 3.0 are read: the magic "\x93NUMPY", the
 * version, a little-endian header length (2 bytes in 1.0, 4 in 2.0/3.0), then
 * a Python dict literal with exactly the keys 'descr', 'fortran_order' and
 * 'shape', terminated by '\n', then the raw data. The header is parsed
 * strictly (unknown or repeated keys, bad literals or trailing garbage give
 * DSN_E_FORMAT) and the data size implied by the shape must equal what the
 * file holds. dtypes: '<f4', '<f8', '|u1' (also '<u1', '|i1'), '<i4', '<i8'
 * ('=' is accepted for little-endian hosts); big-endian data, other dtypes,
 * structured dtypes and fortran_order True (for 2 or more dimensions) give
 * DSN_E_UNSUPPORTED. */
#ifndef DSI_DATA_NPY_H
#define DSI_DATA_NPY_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#define DSI_NPY_MAX_DIMS 32

typedef enum dsi_npy_dtype {
    DSI_NPY_F4 = 0, /* '<f4' float32 */
    DSI_NPY_F8,     /* '<f8' float64 */
    DSI_NPY_U1,     /* '|u1' uint8 */
    DSI_NPY_I1,     /* '|i1' int8 */
    DSI_NPY_I4,     /* '<i4' int32 */
    DSI_NPY_I8      /* '<i8' int64 */
} dsi_npy_dtype;

typedef struct dsi_npy_header {
    int major, minor;             /* format version */
    dsi_npy_dtype dtype;
    size_t itemsize;
    int fortran_order;
    int ndim;                     /* 0 (a scalar) .. DSI_NPY_MAX_DIMS */
    uint64_t shape[DSI_NPY_MAX_DIMS];
    uint64_t count;               /* product of shape (1 for a scalar) */
    size_t data_offset;           /* where the data starts in the file */
} dsi_npy_header;

/* Parse and validate the header of an .npy image of len bytes (what names it
 * in messages). Checks that the data size matches len exactly. */
dsn_status dsi_npy_parse(const unsigned char *buf, size_t len, const char *what, dsi_npy_header *h);

/* Read and check a file's header only (the data size implied by the shape
 * is checked against the file's size; the data is not read). */
dsn_status dsi_npy_read_header(const char *path, dsi_npy_header *h);

/* Rows rows[0..n-1] (increasing, each < N) of an array [N, ...] converted
 * to float32 into x (n x the floats per row), reading only those rows from
 * the file (runs of consecutive rows at once); *h its header. */
dsn_status dsi_npy_read_rows_f32(const char *path, const int32_t *rows, size_t n, float *x, dsi_npy_header *h);

/* Read a whole array converted to float32 (any supported dtype; float64
 * values outside the float range become infinities, which callers may reject).
 * *data is allocated with dsi_aligned_alloc (free with dsi_aligned_free). */
dsn_status dsi_npy_read_f32(const char *path, float **data, dsi_npy_header *h);

/* Read an integer array converted to int32 (integer dtypes only; int64
 * values outside the int32 range give DSN_E_FORMAT). *data: dsi_free it. */
dsn_status dsi_npy_read_i32(const char *path, int32_t **data, dsi_npy_header *h);

/* Write a C-order array of dtype DSI_NPY_F4 (data is float *) or DSI_NPY_I4
 * (int32_t *) with ndim (0..DSI_NPY_MAX_DIMS) dimensions, atomically, in
 * format 1.0 (the header always fits) with the data 64-byte aligned. */
dsn_status dsi_npy_write(const char *path, dsi_npy_dtype dtype, const void *data, int ndim, const size_t *shape);

#endif
