/* clock.c - dsi_wall_seconds and dsi_cpu_seconds. */
#include "core/clock.h"

#include <time.h>

static double seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double dsi_wall_seconds(void) { return seconds(CLOCK_MONOTONIC); }

double dsi_cpu_seconds(void) { return seconds(CLOCK_PROCESS_CPUTIME_ID); }
