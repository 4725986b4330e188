/*
 * root.h - the render root as a setting of the node (see root.c).
 */
#ifndef CFGSTORE_ROOT_H
#define CFGSTORE_ROOT_H

#include <stddef.h>

#include "cli.h"

#define CLI_ROOT_SET	0x01	/* init, serve: given becomes the node's */
#define CLI_ROOT_FORCE	0x02	/* render --force: another root, this once */

/*
 * arg as an absolute path without doubled or trailing slashes, "" for
 * "/" (no prefix).  0, or the exit status after one error line.
 */
int	cli_root_path(const char *arg, char *out, size_t len);
/* The node's recorded root in out ("" when none or "/"); 1 when recorded. */
int	cli_node_root_get(struct store *s, char *out, size_t len);
/*
 * The root to render into, in out ("" for "/"): the node's, unless given
 * (a --root argument) differs from it.  Given and no root recorded yet,
 * or with CLI_ROOT_SET, given is recorded as the node's.  Given and
 * different from a recorded root without CLI_ROOT_SET: refused (exit 2)
 * unless CLI_ROOT_FORCE.  0, or the exit status after one error line.
 */
int	cli_node_root(struct cli *cli, struct store *s, const char *given,
	    int flags, char *out, size_t len);

#endif
