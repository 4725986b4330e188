/*
 * replicator.h - replication between nodes, and the daemon that does it.
 *
 * The whole public API of replicator/: the daemon (`cfgstore serve`), and
 * what the command line asks of a running daemon through the control
 * socket in the store directory (docs/PROTOCOL.md, "Control socket").
 * No socket, link, msgpack or libsodium type appears here.  Functions
 * return 0, or -1 with *err filled as in store.h.
 */
#ifndef CFGSTORE_REPLICATOR_H
#define CFGSTORE_REPLICATOR_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

#define REPL_SOCKET	"serve.sock"	/* in the store directory, 0600 */
#define REPL_WAIT_MS	5000		/* default wait for acknowledgements */
#define REPL_WAIT_MAX	600000

struct repl_serve_opts {
	const char	*root;		/* prefixed to rendered paths; NULL: "/" */
	int		 foreground;	/* stay attached, log to stderr */
	int		 verbose;	/* log debug messages */
	const char	*user;		/* the network process's; NULL: default */
	const char	*chroot;	/* its root; NULL: REPL_CHROOT */
	/*
	 * For tests only, and only through code (no option or variable
	 * sets it): a program to run as the network process instead of
	 * this one, to play one that misbehaves.
	 */
	const char	*net_exec;
};

#define REPL_CHROOT	"/var/empty"

/*
 * The network process: what `cfgstore serve` starts of itself, by exec,
 * with its socketpair and listener on descriptors 3 and 4 (netproc.c).
 * Never returns.
 */
int	repl_net_main(void) __attribute__((noreturn));

/*
 * Runs the daemon for the store in dir until SIGTERM or SIGINT: renders
 * after every commit this node holds; on the primary pushes commits to
 * every peer, on a replica accepts them from trusted peers.  Unless
 * foreground, detaches first and logs to syslog.  Errors before the
 * daemon is up (no store, already running, cannot listen) are returned;
 * afterwards they are logged.  SIGHUP re-reads the peers.
 */
int	repl_serve(const char *dir, const struct repl_serve_opts *o,
	    struct error *err);

/*
 * Checks a peer address, "HOST:PORT" or "[IPV6]:PORT": ERR_INPUT with the
 * reason when it is not one.
 */
int	repl_addr_check(const char *addr, struct error *err);

/* ---- asking the daemon (command line side) ----------------------------- */

enum repl_node_state {
	REPL_NODE_OK,		/* committed/applied and rendered */
	REPL_NODE_PENDING,	/* not yet: unreachable, still working */
	REPL_NODE_FAILED,	/* refused (diverged) or render failed */
};

/* One line per node: this node first, then the peers by name. */
typedef void (*repl_report_fn)(void *arg, const char *node,
	    enum repl_node_state st, const char *text);

/*
 * Tells the daemon of dir that rev was committed here, so it renders and
 * pushes it at once.  With wait_ms > 0, waits that long at most for this
 * node's render and each peer's acknowledgement and reports every node
 * through fn (called only when wait_ms > 0).  ERR_FAIL "daemon not
 * running" when nobody listens on the control socket.
 */
int	repl_notify(const char *dir, uint64_t rev, int wait_ms,
	    repl_report_fn fn, void *arg, struct error *err);

/* What a peer said of a candidate (a prepare, docs/PROTOCOL.md). */
enum repl_check_state {
	REPL_CHECK_YES,		/* its checks passed */
	REPL_CHECK_NO,		/* a check refused: one report per line */
	REPL_CHECK_CANNOT,	/* it could not check, and says why */
	REPL_CHECK_UNCHECKED,	/* not asked or no verdict: why */
};

/* One call per line: a peer's verdict, or each of its refusals. */
typedef void (*repl_check_fn)(void *arg, const char *node,
	    enum repl_check_state st, uint64_t ms, const char *text);

#define REPL_PREPARE_WAIT_MS	20000	/* default wait for verdicts */

/*
 * Asks the daemon of dir to have every connected peer check c (NULL:
 * every file as of rev) on top of rev, whose hash is hash, on its own
 * host with its own checkers, and waits at most wait_ms for all of them
 * at once.  fn gets the answers: per peer, its verdict (for a "no" one
 * call per refusal, "HOST: SERVICE: PATH: what the checker said").
 * Nothing is written anywhere.  ERR_NODAEMON when no daemon listens.
 */
