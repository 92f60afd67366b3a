/* npy.c - strict .npy header parser, readers with dtype conversion, writer. */
#include "data/npy.h"
#include "data/dataset.h"
#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"
#include "core/fileio.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define NPY_MAX_FILE (SIZE_MAX / 4)

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

static int host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

/* ---- header lexer ------------------------------------------------------------ */

typedef struct lex {
    const char *p, *end;
    const char *what;
} lex;

static void skip_ws(lex *l)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t')) l->p++;
}

static int accept(lex *l, char c)
{
    skip_ws(l);
    if (l->p < l->end && *l->p == c) {
        l->p++;
        return 1;
    }
    return 0;
}

static dsn_status bad(lex *l, const char *msg)
{
    return dsi_error(DSN_E_FORMAT, "'%s': bad .npy header: %s", l->what, msg);
}

/* A quoted Python string without escapes, copied into out (cap bytes). */
static dsn_status parse_string(lex *l, char *out, size_t cap)
{
    skip_ws(l);
    if (l->p >= l->end || (*l->p != '\'' && *l->p != '"')) return bad(l, "expected a quoted string");
    char q = *l->p++;
    size_t n = 0;
    while (l->p < l->end && *l->p != q) {
        unsigned char c = (unsigned char)*l->p;
        if (c == '\\' || c < 0x20 || c > 0x7e) return bad(l, "unexpected character in a string");
        if (n + 1 >= cap) return bad(l, "string too long");
        out[n++] = *l->p++;
    }
    if (l->p >= l->end) return bad(l, "unterminated string");
    l->p++;
    out[n] = '\0';
    return DSN_OK;
}

static int match_word(lex *l, const char *w)
{
    skip_ws(l);
    size_t n = strlen(w);
    if ((size_t)(l->end - l->p) >= n && memcmp(l->p, w, n) == 0) {
        const char *after = l->p + n;
        if (after < l->end && ((*after >= 'a' && *after <= 'z') || (*after >= 'A' && *after <= 'Z') || *after == '_'))
            return 0;
        l->p = after;
        return 1;
    }
    return 0;
}

static dsn_status parse_descr(lex *l, dsi_npy_header *h)
{
    skip_ws(l);
    if (l->p < l->end && *l->p == '[')
        return dsi_error(DSN_E_UNSUPPORTED, "'%s': structured dtypes are not supported", l->what);
    char d[32];
    dsn_status st = parse_string(l, d, sizeof d);
    if (st) return st;
    size_t n = strlen(d);
    char order = d[0];
    if (n < 3 || !strchr("<>|=", order) || !((d[1] >= 'a' && d[1] <= 'z') || (d[1] >= 'A' && d[1] <= 'Z')))
        return dsi_error(DSN_E_FORMAT, "'%s': bad .npy header: dtype '%s' is not a NumPy type string", l->what, d);
    for (size_t i = 2; i < n; i++)
        if (d[i] < '0' || d[i] > '9')
            return dsi_error(DSN_E_UNSUPPORTED, "'%s': dtype '%s' is not supported", l->what, d);
    static const struct {
        const char *code;
        dsi_npy_dtype t;
        size_t size;
    } types[] = {{"f4", DSI_NPY_F4, 4}, {"f8", DSI_NPY_F8, 8}, {"u1", DSI_NPY_U1, 1},
                 {"i1", DSI_NPY_I1, 1}, {"i4", DSI_NPY_I4, 4}, {"i8", DSI_NPY_I8, 8}};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        if (strcmp(d + 1, types[i].code) != 0) continue;
        if (types[i].size > 1) {
            if (order == '>' || (order == '=' && !host_little_endian()))
                return dsi_error(DSN_E_UNSUPPORTED, "'%s': big-endian data ('%s') is not supported", l->what, d);
            if (order == '|')
                return dsi_error(DSN_E_FORMAT, "'%s': bad .npy header: dtype '%s' needs a byte order", l->what, d);
        }
        h->dtype = types[i].t;
        h->itemsize = types[i].size;
        return DSN_OK;
    }
    return dsi_error(DSN_E_UNSUPPORTED,
                     "'%s': dtype '%s' is not supported (use float32, float64, uint8, int8, int32 or int64)", l->what, d);
}

