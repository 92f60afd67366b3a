/* test_reliability.c - issue 17: regressions for the outside probe's
 * findings (a small file that builds a huge model, garbled messages, an empty
 * audio folder, masks the models cannot use, out-of-bound learning rates,
 * non-finite weights, savers sharing a temporary name), crash-safe saves
 * (faults injected at every write, fsync and rename; kill -9 of a saving
 * child; a read-only folder) and resume from a checkpoint bit-identical to an
 * uninterrupted run for every model family. */
#include "api/optimizer.h"
#include "core/alloc.h"
#include "core/options.h"
#include "io/options.h"
#include "core/endian.h"
#include "core/fileio.h"
#include "io/modelfile.h"
#include "models/model.h"
#include "support/testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- small models of every family ---- */

#define MLVAE_CFG "input_dim=12, hidden=8, style_dim=2, content_dim=3, seed=3"
#define DSAE_CFG "frames=5, n_mels=6, v_dim=3, z_dim=2, hidden=4:4, dec_hidden=5, prior_hidden=3, encoder_lstm=3, " \
                 "decoder_lstm=3, seed=4"
#define VQ_CFG "channels=1, height=8, width=8, hidden=6, res_blocks=1, res_channels=3, code_dim=4, num_codes=24," \
               "codebook_update=ema, kmeans_init=1, kmeans_iters=2, restart_dead=1, dead_after=2, restart_every=3," \
               "restart_buffer=50, prior_channels=4, prior_layers=2, prior_hidden=8, seed=21"

static dsn_model *make(const char *family, const char *text)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_msg(dsn_options_parse(o, text) == DSN_OK, "%s", dsn_last_error());
    dsn_model *m = NULL;
    dsn_status st = dsn_model_create(&m, family, o);
    ck_assert_msg(st == DSN_OK, "%s %s: %s", family, text, dsn_last_error());
    dsn_options_free(o);
    return m;
}

static dsn_optimizer *make_opt(dsn_model *m)
{
    dsn_optimizer *opt = NULL;
    ck_assert_int_eq(dsn_optimizer_create(&opt, m, "adam", NULL), DSN_OK);
    return opt;
}

/* n observations for m, deterministic, in [0, 1] (Bernoulli and Gaussian
 * likelihoods both take them) */
static float *batch(const dsn_model *m, size_t n, uint64_t seed)
{
    size_t k = n * host_info(m).obs_size;
    float *x = malloc(k * sizeof *x);
    dsi_rng r;
    dsi_rng_seed(&r, seed);
    tu_fill(&r, x, k);
    for (size_t i = 0; i < k; i++) x[i] = 0.5f + 0.5f * x[i];
    return x;
}

static int count_tmp_files(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    size_t bl = strlen(base);
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, base, bl) && !strncmp(e->d_name + bl, ".tmp.", 5)) n++;
    closedir(d);
    return n;
}

/* ---- 1. a small file describing a huge model ---- */

static size_t largest_alloc;
static void *count_alloc(void *ctx, size_t size)
{
    (void)ctx;
    if (size > largest_alloc) largest_alloc = size;
    return malloc(size);
}
static void count_free(void *ctx, void *p) { (void)ctx; free(p); }

/* A model file: META (family, options text), PARM from `donor`, crc. */
static void write_file(const char *path, const char *family, const char *opts_text, const dsn_model *donor)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    /* stored options are written raw, so bad ones reach the loader */
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", opts_text);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *eq = strchr(tok, '=');
        ck_assert_ptr_nonnull(eq);
        *eq = '\0';
        while (*tok == ' ') tok++;
        ck_assert_int_lt(o->count, 32);
        if (o->count == o->cap) {
            o->cap = 32;
            o->items = calloc(32, sizeof *o->items);
        }
        snprintf(o->items[o->count].key, sizeof o->items[o->count].key, "%s", tok);
        o->items[o->count].value = strdup(eq + 1);
        o->count++;
    }
    dsi_mfile_out f;
    dsi_mfile_out_init(&f);
    dsi_mfile_begin_section(&f, "META");
    dsi_write_str(dsi_mfile_payload(&f), family);
    dsi_options_write(dsi_mfile_payload(&f), o);
    dsi_mfile_end_section(&f);
    dsi_mfile_begin_section(&f, "PARM");
    dsi_mfile_put_params(dsi_mfile_payload(&f), &donor->params);
    dsi_mfile_end_section(&f);
    ck_assert_int_eq(dsi_mfile_save(&f, path), DSN_OK);
    dsi_mfile_out_free(&f);
    for (size_t i = 0; i < o->count; i++) free(o->items[i].value);
    free(o->items);
    o->items = NULL;
    o->count = o->cap = 0;
    dsn_options_free(o);
}

