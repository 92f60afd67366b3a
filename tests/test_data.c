/* test_data.c - datasets: validation, IDX and .npy files, grouping, sampling, splits. */
#include "core/alloc.h"
#include "core/endian.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------------- */

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    if (len) ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

/* IDX file: magic, dims, then payload bytes (payload may be shorter/longer than the dims say) */
static void write_idx(const char *path, uint32_t magic, int nd, const uint32_t *dims, const unsigned char *payload,
                      size_t plen)
{
    size_t len = 4 + 4 * (size_t)nd + plen;
    unsigned char *b = malloc(len);
    put_be32(b, magic);
    for (int i = 0; i < nd; i++) put_be32(b + 4 + 4 * i, dims[i]);
    if (plen) memcpy(b + 4 + 4 * nd, payload, plen);
    write_bytes(path, b, len);
    free(b);
}

/* .npy with a hand-written header (padded with spaces to 64 bytes plus '\n'
 * when pad is set) followed by data. */
static void write_npy_raw(const char *path, int major, int minor, const char *header, int pad, const void *data,
                          size_t dlen)
{
    size_t pre = major == 1 ? 10 : 12, hl = strlen(header);
    size_t total = hl;
    if (pad) {
        total = hl + 1;
        while ((pre + total) % 64) total++;
    }
    unsigned char *b = calloc(1, pre + total + dlen);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = (unsigned char)minor;
    if (major == 1) {
        b[8] = (unsigned char)(total & 0xff);
        b[9] = (unsigned char)(total >> 8);
    } else {
        dsi_put_u32(b + 8, (uint32_t)total);
    }
    memcpy(b + pre, header, hl);
    if (pad) {
        memset(b + pre + hl, ' ', total - hl - 1);
        b[pre + total - 1] = '\n';
    }
    if (dlen) memcpy(b + pre + total, data, dlen);
    write_bytes(path, b, pre + total + dlen);
    free(b);
}

static int contains(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

/* ---- memory datasets -------------------------------------------------------- */

START_TEST(memory_validation)
{
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = (float)i;
    int shape[2] = {2, 3};
    int32_t lab[2] = {4, 1};
    dsi_dataset *ds = NULL;
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, NULL, 2, 2, shape, NULL, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsi_dataset_from_memory(NULL, x, 2, 2, shape, NULL, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, x, 0, 2, shape, NULL, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, x, 2, 0, shape, NULL, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, x, 2, 4, shape, NULL, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, x, 2, 2, NULL, NULL, NULL), DSN_E_INVALID);
    int zero[2] = {2, 0};
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, x, 2, 2, zero, NULL, NULL), DSN_E_INVALID);
    int32_t neg[2] = {0, -1};
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, x, 2, 2, shape, neg, NULL), DSN_E_INVALID);
    ck_assert(contains(dsn_last_error(), "labels[1]"));
    float badmask[4] = {1, 1, 0.5f, 2};
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, x, 2, 2, shape, NULL, badmask), DSN_E_INVALID);
    x[7] = NAN;
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, x, 2, 2, shape, NULL, NULL), DSN_E_NUMERIC);
    ck_assert(contains(dsn_last_error(), "x[7]"));
    ck_assert(contains(dsn_last_error(), "NaN"));
    x[7] = 7;
    x[11] = -INFINITY;
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, x, 2, 2, shape, NULL, NULL), DSN_E_NUMERIC);
    ck_assert(contains(dsn_last_error(), "x[11]"));
    ck_assert_ptr_null(ds);
    x[11] = 11;

    float mask[4] = {1, 1, 1, 0};
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, x, 2, 2, shape, lab, mask), DSN_OK);
    x[0] = 100; /* the dataset holds a copy */
    ck_assert_uint_eq(ds->n, 2);
    ck_assert_int_eq(ds->ndim, 2);
    ck_assert_uint_eq(ds->obs_size, 6);
    ck_assert_float_eq(dsi_dataset_row(ds, 1)[2], 8.0f);
    ck_assert_float_eq(ds->x[0], 0.0f);
    ck_assert_uint_eq(((uintptr_t)ds->x) % 64, 0);
    ck_assert_uint_eq(dsi_dataset_group_count(ds), 2);
    ck_assert_float_eq(ds->mask[3], 0.0f);
    /* reshape keeps the values per row; mask pins shape[0] */
    int flat[1] = {6};
    ck_assert_int_eq(dsi_dataset_reshape(ds, 1, flat), DSN_E_STATE);
    ck_assert_int_eq(dsi_dataset_set_mask(ds, NULL), DSN_OK);
    ck_assert_int_eq(dsi_dataset_reshape(ds, 1, flat), DSN_OK);
    int wrong[1] = {5};
    ck_assert_int_eq(dsi_dataset_reshape(ds, 1, wrong), DSN_E_SHAPE);
    ck_assert_int_eq(ds->shape[0], 6);
    dsi_dataset_free(ds);
    dsi_dataset_free(NULL);
}
END_TEST

