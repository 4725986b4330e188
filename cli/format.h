/*
 * format.h - how the command line shows values and reads them back.
 *
 * The export/apply line format is specified in cfgstore(8): a value is
 * one token when it is plain, else a double-quoted string with \" \\ \t
 * escapes; lists are `set --list KEY ITEM...`; blobs `set --blob KEY B64`.
 */
#ifndef CFGSTORE_FORMAT_H
#define CFGSTORE_FORMAT_H

#include <stdio.h>

#include <jansson.h>

#include "store.h"

/* Writes s as one token of the line format. */
void	format_token(FILE *f, const char *s, size_t len);
/* The `set ...` line that recreates key = v. */
void	format_set_line(FILE *f, const char *key, const struct value *v);
/* Short human form: text, [a, b], or <blob N bytes b2:HASH>. */
void	format_value(FILE *f, const struct value *v);
/* The value as JSON: string, array, or {"blob": base64}.  New reference. */
json_t	*format_json(const struct value *v);
/* ISO 8601 UTC with seconds, from ms since 1970. */
void	format_time(char *out, size_t len, uint64_t ms);
/* The first 12 hex digits of a hash (the short form in log). */
void	format_hash(char *out, size_t len, const unsigned char *hash, int full);
/* Prints JSON to stdout with a newline and drops the reference. */
int	format_json_print(json_t *j);

/*
 * Splits a line of the batch format into tokens (quotes and escapes as
 * above).  Returns the count, or -1 with a reason in *why.  Tokens point
 * into line, which is modified.
 */
int	format_split(char *line, char **tokens, int max, const char **why);

#endif