START_TEST(small_file_huge_model_refused_before_allocating)
{
    dsn_model *small = make("ml-vae", MLVAE_CFG);
    const char *path = tu_tmp_path("huge.dsn");
    /* the probe's case: options of a model with ~2^36 values over a few KB of weights */
    write_file(path, "ml-vae", "input_dim=16777216, hidden=4096:4096, style_dim=2, content_dim=3", small);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_lt(sb.st_size, 1 << 14);
    dsn_allocator a = {count_alloc, count_free, NULL};
    ck_assert_int_eq(dsn_set_allocator(&a), DSN_OK);
    largest_alloc = 0;
    dsn_model *m = (dsn_model *)1;
    dsn_status st = dsn_model_load(&m, path);
    ck_assert_int_eq(dsn_set_allocator(NULL), DSN_OK);
    ck_assert_int_eq(st, DSN_E_FORMAT);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(dsn_last_error(), "more than"), "%s", dsn_last_error());
    /* nothing much larger than the file itself was allocated */
    ck_assert_msg(largest_alloc < (size_t)1 << 20, "largest allocation %zu", largest_alloc);
    /* a PARM section whose tensors declare more values than it holds */
    write_file(path, "ml-vae", MLVAE_CFG, small);
    unsigned char *data;
    size_t len;
    ck_assert_int_eq(dsi_read_file(path, 1 << 20, &data, &len), DSN_OK);
    dsi_mfile_in f;
    ck_assert_int_eq(dsi_mfile_open(&f, path), DSN_OK);
    dsi_reader r;
    ck_assert(dsi_mfile_find(&f, "PARM", &r));
    size_t parm_at = (size_t)(r.p - f.data);
    dsi_mfile_close(&f);
    /* first tensor: u32 count, u32 name length + name, u32 nd, dims */
    uint32_t nl = dsi_get_u32(data + parm_at + 4);
    dsi_put_u32(data + parm_at + 4 + 4 + nl + 4, 1u << 30);
    dsi_put_u32(data + len - 4, dsi_crc32(0, data, len - 4));
    FILE *fp = fopen(path, "wb");
    ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
    fclose(fp);
    free(data);
    ck_assert_int_eq(dsn_model_load(&m, path), DSN_E_FORMAT);
    ck_assert_msg(strstr(dsn_last_error(), "more values than the file holds"), "%s", dsn_last_error());
    dsn_model_free(small);
}
END_TEST

/* ---- 2. messages that wrap the message of the call that failed ---- */

static int occurrences(const char *s, const char *w)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, w)); p += strlen(w)) n++;
    return n;
}

START_TEST(wrapped_error_messages_are_not_garbled)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(o, "Bad = 1"), DSN_E_OPTION);
    ck_assert_msg(strstr(dsn_last_error(), "line 1: ") && strstr(dsn_last_error(), "bad key 'Bad'"), "%s",
                  dsn_last_error());
    ck_assert_int_eq(occurrences(dsn_last_error(), "line 1"), 1);
    char v[DSI_OPT_VALUE + 8];
    memset(v, 'a', sizeof v - 1);
    v[sizeof v - 1] = '\0';
    char text[sizeof v + 16];
    snprintf(text, sizeof text, "\n\nk = %s", v);
    ck_assert_int_eq(dsn_options_parse(o, text), DSN_E_OPTION);
    ck_assert_msg(strstr(dsn_last_error(), "line 3: ") && strstr(dsn_last_error(), "longer than"), "%s",
                  dsn_last_error());
    ck_assert_int_eq(occurrences(dsn_last_error(), "dsn_options_parse"), 1);
    dsn_options_free(o);
    /* a stored option the model refuses, and a stored key that is not a key */
    dsn_model *small = make("ml-vae", MLVAE_CFG);
    const char *path = tu_tmp_path("badopt.dsn");
    write_file(path, "ml-vae", "input_dim=12, hidden=abc", small);
    dsn_model *m;
    ck_assert_int_eq(dsn_model_load(&m, path), DSN_E_FORMAT);
    ck_assert_msg(strstr(dsn_last_error(), "cannot rebuild the model: ") && strstr(dsn_last_error(), "'hidden'"), "%s",
                  dsn_last_error());
    ck_assert_int_eq(occurrences(dsn_last_error(), "cannot rebuild"), 1);
    write_file(path, "ml-vae", "Input_Dim=12", small);
    ck_assert_int_eq(dsn_model_load(&m, path), DSN_E_FORMAT);
    ck_assert_msg(strstr(dsn_last_error(), "bad stored option: ") && strstr(dsn_last_error(), "'Input_Dim'"), "%s",
                  dsn_last_error());
    ck_assert_int_eq(occurrences(dsn_last_error(), "bad stored option"), 1);
    dsn_model_free(small);
}
END_TEST

/* ---- 3. an empty audio folder ---- */

START_TEST(audio_dataset_from_empty_folder)
{
    const char *dir = tu_tmp_path("empty_audio");
    ck_assert(mkdir(dir, 0755) == 0 || errno == EEXIST);
    dsn_dataset *ds = (dsn_dataset *)1;
    ck_assert_int_eq(dsn_dataset_from_audio(&ds, dir, NULL), DSN_E_INVALID);
    ck_assert_ptr_null(ds);
    ck_assert_msg(strstr(dsn_last_error(), "no audio files"), "%s", dsn_last_error());
}
END_TEST

/* ---- 4. masks the model cannot use ---- */