START_TEST(grouping_sorted_dense_ids)
{
    float x[5] = {0, 1, 2, 3, 4};
    int shape[1] = {1};
    int32_t lab[5] = {7, 3, 7, 9, 3};
    dsi_dataset *ds;
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, x, 5, 1, shape, lab, NULL), DSN_OK);
    ck_assert_uint_eq(ds->n_groups, 3);
    int32_t values[3] = {3, 7, 9}, of[5] = {1, 0, 1, 2, 0};
    for (int g = 0; g < 3; g++) ck_assert_int_eq(ds->group_value[g], values[g]);
    for (int i = 0; i < 5; i++) ck_assert_int_eq(ds->group_of[i], of[i]);
    size_t cnt;
    const int32_t *m = dsi_dataset_group_rows(ds, 1, &cnt);
    ck_assert_uint_eq(cnt, 2);
    ck_assert_int_eq(m[0], 0);
    ck_assert_int_eq(m[1], 2);
    ck_assert_uint_eq(ds->max_group_size, 2);
    ck_assert_int_eq(dsi_dataset_group_index(ds, 9), 2);
    ck_assert_int_eq(dsi_dataset_group_index(ds, 8), -1);
    ck_assert_int_eq(dsi_dataset_group_index(ds, 1), -1);
    /* separate group ids override the labels for grouping; labels stay */
    int32_t gid[5] = {0, 0, 0, 1, 1};
    ck_assert_int_eq(dsi_dataset_set_groups(ds, gid), DSN_OK);
    ck_assert_uint_eq(ds->n_groups, 2);
    ck_assert_int_eq(dsi_dataset_label(ds, 3), 9);
    ck_assert_int_eq(ds->group_of[3], 1);
    /* relabelling does not change grouping by ids */
    int32_t lab2[5] = {1, 1, 1, 1, 1};
    ck_assert_int_eq(dsi_dataset_set_labels(ds, lab2), DSN_OK);
    ck_assert_uint_eq(ds->n_groups, 2);
    ck_assert_int_eq(dsi_dataset_set_groups(ds, NULL), DSN_OK);
    ck_assert_uint_eq(ds->n_groups, 1);
    int32_t bad[5] = {1, 1, -3, 1, 1};
    ck_assert_int_eq(dsi_dataset_set_labels(ds, bad), DSN_E_INVALID);
    ck_assert_int_eq(ds->labels[2], 1); /* unchanged on failure */
    ck_assert_int_eq(dsi_dataset_set_labels(ds, NULL), DSN_OK);
    ck_assert_uint_eq(ds->n_groups, 0);
    ck_assert_int_eq(dsi_dataset_label(ds, 0), -1);
    dsi_dataset_free(ds);
}
END_TEST

/* ---- IDX ---------------------------------------------------------------------- */

START_TEST(idx_valid)
{
    const char *ip = tu_tmp_path("ok-images-idx3-ubyte"), *lp = tu_tmp_path("ok-labels-idx1-ubyte");
    uint32_t d3[3] = {5, 3, 2}, d1[1] = {5};
    unsigned char pix[30], lab[5] = {3, 0, 9, 3, 1};
    for (int i = 0; i < 30; i++) pix[i] = (unsigned char)(i * 51 % 256);
    write_idx(ip, 0x803, 3, d3, pix, 30);
    write_idx(lp, 0x801, 1, d1, lab, 5);
    dsi_dataset *ds = NULL;
    ck_assert_int_eq(dsi_dataset_load_idx(&ds, ip, lp), DSN_OK);
    ck_assert_uint_eq(ds->n, 5);
    ck_assert_int_eq(ds->ndim, 1);
    ck_assert_int_eq(ds->shape[0], 6);
    for (int i = 0; i < 30; i++) ck_assert_float_eq(ds->x[i], (float)pix[i] / 255.0f);
    ck_assert_float_eq(ds->x[5], 1.0f); /* 255 */
    for (int i = 0; i < 5; i++) ck_assert_int_eq(ds->labels[i], lab[i]);
    ck_assert_uint_eq(ds->n_groups, 4);
    dsi_dataset_free(ds);
    /* images alone */
    ck_assert_int_eq(dsi_dataset_load_idx(&ds, ip, NULL), DSN_OK);
    ck_assert_ptr_null(ds->labels);
    dsi_dataset_free(ds);
}
END_TEST

START_TEST(idx_errors)
{
    const char *ip = tu_tmp_path("e-images"), *lp = tu_tmp_path("e-labels"), *bad = tu_tmp_path("e-bad");
    uint32_t d3[3] = {4, 2, 2}, d1[1] = {4};
    unsigned char pix[17] = {0}, lab[4] = {1, 2, 3, 4};
    write_idx(ip, 0x803, 3, d3, pix, 16);
    write_idx(lp, 0x801, 1, d1, lab, 4);
    dsi_dataset *ds = NULL;

    /* labels file given as images: wrong magic, the message names the file */
    ck_assert_int_eq(dsi_dataset_load_idx(&ds, lp, lp), DSN_E_FORMAT);
    ck_assert(contains(dsn_last_error(), lp));
    ck_assert(contains(dsn_last_error(), "0x00000801"));
    /* foreign file */
    write_bytes(bad, "hello world, not idx", 20);
    ck_assert_int_eq(dsi_dataset_load_idx(&ds, bad, NULL), DSN_E_FORMAT);
    ck_assert(contains(dsn_last_error(), "not an IDX file"));
    /* too short */
    write_bytes(bad, "\0\0", 2);
    ck_assert_int_eq(dsi_dataset_load_idx(&ds, bad, NULL), DSN_E_FORMAT);
    /* gzip */
    write_bytes(bad, "\x1f\x8b\x08\x00rest", 8);
    ck_assert_int_eq(dsi_dataset_load_idx(&ds, bad, NULL), DSN_E_UNSUPPORTED);
    ck_assert(contains(dsn_last_error(), "gzip"));
    /* int32 element type: valid IDX, not supported */
    write_idx(bad, 0x0C03, 3, d3, pix, 16);
    ck_assert_int_eq(dsi_dataset_load_idx(&ds, bad, NULL), DSN_E_UNSUPPORTED);
    /* truncated images */
    write_idx(bad, 0x803, 3, d3, pix, 15);
    ck_assert_int_eq(dsi_dataset_load_idx(&ds, bad, lp), DSN_E_FORMAT);
    ck_assert(contains(dsn_last_error(), "truncated"));
    ck_assert(contains(dsn_last_error(), bad));
    /* truncated header */
    write_idx(bad, 0x803, 2, d3, NULL, 0);
    ck_assert_int_eq(dsi_dataset_load_idx(&ds, bad, NULL), DSN_E_FORMAT);
    /* trailing bytes */
    write_idx(bad, 0x803, 3, d3, pix, 17);
    ck_assert_int_eq(dsi_dataset_load_idx(&ds, bad, NULL), DSN_E_FORMAT);
    /* zero dimension */
    uint32_t dz[3] = {4, 0, 2};
    write_idx(bad, 0x803, 3, dz, pix, 0);
    ck_assert_int_eq(dsi_dataset_load_idx(&ds, bad, NULL), DSN_E_FORMAT);
    /* label count mismatch */
    uint32_t d1b[1] = {3};
    write_idx(bad, 0x801, 1, d1b, lab, 3);
    ck_assert_int_eq(dsi_dataset_load_idx(&ds, ip, bad), DSN_E_FORMAT);
    ck_assert(contains(dsn_last_error(), "3 labels"));
    /* absurd dimensions claiming terabytes: rejected before any large allocation */
    uint32_t huge[3] = {0xFFFFFFFFu, 0xFFFFu, 0xFFFFu};
    write_idx(bad, 0x803, 3, huge, pix, 16);
    uint64_t before = dsn_allocation_count();
    ck_assert_int_eq(dsi_dataset_load_idx(&ds, bad, NULL), DSN_E_FORMAT);
    ck_assert_uint_le(dsn_allocation_count() - before, 1); /* only the 32-byte file buffer */
    uint32_t big[3] = {1000000, 1000, 1000};
    write_idx(bad, 0x803, 3, big, pix, 16);
    ck_assert_int_eq(dsi_dataset_load_idx(&ds, bad, NULL), DSN_E_FORMAT);
    /* missing file */
    ck_assert_int_eq(dsi_dataset_load_idx(&ds, tu_tmp_path("does-not-exist"), NULL), DSN_E_IO);
    ck_assert_ptr_null(ds);
    ck_assert_int_eq(dsi_dataset_load_mnist(&ds, tu_tmpdir(), 0), DSN_E_IO);
}
END_TEST

