/* test_npy_api.c - the public .npy calls (dsn_npy_read / dsn_npy_write) that
 * the CLI uses: round trips, the shape query, and the refusals (a shape whose
 * element count overflows, too small a buffer, floats read as integers, more
 * dimensions than the caller has room for). */
#include "disent.h"
#include "support/testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

START_TEST(roundtrip_and_shape_query)
{
    float x[6] = {1.5f, -2.0f, 0.0f, 3.25f, 1e-3f, -7.0f};
    size_t shape[2] = {2, 3};
    const char *p = tu_tmp_path("a.npy");
    ck_assert_int_eq(dsn_npy_write(p, x, shape, 2, DSN_DTYPE_FLOAT32), DSN_OK);
    size_t got[4] = {0};
    int nd = -1, is_int = -1;
    ck_assert_int_eq(dsn_npy_read(NULL, 0, got, 4, &nd, &is_int, p, DSN_DTYPE_FLOAT32), DSN_OK);
    ck_assert_int_eq(nd, 2);
    ck_assert_uint_eq(got[0], 2);
    ck_assert_uint_eq(got[1], 3);
    ck_assert_int_eq(is_int, 0);
    float y[6] = {0};
    ck_assert_int_eq(dsn_npy_read(y, 6, NULL, 0, NULL, NULL, p, DSN_DTYPE_FLOAT32), DSN_OK);
    ck_assert(memcmp(x, y, sizeof x) == 0);
    /* too small a buffer: refused, outputs untouched */
    nd = -1;
    ck_assert_int_eq(dsn_npy_read(y, 5, got, 4, &nd, NULL, p, DSN_DTYPE_FLOAT32), DSN_E_INVALID);
    ck_assert_int_eq(nd, -1);
    /* more dimensions than the caller has room for */
    ck_assert_int_eq(dsn_npy_read(NULL, 0, got, 1, &nd, NULL, p, DSN_DTYPE_FLOAT32), DSN_E_SHAPE);
    /* floats are not integers */
    int32_t k[6];
    ck_assert_int_eq(dsn_npy_read(k, 6, NULL, 0, NULL, NULL, p, DSN_DTYPE_INT32), DSN_E_UNSUPPORTED);

    int32_t c[3] = {7, -1, 2147483647};
    size_t s1[1] = {3};
    const char *q = tu_tmp_path("c.npy");
    ck_assert_int_eq(dsn_npy_write(q, c, s1, 1, DSN_DTYPE_INT32), DSN_OK);
    ck_assert_int_eq(dsn_npy_read(NULL, 0, NULL, 0, NULL, &is_int, q, DSN_DTYPE_INT32), DSN_OK);
    ck_assert_int_eq(is_int, 1);
    ck_assert_int_eq(dsn_npy_read(k, 3, NULL, 0, NULL, NULL, q, DSN_DTYPE_INT32), DSN_OK);
    ck_assert(memcmp(c, k, sizeof c) == 0);
    ck_assert_int_eq(dsn_npy_read(y, 3, NULL, 0, NULL, NULL, q, DSN_DTYPE_FLOAT32), DSN_OK);
    ck_assert_float_eq(y[1], -1.0f);
}
END_TEST

/* A header whose shape multiplies past 2^64 must be refused before any
 * allocation (the CLI's own reader multiplied without a check). */
START_TEST(overflowing_shape_is_refused)
{
    const char *p = tu_tmp_path("overflow.npy");
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967297), }");
    while ((10 + n + 1) % 64) hdr[n++] = ' ';
    hdr[n++] = '\n';
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 255), (unsigned char)(n >> 8)};
    fwrite(pre, 1, 10, f);
    fwrite(hdr, 1, (size_t)n, f);
    fwrite("\0\0\0\0\0\0\0\0", 1, 8, f);
    fclose(f);
    size_t shape[4];
    int nd;
    ck_assert_int_eq(dsn_npy_read(NULL, 0, shape, 4, &nd, NULL, p, DSN_DTYPE_FLOAT32), DSN_E_FORMAT);
    float y[2];
    ck_assert_int_eq(dsn_npy_read(y, 2, shape, 4, &nd, NULL, p, DSN_DTYPE_FLOAT32), DSN_E_FORMAT);
}
END_TEST

