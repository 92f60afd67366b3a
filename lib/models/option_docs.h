/* option_docs.h - one line of documentation per model option key, for
 * dsn_option_describe (internal; lib/api/describe.c). */
#ifndef DSI_MODELS_OPTION_DOCS_H
#define DSI_MODELS_OPTION_DOCS_H

/* The doc line of `key` of model family `family`, or NULL if none. */
const char *dsi_model_option_doc(const char *family, const char *key);

#endif
