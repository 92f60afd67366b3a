/* gradcheck.c - finite-difference gradient checker (see gradcheck.h). */
#include "support/gradcheck.h"
#include "core/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gc_opts gc_defaults(void)
{
    gc_opts o = {1e-3, 1e-2, 2e-3, 0, 1};
    return o;
}

static double weighted(const dsi_var *out, const double *r)
{
    double s = 0.0;
    for (size_t i = 0; i < out->n; i++) s += r[i] * out->x[i];
    return s;
}

int gc_check(const char *name, gc_fn f, void *ctx, int nin, const gc_input *spec, const gc_opts *opts)
{
    gc_opts o = opts ? *opts : gc_defaults();
    dsi_rng rng;
    dsi_rng_seed(&rng, o.seed);
    dsi_var vars[8];
    dsi_var *in[8];
    if (nin > 8) return 1;
    for (int k = 0; k < nin; k++) {
        dsi_var *v = &vars[k];
        memset(v, 0, sizeof *v);
        v->nd = spec[k].nd;
        memcpy(v->shape, spec[k].shape, sizeof v->shape);
        v->n = dsi_shape_count(v->nd, v->shape);
        v->x = calloc(v->n ? v->n : 1, sizeof(float));
        v->g = spec[k].no_grad ? NULL : calloc(v->n ? v->n : 1, sizeof(float));
        float lo = spec[k].lo, hi = spec[k].hi;
        if (lo == hi) { lo = -1.0f; hi = 1.0f; }
        for (size_t i = 0; i < v->n; i++) {
            if (spec[k].values) { v->x[i] = spec[k].values[i]; continue; }
            float x;
            do x = lo + (hi - lo) * dsi_rng_uniform(&rng);
            while (fabsf(x) < spec[k].min_abs);
            v->x[i] = x;
        }
        in[k] = v;
    }
    dsi_tape t;
    dsi_tape_init(&t);
    int bad = 0;
    dsi_var *out = f(&t, in, ctx);
    if (!out || t.status != DSN_OK) {
        fprintf(stderr, "gradcheck %s: forward failed: %s\n", name, dsn_last_error());
        bad = 1;
        goto done;
    }
    size_t nout = out->n;
    double *r = malloc(sizeof(double) * (nout ? nout : 1));
    float *rf = malloc(sizeof(float) * (nout ? nout : 1));
    for (size_t i = 0; i < nout; i++) {
        rf[i] = dsi_rng_uniform(&rng) * 2.0f - 1.0f;
        r[i] = rf[i];
    }
    if (dsi_tape_backward_seed(&t, out, rf) != DSN_OK) {
        fprintf(stderr, "gradcheck %s: backward failed: %s\n", name, dsn_last_error());
        bad = 1;
        goto free_r;
    }
    int reported = 0;
    for (int k = 0; k < nin; k++) {
        dsi_var *v = in[k];
        if (!v->g) continue;
        float *ga = malloc(sizeof(float) * (v->n ? v->n : 1));
        memcpy(ga, v->g, sizeof(float) * v->n);
        size_t checks = o.max_checks > 0 && (size_t)o.max_checks < v->n ? (size_t)o.max_checks : v->n;
        for (size_t c = 0; c < checks; c++) {
            size_t i = checks == v->n ? c : (size_t)dsi_rng_below(&rng, v->n);
            float x0 = v->x[i];
            double h = o.eps * fmax(1.0, fabs(x0));
            v->x[i] = (float)(x0 + h);
            double hp = (double)v->x[i] - x0;
            dsi_tape_reset(&t);
            dsi_var *op = f(&t, in, ctx);
            double lp = op ? weighted(op, r) : NAN;
            v->x[i] = (float)(x0 - h);
            double hm = x0 - (double)v->x[i];
            dsi_tape_reset(&t);
            dsi_var *om = f(&t, in, ctx);
            double lm = om ? weighted(om, r) : NAN;
            v->x[i] = x0;
            double num = (lp - lm) / (hp + hm);
            double ana = ga[i];
            double err = fabs(ana - num), tol = o.atol + o.rtol * fmax(fabs(ana), fabs(num));
            if (!(err <= tol)) {
                if (reported++ < 8)
                    fprintf(stderr, "gradcheck %s: input %d index %zu: analytic %.6g numeric %.6g\n", name, k, i,
                            ana, num);
                bad++;
            }
        }
        free(ga);
    }
free_r:
    free(r);
    free(rf);
done:
    dsi_tape_release(&t);
    for (int k = 0; k < nin; k++) {
        free(vars[k].x);
        free(vars[k].g);
    }
    return bad;
}
