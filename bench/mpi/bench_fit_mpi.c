/* bench_fit_mpi.c - data-parallel training speed (docs/scale-out.md):
 *
 *   mpirun -np P build/bench/mpi/bench_fit_mpi W1|W2 [steps] [global batch]
 *
 * The W1 (ML-VAE MLP, batch 16 x 16 of 784) and W2 (DSAE, batch 128 x 128
 * frames x 80) models of bench/bench_w1.c and bench_w2.c, trained with
 * dsn_fit_mpi on random data at the same GLOBAL batch whatever P, one BLAS
 * thread per process. Process 0 prints wall ms per step and steps/s (median
 * of 3 timed epochs of `steps` steps after a warm-up epoch of 3), the
 * gradient all-reduce: bytes sent per process and ms per step as measured
 * inside dsn_fit_mpi (this includes waiting for the slowest process), and,
 * for reference, MPI_Allreduce of the same payload alone.
 * CPU ms per step is that of the busiest process (process CPU time).
 * `global batch` (default the workload's: W1 16 groups of 16, W2 128
 * sequences) sets the global batch in groups (W1) or items (W2): e.g.
 * `bench_fit_mpi W1 40 8` on one process is one process at half the batch.
 * A second line gives the phases of a step (wall ms, the largest over the
 * processes): drawing the batch, forward + backward, the gradient reduction
 * (reduce-scatter + the small sum of norm and loss), the update (optimizer
 * on the process's chunk + all-gather of the weights), the epoch end.
 *   RESULT_MPI <name> <P> <ms per step> <steps/s> <CPU ms per step> <payload bytes> <bytes sent> <ms in the sum> <ms MPI_Allreduce>
 *   PHASES_MPI <name> <P> <data ms> <forward+backward ms> <reduce ms> <update ms> <epoch end ms> (per step)
 *   WAIT_MPI <name> <P> <wall ms waiting in collectives> <CPU ms waiting> <CPU ms outside them> <1: shared-memory path> */
#include "disent_mpi.h"
#include "api/fit_dist.h"
#include "core/dist.h"
#include "tensor/blas.h"

#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int rank, size;

