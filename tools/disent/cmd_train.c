/* cmd_train.c - `disent train`: options file and flags -> model, optimizer and
 * dsn_fit, with a progress bar, Ctrl-C checkpointing and --resume. */
#include "cli.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char train_help[] =
    "usage: disent train [CONFIG] --out MODEL [--model FAMILY] [--set KEY=VALUE]... DATA\n"
    "                    [--resume CHECKPOINT] [--checkpoint FILE] [--log DIR] [--quiet]\n"
    "\n"
    "Trains a model and writes it to MODEL (weights and options, no optimizer state).\n"
    "CONFIG is a `key = value` file (one per line, '#' comments); --set flags override it.\n"
    "Keys are routed by name; a prefix forces the destination:\n"
    "  model = FAMILY          the model family (or --model), e.g. ml-vae\n"
    "  optimizer = KIND        adam (default), adamw or sgd\n"
    "  valid = FRACTION        hold out this fraction for validation (0 = none, default)\n"
    "  fit keys (fit.*):       epochs, steps_per_epoch, batch_groups, group_size, batch_size,\n"
    "                          patience, keep_best, checkpoint_every, log_every, fit.seed\n"
    "  optimizer keys (optim.*): lr, beta1, beta2, eps, weight_decay, momentum, nesterov,\n"
    "                          amsgrad, clip_norm, schedule, step_size, gamma, warmup,\n"
    "                          total_steps, min_ratio\n"
    "  audio keys (audio.*):   settings of --audio, e.g. audio.frames = 128, audio.bad_clips =\n"
    "                          skip; the model file keeps the front end (other commands need\n"
    "                          no audio flags) and takes frames and n_mels from the data\n"
    "  anything else (model.*): an option of the model family, e.g. style_dim = 10, seed = 1\n"
    "log_every is the step interval of the plain progress lines (default 100) when stderr\n"
    "is not a terminal (plus one line per epoch, never dropped); on a terminal a progress\n"
    "bar shows the ETA and the loss terms.\n"
    "--log DIR writes DIR/train.jsonl (every step's loss terms, learning rate, stage and\n"
    "time; every epoch's validation) and its CSV twin DIR/train.csv (fit key log); a\n"
    "--resume or train-prior appends to them. Draw them with: disent plot DIR/train.jsonl\n"
    "\n"
    "Checkpoints: the model with its optimizer state is saved to FILE (default MODEL.ckpt)\n"
    "every checkpoint_every epochs and at the end. Ctrl-C stops after the current step,\n"
    "saves the checkpoint (atomically) and exits with status 130; the interrupted epoch\n"
    "counts as done. --resume CHECKPOINT continues from it: model, optimizer and their\n"
    "options come from the file (model and optimizer keys are ignored, except lr);\n"
    "fit keys apply (set epochs to the new total). Resuming from an epoch boundary gives\n"
    "the same weights as an uninterrupted run.\n"
    "\n"
    "Example:\n"
    "  disent train --model ml-vae --mnist data/mnist --set epochs=20 --set steps_per_epoch=200 \\\n"
    "      --set batch_groups=10 --set group_size=25 --set hidden=500 --out mnist.dsn\n"
    "\n";

/* ---- option routing ---------------------------------------------------------------- */
static const char *const fit_keys[] = {"epochs", "steps_per_epoch", "batch_groups", "group_size", "batch_size",
                                       "patience", "keep_best", "checkpoint_every", "log_every", "log",
                                       "log_append", "data_shards", NULL};
static const char *const optim_keys[] = {"lr", "beta1", "beta2", "eps", "weight_decay", "momentum", "nesterov",
                                         "amsgrad", "clip_norm", "schedule", "step_size", "gamma", "warmup",
                                         "total_steps", "min_ratio", NULL};

static int in_list(const char *const *list, const char *k)
{
    for (; *list; list++)
        if (!strcmp(*list, k)) return 1;
    return 0;
}

typedef struct train_cfg {
    dsn_options *model, *optim, *fit, *audio;
    char family[64], kind[16];
    double valid;
    int64_t log_every;
    int checkpoint_every, epochs;
    int64_t steps_per_epoch;
    int batch_groups, group_size, batch_size;
} train_cfg;

