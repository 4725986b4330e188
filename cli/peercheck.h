/*
 * peercheck.h - a candidate checked by the peers themselves, each on its
 * own host with its own checkers, through the daemon (see peercheck.c).
 */
#ifndef CFGSTORE_PEERCHECK_H
#define CFGSTORE_PEERCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

struct peer_checks {
	struct buf	 refusals;	/* "fw2: dhcpd: PATH: what it said\n" */
	struct buf	 unchecked;	/* "fw2: not checked (why)\n" */
	struct buf	 passed;	/* "fw2: 2 checks passed\n" */
	struct buf	 answered;	/* "\nfw2\n": checked their own files */
	struct buf	 seen;		/* "\nfw2\n": the daemon told of them */
	size_t		 nrefused;	/* lines in refusals */
	size_t		 nunchecked;	/* peers not checked */
	size_t		 npassed;	/* peers whose checks all passed */
};

/*
 * On the primary, asks every peer to check c on top of rev (c NULL:
 * every file as of rev) and waits CFGSTORE_PREPARE_WAIT seconds at most
 * (default 20), for all at once; on a replica asks nobody.  A peer that cannot be asked or does not answer is "not
 * checked", never a failure: the caller decides.  Release with
 * peer_checks_free.
 */
void	cli_check_peers(struct store *s, uint64_t rev, const struct change *c,
	    struct peer_checks *pc);
/*
 * Of this node's refusals (lines "HOST: ...", as render_check_candidate
 * gives them), those that stand once the peers answered: this node's
 * own, and a peer's only when that peer did not check its own files
 * (not asked, unreachable, no verdict, cannot check).  A peer's own
 * checkers, the ones its render will run, decide for its files.
 * Appends them to out; the count.
 */
size_t	peer_checks_filter(const struct peer_checks *pc, const char *refusals,
	    struct buf *out);
/* Frees what pc holds; it is empty again. */
void	peer_checks_free(struct peer_checks *pc);

#endif
