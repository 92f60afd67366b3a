/* fuzz_idx.c - the IDX (MNIST) reader through dsn_dataset_from_idx. The
 * input holds both files: its first two bytes give where the images file
 * ends, the rest is the labels file. Seeds: tiny image/label pairs
 * (tests/fuzz/corpus/idx). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    size_t cut = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2;
    size -= 2;
    if (cut > size) cut = size;
    char img[320], lab[320];
    fuzz_path("images.idx", img, sizeof img);
    fuzz_path("labels.idx", lab, sizeof lab);
    fuzz_write(img, data, cut);
    fuzz_write(lab, data + cut, size - cut);
    dsn_clear_error();
    dsn_dataset *ds = NULL;
    dsn_status st = dsn_dataset_from_idx(&ds, img, lab);
    fuzz_check_status(st);
    if (st == DSN_OK) {
        size_t n = host_ds(ds).size, d = host_ds(ds).obs_size;
        float *x = malloc((d ? d : 1) * sizeof *x);
        int32_t l;
        if (!x) abort();
        if (n) fuzz_check_status(dsn_dataset_get(ds, x, d, &l, n - 1));
        free(x);
        dsn_dataset_free(ds);
    } else if (ds) {
        abort();
    }
    return 0;
}
