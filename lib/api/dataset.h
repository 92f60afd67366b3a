/* dataset.h - the struct behind dsn_dataset (internal). */
#ifndef DSI_API_DATASET_H
#define DSI_API_DATASET_H

#include "data/dataset.h"
#include "disent.h"

struct dsn_dataset {
    dsi_dataset *d;
};

#endif