START_TEST(train_step_refuses_masks_encode_refuses)
{
    dsn_model *m = make("ml-vae", MLVAE_CFG);
    dsn_optimizer *opt = make_opt(m);
    float *x = batch(m, 4, 1), mask[4 * 5] = {0};
    size_t np = m->params.n;
    float *before = malloc(np * sizeof *before);
    memcpy(before, m->params.data, np * sizeof *before);
    ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, 4, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL}), DSN_E_INVALID);
    ck_assert_msg(strstr(dsn_last_error(), "sequence model"), "%s", dsn_last_error());
    ck_assert_int_eq(dsn_optimizer_steps(opt), 0);
    ck_assert_int_eq(memcmp(before, m->params.data, np * sizeof *before), 0);
    free(x);
    free(before);
    dsn_optimizer_free(opt);
    dsn_model_free(m);

    m = make("ts-dsae", DSAE_CFG);
    opt = make_opt(m);
    x = batch(m, 4, 2);
    for (int i = 0; i < 20; i++) mask[i] = 1.0f;
    mask[7] = 2.0f;
    ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, 4, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL}), DSN_E_INVALID);
    ck_assert_msg(strstr(dsn_last_error(), "item 1, frame 2"), "%s", dsn_last_error());
    mask[7] = NAN;
    ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, 4, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL}), DSN_E_INVALID);
    ck_assert_int_eq(dsn_optimizer_steps(opt), 0);
    mask[7] = 0.0f;
    ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, 4, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL}), DSN_OK);
    ck_assert_int_eq(dsn_optimizer_steps(opt), 1);
    /* NaN data: the message names the observation */
    x[2 * 30 + 7] = NAN;
    ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, 4, NULL), DSN_E_NUMERIC);
    ck_assert_msg(strstr(dsn_last_error(), "observation 2 (element 7"), "%s", dsn_last_error());
    free(x);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
}
END_TEST

/* ---- 5. learning rates ---- */

START_TEST(set_lr_takes_the_option_bounds)
{
    dsn_model *m = make("ml-vae", MLVAE_CFG);
    dsn_optimizer *opt = make_opt(m);
    const float bad[] = {1e30f, 1001.0f, 0.0f, -1.0f, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(dsn_optimizer_set_lr(opt, bad[i]), DSN_E_INVALID);
        ck_assert_msg(strstr(dsn_last_error(), "(0, 1000]"), "%s", dsn_last_error());
    }
    ck_assert_float_eq(opt->optim.cfg.lr, 1e-3f);
    ck_assert_int_eq(dsn_optimizer_set_lr(opt, 1000.0f), DSN_OK);
    ck_assert_int_eq(dsn_optimizer_set_lr(opt, 1e-7f), DSN_OK);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
}
END_TEST

/* ---- 6. non-finite weights are neither saved nor loaded ---- */

START_TEST(non_finite_weights_refused)
{
    dsn_model *m = make("vq-vae", VQ_CFG);
    const char *path = tu_tmp_path("nonfinite.dsn");
    ck_assert_int_eq(dsn_model_save(m, NULL, path), DSN_OK);
    int pi = m->params.count / 2;
    float keep = m->params.data[m->params.list[pi].offset + 1];
    m->params.data[m->params.list[pi].offset + 1] = INFINITY;
    ck_assert_int_eq(dsn_model_save(m, NULL, path), DSN_E_NUMERIC);
    ck_assert_msg(strstr(dsn_last_error(), m->params.list[pi].name) && strstr(dsn_last_error(), "value 1 is infinite"),
                  "%s", dsn_last_error());
    /* the previous file is still there and loads */
    dsn_model *back;
    ck_assert_int_eq(dsn_model_load(&back, path), DSN_OK);
    ck_assert_float_eq(back->params.data[back->params.list[pi].offset + 1], keep);
    dsn_model_free(back);
    /* a file holding a NaN weight (as an old library wrote them) */
    m->params.data[m->params.list[pi].offset + 1] = NAN;
    write_file(path, "vq-vae", VQ_CFG, m);
    ck_assert_int_eq(dsn_model_load(&back, path), DSN_E_NUMERIC);
    ck_assert_msg(strstr(dsn_last_error(), "is NaN"), "%s", dsn_last_error());
    dsn_model_free(m);
}
END_TEST

/* ---- 7. concurrent savers of one path; stale temporary files ---- */

typedef struct saver_arg {
    dsn_model *m;
    const char *path;
    int rounds, failures;
    char msg[256];
} saver_arg;

static void *saver(void *p)
{
    saver_arg *a = p;
    for (int i = 0; i < a->rounds; i++)
        if (dsn_model_save(a->m, NULL, a->path) != DSN_OK) {
            a->failures++;
            snprintf(a->msg, sizeof a->msg, "%s", dsn_last_error());
        }
    return NULL;
}

static void *loader(void *p)
{
    saver_arg *a = p;
    for (int i = 0; i < a->rounds; i++) {
        dsn_model *m;
        if (dsn_model_load(&m, a->path) != DSN_OK) {
            a->failures++;
            snprintf(a->msg, sizeof a->msg, "%s", dsn_last_error());
        } else {
            dsn_model_free(m);
        }
    }
    return NULL;
}