static dsn_status parse_shape(lex *l, dsi_npy_header *h)
{
    if (!accept(l, '(')) return bad(l, "shape is not a tuple");
    h->ndim = 0;
    int need_comma_for_one = 1;
    for (;;) {
        if (accept(l, ')')) break;
        skip_ws(l);
        if (l->p >= l->end || *l->p < '0' || *l->p > '9') return bad(l, "shape entries must be non-negative integers");
        uint64_t v = 0;
        while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
            unsigned dig = (unsigned)(*l->p++ - '0');
            if (v > (UINT64_MAX - dig) / 10) return bad(l, "shape entry too large");
            v = v * 10 + dig;
        }
        if (l->p < l->end && *l->p == 'L') l->p++; /* Python 2 long literal */
        if (h->ndim == DSI_NPY_MAX_DIMS) return dsi_error(DSN_E_UNSUPPORTED, "'%s': more than %d dimensions", l->what, DSI_NPY_MAX_DIMS);
        h->shape[h->ndim++] = v;
        if (accept(l, ',')) {
            need_comma_for_one = 0;
            continue;
        }
        if (accept(l, ')')) break;
        return bad(l, "expected ',' or ')' in shape");
    }
    if (h->ndim == 1 && need_comma_for_one) return bad(l, "shape '(n)' is not a tuple (write '(n,)')");
    return DSN_OK;
}

