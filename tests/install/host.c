/* host.c - a host of an installed libdisent, built by tests/install/run.sh
 * through pkg-config (shared and static) and through CMake's
 * find_package(disent): it creates a model and trains one step. */
#include <disent.h>

#include <stdio.h>

int main(void)
{
    if (dsn_version_number() != DSN_VERSION_NUMBER) {
        fprintf(stderr, "header %s, library %s\n", DSN_VERSION_STRING, dsn_version_string());
        return 1;
    }
    dsn_options *o = NULL;
    dsn_model *m = NULL;
    dsn_optimizer *opt = NULL;
    float x[8 * 4], loss = 0;
    int32_t g[8];
    for (int i = 0; i < 8 * 4; i++) x[i] = (float)(i % 2);
    for (int i = 0; i < 8; i++) g[i] = i / 4;
    dsn_batch_args args = DSN_BATCH_ARGS_INIT;
    args.groups = g;
    if (dsn_options_create(&o) || dsn_options_parse(o, "input_dim=4, hidden=8, style_dim=2, content_dim=2") ||
        dsn_model_create(&m, "ml-vae", o) || dsn_optimizer_create(&opt, m, "adam", NULL) ||
        dsn_train_step(m, opt, &loss, x, 8, &args)) {
        fprintf(stderr, "host: %s\n", dsn_last_error());
        return 1;
    }
    printf("host: libdisent %s, one ml-vae step, loss %.3f\n", dsn_version_string(), (double)loss);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    dsn_options_free(o);
    return 0;
}
