/* test_threads.c - the thread rules of the header, exercised: one model
 * shared read-only by N threads, each with its own session and encodings,
 * gives exactly the outputs of a serial run (every family); concurrent loads
 * and saves of distinct files; one thread's error message does not leak
 * into another's. Run under ThreadSanitizer by `make tsan`. */
#include "support/testutil.h"

#include <disent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 4
#define ROUNDS 3
#define NITEMS 5

static const struct {
    const char *family, *opts;
} fams[] = {
    {"ml-vae", "input_dim=12, hidden=8, style_dim=2, content_dim=3, seed=3"},
    {"dsae", "frames=5, n_mels=6, v_dim=3, z_dim=2, hidden=4:4, dec_hidden=5, prior_hidden=3, encoder_lstm=3, "
             "decoder_lstm=3, seed=4"},
    {"ts-dsae", "frames=5, n_mels=6, v_dim=3, z_dim=2, hidden=4:4, dec_hidden=5, prior_hidden=3, encoder_lstm=3, "
                "decoder_lstm=3, seed=5"},
    {"vq-vae", "channels=1, height=8, width=8, hidden=6, res_blocks=1, res_channels=3, code_dim=4, num_codes=24, "
               "prior_channels=4, prior_layers=2, prior_hidden=8, seed=21"},
};

typedef struct job {
    const dsn_model *m;
    const float *x;          /* [NITEMS, d] input */
    float *out;              /* [ROUNDS][NITEMS * d] decoded */
    size_t d;
    int32_t groups[NITEMS];
    dsn_status st;
    char msg[256];
} job;

/* encode, swap the first part between two encodings, decode: every round */
static void run(job *j)
{
    dsn_session *s = NULL;
    dsn_encoding *a = NULL, *b = NULL;
    j->st = dsn_session_create(&s, j->m, NITEMS);
    if (j->st == DSN_OK) j->st = dsn_encoding_create(&a, j->m, NITEMS);
    if (j->st == DSN_OK) j->st = dsn_encoding_create(&b, j->m, NITEMS);
    const char *part = host_part(j->m, 0).name;
    for (int r = 0; r < ROUNDS && j->st == DSN_OK; r++) {
        j->st = dsn_encode(s, a, j->x, NITEMS, &(dsn_batch_args){sizeof(dsn_batch_args), j->groups, NULL, NULL});
        if (j->st == DSN_OK) j->st = dsn_encode(s, b, j->x + j->d, NITEMS - 1, NULL);
        if (j->st == DSN_OK && tu_ngroups(a) == tu_ngroups(b))
            j->st = dsn_swap(a, b, part);
        if (j->st == DSN_OK) j->st = dsn_decode(s, j->out + (size_t)r * NITEMS * j->d, NITEMS * j->d, a);
    }
    if (j->st != DSN_OK) snprintf(j->msg, sizeof j->msg, "%s", dsn_last_error());
    dsn_encoding_free(a);
    dsn_encoding_free(b);
    dsn_session_free(s);
}

static void *thread_main(void *p)
{
    run(p);
    return NULL;
}

START_TEST(shared_model_threads_match_serial)
{
    int f = _i;
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(o, fams[f].opts), DSN_OK);
    dsn_model *m;
    ck_assert_msg(dsn_model_create(&m, fams[f].family, o) == DSN_OK, "%s", dsn_last_error());
    dsn_options_free(o);
    size_t d = host_info(m).obs_size;
    float *x = malloc(NITEMS * d * sizeof *x);
    dsi_rng r;
    dsi_rng_seed(&r, 11);
    tu_fill(&r, x, NITEMS * d);
    for (size_t i = 0; i < NITEMS * d; i++) x[i] = 0.5f + 0.5f * x[i];
    job serial = {m, x, calloc(ROUNDS * NITEMS * d, sizeof(float)), d, {0, 0, 1, 1, 2}, DSN_OK, ""};
    run(&serial);
    ck_assert_msg(serial.st == DSN_OK, "%s", serial.msg);
    job jobs[NTHREADS];
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        jobs[t] = serial;
        jobs[t].out = calloc(ROUNDS * NITEMS * d, sizeof(float));
        ck_assert_int_eq(pthread_create(&th[t], NULL, thread_main, &jobs[t]), 0);
    }
    for (int t = 0; t < NTHREADS; t++) {
        pthread_join(th[t], NULL);
        ck_assert_msg(jobs[t].st == DSN_OK, "thread %d: %s", t, jobs[t].msg);
        ck_assert_msg(memcmp(jobs[t].out, serial.out, ROUNDS * NITEMS * d * sizeof(float)) == 0,
                      "%s: thread %d differs from the serial run", fams[f].family, t);
        free(jobs[t].out);
    }
    free(serial.out);
    free(x);
    dsn_model_free(m);
}
END_TEST

typedef struct io_job {
    int id;
    int failures;
    char msg[256];
} io_job;

/* each thread saves and loads its own file, and checks its own error text */
static void *io_thread(void *p)
{
    io_job *j = p;
    char path[512], text[128];
    snprintf(path, sizeof path, "%s/thread%d.dsn", tu_tmpdir(), j->id);
    snprintf(text, sizeof text, "input_dim=%d, hidden=6, style_dim=2, content_dim=2, seed=%d", 8 + j->id, j->id);
    dsn_options *o = NULL;
    dsn_model *m = NULL;
    if (dsn_options_create(&o) != DSN_OK || dsn_options_parse(o, text) != DSN_OK ||
        dsn_model_create(&m, "ml-vae", o) != DSN_OK) {
        j->failures++;
        snprintf(j->msg, sizeof j->msg, "%s", dsn_last_error());
    }
    dsn_options_free(o);
    for (int r = 0; m && r < 20; r++) {
        dsn_model *back = NULL;
        if (dsn_model_save(m, NULL, path) != DSN_OK || dsn_model_load(&back, path) != DSN_OK ||
            host_info(back).obs_size != (size_t)(8 + j->id)) {
            j->failures++;
            snprintf(j->msg, sizeof j->msg, "%s", dsn_last_error());
        }
        dsn_model_free(back);
        /* a failure of this thread names this thread's file */
        char missing[600];
        snprintf(missing, sizeof missing, "%s/missing%d.dsn", tu_tmpdir(), j->id);
        if (dsn_model_load(&back, missing) == DSN_OK || !strstr(dsn_last_error(), missing)) {
            j->failures++;
            snprintf(j->msg, sizeof j->msg, "wrong message: %s", dsn_last_error());
        }
    }
    dsn_model_free(m);
    return NULL;
}

START_TEST(concurrent_loads_and_saves)
{
    io_job jobs[NTHREADS];
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        jobs[t] = (io_job){t, 0, ""};
        ck_assert_int_eq(pthread_create(&th[t], NULL, io_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < NTHREADS; t++) {
        pthread_join(th[t], NULL);
        ck_assert_msg(jobs[t].failures == 0, "thread %d: %s", t, jobs[t].msg);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, shared_model_threads_match_serial, 0, (int)(sizeof fams / sizeof fams[0]));
    tcase_add_test(tc, concurrent_loads_and_saves);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