START_TEST(concurrent_savers_never_share_a_temporary_file)
{
    const char *path = tu_tmp_path("shared.dsn");
    dsn_model *a = make("ml-vae", MLVAE_CFG), *b = make("ml-vae", "input_dim=12, hidden=8, style_dim=2, content_dim=3, seed=9");
    ck_assert_int_eq(dsn_model_save(a, NULL, path), DSN_OK);
    saver_arg args[4] = {{a, path, 60, 0, ""}, {b, path, 60, 0, ""}, {a, path, 60, 0, ""}, {NULL, path, 120, 0, ""}};
    pthread_t th[4];
    for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, saver, &args[i]);
    pthread_create(&th[3], NULL, loader, &args[3]);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) ck_assert_msg(args[i].failures == 0, "thread %d: %d failures: %s", i, args[i].failures, args[i].msg);
    ck_assert_int_eq(count_tmp_files(tu_tmpdir(), "shared.dsn"), 0);
    dsn_model_free(a);
    dsn_model_free(b);
}
END_TEST

static void make_stale(const char *path, int age_s)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "junk", 4), 4);
    close(fd);
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= age_s;
    t[1] = t[0];
    ck_assert_int_eq(utimensat(AT_FDCWD, path, t, 0), 0);
}

START_TEST(stale_temporary_files_are_removed)
{
    const char *path = tu_tmp_path("stale.dsn");
    dsn_model *m = make("ml-vae", MLVAE_CFG);
    char old[600], fresh[600], locked[600], other[600];
    snprintf(old, sizeof old, "%s.tmp.AbC123", path);      /* a killed save's */
    snprintf(fresh, sizeof fresh, "%s.tmp.XyZ789", path);  /* just created by a live saver */
    snprintf(locked, sizeof locked, "%s.tmp.Lck000", path); /* a live saver's, old but locked */
    snprintf(other, sizeof other, "%s.tmpx", path);         /* not ours */
    make_stale(old, 60);
    make_stale(fresh, 0);
    make_stale(locked, 60);
    make_stale(other, 60);
    int lfd = open(locked, O_RDONLY);
    ck_assert_int_eq(flock(lfd, LOCK_EX), 0);
    ck_assert_int_eq(dsn_model_save(m, NULL, path), DSN_OK);
    ck_assert_int_ne(access(old, F_OK), 0);
    ck_assert_int_eq(access(fresh, F_OK), 0);
    ck_assert_int_eq(access(locked, F_OK), 0);
    ck_assert_int_eq(access(other, F_OK), 0);
    close(lfd);
    unlink(fresh);
    unlink(locked);
    unlink(other);
    /* saved files keep the usual mode */
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0644);
    dsn_model_free(m);
}
END_TEST

/* ---- 8. faults at every I/O operation of a save ---- */

/* identical weights (bit for bit) */
static int same_params(const dsn_model *a, const dsn_model *b)
{
    return a->params.n == b->params.n && memcmp(a->params.data, b->params.data, a->params.n * sizeof(float)) == 0;
}

/* For each fault kind and each operation k of a save (counting from 1),
 * until a save completes without reaching k: the save fails with a message
 * naming the step and the errno text, the previous file still loads with the
 * previous weights (and optimizer), and no temporary file is left. */
static void faults_at_every_operation(const char *family, const char *cfg, int with_opt)
{
    const char *path = tu_tmp_path("fault.dsn");
    unlink(path);
    dsn_model *m = make(family, cfg);
    dsn_optimizer *opt = with_opt ? make_opt(m) : NULL;
    float *x = batch(m, 4, 5);
    if (opt) ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, 4, NULL), DSN_OK);
    ck_assert_int_eq(dsn_model_save(m, opt, path), DSN_OK);
    unsigned char *prev, *now;
    size_t prev_len, now_len;
    ck_assert_int_eq(dsi_read_file(path, 1 << 26, &prev, &prev_len), DSN_OK);
    /* change the weights so a completed save is visible */
    if (opt) ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, 4, NULL), DSN_OK);
    else m->params.data[0] += 1.0f;
    const struct {
        int err, short_write;
        const char *text;
    } kinds[] = {{ENOSPC, 0, "No space left"}, {EIO, 0, "Input/output error"}, {ENOSPC, 1, "No space left"},
                 {EROFS, 0, "Read-only file system"}};
    int reached_max = 0, failures = 0;
    for (size_t kd = 0; kd < sizeof kinds / sizeof kinds[0]; kd++) {
        for (int k = 1;; k++) {
            ck_assert_int_lt(k, 10000);
            dsi_io_fault f = {k, kinds[kd].err, kinds[kd].short_write, 0};
            dsi_io_fault_hook = &f;
            dsn_status st = dsn_model_save(m, opt, path);
            dsi_io_fault_hook = NULL;
            ck_assert_int_eq(count_tmp_files(tu_tmpdir(), "fault.dsn"), 0);
            ck_assert_int_eq(dsi_read_file(path, 1 << 26, &now, &now_len), DSN_OK);
            int same = now_len == prev_len && memcmp(now, prev, now_len) == 0;
            /* whatever happened, the file at path loads, with its optimizer */
            dsn_model *back;
            ck_assert_msg(dsn_model_load(&back, path) == DSN_OK, "%s", dsn_last_error());
            if (opt) {
                dsn_optimizer *bo;
                ck_assert_msg(dsn_optimizer_load(&bo, back, path) == DSN_OK, "%s", dsn_last_error());
                dsn_optimizer_free(bo);
            }
            dsn_model_free(back);
            if (f.seen < k) { /* the save ended before operation k: it completed */
                ck_assert_int_eq(st, DSN_OK);
                ck_assert(!same);
                if (f.seen > reached_max) reached_max = f.seen;
                dsi_free(now);
                ck_assert_int_eq(dsi_write_atomic(path, prev, prev_len), DSN_OK); /* the previous file again */
                break;
            }
            failures++;
            ck_assert_msg(st == DSN_E_IO, "%s fault %zu at op %d: status %d", family, kd, k, st);
            const char *msg = dsn_last_error();
            ck_assert_msg(strstr(msg, kinds[kd].text) && strstr(msg, "dsn_model_save") && strstr(msg, path),
                          "%s fault %zu at op %d: %s", family, kd, k, msg);
            ck_assert_msg(strstr(msg, "create") || strstr(msg, "write") || strstr(msg, "fsync") || strstr(msg, "rename") ||
                              strstr(msg, "clos") || strstr(msg, "sync"),
                          "the message names the step: %s", msg);
            /* before the rename the previous file is untouched; after it (close,
             * folder sync) the new one is in place and the message says so */
            int in_place = strstr(msg, "is in place") != NULL;
            ck_assert_msg(in_place ? !same : same, "%s fault %zu at op %d: %s", family, kd, k, msg);
            if (in_place) ck_assert_int_eq(dsi_write_atomic(path, prev, prev_len), DSN_OK);
            dsi_free(now);
        }
    }
    /* create, >= 1 write, fsync, rename, close, folder fsync */
    ck_assert_int_ge(reached_max, 6);
    ck_assert_int_ge(failures, 4 * 6);
    free(x);
    dsi_free(prev);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
}

