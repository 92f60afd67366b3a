/* params.c - flat parameter store with groups that can be frozen. */
#include "autodiff/params.h"
#include "core/alloc.h"
#include "core/finite.h"
#include "core/error.h"
#include "core/pool.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

void dsi_params_init(dsi_params *ps) { memset(ps, 0, sizeof *ps); }

void dsi_params_release(dsi_params *ps)
{
    dsi_aligned_free(ps->data);
    dsi_aligned_free(ps->grad);
    dsi_free(ps->list);
    memset(ps, 0, sizeof *ps);
}

int dsi_params_group(dsi_params *ps, const char *name)
{
    for (int i = 0; i < ps->n_groups; i++)
        if (strcmp(ps->group_names[i], name) == 0) return i;
    if (ps->n_groups == DSI_MAX_GROUPS || strlen(name) >= sizeof ps->group_names[0]) {
        dsi_error(DSN_E_INTERNAL, "cannot create parameter group '%s'", name);
        return -1;
    }
    strcpy(ps->group_names[ps->n_groups], name);
    ps->frozen[ps->n_groups] = 0;
    return ps->n_groups++;
}

int dsi_params_add(dsi_params *ps, const char *name, int group, int nd, const int *shape)
{
    if (ps->finalized || group < 0 || group >= ps->n_groups || nd < 1 || nd > DSI_MAXDIM ||
        strlen(name) >= DSI_PARAM_NAME || dsi_params_find(ps, name) >= 0) {
        dsi_error(DSN_E_INTERNAL, "cannot add parameter '%s'", name);
        return -1;
    }
    size_t count = 1;
    for (int i = 0; i < nd; i++) {
        if (shape[i] < 0 || (shape[i] > 0 && count > ((size_t)1 << 40) / (size_t)shape[i])) {
            dsi_error(DSN_E_INVALID, "parameter '%s' is too large or has a negative dimension", name);
            return -1;
        }
        count *= (size_t)shape[i];
    }
    if (ps->n + count + 16 > ((size_t)1 << 40)) { /* each term <= 2^40: no wrap */
        dsi_error(DSN_E_INVALID, "too many parameter values adding '%s'", name);
        return -1;
    }
    if (ps->count == ps->cap) {
        int cap = ps->cap ? 2 * ps->cap : 32;
        dsi_param *l = dsi_realloc(ps->list, sizeof *l * (size_t)ps->cap, sizeof *l * (size_t)cap);
        if (!l) {
            dsi_error(DSN_E_NOMEM, "out of memory adding parameter '%s'", name);
            return -1;
        }
        ps->list = l;
        ps->cap = cap;
    }
    dsi_param *p = &ps->list[ps->count];
    memset(p, 0, sizeof *p);
    strcpy(p->name, name);
    p->group = group;
    p->var.nd = nd;
    for (int i = 0; i < nd; i++) p->var.shape[i] = shape[i];
    p->var.n = dsi_shape_count(nd, shape);
    /* keep every parameter 16-float (64-byte) aligned inside the buffers */
    p->offset = ps->n;
    ps->n += (p->var.n + 15) & ~(size_t)15;
    return ps->count++;
}

dsn_status dsi_params_finalize(dsi_params *ps)
{
    if (ps->finalized) return DSN_OK;
    if (ps->limit) {
        size_t values = 0;
        for (int i = 0; i < ps->count; i++) values += ps->list[i].var.n;
        if (values > ps->limit)
            return dsi_error(DSN_E_FORMAT, "the options describe %zu parameter values, more than the %zu stored",
                             values, ps->limit);
    }
    if (ps->n > SIZE_MAX / sizeof(float) / 2) return dsi_error(DSN_E_NOMEM, "%zu parameters is too many", ps->n);
    size_t bytes = (ps->n ? ps->n : 1) * sizeof(float);
    ps->data = dsi_aligned_alloc(bytes);
    ps->grad = dsi_aligned_alloc(bytes);
    if (!ps->data || !ps->grad) return dsi_error(DSN_E_NOMEM, "out of memory for %zu parameters", ps->n);
    memset(ps->data, 0, bytes);
    memset(ps->grad, 0, bytes);
    for (int i = 0; i < ps->count; i++) {
        dsi_param *p = &ps->list[i];
        p->var.x = ps->data + p->offset;
        p->var.g = ps->frozen[p->group] ? NULL : ps->grad + p->offset;
    }
    ps->finalized = 1;
    return DSN_OK;
}