dsn_status dsi_npy_parse(const unsigned char *buf, size_t len, const char *what, dsi_npy_header *h)
{
    if (!buf || !h) return dsi_error(DSN_E_INVALID, "npy parse: NULL argument");
    if (!what) what = "npy data";
    memset(h, 0, sizeof *h);
    dsi_reader r;
    dsi_reader_init(&r, buf, len, what);
    const unsigned char *m = dsi_read_view(&r, 8);
    if (!m || memcmp(m, npy_magic, 6) != 0)
        return dsi_error(DSN_E_FORMAT, "'%s' is not a .npy file (no \\x93NUMPY magic)", what);
    h->major = m[6];
    h->minor = m[7];
    if (h->major < 1 || h->major > 3 || h->minor != 0)
        return dsi_error(DSN_E_FORMAT, "'%s': unknown .npy format version %d.%d", what, h->major, h->minor);
    uint32_t hl;
    if (h->major == 1) {
        const unsigned char *p = dsi_read_view(&r, 2);
        if (!p) return dsi_error(DSN_E_FORMAT, "'%s': truncated .npy header", what);
        hl = (uint32_t)p[0] | (uint32_t)p[1] << 8;
    } else if (dsi_read_u32(&r, &hl)) {
        return dsi_error(DSN_E_FORMAT, "'%s': truncated .npy header", what);
    }
    const unsigned char *hp = dsi_read_view(&r, hl);
    if (!hp)
        return dsi_error(DSN_E_FORMAT, "'%s': truncated .npy header (claims %u bytes, %zu left)", what, (unsigned)hl,
                         len - r.pos);
    if (hl == 0 || hp[hl - 1] != '\n') return dsi_error(DSN_E_FORMAT, "'%s': bad .npy header: not terminated by a newline", what);
    h->data_offset = r.pos;

    lex l = {(const char *)hp, (const char *)hp + hl - 1, what};
    dsn_status st;
    if (!accept(&l, '{')) return bad(&l, "expected '{'");
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
    for (;;) {
        if (accept(&l, '}')) break;
        char key[32];
        if ((st = parse_string(&l, key, sizeof key))) return st;
        if (!accept(&l, ':')) return bad(&l, "expected ':' after a key");
        if (strcmp(key, "descr") == 0) {
            if (seen_descr++) return bad(&l, "repeated key 'descr'");
            if ((st = parse_descr(&l, h))) return st;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (seen_fortran++) return bad(&l, "repeated key 'fortran_order'");
            if (match_word(&l, "True")) h->fortran_order = 1;
            else if (match_word(&l, "False")) h->fortran_order = 0;
            else return bad(&l, "fortran_order must be True or False");
        } else if (strcmp(key, "shape") == 0) {
            if (seen_shape++) return bad(&l, "repeated key 'shape'");
            if ((st = parse_shape(&l, h))) return st;
        } else {
            return dsi_error(DSN_E_FORMAT, "'%s': bad .npy header: unknown key '%s'", what, key);
        }
        if (accept(&l, ',')) continue;
        if (accept(&l, '}')) break;
        return bad(&l, "expected ',' or '}' after a value");
    }
    skip_ws(&l);
    if (l.p != l.end) return bad(&l, "unexpected text after the dictionary");
    if (!seen_descr || !seen_fortran || !seen_shape)
        return dsi_error(DSN_E_FORMAT, "'%s': bad .npy header: missing key '%s'", what,
                         !seen_descr ? "descr" : !seen_fortran ? "fortran_order" : "shape");
    h->count = 1;
    int big_dims = 0;
    for (int d = 0; d < h->ndim; d++) {
        if (h->shape[d] > 1) big_dims++;
        if (h->shape[d] && h->count > UINT64_MAX / h->shape[d])
            return dsi_error(DSN_E_FORMAT, "'%s': the shape claims more than 2^64 elements", what);
        h->count *= h->shape[d];
    }
    if (h->fortran_order && big_dims > 1)
        return dsi_error(DSN_E_UNSUPPORTED, "'%s': Fortran-ordered arrays are not supported (save with C order)", what);
    size_t left = len - h->data_offset;
    if (h->count > UINT64_MAX / h->itemsize || h->count * h->itemsize > (uint64_t)left)
        return dsi_error(DSN_E_FORMAT, "'%s': truncated data (the shape needs %s%llu bytes, %zu left)", what,
                         h->count > UINT64_MAX / h->itemsize ? "more than " : "",
                         h->count > UINT64_MAX / h->itemsize ? (unsigned long long)UINT64_MAX
                                                             : (unsigned long long)(h->count * h->itemsize),
                         left);
    if (h->count * h->itemsize < (uint64_t)left)
        return dsi_error(DSN_E_FORMAT, "'%s': %llu unexpected bytes after the data", what,
                         (unsigned long long)(left - h->count * h->itemsize));
    return DSN_OK;
}

/* ---- readers ------------------------------------------------------------------ */

static dsn_status read_npy(const char *path, unsigned char **buf, dsi_npy_header *h)
{
    size_t len;
    dsn_status st = dsi_read_file(path, NPY_MAX_FILE, buf, &len);
    if (st) return st;
    if ((st = dsi_npy_parse(*buf, len, path, h))) {
        dsi_free(*buf);
        *buf = NULL;
    }
    return st;
}

/* The header of an open file of `size` bytes: the magic, the length, the
 * dictionary (at most 1 MiB) - not the data, whose size is checked against
 * the file's. */