START_TEST(model_save_survives_faults_everywhere)
{
    faults_at_every_operation("ml-vae", MLVAE_CFG, 0);
    faults_at_every_operation("vq-vae", VQ_CFG, 0);
}
END_TEST

START_TEST(checkpoint_save_survives_faults_everywhere)
{
    faults_at_every_operation("ml-vae", MLVAE_CFG, 1);
    faults_at_every_operation("ts-dsae", DSAE_CFG, 1);
}
END_TEST

START_TEST(read_only_folder)
{
    const char *dir = tu_tmp_path("ro");
    ck_assert(mkdir(dir, 0755) == 0 || errno == EEXIST);
    char path[600];
    snprintf(path, sizeof path, "%s/m.dsn", dir);
    dsn_model *m = make("ml-vae", MLVAE_CFG);
    ck_assert_int_eq(dsn_model_save(m, NULL, path), DSN_OK);
    float keep = m->params.data[0];
    m->params.data[0] += 1.0f;
    dsn_status st;
    if (geteuid() != 0) {
        ck_assert_int_eq(chmod(dir, 0555), 0);
        st = dsn_model_save(m, NULL, path);
        ck_assert_int_eq(chmod(dir, 0755), 0);
        ck_assert_msg(strstr(dsn_last_error(), strerror(EACCES)), "%s", dsn_last_error());
    } else {
        /* root writes anywhere: the file system's answer comes from the hook */
        dsi_io_fault f = {1, EROFS, 0, 0};
        dsi_io_fault_hook = &f;
        st = dsn_model_save(m, NULL, path);
        dsi_io_fault_hook = NULL;
        ck_assert_msg(strstr(dsn_last_error(), strerror(EROFS)), "%s", dsn_last_error());
    }
    ck_assert_int_eq(st, DSN_E_IO);
    ck_assert_msg(strstr(dsn_last_error(), "cannot create a temporary file next to") && strstr(dsn_last_error(), path),
                  "%s", dsn_last_error());
    dsn_model *back;
    ck_assert_int_eq(dsn_model_load(&back, path), DSN_OK);
    ck_assert_float_eq(back->params.data[0], keep);
    dsn_model_free(back);
    /* a folder that does not exist, and a path that is a folder */
    ck_assert_int_eq(dsn_model_save(m, NULL, "/nonexistent-dir/m.dsn"), DSN_E_IO);
    ck_assert_msg(strstr(dsn_last_error(), "No such file"), "%s", dsn_last_error());
    char slash[620];
    snprintf(slash, sizeof slash, "%s/", dir);
    ck_assert_int_eq(dsn_model_save(m, NULL, slash), DSN_E_INVALID);
    dsn_model_free(m);
}
END_TEST

/* ---- 9. kill -9 of a saving child, many times ---- */