/* ---- .npy ----------------------------------------------------------------------- */

START_TEST(npy_round_trip)
{
    const char *xp = tu_tmp_path("rt-x.npy"), *lp = tu_tmp_path("rt-y.npy");
    dsi_rng r;
    dsi_rng_seed(&r, 11);
    float x[4 * 3 * 2];
    tu_fill(&r, x, 24);
    int32_t lab[4] = {0, 12, 12, 5};
    size_t xs[3] = {4, 3, 2}, ls[1] = {4};
    ck_assert_int_eq(dsi_npy_write(xp, DSI_NPY_F4, x, 3, xs), DSN_OK);
    ck_assert_int_eq(dsi_npy_write(lp, DSI_NPY_I4, lab, 1, ls), DSN_OK);
    float *y;
    int32_t *l;
    dsi_npy_header h;
    ck_assert_int_eq(dsi_npy_read_f32(xp, &y, &h), DSN_OK);
    ck_assert_int_eq(h.ndim, 3);
    ck_assert_uint_eq(h.shape[1], 3);
    ck_assert_uint_eq(h.data_offset % 64, 0);
    ck_assert_int_eq(h.major, 1);
    ck_assert_int_eq(memcmp(x, y, sizeof x), 0);
    dsi_aligned_free(y);
    ck_assert_int_eq(dsi_npy_read_i32(lp, &l, &h), DSN_OK);
    ck_assert_int_eq(memcmp(l, lab, sizeof lab), 0);
    dsi_free(l);
    /* integer arrays read as floats too; floats are not labels */
    ck_assert_int_eq(dsi_npy_read_f32(lp, &y, &h), DSN_OK);
    ck_assert_float_eq(y[1], 12.0f);
    dsi_aligned_free(y);
    ck_assert_int_eq(dsi_npy_read_i32(xp, &l, &h), DSN_E_UNSUPPORTED);

    dsi_dataset *ds;
    ck_assert_int_eq(dsi_dataset_load_npy(&ds, xp, lp), DSN_OK);
    ck_assert_uint_eq(ds->n, 4);
    ck_assert_int_eq(ds->ndim, 2);
    ck_assert_int_eq(ds->shape[0], 3);
    ck_assert_int_eq(ds->shape[1], 2);
    ck_assert_int_eq(memcmp(ds->x, x, sizeof x), 0);
    ck_assert_uint_eq(ds->n_groups, 3);
    dsi_dataset_free(ds);
    /* labels that do not match the rows */
    size_t ls3[1] = {3};
    ck_assert_int_eq(dsi_npy_write(lp, DSI_NPY_I4, lab, 1, ls3), DSN_OK);
    ck_assert_int_eq(dsi_dataset_load_npy(&ds, xp, lp), DSN_E_FORMAT);
    /* a 1-D array is N scalar observations; a scalar is rejected; 0-d write works */
    ck_assert_int_eq(dsi_npy_write(xp, DSI_NPY_F4, x, 1, ls), DSN_OK);
    ck_assert_int_eq(dsi_dataset_load_npy(&ds, xp, NULL), DSN_OK);
    ck_assert_uint_eq(ds->n, 4);
    ck_assert_uint_eq(ds->obs_size, 1);
    dsi_dataset_free(ds);
    ck_assert_int_eq(dsi_npy_write(xp, DSI_NPY_F4, x, 0, NULL), DSN_OK);
    ck_assert_int_eq(dsi_dataset_load_npy(&ds, xp, NULL), DSN_E_FORMAT);
    /* 5-D: observations of 4 dims are beyond the dataset's limit */
    size_t s5[5] = {1, 2, 3, 2, 2};
    ck_assert_int_eq(dsi_npy_write(xp, DSI_NPY_F4, x, 5, s5), DSN_OK);
    ck_assert_int_eq(dsi_dataset_load_npy(&ds, xp, NULL), DSN_E_UNSUPPORTED);
    /* NaN data is refused with its index */
    x[5] = NAN;
    ck_assert_int_eq(dsi_npy_write(xp, DSI_NPY_F4, x, 3, xs), DSN_OK);
    ck_assert_int_eq(dsi_dataset_load_npy(&ds, xp, NULL), DSN_E_NUMERIC);
    ck_assert(contains(dsn_last_error(), "x[5]"));
}
END_TEST

