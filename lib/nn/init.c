/* init.c - weight-initialisation gains and parameter naming of the layers. */
#include "nn/init.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>

float dsi_act_gain(dsi_act a)
{
    switch (a) {
    case DSI_ACT_RELU:
    case DSI_ACT_LEAKY: return sqrtf(2.0f);
    case DSI_ACT_TANH: return 5.0f / 3.0f;
    default: return 1.0f;
    }
}

int dsi_layer_param(dsi_params *ps, const char *prefix, const char *name, int group, int nd, const int *shape)
{
    char full[DSI_PARAM_NAME];
    int len = snprintf(full, sizeof full, "%s.%s", prefix, name);
    if (len < 0 || (size_t)len >= sizeof full) {
        dsi_error(DSN_E_INVALID, "parameter name '%s.%s' longer than %d characters", prefix, name, DSI_PARAM_NAME - 1);
        return -1;
    }
    return dsi_params_add(ps, full, group, nd, shape);
}