dsi_var *dsi_params_var(dsi_params *ps, int index)
{
    if (index < 0 || index >= ps->count) return NULL;
    return &ps->list[index].var;
}

int dsi_params_find(const dsi_params *ps, const char *name)
{
    for (int i = 0; i < ps->count; i++)
        if (strcmp(ps->list[i].name, name) == 0) return i;
    return -1;
}

void dsi_params_set_frozen(dsi_params *ps, int group, int frozen)
{
    if (group < 0 || group >= ps->n_groups) return;
    ps->frozen[group] = frozen != 0;
    if (!ps->finalized) return;
    for (int i = 0; i < ps->count; i++) {
        dsi_param *p = &ps->list[i];
        if (p->group != group) continue;
        p->var.g = frozen ? NULL : ps->grad + p->offset;
        memset(ps->grad + p->offset, 0, p->var.n * sizeof(float));
    }
}

int dsi_params_is_frozen(const dsi_params *ps, int group)
{
    return group >= 0 && group < ps->n_groups && ps->frozen[group];
}

void dsi_params_zero_grad(dsi_params *ps)
{
    if (ps->grad) dsi_pool_zero(ps->grad, ps->n); /* on the pool */
}

void dsi_params_init_glorot(dsi_params *ps, int index, int fan_in, int fan_out, float gain, dsi_rng *rng)
{
    dsi_var *v = dsi_params_var(ps, index);
    if (!v) return;
    float a = gain * sqrtf(6.0f / (float)(fan_in + fan_out));
    dsi_rng_fill_uniform(rng, v->x, v->n, -a, a);
}

void dsi_params_init_fanin(dsi_params *ps, int index, int fan_in, dsi_rng *rng)
{
    dsi_var *v = dsi_params_var(ps, index);
    if (!v) return;
    float a = 1.0f / sqrtf((float)(fan_in > 0 ? fan_in : 1));
    dsi_rng_fill_uniform(rng, v->x, v->n, -a, a);
}

void dsi_params_init_const(dsi_params *ps, int index, float value)
{
    dsi_var *v = dsi_params_var(ps, index);
    if (!v) return;
    for (size_t i = 0; i < v->n; i++) v->x[i] = value;
}

double dsi_params_grad_norm(const dsi_params *ps)
{
    double s = 0.0;
    for (int i = 0; i < ps->count; i++) {
        const dsi_param *p = &ps->list[i];
        if (ps->frozen[p->group]) continue;
        const float *g = ps->grad + p->offset;
        for (size_t k = 0; k < p->var.n; k++) s += (double)g[k] * g[k];
    }
    return sqrt(s);
}

double dsi_params_clip_grad(dsi_params *ps, double max_norm)
{
    double norm = dsi_params_grad_norm(ps);
    if (max_norm > 0 && norm > max_norm) {
        float s = (float)(max_norm / (norm + 1e-12));
        for (int i = 0; i < ps->count; i++) {
            dsi_param *p = &ps->list[i];
            if (ps->frozen[p->group]) continue;
            float *g = ps->grad + p->offset;
            for (size_t k = 0; k < p->var.n; k++) g[k] *= s;
        }
    }
    return norm;
}

int dsi_params_all_finite(const dsi_params *ps)
{
    for (int i = 0; i < ps->count; i++) {
        const dsi_param *p = &ps->list[i];
        const float *x = ps->data + p->offset, *g = ps->grad + p->offset;
        int fr = ps->frozen[p->group];
        if (!dsi_all_finite(x, p->var.n) || (!fr && !dsi_all_finite(g, p->var.n))) return 0;
    }
    return 1;
}
