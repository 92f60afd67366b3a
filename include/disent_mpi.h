/*
 * disent_mpi.h - data-parallel training over MPI (optional part of libdisent).
 *
 * Present only when libdisent was built with MPI (`make MPI=1`, or found by
 * `make` / `meson -Dmpi=auto`); disent.h itself never mentions MPI, and this
 * header does not include <mpi.h>: the communicator is passed as an opaque
 * pointer. DSN_HAVE_MPI is defined to 1 here so a host can check at compile
 * time; a host linked against a build without MPI fails to link
 * dsn_fit_mpi.
 *
 * The host initialises MPI (MPI_Init or MPI_Init_thread), calls dsn_fit_mpi
 * on every process of the communicator with the same model, optimizer,
 * options and data sets, and finalises MPI. See docs/scale-out.md.
 */
#ifndef DISENT_MPI_H
#define DISENT_MPI_H

#include "disent.h"

#define DSN_HAVE_MPI 1 /* this library was built with MPI (dsn_fit_mpi is there) */

#ifdef __cplusplus
extern "C" {
#endif

/* dsn_fit over the processes of an MPI communicator: data-parallel training
 * that gives what one process gives with the same global batch drawn from
 * as many shards (dsn_fit with data_shards = P).
 *
 * comm: the address of the host's MPI_Comm (e.g. `MPI_Comm c = MPI_COMM_WORLD;
 * dsn_fit_mpi(..., &c)`), or NULL for MPI_COMM_WORLD. The library duplicates
 * it for the call and frees the duplicate before returning.
 *
 * What each process does:
 *  - start: the model family and options, optimizer, fit options, parameter
 *    count, data set sizes and a sample of the rows, epochs and steps done are
 *    gathered from every process and compared; a mismatch fails on every
 *    process with DSN_E_INVALID naming the first difference. Then process 0's
 *    parameters, optimizer state and training RNG are broadcast, so all
 *    start alike (a fresh model or one resumed from a checkpoint).
 *  - data: each process trains on its own shard of the training set
 *    (dsn_dataset_shard: rows, or whole groups for a grouped model, in
 *    proportion to its part of the batch). train is either that shard (the
 *    host loaded only it: the memory of one shard per process) or the whole
 *    set, from which the process copies its shard for the call.
 *  - batches: a global batch (batch_size items, or batch_groups groups of
 *    group_size, as dsn_fit) is split by units (groups, or items): process r
 *    of P draws units [G r / P, G (r + 1) / P) from its shard with its own
 *    sampler, seeded from the fit seed, the epoch and r - what dsn_fit draws
 *    with data_shards = P. A global batch of fewer units than processes fails
 *    with DSN_E_OPTION on every process; so does a shard smaller than its
 *    part of the batch (DSN_E_INVALID), a process holding another's shard,
 *    or whole-set sizes that differ. Random noise (reparameterisation) is
 *    drawn for the whole global batch and each process uses its rows, so the
 *    draws equal one process's.
 *  - each step: forward and backward on the local part, then the gradient
 *    sum over processes, weighted by each part's share of the global batch,
 *    split in its two halves around the optimizer: a ring reduce-scatter of
 *    the flat gradient buffer leaves each process the global-batch mean
 *    gradient of its 1/P chunk of the parameters; one small sum (of the
 *    chunks' squared gradient norms, the loss and its terms) gives every
 *    process the global gradient norm and loss; each process runs the
 *    optimizer on its chunk only; a ring all-gather of the weights gives all
 *    of them every updated weight. Each process sends 2 (P-1)/P x params x 4
 *    bytes per step (+ 2 (P-1)/P x 152 bytes), as one all-reduce would. The
 *    collectives are written here, not MPI's: the order of additions depends
 *    only on P and the buffer length, and every process receives the same
 *    bits, so the processes never drift apart. The optimizer moments outside
 *    a process's chunk are gathered at the end of every epoch (before a
 *    checkpoint, a stage switch and the return), so after the call every
 *    process holds the whole, identical optimizer state. When all processes
 *    run on one node, the model's weights and gradients live for the call
 *    in an MPI shared-memory window (copied in at the start and back before
 *    the return, also after a failure) and the two halves read the other
 *    processes' buffers directly instead of sending messages; the result is
 *    bit for bit the ring's. The environment variable DSN_MPI_NO_SHM=1
 *    forces the message ring.
 *  - model state outside the gradients: VQ-VAE's EMA counts and sums are
 *    summed over processes before each update; k-means seeding and dead-code
 *    restarts (which use a process's own recent vectors) take process 0's
 *    codebook. Stage switches (TS-DSAE) happen at the same epoch everywhere.
 *  - validation runs on the whole valid set on every process (the same value
 *    everywhere; it is not split). Early stopping and best weights therefore
 *    agree. Only process 0 writes the checkpoint; a failure to write it fails
 *    the call on every process at the end of that epoch.
 *  - progress: the callback is called on every process with the global
 *    (reduced) values; a host prints on process 0 only. A non-zero return on
 *    any process stops all of them after the same step.
 *
 * Equal to one process? The gradient of the global batch is the weighted sum
 * of the parts' gradients, so the result matches one process training on the
 * same global batches (data_shards = P) up to float rounding (the tests check 1e-6 relative after
 * 50 steps), when the loss is a mean over items or groups: true of ML-VAE
 * (groups are never split), VQ-VAE (EMA included, restarts excepted) and
 * DSAE / TS-DSAE without frame masks and without the swap regularisers
 * (those pair items across the whole batch and are computed within each part).
 *
 * Extra options (besides dsn_fit's): mpi_timeout (seconds, 300): a collective
 * that waits longer than this for another process fails with DSN_E_IO
 * ("process k did not answer ..."); mpi_start_timeout (seconds, 120) for the
 * first one (data loading may differ between processes). After any failure
 * the communicator may hold unfinished messages: end the run with
 * MPI_Abort (the `disent` CLI does) rather than another collective.
 *
 * Returns DSN_E_STATE if MPI is not initialised. After any other failure
 * than a stop on non-finite steps (DSN_E_NUMERIC, which gathers the state
 * too), the weights are those of the last step on every process but the
 * optimizer moments may be current only in each process's chunk. Allocates
 * like dsn_fit plus one receive buffer of params / P floats, a copy of its
 * shard when train is the whole set, and, on one node, the shared window
 * (2 x params floats per process); no allocation per step. Not
 * thread-safe with other MPI use on the same communicator during the call. */
DSN_API DSN_NODISCARD dsn_status dsn_fit_mpi(dsn_model *model, dsn_optimizer *opt, const dsn_dataset *train,
                                             const dsn_dataset *valid, const dsn_options *opts,
                                             dsn_progress_fn progress, void *user, const void *comm);

/* Communication measured during this thread's last dsn_fit_mpi: the number
 * of gradient sums, the bytes each process sent and received per sum, and
 * the wall seconds spent in them (waiting for slower processes included).
 * Any pointer may be NULL. No allocation. */
DSN_API void dsn_mpi_fit_stats(int64_t *reductions, double *bytes_per_reduction, double *seconds);

#ifdef __cplusplus
}
#endif

#endif
