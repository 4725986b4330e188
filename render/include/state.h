/*
 * state.h - a state of the store to render from: a revision, and
 * optionally changes not yet committed on top of it (a batch that a
 * write is about to commit).  Reads resolve KEY@HOST overrides as
 * store_get_for_host and store_list_for_host do; with no changes they
 * are those functions.
 */
#ifndef CFGSTORE_STATE_H
#define CFGSTORE_STATE_H

#include <stdint.h>

#include "error.h"
#include "store.h"

struct overlay;

struct rstate {
	struct store	*s;
	uint64_t	 rev;		/* 0: the head */
	struct overlay	*ov;		/* NULL: the revision as it is */
};

/* *st reads rev as it is. */
void	state_at(struct rstate *st, struct store *s, uint64_t rev);
/*
 * *st reads rev with c's operations on top (a later one on a key wins,
 * as in a commit).  c may be freed after.  Emptied with state_clear.
 */
int	state_with(struct rstate *st, struct store *s, uint64_t rev,
	    const struct change *c, struct error *err);
void	state_clear(struct rstate *st);

int	state_get_for_host(const struct rstate *st, const char *key,
	    const char *host, struct value **out, struct error *err);
int	state_list_for_host(const struct rstate *st, const char *host,
	    store_visit_fn fn, void *arg, struct error *err);

#endif
