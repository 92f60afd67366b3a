/* dist.h - the collectives a data-parallel trainer needs (internal).
 *
 * The library itself knows no message-passing system: lib/mpi (built only
 * with MPI) fills a dsi_dist with its communicator, and dsn_fit's engine, the
 * samplers' batch parts and the models that keep non-gradient state (VQ-VAE's
 * EMA codebook) use only these calls. Every call is collective: all `size`
 * processes make it, in the same order, with the same n. Sums are formed in an
 * order fixed by (size, n) alone, and every process receives the same bits.
 * A failure (a timeout waiting for a process that died or hangs, a transport
 * error) sets dsn_last_error() and returns its status; after one the
 * communicator is unusable and the caller ends the run. */
#ifndef DSI_CORE_DIST_H
#define DSI_CORE_DIST_H

#include "core/status.h"

#include <stddef.h>

typedef struct dsi_dist {
    int rank, size;
    void *ctx;
    /* in place: v[i] = sum over processes of v[i] */
    dsn_status (*sum_f)(void *ctx, float *v, size_t n);
    dsn_status (*sum_d)(void *ctx, double *v, size_t n);
    /* the two halves of sum_f, for a process that works on its chunk only
     * (dsi_dist_chunk): reduce_scatter_f leaves in this process's chunk of v
     * the sum over processes p of weight_p v_p[i] (each passes its own
     * weight; the rest of v is left in an unspecified state), all_gather_f
     * copies every process's chunk of v to all. Between them they send what
     * sum_f sends. */
    dsn_status (*reduce_scatter_f)(void *ctx, float *v, size_t n, float weight);
    dsn_status (*all_gather_f)(void *ctx, float *v, size_t n);
    /* in place: v = process root's v */
    dsn_status (*bcast)(void *ctx, void *v, size_t bytes, int root);
    /* out[r * bytes ..] = process r's in (out holds size * bytes) */
    dsn_status (*gather_all)(void *ctx, const void *in, size_t bytes, void *out);
    /* optional (may be NULL): two buffers of n floats, for the weights and
     * the gradients, in memory every process can read (all processes on one
     * node), valid until the run ends; *data = *grad = NULL when there are
     * none (the same answer on every process). A reduce_scatter_f of a span
     * of these gradients and an all_gather_f of a span of these weights then
     * read the other processes' buffers directly instead of sending
     * messages. */
    dsn_status (*shared_buffers)(void *ctx, size_t n, float **data, float **grad);
} dsi_dist;

/* lib/mpi, for bench/mpi: wall and CPU seconds this thread's last
 * dsn_fit_mpi spent waiting in collectives (transfers included), and whether
 * it used the shared buffers. */
void dsi_mpi_fit_wait(double *wait_seconds, double *wait_cpu, int *shared);

/* The chunk of n elements that process `rank` of `size` owns after a
 * reduce_scatter_f and sends in an all_gather_f: [n rank / size, n (rank + 1) / size). */
static inline void dsi_dist_chunk(size_t n, int rank, int size, size_t *lo, size_t *hi)
{
    *lo = n * (size_t)rank / (size_t)size;
    *hi = n * ((size_t)rank + 1) / (size_t)size;
}

#endif
