/* optimizer.h - the struct behind dsn_optimizer (internal). */
#ifndef DSI_API_OPTIMIZER_H
#define DSI_API_OPTIMIZER_H

#include "disent.h"
#include "optim/optim.h"

struct dsn_optimizer {
    dsn_model *model;
    dsi_optim optim;
    dsi_schedule schedule;
    char kind[16];          /* "adam", "adamw", "sgd" */
    dsn_options *opts;      /* creation options, saved with checkpoints */
};

#endif
