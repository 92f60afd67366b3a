/* fit_mpi.c - dsn_fit_mpi: the dsi_dist collectives over MPI point-to-point
 * messages, each with a deadline, and the entry point. Built only with MPI
 * (scripts/list-sources.sh lib-mpi). */
#include "disent_mpi.h"

#include "api/dataset.h"
#include "api/fit.h"
#include "core/options.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/dist.h"
#include "core/error.h"

#include <mpi.h>

#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

typedef struct mpi_ctx {
    MPI_Comm comm;
    int rank, size;
    double timeout, start_timeout;
    int started;             /* the first collective is done */
    void *recv;              /* ring receive buffer: one chunk */
    size_t recv_bytes;
    int64_t reductions;      /* gradient sums (sum_f, or a step's reduce_scatter_f) */
    double bytes, seconds;   /* sent by the last one, and the total time in them */
    double rs_seconds, ag_seconds; /* of which in the steps' reduce-scatters and all-gathers */
    int step_open;           /* between a step's reduce_scatter_f and its all_gather_f */
    double wait_seconds, wait_cpu; /* wall and CPU seconds in wait_all (waiting for the other processes, and the transfers) */
    /* all processes on one node: weights and gradients in one shared window
     * (shared_buffers), which every process reads directly */
    MPI_Win win;
    int have_win;
    size_t sh_n;             /* floats in each process's weights and gradients */
    float **sh_w, **sh_data, **sh_grad; /* per process: its weight slot, weights, gradients */
} mpi_ctx;

static _Thread_local int64_t stat_reductions;
static _Thread_local double stat_bytes, stat_seconds, stat_wait, stat_wait_cpu;
static _Thread_local int stat_shm;

void dsi_mpi_fit_wait(double *wait_seconds, double *wait_cpu, int *shared)
{
    *wait_seconds = stat_wait;
    *wait_cpu = stat_wait_cpu;
    *shared = stat_shm;
}

static double cpu_now(void) { return dsi_cpu_seconds(); }
static double now(void) { return dsi_wall_seconds(); }

/* Wait for n requests or until the deadline; `peer` names the process the
 * messages come from (-1: a collective). */
