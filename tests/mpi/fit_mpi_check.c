/* fit_mpi_check.c - dsn_fit_mpi against dsn_fit: run under
 *   mpirun -np P build/tests/mpi/fit_mpi_check [MODE]
 * MODE "equal" (default): for every model family, process 0 first trains a
 * model alone with dsn_fit on P shards of the data (data_shards=P: what P
 * processes draw), then all P processes train the same model with
 * dsn_fit_mpi at the same global batch (50 steps), each given the whole set
 * (it keeps its shard), and again each given only its shard
 * (dsn_dataset_shard: it must hold exactly its rows, and the run must give
 * the same bits as the first); process 0 compares the
 * parameters: relative difference ||a - b|| / ||a|| <= 1e-6 and every
 * element within 1e-6 relative to the largest of |a_i| and the RMS weight;
 * the Adam moments (m and v) within 1e-5 relative (||a - b|| / ||a||).
 * On one node P > 1 processes must have used the shared-memory path, or the
 * message ring when DSN_MPI_NO_SHM is set (tests/mpi/run.sh runs both).
 * It prints how many parameters are bit-identical. Also checks that every
 * process ends with the same bits, weights and optimizer state (ranks'
 * checksums gathered).
 * Bad-input modes (each must fail on every process with a message, never hang):
 *   options    process 1 builds the model with other options
 *   data       process 1 has fewer training rows
 *   batch      a batch of 2 items over P >= 3 processes
 *   small      8 groups, batches of 10 groups: every shard is smaller than
 *              its part of the batch
 *   shard-data process 1 holds its shard of a set with fewer rows
 *   shard-swap process 1 holds shard 0
 *   die        process 1 exits before training
 *   hang       process 1 sleeps 60 s before training (mpi_start_timeout=2)
 *   die-mid    process 1 exits at step 10
 *   hang-mid   process 1 stops answering at step 10 (mpi_timeout=2)
 * Exit status: 0 when the check holds (equal) or the expected failure came
 * (bad-input modes report it and exit 3 so the script can tell). */
#include "disent_mpi.h"
#include "api/optimizer.h"
#include "core/dist.h"
#include "models/model.h"

#include <mpi.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rank, size;

