/*
 * shipped.h - the shipped templates and manifest.
 *
 * The templates' bytes are generated from templates/ at build time (see
 * templates/embed.cmake), so `cfgstore init --primary` needs no file
 * from the source tree.
 */
#ifndef CFGSTORE_SHIPPED_H
#define CFGSTORE_SHIPPED_H

#include <stddef.h>

struct change;
struct error;

/* Adds the shipped templates and manifest to c (render_shipped_defaults). */
int	shipped_add(struct change *c, struct error *err);

extern const char *const shipped_template_names[];	/* "unbound.conf" */
extern const unsigned char *const shipped_template_data[];
extern const size_t shipped_template_sizes[];
extern const size_t shipped_template_count;

/* templates/schema, the shipped schema (one file: index 0). */
extern const unsigned char *const shipped_schema_data[];
extern const size_t shipped_schema_sizes[];

#endif