START_TEST(npy_headers)
{
    const char *p = tu_tmp_path("h.npy");
    dsi_npy_header h;
    float *y;
    int32_t *l;
    double d[6] = {1.5, -2.25, 1e-3, 0, 3e10, -7};
    /* version 2.0 with float64 converted */
    write_npy_raw(p, 2, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 1, d, sizeof d);
    ck_assert_int_eq(dsi_npy_read_f32(p, &y, &h), DSN_OK);
    ck_assert_int_eq(h.major, 2);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(y[i], (float)d[i]);
    dsi_aligned_free(y);
    /* version 3.0, double quotes, other key order, no trailing comma, Python 2 longs */
    write_npy_raw(p, 3, 0, "{\"shape\": (6L,), \"fortran_order\": False, \"descr\": \"<f8\"}", 1, d, sizeof d);
    ck_assert_int_eq(dsi_npy_read_f32(p, &y, &h), DSN_OK);
    ck_assert_int_eq(h.ndim, 1);
    dsi_aligned_free(y);
    /* uint8 and int64 labels */
    unsigned char u[3] = {0, 200, 7};
    write_npy_raw(p, 1, 0, "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", 1, u, 3);
    ck_assert_int_eq(dsi_npy_read_i32(p, &l, &h), DSN_OK);
    ck_assert_int_eq(l[1], 200);
    dsi_free(l);
    int64_t w[2] = {5, 1234567};
    write_npy_raw(p, 1, 0, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 1, w, sizeof w);
    ck_assert_int_eq(dsi_npy_read_i32(p, &l, &h), DSN_OK);
    ck_assert_int_eq(l[1], 1234567);
    dsi_free(l);
    w[1] = (int64_t)1 << 40;
    write_npy_raw(p, 1, 0, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 1, w, sizeof w);
    ck_assert_int_eq(dsi_npy_read_i32(p, &l, &h), DSN_E_FORMAT);
    /* fortran order is fine for 1-D, refused for 2-D */
    write_npy_raw(p, 1, 0, "{'descr': '<f8', 'fortran_order': True, 'shape': (6,), }", 1, d, sizeof d);
    ck_assert_int_eq(dsi_npy_read_f32(p, &y, &h), DSN_OK);
    dsi_aligned_free(y);
    write_npy_raw(p, 1, 0, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", 1, d, sizeof d);
    ck_assert_int_eq(dsi_npy_read_f32(p, &y, &h), DSN_E_UNSUPPORTED);
    ck_assert(contains(dsn_last_error(), "Fortran"));

    struct {
        const char *hdr;
        dsn_status want;
    } cases[] = {
        {"{'descr': '>f8', 'fortran_order': False, 'shape': (6,), }", DSN_E_UNSUPPORTED},
        {"{'descr': '<c16', 'fortran_order': False, 'shape': (3,), }", DSN_E_UNSUPPORTED},
        {"{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (6,), }", DSN_E_UNSUPPORTED},
        {"{'descr': 'f8', 'fortran_order': False, 'shape': (6,), }", DSN_E_FORMAT},
        {"{'descr': '|f8', 'fortran_order': False, 'shape': (6,), }", DSN_E_FORMAT},
        {"{'descr': '<f8', 'fortran_order': False}", DSN_E_FORMAT},                              /* no shape */
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'x': 1}", DSN_E_FORMAT},       /* unknown key */
        {"{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (6,)}", DSN_E_FORMAT}, /* repeated */
        {"{'descr': '<f8', 'fortran_order': false, 'shape': (6,)}", DSN_E_FORMAT},
        {"{'descr': '<f8', 'fortran_order': Falsey, 'shape': (6,)}", DSN_E_FORMAT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (6)}", DSN_E_FORMAT},  /* not a tuple */
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (-6,)}", DSN_E_FORMAT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': [6]}", DSN_E_FORMAT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2,,3)}", DSN_E_FORMAT},
        {"{'descr': '<f8' 'fortran_order': False, 'shape': (6,)}", DSN_E_FORMAT},  /* missing comma */
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (6,)} junk", DSN_E_FORMAT},
        {"{descr: '<f8', 'fortran_order': False, 'shape': (6,)}", DSN_E_FORMAT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (6,), ", DSN_E_FORMAT}, /* unclosed */
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (7,)}", DSN_E_FORMAT},  /* truncated data */
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (5,)}", DSN_E_FORMAT},  /* trailing data */
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", DSN_E_FORMAT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}", DSN_E_FORMAT},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        write_npy_raw(p, 1, 0, cases[c].hdr, 1, d, sizeof d);
        uint64_t before = dsn_allocation_count();
        dsn_status st = dsi_npy_read_f32(p, &y, &h);
        ck_assert_msg(st == cases[c].want, "header %s: status %d, want %d (%s)", cases[c].hdr, st, cases[c].want,
                      dsn_last_error());
        ck_assert_uint_le(dsn_allocation_count() - before, 1); /* just the file buffer */
        ck_assert(contains(dsn_last_error(), p));
    }
    /* the truncation message says so */
    write_npy_raw(p, 1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (7,)}", 1, d, sizeof d);
    ck_assert_int_eq(dsi_npy_read_f32(p, &y, &h), DSN_E_FORMAT);
    ck_assert(contains(dsn_last_error(), "truncated"));
    /* no newline at the end of the header */
    write_npy_raw(p, 1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", 0, d, sizeof d);
    ck_assert_int_eq(dsi_npy_read_f32(p, &y, &h), DSN_E_FORMAT);
    /* unknown version, bad magic, header length beyond the file */
    write_npy_raw(p, 4, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", 1, d, sizeof d);
    ck_assert_int_eq(dsi_npy_read_f32(p, &y, &h), DSN_E_FORMAT);
    ck_assert(contains(dsn_last_error(), "version"));
    write_bytes(p, "\x93NUMPZ\x01\x00", 8);
    ck_assert_int_eq(dsi_npy_read_f32(p, &y, &h), DSN_E_FORMAT);
    write_bytes(p, "\x93NUMPY\x01\x00\xff\x7f{'descr'", 18);
    ck_assert_int_eq(dsi_npy_read_f32(p, &y, &h), DSN_E_FORMAT);
    write_bytes(p, "\x93NUMPY\x02\x00\xff\xff\xff\xff{", 13);
    ck_assert_int_eq(dsi_npy_read_f32(p, &y, &h), DSN_E_FORMAT);
    write_bytes(p, "\x93NUMPY\x01", 7);
    ck_assert_int_eq(dsi_npy_read_f32(p, &y, &h), DSN_E_FORMAT);
    /* writer refuses other dtypes */
    size_t s1[1] = {6};
    ck_assert_int_eq(dsi_npy_write(p, DSI_NPY_F8, d, 1, s1), DSN_E_UNSUPPORTED);
}
END_TEST

/* ---- real MNIST, when fetched ----------------------------------------------------- */

START_TEST(mnist_real_files)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/mnist", DSN_SOURCE_DIR);
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/t10k-labels-idx1-ubyte", dir);
    if (access(probe, R_OK) != 0) {
        TU_SKIP("no MNIST in %s (run scripts/fetch-mnist.sh)", dir);
    }
    static const int train_hist[10] = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
    static const int test_hist[10] = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};
    for (int t = 0; t < 2; t++) {
        dsi_dataset *ds;
        ck_assert_msg(dsi_dataset_load_mnist(&ds, dir, t) == DSN_OK, "%s", dsn_last_error());
        ck_assert_uint_eq(ds->n, t ? 10000 : 60000);
        ck_assert_uint_eq(ds->obs_size, 784);
        ck_assert_uint_eq(ds->n_groups, 10);
        for (int g = 0; g < 10; g++) {
            size_t cnt;
            dsi_dataset_group_rows(ds, (size_t)g, &cnt);
            ck_assert_int_eq(ds->group_value[g], g);
            ck_assert_int_eq((int)cnt, t ? test_hist[g] : train_hist[g]);
        }
        float lo = 1, hi = 0;
        for (size_t i = 0; i < ds->n * 784; i++) {
            if (ds->x[i] < lo) lo = ds->x[i];
            if (ds->x[i] > hi) hi = ds->x[i];
        }
        ck_assert_float_eq(lo, 0.0f);
        ck_assert_float_eq(hi, 1.0f);
        dsi_dataset_free(ds);
    }
}
END_TEST