#define CHECK(call)                                                                                      \
    do {                                                                                                 \
        dsn_status st_ = (call);                                                                         \
        if (st_ != DSN_OK) {                                                                             \
            fprintf(stderr, "fit_mpi_check[%d]: %s: %s\n", rank, #call, dsn_last_error());             \
            MPI_Abort(MPI_COMM_WORLD, 1);                                                                \
        }                                                                                                \
    } while (0)

typedef struct model_case {
    const char *family, *model_opts, *fit_opts;
    int ndim, shape[3];
    int grouped;
} model_case;

/* 50 steps each: 2 epochs of 25 (TS-DSAE switches stage after the first). */
static const model_case cases[] = {
    {"ml-vae", "input_dim=12, hidden=16, style_dim=3, content_dim=2, seed=3",
     "epochs=2, steps_per_epoch=25, batch_groups=5, group_size=3, seed=7", 1, {12, 1, 1}, 1},
    {"vq-vae", "channels=1, height=8, width=8, hidden=8, res_blocks=1, res_channels=4, code_dim=4, num_codes=16, "
               "codebook_update=ema, restart_dead=0, seed=4",
     "epochs=2, steps_per_epoch=25, batch_size=10, seed=7", 3, {1, 8, 8}, 0},
    {"dsae", "frames=5, n_mels=6, v_dim=3, z_dim=2, hidden=4:4, dec_hidden=5, prior_hidden=3, encoder_lstm=3, "
             "decoder_lstm=3, seed=5",
     "epochs=2, steps_per_epoch=25, batch_size=10, seed=7", 2, {5, 6, 1}, 0},
    {"ts-dsae", "frames=5, n_mels=6, v_dim=3, z_dim=2, hidden=4:4, dec_hidden=5, prior_hidden=3, encoder_lstm=3, "
                "decoder_lstm=3, constrained_epochs=1, swap_vg=0, swap_zg=0, swap_vl=0, swap_zl=0, seed=6",
     "epochs=2, steps_per_epoch=25, batch_size=10, seed=7", 2, {5, 6, 1}, 0},
};

/* VQ-VAE's restart ring (its vectors, fill counters and RNG) is each
 * process's own: it holds the vectors of the process's part of the batches. */
static int own_state(const char *name) { return !strcmp(name, "vqstate.misc") || !strcmp(name, "vqstate.buffer"); }

static dsn_options *opts(const char *text)
{
    dsn_options *o;
    CHECK(dsn_options_create(&o));
    if (text) CHECK(dsn_options_parse(o, text));
    return o;
}

/* Deterministic data (the same on every process): n rows, labels i % 8. */
static dsn_dataset *data(const model_case *c, size_t n)
{
    size_t obs = (size_t)c->shape[0] * (size_t)c->shape[1] * (size_t)c->shape[2];
    float *x = malloc(n * obs * sizeof(float));
    int32_t *lab = malloc(n * sizeof(int32_t));
    uint64_t s = 12345;
    for (size_t i = 0; i < n * obs; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        float u = (float)(s >> 40) / (float)(1 << 24);
        x[i] = c->grouped || !strcmp(c->family, "vq-vae") ? (u > 0.5f ? 1.0f : 0.0f) : 2.0f * u - 1.0f;
    }
    for (size_t i = 0; i < n; i++) lab[i] = (int32_t)(i % 8);
    size_t shape[3] = {(size_t)c->shape[0], (size_t)c->shape[1], (size_t)c->shape[2]};
    dsn_dataset *d;
    CHECK(dsn_dataset_from_memory(&d, x, n, shape, c->ndim, c->grouped ? lab : NULL, NULL));
    free(x);
    free(lab);
    return d;
}

static void make(const model_case *c, const char *extra, dsn_model **m, dsn_optimizer **opt)
{
    char text[512];
    snprintf(text, sizeof text, "%s%s%s", c->model_opts, extra ? ", " : "", extra ? extra : "");
    dsn_options *o = opts(text);
    CHECK(dsn_model_create(m, c->family, o));
    dsn_options_free(o);
    CHECK(dsn_optimizer_create(opt, *m, "adam", NULL));
}

/* d's shard for this process, checked: exactly the rows of units
 * [U g0 / G, U g1 / G) of the set, for the part [g0, g1) of G units
 * (groups: labels in ascending order) */
static dsn_dataset *own_shard(const model_case *c, const dsn_dataset *d, const dsn_model *m, const dsn_options *fo,
                              size_t G, int *ok, dsn_dataset **pre)
{
    dsn_dataset *sh = NULL;
    CHECK(dsn_dataset_shard(d, &sh, m, fo, rank, size));
    dsn_dataset_info whole = DSN_DATASET_INFO_INIT, part = DSN_DATASET_INFO_INIT;
    CHECK(dsn_dataset_describe(d, &whole));
    CHECK(dsn_dataset_describe(sh, &part));
    size_t U = c->grouped ? whole.num_groups : whole.size, g0 = G * (size_t)rank / (size_t)size,
           g1 = G * ((size_t)rank + 1) / (size_t)size, lo = U * g0 / G, hi = U * g1 / G;
    float *a = malloc(whole.obs_size * sizeof(float)), *b = malloc(whole.obs_size * sizeof(float));
    /* the same rows, as a host with pre-sharded data would load them */
    float *px = malloc(whole.size * whole.obs_size * sizeof(float));
    int32_t *pl = malloc(whole.size * sizeof(int32_t));
    size_t j = 0, np = 0;
    size_t tg = 0;
    int good = dsn_dataset_total(sh, &tg) == whole.size && tg == whole.num_groups;
    for (size_t i = 0; i < whole.size && good; i++) {
        int32_t la, lb;
        CHECK(dsn_dataset_get(d, a, whole.obs_size, &la, i));
        size_t unit = c->grouped ? (size_t)la : i; /* labels 0..7: the group order */
        if (unit < lo || unit >= hi) continue;
        memcpy(px + np * whole.obs_size, a, whole.obs_size * sizeof(float));
        pl[np++] = la;
        good = j < part.size;
        if (good) CHECK(dsn_dataset_get(sh, b, whole.obs_size, &lb, j++));
        good = good && la == lb && !memcmp(a, b, whole.obs_size * sizeof(float));
    }
    good = good && j == part.size;
    if (!good) fprintf(stderr, "fit_mpi_check[%d]: %s: the shard does not hold exactly its rows\n", rank, c->family);
    *ok = good;
    CHECK(dsn_dataset_from_memory(pre, px, np, whole.obs_shape, whole.obs_ndim, c->grouped ? pl : NULL, NULL));
    CHECK(dsn_dataset_mark_shard(*pre, rank, size, whole.size, whole.num_groups, c->grouped));
    free(px);
    free(pl);
    free(a);
    free(b);
    return sh;
}

static unsigned long long weights_hash(const dsn_model *m)
{
    unsigned long long h = 1469598103934665603ULL;
    for (int q = 0; q < m->params.count; q++) {
        const unsigned char *p = (const unsigned char *)m->params.list[q].var.x;
        for (size_t i = 0; i < m->params.list[q].var.n * sizeof(float); i++) h = (h ^ p[i]) * 1099511628211ULL;
    }
    return h;
}

static int run_equal(void)
{
    int fails = 0;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const model_case *c = &cases[k];
        dsn_dataset *d = data(c, 60);
        dsn_options *fo = opts(c->fit_opts);
        dsn_model *ref = NULL, *m;
        dsn_optimizer *ro = NULL, *opt;
        if (rank == 0) { /* one process on P shards: what P processes draw */
            dsn_options *fr = opts(c->fit_opts);
            char np[16];
            snprintf(np, sizeof np, "%d", size);
            CHECK(dsn_options_set(fr, "data_shards", np));
            make(c, NULL, &ref, &ro);
            CHECK(dsn_fit(ref, ro, d, NULL, fr, NULL, NULL));
            dsn_options_free(fr);
        }
        make(c, NULL, &m, &opt);
        CHECK(dsn_fit_mpi(m, opt, d, NULL, fo, NULL, NULL, NULL));
        /* again with only this process's shard (dsn_dataset_shard, and the
         * same rows loaded as pre-sharded data): the same bits */
        int shard_ok = 0;
        {
            dsn_model *m2;
            dsn_optimizer *o2;
            dsn_dataset *pre = NULL;
            make(c, NULL, &m2, &o2);
            size_t G = c->grouped ? 5 : 10; /* the cases' batch_groups / batch_size */
            dsn_dataset *sh = own_shard(c, d, m2, fo, G, &shard_ok, &pre);
            for (int t = 0; t < 2; t++) {
                if (t) {
                    dsn_optimizer_free(o2);
                    dsn_model_free(m2);
                    make(c, NULL, &m2, &o2);
                }
                CHECK(dsn_fit_mpi(m2, o2, t ? pre : sh, NULL, fo, NULL, NULL, NULL));
                shard_ok = shard_ok && weights_hash(m2) == weights_hash(m);
            }
            int all_ok = 0;
            MPI_Allreduce(&shard_ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
            shard_ok = all_ok;
            dsn_dataset_free(pre);
            dsn_dataset_free(sh);
            dsn_optimizer_free(o2);
            dsn_model_free(m2);
        }
        int64_t red;
        double bytes, secs, wait_s, wait_c;
        int shm;
        dsn_mpi_fit_stats(&red, &bytes, &secs);
        /* one node: the shared-memory path, unless DSN_MPI_NO_SHM asks for the ring */
        dsi_mpi_fit_wait(&wait_s, &wait_c, &shm);
        const int want_shm = size > 1 && !getenv("DSN_MPI_NO_SHM");
        /* every process must hold the same bits */
        unsigned long long h = 1469598103934665603ULL;
        for (int q = 0; q < m->params.count; q++) {
            /* VQ-VAE's restart ring fill counters and RNG are each process's own */
            if (own_state(m->params.list[q].name)) continue;
            const unsigned char *p = (const unsigned char *)m->params.list[q].var.x;
            for (size_t i = 0; i < m->params.list[q].var.n * sizeof(float); i++) h = (h ^ p[i]) * 1099511628211ULL;
        }
        /* ... and the same optimizer state (each process updates only its
         * chunk of the weights and moments; the moments are gathered at the
         * end of every epoch) */
        const float *mom[2] = {opt->optim.m, opt->optim.v};
        for (int b = 0; b < 2; b++) {
            const unsigned char *p = (const unsigned char *)mom[b];
            for (size_t i = 0; p && i < opt->optim.n * sizeof(float); i++) h = (h ^ p[i]) * 1099511628211ULL;
        }
        unsigned long long *all = malloc(sizeof h * (size_t)size);
        MPI_Allgather(&h, 1, MPI_UNSIGNED_LONG_LONG, all, 1, MPI_UNSIGNED_LONG_LONG, MPI_COMM_WORLD);
        int same = 1;
        for (int r = 1; r < size; r++) same &= all[r] == all[0];
        free(all);
        if (!same) /* name the parameters that differ between processes 0 and 1 */
            for (int q = 0; q < m->params.count; q++) {
                const dsi_param *pq = &m->params.list[q];
                float *other = malloc(pq->var.n * sizeof(float) + 1);
                if (rank == 1) MPI_Send(pq->var.x, (int)pq->var.n, MPI_FLOAT, 0, 9, MPI_COMM_WORLD);
                if (rank == 0) {
                    MPI_Recv(other, (int)pq->var.n, MPI_FLOAT, 1, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                    size_t diff = 0;
                    for (size_t i = 0; i < pq->var.n; i++) diff += memcmp(&other[i], &pq->var.x[i], sizeof(float)) != 0;
                    if (diff) fprintf(stderr, "  %s: %zu of %zu values differ between processes 0 and 1\n", pq->name, diff, pq->var.n);
                }
                free(other);
            }
        if (rank == 0) {
            double d2 = 0, a2 = 0, worst = 0;
            const char *worst_name = "-";
            size_t ident = 0, compared = 0;
            /* each tensor: every element within 1e-6 of max(|a_i|, the tensor's RMS) */
            for (int q = 0; q < ref->params.count; q++) {
                const dsi_var *va = &ref->params.list[q].var, *vb = &m->params.list[q].var;
                if (own_state(ref->params.list[q].name)) continue;
                double t2 = 0;
                for (size_t i = 0; i < va->n; i++) t2 += (double)va->x[i] * va->x[i];
                double rms = sqrt(t2 / (double)(va->n ? va->n : 1));
                a2 += t2;
                for (size_t i = 0; i < va->n; i++) {
                    double e = fabs((double)va->x[i] - vb->x[i]), sc = fmax(fabs((double)va->x[i]), rms);
                    d2 += e * e;
                    if (sc > 0 && e / sc > worst) worst = e / sc, worst_name = ref->params.list[q].name;
                    ident += memcmp(&va->x[i], &vb->x[i], sizeof(float)) == 0;
                }
                compared += va->n;
            }
            double rel = sqrt(d2 / a2);
            if (worst > 1e-7) fprintf(stderr, "  %s: worst element in %s\n", c->family, worst_name);
            /* the Adam moments against one process's: relative difference of each buffer */
            double mrel = 0;
            const float *rm[2] = {ro->optim.m, ro->optim.v}, *mm[2] = {opt->optim.m, opt->optim.v};
            for (int b = 0; b < 2; b++) {
                double e2 = 0, r2 = 0;
                for (size_t i = 0; i < ro->optim.n; i++) {
                    double e = (double)rm[b][i] - mm[b][i];
                    e2 += e * e;
                    r2 += (double)rm[b][i] * rm[b][i];
                }
                if (r2 > 0 && sqrt(e2 / r2) > mrel) mrel = sqrt(e2 / r2);
            }
            int ok = rel <= 1e-6 && worst <= 1e-6 && mrel <= 1e-5 && same && shm == want_shm && ref->epoch == m->epoch &&
                     dsn_optimizer_steps(ro) == dsn_optimizer_steps(opt) && dsn_optimizer_steps(opt) == 50 && shard_ok;
            printf("%-8s P=%d: %lld steps, %zu params, |a-b|/|a| = %.2e, worst element %.2e, bit-identical %zu/%zu "
                   "(%s), Adam moments %.2e, ranks agree: %s; given its shard only: %s; %s; %lld sums of %.0f bytes sent "
                   "per process, %.2f ms per sum -> %s\n",
                   c->family, size, (long long)dsn_optimizer_steps(opt), compared, rel, worst, ident, compared,
                   ident == compared ? "all" : "not all", mrel, same ? "yes" : "NO", shard_ok ? "same bits" : "DIFFERS",
                   size == 1 ? "one process" : shm ? "shared memory" : "message ring", (long long)red, bytes,
                   red ? 1e3 * secs / (double)red : 0.0, ok ? "ok" : "FAIL");
            fflush(stdout);
            fails += !ok;
            dsn_optimizer_free(ro);
            dsn_model_free(ref);
        }
        dsn_optimizer_free(opt);
        dsn_model_free(m);
        dsn_options_free(fo);
        dsn_dataset_free(d);
    }
    return fails;
}

/* die-mid / hang-mid: process 1 dies or stops answering at step 10. */
static int cb_trouble(void *user, int epoch, int64_t step, int epoch_end, int n, const char *const *names,
                      const float *values)
{
    const char *mode = user;
    if (rank == 1 && step == 10 && !epoch_end) {
        fprintf(stderr, "fit_mpi_check[1]: %s at step 10\n", !strcmp(mode, "die-mid") ? "exiting" : "sleeping 60 s");
        if (!strcmp(mode, "die-mid")) _exit(4);
        sleep(60);
    }
    return 0;
}

/* One bad-input run: expect failure everywhere. */
static int run_bad(const char *mode)
{
    const model_case *c = &cases[0];
    size_t rows = 60;
    const char *extra = NULL, *fit = c->fit_opts;
    char fitbuf[256];
    if (!strcmp(mode, "options") && rank == 1) extra = "hidden=17";
    if (!strcmp(mode, "data") && rank == 1) rows = 59;
    if (!strcmp(mode, "batch")) c = &cases[2], fit = "epochs=1, steps_per_epoch=5, batch_size=2";
    if (!strcmp(mode, "small")) fit = "epochs=1, steps_per_epoch=5, batch_groups=10, group_size=3";
    if (!strcmp(mode, "shard-data") && rank == 1) rows = 59;
    if (!strcmp(mode, "die-mid")) {
        snprintf(fitbuf, sizeof fitbuf, "%s, log_every=1", c->fit_opts);
        fit = fitbuf;
    }
    if (!strcmp(mode, "hang") || !strcmp(mode, "hang-mid")) {
        snprintf(fitbuf, sizeof fitbuf, "%s, log_every=1, mpi_start_timeout=2, mpi_timeout=2", c->fit_opts);
        fit = fitbuf;
    }
    dsn_dataset *d = data(c, rows);
    dsn_options *fo = opts(fit);
    dsn_model *m;
    dsn_optimizer *opt;
    make(c, extra, &m, &opt);
    if (!strncmp(mode, "shard-", 6)) { /* each process holds only a shard */
        dsn_dataset *sh = NULL;
        int which = !strcmp(mode, "shard-swap") && rank == 1 ? 0 : rank;
        CHECK(dsn_dataset_shard(d, &sh, m, fo, which, size));
        dsn_dataset_free(d);
        d = sh;
    }
    if (!strcmp(mode, "die") && rank == 1) {
        fprintf(stderr, "fit_mpi_check[1]: exiting before training (die test)\n");
        _exit(4);
    }
    if (!strcmp(mode, "hang") && rank == 1) sleep(60);
    int mid = !strcmp(mode, "die-mid") || !strcmp(mode, "hang-mid");
    dsn_status st = dsn_fit_mpi(m, opt, d, NULL, fo, mid ? cb_trouble : NULL, (void *)mode, NULL);
    if (st == DSN_OK) {
        fprintf(stderr, "fit_mpi_check[%d]: %s: training succeeded, a failure was expected\n", rank, mode);
        return 1;
    }
    fprintf(stderr, "fit_mpi_check[%d]: %s: failed as expected: %s: %s\n", rank, mode, dsn_status_string(st),
            dsn_last_error());
    /* the communicator may hold unfinished messages (timeouts): end the job */
    if (!strncmp(mode, "hang", 4)) MPI_Abort(MPI_COMM_WORLD, 3);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    dsn_options_free(fo);
    dsn_dataset_free(d);
    return 3;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *mode = argc > 1 ? argv[1] : "equal";
    int rc = !strcmp(mode, "equal") ? run_equal() : run_bad(mode);
    int worst = 0;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return worst;
}