static dsn_status header_of(int fd, const char *path, uint64_t size, dsi_npy_header *h)
{
    unsigned char head[12];
    size_t first = size < sizeof head ? (size_t)size : sizeof head;
    dsn_status st = dsi_file_read_at(fd, path, 0, head, first);
    if (st) return st;
    size_t need = first; /* magic + version + length: the parse says what is wrong with a short one */
    if (first >= 10 && !memcmp(head, npy_magic, 6) && head[6] >= 1 && head[6] <= 3) {
        uint64_t hl = head[6] == 1 ? (uint64_t)head[8] | (uint64_t)head[9] << 8
                      : first >= 12 ? (uint64_t)dsi_get_u32(head + 8) : 0;
        if (hl > (1u << 20))
            return dsi_error(DSN_E_FORMAT, "'%s': a .npy header of %llu bytes (at most 1 MiB is read)", path,
                             (unsigned long long)hl);
        need = (head[6] == 1 ? 10 : 12) + (size_t)hl;
        if (need > size) need = (size_t)size;
    }
    unsigned char *buf = dsi_malloc(need ? need : 1);
    if (!buf) return dsi_error(DSN_E_NOMEM, "cannot read the header of '%s'", path);
    st = dsi_file_read_at(fd, path, 0, buf, need);
    /* the parse reads only the header; the length it is told is the file's */
    if (st == DSN_OK) st = size > SIZE_MAX ? dsi_error(DSN_E_FORMAT, "'%s' is too large", path)
                                         : dsi_npy_parse(buf, need < size ? (size_t)size : need, path, h);
    if (st == DSN_OK && h->data_offset > need) st = dsi_error(DSN_E_FORMAT, "'%s': the .npy header is too long", path);
    dsi_free(buf);
    return st;
}

dsn_status dsi_npy_read_header(const char *path, dsi_npy_header *h)
{
    if (!path || !h) return dsi_error(DSN_E_INVALID, "npy read: NULL argument");
    int fd;
    uint64_t size;
    dsn_status st = dsi_file_open(path, &fd, &size);
    if (st) return st;
    st = header_of(fd, path, size, h);
    dsi_file_close(fd);
    return st;
}