/* ---- sampling ---------------------------------------------------------------------- */

/* 30 rows in 7 groups of sizes 1, 2, 3, 10, 10, 10... with raw labels spread out */
static dsi_dataset *grouped_dataset(void)
{
    static const int32_t values[7] = {2, 5, 11, 20, 33, 40, 41};
    static const int sizes[7] = {1, 2, 3, 8, 6, 6, 4};
    float x[30 * 4];
    int32_t lab[30];
    int i = 0;
    /* interleave so that groups are not contiguous */
    int left[7];
    memcpy(left, sizes, sizeof left);
    while (i < 30)
        for (int g = 0; g < 7 && i < 30; g++)
            if (left[g]) {
                left[g]--;
                lab[i++] = values[g];
            }
    for (int r = 0; r < 30; r++)
        for (int c = 0; c < 4; c++) x[r * 4 + c] = (float)(r * 10 + c);
    int shape[2] = {2, 2};
    dsi_dataset *ds;
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, x, 30, 2, shape, lab, NULL), DSN_OK);
    int32_t len[30];
    for (int r = 0; r < 30; r++) len[r] = 1 + r % 2;
    ck_assert_int_eq(dsi_dataset_set_lengths(ds, len), DSN_OK);
    return ds;
}

START_TEST(group_sampler_batches)
{
    dsi_dataset *ds = grouped_dataset();
    ck_assert_uint_eq(ds->n_groups, 7);
    dsi_group_sampler *s;
    ck_assert_int_eq(dsi_group_sampler_create(&s, ds, 4, 3, 99), DSN_OK);
    ck_assert_uint_eq(dsi_group_sampler_batch_size(s), 12);
    float x[12 * 4], mask[12 * 2];
    int32_t grp[12], lab[12], idx[12];
    dsi_batch b = {x, grp, lab, mask, idx, 12, 0};
    int chosen[7] = {0};
    uint64_t before = dsn_allocation_count();
    for (int it = 0; it < 300; it++) {
        ck_assert_int_eq(dsi_group_sampler_next(s, &b), DSN_OK);
        ck_assert_uint_eq(b.n, 12);
        int32_t seen_labels[4];
        for (int j = 0; j < 4; j++) {
            int32_t l0 = lab[j * 3];
            seen_labels[j] = l0;
            size_t g = (size_t)dsi_dataset_group_index(ds, l0);
            size_t m;
            dsi_dataset_group_rows(ds, g, &m);
            chosen[g]++;
            for (int t = 0; t < 3; t++) {
                int r = j * 3 + t;
                ck_assert_int_eq(grp[r], j);
                ck_assert_int_eq(lab[r], l0);                        /* same group */
                ck_assert_int_eq(ds->group_of[idx[r]], (int32_t)g); /* member of it */
                ck_assert_int_eq(ds->labels[idx[r]], lab[r]);
                ck_assert_int_eq(memcmp(x + r * 4, dsi_dataset_row(ds, (size_t)idx[r]), 16), 0);
                ck_assert_float_eq(mask[r * 2], 1.0f);
                ck_assert_float_eq(mask[r * 2 + 1], idx[r] % 2 ? 1.0f : 0.0f);
                if (m >= 3)
                    for (int u = 0; u < t; u++) ck_assert_int_ne(idx[j * 3 + u], idx[r]); /* no repeats */
            }
        }
        for (int j = 0; j < 4; j++)
            for (int u = 0; u < j; u++) ck_assert_int_ne(seen_labels[j], seen_labels[u]); /* distinct groups */
    }
    ck_assert_uint_eq(dsn_allocation_count(), before); /* no allocation while sampling */
    /* every group is picked about 300 * 4 / 7 = 171 times */
    for (int g = 0; g < 7; g++) ck_assert_int_gt(chosen[g], 110);
    /* with replacement for small groups: group of size 1 gives the same row 3 times */
    ck_assert_int_gt(chosen[0], 0);

    /* reproducible for a seed, different for another */
    dsi_group_sampler *s1, *s2, *s3;
    ck_assert_int_eq(dsi_group_sampler_create(&s1, ds, 4, 3, 5), DSN_OK);
    ck_assert_int_eq(dsi_group_sampler_create(&s2, ds, 4, 3, 5), DSN_OK);
    ck_assert_int_eq(dsi_group_sampler_create(&s3, ds, 4, 3, 6), DSN_OK);
    int32_t i1[12], i2[12], i3[12];
    dsi_batch b1 = {x, NULL, NULL, NULL, i1, 12, 0}, b2 = {x, NULL, NULL, NULL, i2, 12, 0},
              b3 = {x, NULL, NULL, NULL, i3, 12, 0};
    int differ = 0;
    for (int it = 0; it < 20; it++) {
        ck_assert_int_eq(dsi_group_sampler_next(s1, &b1), DSN_OK);
        ck_assert_int_eq(dsi_group_sampler_next(s2, &b2), DSN_OK);
        ck_assert_int_eq(dsi_group_sampler_next(s3, &b3), DSN_OK);
        ck_assert_int_eq(memcmp(i1, i2, sizeof i1), 0);
        differ |= memcmp(i1, i3, sizeof i1) != 0;
    }
    ck_assert(differ);
    dsi_group_sampler_free(s1);
    dsi_group_sampler_free(s2);
    dsi_group_sampler_free(s3);

    /* batch too small */
    dsi_batch small = {x, NULL, NULL, NULL, NULL, 11, 0};
    ck_assert_int_eq(dsi_group_sampler_next(s, &small), DSN_E_SHAPE);
    dsi_group_sampler_free(s);

    /* more groups asked than exist: an error, not a silently smaller batch */
    ck_assert_int_eq(dsi_group_sampler_create(&s, ds, 10, 2, 1), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "only 7 groups"));
    ck_assert_int_eq(dsi_group_sampler_create(&s, ds, 7, 2, 1), DSN_OK);
    ck_assert_uint_eq(s->groups, 7);
    float xb[14 * 4];
    int32_t lb[14], gb[14];
    dsi_batch bb = {xb, gb, lb, NULL, NULL, 14, 0};
    ck_assert_int_eq(dsi_group_sampler_next(s, &bb), DSN_OK);
    int present[7] = {0};
    for (int r = 0; r < 14; r++) present[dsi_dataset_group_index(ds, lb[r])]++;
    for (int g = 0; g < 7; g++) ck_assert_int_eq(present[g], 2);
    dsi_group_sampler_free(s);

    ck_assert_int_eq(dsi_group_sampler_create(&s, ds, 0, 2, 1), DSN_E_INVALID);
    ck_assert_int_eq(dsi_group_sampler_create(&s, ds, 2, 0, 1), DSN_E_INVALID);
    ck_assert_int_eq(dsi_group_sampler_create(&s, ds, 2, 2, 1), DSN_OK);
    ck_assert_int_eq(dsi_dataset_set_labels(ds, NULL), DSN_OK);
    ck_assert_int_eq(dsi_group_sampler_next(s, &bb), DSN_E_STATE); /* regrouped under it */
    dsi_group_sampler_free(s);
    ck_assert_int_eq(dsi_group_sampler_create(&s, ds, 2, 2, 1), DSN_E_STATE);
    dsi_dataset_free(ds);
}
END_TEST