#define CK(call)                                                                  \
    do {                                                                          \
        dsn_status st_ = (call);                                                  \
        if (st_ != DSN_OK) {                                                      \
            fprintf(stderr, "[%d] %s: %s\n", rank, #call, dsn_last_error());     \
            MPI_Abort(MPI_COMM_WORLD, 1);                                         \
        }                                                                         \
    } while (0)

static dsn_options *opts(const char *text)
{
    dsn_options *o;
    CK(dsn_options_create(&o));
    CK(dsn_options_parse(o, text));
    return o;
}

/* CPU seconds of this process: on a loaded machine wall time also counts
 * the time spent waiting for a core */
static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *w = argc > 1 ? argv[1] : "W1";
    int steps = argc > 2 ? atoi(argv[2]) : 0;
    int gbatch = argc > 3 ? atoi(argv[3]) : 0;
    dsi_blas_set_threads(1);
    int w1 = !strcmp(w, "W1");
    if (!w1 && strcmp(w, "W2")) {
        if (!rank) fprintf(stderr, "usage: bench_fit_mpi W1|W2 [steps]\n");
        MPI_Finalize();
        return 2;
    }
    if (steps < 3) steps = w1 ? 40 : 6;
    const char *family = w1 ? "ml-vae" : "dsae";
    const char *mo = w1 ? "input_dim=784, hidden=500:500, activation=relu, style_dim=10, content_dim=10, "
                          "likelihood=bernoulli"
                        : "frames=128, n_mels=80, v_dim=16, z_dim=16, hidden=256, activation=tanh, "
                          "global_encoder=bilstm, global_features=none, encoder_lstm=256, local_encoder=mlp, "
                          "prior_layers=1, prior_hidden=256, decoder=mlp, dec_hidden=256:256";
    size_t n = w1 ? 4096 : 512, shape[2] = {w1 ? 784u : 128u, 80}, obs = w1 ? 784 : 128 * 80;
    int ndim = w1 ? 1 : 2;
    float *x = malloc(n * obs * sizeof(float));
    int32_t *lab = malloc(n * sizeof(int32_t));
    uint64_t s = 7;
    for (size_t i = 0; i < n * obs; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        float u = (float)(s >> 40) / (float)(1 << 24);
        x[i] = w1 ? u : 2.0f * u - 1.0f;
    }
    for (size_t i = 0; i < n; i++) lab[i] = (int32_t)(i % 64);
    dsn_dataset *d;
    CK(dsn_dataset_from_memory(&d, x, n, shape, ndim, w1 ? lab : NULL, NULL));
    free(x);
    free(lab);
    dsn_options *o = opts(mo);
    dsn_model *m;
    dsn_optimizer *opt;
    CK(dsn_model_create(&m, family, o));
    dsn_options_free(o);
    CK(dsn_optimizer_create(&opt, m, "adam", NULL));
    char fit[256], batch[64];
    if (gbatch < 1) gbatch = w1 ? 16 : 128;
    if (w1) snprintf(batch, sizeof batch, "batch_groups=%d, group_size=16", gbatch);
    else snprintf(batch, sizeof batch, "batch_size=%d", gbatch);
    snprintf(fit, sizeof fit, "epochs=1, steps_per_epoch=3, %s", batch);
    dsn_options *fo = opts(fit);
    /* each process holds only its shard (as `mpirun disent train` does), so
     * no call copies it out of the whole set */
    dsn_dataset *whole = d;
    CK(dsn_dataset_shard(whole, &d, m, fo, rank, size));
    dsn_dataset_free(whole);
    CK(dsn_fit_mpi(m, opt, d, NULL, fo, NULL, NULL, NULL)); /* warm-up */
    dsn_options_free(fo);
    double t[3], c[3], sum_ms[3], bytes = 0, ph[3][5], wt[3], work[3], wc[3];
    int shared = 0;
    for (int e = 0; e < 3; e++) {
        snprintf(fit, sizeof fit, "epochs=%d, steps_per_epoch=%d, %s", 2 + e, steps, batch);
        fo = opts(fit);
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime(), c0 = cpu();
        CK(dsn_fit_mpi(m, opt, d, NULL, fo, NULL, NULL, NULL));
        t[e] = (MPI_Wtime() - t0) / steps;
        double ce = (cpu() - c0) / steps;
        MPI_Allreduce(&ce, &c[e], 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD); /* the busiest process */
        int64_t red;
        double secs;
        dsn_mpi_fit_stats(&red, &bytes, &secs);
        sum_ms[e] = red ? 1e3 * secs / (double)red : 0;
        double wait_s, wait_c;
        dsi_mpi_fit_wait(&wait_s, &wait_c, &shared);
        /* CPU time less the CPU spent waiting in collectives: the work of the busiest process */
        double mw[3] = {wait_s * 1e3 / steps, ce * 1e3 - wait_c * 1e3 / steps, wait_c * 1e3 / steps}, aw[3];
        MPI_Allreduce(mw, aw, 3, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        wt[e] = aw[0];
        work[e] = aw[1];
        wc[e] = aw[2];
        dsi_dist_profile pr = dsi_dist_last_profile();
        double mine[5] = {pr.data, pr.compute, pr.reduce, pr.update, pr.epoch_end};
        for (int k = 0; k < 5; k++) mine[k] *= 1e3 / (double)steps;
        MPI_Allreduce(mine, ph[e], 5, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        dsn_options_free(fo);
    }
    qsort(t, 3, sizeof *t, cmp);
    qsort(c, 3, sizeof *c, cmp);
    qsort(sum_ms, 3, sizeof *sum_ms, cmp);
    qsort(wt, 3, sizeof *wt, cmp);
    qsort(work, 3, sizeof *work, cmp);
    qsort(wc, 3, sizeof *wc, cmp);
    double phase[5];
    for (int k = 0; k < 5; k++) {
        double v[3] = {ph[0][k], ph[1][k], ph[2][k]};
        qsort(v, 3, sizeof *v, cmp);
        phase[k] = v[1];
    }
    /* the same payload through MPI_Allreduce alone, for reference */
    dsn_model_info mi = DSN_MODEL_INFO_INIT;
    CK(dsn_model_describe(m, &mi));
    size_t payload = mi.num_params;
    float *buf = calloc(payload, sizeof(float)), *out = calloc(payload, sizeof(float));
    double ar[5];
    for (int k = 0; k < 5; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Allreduce(buf, out, (int)payload, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        ar[k] = 1e3 * (MPI_Wtime() - t0);
    }
    qsort(ar, 5, sizeof *ar, cmp);
    if (!rank) {
        printf("%s (%s, global batch %s) on %d process%s: %.1f ms per step, %.2f steps/s (CPU %.1f ms per step on the busiest "
               "process); all-reduce of %zu parameters (%.0f bytes): "
               "%.0f bytes sent per process, %.2f ms per step in dsn_fit_mpi's sum (incl. waiting), %.2f ms for "
               "MPI_Allreduce alone\n",
               w, family, batch, size, size > 1 ? "es" : "", 1e3 * t[1], 1.0 / t[1], 1e3 * c[1], payload, 4.0 * (double)payload, bytes,
               sum_ms[1], ar[2]);
        printf("phases per step (ms, median epoch, the slowest process): data %.2f, forward+backward %.2f, "
               "reduce-scatter + norm %.2f, optimizer on the own chunk + all-gather %.2f, epoch end %.2f\n",
               phase[0], phase[1], phase[2], phase[3], phase[4]);
        printf("PHASES_MPI %s %d %.3f %.3f %.3f %.3f %.3f\n", w, size, phase[0], phase[1], phase[2], phase[3], phase[4]);
        printf("collectives: %s; ms per step waiting in them (incl. transfers): wall %.2f, CPU %.2f (the most of any "
               "process); CPU ms per step outside them: %.2f (the most)\n",
               size == 1 ? "none" : shared ? "one node: shared-memory window" : "ring of messages", wt[1], wc[1], work[1]);
        printf("WAIT_MPI %s %d %.3f %.3f %.3f %d\n", w, size, wt[1], wc[1], work[1], shared);
        printf("RESULT_MPI %s %d %.3f %.3f %.3f %.0f %.0f %.3f %.3f\n", w, size, 1e3 * t[1], 1.0 / t[1], 1e3 * c[1],
               4.0 * (double)payload, bytes, sum_ms[1], ar[2]);
    }
    free(buf);
    free(out);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    dsn_dataset_free(d);
    MPI_Finalize();
    return 0;
}
