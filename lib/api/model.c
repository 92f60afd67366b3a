/* model.c - dsn_model: create by family name, describe, save and load. */
#include "api/bank.h"
#include "api/front_end.h"
#include "api/check.h"
#include "api/optimizer.h"
#include "core/alloc.h"
#include "core/finite.h"
#include "core/error.h"
#include "io/modelfile.h"
#include "io/options.h"
#include "models/model.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* max_values > 0: refuse (before allocating parameter memory) a model with
 * more parameter values than that (the loader passes what the file holds). */
static dsn_status model_build(dsn_model **out, const char *name, const dsn_options *opts, size_t max_values)
{
    DSI_CHECK_NULL(out, "dsn_model_create: out");
    *out = NULL;
    DSI_CHECK_NULL(name, "dsn_model_create: name");
    const dsi_model_vt *vt = dsi_model_find(name);
    if (!vt) return dsi_error(DSN_E_INVALID, "dsn_model_create: unknown model family '%.64s' (known: %s)", name, dsi_model_names());
    dsn_model *m = dsi_calloc(1, sizeof *m);
    if (!m) return dsi_error(DSN_E_NOMEM, "dsn_model_create: out of memory");
    m->vt = vt;
    dsi_params_init(&m->params);
    m->params.limit = max_values;
    dsi_tape_init(&m->tape);
    dsn_status st = dsi_options_copy(&m->opts, opts);
    /* Record every key the family reads with the value it used, so the
     * saved bag holds the resolved options: a file then rebuilds the same
     * model after a later version changes a default. (Not while the option
     * introspection runs a creation under its own sink.) */
    dsi_opt_sink *sink = NULL;
    if (st == DSN_OK && !dsi_opt_sink_get()) {
        if (!(sink = dsi_calloc(1, sizeof *sink))) st = dsi_error(DSN_E_NOMEM, "dsn_model_create: out of memory");
        else dsi_opt_sink_set(sink);
    }
    dsi_optr r;
    if (st == DSN_OK) st = dsi_optr_init(&r, opts, name);
    if (st == DSN_OK) {
        m->seed = 1;
        dsi_opt_u64(&r, "seed", &m->seed);
        st = vt->create(m, &r);
        if (st == DSN_OK) st = dsi_optr_finish(&r);
    }
    if (sink) {
        dsi_opt_sink_set(NULL);
        for (int i = 0; st == DSN_OK && i < sink->n; i++)
            if (sink->items[i].def[0] && !dsi_options_get(m->opts, sink->items[i].key))
                st = dsn_options_set(m->opts, sink->items[i].key, sink->items[i].def);
        dsi_free(sink);
    }
    if (st == DSN_OK) st = dsi_params_finalize(&m->params);
    if (st == DSN_OK) {
        dsi_rng_seed(&m->rng, m->seed);
        vt->init_params(m);
    }
    if (st != DSN_OK) {
        dsi_error_prefix("dsn_model_create");
        dsn_model_free(m);
        return st;
    }
    *out = m;
    return DSN_OK;
}

dsn_status dsn_model_create(dsn_model **out, const char *name, const dsn_options *opts)
{
    return model_build(out, name, opts, 0);
}

void dsn_model_free(dsn_model *m)
{
    if (!m) return;
    if (m->vt && m->vt->destroy) m->vt->destroy(m);
    dsi_params_release(&m->params);
    dsi_tape_release(&m->tape);
    dsi_bank_free(m->bank);
    dsn_options_free(m->audio);
    dsn_options_free(m->opts);
    dsi_free(m);
}

const char *dsn_model_families(void) { return dsi_model_names(); }

const dsn_options *dsn_model_options(const dsn_model *m) { return m ? m->opts : NULL; }

