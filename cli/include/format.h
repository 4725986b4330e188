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
/*
 * Text from a commit record, on one line: as it is when it is text as a
 * string value must be, else with control characters and every byte
 * from 0x7f up as \xNN.
 */
void	format_text(FILE *f, const char *s);
/* The `set ...` line that recreates key = v. */
void	format_set_line(FILE *f, const char *key, const struct value *v);
/*
 * One changed key as diff, show and log -p print it: "- KEY = old" and
 * "+ KEY = new", except that a blob that is text (or absent) against
 * another is a unified line diff under a "~ KEY: text" line.  Binary
 * blobs are their size and hash.  0, or -1 when out of memory.
 */
int	format_change(FILE *f, const char *key, const struct value *old,
	    const struct value *new);
/* Short human form: text, [a, b], or <blob N bytes b2:HASH>. */
void	format_value(FILE *f, const struct value *v);
/*
 * The value as JSON: string, array, or {"blob": base64}.  New reference,
 * or NULL when it cannot be built.
 */
json_t	*format_json(const struct value *v);
/*
 * json_array_append_new and json_object_set_new that take a NULL item
 * (a failed json_pack or format_json) as the failure it is: -1.  The
 * item's reference is taken either way.
 */
int	format_json_append(json_t *array, json_t *item);
int	format_json_set(json_t *object, const char *key, json_t *item);
/* ISO 8601 UTC with seconds, from ms since 1970. */
void	format_time(char *out, size_t len, uint64_t ms);
/* The first 12 hex digits of a hash (the short form in log). */
void	format_hash(char *out, size_t len, const unsigned char *hash, int full);
/*
 * Prints JSON (any value, a lone string too) to stdout with a newline and
 * drops the reference.  Returns 0, or prints one error line and returns
 * the exit status 1 when j is NULL (something in it could not be built)
 * or cannot be encoded or written.
 */
int	format_json_print(json_t *j);

/*
 * Splits a line of the batch format into tokens (quotes and escapes as
 * above).  Returns the count, or -1 with a reason in *why.  Tokens point
 * into line, which is modified.
 */
int	format_split(char *line, char **tokens, int max, const char **why);

#endif