/* Data-parallel shards: shard r of P holds the units (rows, or whole
 * groups) [U g0 / G, U g1 / G) for its part [g0, g1) of every batch of G;
 * the shards are disjoint, cover the set, and a dataset shard holds exactly
 * those rows (and is marked as that shard). */
START_TEST(shards)
{
    float x[40];
    int32_t lab[40];
    for (int i = 0; i < 40; i++) x[i] = (float)i, lab[i] = (int32_t)(10 * (i % 6));
    int shape[1] = {1};
    dsi_dataset *ds;
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, x, 40, 1, shape, lab, NULL), DSN_OK);
    for (int by_groups = 0; by_groups < 2; by_groups++) {
        const size_t G = by_groups ? 5 : 7, U = by_groups ? 6 : 40;
        for (int P = 1; P <= 3; P++) {
            int seen[40] = {0};
            size_t parts = 0;
            for (int r = 0; r < P; r++) {
                int32_t rows[40];
                size_t n = 0, units = 0, g0, g1, lo, hi;
                ck_assert_int_eq(dsi_shard_rows(40, by_groups ? lab : NULL, G, r, P, rows, &n, &units), DSN_OK);
                ck_assert_uint_eq(units, U);
                dsi_shard_part(G, r, P, &g0, &g1);
                dsi_shard_units(U, G, r, P, &lo, &hi);
                parts += g1 - g0;
                ck_assert_uint_ge(hi - lo, g1 - g0); /* U >= G: never smaller than its part */
                for (size_t j = 0; j < n; j++) {
                    seen[rows[j]]++;
                    if (j) ck_assert_int_lt(rows[j - 1], rows[j]);
                    size_t unit = by_groups ? (size_t)lab[rows[j]] / 10 : (size_t)rows[j];
                    ck_assert(unit >= lo && unit < hi);
                }
                dsi_dataset *sh = NULL;
                ck_assert_int_eq(dsi_dataset_shard(&sh, ds, by_groups, G, r, P), DSN_OK);
                ck_assert_uint_eq(sh->n, n);
                ck_assert_uint_eq(dsi_dataset_total_rows(sh), 40);
                ck_assert_uint_eq(dsi_dataset_total_groups(sh), 6);
                ck_assert_int_eq(sh->shard_rank, r);
                ck_assert_int_eq(sh->shard_count, P);
                if (by_groups) ck_assert_uint_eq(sh->n_groups, hi - lo);
                for (size_t j = 0; j < n; j++) {
                    ck_assert_float_eq(sh->x[j], (float)rows[j]);
                    ck_assert_int_eq(sh->labels[j], lab[rows[j]]);
                }
                dsi_dataset *again = NULL;
                ck_assert_int_eq(dsi_dataset_shard(&again, sh, by_groups, G, 0, 1), DSN_E_INVALID);
                dsi_dataset_free(sh);
            }
            ck_assert_uint_eq(parts, G);
            for (int i = 0; i < 40; i++) ck_assert_int_eq(seen[i], 1);
        }
    }
    /* 6 groups, batches of 8 groups over 3: shard 0 gets 6 * 2 / 8 = 1 group
     * for its part of 2; 2 groups for batches of 5 over 3: an empty shard 0 */
    size_t lo, hi;
    dsi_shard_units(6, 8, 0, 3, &lo, &hi);
    ck_assert_uint_eq(hi - lo, 1);
    int32_t two[40];
    for (int i = 0; i < 40; i++) two[i] = i % 2;
    ck_assert_int_eq(dsi_dataset_set_labels(ds, two), DSN_OK);
    dsi_dataset *sh = NULL;
    ck_assert_int_eq(dsi_dataset_shard(&sh, ds, 1, 5, 0, 3), DSN_E_INVALID);
    ck_assert_ptr_null(sh);
    ck_assert_int_eq(dsi_dataset_shard(&sh, ds, 1, 5, 3, 3), DSN_E_INVALID);
    dsi_dataset_free(ds);
}
END_TEST

