/*
 * manifest.h - what this host's files should be.
 *
 * The template data (the store's values resolved for the host, as nested
 * maps) and the service manifest read from it: for one service, every
 * output file rendered in memory with its path, mode, owner and check
 * command.  Nothing here touches the file system.  The key layout is in
 * docs/SERVICES.md.
 */
#ifndef CFGSTORE_MANIFEST_H
#define CFGSTORE_MANIFEST_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "state.h"
#include "store.h"
#include "tree.h"

#define MANIFEST_TIMEOUT_DEFAULT	60	/* seconds, check and restart */
#define MANIFEST_TIMEOUT_MAX		3600
#define MANIFEST_FILE_MAX		(64u << 20)	/* bytes of one output */

struct mfile {
	char		*path;		/* absolute, as the manifest gives it */
	char		*check;		/* command ({} = candidate), or NULL */
	struct buf	 content;
	mode_t		 mode;
	uid_t		 uid;
	gid_t		 gid;
};

struct mservice {
	char		*name;
	char		*restart;	/* command, or NULL */
	int		 timeout_ms;
	struct mfile	*files;
	size_t		 nfiles;
};

/*
 * Builds the data templates see at rev on host node: each string or list
 * value under its dotted key as nested maps, and "node" = node.  Blobs are
 * left out.  A key that cannot have a place in the tree (a.b.c when a.b
 * holds a value) is left out too and named in *warning (caller frees; NULL
 * when there was none).
 */
int	manifest_data(struct store *s, const char *node, uint64_t rev,
	    struct tree **out, char **warning, struct error *err);

/* 1 when data's manifest has a service of that name (service.NAME.files). */
int	manifest_has_service(const struct tree *data, const char *name);

/*
 * Fills *m with service name's files, rendered for node at rev.  On -1
 * the message says which file and why (without the service's name), and
 * *m is cleared.  m is the caller's, emptied with manifest_service_clear.
 */
int	manifest_service(struct store *s, const char *node, uint64_t rev,
	    const struct tree *data, const char *name, struct mservice *m,
	    struct error *err);
void	manifest_service_clear(struct mservice *m);

/* The same two, reading st (a revision, perhaps with changes on top). */
int	manifest_data_in(const struct rstate *st, const char *node,
	    struct tree **out, char **warning, struct error *err);
int	manifest_service_in(const struct rstate *st, const char *node,
	    const struct tree *data, const char *name, struct mservice *m,
	    struct error *err);

#endif