static int route(train_cfg *c, const dsn_options *raw)
{
    for (size_t i = 0; i < dsn_options_count(raw); i++) {
        const char *key = dsn_options_key(raw, i), *val = dsn_options_get(raw, key);
        dsn_options *dst = NULL;
        const char *k = key;
        if (!strncmp(key, "model.", 6)) dst = c->model, k = key + 6;
        else if (!strncmp(key, "optim.", 6)) dst = c->optim, k = key + 6;
        else if (!strncmp(key, "fit.", 4)) dst = c->fit, k = key + 4;
        else if (!strncmp(key, "audio.", 6)) dst = c->audio, k = key + 6;
        else if (!strcmp(key, "model")) {
            snprintf(c->family, sizeof c->family, "%s", val);
            continue;
        } else if (!strcmp(key, "optimizer")) {
            snprintf(c->kind, sizeof c->kind, "%s", val);
            continue;
        } else if (!strcmp(key, "valid")) {
            char *end;
            c->valid = strtod(val, &end);
            if (*end || !(c->valid >= 0 && c->valid < 1))
                return cli_usage_error("train", "valid = '%s': a fraction in [0, 1) expected", val);
            continue;
        } else if (in_list(fit_keys, key)) dst = c->fit;
        else if (in_list(optim_keys, key)) dst = c->optim;
        else dst = c->model;
        if (dst == c->fit && !strcmp(k, "log_every")) { /* the CLI's print interval, see cb_progress */
            c->log_every = atoll(val);
            if (c->log_every < 1) return cli_usage_error("train", "log_every = '%s': a positive integer expected", val);
            continue;
        }
        if (dst == c->fit && !strcmp(k, "checkpoint"))
            return cli_usage_error("train", "give the checkpoint path with --checkpoint FILE");
        dsn_status st = dsn_options_set(dst, k, val);
        if (st != DSN_OK) return cli_fail("setting options", st);
        if (dst == c->fit) { /* values the progress display needs */
            if (!strcmp(k, "epochs")) c->epochs = atoi(val);
            if (!strcmp(k, "checkpoint_every")) c->checkpoint_every = atoi(val);
            if (!strcmp(k, "steps_per_epoch")) c->steps_per_epoch = atoll(val);
            if (!strcmp(k, "batch_groups")) c->batch_groups = atoi(val);
            if (!strcmp(k, "group_size")) c->group_size = atoi(val);
            if (!strcmp(k, "batch_size")) c->batch_size = atoi(val);
        }
    }
    return 0;
}

/* --set KEY=VALUE: split at the first '=', trim blanks around key and value */
static int set_flag(dsn_options *raw, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq) return cli_usage_error("train", "--set '%s': KEY=VALUE expected", arg);
    char key[128], val[1024];
    const char *a = arg, *b = eq;
    while (*a == ' ') a++;
    while (b > a && b[-1] == ' ') b--;
    if ((size_t)(b - a) >= sizeof key || b == a) return cli_usage_error("train", "--set '%s': bad key", arg);
    memcpy(key, a, (size_t)(b - a));
    key[b - a] = 0;
    a = eq + 1;
    while (*a == ' ') a++;
    snprintf(val, sizeof val, "%s", a);
    for (size_t n = strlen(val); n && val[n - 1] == ' ';) val[--n] = 0;
    dsn_status st = dsn_options_set(raw, key, val);
    if (st != DSN_OK) return cli_fail("--set", st);
    return 0;
}

/* ---- Ctrl-C ------------------------------------------------------------------------ */
static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* ---- progress ---------------------------------------------------------------------- */
typedef struct progress {
    int tty, quiet, epochs, checkpoint_every;
    int64_t log_every, steps_per_epoch, first_step, epoch_first_step, last_step;
    int first_epoch, est_exact;
    double t0, t_epoch, t_draw, t_line;
    float bits_per_code; /* the last step's "bits_per_code" term (VQ-VAE prior), NaN if none */
} progress;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_time(char *buf, size_t cap, double s)
{
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, cap, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

static void terms(FILE *f, int n, const char *const *names, const float *values)
{
    for (int i = 0; i < n; i++) fprintf(f, " %s %.4g", names[i], values[i]);
}

static int cb_progress(void *user, int epoch, int64_t step, int epoch_end, int n, const char *const *names,
                       const float *values)
{
    progress *p = user;
    double t = now();
    if (p->first_step < 0) { /* first call: where this run started */
        p->first_step = step - 1;
        p->epoch_first_step = step - 1;
        p->first_epoch = epoch;
        p->t0 = p->t_epoch = t;
    }
    p->last_step = step;
    if (epoch_end) {
        if (!p->est_exact && step > p->epoch_first_step) {
            p->steps_per_epoch = step - p->epoch_first_step; /* measured */
            p->est_exact = 1;
        }
        /* one line per epoch (on a terminal at most one a second when epochs
         * are short; in a log file every one) */
        if (!p->quiet && (!p->tty || t - p->t_line >= 1.0 || epoch >= p->epochs || epoch == p->first_epoch + 1 ||
                          interrupted)) {
            p->t_line = t;
            if (p->tty) fprintf(stderr, "\r\033[K");
            fprintf(stderr, "epoch %d/%d done (step %lld, %.1f s):", epoch, p->epochs, (long long)step,
                    t - p->t_epoch);
            terms(stderr, n, names, values);
            fputc('\n', stderr);
            fflush(stderr);
        }
        p->epoch_first_step = step;
        p->t_epoch = t;
        return interrupted;
    }
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], "bits_per_code")) p->bits_per_code = values[i];
    if (interrupted) return 1;
    if (p->quiet) return 0;
    int64_t done = step - p->first_step;
    int64_t in_epoch = step - p->epoch_first_step;
    int64_t total = (int64_t)(p->epochs - p->first_epoch) * p->steps_per_epoch;
    int64_t remaining = (int64_t)(p->epochs - epoch - 1) * p->steps_per_epoch + (p->steps_per_epoch - in_epoch);
    if (remaining < 0) remaining = 0;
    double rate = (t - p->t0) / (double)(done > 0 ? done : 1);
    char eta[32], el[32];
    fmt_time(eta, sizeof eta, rate * (double)remaining);
    fmt_time(el, sizeof el, t - p->t0);
    if (p->tty) {
        if (t - p->t_draw < 0.1 && in_epoch != p->steps_per_epoch) return 0;
        p->t_draw = t;
        double frac = total > 0 ? (double)(total - remaining) / (double)total : 0;
        if (frac > 1) frac = 1;
        char bar[26];
        int fill = (int)(frac * 24);
        for (int i = 0; i < 24; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
        bar[24] = 0;
        fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %3d%% %s<%s", epoch + 1, p->epochs, bar, (int)(frac * 100), el,
                eta);
        terms(stderr, n, names, values);
        fflush(stderr);
    } else if (step % p->log_every == 0) {
        fprintf(stderr, "epoch %d/%d step %lld/%lld elapsed %s eta %s:", epoch + 1, p->epochs,
                (long long)in_epoch, (long long)p->steps_per_epoch, el, eta);
        terms(stderr, n, names, values);
        fputc('\n', stderr);
        fflush(stderr);
    }
    return 0;
}