START_TEST(epoch_iterator_covers_once)
{
    float x[23];
    for (int i = 0; i < 23; i++) x[i] = (float)i;
    int shape[1] = {1};
    dsi_dataset *ds;
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, x, 23, 1, shape, NULL, NULL), DSN_OK);
    for (int drop = 0; drop < 2; drop++) {
        dsi_epoch_iter *it;
        ck_assert_int_eq(dsi_epoch_iter_create(&it, ds, 5, drop, 42), DSN_OK);
        float bx[5];
        int32_t bi[5], bg[5];
        dsi_batch b = {bx, bg, NULL, NULL, bi, 5, 0};
        int32_t first_order[23];
        uint64_t before = dsn_allocation_count();
        for (int ep = 0; ep < 3; ep++) {
            int count[23] = {0}, batches = 0, pos = 0, same = 1;
            while (dsi_epoch_iter_next(it, &b) == DSN_OK && b.n) {
                batches++;
                ck_assert_uint_eq(b.n, batches <= 4 ? 5 : 3);
                for (size_t j = 0; j < b.n; j++) {
                    count[bi[j]]++;
                    ck_assert_float_eq(bx[j], (float)bi[j]);
                    ck_assert_int_eq(bg[j], -1);
                    if (ep == 0) first_order[pos] = bi[j];
                    else same &= first_order[pos] == bi[j];
                    pos++;
                }
            }
            ck_assert_int_eq(batches, drop ? 4 : 5);
            for (int i = 0; i < 23 && !drop; i++) ck_assert_int_eq(count[i], 1);
            for (int i = 0; i < 23; i++) ck_assert_int_le(count[i], 1);
            if (ep > 0) ck_assert(!same); /* a new order every epoch */
        }
        ck_assert_uint_eq(it->epoch, 3);
        ck_assert_uint_eq(dsn_allocation_count(), before);
        /* restart mid-epoch */
        ck_assert_int_eq(dsi_epoch_iter_next(it, &b), DSN_OK);
        dsi_epoch_iter_restart(it);
        ck_assert_int_eq(dsi_epoch_iter_next(it, &b), DSN_OK);
        ck_assert_uint_eq(it->epoch, 5);
        dsi_epoch_iter_free(it);
    }
    dsi_epoch_iter *it;
    ck_assert_int_eq(dsi_epoch_iter_create(&it, ds, 24, 1, 1), DSN_E_INVALID);
    ck_assert_int_eq(dsi_epoch_iter_create(&it, ds, 0, 0, 1), DSN_E_INVALID);
    /* a batch larger than the dataset without drop_last: one batch of all rows */
    ck_assert_int_eq(dsi_epoch_iter_create(&it, ds, 100, 0, 1), DSN_OK);
    float bx[23];
    dsi_batch b = {bx, NULL, NULL, NULL, NULL, 23, 0};
    ck_assert_int_eq(dsi_epoch_iter_next(it, &b), DSN_OK);
    ck_assert_uint_eq(b.n, 23);
    ck_assert_int_eq(dsi_epoch_iter_next(it, &b), DSN_OK);
    ck_assert_uint_eq(b.n, 0);
    dsi_epoch_iter_free(it);
    dsi_dataset_free(ds);
}
END_TEST

/* ---- splits --------------------------------------------------------------------------- */