static double get_f64(const unsigned char *p)
{
    uint64_t u = dsi_get_u64(p);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* element conversions of the readers below: n elements of the file's dtype at p into out */
static void convert_f32(dsi_npy_dtype dt, const unsigned char *p, float *x, size_t n);
static dsn_status to_f32(const dsi_npy_header *hh, const unsigned char *p, void *out, const char *path)
{
    (void)path;
    convert_f32(hh->dtype, p, out, (size_t)hh->count);
    return DSN_OK;
}

static dsn_status to_i32(const dsi_npy_header *hh, const unsigned char *p, void *out, const char *path)
{
    int32_t *v = out;
    const size_t n = (size_t)hh->count;
    for (size_t i = 0; i < n; i++) {
        switch (hh->dtype) {
        case DSI_NPY_U1: v[i] = p[i]; break;
        case DSI_NPY_I1: v[i] = (int8_t)p[i]; break;
        case DSI_NPY_I4: v[i] = (int32_t)dsi_get_u32(p + 4 * i); break;
        default: {
            int64_t w = (int64_t)dsi_get_u64(p + 8 * i);
            if (w < INT32_MIN || w > INT32_MAX)
                return dsi_error(DSN_E_FORMAT, "'%s': element %zu (%lld) does not fit in 32 bits", path, i, (long long)w);
            v[i] = (int32_t)w;
        }
        }
    }
    return DSN_OK;
}

/* n elements of dtype at p into float32 x */
static void convert_f32(dsi_npy_dtype dt, const unsigned char *p, float *x, size_t n)
{
    switch (dt) {
    case DSI_NPY_F4: for (size_t i = 0; i < n; i++) x[i] = dsi_get_f32(p + 4 * i); break;
    case DSI_NPY_F8: for (size_t i = 0; i < n; i++) x[i] = (float)get_f64(p + 8 * i); break;
    case DSI_NPY_U1: for (size_t i = 0; i < n; i++) x[i] = (float)p[i]; break;
    case DSI_NPY_I1: for (size_t i = 0; i < n; i++) x[i] = (float)(int8_t)p[i]; break;
    case DSI_NPY_I4: for (size_t i = 0; i < n; i++) x[i] = (float)(int32_t)dsi_get_u32(p + 4 * i); break;
    case DSI_NPY_I8: for (size_t i = 0; i < n; i++) x[i] = (float)(int64_t)dsi_get_u64(p + 8 * i); break;
    }
}

dsn_status dsi_npy_read_rows_f32(const char *path, const int32_t *rows, size_t n, float *x, dsi_npy_header *h)
{
    if (!path || !h || (n && (!rows || !x))) return dsi_error(DSN_E_INVALID, "npy read: NULL argument");
    int fd;
    uint64_t size;
    dsn_status st = dsi_file_open(path, &fd, &size);
    if (st) return st;
    st = header_of(fd, path, size, h);
    if (st == DSN_OK && h->ndim == 0) st = dsi_error(DSN_E_FORMAT, "'%s' holds a scalar, expected an array [N, ...]", path);
    const uint64_t N = st == DSN_OK ? h->shape[0] : 0, per = N ? h->count / N : 0;
    const size_t row_bytes = (size_t)(per * h->itemsize);
    for (size_t j = 0; st == DSN_OK && j < n; j++)
        if (rows[j] < 0 || (uint64_t)rows[j] >= N || (j && rows[j] <= rows[j - 1]))
            st = dsi_error(DSN_E_INVALID, "'%s': row list entry %zu (%d) is not an increasing row of the %llu", path, j,
                           (int)rows[j], (unsigned long long)N);
    /* runs of consecutive rows, read in pieces of up to 4 MiB */
    const size_t piece_rows = row_bytes ? ((size_t)4 << 20) / row_bytes + 1 : 1;
    unsigned char *buf = st == DSN_OK && row_bytes ? dsi_malloc(piece_rows * row_bytes) : NULL;
    if (st == DSN_OK && row_bytes && !buf) st = dsi_error(DSN_E_NOMEM, "cannot allocate a read buffer for '%s'", path);
    for (size_t j = 0; st == DSN_OK && j < n && row_bytes;) {
        size_t run = 1;
        while (j + run < n && run < piece_rows && rows[j + run] == rows[j] + (int32_t)run) run++;
        st = dsi_file_read_at(fd, path, h->data_offset + (uint64_t)rows[j] * row_bytes, buf, run * row_bytes);
        if (st == DSN_OK) convert_f32(h->dtype, buf, x + j * (size_t)per, run * (size_t)per);
        j += run;
    }
    dsi_free(buf);
    dsi_file_close(fd);
    return st;
}

/* Read path and convert its elements into a new array of 4-byte elements
 * (aligned: through dsi_aligned_alloc, else dsi_malloc). */
static dsn_status read_as(const char *path, void **data, dsi_npy_header *h, int aligned, const char *what,
                          dsn_status (*convert)(const dsi_npy_header *, const unsigned char *, void *, const char *))
{
    if (!path || !data || !h) return dsi_error(DSN_E_INVALID, "npy read: NULL argument");
    unsigned char *buf;
    dsi_npy_header hh;
    dsn_status st = read_npy(path, &buf, &hh);
    if (st) return st;
    if (!aligned && (hh.dtype == DSI_NPY_F4 || hh.dtype == DSI_NPY_F8)) {
        dsi_free(buf);
        return dsi_error(DSN_E_UNSUPPORTED, "'%s': expected an integer array, found floating point", path);
    }
    /* count * itemsize fits in the file, so count * 4 fits in size_t unless itemsize is 1 */
    size_t n = (size_t)hh.count;
    void *x = n > SIZE_MAX / 4 ? NULL : aligned ? dsi_aligned_alloc(n * 4 + (n == 0)) : dsi_malloc(n * 4);
    if (!x) {
        dsi_free(buf);
        return dsi_error(DSN_E_NOMEM, "cannot allocate %zu %s for '%s'", n, what, path);
    }
    st = convert(&hh, buf + hh.data_offset, x, path);
    dsi_free(buf);
    if (st) {
        if (aligned) dsi_aligned_free(x);
        else dsi_free(x);
        return st;
    }
    *data = x;
    *h = hh;
    return DSN_OK;
}

dsn_status dsi_npy_read_f32(const char *path, float **data, dsi_npy_header *h)
{
    void *x = NULL;
    dsn_status st = read_as(path, data ? &x : NULL, h, 1, "floats", to_f32);
    if (st == DSN_OK) *data = x;
    return st;
}

dsn_status dsi_npy_read_i32(const char *path, int32_t **data, dsi_npy_header *h)
{
    void *x = NULL;
    dsn_status st = read_as(path, data ? &x : NULL, h, 0, "ints", to_i32);
    if (st == DSN_OK) *data = x;
    return st;
}

/* ---- writer ------------------------------------------------------------------ */

dsn_status dsi_npy_write(const char *path, dsi_npy_dtype dtype, const void *data, int ndim, const size_t *shape)
{
    DSI_CHECK_NULL(path, "path");
    if (dtype != DSI_NPY_F4 && dtype != DSI_NPY_I4)
        return dsi_error(DSN_E_UNSUPPORTED, "npy write: only float32 and int32 arrays are written");
    if (ndim < 0 || ndim > DSI_NPY_MAX_DIMS) return dsi_error(DSN_E_INVALID, "npy write: %d dimensions", ndim);
    if (ndim > 0 && !shape) return dsi_error(DSN_E_INVALID, "npy write: shape must not be NULL");
    size_t count = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] && count > SIZE_MAX / 4 / shape[d]) return dsi_error(DSN_E_INVALID, "npy write: size overflows");
        count *= shape[d];
    }
    if (count && !data) return dsi_error(DSN_E_INVALID, "npy write: data must not be NULL");
    char hdr[1024];
    int hn = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                      dtype == DSI_NPY_F4 ? "<f4" : "<i4");
    for (int d = 0; d < ndim; d++)
        hn += snprintf(hdr + hn, sizeof hdr - (size_t)hn, "%s%zu", d ? ", " : "", shape[d]);
    hn += snprintf(hdr + hn, sizeof hdr - (size_t)hn, "%s), }", ndim == 1 ? "," : "");
    /* pad with spaces so that the data starts on a 64-byte boundary; '\n' ends it */
    size_t total = 10 + (size_t)hn + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hl = (size_t)hn + pad + 1;
    if (hl >= sizeof hdr) return dsi_error(DSN_E_INTERNAL, "npy write: header too long");
    memset(hdr + hn, ' ', pad);
    hdr[hl - 1] = '\n';
    dsi_writer w;
    dsi_writer_init(&w);
    unsigned char pre[10];
    memcpy(pre, npy_magic, 6);
    pre[6] = 1;
    pre[7] = 0;
    pre[8] = (unsigned char)(hl & 0xff);
    pre[9] = (unsigned char)(hl >> 8);
    dsi_write_bytes(&w, pre, 10);
    dsi_write_bytes(&w, hdr, hl);
    if (dtype == DSI_NPY_F4) {
        dsi_write_f32s(&w, data, count);
    } else {
        const int32_t *v = data;
        for (size_t i = 0; i < count; i++) dsi_write_u32(&w, (uint32_t)v[i]);
    }
    dsn_status st = w.failed ? dsi_error(DSN_E_NOMEM, "npy write: cannot buffer %zu values", count)
                             : dsi_write_atomic(path, w.buf, w.len);
    dsi_writer_free(&w);
    return st;
}