START_TEST(kill9_during_saves_never_damages_the_file)
{
    const char *path = tu_tmp_path("kill9.dsn");
    /* big enough that a save takes a while (~1 MB), small enough to be quick */
    dsn_model *m = make("ml-vae", "input_dim=512, hidden=400, style_dim=8, content_dim=8, seed=5");
    dsn_optimizer *opt = make_opt(m);
    ck_assert_int_eq(dsn_model_save(m, opt, path), DSN_OK);
    int trials = 0, bad = 0, loads = 0, left_tmp = 0;
    dsi_rng r;
    dsi_rng_seed(&r, 99);
    for (trials = 0; trials < 200; trials++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            for (int i = 0;; i++) {
                m->params.data[0] = (float)i;
                if (dsn_model_save(m, (i & 1) ? opt : NULL, path) != DSN_OK) _exit(3);
            }
        }
        /* 0.2 .. 20 ms into the child's run of saves */
        struct timespec ts = {0, (long)(200000 + dsi_rng_u64(&r) % 20000000)};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int wst;
        ck_assert_int_eq(waitpid(pid, &wst, 0), pid);
        ck_assert_msg(WIFSIGNALED(wst), "the saving child ended by itself (status %d): a save failed", wst);
        dsn_model *back;
        if (dsn_model_load(&back, path) == DSN_OK) {
            loads++;
            dsn_model_free(back);
        } else {
            bad++;
            fprintf(stderr, "trial %d: %s\n", trials, dsn_last_error());
        }
        left_tmp += count_tmp_files(tu_tmpdir(), "kill9.dsn") > 0; /* the kill landed inside a save's I/O */
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(loads, trials);
    /* killed saves leave temporary files; a later save removes them once they are over a second old */
    int before = count_tmp_files(tu_tmpdir(), "kill9.dsn");
    if (before > 0) {
        sleep(2);
        ck_assert_int_eq(dsn_model_save(m, NULL, path), DSN_OK);
        ck_assert_int_eq(count_tmp_files(tu_tmpdir(), "kill9.dsn"), 0);
    }
    fprintf(stderr, "kill -9: %d trials, %d loadable, %d kills left a temporary file, %d removed by the next save\n",
            trials, loads, left_tmp, before);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
}
END_TEST

/* ---- 10. resume from a checkpoint is bit-identical ---- */

static double stat_of(dsn_model *m, const char *name);

/* Train `steps` on fixed batches; after `save_at` steps write a checkpoint;
 * then load it into a fresh model + optimizer and run the remaining steps:
 * weights, optimizer moments and model state equal the uninterrupted run's. */