START_TEST(splits_random_and_stratified)
{
    enum { N = 1000 };
    float *x = malloc(N * 2 * sizeof(float));
    int32_t *lab = malloc(N * sizeof(int32_t));
    for (int i = 0; i < N; i++) {
        x[2 * i] = (float)i;
        x[2 * i + 1] = -(float)i;
        lab[i] = i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : 2; /* 500 / 300 / 200 */
    }
    int shape[1] = {2};
    dsi_dataset *ds;
    ck_assert_int_eq(dsi_dataset_from_memory(&ds, x, N, 1, shape, lab, NULL), DSN_OK);
    int32_t *ti = malloc(N * sizeof(int32_t)), *vi = malloc(N * sizeof(int32_t));
    int32_t *ti2 = malloc(N * sizeof(int32_t)), *vi2 = malloc(N * sizeof(int32_t));
    for (int strat = 0; strat < 2; strat++) {
        size_t nt, nv, nt2, nv2;
        ck_assert_int_eq(dsi_split_indices_random(ds, 0.2, 7, strat, ti, &nt, vi, &nv), DSN_OK);
        ck_assert_uint_eq(nt + nv, N);
        ck_assert_uint_eq(nv, 200);
        char *seen = calloc(N, 1);
        for (size_t j = 0; j < nt; j++) seen[ti[j]]++;
        for (size_t j = 0; j < nv; j++) seen[vi[j]]++;
        for (int i = 0; i < N; i++) ck_assert_int_eq(seen[i], 1); /* disjoint and covering */
        for (size_t j = 1; j < nv; j++) ck_assert_int_lt(vi[j - 1], vi[j]);
        free(seen);
        int per[3] = {0};
        for (size_t j = 0; j < nv; j++) per[lab[vi[j]]]++;
        if (strat) {
            ck_assert_int_eq(per[0], 100);
            ck_assert_int_eq(per[1], 60);
            ck_assert_int_eq(per[2], 40);
        }
        /* same seed, same split; another seed, another split */
        ck_assert_int_eq(dsi_split_indices_random(ds, 0.2, 7, strat, ti2, &nt2, vi2, &nv2), DSN_OK);
        ck_assert_int_eq(memcmp(vi, vi2, nv * sizeof(int32_t)), 0);
        ck_assert_int_eq(dsi_split_indices_random(ds, 0.2, 8, strat, ti2, &nt2, vi2, &nv2), DSN_OK);
        ck_assert_int_ne(memcmp(vi, vi2, nv * sizeof(int32_t)), 0);
    }
    size_t nt, nv;
    ck_assert_int_eq(dsi_split_indices_random(ds, 0.0, 7, 0, ti, &nt, vi, &nv), DSN_E_INVALID);
    ck_assert_int_eq(dsi_split_indices_random(ds, 1.0, 7, 0, ti, &nt, vi, &nv), DSN_E_INVALID);
    ck_assert_int_eq(dsi_split_indices_random(ds, 0.0001, 7, 0, ti, &nt, vi, &nv), DSN_E_INVALID);

    /* as datasets: rows, labels and groups carried over */
    dsi_dataset *tr, *va;
    ck_assert_int_eq(dsi_dataset_split_random(ds, 0.25, 3, 1, &tr, &va), DSN_OK);
    ck_assert_uint_eq(tr->n + va->n, N);
    ck_assert_uint_eq(va->n, 250);
    ck_assert_uint_eq(va->n_groups, 3);
    for (size_t j = 0; j < va->n; j++) {
        int i = (int)va->x[2 * j];
        ck_assert_float_eq(va->x[2 * j + 1], -(float)i);
        ck_assert_int_eq(va->labels[j], lab[i]);
    }
    dsi_dataset_free(tr);
    dsi_dataset_free(va);

    /* by label set: train on {0, 2}, hold out the unseen group 1 */
    int32_t keep[2] = {2, 0};
    dsi_dataset *in, *out;
    ck_assert_int_eq(dsi_dataset_split_by_labels(ds, keep, 2, &in, &out), DSN_OK);
    ck_assert_uint_eq(in->n, 700);
    ck_assert_uint_eq(out->n, 300);
    ck_assert_uint_eq(in->n_groups, 2);
    ck_assert_uint_eq(out->n_groups, 1);
    for (size_t j = 0; j < out->n; j++) ck_assert_int_eq(out->labels[j], 1);
    dsi_dataset_free(in);
    dsi_dataset_free(out);
    int32_t none[1] = {9};
    ck_assert_int_eq(dsi_dataset_split_by_labels(ds, none, 1, &in, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsi_dataset_split_by_labels(ds, none, 1, NULL, &out), DSN_OK);
    ck_assert_uint_eq(out->n, N);
    dsi_dataset_free(out);

    /* subset by index list, with a repeat, and bounds checking */
    int32_t pick[3] = {999, 4, 999};
    dsi_dataset *sub;
    ck_assert_int_eq(dsi_dataset_subset(&sub, ds, pick, 3), DSN_OK);
    ck_assert_float_eq(sub->x[0], 999.0f);
    ck_assert_float_eq(sub->x[2], 4.0f);
    ck_assert_uint_eq(sub->n_groups, 2);
    dsi_dataset_free(sub);
    pick[1] = N;
    ck_assert_int_eq(dsi_dataset_subset(&sub, ds, pick, 3), DSN_E_INVALID);
    ck_assert_int_eq(dsi_dataset_subset(&sub, ds, pick, 0), DSN_E_INVALID);

    /* stratification needs groups */
    ck_assert_int_eq(dsi_dataset_set_labels(ds, NULL), DSN_OK);
    ck_assert_int_eq(dsi_split_indices_random(ds, 0.2, 7, 1, ti, &nt, vi, &nv), DSN_E_STATE);
    ck_assert_int_eq(dsi_dataset_split_by_labels(ds, keep, 2, &in, &out), DSN_E_STATE);
    dsi_dataset_free(ds);
    free(x); free(lab); free(ti); free(vi); free(ti2); free(vi2);
}
END_TEST

START_TEST(gather_rows)
{
    dsi_dataset *ds = grouped_dataset();
    int32_t rows[3] = {5, 0, 5};
    float x[12], mask[6];
    int32_t g[3], l[3];
    dsi_batch b = {x, g, l, mask, NULL, 3, 0};
    ck_assert_int_eq(dsi_dataset_gather(ds, rows, 3, &b), DSN_OK);
    ck_assert_uint_eq(b.n, 3);
    ck_assert_float_eq(x[0], 50.0f);
    ck_assert_float_eq(x[4], 0.0f);
    ck_assert_int_eq(g[0], ds->group_of[5]);
    ck_assert_int_eq(l[2], ds->labels[5]);
    ck_assert_float_eq(mask[1], 1.0f); /* row 5: length 2 */
    ck_assert_float_eq(mask[3], 0.0f); /* row 0: length 1 */
    ck_assert_int_eq(dsi_dataset_gather(ds, rows, 4, &b), DSN_E_SHAPE);
    rows[1] = -1;
    ck_assert_int_eq(dsi_dataset_gather(ds, rows, 3, &b), DSN_E_INVALID);
    int32_t badlen[30] = {0};
    ck_assert_int_eq(dsi_dataset_set_lengths(ds, badlen), DSN_E_INVALID);
    dsi_dataset_free(ds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("data");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, memory_validation);
    tcase_add_test(tc, grouping_sorted_dense_ids);
    tcase_add_test(tc, idx_valid);
    tcase_add_test(tc, idx_errors);
    tcase_add_test(tc, npy_round_trip);
    tcase_add_test(tc, npy_headers);
    tcase_add_test(tc, mnist_real_files);
    tcase_add_test(tc, group_sampler_batches);
    tcase_add_test(tc, epoch_iterator_covers_once);
    tcase_add_test(tc, shards);
    tcase_add_test(tc, splits_random_and_stratified);
    tcase_add_test(tc, gather_rows);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