/* A shard read from the file (dsn_dataset_from_npy_shard, and
 * dsn_dataset_from_mnist_shard for IDX files: only its rows)
 * is the shard of the whole set read first (dsn_dataset_shard): rows of an
 * ungrouped model, whole groups of a grouped one, 1 to 3 shards. */
static void put_be32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
    ck_assert_uint_eq(fwrite(b, 1, 4, f), 4);
}

static void shard_read_from(const char *mnist_dir)
{
    enum { N = 37, D = 6 };
    int32_t lab[N];
    for (int i = 0; i < N; i++) lab[i] = (int32_t)((i * 7) % 5) * 3;
    const char *xp = tu_tmp_path("sx.npy");
    char xpath[512], lpath[512];
    snprintf(xpath, sizeof xpath, "%s", xp);
    snprintf(lpath, sizeof lpath, "%s", tu_tmp_path("sy.npy"));
    size_t shape[2] = {N, D}, lshape[1] = {N};
    float xf[N * D];
    for (int i = 0; i < N * D; i++) xf[i] = (float)i * 0.25f - 3.0f;
    ck_assert_int_eq(dsn_npy_write(xpath, xf, shape, 2, DSN_DTYPE_FLOAT32), DSN_OK);
    ck_assert_int_eq(dsn_npy_write(lpath, lab, lshape, 1, DSN_DTYPE_INT32), DSN_OK);
    if (mnist_dir) { /* the same as MNIST IDX files: 37 images of 2 x 3 bytes */
        char ip[600], lp[600];
        snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte", mnist_dir);
        snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte", mnist_dir);
        FILE *f = fopen(ip, "wb");
        ck_assert_ptr_nonnull(f);
        put_be32(f, 0x803), put_be32(f, N), put_be32(f, 2), put_be32(f, 3);
        for (int i = 0; i < N * D; i++) fputc((i * 37) & 255, f);
        fclose(f);
        f = fopen(lp, "wb");
        ck_assert_ptr_nonnull(f);
        put_be32(f, 0x801), put_be32(f, N);
        for (int i = 0; i < N; i++) fputc(lab[i], f);
        fclose(f);
    }
    dsn_dataset *whole = NULL;
    if (mnist_dir) ck_assert_int_eq(dsn_dataset_from_mnist(&whole, mnist_dir, 0), DSN_OK);
    else ck_assert_int_eq(dsn_dataset_from_npy(&whole, xpath, lpath), DSN_OK);
    const char *fams[2][2] = {{"ml-vae", "input_dim=6, hidden=4, style_dim=2, content_dim=2"},
                              {"dsae", "frames=2, n_mels=3, v_dim=2, z_dim=2, hidden=4:4, dec_hidden=4, prior_hidden=3"}};
    for (int f = 0; f < 2; f++) {
        dsn_options *mo = NULL, *fo = NULL;
        ck_assert_int_eq(dsn_options_create(&mo), DSN_OK);
        ck_assert_int_eq(dsn_options_parse(mo, fams[f][1]), DSN_OK);
        ck_assert_int_eq(dsn_options_create(&fo), DSN_OK);
        ck_assert_int_eq(dsn_options_parse(fo, "batch_groups=4, group_size=2, batch_size=9"), DSN_OK);
        dsn_model *m = NULL;
        ck_assert_int_eq(dsn_model_create(&m, fams[f][0], mo), DSN_OK);
        for (int P = 1; P <= 3; P++) {
            size_t total = 0;
            for (int r = 0; r < P; r++) {
                dsn_dataset *a = NULL, *b = NULL;
                ck_assert_int_eq(dsn_dataset_shard(whole, &a, m, fo, r, P), DSN_OK);
                ck_assert_int_eq(mnist_dir ? dsn_dataset_from_mnist_shard(&b, NULL, mnist_dir, 0, m, fo, r, P, NULL)
                                           : dsn_dataset_from_npy_shard(&b, NULL, xpath, lpath, m, fo, r, P, NULL),
                                 DSN_OK);
                dsn_dataset_info ia = DSN_DATASET_INFO_INIT, ib = DSN_DATASET_INFO_INIT;
                ck_assert_int_eq(dsn_dataset_describe(a, &ia), DSN_OK);
                ck_assert_int_eq(dsn_dataset_describe(b, &ib), DSN_OK);
                ck_assert_uint_eq(ia.size, ib.size);
                ck_assert_uint_eq(ia.num_groups, ib.num_groups);
                ck_assert_uint_eq(ib.obs_size, D);
                ck_assert_uint_eq(dsn_dataset_shard_size(whole, m, fo, r, P), ib.size);
                size_t ga = 0, gb = 0;
                ck_assert_uint_eq(dsn_dataset_total(a, &ga), N);
                ck_assert_uint_eq(dsn_dataset_total(b, &gb), N);
                ck_assert_uint_eq(ga, 5);
                ck_assert_uint_eq(gb, 5);
                for (size_t i = 0; i < ib.size; i++) {
                    float va[D], vb[D];
                    int32_t la, lb;
                    ck_assert_int_eq(dsn_dataset_get(a, va, D, &la, i), DSN_OK);
                    ck_assert_int_eq(dsn_dataset_get(b, vb, D, &lb, i), DSN_OK);
                    ck_assert_int_eq(la, lb);
                    ck_assert_mem_eq(va, vb, sizeof va);
                }
                total += ib.size;
                dsn_dataset_free(a);
                dsn_dataset_free(b);
            }
            ck_assert_uint_eq(total, N); /* the shards cover the set */
        }
        dsn_dataset *b = (dsn_dataset *)1;
        ck_assert_int_eq(mnist_dir ? dsn_dataset_from_mnist_shard(&b, NULL, mnist_dir, 0, m, fo, 3, 3, NULL)
                                   : dsn_dataset_from_npy_shard(&b, NULL, xpath, lpath, m, fo, 3, 3, NULL),
                         DSN_E_INVALID);
        ck_assert_ptr_null(b);
        /* 5 groups in batches of 4 over 4 shards of 1 group: shard 0 gets 5 * 0 / 4 .. 5 * 1 / 4 = 1 group;
         * 20 shards of a batch of 20 groups: shard 0 is empty */
        dsn_options *big = NULL;
        ck_assert_int_eq(dsn_options_create(&big), DSN_OK);
        ck_assert_int_eq(dsn_options_parse(big, "batch_groups=20, batch_size=20"), DSN_OK);
        if (f == 0) ck_assert_int_eq(dsn_dataset_from_npy_shard(&b, NULL, xpath, lpath, m, big, 0, 20, NULL), DSN_E_INVALID);
        /* with a validation split first: the shards of dsn_dataset_split's training part, and its
         * validation part whole */
        dsn_dataset *tr = NULL, *va = NULL;
        ck_assert_int_eq(dsn_dataset_split(whole, &tr, &va, 0.3, 11, 1), DSN_OK);
        dsn_shard_split sp = DSN_SHARD_SPLIT_INIT;
        sp.valid_fraction = 0.3;
        sp.seed = 11;
        sp.stratified = 1;
        for (int r = 0; r < 2; r++) {
            dsn_dataset *a = NULL, *c = NULL, *cv = NULL;
            ck_assert_int_eq(dsn_dataset_shard(tr, &a, m, fo, r, 2), DSN_OK);
            ck_assert_int_eq(mnist_dir ? dsn_dataset_from_mnist_shard(&c, &cv, mnist_dir, 0, m, fo, r, 2, &sp)
                                       : dsn_dataset_from_npy_shard(&c, &cv, xpath, lpath, m, fo, r, 2, &sp),
                             DSN_OK);
            const dsn_dataset *pa[2] = {a, va}, *pc[2] = {c, cv};
            for (int t = 0; t < 2; t++) {
                dsn_dataset_info ia = DSN_DATASET_INFO_INIT, ic = DSN_DATASET_INFO_INIT;
                ck_assert_int_eq(dsn_dataset_describe(pa[t], &ia), DSN_OK);
                ck_assert_int_eq(dsn_dataset_describe(pc[t], &ic), DSN_OK);
                ck_assert_uint_eq(ia.size, ic.size);
                ck_assert_uint_gt(ic.size, 0);
                for (size_t i = 0; i < ic.size; i++) {
                    float va_[D], vc[D];
                    int32_t la, lc;
                    ck_assert_int_eq(dsn_dataset_get(pa[t], va_, D, &la, i), DSN_OK);
                    ck_assert_int_eq(dsn_dataset_get(pc[t], vc, D, &lc, i), DSN_OK);
                    ck_assert_int_eq(la, lc);
                    ck_assert_mem_eq(va_, vc, sizeof vc);
                }
            }
            size_t tg = 0;
            ck_assert_uint_eq(dsn_dataset_total(c, &tg), dsn_dataset_total(tr, NULL));
            dsn_dataset_free(a);
            dsn_dataset_free(c);
            dsn_dataset_free(cv);
        }
        dsn_dataset_free(tr);
        dsn_dataset_free(va);
        dsn_options_free(big);
        dsn_model_free(m);
        dsn_options_free(mo);
        dsn_options_free(fo);
    }
    dsn_dataset_free(whole);
    dsn_dataset *b = NULL;
    ck_assert_int_eq(dsn_dataset_from_npy_shard(&b, NULL, tu_tmp_path("none.npy"), NULL, NULL, NULL, 0, 1, NULL),
                     DSN_E_INVALID);
}

