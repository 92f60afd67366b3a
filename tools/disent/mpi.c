/* mpi.c - `mpirun -np N disent train ...`: the CLI's side of data-parallel
 * training (docs/scale-out.md). Built with MPI (DSN_WITH_MPI) it starts MPI
 * when an MPI launcher started the program (mpirun, srun) and trains with
 * dsn_fit_mpi over MPI_COMM_WORLD; otherwise these are single-process
 * stand-ins and `disent` never touches MPI. */
#include "cli.h"

#ifdef DSN_WITH_MPI
#include <disent_mpi.h>
#include <mpi.h>
#endif

#include <stdlib.h>

static int world_rank = 0, world_size = 1;
#ifdef DSN_WITH_MPI
static int started = 0;
#endif

int cli_mpi_start(int *argc, char ***argv)
{
#ifdef DSN_WITH_MPI
    /* only under a launcher: OpenMPI's mpirun, PMI (MPICH, Slurm) or PMIx */
    if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK")) {
        if (MPI_Init(argc, argv) != MPI_SUCCESS) return -1;
        started = 1;
        MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
        MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    }
#else
    (void)argc;
    (void)argv;
#endif
    return world_size;
}

int cli_mpi_rank(void) { return world_rank; }
int cli_mpi_size(void) { return world_size; }

int cli_mpi_any(int flag)
{
#ifdef DSN_WITH_MPI
    if (world_size > 1) {
        int any = 0;
        MPI_Allreduce(&flag, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        return any;
    }
#endif
    return flag;
}

dsn_status cli_fit(dsn_model *m, dsn_optimizer *opt, const dsn_dataset *train, const dsn_dataset *valid,
                   const dsn_options *opts, dsn_progress_fn progress, void *user)
{
#ifdef DSN_WITH_MPI
    if (world_size > 1) return dsn_fit_mpi(m, opt, train, valid, opts, progress, user, NULL);
#endif
    return dsn_fit(m, opt, train, valid, opts, progress, user);
}

int cli_mpi_stats(int64_t *reductions, double *bytes, double *seconds)
{
#ifdef DSN_WITH_MPI
    if (world_size > 1) {
        dsn_mpi_fit_stats(reductions, bytes, seconds);
        return 1;
    }
#endif
    (void)reductions;
    (void)bytes;
    (void)seconds;
    return 0;
}

int cli_mpi_end(int rc)
{
#ifdef DSN_WITH_MPI
    if (started) {
        /* a failure may leave another process waiting: end the whole job */
        if (rc != 0 && rc != 130 && world_size > 1) MPI_Abort(MPI_COMM_WORLD, rc);
        MPI_Finalize();
    }
#endif
    return rc;
}