static void resume_identical(const char *family, const char *cfg, int steps, int save_at)
{
    const char *path = tu_tmp_path("resume.dsn");
    dsn_model *a = make(family, cfg);
    dsn_optimizer *oa = make_opt(a);
    size_t n = 6;
    float *x[8];
    for (int s = 0; s < steps; s++) x[s] = batch(a, n, 100 + (uint64_t)s);
    for (int s = 0; s < steps; s++) {
        if (s == save_at) ck_assert_int_eq(dsn_model_save(a, oa, path), DSN_OK);
        ck_assert_msg(dsn_train_step(a, oa, NULL, x[s], n, NULL) == DSN_OK, "%s", dsn_last_error());
    }
    dsn_model *b;
    dsn_optimizer *ob;
    ck_assert_int_eq(dsn_model_load(&b, path), DSN_OK);
    ck_assert_int_eq(dsn_optimizer_load(&ob, b, path), DSN_OK);
    ck_assert_int_eq(dsn_optimizer_steps(ob), save_at);
    for (int s = save_at; s < steps; s++) ck_assert_int_eq(dsn_train_step(b, ob, NULL, x[s], n, NULL), DSN_OK);
    ck_assert_msg(same_params(a, b), "%s: resumed weights differ", family);
    ck_assert_int_eq(dsn_optimizer_steps(oa), dsn_optimizer_steps(ob));
    ck_assert_int_eq(memcmp(oa->optim.m, ob->optim.m, oa->optim.n * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(oa->optim.v, ob->optim.v, oa->optim.n * sizeof(float)), 0);
    /* the RNG went on identically too: the next step agrees */
    float la, lb;
    ck_assert_int_eq(dsn_train_step(a, oa, &la, x[0], n, NULL), DSN_OK);
    ck_assert_int_eq(dsn_train_step(b, ob, &lb, x[0], n, NULL), DSN_OK);
    ck_assert_int_eq(memcmp(&la, &lb, sizeof la), 0);
    ck_assert(same_params(a, b));
    if (!strcmp(family, "vq-vae")) {
        /* the last step's usage and the dead-code tracker (totals count since load) */
        ck_assert(stat_of(a, "codebook.perplexity") == stat_of(b, "codebook.perplexity"));
        ck_assert(stat_of(a, "codebook.used") == stat_of(b, "codebook.used"));
        ck_assert(stat_of(a, "codebook.dead") == stat_of(b, "codebook.dead"));
    }
    for (int s = 0; s < steps; s++) free(x[s]);
    dsn_optimizer_free(oa);
    dsn_optimizer_free(ob);
    dsn_model_free(a);
    dsn_model_free(b);
}

START_TEST(resume_bit_identical_every_family)
{
    resume_identical("ml-vae", MLVAE_CFG, 6, 3);
    resume_identical("dsae", DSAE_CFG, 6, 3);
    resume_identical("ts-dsae", DSAE_CFG, 6, 3);
    /* EMA codebook, dead-code restarts every 3 steps: saved between restarts */
    resume_identical("vq-vae", VQ_CFG, 8, 4);
    resume_identical("vq-vae", VQ_CFG, 8, 1);
}
END_TEST

/* TS-DSAE through dsn_fit: stopped after epoch 2 (its stage switch is after
 * epoch 1), resumed from the checkpoint, equal to an uninterrupted run. */
static int stop_after_epoch2(void *user, int epoch, int64_t step, int epoch_end, int n_terms, const char *const *names,
                             const float *values)
{
    (void)user, (void)step, (void)n_terms, (void)names, (void)values;
    return epoch_end && epoch >= 2;
}

START_TEST(resume_fit_ts_dsae_second_stage)
{
    const char *ck = tu_tmp_path("fit_resume.dsn");
    dsn_model *a = make("ts-dsae", DSAE_CFG ", constrained_epochs=1");
    size_t n = 24, shape[2] = {5, 6};
    float *x = batch(a, n, 7);
    dsn_dataset *ds;
    ck_assert_int_eq(dsn_dataset_from_memory(&ds, x, n, shape, 2, NULL, NULL), DSN_OK);
    dsn_options *fo;
    ck_assert_int_eq(dsn_options_create(&fo), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(fo, "epochs=4, batch_size=8, keep_best=0, seed=3"), DSN_OK);
    dsn_optimizer *oa = make_opt(a);
    ck_assert_int_eq(dsn_fit(a, oa, ds, NULL, fo, NULL, NULL), DSN_OK);
    /* interrupted run */
    dsn_model *b = make("ts-dsae", DSAE_CFG ", constrained_epochs=1");
    dsn_optimizer *ob = make_opt(b);
    ck_assert_int_eq(dsn_options_set(fo, "checkpoint", ck), DSN_OK);
    ck_assert_int_eq(dsn_fit(b, ob, ds, NULL, fo, stop_after_epoch2, NULL), DSN_OK);
    ck_assert_int_eq(host_info(b).epoch, 2);
    dsn_optimizer_free(ob);
    dsn_model_free(b);
    ck_assert_int_eq(dsn_model_load(&b, ck), DSN_OK);
    ck_assert_int_eq(dsn_optimizer_load(&ob, b, ck), DSN_OK);
    ck_assert_int_eq(dsn_fit(b, ob, ds, NULL, fo, NULL, NULL), DSN_OK);
    ck_assert_int_eq(host_info(b).epoch, 4);
    ck_assert_int_eq(host_info(a).epoch, 4);
    ck_assert_msg(same_params(a, b), "resumed TS-DSAE differs from the uninterrupted run");
    ck_assert_int_eq(dsn_optimizer_steps(oa), dsn_optimizer_steps(ob));
    dsn_options_free(fo);
    dsn_dataset_free(ds);
    free(x);
    dsn_optimizer_free(oa);
    dsn_optimizer_free(ob);
    dsn_model_free(a);
    dsn_model_free(b);
}
END_TEST

/* ---- 11. numbers that go bad ---- */

static double stat_of(dsn_model *m, const char *name)
{
    const char *names[64];
    double values[64];
    size_t n = 0;
    ck_assert_int_eq(dsn_model_stats(m, names, values, 64, &n, NULL), DSN_OK);
    for (size_t i = 0; i < n && i < 64; i++)
        if (!strcmp(names[i], name)) return values[i];
    ck_abort_msg("no figure %s", name);
    return 0;
}

/* A NaN weight makes every loss NaN: each step is skipped and counted, and
 * nothing else moves (weights bit for bit, optimizer moments and step count,
 * the codebook tracker). */
static void skipped_steps_change_nothing(const char *family, const char *cfg)
{
    dsn_model *m = make(family, cfg);
    dsn_optimizer *opt = make_opt(m);
    float *x = batch(m, 4, 8);
    ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, 4, NULL), DSN_OK);
    ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, 4, NULL), DSN_OK);
    /* every weight (one alone may vanish: relu(NaN) reads as 0) */
    for (size_t i = 0; i < m->params.n; i++) m->params.data[i] = NAN;
    size_t np = m->params.n, no = opt->optim.n;
    float *w = malloc(np * sizeof *w), *mo = malloc(no * sizeof *mo), *vo = malloc(no * sizeof *vo);
    memcpy(w, m->params.data, np * sizeof *w);
    memcpy(mo, opt->optim.m, no * sizeof *mo);
    memcpy(vo, opt->optim.v, no * sizeof *vo);
    int64_t steps = dsn_optimizer_steps(opt);
    int vq = !strcmp(family, "vq-vae");
    double cb_steps = vq ? stat_of(m, "codebook.steps") : 0, cb_restarts = vq ? stat_of(m, "codebook.restarts") : 0;
    for (int k = 1; k <= 3; k++) {
        ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, 4, NULL), DSN_E_NUMERIC);
        char want[64];
        snprintf(want, sizeof want, "step skipped (%d in a row", k);
        ck_assert_msg(strstr(dsn_last_error(), want), "%s", dsn_last_error());
    }
    ck_assert_int_eq(memcmp(w, m->params.data, np * sizeof *w), 0);
    ck_assert_int_eq(memcmp(mo, opt->optim.m, no * sizeof *mo), 0);
    ck_assert_int_eq(memcmp(vo, opt->optim.v, no * sizeof *vo), 0);
    ck_assert_int_eq(dsn_optimizer_steps(opt), steps);
    ck_assert(stat_of(m, "training.skipped_steps") == 3.0);
    if (vq) {
        ck_assert(stat_of(m, "codebook.steps") == cb_steps);
        ck_assert(stat_of(m, "codebook.restarts") == cb_restarts);
    }
    free(w);
    free(mo);
    free(vo);
    free(x);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
}

