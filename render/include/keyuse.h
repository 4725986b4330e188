/*
 * keyuse.h - which services' files read a key: for `cfgstore describe`.
 */
#ifndef CFGSTORE_KEYUSE_H
#define CFGSTORE_KEYUSE_H

#include <stdint.h>

#include "error.h"
#include "store.h"

/*
 * Calls fn once per file of node's services at rev (0: the head) whose
 * bytes depend on key (an "@HOST" in it is ignored): a template's value
 * (found by rendering the file again with the key set to something else,
 * so sections, per-file data and lists count as a template sees them),
 * a blob installed as the file, the file's template, or the service's
 * manifest.  fn returns 0 to go on, anything else stops and is returned.
 */
typedef int (*keyuse_fn)(void *arg, const char *service, const char *path);
int	render_key_users(struct store *s, const char *node, uint64_t rev,
	    const char *key, keyuse_fn fn, void *arg, struct error *err);

#endif