dsn_status dsn_model_describe(const dsn_model *m, dsn_model_info *out)
{
    DSI_CHECK_NULL(m, "dsn_model_describe: model");
    DSI_CHECK_NULL(out, "dsn_model_describe: out");
    dsn_model_info info;
    dsn_status st = dsi_sized_begin(&info, sizeof info, out, sizeof(dsn_model_info), "dsn_model_describe");
    if (st != DSN_OK) return st;
    info.family = m->vt->name;
    info.stage = m->vt->stage ? m->vt->stage(m) : NULL;
    for (int i = 0; i < m->params.count; i++) info.num_params += m->params.list[i].var.n;
    info.epoch = m->epoch;
    info.obs_ndim = m->obs_nd;
    for (int i = 0; i < m->obs_nd && i < DSN_MAX_DIMS; i++) info.obs_shape[i] = (size_t)m->obs_shape[i];
    info.obs_size = m->obs_size;
    info.num_parts = m->n_parts;
    dsi_sized_end(out, &info, sizeof info);
    return DSN_OK;
}

dsn_status dsn_model_part(const dsn_model *m, dsn_part_info *out, int i)
{
    DSI_CHECK_NULL(m, "dsn_model_part: model");
    DSI_CHECK_NULL(out, "dsn_model_part: out");
    dsn_part_info info;
    dsn_status st = dsi_sized_begin(&info, sizeof info, out, sizeof(dsn_part_info), "dsn_model_part");
    if (st != DSN_OK) return st;
    if (i < 0 || i >= m->n_parts)
        return dsi_error(DSN_E_INVALID, "dsn_model_part: part %d out of range (the %s model has %d)", i, m->vt->name,
                         m->n_parts);
    const dsi_part_desc *p = &m->parts[i];
    info.name = p->name;
    info.dim = p->dim;
    info.scope = (dsn_scope)p->scope;
    info.kind = p->kind == DSI_PART_CODES ? DSN_PART_CODES : DSN_PART_GAUSSIAN;
    dsi_sized_end(out, &info, sizeof info);
    return DSN_OK;
}

/* ---- file ---- */

/* DSN_E_NUMERIC naming the first parameter value that is NaN or infinite. */
static dsn_status check_weights(const dsi_params *ps, const char *path)
{
    for (int i = 0; i < ps->count; i++) {
        const dsi_param *p = &ps->list[i];
        size_t k = dsi_find_nonfinite(ps->data + p->offset, p->var.n);
        if (k < p->var.n)
            return dsi_error(DSN_E_NUMERIC, "'%s': parameter '%s' value %zu is %s (the training diverged)", path,
                             p->name, k, isnan(ps->data[p->offset + k]) ? "NaN" : "infinite");
    }
    return DSN_OK;
}

/* Walk a PARM section without storing anything: every tensor's declared
 * values must lie inside the section. *total gets the number of values, so
 * the model the options describe can be refused before it is allocated. */
static dsn_status scan_params(dsi_reader r, size_t *total)
{
    uint32_t count;
    *total = 0;
    if (dsi_read_u32(&r, &count)) return DSN_E_FORMAT;
    for (uint32_t k = 0; k < count; k++) {
        char name[DSI_PARAM_NAME];
        uint32_t nd, dim;
        if (dsi_read_str(&r, name, sizeof name) || dsi_read_u32(&r, &nd)) return DSN_E_FORMAT;
        if (nd < 1 || nd > DSI_MAXDIM)
            return dsi_error(DSN_E_FORMAT, "'%s': parameter '%s' has %u dims", r.what, name, nd);
        uint64_t n = 1;
        for (uint32_t d = 0; d < nd; d++) {
            if (dsi_read_u32(&r, &dim)) return DSN_E_FORMAT;
            n *= dim;
            if (n > dsi_reader_left(&r) / 4)
                return dsi_error(DSN_E_FORMAT, "'%s': parameter '%s' declares more values than the file holds", r.what,
                                 name);
        }
        if (!dsi_read_view(&r, (size_t)n * 4)) return DSN_E_FORMAT;
        *total += (size_t)n;
    }
    return DSN_OK;
}