static dsn_status wait_all(mpi_ctx *c, MPI_Request *req, int n, int peer, const char *what)
{
    double limit = c->started ? c->timeout : c->start_timeout, t0 = now(), c0 = cpu_now();
    int spins = 0;
    for (;;) {
        int done = 0;
        if (MPI_Testall(n, req, &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
            return dsi_error(DSN_E_IO, "MPI error during %s", what);
        if (done) {
            c->wait_seconds += now() - t0;
            c->wait_cpu += cpu_now() - c0;
            return DSN_OK;
        }
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

/* The ring collectives over P chunks, process r owning chunk r
 * (dsi_dist_chunk). Reduce-scatter: in step s (0 .. P-2) process r sends
 * chunk r-s-1 to its right and receives chunk r-s-2 from its left, adding its
 * own weighted values to it, so chunk q is summed in the fixed order
 * w v_{q+1} + w v_{q+2} + ... + w v_q (mod P) whatever the timing. All-gather:
 * in step s process r sends chunk r-s and receives chunk r-s-1 into place.
 * The result depends only on the data and P, and every process receives the
 * same bits. Elements are floats, or doubles when dbl. */
/* dst = src + w dst and x *= w over floats, four lanes at a time (GCC/clang
 * vector extensions; the loads and stores go through memcpy, so any
 * alignment): each lane rounds the product then the sum, as the scalar tail
 * does, so the bits do not depend on where a chunk starts. */
typedef float ring_v4 __attribute__((vector_size(16)));

static void add_scaled(float *restrict dst, const float *restrict src, float w, size_t n)
{
    const ring_v4 W = {w, w, w, w};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        ring_v4 a0, a1, b0, b1;
        memcpy(&a0, dst + i, 16);
        memcpy(&a1, dst + i + 4, 16);
        memcpy(&b0, src + i, 16);
        memcpy(&b1, src + i + 4, 16);
        a0 = b0 + W * a0;
        a1 = b1 + W * a1;
        memcpy(dst + i, &a0, 16);
        memcpy(dst + i + 4, &a1, 16);
    }
    for (; i < n; i++) dst[i] = src[i] + w * dst[i];
}

static void scale(float *x, float w, size_t n)
{
    const ring_v4 W = {w, w, w, w};
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        ring_v4 a;
        memcpy(&a, x + i, 16);
        a = W * a;
        memcpy(x + i, &a, 16);
    }
    for (; i < n; i++) x[i] *= w;
}

#define CH_LO(q) ((size_t)(q) * n / (size_t)P)
#define CH_N(q) (CH_LO((q) + 1) - CH_LO(q))

static dsn_status ring_check(mpi_ctx *c, size_t n, size_t es)
{
    size_t P = (size_t)c->size, maxchunk = (n + P - 1) / P;
    if (maxchunk > (size_t)INT32_MAX) return dsi_error(DSN_E_INVALID, "a sum of %zu values is too long for MPI", n);
    if (maxchunk * es > c->recv_bytes) {
        void *p = dsi_aligned_alloc(maxchunk * es);
        if (!p) return dsi_error(DSN_E_NOMEM, "no memory for the %zu-byte receive buffer", maxchunk * es);
        dsi_aligned_free(c->recv);
        c->recv = p;
        c->recv_bytes = maxchunk * es;
    }
    return DSN_OK;
}

static dsn_status ring_reduce_scatter(mpi_ctx *c, void *buf, size_t n, int dbl, double w)
{
    int P = c->size, r = c->rank;
    if (P == 1 || n == 0) return DSN_OK;
    size_t es = dbl ? sizeof(double) : sizeof(float);
    dsn_status st = ring_check(c, n, es);
    if (st != DSN_OK) return st;
    MPI_Datatype type = dbl ? MPI_DOUBLE : MPI_FLOAT;
    int right = (r + 1) % P, left = (r + P - 1) % P;
    char *b = buf;
    const float wf = (float)w;
    {   /* the chunk this process starts: its own values, weighted (never needed unweighted again) */
        int q = (r + P - 1) % P;
        size_t lo = CH_LO(q), cn = CH_N(q);
        if (w != 1.0) {
            if (dbl) for (size_t i = 0; i < cn; i++) ((double *)b)[lo + i] *= w;
            else scale((float *)b + lo, wf, cn);
        }
    }
    for (int s = 0; s < P - 1; s++) {
        int send = (r - s - 1 + 2 * P) % P, recv = (r - s - 2 + 2 * P) % P;
        MPI_Request req[2];
        MPI_Irecv(c->recv, (int)CH_N(recv), type, left, 1, c->comm, &req[0]);
        MPI_Isend(b + CH_LO(send) * es, (int)CH_N(send), type, right, 1, c->comm, &req[1]);
        st = wait_all(c, req, 2, left, "the gradient sum");
        if (st != DSN_OK) return st;
        size_t lo = CH_LO(recv), cn = CH_N(recv);
        if (dbl) {
            double *dst = (double *)b + lo, *src = c->recv;
            if (w != 1.0) for (size_t i = 0; i < cn; i++) dst[i] = src[i] + w * dst[i];
            else for (size_t i = 0; i < cn; i++) dst[i] = src[i] + dst[i];
        } else {
            if (w != 1.0) add_scaled((float *)b + lo, c->recv, wf, cn);
            else add_scaled((float *)b + lo, c->recv, 1.0f, cn) /* w = 1: the product is exact, the same bits as a plain sum */;
        }
    }
    c->started = 1;
    return DSN_OK;
}

static dsn_status ring_all_gather(mpi_ctx *c, void *buf, size_t n, int dbl)
{
    int P = c->size, r = c->rank;
    if (P == 1 || n == 0) return DSN_OK;
    size_t es = dbl ? sizeof(double) : sizeof(float);
    if ((n + (size_t)P - 1) / (size_t)P > (size_t)INT32_MAX)
        return dsi_error(DSN_E_INVALID, "an all-gather of %zu values is too long for MPI", n);
    MPI_Datatype type = dbl ? MPI_DOUBLE : MPI_FLOAT;
    int right = (r + 1) % P, left = (r + P - 1) % P;
    char *b = buf;
    for (int s = 0; s < P - 1; s++) {
        int send = (r - s + 2 * P) % P, recv = (r - s - 1 + 2 * P) % P;
        MPI_Request req[2];
        MPI_Irecv(b + CH_LO(recv) * es, (int)CH_N(recv), type, left, 2, c->comm, &req[0]);
        MPI_Isend(b + CH_LO(send) * es, (int)CH_N(send), type, right, 2, c->comm, &req[1]);
        dsn_status st = wait_all(c, req, 2, left, "the gradient sum");
        if (st != DSN_OK) return st;
    }
    c->started = 1;
    return DSN_OK;
}
#undef CH_LO
#undef CH_N

/* In-place sum over processes: reduce-scatter then all-gather. */
static dsn_status ring_sum(mpi_ctx *c, void *buf, size_t n, int dbl)
{
    dsn_status st = ring_reduce_scatter(c, buf, n, dbl, 1.0);
    return st == DSN_OK ? ring_all_gather(c, buf, n, dbl) : st;
}

/* ---- one node: the shared window ----
 * Each process's segment holds its weight slot, its weights and its
 * gradients (dsn_fit swaps the model's buffers for these for the run), so a
 * process sums its chunk straight from every process's gradients and copies
 * the others' updated chunks straight from their weights: one pass each, no
 * message copies. Every read of another's segment sits between barriers:
 * after the backward pass (the gradients are complete), the small sum that
 * follows the reduction (nobody zeroes its gradients before everyone has read
 * them), before the copy of the weights (every chunk is updated) and after it
 * (nobody changes its weights - the next update, a VQ-VAE codebook step -
 * while another still copies them). */
static dsn_status shm_barrier(mpi_ctx *c, const char *what)
{
    MPI_Win_sync(c->win);
    MPI_Request req;
    if (MPI_Ibarrier(c->comm, &req) != MPI_SUCCESS) return dsi_error(DSN_E_IO, "MPI error in a barrier (%s)", what);
    /* (two processes: the one waited for is the other) */
    dsn_status st = wait_all(c, &req, 1, c->size == 2 ? 1 - c->rank : -1, what);
    MPI_Win_sync(c->win);
    return st;
}

/* v (n floats) inside this process's shared gradients or weights: its offset there, or -1 */
static long shm_offset(const mpi_ctx *c, float *const *base, const float *v, size_t n)
{
    if (!c->have_win) return -1;
    const float *b = base[c->rank];
    if (v < b || v + n > b + c->sh_n) return -1;
    return (long)(v - b);
}

/* out[i] = wa a[i] + wb b[i], i < n; out may be a or b (each element is
 * read before it is written); wa = 1 adds a unchanged */
static void shm_axpy(float *out, const float *a, float wa, const float *b, float wb, size_t n)
{
    const ring_v4 WA = {wa, wa, wa, wa}, WB = {wb, wb, wb, wb};
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        ring_v4 x, y;
        memcpy(&x, a + i, 16);
        memcpy(&y, b + i, 16);
        x = WA * x + WB * y;
        memcpy(out + i, &x, 16);
    }
    for (; i < n; i++) out[i] = wa * a[i] + wb * b[i];
}

static dsn_status shm_reduce(mpi_ctx *c, float *v, size_t off, size_t n, float weight)
{
    int P = c->size, r = c->rank;
    *c->sh_w[r] = weight;
    dsn_status st = shm_barrier(c, "the gradient sum");
    if (st != DSN_OK) return st;
    size_t lo, hi;
    dsi_dist_chunk(n, r, P, &lo, &hi);
    if (P > 2 && (st = ring_check(c, n, sizeof(float))) != DSN_OK) return st;
    /* the ring's order for chunk r: w v_{r+1} + w v_{r+2} + ... + w v_r, the
     * own gradient last (v itself; with more than two processes the partial
     * sums go to the receive buffer) */
    float *acc = P == 2 ? v + lo : c->recv;
    for (int k = 1; k < P; k++) {
        int p = (r + 1 + k) % P, q = (r + 1) % P;
        float *out = k == P - 1 ? v + lo : acc;
        if (k == 1) shm_axpy(out, c->sh_grad[q] + off + lo, *c->sh_w[q], c->sh_grad[p] + off + lo, *c->sh_w[p], hi - lo);
        else shm_axpy(out, acc, 1.0f, c->sh_grad[p] + off + lo, *c->sh_w[p], hi - lo);
    }
    return DSN_OK;
}

static dsn_status shm_gather(mpi_ctx *c, float *v, size_t off, size_t n)
{
    int P = c->size, r = c->rank;
    dsn_status st = shm_barrier(c, "the gradient sum");
    if (st != DSN_OK) return st;
    for (int p = 0; p < P; p++) {
        if (p == r) continue;
        size_t lo, hi;
        dsi_dist_chunk(n, p, P, &lo, &hi);
        memcpy(v + lo, c->sh_data[p] + off + lo, (hi - lo) * sizeof(float));
    }
    return shm_barrier(c, "the gradient sum");
}

static void shm_free(mpi_ctx *c)
{
    if (c->have_win) {
        MPI_Win_unlock_all(c->win);
        MPI_Win_free(&c->win);
    }
    free(c->sh_w);
    c->sh_w = c->sh_data = c->sh_grad = NULL;
    c->have_win = 0;
    c->sh_n = 0;
}

/* dsi_dist.shared_buffers: when every process runs on this node, one window
 * with a segment per process; otherwise *data = *grad = NULL. */
static dsn_status shared_buffers(void *ctx, size_t n, float **data, float **grad)
{
    mpi_ctx *c = ctx;
    *data = *grad = NULL;
    if (c->size == 1 || c->have_win || getenv("DSN_MPI_NO_SHM")) return DSN_OK;
    MPI_Comm node;
    if (MPI_Comm_split_type(c->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) != MPI_SUCCESS)
        return DSN_OK;
    int nsize = 0;
    MPI_Comm_size(node, &nsize);
    MPI_Comm_free(&node);
    if (nsize != c->size) return DSN_OK; /* several nodes: the ring (the same answer everywhere) */
    /* segment: 64 bytes of weight slot, the weights, the gradients (64-byte aligned) */
    size_t pad = (n * sizeof(float) + 63) / 64 * 64, seg = 64 + 2 * pad;
    float **tab = calloc(3 * (size_t)c->size, sizeof *tab);
    MPI_Info info;
    MPI_Info_create(&info);
    MPI_Info_set(info, "alloc_shared_noncontig", "true");
    void *base = NULL;
    /* a window that cannot be had is not an error (the ring works): for this
     * call only, MPI errors return */
    MPI_Errhandler eh;
    MPI_Comm_get_errhandler(c->comm, &eh);
    MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
    int ok = tab && MPI_Win_allocate_shared((MPI_Aint)seg, 64, info, c->comm, &base, &c->win) == MPI_SUCCESS;
    MPI_Comm_set_errhandler(c->comm, eh);
    MPI_Errhandler_free(&eh);
    MPI_Info_free(&info);
    int all = 0;
    /* every process must take the same path */
    if (MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, c->comm) != MPI_SUCCESS) all = 0;
    if (!all) {
        if (ok) MPI_Win_free(&c->win);
        free(tab);
        return DSN_OK;
    }
    MPI_Win_lock_all(MPI_MODE_NOCHECK, c->win);
    c->have_win = 1;
    c->sh_w = tab;
    c->sh_data = tab + c->size;
    c->sh_grad = tab + 2 * c->size;
    c->sh_n = n;
    for (int p = 0; p < c->size; p++) {
        MPI_Aint sz;
        int du;
        void *bp = NULL;
        MPI_Win_shared_query(c->win, p, &sz, &du, &bp);
        char *b = bp;
        c->sh_w[p] = (float *)b;
        c->sh_data[p] = (float *)(b + 64);
        c->sh_grad[p] = (float *)(b + 64 + pad);
    }
    *data = c->sh_data[c->rank];
    *grad = c->sh_grad[c->rank];
    return DSN_OK;
}

