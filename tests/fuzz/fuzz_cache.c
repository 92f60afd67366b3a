/* fuzz_cache.c - the readers of stored features: the feature cache of
 * dsn_dataset_from_audio (keyed on settings, clip path, size and mtime; a
 * damaged cache must be ignored, never fatal) and the audio dataset file of
 * dsn_dataset_load_audio (tools/features). The CRC at the end of either is
 * recomputed after mutation. Seeds: a valid cache for the fixed clips of
 * fuzz_common.h and a dataset file (tests/fuzz/corpus/cache). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static char clips[320];
    if (!ready) {
        if (fuzz_clips_dir(clips, sizeof clips) != 0) abort();
        ready = 1;
    }
    static const char *const magics[] = {"DSNAFC\r\n", "DSNASET\n", NULL};
    unsigned char *buf = fuzz_fix_crc(data, size, magics);
    char path[320];
    fuzz_path("features.cache", path, sizeof path);
    fuzz_write(path, buf, size);
    free(buf);
    dsn_clear_error();
    /* 1. as a feature cache: any content loads (features recomputed if unusable) */
    dsn_options *o;
    if (dsn_options_create(&o) != DSN_OK || dsn_options_parse(o, FUZZ_FEAT_OPTS) != DSN_OK ||
        dsn_options_set(o, "cache", path) != DSN_OK)
        abort();
    dsn_dataset *ds = NULL;
    dsn_status st = dsn_dataset_from_audio(&ds, clips, o);
    fuzz_check_status(st);
    dsn_dataset_free(ds);
    dsn_options_free(o);
    /* 2. as a dataset file (the load above may have rewritten the cache) */
    buf = fuzz_fix_crc(data, size, magics);
    fuzz_write(path, buf, size);
    free(buf);
    ds = NULL;
    st = dsn_dataset_load_audio(&ds, path, NULL);
    fuzz_check_status(st);
    if (st == DSN_OK) {
        size_t n = host_ds(ds).size, d = host_ds(ds).obs_size;
        if (n && d < (1u << 20)) {
            float *x = malloc((d ? d : 1) * sizeof *x);
            int32_t l;
            if (!x) abort();
            fuzz_check_status(dsn_dataset_get(ds, x, d, &l, 0));
            free(x);
        }
        dsn_dataset_free(ds);
    } else if (ds) {
        abort();
    }
    return 0;
}
