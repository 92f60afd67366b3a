/* fuzz_npy.c - the .npy reader through dsn_npy_read (shape, float32 and
 * int32 conversions) and dsn_dataset_from_npy: the input is the
 * observations file; when it loads, the same bytes are tried as the labels
 * file too. Seeds: small float32/int arrays of several shapes and
 * byte orders (tests/fuzz/corpus/npy). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[320];
    fuzz_path("x.npy", path, sizeof path);
    fuzz_write(path, data, size);
    dsn_clear_error();
    dsn_dataset *ds = NULL;
    dsn_status st = dsn_dataset_from_npy(&ds, path, NULL);
    fuzz_check_status(st);
    /* the host-facing reader too: shape only, then the data as float32 and int32 */
    size_t shape[8];
    int nd = 0, isint = 0;
    dsn_status rs = dsn_npy_read(NULL, 0, shape, 8, &nd, &isint, path, DSN_DTYPE_FLOAT32);
    fuzz_check_status(rs);
    if (rs == DSN_OK) {
        size_t count = 1;
        for (int i = 0; i < nd && count; i++) count = shape[i] && count > (1u << 22) / shape[i] ? 0 : count * shape[i];
        if (count) {
            float *v = malloc(count * sizeof *v);
            if (!v) abort();
            fuzz_check_status(dsn_npy_read(v, count, NULL, 0, NULL, NULL, path, DSN_DTYPE_FLOAT32));
            fuzz_check_status(dsn_npy_read(v, count, NULL, 0, NULL, NULL, path, DSN_DTYPE_INT32));
            free(v);
        }
    }
    if (st == DSN_OK) {
        size_t n = host_ds(ds).size, d = host_ds(ds).obs_size;
        if (n && d && d < (1u << 20)) {
            float *x = malloc(d * sizeof *x);
            int32_t lab;
            if (!x) abort();
            fuzz_check_status(dsn_dataset_get(ds, x, d, &lab, n - 1));
            free(x);
        }
        dsn_dataset_free(ds);
        ds = NULL;
        st = dsn_dataset_from_npy(&ds, path, path);
        fuzz_check_status(st);
        dsn_dataset_free(ds);
    } else if (ds) {
        abort();
    }
    return 0;
}