START_TEST(shard_read_from_the_file)
{
    shard_read_from(NULL);
}
END_TEST

START_TEST(shard_read_from_idx_files)
{
    shard_read_from(tu_tmpdir());
}
END_TEST

START_TEST(bad_arguments)
{
    float x[1] = {0};
    size_t s[1] = {1};
    ck_assert_int_eq(dsn_npy_read(NULL, 0, NULL, 0, NULL, NULL, NULL, DSN_DTYPE_FLOAT32), DSN_E_INVALID);
    ck_assert_int_eq(dsn_npy_read(NULL, 0, NULL, 0, NULL, NULL, "x.npy", (dsn_dtype)7), DSN_E_INVALID);
    ck_assert_int_eq(dsn_npy_write(NULL, x, s, 1, DSN_DTYPE_FLOAT32), DSN_E_INVALID);
    ck_assert_int_eq(dsn_npy_write(tu_tmp_path("b.npy"), x, s, 1, (dsn_dtype)7), DSN_E_INVALID);
    ck_assert_int_eq(dsn_npy_write(tu_tmp_path("b.npy"), NULL, s, 1, DSN_DTYPE_FLOAT32), DSN_E_INVALID);
    ck_assert_int_eq(dsn_npy_read(NULL, 0, NULL, 0, NULL, NULL, "/nonexistent/x.npy", DSN_DTYPE_FLOAT32), DSN_E_IO);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("npy_api");
    TCase *tc = tcase_create("npy_api");
    tcase_add_test(tc, roundtrip_and_shape_query);
    tcase_add_test(tc, overflowing_shape_is_refused);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, shard_read_from_the_file);
    tcase_add_test(tc, shard_read_from_idx_files);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
