/*
 * repl_int.h - what the files of replicator/ share and nobody else sees.
 *
 * The daemon is a handful of threads around one struct daemon: the main
 * thread waits for signals; one renders; on the primary one per peer
 * pushes commits; on a replica one accepts connections and one serves
 * each of a bounded number of them; one accepts control connections from
 * the command line and one serves each.  Shared state is guarded by d->mu,
 * and every change to it is announced on d->cv.  Writes to the store from
 * these threads go through d->wmu, one at a time.
 */
#ifndef CFGSTORE_REPL_INT_H
#define CFGSTORE_REPL_INT_H

#include <pthread.h>
#include <stdint.h>

#include "link.h"
#include "proto.h"
#include "replicator.h"
#include "store.h"

#define MAX_INBOUND		16	/* authenticated sessions on a replica */
#define MAX_HANDSHAKING		32	/* connections not yet authenticated */
#define MAX_HANDSHAKING_ADDR	2	/* of them from one address */
/* Room for those evicted to wind down while new ones take their place. */
#define HS_SLOTS		(2 * MAX_HANDSHAKING)
#define MAX_CONTROL		16	/* command line clients at once */
#define DIAL_MS			3000	/* TCP connect */
#define REPLY_MS		20000	/* an ack, or a keepalive before it */
#define KEEPALIVE_MS		5000	/* a replica rendering says it is alive */
#define PING_MS			10000	/* idle primary pings this often */
#define IDLE_MS			(3 * PING_MS)	/* replica drops a silent session */
#define SEND_MS			10000
#define BACKOFF_MIN_MS		200
#define BACKOFF_MAX_MS		5000
#define DIVERGED_RETRY_MS	60000
#define REFUSED_RETRY_MIN_MS	1000	/* after nack rejected or error, */
#define REFUSED_RETRY_MAX_MS	60000	/* doubling; commits do not hurry it */
#define ACCEPT_BACKOFF_MS	100	/* accept(2) out of descriptors */

/* What a node remembers of a peer (local record "repl.peer.NAME"). */
struct peer_record {
	uint64_t	acked;
	uint64_t	acked_ms;
	uint64_t	peer_head;
	char		error[256];
	uint64_t	error_ms;
};

struct daemon;

struct peer {
	struct daemon	*d;
	struct peer_info info;
	char		 key[STORE_KEYTEXT_LEN];
	/* The rest is guarded by d->mu. */
	struct peer_record rec;
	int		 connected;
	int		 fd;		/* the live session's socket, or -1 */
	uint64_t	 session;	/* replica: which inbound session is live */
	uint64_t	 rendered;	/* last revision acked with a render */
	char		 summary[PROTO_TEXT_MAX + 1];	/* of that render */
	int		 render_failed;
	int		 diverged;
	int		 refused;	/* its last answer was nack rejected/error */
	uint64_t	 fails;		/* failed attempts, ever */
	int		 kick;		/* something to push: try now */
	int		 quit;		/* removed by a reload */
	int		 has_thread;
	pthread_t	 thread;
};

struct daemon {
	struct store	*s;
	struct identity	*id;
	struct link_auth auth;
	const char	*root;
	char		 node[STORE_NODE_MAX + 1];
	int		 primary;

	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	pthread_mutex_t	 wmu;
	pthread_mutex_t	 reload_mu;	/* one peers_load at a time */

	int		 stop;
	struct peer	**peers;
	size_t		 npeers;
	struct peer	**gone;		/* removed by reloads, freed at exit */
	size_t		 ngone;
	uint64_t	 head_hint;	/* newest revision we were told of */
	uint64_t	 render_want, render_done;
	char		 render_summary[PROTO_TEXT_MAX + 1];
	int		 render_failed;
	int		 ninbound, nsession, ncontrol;
	struct inbound	*hs[HS_SLOTS];	/* not yet authenticated */
	int		 conn_fds[MAX_INBOUND + HS_SLOTS + MAX_CONTROL];
					/* to shut down */
	int		 wake[2];	/* written once at stop: wakes poll(2)s */
};

/* daemon.c */
uint64_t repl_now_ms(void);		/* UTC */
uint64_t repl_mono_ms(void);		/* monotonic */
uint64_t repl_mono_us(void);
struct peer *peer_find(struct daemon *d, const char *name);	/* under mu */
void	peer_error(struct peer *p, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));	/* under mu */
void	peer_save(struct peer *p);	/* takes mu and wmu itself */
void	conn_track(struct daemon *d, int fd, int add);	/* under mu */
int	repl_head(struct daemon *d, uint64_t *rev,
	    unsigned char hash[STORE_HASH_LEN]);
/* Asks for a render of at least rev, without waiting. */
void	render_kick(struct daemon *d, uint64_t rev);
/* Asks for a render of at least rev and waits for it; the summary. */
void	render_wait(struct daemon *d, uint64_t rev, char *summary,
	    size_t len, int *failed);
/* The same, waiting at most timeout_ms: 1 done (or stopping), 0 not yet. */
int	render_wait_for(struct daemon *d, uint64_t rev, int timeout_ms,
	    char *summary, size_t len, int *failed);
/* Sends one message; logs nothing. */
int	send_msg(struct link *l, struct buf *b, struct error *err);

/* daemon.c: re-reads the peers (SIGHUP, or asked on the control socket). */
int	repl_daemon_reload(struct daemon *d, struct error *err);

/* push.c: the primary's thread for one peer. */
void	*push_main(void *arg);

/* inbound.c: a replica's thread for one accepted connection. */
struct inbound {
	struct daemon	*d;
	int		 fd;
	char		 from[80];	/* ADDR:PORT, for the log */
	char		 host[64];	/* ADDR: what the limits count by */
	uint64_t	 since_ms;	/* accepted (monotonic) */
	int		 evicted;	/* cut short to make room */
};
void	*inbound_main(void *arg);
/* daemon.c: the connection is authenticated or gone (under mu). */
void	hs_done(struct daemon *d, struct inbound *in);

/* sandbox.c: unveil and pledge (OpenBSD); 0, or -1 and err: fatal. */
int	repl_sandbox(const char *dir, const char *root, struct error *err);

/* records.c */
void	record_load(struct store *s, const char *name, struct peer_record *r);
int	record_save(struct store *s, const char *name,
	    const struct peer_record *r, struct error *err);

/* control.c: the daemon's side of the control socket. */
struct ctlconn {
	struct daemon	*d;
	int		 fd;
};
void	*control_main(void *arg);	/* one connection; arg: a ctlconn */
int	repl_dial(const char *addr, int timeout_ms, struct error *err);
int	repl_parse_addr(const char *addr, char *host, size_t hlen,
	    char *port, size_t plen, struct error *err);

#endif