/* ---- the subcommands ------------------------------------------------------------------- */
/* does the family read option key? */
static int family_reads(const char *family, const char *key)
{
    size_t n = 0;
    if (dsn_option_count(&n, family) != DSN_OK) return 0;
    for (size_t i = 0; i < n; i++) {
        dsn_option_info in = DSN_OPTION_INFO_INIT;
        if (dsn_option_describe(&in, family, i) == DSN_OK && !strcmp(in.key, key)) return 1;
    }
    return 0;
}

/* Sequence models on an audio set: frames and n_mels come from the data
 * (given once, as audio.frames / audio.n_mels) unless the model options set them. */
static int shape_from_audio(train_cfg *c, const dsn_dataset *ds)
{
    size_t dims[3] = {0};
    if (!dsn_dataset_audio(ds) || host_ds_shape(ds, dims, 3) != 2) return 0;
    const char *keys[2] = {"frames", "n_mels"};
    for (int k = 0; k < 2; k++) {
        if (dsn_options_get(c->model, keys[k]) || !family_reads(c->family, keys[k])) continue;
        char buf[32];
        snprintf(buf, sizeof buf, "%zu", dims[k]);
        dsn_status st = dsn_options_set(c->model, keys[k], buf);
        if (st != DSN_OK) return cli_fail("model options", st);
    }
    return 0;
}

/* Under mpirun with --npy or --mnist (no --classes, no valid split): each
 * process reads only its shard's rows from the file, which it knows once the
 * model is made (the shard follows the batches); until then a one-row
 * stand-in of zeros with the file's observation shape takes the data's place. */
static int shard_stand_in(const cli_data *d, const char *cmd, dsn_dataset **out)
{
    int sources = !!d->mnist + !!d->npy + !!d->audio + !!d->features;
    if (sources != 1 || d->audio_files) return cli_usage_error(cmd, "give only one data source");
    if (d->labels && !d->npy) return cli_usage_error(cmd, "--labels goes with --npy");
    size_t shape[8] = {0}, obs[3] = {1, 1, 1}, size = 1;
    int nd = 0;
    char what[1200];
    dsn_status st = DSN_OK;
    if (d->npy) {
        snprintf(what, sizeof what, "reading '%s'", d->npy);
        st = dsn_npy_read(NULL, 0, shape, 8, &nd, NULL, d->npy, DSN_DTYPE_FLOAT32);
    } else { /* the IDX header: magic, count, rows, columns (big-endian) */
        snprintf(what, sizeof what, "reading MNIST from '%s'", d->mnist);
        char path[1100];
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", d->mnist, d->mnist_test ? "t10k" : "train");
        unsigned char h[16];
        FILE *f = fopen(path, "rb");
        size_t got = f ? fread(h, 1, sizeof h, f) : 0;
        if (f) fclose(f);
        if (got != sizeof h || h[0] || h[1] || h[2] != 8 || h[3] != 3) {
            fprintf(stderr, "disent: %s: '%s' is not an IDX images file\n", what, path);
            return 1;
        }
        for (int k = 0; k < 3; k++)
            shape[k] = (size_t)h[4 + 4 * k] << 24 | (size_t)h[5 + 4 * k] << 16 | (size_t)h[6 + 4 * k] << 8 | h[7 + 4 * k];
        shape[1] *= shape[2];
        nd = 2;
    }
    if (st == DSN_OK && (nd < 1 || nd > 4 || shape[0] == 0)) {
        fprintf(stderr, "disent: %s: an array [N, ...] of 1 to 3 dimensions per observation expected\n", what);
        return 1;
    }
    if (st != DSN_OK) return cli_fail(what, st);
    for (int i = 1; i < nd; i++) obs[i - 1] = shape[i], size *= shape[i];
    float *zero = calloc(size, sizeof *zero);
    if (!zero) return cli_fail(what, DSN_E_NOMEM);
    st = dsn_dataset_from_memory(out, zero, 1, obs, nd > 1 ? nd - 1 : 1, NULL, NULL);
    free(zero);
    return st == DSN_OK ? 0 : cli_fail(what, st);
}