/* bytes this process sends in a reduce-scatter or an all-gather of n floats */
static double half_bytes(const mpi_ctx *c, size_t n)
{
    return (double)(c->size - 1) / (double)c->size * (double)n * sizeof(float);
}

static dsn_status sum_f(void *ctx, float *v, size_t n)
{
    mpi_ctx *c = ctx;
    double t0 = now();
    dsn_status st = ring_sum(c, v, n, 0);
    c->seconds += now() - t0;
    c->reductions++;
    c->bytes = 2.0 * half_bytes(c, n);
    return st;
}

/* The gradient sum of a step in two halves (fit_dist.c): a reduce-scatter
 * counts as the step's reduction; its all-gather adds its bytes and time. */
static dsn_status reduce_scatter_f(void *ctx, float *v, size_t n, float weight)
{
    mpi_ctx *c = ctx;
    double t0 = now();
    long off = shm_offset(c, c->sh_grad, v, n);
    dsn_status st = off >= 0 ? shm_reduce(c, v, (size_t)off, n, weight) : ring_reduce_scatter(c, v, n, 0, (double)weight);
    c->seconds += now() - t0;
    c->rs_seconds += now() - t0;
    c->reductions++;
    c->bytes = half_bytes(c, n);
    c->step_open = 1;
    return st;
}

