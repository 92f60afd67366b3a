/* fuzz_options.c - the option parser (dsn_options_parse, dsn_options_load)
 * and the typed readers behind it: the parsed options build a model of the
 * family the first byte picks and an optimizer, with the allocator limit of
 * fuzz_common.h (so huge but valid sizes give DSN_E_NOMEM, not a crash).
 * Seeds: the options of the tests and examples (tests/fuzz/corpus/options). */
/* Valid options may describe models of any size. Building one is mostly
 * allocating and randomly initialising its weights (the default ml-vae has
 * 0.8 M values, the vq-vae 2.3 M: 30-80 ms each even without sanitizers),
 * which tests nothing of the option readers and held the harness at ~20
 * runs/s. 1 MB per allocation builds models up to ~250 k values (the small
 * ones of the seeds, the dsae families' defaults) and sends bigger ones down
 * the DSN_E_NOMEM path after every option was read and checked. */
#define FUZZ_ALLOC_LIMIT ((size_t)1 << 20)
#include "fuzz_common.h"

static const char *const families[] = {"ml-vae", "dsae", "ts-dsae", "vq-vae"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    (void)fuzz_dir(); /* installs the allocator limit before the first model */
    const char *family = families[data[0] & 3];
    int via_file = data[0] & 4, optimizer = data[0] & 8, sgd = data[0] & 16;
    data++;
    size--;
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = '\0';
    dsn_clear_error();
    dsn_options *o = NULL;
    if (dsn_options_create(&o) != DSN_OK) abort();
    dsn_status st;
    if (via_file) {
        char path[320];
        fuzz_path("opts.conf", path, sizeof path);
        fuzz_write(path, data, size);
        st = dsn_options_load(o, path);
    } else {
        st = dsn_options_parse(o, text);
    }
    fuzz_check_status(st);
    if (st != DSN_OK && dsn_options_count(o) != 0) abort(); /* a failed parse adds nothing */
    for (size_t i = 0; i < dsn_options_count(o); i++) {
        const char *k = dsn_options_key(o, i);
        if (!k || !dsn_options_get(o, k)) abort();
    }
    if (st == DSN_OK) {
        if (optimizer) {
            dsn_model *m = NULL;
            dsn_options *mo = NULL;
            if (dsn_options_create(&mo) != DSN_OK || dsn_options_parse(mo, "input_dim=16, hidden=8") != DSN_OK ||
                dsn_model_create(&m, "ml-vae", mo) != DSN_OK)
                abort();
            dsn_options_free(mo);
            dsn_optimizer *opt = NULL;
            st = dsn_optimizer_create(&opt, m, sgd ? "sgd" : "adam", o);
            fuzz_check_status(st);
            dsn_optimizer_free(opt);
            dsn_model_free(m);
        } else {
            dsn_model *m = NULL;
            st = dsn_model_create(&m, family, o);
            fuzz_check_status(st);
            dsn_model_free(m);
        }
    }
    dsn_options_free(o);
    free(text);
    return 0;
}