/* ---- dataset from .npy ---------------------------------------------------------- */

/* The observation shape of an .npy array [N, d1, ..] (N > 0, at most
 * DSI_DATA_MAX_DIMS dims after N) into shape / *nd (0 for [N]). */
static dsn_status obs_shape(const dsi_npy_header *xh, const char *x_path, int *shape, int *nd)
{
    *nd = xh->ndim - 1;
    if (xh->ndim == 0) return dsi_error(DSN_E_FORMAT, "'%s' holds a scalar, expected an array [N, ...]", x_path);
    if (xh->shape[0] == 0) return dsi_error(DSN_E_FORMAT, "'%s' holds no observations", x_path);
    if (*nd > DSI_DATA_MAX_DIMS)
        return dsi_error(DSN_E_UNSUPPORTED, "'%s': observations with %d dimensions (at most %d)", x_path, *nd,
                         DSI_DATA_MAX_DIMS);
    for (int d = 0; d < *nd; d++) {
        if (xh->shape[d + 1] == 0 || xh->shape[d + 1] > INT_MAX)
            return dsi_error(DSN_E_FORMAT, "'%s': observation dimension %d is %llu", x_path, d,
                             (unsigned long long)xh->shape[d + 1]);
        shape[d] = (int)xh->shape[d + 1];
    }
    if (xh->shape[0] > INT32_MAX) return dsi_error(DSN_E_UNSUPPORTED, "'%s': too many observations", x_path);
    return DSN_OK;
}

