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

#endif