dsn_status dsn_model_save(const dsn_model *m, const dsn_optimizer *opt, const char *path)
{
    DSI_CHECK_NULL(m, "dsn_model_save: model");
    DSI_CHECK_NULL(path, "dsn_model_save: path");
    if (opt && opt->model != m) return dsi_error(DSN_E_INVALID, "dsn_model_save: the optimizer belongs to another model");
    dsn_status fin = check_weights(&m->params, path);
    if (fin != DSN_OK) {
        dsi_error_prefix("dsn_model_save");
        return fin;
    }
    dsi_mfile_out f;
    dsi_mfile_out_init(&f);
    dsi_writer *w = dsi_mfile_payload(&f);
    dsi_mfile_begin_section(&f, "META");
    dsi_write_str(w, m->vt->name);
    dsi_options_write(w, m->opts);
    dsi_mfile_end_section(&f);
    dsi_mfile_begin_section(&f, "PARM");
    dsi_mfile_put_params(w, &m->params);
    dsi_mfile_end_section(&f);
    dsn_status st = DSN_OK;
    /* the RNG, epoch count and frozen groups (a model's stage) always: a
     * weights-only file of a two-stage model must load in its stage */
    unsigned char rs[DSI_RNG_STATE_BYTES];
    dsi_rng_save(&m->rng, rs);
    dsi_mfile_begin_section(&f, "RNGS");
    dsi_write_bytes(w, rs, sizeof rs);
    dsi_mfile_end_section(&f);
    dsi_mfile_begin_section(&f, "TRNR");
    dsi_write_u32(w, (uint32_t)m->epoch);
    dsi_write_u32(w, (uint32_t)m->params.n_groups);
    for (int g = 0; g < m->params.n_groups; g++) dsi_write_u32(w, m->params.frozen[g]);
    dsi_mfile_end_section(&f);
    if (m->vt->state_save) { /* training state that is not a parameter */
        dsi_mfile_begin_section(&f, "MSTA");
        m->vt->state_save(m, w);
        dsi_mfile_end_section(&f);
    }
    if (m->bank && (m->bank->count || m->bank->audio)) {
        dsi_mfile_begin_section(&f, "BANK");
        dsi_bank_write(w, m->bank);
        dsi_mfile_end_section(&f);
    }
    if (m->audio) { /* the audio front end: older readers skip the section */
        dsi_mfile_begin_section(&f, "AUDF");
        dsi_options_write(w, m->audio);
        dsi_mfile_end_section(&f);
    }
    if (opt) {
        dsi_mfile_begin_section(&f, "OPTC");
        dsi_write_str(w, opt->kind);
        dsi_options_write(w, opt->opts);
        dsi_mfile_end_section(&f);
        dsi_mfile_begin_section(&f, "OPTM");
        st = dsi_optim_save(&opt->optim, w);
        dsi_mfile_end_section(&f);
    }
    if (st == DSN_OK) st = dsi_mfile_save(&f, path);
    dsi_mfile_out_free(&f);
    if (st != DSN_OK) dsi_error_prefix("dsn_model_save");
    return st;
}

/* Build the model a file describes and load its weights (and, when present,
 * RNG and trainer counters). */
