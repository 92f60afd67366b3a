/* tape.c - the per-step tape: var allocation, node recording, backward walk. */
#include "autodiff/tape.h"
#include "core/pool.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void dsi_tape_init(dsi_tape *t)
{
    memset(t, 0, sizeof *t);
    dsi_arena_init(&t->arena);
    t->recording = 1;
}

void dsi_tape_release(dsi_tape *t)
{
    dsi_arena_release(&t->arena);
    memset(t, 0, sizeof *t);
}

void dsi_tape_reset(dsi_tape *t)
{
    dsi_arena_reset(&t->arena);
    t->last = NULL;
    t->n_nodes = 0;
    t->status = DSN_OK;
}

void dsi_tape_set_recording(dsi_tape *t, int on) { t->recording = on != 0; }

void *dsi_tape_fail(dsi_tape *t, dsn_status st, const char *fmt, ...)
{
    if (t->status == DSN_OK) {
        char msg[768];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        t->status = st;
        dsi_error(st, "%s", msg);
    }
    return NULL;
}

void *dsi_tape_scratch(dsi_tape *t, size_t bytes)
{
    void *p = dsi_arena_alloc(&t->arena, bytes);
    if (!p) dsi_tape_fail(t, DSN_E_NOMEM, "out of memory for %zu bytes of step scratch", bytes);
    return p;
}

/* a var of that shape on the tape's scratch, without data */
static dsi_var *var_header(dsi_tape *t, int nd, const int *shape)
{
    if (nd < 0 || nd > DSI_MAXDIM) return dsi_tape_fail(t, DSN_E_INTERNAL, "tensor rank %d out of range", nd);
    for (int i = 0; i < nd; i++)
        if (shape[i] < 0) return dsi_tape_fail(t, DSN_E_SHAPE, "negative dimension %d", shape[i]);
    dsi_var *v = dsi_tape_scratch(t, sizeof *v);
    if (!v) return NULL;
    memset(v, 0, sizeof *v);
    v->nd = nd;
    for (int i = 0; i < nd; i++) v->shape[i] = shape[i];
    v->n = dsi_shape_count(nd, shape);
    return v;
}

dsi_var *dsi_tape_new(dsi_tape *t, int nd, const int *shape, int need_grad)
{
    dsi_var *v = var_header(t, nd, shape);
    if (!v) return NULL;
    v->x = dsi_tape_scratch(t, v->n * sizeof(float));
    if (!v->x) return NULL;
    if (need_grad && t->recording) {
        v->g = dsi_arena_alloc(&t->arena, v->n * sizeof(float));
        if (!v->g) return dsi_tape_fail(t, DSN_E_NOMEM, "out of memory for a gradient");
        dsi_pool_zero(v->g, v->n); /* large gradients zeroed on the pool */
    }
    return v;
}

dsi_var *dsi_tape_new2(dsi_tape *t, int d0, int d1, int need_grad)
{
    int s[2] = {d0, d1};
    return dsi_tape_new(t, 2, s, need_grad);
}

dsi_var *dsi_tape_zeros(dsi_tape *t, int nd, const int *shape, int need_grad)
{
    dsi_var *v = dsi_tape_new(t, nd, shape, need_grad);
    if (v) memset(v->x, 0, v->n * sizeof(float));
    return v;
}

dsi_var *dsi_tape_wrap(dsi_tape *t, const float *data, int nd, const int *shape)
{
    if (!data) return dsi_tape_fail(t, DSN_E_INVALID, "input data is NULL");
    dsi_var *v = var_header(t, nd, shape);
    if (!v) return NULL;
    v->x = (float *)data; /* never written: vars without g are read-only by convention */
    return v;
}

dsi_var *dsi_tape_const(dsi_tape *t, const float *data, int nd, const int *shape)
{
    dsi_var *v = dsi_tape_new(t, nd, shape, 0);
    if (v) memcpy(v->x, data, v->n * sizeof(float));
    return v;
}

int dsi_tape_needs_grad(const dsi_tape *t, int nin, dsi_var *const *in)
{
    if (!t->recording) return 0;
    for (int i = 0; i < nin; i++)
        if (in[i] && in[i]->g) return 1;
    return 0;
}

dsi_node *dsi_tape_record(dsi_tape *t, dsi_backward_fn fn, dsi_var *out, int nin, dsi_var *const *in)
{
    if (!t->recording || !out || !out->g) return NULL;
    if (nin > DSI_NODE_MAXIN) return dsi_tape_fail(t, DSN_E_INTERNAL, "too many op inputs (%d)", nin);
    dsi_node *n = dsi_tape_scratch(t, sizeof *n);
    if (!n) return NULL;
    memset(n, 0, sizeof *n);
    n->backward = fn;
    n->out = out;
    n->nin = nin;
    for (int i = 0; i < nin; i++) n->in[i] = in[i];
    n->tape = t;
    n->prev = t->last;
    t->last = n;
    t->n_nodes++;
    return n;
}

dsn_status dsi_tape_backward(dsi_tape *t, dsi_var *loss)
{
    if (t->status != DSN_OK) return t->status;
    if (!loss) return dsi_error(DSN_E_INTERNAL, "backward from a NULL loss");
    if (loss->n != 1) return dsi_error(DSN_E_INTERNAL, "backward needs a scalar loss, got %zu values", loss->n);
    if (!loss->g) return DSN_OK; /* nothing depends on a trainable parameter */
    loss->g[0] += 1.0f;
    for (dsi_node *n = t->last; n; n = n->prev) n->backward(n);
    return t->status;
}

dsn_status dsi_tape_backward_seed(dsi_tape *t, dsi_var *out, const float *seed)
{
    if (t->status != DSN_OK) return t->status;
    if (!out) return dsi_error(DSN_E_INTERNAL, "backward from a NULL var");
    if (!out->g) return DSN_OK;
    for (size_t i = 0; i < out->n; i++) out->g[i] += seed[i];
    for (dsi_node *n = t->last; n; n = n->prev) n->backward(n);
    return t->status;
}

int dsi_same_shape(const dsi_var *a, const dsi_var *b)
{
    if (a->nd != b->nd) return 0;
    for (int i = 0; i < a->nd; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

const char *dsi_shape_str(const dsi_var *v, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < v->nd && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, i ? ",%d" : "%d", v->shape[i]);
    if (k < len) snprintf(buf + k, len - k, "]");
    return buf;
}
