/*
 * json.h - JSON data as a template sees it: objects become maps, arrays
 * lists, numbers their shortest text, true/false bools, null null.
 */
#ifndef CFGSTORE_JSON_H
#define CFGSTORE_JSON_H

#include <jansson.h>

#include "error.h"
#include "tree.h"

/* The tree of j (which stays the caller's); NULL with *err on failure. */
struct tree *json_tree(json_t *j, struct error *err);

#endif