int cmd_train(int argc, char **argv) { return cli_train_main(argc, argv, 0); }

int cli_train_main(int argc, char **argv, int prior)
{
    const char *config = NULL, *out = NULL, *resume = NULL, *ckpt = NULL, *model_flag = NULL, *v;
    const char *cmd = prior ? "train-prior" : "train", *model_path = NULL, *epochs_flag = NULL, *lr_flag = NULL;
    const char *log_dir = NULL;
    int quiet = 0, rc = 0, r, epoch0 = 0;
    cli_data data = {0};
    train_cfg c = {0};
    dsn_options *raw = NULL;
    dsn_dataset *ds = NULL, *tr = NULL, *va = NULL, *sh = NULL;
    dsn_model *m = NULL;
    dsn_optimizer *opt = NULL;
    dsn_status st;
    char ckpt_buf[1100];

    if (!prior && cli_help(argc, argv, train_help, cli_data_help, (const char *)NULL)) return 0;
    if ((st = dsn_options_create(&raw)) != DSN_OK || (st = dsn_options_create(&c.model)) != DSN_OK ||
        (st = dsn_options_create(&c.optim)) != DSN_OK || (st = dsn_options_create(&c.fit)) != DSN_OK ||
        (st = dsn_options_create(&c.audio)) != DSN_OK) {
        rc = cli_fail("options", st);
        goto done;
    }
    /* one pass over the flags; --set values are applied after the config file,
     * so that they override it whatever their order */
    const char **sets = calloc((size_t)argc, sizeof *sets);
    size_t n_sets = 0;
    if (!sets) {
        rc = cli_fail("arguments", DSN_E_NOMEM);
        goto done;
    }
    for (int i = 1; i < argc && !rc; i++) {
        if (argv[i][0] != '-') {
            const char **pos = prior ? &model_path : &config;
            if (*pos) rc = cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
            *pos = argv[i];
        } else if ((r = cli_flag_value(cmd, argc, argv, &i, "--config", &v)) != 0) {
            if (r < 0 || config) rc = r < 0 ? 2 : cli_usage_error(cmd, "more than one config file");
            config = v;
        } else if ((r = cli_flag_value(cmd, argc, argv, &i, "--epochs", &epochs_flag)) != 0) {
            if (r < 0) rc = 2;
        } else if ((r = cli_flag_value(cmd, argc, argv, &i, "--lr", &lr_flag)) != 0) {
            if (r < 0) rc = 2;
        } else if ((r = cli_flag_value(cmd, argc, argv, &i, "--set", &v)) != 0) {
            if (r < 0) rc = 2;
            sets[n_sets++] = v;
        } else if ((r = cli_flag_value(cmd, argc, argv, &i, "--model", &v)) != 0) {
            if (r < 0) rc = 2;
            model_flag = v;
        } else if ((r = cli_flag_value(cmd, argc, argv, &i, "--out", &out)) != 0) {
            if (r < 0) rc = 2;
        } else if ((r = cli_flag_value(cmd, argc, argv, &i, "--resume", &resume)) != 0) {
            if (r < 0) rc = 2;
        } else if ((r = cli_flag_value(cmd, argc, argv, &i, "--checkpoint", &ckpt)) != 0) {
            if (r < 0) rc = 2;
        } else if ((r = cli_flag_value(cmd, argc, argv, &i, "--log", &log_dir)) != 0) {
            if (r < 0) rc = 2;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = 1;
        } else if ((r = cli_data_arg(&data, cmd, argc, argv, &i)) != 0) {
            if (r < 0) rc = 2;
        } else {
            rc = cli_usage_error(cmd, "unknown flag '%s'", argv[i]);
        }
    }
    if (!rc && config && (st = dsn_options_load(raw, config)) != DSN_OK) {
        char what[600];
        snprintf(what, sizeof what, "reading options file '%s'", config);
        rc = cli_fail(what, st);
    }
    if (!rc && model_flag && (st = dsn_options_set(raw, "model", model_flag)) != DSN_OK) rc = cli_fail("--model", st);
    for (size_t k = 0; k < n_sets && !rc; k++) rc = set_flag(raw, sets[k]);
    free(sets);
    if (!rc && epochs_flag && (st = dsn_options_set(raw, "epochs", epochs_flag)) != DSN_OK) rc = cli_fail("--epochs", st);
    if (!rc && lr_flag && (st = dsn_options_set(raw, "lr", lr_flag)) != DSN_OK) rc = cli_fail("--lr", st);
    if (rc) goto done;
    if (prior && !model_path && !resume) {
        rc = cli_usage_error(cmd, "give the trained VQ-VAE model file (or --resume CHECKPOINT)");
        goto done;
    }
    if (prior && model_path && resume) {
        rc = cli_usage_error(cmd, "give either MODEL or --resume CHECKPOINT");
        goto done;
    }
    if (!out && prior && model_path) out = model_path; /* rewritten in place */
    if (!out) {
        rc = cli_usage_error(cmd, "give the output model file with --out FILE");
        goto done;
    }
    c.epochs = 10;
    c.checkpoint_every = 1;
    c.log_every = 100;
    c.batch_groups = 0; /* unset: dsn_fit's default, min(16, groups) */
    c.group_size = 16;
    c.batch_size = 256;
    snprintf(c.kind, sizeof c.kind, "adam");
    if ((rc = route(&c, raw)) != 0) goto done;
    if (prior && c.family[0]) {
        rc = cli_usage_error(cmd, "the model family comes from the model file");
        goto done;
    }
    if (!prior && !resume && !c.family[0]) {
        rc = cli_usage_error("train", "no model family: give --model NAME or `model = NAME` in the options file");
        goto done;
    }
    if (!ckpt) {
        snprintf(ckpt_buf, sizeof ckpt_buf, "%s.ckpt", out);
        ckpt = ckpt_buf;
    }

    const int file_shard = cli_mpi_size() > 1 && (data.npy || data.mnist) && !data.classes;
    if ((rc = file_shard ? shard_stand_in(&data, cmd, &ds) : cli_data_load(&data, cmd, c.audio, &ds)) != 0) goto done;
    if (!resume && !prior && (rc = shape_from_audio(&c, ds)) != 0) goto done;
    const char *seed_text = dsn_options_get(c.fit, "seed");
    const uint64_t split_seed = seed_text ? strtoull(seed_text, NULL, 10) : 1;
    if (c.valid > 0 && !file_shard) { /* (file_shard: split by the shard loader below) */
        if ((st = dsn_dataset_split(ds, &tr, &va, c.valid, split_seed, host_ds(ds).num_groups > 0)) != DSN_OK) {
            rc = cli_fail("splitting off the validation set", st);
            goto done;
        }
    }

    if (resume) {
        char what[1200];
        snprintf(what, sizeof what, "loading checkpoint '%s'", resume);
        if ((st = dsn_model_load(&m, resume)) != DSN_OK || (st = dsn_optimizer_load(&opt, m, resume)) != DSN_OK) {
            rc = cli_fail(what, st);
            goto done;
        }
        if (c.family[0] && strcmp(c.family, host_info(m).family) != 0) {
            rc = cli_usage_error("train", "model = %s, but the checkpoint holds a %s model", c.family,
                                 host_info(m).family);
            goto done;
        }
        if (prior && (!host_info(m).stage || strcmp(host_info(m).stage, "prior") != 0)) {
            rc = cli_usage_error(cmd, "'%s' is not a checkpoint of the prior stage (resume it with disent train)",
                                 resume);
            goto done;
        }
        for (size_t i = 0; i < dsn_options_count(c.model); i++)
            cli_note("--resume: model option '%s' ignored (the checkpoint's options apply)", dsn_options_key(c.model, i));
        for (size_t i = 0; i < dsn_options_count(c.optim); i++) {
            const char *k = dsn_options_key(c.optim, i);
            if (!strcmp(k, "lr")) {
                char *end;
                double lr = strtod(dsn_options_get(c.optim, k), &end);
                if (*end || (st = dsn_optimizer_set_lr(opt, (float)lr)) != DSN_OK) {
                    rc = *end ? cli_usage_error("train", "lr = '%s': a number expected", dsn_options_get(c.optim, k))
                              : cli_fail("setting lr", st);
                    goto done;
                }
            } else {
                cli_note("--resume: optimizer option '%s' ignored (the checkpoint's state applies)", k);
            }
        }
    } else if (prior) {
        char what[1200];
        if ((rc = cli_model_load(&m, model_path)) != 0) goto done;
        if (!host_info(m).stage) {
            fprintf(stderr, "disent: train-prior: the %s model has no prior stage (vq-vae has)\n", host_info(m).family);
            rc = 1;
            goto done;
        }
        for (size_t i = 0; i < dsn_options_count(c.model); i++)
            cli_note("train-prior: model option '%s' ignored (the model file's options apply)", dsn_options_key(c.model, i));
        if ((st = dsn_model_set_stage(m, "prior")) != DSN_OK) {
            rc = cli_fail("switching to the prior stage", st);
            goto done;
        }
        snprintf(what, sizeof what, "creating the %.16s optimizer", c.kind);
        if ((st = dsn_optimizer_create(&opt, m, c.kind, c.optim)) != DSN_OK) {
            rc = cli_fail(what, st);
            goto done;
        }
    } else {
        char what[200];
        /* pictures, for a family that reads an image shape: its convolutional encoder with
         * the model's image defaults, unless the options choose the network (image, encoder
         * or input_dim) */
        if (family_reads(c.family, "image") && !dsn_options_get(c.model, "image") &&
            !dsn_options_get(c.model, "encoder") && !dsn_options_get(c.model, "input_dim")) {
            dsn_dataset_info di = host_ds(ds);
            size_t C = 1, H = 0, W = 0;
            if (di.obs_ndim == 2) H = di.obs_shape[0], W = di.obs_shape[1];
            else if (di.obs_ndim == 3 && di.obs_shape[0] <= 4) C = di.obs_shape[0], H = di.obs_shape[1], W = di.obs_shape[2];
            else if (data.mnist && di.obs_size == 784) H = W = 28;
            if (H >= 4 && W >= 4 && H % 4 == 0 && W % 4 == 0) {
                char hw[64];
                if (C > 1) snprintf(hw, sizeof hw, "%zux%zux%zu", C, H, W);
                else snprintf(hw, sizeof hw, "%zux%zu", H, W);
                if ((st = dsn_options_set(c.model, "image", hw)) != DSN_OK) {
                    rc = cli_fail("setting the image shape", st);
                    goto done;
                }
                cli_note("%s: %s pictures, so image = %s: the convolutional encoder and the image defaults "
                         "(encoder = mlp for the fully connected one)", c.family, hw, hw);
            }
        }
        snprintf(what, sizeof what, "creating a %.64s model", c.family);
        if ((st = dsn_model_create(&m, c.family, c.model)) != DSN_OK) {
            rc = cli_fail(what, st);
            goto done;
        }
        snprintf(what, sizeof what, "creating the %.16s optimizer", c.kind);
        if ((st = dsn_optimizer_create(&opt, m, c.kind, c.optim)) != DSN_OK) {
            rc = cli_fail(what, st);
            goto done;
        }
    }

    if (prior) { /* --epochs N: N more epochs from the model's counter (dsn_fit continues from it) */
        char buf[32];
        epoch0 = host_info(m).epoch;
        if (c.epochs < 1 || c.epochs > (1 << 30) - epoch0) {
            rc = cli_usage_error(cmd, "--epochs: a positive count expected");
            goto done;
        }
        c.epochs += epoch0;
        snprintf(buf, sizeof buf, "%d", c.epochs);
        if ((st = dsn_options_set(c.fit, "epochs", buf)) != DSN_OK) {
            rc = cli_fail("options", st);
            goto done;
        }
    }
    { /* the family's fit defaults (dsn_fit reads them too) for the display, unless set */
        dsn_options *fd = NULL;
        if (dsn_options_create(&fd) == DSN_OK && dsn_options_parse(fd, dsn_fit_defaults(m)) == DSN_OK) {
            const char *fv;
            if (!dsn_options_get(c.fit, "epochs") && (fv = dsn_options_get(fd, "epochs"))) c.epochs = atoi(fv);
            if (!dsn_options_get(c.fit, "steps_per_epoch") && (fv = dsn_options_get(fd, "steps_per_epoch")))
                c.steps_per_epoch = atoll(fv);
            if (!dsn_options_get(c.fit, "batch_size") && (fv = dsn_options_get(fd, "batch_size"))) c.batch_size = atoi(fv);
        }
        dsn_options_free(fd);
    }
    const dsn_dataset *train_set = tr ? tr : ds;
    /* under mpirun: every process trains, process 0 alone prints and writes */
    const int rank = cli_mpi_rank(), nproc = cli_mpi_size(), root = rank == 0;
    if (!root) quiet = 1;
    /* ... each on its own shard of the training set: only that stays in
     * memory (--npy, --mnist: only its rows are read from the file; when the shard
     * cannot be made - too small for its part of the batch - the whole set
     * goes to dsn_fit_mpi, which fails on every process with the reason) */
    size_t whole_rows = host_ds(train_set).size, whole_groups = host_ds(train_set).num_groups, shard_rows[16] = {0};
    if (nproc > 1 && file_shard) {
        /* a valid split: the loader splits as dsn_dataset_split (stratified when there are labels) */
        dsn_shard_split split = DSN_SHARD_SPLIT_INIT;
        split.valid_fraction = c.valid > 0 ? c.valid : 0;
        split.seed = split_seed;
        split.stratified = data.mnist || data.labels;
        st = data.npy ? dsn_dataset_from_npy_shard(&sh, &va, data.npy, data.labels, m, c.fit, rank, nproc, &split)
                      : dsn_dataset_from_mnist_shard(&sh, &va, data.mnist, data.mnist_test, m, c.fit, rank, nproc,
                                                     &split);
        if (st == DSN_OK) {
            dsn_dataset_free(ds); /* the stand-in */
            ds = NULL;
            train_set = sh;
        } else { /* the whole set: a file error fails here, a bad shard in dsn_fit_mpi on every process */
            dsn_clear_error();
            dsn_dataset_free(ds);
            ds = NULL;
            if ((rc = cli_data_load(&data, cmd, c.audio, &ds)) != 0) goto done;
            train_set = ds;
            if (c.valid > 0) {
                if ((st = dsn_dataset_split(ds, &tr, &va, c.valid, split_seed, host_ds(ds).num_groups > 0)) != DSN_OK) {
                    rc = cli_fail("splitting off the validation set", st);
                    goto done;
                }
                train_set = tr;
            }
        }
        whole_rows = dsn_dataset_total(train_set, &whole_groups);
        shard_rows[0] = host_ds(train_set).size;
    } else if (nproc > 1) {
        for (int q = 0; q < nproc && q < 16 && root; q++)
            shard_rows[q] = dsn_dataset_shard_size(train_set, m, c.fit, q, nproc);
        if ((st = dsn_dataset_shard(train_set, &sh, m, c.fit, rank, nproc)) == DSN_OK) {
            dsn_dataset_free(tr);
            tr = NULL;
            dsn_dataset_free(ds);
            ds = NULL;
            train_set = sh;
        }
        dsn_clear_error();
    }
    progress p = {0};
    p.bits_per_code = NAN;
    p.tty = isatty(2);
    p.quiet = quiet;
    p.epochs = c.epochs;
    p.checkpoint_every = c.checkpoint_every > 0 ? c.checkpoint_every : 1;
    p.log_every = c.log_every;
    p.first_step = -1;
    p.steps_per_epoch = c.steps_per_epoch;
    if (!p.steps_per_epoch) { /* a guess until the first epoch has been measured */
        size_t ngr = whole_groups, bg = c.batch_groups ? (size_t)c.batch_groups : ngr < 16 ? ngr : 16;
        size_t batch = ngr ? bg * (size_t)c.group_size
                                                          : (size_t)c.batch_size;
        p.steps_per_epoch = (int64_t)((whole_rows + batch - 1) / batch);
        if (p.steps_per_epoch < 1) p.steps_per_epoch = 1;
    } else {
        p.est_exact = 1;
    }
    /* dsn_fit runs the whole schedule: stages, validation, early stopping
     * (patience) and keep_best (it ends with the weights of the best
     * validation epoch of the last stage), and the checkpoints. */
    if ((st = dsn_options_set(c.fit, "checkpoint", ckpt)) != DSN_OK ||
        (st = dsn_options_set(c.fit, "log_every", "1")) != DSN_OK) { /* every step, so Ctrl-C acts at once */
        rc = cli_fail("options", st);
        goto done;
    }
    if (log_dir) { /* dsn_fit writes the log (and fails at the start when it cannot) */
        char path[1100];
        cli_join(path, sizeof path, log_dir, "train.jsonl");
        if (root && cli_mkdir(log_dir) != 0) {
            rc = 1;
            goto done;
        }
        if ((st = dsn_options_set(c.fit, "log", path)) != DSN_OK ||
            (st = dsn_options_set(c.fit, "log_append", resume || prior ? "1" : "0")) != DSN_OK) {
            rc = cli_fail("options", st);
            goto done;
        }
    }
    if (!quiet) {
        size_t dims[3] = {0};
        int nd = host_ds_shape(train_set, dims, 3);
        fprintf(stderr, "disent: %s %s model%s, %zu parameters; %zu training observations [",
                resume ? "resuming a" : "training a", host_info(m).family,
                prior ? " (prior stage)" : "", host_info(m).num_params, whole_rows);
        for (int i = 0; i < nd; i++) fprintf(stderr, "%s%zu", i ? ", " : "", dims[i]);
        fprintf(stderr, "], %zu groups%s; %d epochs; checkpoint %s\n", whole_groups,
                va ? " (+ validation)" : "", c.epochs, ckpt);
        size_t ng = whole_groups;
        if (ng) /* dsn_fit's rule: batch_groups defaults to min(16, groups); an explicit value is kept */
            fprintf(stderr, "disent: grouped batches (models that use groups): %d groups x %d members%s\n",
                    c.batch_groups ? c.batch_groups : (int)(ng < 16 ? ng : 16), c.group_size,
                    c.batch_groups ? "" : " (batch_groups default: min(16, groups))");
        if (nproc > 1) {
            int grouped = ng > 0 && !strcmp(host_info(m).family, "ml-vae");
            size_t ngr = ng, bg = c.batch_groups ? (size_t)c.batch_groups : (ngr < 16 ? ngr : 16);
            size_t units = grouped ? (bg < ngr ? bg : ngr) : (size_t)c.batch_size, lo = units / (size_t)nproc;
            char per[64];
            if (units % (size_t)nproc) snprintf(per, sizeof per, "%zu-%zu", lo, lo + 1);
            else snprintf(per, sizeof per, "%zu", lo);
            char what[192];
            if (grouped)
                snprintf(what, sizeof what, "%zu groups x %d = %zu observations, %s groups", units, c.group_size,
                         units * (size_t)c.group_size, per);
            else snprintf(what, sizeof what, "%zu observations, %s", units, per);
            fprintf(stderr, "disent: data-parallel over %d MPI processes (world size %d): global batch %s per process\n",
                    nproc, nproc, what);
            fprintf(stderr, "disent: training set of %zu observations in %d shards, one per process (%s):", whole_rows,
                    nproc, grouped ? "whole groups" : "rows");
            if (file_shard) fprintf(stderr, " process 0 read its %zu observations from the file\n", shard_rows[0]);
            else {
                for (int q = 0; q < nproc && q < 16; q++) fprintf(stderr, " %zu", shard_rows[q]);
                fprintf(stderr, "%s observations\n", nproc > 16 ? " ..." : "");
            }
        }
    }

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C kills at once */
    interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    double t0 = now();
    int64_t steps0 = dsn_optimizer_steps(opt);
    st = cli_fit(m, opt, train_set, va, c.fit, cb_progress, &p);
    /* data-parallel: a Ctrl-C on one process stopped all of them */
    if (nproc > 1 && st == DSN_OK) interrupted = cli_mpi_any(interrupted);
    int early = st == DSN_OK && !interrupted && host_info(m).epoch < c.epochs;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (p.tty && !quiet) fprintf(stderr, "\r\033[K");
    if (st != DSN_OK) {
        rc = cli_fail("training", st);
        goto done;
    }
    double secs = now() - t0;
    int64_t steps = dsn_optimizer_steps(opt) - steps0;
    if (interrupted && !root) {
        rc = 130;
        goto done;
    }
    if (interrupted) { /* dsn_fit saved the checkpoint (with the weights of the moment) as it stopped */
        fprintf(stderr, "disent: interrupted after %lld steps (%.1f s); checkpoint saved to %s\n", (long long)steps,
                secs, ckpt);
        if (prior)
            fprintf(stderr,
                    "disent: continue with: disent train-prior --resume %s --epochs %d --out %s [the same data and "
                    "fit options]\n",
                    ckpt, c.epochs - host_info(m).epoch > 0 ? c.epochs - host_info(m).epoch : 1, out);
        else
            fprintf(stderr,
                    "disent: continue with: disent train --resume %s --out %s [the same data and fit options]\n",
                    ckpt, out);
        rc = 130;
        goto done;
    }
    if (!root) goto done; /* process 0 writes and reports */
    if (early && !quiet) fprintf(stderr, "disent: early stop after epoch %d (no better validation loss)\n", host_info(m).epoch);
    const char *kb = dsn_options_get(c.fit, "keep_best");
    int saved_best = va && !(kb && (!strcmp(kb, "0") || !strcmp(kb, "false")));
    if ((st = dsn_model_save(m, NULL, out)) != DSN_OK) {
        rc = cli_fail("saving the model", st);
        goto done;
    }
    struct stat sb;
    printf("trained %lld steps in %.1f s (%.2f ms/step)%s; wrote %s (%lld bytes%s); checkpoint %s\n",
           (long long)steps, secs, steps ? 1e3 * secs / (double)steps : 0.0, early ? ", stopped early" : "", out,
           stat(out, &sb) == 0 ? (long long)sb.st_size : -1LL,
           saved_best ? ", best validation epoch" : "", ckpt);
    int64_t sums;
    double sum_bytes, sum_secs;
    if (cli_mpi_stats(&sums, &sum_bytes, &sum_secs) && sums > 0)
        printf("data-parallel: %d processes; gradient all-reduce %.0f bytes sent per process per step, %.3f ms per "
               "step\n",
               nproc, sum_bytes, 1e3 * sum_secs / (double)sums);
    if (prior) {
        /* the prior's bits per code on the held-out data (or the training data),
         * for the weights written to OUT */
        const dsn_dataset *eval = va ? va : train_set;
        const char *names[64];
        double vals[64], bits = NAN;
        size_t ns = 0;
        int K = 0;
        if ((st = dsn_model_stats(m, names, vals, 64, &ns, eval)) != DSN_OK) {
            rc = cli_fail("measuring the prior", st);
            goto done;
        }
        for (size_t i = 0; i < ns && i < 64; i++) {
            if (!strcmp(names[i], "prior.bits_per_code")) bits = vals[i];
            if (!strcmp(names[i], "codebook.size")) K = (int)vals[i];
        }
        printf("prior: epochs %d-%d; bits_per_code %.4f (last training step), %.4f on the %s (%zu observations)",
               epoch0 + 1, host_info(m).epoch, (double)p.bits_per_code, bits,
               va ? "validation set" : "training data", host_ds(eval).size);
        if (K > 0) printf("; uniform prior log2 K = %.4f", log2((double)K));
        printf("\n");
    }
done:
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    dsn_dataset_free(sh);
    dsn_dataset_free(tr);
    dsn_dataset_free(va);
    dsn_dataset_free(ds);
    dsn_options_free(raw);
    dsn_options_free(c.model);
    dsn_options_free(c.optim);
    dsn_options_free(c.fit);
    dsn_options_free(c.audio);
    return rc;
}
