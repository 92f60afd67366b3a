/* fuzz_csv.c - the factors CSV (audio manifest: a path column and factor
 * label columns, RFC 4180 quoting) through dsn_dataset_from_audio; the clips
 * a.wav and b.wav exist next to the manifest, so rows that name them go on
 * to the label vocabularies. The first line of the input, when it starts
 * with "#label=", picks the label column. Seeds: tests/fuzz/corpus/csv. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        fuzz_make_clips();
        ready = 1;
    }
    char path[320];
    snprintf(path, sizeof path, "%s/manifest.%ld.csv", FUZZ_AUDIO_DIR, (long)getpid());
    char label[64] = "";
    if (size > 7 && memcmp(data, "#label=", 7) == 0) {
        size_t k = 7;
        while (k < size && k - 7 < sizeof label - 1 && data[k] != '\n') {
            label[k - 7] = (char)data[k];
            k++;
        }
        label[k - 7] = '\0';
        if (k < size) k++;
        data += k;
        size -= k;
    }
    fuzz_write(path, data, size);
    dsn_clear_error();
    dsn_options *o;
    if (dsn_options_create(&o) != DSN_OK || dsn_options_parse(o, FUZZ_FEAT_OPTS) != DSN_OK) abort();
    if (label[0] && dsn_options_set(o, "label", label) != DSN_OK) {
        dsn_options_free(o);
        return 0; /* not a valid option value: nothing to test */
    }
    dsn_dataset *ds = NULL;
    dsn_status st = dsn_dataset_from_audio(&ds, path, o);
    fuzz_check_status(st);
    if (st == DSN_OK) {
        if (!ds || host_ds(ds).size == 0) abort();
        dsn_dataset_free(ds);
    } else if (ds) {
        abort();
    }
    dsn_options_free(o);
    unlink(path);
    return 0;
}