START_TEST(non_finite_steps_are_skipped_and_counted)
{
    skipped_steps_change_nothing("ml-vae", MLVAE_CFG);
    skipped_steps_change_nothing("ts-dsae", DSAE_CFG);
    skipped_steps_change_nothing("vq-vae", VQ_CFG);
}
END_TEST

static dsn_model *poison_model;
static float poison_good[1 << 16]; /* the weights before the poison */

/* turns the first weight into NaN at the given step (user = int step) */
static int poison_at(void *user, int epoch, int64_t step, int epoch_end, int n_terms, const char *const *names,
                     const float *values)
{
    (void)epoch, (void)n_terms, (void)names, (void)values;
    if (!epoch_end && step == *(int *)user) {
        dsi_params *ps = &poison_model->params;
        memcpy(poison_good, ps->data, ps->n * sizeof(float));
        for (size_t i = 0; i < ps->n; i++) ps->data[i] = NAN;
    }
    return 0;
}

START_TEST(fit_stops_after_too_many_skipped_steps)
{
    dsn_model *m = make("ml-vae", MLVAE_CFG);
    poison_model = m;
    dsn_optimizer *opt = make_opt(m);
    size_t n = 64, shape[1] = {12};
    float *x = batch(m, n, 9);
    dsn_dataset *ds;
    ck_assert_int_eq(dsn_dataset_from_memory(&ds, x, n, shape, 1, NULL, NULL), DSN_OK);
    dsn_options *fo;
    ck_assert_int_eq(dsn_options_create(&fo), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(fo, "epochs=50, batch_size=4, log_every=1, max_skipped_steps=4"), DSN_OK);
    int at = 5;
    dsn_status st = dsn_fit(m, opt, ds, NULL, fo, poison_at, &at);
    ck_assert_int_eq(st, DSN_E_NUMERIC);
    ck_assert_msg(strstr(dsn_last_error(), "max_skipped_steps = 4") && strstr(dsn_last_error(), "epoch 1"), "%s",
                  dsn_last_error());
    /* the 5 accepted steps, then 5 skipped: the fifth in a row stops */
    ck_assert_int_eq(dsn_optimizer_steps(opt), 5);
    ck_assert(stat_of(m, "training.skipped_steps") == 5.0);
    /* nothing moved after the poison: still all NaN (the good weights were saved by the callback) */
    ck_assert_int_lt(m->params.n, sizeof poison_good / sizeof poison_good[0]);
    for (size_t i = 0; i < m->params.n; i++) ck_assert(isnan(m->params.data[i]));
    memcpy(m->params.data, poison_good, m->params.n * sizeof(float));
    /* an unknown or bad option value is refused */
    ck_assert_int_eq(dsn_options_set(fo, "max_skipped_steps", "-1"), DSN_OK);
    ck_assert_int_eq(dsn_fit(m, opt, ds, NULL, fo, NULL, NULL), DSN_E_OPTION);
    dsn_options_free(fo);
    dsn_dataset_free(ds);
    free(x);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reliability");
    TCase *tc = tcase_create("probe");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, small_file_huge_model_refused_before_allocating);
    tcase_add_test(tc, wrapped_error_messages_are_not_garbled);
    tcase_add_test(tc, audio_dataset_from_empty_folder);
    tcase_add_test(tc, train_step_refuses_masks_encode_refuses);
    tcase_add_test(tc, set_lr_takes_the_option_bounds);
    tcase_add_test(tc, non_finite_weights_refused);
    tcase_add_test(tc, concurrent_savers_never_share_a_temporary_file);
    tcase_add_test(tc, stale_temporary_files_are_removed);
    TCase *tf = tcase_create("files");
    tcase_set_timeout(tf, 600);
    tcase_add_test(tf, model_save_survives_faults_everywhere);
    tcase_add_test(tf, checkpoint_save_survives_faults_everywhere);
    tcase_add_test(tf, read_only_folder);
    tcase_add_test(tf, kill9_during_saves_never_damages_the_file);
    /* training + save + load + inference of every family: what valgrind runs
     * (CK_RUN_CASE=resume, docs/reliability.md) */
    TCase *tr = tcase_create("resume");
    tcase_set_timeout(tr, 600);
    tcase_add_test(tr, resume_bit_identical_every_family);
    tcase_add_test(tr, resume_fit_ts_dsae_second_stage);
    tcase_add_test(tc, non_finite_steps_are_skipped_and_counted);
    tcase_add_test(tc, fit_stops_after_too_many_skipped_steps);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tf);
    suite_add_tcase(s, tr);
    return tu_run(s) ? 1 : 0;
}
