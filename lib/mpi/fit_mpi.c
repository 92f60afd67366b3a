/* fit_mpi.c - dsn_fit_mpi: the dsi_dist collectives over MPI point-to-point
 * messages, each with a deadline, and the entry point. Built only with MPI
 * (scripts/list-sources.sh lib-mpi). */
#include "disent_mpi.h"

#include "api/dataset.h"
#include "api/fit.h"
#include "core/options.h"
#include "core/alloc.h"
#include "core/dist.h"
#include "core/error.h"

#include <mpi.h>

#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct mpi_ctx {
    MPI_Comm comm;
    int rank, size;
    double timeout, start_timeout;
    int started;             /* the first collective is done */
    void *recv;              /* ring receive buffer: one chunk */
    size_t recv_bytes;
    int64_t reductions;      /* gradient sums (calls of sum_f) */
    double bytes, seconds;   /* of the last sum_f, and the total time in sum_f */
} mpi_ctx;

static _Thread_local int64_t stat_reductions;
static _Thread_local double stat_bytes, stat_seconds;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Wait for n requests or until the deadline; `peer` names the process the
 * messages come from (-1: a collective). */
static dsn_status wait_all(mpi_ctx *c, MPI_Request *req, int n, int peer, const char *what)
{
    double limit = c->started ? c->timeout : c->start_timeout, t0 = now();
    int spins = 0;
    for (;;) {
        int done = 0;
        if (MPI_Testall(n, req, &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
            return dsi_error(DSN_E_IO, "MPI error during %s", what);
        if (done) return DSN_OK;
        if (now() - t0 > limit) {
            /* the requests stay pending (MPI_Cancel of a collective may
             * block): the host ends the job with MPI_Abort */
            if (peer >= 0)
                return dsi_error(DSN_E_IO,
                                 "process %d of %d: process %d did not answer within %g s during %s (it may have died, "
                                 "hang, or not be running the same training)",
                                 c->rank, c->size, peer, limit, what);
            return dsi_error(DSN_E_IO,
                             "process %d of %d: not every process joined %s within %g s (one may have died, hang, or "
                             "not be running the same training)",
                             c->rank, c->size, what, limit);
        }
        /* oversubscribed nodes: let the process we wait for run */
        if (++spins > 64) sched_yield();
    }
}

/* In-place sum over processes of n elements of `esize` bytes (float or
 * double): ring reduce-scatter then ring all-gather over P chunks. Chunk q is
 * summed in the order q, q+1, ..., q+P-1 (mod P) whatever the timing, and the
 * all-gather copies the finished chunks, so every process ends with the same
 * bits. */
static dsn_status ring_sum(mpi_ctx *c, void *buf, size_t n, int dbl)
{
    int P = c->size, r = c->rank;
    if (P == 1 || n == 0) return DSN_OK;
    size_t es = dbl ? sizeof(double) : sizeof(float);
    size_t maxchunk = (n + (size_t)P - 1) / (size_t)P;
    if (maxchunk > (size_t)INT32_MAX) return dsi_error(DSN_E_INVALID, "a sum of %zu values is too long for MPI", n);
    if (maxchunk * es > c->recv_bytes) {
        void *p = dsi_aligned_alloc(maxchunk * es);
        if (!p) return dsi_error(DSN_E_NOMEM, "no memory for the %zu-byte receive buffer", maxchunk * es);
        dsi_aligned_free(c->recv);
        c->recv = p;
        c->recv_bytes = maxchunk * es;
    }
    MPI_Datatype type = dbl ? MPI_DOUBLE : MPI_FLOAT;
    int right = (r + 1) % P, left = (r + P - 1) % P;
    char *b = buf;
#define CH_LO(q) ((size_t)(q) * n / (size_t)P)
#define CH_N(q) (CH_LO((q) + 1) - CH_LO(q))
    for (int s = 0; s < P - 1; s++) { /* reduce-scatter */
        int send = (r - s + 2 * P) % P, recv = (r - s - 1 + 2 * P) % P;
        MPI_Request req[2];
        MPI_Irecv(c->recv, (int)CH_N(recv), type, left, 1, c->comm, &req[0]);
        MPI_Isend(b + CH_LO(send) * es, (int)CH_N(send), type, right, 1, c->comm, &req[1]);
        dsn_status st = wait_all(c, req, 2, left, "the gradient sum");
        if (st != DSN_OK) return st;
        size_t lo = CH_LO(recv), cn = CH_N(recv);
        if (dbl) {
            double *dst = (double *)b + lo, *src = c->recv;
            for (size_t i = 0; i < cn; i++) dst[i] = src[i] + dst[i];
        } else {
            float *dst = (float *)b + lo, *src = c->recv;
            for (size_t i = 0; i < cn; i++) dst[i] = src[i] + dst[i];
        }
    }
    for (int s = 0; s < P - 1; s++) { /* all-gather: process r owns chunk r + 1 */
        int send = (r + 1 - s + 2 * P) % P, recv = (r - s + 2 * P) % P;
        MPI_Request req[2];
        MPI_Irecv(b + CH_LO(recv) * es, (int)CH_N(recv), type, left, 2, c->comm, &req[0]);
        MPI_Isend(b + CH_LO(send) * es, (int)CH_N(send), type, right, 2, c->comm, &req[1]);
        dsn_status st = wait_all(c, req, 2, left, "the gradient sum");
        if (st != DSN_OK) return st;
    }
#undef CH_LO
#undef CH_N
    c->started = 1;
    return DSN_OK;
}

static dsn_status sum_f(void *ctx, float *v, size_t n)
{
    mpi_ctx *c = ctx;
    double t0 = now();
    dsn_status st = ring_sum(c, v, n, 0);
    c->seconds += now() - t0;
    c->reductions++;
    c->bytes = 2.0 * (double)(c->size - 1) / (double)c->size * (double)n * sizeof(float);
    return st;
}

static dsn_status sum_d(void *ctx, double *v, size_t n) { return ring_sum(ctx, v, n, 1); }

static dsn_status bcast(void *ctx, void *v, size_t bytes, int root)
{
    mpi_ctx *c = ctx;
    if (c->size == 1) return DSN_OK;
    /* in pieces of at most 1 GiB: MPI counts are ints */
    for (size_t off = 0; off < bytes || off == 0; off += (size_t)1 << 30) {
        size_t len = bytes - off < ((size_t)1 << 30) ? bytes - off : (size_t)1 << 30;
        MPI_Request req;
        if (MPI_Ibcast((char *)v + off, (int)len, MPI_BYTE, root, c->comm, &req) != MPI_SUCCESS)
            return dsi_error(DSN_E_IO, "MPI error in a broadcast");
        dsn_status st = wait_all(c, &req, 1, -1, "a broadcast from process 0");
        if (st != DSN_OK) return st;
        if (bytes == 0) break;
    }
    c->started = 1;
    return DSN_OK;
}

static dsn_status gather_all(void *ctx, const void *in, size_t bytes, void *out)
{
    mpi_ctx *c = ctx;
    if (bytes > (size_t)INT32_MAX) return dsi_error(DSN_E_INVALID, "all-gather of %zu bytes", bytes);
    MPI_Request req;
    if (MPI_Iallgather(in, (int)bytes, MPI_BYTE, out, (int)bytes, MPI_BYTE, c->comm, &req) != MPI_SUCCESS)
        return dsi_error(DSN_E_IO, "MPI error in the start-up all-gather");
    dsn_status st = wait_all(c, &req, 1, -1, "the start-up check of options and data");
    if (st == DSN_OK) c->started = 1;
    return st;
}

/* The caller's options without the mpi_* keys (which dsn_fit would reject). */
static dsn_status split_options(const dsn_options *opts, dsn_options **rest, double *timeout, double *start)
{
    dsn_status st = dsn_options_create(rest);
    if (st != DSN_OK) return st;
    size_t n = opts ? dsn_options_count(opts) : 0;
    for (size_t i = 0; i < n && st == DSN_OK; i++) {
        const char *k = dsn_options_key(opts, i), *v = dsn_options_get(opts, k);
        if (!strcmp(k, "mpi_timeout") || !strcmp(k, "mpi_start_timeout")) {
            char *end = NULL;
            double x = strtod(v, &end);
            if (!end || *end || !(x > 0) || !isfinite(x))
                st = dsi_error(DSN_E_OPTION, "option %s: '%s' is not a positive number of seconds", k, v);
            else *(k[4] == 't' ? timeout : start) = x;
        } else {
            st = dsn_options_set(*rest, k, v);
        }
    }
    if (st != DSN_OK) {
        dsn_options_free(*rest);
        *rest = NULL;
    }
    return st;
}

dsn_status dsn_fit_mpi(dsn_model *m, dsn_optimizer *opt, const dsn_dataset *train, const dsn_dataset *valid,
                       const dsn_options *opts, dsn_progress_fn progress, void *user, const void *comm)
{
    stat_reductions = 0;
    stat_bytes = stat_seconds = 0;
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (!init || fin) return dsi_error(DSN_E_STATE, "dsn_fit_mpi: MPI is not initialised (call MPI_Init first)");
    mpi_ctx c = {0};
    c.timeout = 300;
    c.start_timeout = 120;
    dsn_options *rest = NULL;
    dsn_status st = split_options(opts, &rest, &c.timeout, &c.start_timeout);
    if (st != DSN_OK) {
        dsi_error_prefix("dsn_fit_mpi");
        return st;
    }
    MPI_Comm base = comm ? *(const MPI_Comm *)comm : MPI_COMM_WORLD;
    MPI_Comm_rank(base, &c.rank);
    MPI_Comm_size(base, &c.size);
    /* a private duplicate, made without blocking so that a process that never
     * comes is caught by the start-up deadline */
    MPI_Request req;
    if (MPI_Comm_idup(base, &c.comm, &req) != MPI_SUCCESS) {
        dsn_options_free(rest);
        return dsi_error(DSN_E_IO, "dsn_fit_mpi: cannot duplicate the communicator");
    }
    st = wait_all(&c, &req, 1, -1, "the start of training");
    if (st != DSN_OK) {
        dsn_options_free(rest);
        dsi_error_prefix("dsn_fit_mpi");
        return st;
    }
    dsi_dist d = {c.rank, c.size, &c, sum_f, sum_d, bcast, gather_all};
    st = dsi_fit_run(m, opt, train, valid, rest, progress, user, &d);
    stat_reductions = c.reductions;
    stat_bytes = c.bytes;
    stat_seconds = c.seconds;
    dsn_options_free(rest);
    dsi_aligned_free(c.recv);
    /* after a failure messages may be pending: do not wait on the duplicate */
    if (st == DSN_OK) MPI_Comm_free(&c.comm);
    if (st != DSN_OK && strncmp(dsn_last_error(), "dsn_fit", 7) != 0) dsi_error_prefix("dsn_fit_mpi");
    return st;
}

void dsn_mpi_fit_stats(int64_t *reductions, double *bytes_per_reduction, double *seconds)
{
    if (reductions) *reductions = stat_reductions;
    if (bytes_per_reduction) *bytes_per_reduction = stat_bytes;
    if (seconds) *seconds = stat_seconds;
}
