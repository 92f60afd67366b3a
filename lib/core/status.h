/* status.h - the status codes, for every layer below lib/api (internal).
 *
 * The codes are part of the public contract (include/disent.h: dsn_status,
 * DSN_OK, DSN_E_*), and every layer returns them, so there is one definition:
 * the public header's. This file is the only door to it below lib/api
 * (scripts/check-layers.py enforces that): a lower layer includes
 * "core/status.h" and uses nothing of the public header but the status enum
 * (and the public tag of the option bag, struct dsn_options, whose layout
 * core/options.h owns). Copying the enum into an internal one would need a
 * conversion at every API return and could drift; one definition cannot. */
#ifndef DSI_CORE_STATUS_H
#define DSI_CORE_STATUS_H

#include "disent.h"

#endif