static dsn_status all_gather_f(void *ctx, float *v, size_t n)
{
    mpi_ctx *c = ctx;
    double t0 = now();
    long off = shm_offset(c, c->sh_data, v, n);
    dsn_status st = off >= 0 ? shm_gather(c, v, (size_t)off, n) : ring_all_gather(c, v, n, 0);
    if (c->step_open) { /* a step's weights (not the optimizer state gathered at an epoch end) */
        c->seconds += now() - t0;
        c->ag_seconds += now() - t0;
        c->bytes += half_bytes(c, n);
        c->step_open = 0;
    }
    return st;
}

/* (the small sum of a step's gradient norm, loss and terms counts with it) */
static dsn_status sum_d(void *ctx, double *v, size_t n)
{
    mpi_ctx *c = ctx;
    double t0 = now();
    dsn_status st = ring_sum(c, v, n, 1);
    if (c->step_open) {
        c->seconds += now() - t0;
        c->bytes += 2.0 * half_bytes(c, n) * 2.0; /* doubles */
    }
    return st;
}

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
    dsi_dist d = {c.rank, c.size, &c, sum_f, sum_d, reduce_scatter_f, all_gather_f, bcast, gather_all, shared_buffers};
    st = dsi_fit_run(m, opt, train, valid, rest, progress, user, &d);
    stat_wait = c.wait_seconds;
    stat_wait_cpu = c.wait_cpu;
    stat_shm = c.have_win;
    /* (after a failure another process may never free its part: keep it) */
    if (st == DSN_OK) shm_free(&c);
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
