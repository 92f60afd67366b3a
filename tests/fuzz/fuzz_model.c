/* fuzz_model.c - the model file loader (dsn_model_load, dsn_optimizer_load),
 * then one encode, decode and training step on whatever loaded, so stored
 * state that is trusted on load shows up as a fault in its first use.
 * The input's last 4 bytes are replaced by the CRC-32 of the rest (when the
 * input starts with the magic), so mutations reach the section parsers
 * instead of stopping at the checksum. Seeds: tiny checkpoints of every
 * family (tests/fuzz/corpus/model). */
#include "fuzz_common.h"

static void exercise(dsn_model *m, const char *path)
{
    size_t d = host_info(m).obs_size;
    if (d == 0 || d > (1u << 16) || host_info(m).num_params > (1u << 20)) return;
    float *x = calloc(2 * d, sizeof *x), *y = calloc(2 * d, sizeof *y);
    if (!x || !y) abort();
    for (size_t i = 0; i < 2 * d; i++) x[i] = (float)((i * 37) % 11) / 10.0f;
    dsn_session *s = NULL;
    dsn_encoding *e = NULL;
    dsn_status st = dsn_session_create(&s, m, 2);
    if (st == DSN_OK) st = dsn_encoding_create(&e, m, 2);
    if (st == DSN_OK) st = dsn_encode(s, e, x, 2, NULL);
    if (st == DSN_OK) st = dsn_decode(s, y, 2 * d, e);
    fuzz_check_status(st);
    dsn_encoding_free(e);
    dsn_session_free(s);
    dsn_optimizer *opt = NULL;
    st = dsn_optimizer_load(&opt, m, path);
    fuzz_check_status(st);
    if (st != DSN_OK) st = dsn_optimizer_create(&opt, m, "adam", NULL);
    for (int k = 0; st == DSN_OK && k < 2; k++) {
        float loss;
        st = dsn_train_step(m, opt, &loss, x, 2, NULL);
        fuzz_check_status(st);
    }
    dsn_optimizer_free(opt);
    free(x);
    free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[320];
    fuzz_path("model.dsn", path, sizeof path);
    static const char *const magics[] = {"DSNMODEL", NULL};
    unsigned char *buf = fuzz_fix_crc(data, size, magics);
    fuzz_write(path, buf, size);
    free(buf);
    dsn_clear_error();
    dsn_model *m = NULL;
    dsn_status st = dsn_model_load(&m, path);
    fuzz_check_status(st);
    if (st == DSN_OK) {
        if (!m) abort();
        exercise(m, path);
        dsn_model_free(m);
    } else if (m) {
        abort(); /* a failed load must leave *out NULL */
    }
    return 0;
}
