/* schedule.c - built-in learning-rate schedules: constant, step decay, cosine
 * with linear warm-up. */
#include "optim/optim.h"

#include <math.h>

float dsi_schedule_lr(const dsi_schedule *s, int64_t step, float base_lr)
{
    if (!s || step < 0) return base_lr;
    switch (s->kind) {
    case DSI_SCHED_STEP: {
        /* lr = base gamma^floor(step / step_size) */
        int64_t size = s->step_size > 0 ? s->step_size : 1;
        return (float)((double)base_lr * pow((double)s->gamma, (double)(step / size)));
    }
    case DSI_SCHED_COSINE: {
        /* warm-up: base (s+1)/W; then base (r + (1-r)(1 + cos(pi p))/2) */
        if (step < s->warmup) return (float)((double)base_lr * (double)(step + 1) / (double)s->warmup);
        int64_t span = s->total - s->warmup;
        double p = (double)(step - s->warmup) / (double)(span > 0 ? span : 1);
        if (p > 1.0) p = 1.0;
        double r = (double)s->min_ratio;
        return (float)((double)base_lr * (r + (1.0 - r) * 0.5 * (1.0 + cos(3.14159265358979323846 * p))));
    }
    case DSI_SCHED_CONSTANT:
    default:
        return base_lr;
    }
}

float dsi_schedule_fn(void *ctx, int64_t step, float base_lr)
{
    return dsi_schedule_lr((const dsi_schedule *)ctx, step, base_lr);
}
