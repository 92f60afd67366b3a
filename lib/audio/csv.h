/* csv.h - one CSV record (RFC 4180 quoting) at a time (internal). */
#ifndef DSI_AUDIO_CSV_H
#define DSI_AUDIO_CSV_H

/* Parse the record at *pp (up to end); fields are copied into fresh strings
 * (*out, free with dsi_csv_free). Returns the number of fields, -1 when out
 * of memory; *pp moves past the record. */
int dsi_csv_record(const char **pp, const char *end, char ***out);
void dsi_csv_free(char **fields, int n);

#endif
