/* optimizer.c - dsn_optimizer: options to a dsi_optim over the model's params. */
#include "api/describe.h"
#include "api/optimizer.h"
#include "core/options.h"
#include "core/alloc.h"
#include "core/error.h"
#include "io/modelfile.h"
#include "io/options.h"
#include "models/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define DSI_LR_MAX 1e3 /* largest learning rate the option and dsn_optimizer_set_lr accept */

/* The optimizer's and its schedule's options, over their defaults. */
static dsn_status read_options(const char *kind, const dsn_options *opts, dsi_optim_config *cfg, dsi_schedule *sched)
{
    static const char *const kinds[] = {"sgd", "adam", "adamw", NULL};
    int k = -1;
    for (int i = 0; kinds[i]; i++)
        if (!strcmp(kind, kinds[i])) k = i;
    if (k < 0) return dsi_error(DSN_E_OPTION, "unknown optimizer '%.32s' (known: sgd adam adamw)", kind);
    dsi_optim_config c = dsi_optim_defaults((dsi_optim_kind)k);
    dsi_optr r;
    dsn_status st = dsi_optr_init(&r, opts, kind);
    if (st != DSN_OK) return st;
    dsi_opt_float(&r, "lr", &c.lr, 0, DSI_LR_MAX);
    dsi_opt_float(&r, "beta1", &c.beta1, 0, 0.999999);
    dsi_opt_float(&r, "beta2", &c.beta2, 0, 0.999999);
    dsi_opt_float(&r, "eps", &c.eps, 1e-30, 1);
    dsi_opt_float(&r, "weight_decay", &c.weight_decay, 0, 1e3);
    dsi_opt_float(&r, "momentum", &c.momentum, 0, 0.999999);
    dsi_opt_bool(&r, "nesterov", &c.nesterov);
    dsi_opt_bool(&r, "amsgrad", &c.amsgrad);
    dsi_opt_float(&r, "clip_norm", &c.clip_norm, 0, 1e30);
    static const char *const scheds[] = {"constant", "step", "cosine", NULL};
    int sk = 0;
    dsi_schedule s = {DSI_SCHED_CONSTANT, 1000, 0.5f, 0, 10000, 0.0f};
    dsi_opt_enum(&r, "schedule", &sk, scheds);
    dsi_opt_i64(&r, "step_size", &s.step_size, 1, INT64_MAX);
    dsi_opt_float(&r, "gamma", &s.gamma, 0, 1);
    dsi_opt_i64(&r, "warmup", &s.warmup, 0, INT64_MAX);
    dsi_opt_i64(&r, "total_steps", &s.total, 1, INT64_MAX);
    dsi_opt_float(&r, "min_ratio", &s.min_ratio, 0, 1);
    st = dsi_optr_finish(&r);
    if (st != DSN_OK) return st;
    s.kind = (dsi_sched_kind)sk;
    *cfg = c;
    *sched = s;
    return DSN_OK;
}

dsn_status dsi_optimizer_read_defaults(const char *kind)
{
    dsi_optim_config c;
    dsi_schedule s;
    return read_options(kind, NULL, &c, &s);
}

static dsn_status configure(dsn_optimizer *o, const char *kind, const dsn_options *opts)
{
    dsi_optim_config c;
    dsi_schedule s;
    dsn_status st = read_options(kind, opts, &c, &s);
    if (st != DSN_OK) return st;
    o->schedule = s;
    st = dsi_optim_init(&o->optim, &o->model->params, &c);
    if (st == DSN_OK && s.kind != DSI_SCHED_CONSTANT) dsi_optim_set_schedule(&o->optim, dsi_schedule_fn, &o->schedule);
    return st;
}

dsn_status dsn_optimizer_create(dsn_optimizer **out, dsn_model *model, const char *kind, const dsn_options *opts)
{
    DSI_CHECK_NULL(out, "dsn_optimizer_create: out");
    *out = NULL;
    DSI_CHECK_NULL(model, "dsn_optimizer_create: model");
    dsn_optimizer *o = dsi_calloc(1, sizeof *o);
    if (!o) return dsi_error(DSN_E_NOMEM, "dsn_optimizer_create: out of memory");
    o->model = model;
    snprintf(o->kind, sizeof o->kind, "%s", kind ? kind : "adam");
    dsn_status st = dsn_options_create(&o->opts);
    for (size_t i = 0; st == DSN_OK && opts && i < opts->count; i++)
        st = dsn_options_set(o->opts, opts->items[i].key, opts->items[i].value);
    if (st == DSN_OK && model->vt->lr_default && !dsn_options_get(o->opts, "lr")) /* the family's own default */
        st = dsn_options_set(o->opts, "lr", model->vt->lr_default);
    if (st == DSN_OK) st = configure(o, o->kind, o->opts);
    if (st != DSN_OK) {
        dsi_error_prefix("dsn_optimizer_create");
        dsn_optimizer_free(o);
        return st;
    }
    *out = o;
    return DSN_OK;
}

dsn_status dsn_optimizer_load(dsn_optimizer **out, dsn_model *model, const char *path)
{
    DSI_CHECK_NULL(out, "dsn_optimizer_load: out");
    *out = NULL;
    DSI_CHECK_NULL(model, "dsn_optimizer_load: model");
    dsi_mfile_in f;
    dsn_status st = dsi_mfile_open(&f, path);
    if (st != DSN_OK) {
        dsi_error_prefix("dsn_optimizer_load");
        return st;
    }
    dsi_reader r;
    dsn_options *opts = NULL;
    char kind[16];
    if (!dsi_mfile_find(&f, "OPTC", &r) || dsi_read_str(&r, kind, sizeof kind))
        st = dsi_error(DSN_E_FORMAT, "'%s' holds no optimizer (it was saved without one)", path);
    else
        st = dsi_options_read(&r, &opts);
    dsn_optimizer *o = NULL;
    if (st == DSN_OK) st = dsn_optimizer_create(&o, model, kind, opts);
    if (st == DSN_OK) {
        if (!dsi_mfile_find(&f, "OPTM", &r)) st = dsi_error(DSN_E_FORMAT, "'%s': no optimizer state", path);
        else st = dsi_optim_load(&o->optim, &r);
    }
    dsn_options_free(opts);
    dsi_mfile_close(&f);
    if (st != DSN_OK) {
        dsn_optimizer_free(o);
        dsi_error_prefix("dsn_optimizer_load");
        return st;
    }
    *out = o;
    return DSN_OK;
}

void dsn_optimizer_free(dsn_optimizer *o)
{
    if (!o) return;
    dsi_optim_release(&o->optim);
    dsn_options_free(o->opts);
    dsi_free(o);
}

dsn_status dsn_optimizer_set_lr(dsn_optimizer *o, float lr)
{
    DSI_CHECK_NULL(o, "dsn_optimizer_set_lr: opt");
    /* the bounds of the "lr" option (configure above) */
    if (!(lr > 0 && lr <= DSI_LR_MAX))
        return dsi_error(DSN_E_INVALID, "dsn_optimizer_set_lr: lr %g is not in (0, %g]", (double)lr, DSI_LR_MAX);
    o->optim.cfg.lr = lr;
    return DSN_OK;
}

int64_t dsn_optimizer_steps(const dsn_optimizer *o) { return o ? o->optim.step : 0; }