int	repl_prepare(const char *dir, uint64_t rev,
	    const unsigned char hash[STORE_HASH_LEN], const struct change *c,
	    int wait_ms, repl_check_fn fn, void *arg, struct error *err);

/* Asks a running daemon to re-read the peers (after `peer add|del`). */
int	repl_reload(const char *dir, struct error *err);

struct repl_peer_status {
	char		name[STORE_NODE_MAX + 1];
	char		addr[128];
	char		key[STORE_KEYTEXT_LEN];
	int		connected;	/* a session is up now */
	/*
	 * On the primary: the revision the peer last acknowledged.  On a
	 * replica: the revision this node last acknowledged to that peer.
	 */
	uint64_t	acked;
	uint64_t	acked_ms;	/* when (UTC ms), 0: never */
	uint64_t	peer_head;	/* the peer's head as last heard */
	uint64_t	lag;		/* commits behind, 0 when caught up */
	uint64_t	lag_ms;		/* age of the oldest one missing */
	char		error[256];	/* last error, "" if none */
	uint64_t	error_ms;
};

struct repl_status {
	int		 daemon;	/* 1: a daemon answered */
	int		 primary;
	char		 node[STORE_NODE_MAX + 1];
	char		 primary_name[STORE_NODE_MAX + 1];	/* "" unknown */
	char		 listen[128];
	uint64_t	 head;
	unsigned char	 hash[STORE_HASH_LEN];
	uint64_t	 head_ms;	/* time of the head commit */
	/* The CARP demotion counter, as this node's daemon last set it. */
	int		 demoted;	/* raised by this node */
	uint64_t	 demoted_ms;	/* since (UTC ms) */
	char		 demote_why[256];
	char		 demote_error[256];	/* last command failed, "" none */
	uint64_t	 demote_error_ms;
	size_t		 npeers;
	struct repl_peer_status *peers;
	/* Failover (repl_failover_status): as this node sees it. */
	uint64_t	 epoch;		/* of the history held */
	int		 fenced;	/* heard of a newer epoch, not following yet */
	uint64_t	 fenced_epoch;	/* that epoch */
	/* The primary's session: 1 up, 0 down, -1 unknown (no daemon). */
	int		 primary_connected;
	uint64_t	 primary_head;	/* its head as last heard */
	size_t		 ndiverged;	/* commits on the diverged branch */
	size_t		 nexported;	/* of them, written out by export */
	uint64_t	 exported_ms;	/* when, 0: never */
};

/*
 * Role, head and every peer's replication state: live from the daemon
 * when one runs, else from what it last recorded in the store's local
 * records.  Release with repl_status_free.
 */
int	repl_status_get(struct store *s, struct repl_status **out,
	    struct error *err);
void	repl_status_free(struct repl_status *st);
/*
 * The failover part of st (repl_status_get fills it): epoch, whether this
 * node is fenced, whether the primary is reachable, the diverged branch.
 */
int	repl_failover_status(struct store *s, struct repl_status *st,
	    struct error *err);
/*
 * `export --diverged` wrote the n commits of the diverged branch out
 * (local record diverged.exported): the admin has them in hand, so they
 * no longer make the node degraded; commits moved there later do.
 */
int	repl_diverged_exported(struct store *s, size_t n, struct error *err);

/* ---- confirmed commits ------------------------------------------------ */

/*
 * A confirmed commit waiting for its confirmation, as this node counts
 * it: from the history and the node's local record (a daemon keeps it).
 */
struct repl_confirm {
	int		pending;	/* 0: nothing waits */
	uint64_t	rev;		/* the newest confirmed commit */
	uint64_t	base;		/* what a revert goes back to */
	uint32_t	window;		/* its window, seconds */
	uint64_t	deadline_ms;	/* UTC; as the primary counts until a
					   daemon here has seen it */
	uint64_t	left_ms;	/* until the deadline; 0: passed */
	uint64_t	reverted_ms;	/* when this node put the files of
					   base back; 0: it has not */
};
int	repl_confirm_get(struct store *s, struct repl_confirm *out,
	    struct error *err);
/*
 * 1 (and *rev, the commit) when this node has put back the files from
 * before a confirmed commit that was not confirmed in time, and the
 * history has not settled it yet; else 0.
 */
int	repl_confirm_reverted(struct store *s, uint64_t *rev);

#endif
