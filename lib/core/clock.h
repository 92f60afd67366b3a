/* clock.h - the library's one reading of the clocks (internal): seconds as
 * a double, for timings in the training log, the trainer's wall-time limits
 * and the MPI statistics. */
#ifndef DSI_CORE_CLOCK_H
#define DSI_CORE_CLOCK_H

/* Monotonic wall time in seconds (CLOCK_MONOTONIC: only differences mean
 * anything). Thread-safe, allocates nothing. */
double dsi_wall_seconds(void);

/* CPU time of the whole process in seconds (CLOCK_PROCESS_CPUTIME_ID, all
 * threads). Thread-safe, allocates nothing. */
double dsi_cpu_seconds(void);

#endif
