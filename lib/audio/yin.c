/* yin.c - YIN pitch tracker. */
#include "audio/yin.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

void dsi_yin_opts_default(dsi_yin_opts *o)
{
    o->window = 1024;
    o->hop = 256;
    o->fmin = 50.0f;
    o->fmax = 2000.0f;
    o->threshold = 0.15f;
    o->max_aperiodicity = 0.5f;
    o->silence = 1e-4f;
}

int dsi_yin_frames(const dsi_yin_opts *o, size_t n)
{
    if (!o || o->hop < 1) return 0;
    size_t t = 1 + n / (size_t)o->hop;
    return t > (size_t)(1 << 30) ? 0 : (int)t;
}

dsn_status dsi_yin(const float *x, size_t n, int sr, const dsi_yin_opts *o, float *f0, float *aperiodicity)
{
    DSI_CHECK_NULL(x, "x");
    DSI_CHECK_NULL(o, "options");
    DSI_CHECK_NULL(f0, "f0");
    if (sr < 1 || o->window < 8 || o->hop < 1 || !(o->fmin > 0) || !(o->fmax > o->fmin) ||
        !(o->threshold > 0) || o->fmax > sr / 2.0f)
        return dsi_error(DSN_E_INVALID, "bad YIN options (sr %d, window %d, hop %d, fmin %g, fmax %g)", sr,
                         o->window, o->hop, (double)o->fmin, (double)o->fmax);
    const int W = o->window;
    int tau_min = (int)floorf((float)sr / o->fmax), tau_max = (int)ceilf((float)sr / o->fmin);
    if (tau_min < 2) tau_min = 2;
    if (tau_max > 1 << 16) return dsi_error(DSN_E_INVALID, "fmin %g too low", (double)o->fmin);
    const int L = W + tau_max + 1;
    float *buf = dsi_malloc(sizeof(float) * (size_t)L);
    double *d = dsi_malloc(sizeof(double) * (size_t)(tau_max + 2));
    double *raw = dsi_malloc(sizeof(double) * (size_t)(tau_max + 2));
    if (!buf || !d || !raw) {
        dsi_free(buf);
        dsi_free(d);
        dsi_free(raw);
        return dsi_error(DSN_E_NOMEM, "cannot allocate YIN buffers");
    }
    const int T = dsi_yin_frames(o, n);
    for (int t = 0; t < T; t++) {
        long long start = (long long)t * o->hop - W / 2;
        for (int i = 0; i < L; i++) {
            long long j = start + i;
            buf[i] = (j >= 0 && j < (long long)n) ? x[j] : 0.0f;
        }
        double energy = 0;
        for (int j = 0; j < W; j++) energy += (double)buf[j] * buf[j];
        f0[t] = 0.0f;
        if (aperiodicity) aperiodicity[t] = 1.0f;
        if (sqrt(energy / W) < o->silence) continue;
        /* difference function */
        d[0] = 0;
        for (int tau = 1; tau <= tau_max; tau++) {
            double s = 0;
            const float *a = buf, *b = buf + tau;
            for (int j = 0; j < W; j++) {
                double v = (double)a[j] - b[j];
                s += v * v;
            }
            d[tau] = raw[tau] = s;
        }
        /* cumulative mean normalised difference */
        double run = 0;
        d[0] = 1.0;
        for (int tau = 1; tau <= tau_max; tau++) {
            run += d[tau];
            d[tau] = run > 0 ? d[tau] * tau / run : 1.0;
        }
        /* the absolute threshold, relaxed to (global minimum + 0.1) so that a
         * period whose dip is shallow (bowing noise, vibrato) still beats its
         * multiples, whose dips the cumulative normalisation deepens */
        double g = 1e30;
        for (int tau = tau_min; tau <= tau_max; tau++)
            if (d[tau] < g) g = d[tau];
        double thr = g + 0.1 > o->threshold ? g + 0.1 : o->threshold;
        int best = -1;
        if (g < o->max_aperiodicity)
            for (int tau = tau_min; tau <= tau_max; tau++) {
                if (d[tau] < thr) {
                    while (tau + 1 <= tau_max && d[tau + 1] < d[tau]) tau++;
                    best = tau;
                    break;
                }
            }
        if (best < 0) continue;
        double shift = 0;
        if (best > 1 && best < tau_max) {
            /* on the raw difference function, as in the paper (step 5) */
            double a = raw[best - 1], b = raw[best], c = raw[best + 1];
            double den = a - 2 * b + c;
            if (den > 0) shift = 0.5 * (a - c) / den;
            if (shift > 1 || shift < -1) shift = 0;
        }
        f0[t] = (float)(sr / (best + shift));
        if (aperiodicity) aperiodicity[t] = (float)d[best];
    }
    dsi_free(buf);
    dsi_free(d);
    dsi_free(raw);
    return DSN_OK;
}
