/*
 * batch.h - batch files and the values of `set` (batch.c), apart from
 * the commands so that the parser can be fuzzed on its own.
 */
#ifndef CFGSTORE_BATCH_H
#define CFGSTORE_BATCH_H

#include <stdio.h>

#include "error.h"
#include "store.h"

/* A blob holding the file's bytes (at most STORE_VALUE_MAX). */
int	value_from_file(const char *path, struct value **v, struct error *err);
/* The value of `set` arguments: one string, else (or with list) a list. */
int	value_from_args(char **args, int n, int list, struct value **v,
	    struct error *err);
/*
 * Reads a whole batch from f into c; an error names the batch (name) and
 * the line.  A bad line anywhere leaves c to be thrown away.
 */
int	read_batch(FILE *f, const char *name, struct change *c,
	    struct error *err);

#endif