dsn_status dsi_dataset_load_npy(dsi_dataset **out, const char *x_path, const char *labels_path)
{
    DSI_CHECK_NULL(out, "out");
    DSI_CHECK_NULL(x_path, "x path");
    int32_t *lab = NULL;
    dsi_npy_header lh, xh;
    dsn_status st;
    if (labels_path) { /* small: read and check it before the data */
        if ((st = dsi_npy_read_i32(labels_path, &lab, &lh))) return st;
        if (lh.ndim != 1) {
            dsi_free(lab);
            return dsi_error(DSN_E_FORMAT, "'%s': labels must be a 1-D array, not %d-D", labels_path, lh.ndim);
        }
    }
    float *x = NULL;
    if ((st = dsi_npy_read_f32(x_path, &x, &xh))) {
        dsi_free(lab);
        return st;
    }
    int shape[DSI_DATA_MAX_DIMS] = {1, 1, 1}, nd = 0;
    st = obs_shape(&xh, x_path, shape, &nd);
    if (st == DSN_OK && lab && lh.shape[0] != xh.shape[0])
        st = dsi_error(DSN_E_FORMAT, "'%s' holds %llu labels but '%s' holds %llu observations", labels_path,
                       (unsigned long long)lh.shape[0], x_path, (unsigned long long)xh.shape[0]);
    if (st) {
        dsi_aligned_free(x);
        dsi_free(lab);
        return st;
    }
    dsi_dataset *ds;
    st = dsi_dataset_adopt(&ds, x, (size_t)xh.shape[0], nd ? nd : 1, shape);
    if (st == DSN_OK && lab && (st = dsi_dataset_set_labels(ds, lab))) dsi_dataset_free(ds);
    dsi_free(lab);
    if (st) return st;
    *out = ds;
    return DSN_OK;
}

dsn_status dsi_dataset_load_npy_rows(dsi_dataset **out, const char *x_path, const int32_t *rows, size_t n,
                                     const int32_t *labels)
{
    DSI_CHECK_NULL(out, "out");
    DSI_CHECK_NULL(x_path, "x path");
    DSI_CHECK_NULL(rows, "rows");
    if (n == 0) return dsi_error(DSN_E_INVALID, "'%s': no rows to read", x_path);
    dsi_npy_header xh;
    dsn_status st = dsi_npy_read_header(x_path, &xh);
    int shape[DSI_DATA_MAX_DIMS] = {1, 1, 1}, nd = 0;
    if (st == DSN_OK) st = obs_shape(&xh, x_path, shape, &nd);
    if (st) return st;
    size_t per = (size_t)(xh.count / xh.shape[0]);
    if (per > SIZE_MAX / sizeof(float) / n) return dsi_error(DSN_E_INVALID, "'%s': %zu rows overflow", x_path, n);
    float *x = dsi_aligned_alloc(n * per * sizeof(float));
    if (!x) return dsi_error(DSN_E_NOMEM, "cannot allocate %zu rows of '%s'", n, x_path);
    if ((st = dsi_npy_read_rows_f32(x_path, rows, n, x, &xh))) {
        dsi_aligned_free(x);
        return st;
    }
    dsi_dataset *ds;
    st = dsi_dataset_adopt(&ds, x, n, nd ? nd : 1, shape);
    if (st == DSN_OK && labels && (st = dsi_dataset_set_labels(ds, labels))) dsi_dataset_free(ds);
    if (st) return st;
    *out = ds;
    return DSN_OK;
}