static dsn_status load_model(dsi_mfile_in *f, dsn_model **out)
{
    dsi_reader r;
    if (!dsi_mfile_find(f, "META", &r)) return dsi_error(DSN_E_FORMAT, "'%s': no META section", f->path);
    char name[64];
    dsn_options *opts;
    if (dsi_read_str(&r, name, sizeof name)) return DSN_E_FORMAT;
    dsn_status st = dsi_options_read(&r, &opts);
    if (st != DSN_OK) return st;
    if (!dsi_model_find(name)) {
        dsn_options_free(opts);
        return dsi_error(DSN_E_FORMAT, "'%s': unknown model family '%s' (file from a newer library?)", f->path, name);
    }
    dsi_reader pr;
    size_t stored = 0;
    if (!dsi_mfile_find(f, "PARM", &pr)) st = dsi_error(DSN_E_FORMAT, "'%s': no PARM section", f->path);
    else st = scan_params(pr, &stored);
    if (st != DSN_OK) {
        dsn_options_free(opts);
        return st;
    }
    dsn_model *m;
    st = model_build(&m, name, opts, stored ? stored : 1);
    dsn_options_free(opts);
    if (st != DSN_OK) return dsi_error(DSN_E_FORMAT, "'%s': cannot rebuild the model: %s", f->path, dsn_last_error());
    st = dsi_mfile_get_params(&pr, &m->params);
    if (st == DSN_OK) st = check_weights(&m->params, f->path);
    if (st == DSN_OK && dsi_mfile_find(f, "RNGS", &r)) {
        const unsigned char *rs = dsi_read_view(&r, DSI_RNG_STATE_BYTES);
        if (rs) dsi_rng_load(&m->rng, rs);
        else st = DSN_E_FORMAT;
    }
    if (st == DSN_OK && dsi_mfile_find(f, "TRNR", &r)) {
        uint32_t epoch, ng, fr;
        if (dsi_read_u32(&r, &epoch) || dsi_read_u32(&r, &ng) || ng != (uint32_t)m->params.n_groups ||
            epoch > (uint32_t)INT32_MAX) {
            st = dsi_error(DSN_E_FORMAT, "'%s': bad trainer section", f->path);
        } else {
            m->epoch = (int)epoch;
            for (uint32_t g = 0; st == DSN_OK && g < ng; g++) {
                if (dsi_read_u32(&r, &fr) || fr > 1) st = dsi_error(DSN_E_FORMAT, "'%s': bad trainer section", f->path);
                else dsi_params_set_frozen(&m->params, (int)g, fr != 0);
            }
        }
    }
    if (st == DSN_OK && dsi_mfile_find(f, "MSTA", &r)) {
        if (!m->vt->state_load) st = dsi_error(DSN_E_FORMAT, "'%s': a model state section the %s family does not have", f->path, name);
        else if ((st = m->vt->state_load(m, &r)) != DSN_OK) dsi_error_prefix(f->path);
    }
    if (st == DSN_OK && dsi_mfile_find(f, "BANK", &r)) {
        int p = dsi_model_static_part(m);
        if (p < 0) st = dsi_error(DSN_E_FORMAT, "'%s': a timbre bank for a model without a static latent", f->path);
        else st = dsi_bank_read(&r, m->parts[p].dim, &m->bank, f->path);
    }
    if (st == DSN_OK && dsi_mfile_find(f, "AUDF", &r)) st = dsi_front_end_load(m, &r, f->path);
    if (st != DSN_OK) {
        dsn_model_free(m);
        return st;
    }
    *out = m;
    return DSN_OK;
}

dsn_status dsn_model_load(dsn_model **out, const char *path)
{
    DSI_CHECK_NULL(out, "dsn_model_load: out");
    *out = NULL;
    DSI_CHECK_NULL(path, "dsn_model_load: path");
    dsi_mfile_in f;
    dsn_status st = dsi_mfile_open(&f, path);
    if (st == DSN_OK) {
        st = load_model(&f, out);
        dsi_mfile_close(&f);
    }
    if (st != DSN_OK) dsi_error_prefix("dsn_model_load");
    return st;
}

/* ---- stages and options that change after creation ---- */

dsn_status dsn_model_set_stage(dsn_model *m, const char *stage)
{
    DSI_CHECK_NULL(m, "dsn_model_set_stage: model");
    DSI_CHECK_NULL(stage, "dsn_model_set_stage: stage");
    if (!m->vt->set_stage)
        return dsi_error(DSN_E_UNSUPPORTED, "dsn_model_set_stage: the %s model has no training stages", m->vt->name);
    dsn_status st = m->vt->set_stage(m, stage);
    if (st != DSN_OK) dsi_error_prefix("dsn_model_set_stage");
    return st;
}

dsn_status dsn_model_set_option(dsn_model *m, const char *key, const char *value)
{
    DSI_CHECK_NULL(m, "dsn_model_set_option: model");
    DSI_CHECK_NULL(key, "dsn_model_set_option: key");
    DSI_CHECK_NULL(value, "dsn_model_set_option: value");
    dsn_status st = m->vt->set_option ? m->vt->set_option(m, key, value)
                                      : dsi_error(DSN_E_OPTION, "option '%.64s' cannot change after creation", key);
    if (st == DSN_OK) st = dsn_options_set(m->opts, key, value);
    if (st != DSN_OK) dsi_error_prefix("dsn_model_set_option");
    return st;
}
