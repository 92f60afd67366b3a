/* options.c - an option bag in a model file section (u32 count, then key
 * and value strings), for the META and OPTC sections (internal). */
#include "io/options.h"
#include "core/error.h"
#include "io/modelfile.h"

void dsi_options_write(dsi_writer *w, const struct dsn_options *o)
{
    dsi_write_u32(w, (uint32_t)(o ? o->count : 0));
    for (size_t i = 0; o && i < o->count; i++) {
        dsi_write_str(w, o->items[i].key);
        dsi_write_str(w, o->items[i].value);
    }
}

dsn_status dsi_options_read(dsi_reader *r, struct dsn_options **out)
{
    *out = NULL;
    uint32_t count;
    if (dsi_read_u32(r, &count)) return DSN_E_FORMAT;
    if (count > 256) return dsi_error(DSN_E_FORMAT, "'%s': %u options is more than allowed", r->what, count);
    struct dsn_options *o = dsi_options_new();
    if (!o) return dsi_error(DSN_E_NOMEM, "'%s': out of memory", r->what);
    dsn_status st = DSN_OK;
    for (uint32_t i = 0; st == DSN_OK && i < count; i++) {
        char key[DSI_OPT_KEY], val[DSI_OPT_VALUE];
        if (dsi_read_str(r, key, sizeof key) || dsi_read_str(r, val, sizeof val)) st = DSN_E_FORMAT;
        else if ((st = dsi_options_set(o, key, val)) != DSN_OK)
            st = dsi_error(DSN_E_FORMAT, "'%s': bad stored option: %s", r->what, dsn_last_error());
    }
    if (st != DSN_OK) {
        dsi_options_free(o);
        return st;
    }
    *out = o;
    return DSN_OK;
}
