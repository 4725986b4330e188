/*
 * repl_int.h - what the files of replicator/ share and nobody else sees.
 *
 * The daemon is two processes (netproc.c, docs/DAEMON.md), each around
 * one struct daemon.  The parent is a handful of threads: the main
 * thread waits for signals; one renders; one listens to the network
 * process; on the primary one per peer pushes commits; on a replica one
 * serves each session the network process accepted; one accepts control
 * connections from the command line and one serves each.  Its shared
 * state is guarded by d->mu, and every change to it is announced on
 * d->cv.  Writes to the store go through d->wmu, one at a time.  The
 * network process has no threads: one poll(2) loop accepts, dials, runs
 * each handshake as link_hs_* steps and each session with an output
 * queue of its own, and reads and writes the parent without blocking.
 */
#ifndef CFGSTORE_REPL_INT_H
#define CFGSTORE_REPL_INT_H

#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "ctlmsg.h"
#include "ipc.h"
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
struct chan;
struct prep_round;

/* A peer's part in a prepare round (prepare.c), under d->mu. */
enum prep_state { PREP_IDLE, PREP_WANTED, PREP_SENT, PREP_DONE };
struct prep_slot {
	struct prep_round *r;		/* the round asked for, or NULL */
	enum prep_state	 state;
	enum proto_verdict status;	/* PREP_DONE: the verdict */
	char		*lines;		/* its lines, each ending in \n */
	uint64_t	 ms;		/* from sending to the verdict */
};

struct peer {
	struct daemon	*d;
	struct peer_info info;
	char		 key[STORE_KEYTEXT_LEN];
	/* The rest is guarded by d->mu. */
	struct peer_record rec;
	int		 connected;
	struct chan	*ch;		/* the live session, or NULL */
	uint64_t	 session;	/* replica: which inbound session is live */
	uint64_t	 rendered;	/* last revision acked with a render */
	char		 summary[PROTO_TEXT_MAX + 1];	/* of that render */
	int		 render_failed;
	int		 diverged;
	int		 refused;	/* its last answer was nack rejected/error */
	uint64_t	 fails;		/* failed attempts, ever */
	int		 kick;		/* something to push: try now */
	int		 quit;		/* removed by a reload */
	struct prep_slot prep;		/* primary: a candidate to check */
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
	uint64_t	 catchup;	/* a catch-up applied up to here; its
					   render is to come (demote.c) */
	int		 reached;	/* a session with a peer was up since
					   the daemon started */
	uint64_t	 render_want, render_done;
	int		 render_again;	/* render, even if done (confirm.c) */
	char		 render_summary[PROTO_TEXT_MAX + 1];
	int		 render_failed;
	int		 ninbound, nsession, ncontrol;
	int		 preparing;	/* a prepare round runs: one at once */
	uint64_t	 prep_id;	/* the last round's id */
	struct inbound	*hs[HS_SLOTS];	/* not yet authenticated */
	int		 conn_fds[MAX_INBOUND + HS_SLOTS + MAX_CONTROL];
					/* to shut down */
	int		 wake[2];	/* written once at stop: wakes poll(2)s */

	/* The parent's side of the network process (netproc.c). */
	int		 listen_fd;	/* handed to it, never accepted on */
	char		*self;		/* our binary, to exec */
	const char	*net_exec;	/* tests: another one instead */
	const char	*user, *chroot;
	int		 foreground, verbose;
	pid_t		 net_pid;	/* -1: none now */
	uint64_t	 net_started_ms;
	pthread_t	 net_t;
	int		 has_net;
	int		 net_ready;	/* the process said NET_READY */
	struct chan	*chans;		/* under mu */
	uint32_t	 last_accepted;	/* session ids, both sides */
	uint32_t	 next_sid;
	/* Both sides: the socketpair, written under netmu (a leaf lock). */
	pthread_mutex_t	 netmu;
	struct ipc	 net;
	/* The network process's own (netproc.c). */
	struct netsess	*sess;
};

/*
 * Lock order: mu, then wmu or netmu; netmu and wmu are leaves.  The
 * threads kept, and why: docs/DAEMON.md.
 */

/* daemon.c */
uint64_t repl_now_ms(void);		/* UTC */
uint64_t repl_mono_ms(void);		/* monotonic */
uint64_t repl_mono_us(void);
/* ts: ms from now, as pthread_cond_timedwait wants it. */
void	repl_deadline(struct timespec *ts, uint64_t ms);
struct peer *peer_find(struct daemon *d, const char *name);	/* under mu */
void	peer_error(struct peer *p, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));	/* under mu */
void	peer_save(struct peer *p);	/* takes mu and wmu itself */
void	conn_track(struct daemon *d, int fd, int add);	/* under mu */
int	repl_head(struct daemon *d, uint64_t *rev,
	    unsigned char hash[STORE_HASH_LEN]);
/* The next render is due whatever its revision (a fork point was taken). */
void	render_rewind(struct daemon *d);
/* Asks for a render of at least rev, without waiting. */
void	render_kick(struct daemon *d, uint64_t rev);
/* Asks for a render of at least rev and waits for it; the summary. */
void	render_wait(struct daemon *d, uint64_t rev, char *summary,
	    size_t len, int *failed);
/* The same, waiting at most timeout_ms: 1 done (or stopping), 0 not yet. */
int	render_wait_for(struct daemon *d, uint64_t rev, int timeout_ms,
	    char *summary, size_t len, int *failed);
/* Sends one message; logs nothing. */
int	send_msg(struct chan *c, struct buf *b, struct error *err);

/*
 * daemon.c: node ("" when not named) is the primary of epoch, from's
 * hello said.  Above the
 * history's epoch, a primary stops being one at once: writes refused,
 * pushing stopped; it follows the new primary when that one sends.
 */
void	repl_fence(struct daemon *d, uint64_t epoch, const char *node,
	    const char *from);

/*
 * daemon.c: re-reads the peers and the role (SIGHUP, or asked on the
 * control socket).
 */
int	repl_daemon_reload(struct daemon *d, struct error *err);

/* daemon.c */
int	repl_spawn(pthread_t *t, void *(*fn)(void *), void *arg,
	    int detached);
struct acceptor {
	struct daemon	*d;
	int		 fd;
	int		 control;	/* control socket, else peers */
	int		 starved;	/* accept(2) out of descriptors */
};
void	*acceptor_main(void *arg);
/*
 * Accepts one connection on a->fd: the descriptor, -1 when there was
 * none after all, -2 when out of descriptors or memory (logged once).
 */
int	acceptor_take(struct acceptor *a, struct sockaddr_storage *ss);

/* netproc.c: messages between the daemon and its network process. */
#define NET_FD_IPC	3	/* where the network process finds them */
#define NET_FD_LISTEN	4
enum net_type {
	NET_INIT = 1,	/* to it: struct net_init, first and once */
	NET_PEER,	/* to it: struct net_peer, one per peer */
	NET_PEERS_END,	/* to it: the peers just sent replace the old */
	NET_DIAL,	/* to it, session: the peer's name, to connect to */
	NET_FRAME,	/* both ways, session: one decrypted frame */
	NET_CLOSE,	/* to it, session: end it */
	NET_SIGNATURE,	/* to it, request: the signature asked for */
	NET_SIGN,	/* from it, request: a handshake's bytes to sign */
	NET_UP,		/* from it, session: struct net_up, authenticated */
	NET_DOWN,	/* from it, session: over, and why (text); session 0:
			   it could not start, and why */
	NET_READY,	/* from it: privileges dropped, pledged, serving */
};
struct net_init {
	unsigned char	 pk[LINK_KEY_LEN];	/* the node's public key */
	char		 node[STORE_NODE_MAX + 1];
	char		 user[64];
	char		 chroot[256];
	uint32_t	 primary, has_listener, foreground, verbose;
};
struct net_peer {
	char		 name[STORE_NODE_MAX + 1];
	unsigned char	 pk[LINK_KEY_LEN];
	char		 addr[128];		/* numeric */
};
struct net_up {
	char		 name[STORE_NODE_MAX + 1];
	unsigned char	 pk[LINK_KEY_LEN];
	char		 from[80];
};
int	net_start(struct daemon *d, struct error *err);
void	net_stop(struct daemon *d);
int	net_peers_changed(struct daemon *d);
/*
 * A session through the network process, as the parent sees it: the
 * frames it decrypted, in order; what we send it encrypts.
 */
int	chan_dial(struct daemon *d, struct peer *p, struct chan **out,
	    struct error *err);
int	chan_send(struct chan *c, const struct buf *b, struct error *err);
int	chan_recv(struct chan *c, struct buf *out, int timeout_ms,
	    struct error *err);
int	chan_pending(struct chan *c);	/* a frame or the end waits */
void	chan_kill(struct chan *c, const char *why);	/* under mu */
void	net_kill_all(struct daemon *d);			/* under mu */
void	chan_close(struct chan *c);
const unsigned char *chan_peer_key(const struct chan *c);
const char *chan_peer_name(const struct chan *c);
const char *chan_from(const struct chan *c);

/*
 * confirm.c: the timer of confirmed commits (its own thread), and the
 * revision the render thread renders: 0 the head, else the state before
 * a confirmed commit this node has reverted.
 */
void	*confirm_main(void *arg);
uint64_t confirm_render_at(struct daemon *d);

/* push.c: the primary's thread for one peer. */
void	*push_main(void *arg);

/* An accepted connection not yet authenticated (in the network process). */
struct inbound {
	struct daemon	*d;
	int		 fd;
	char		 from[80];	/* ADDR:PORT, for the log */
	char		 host[64];	/* ADDR: what the limits count by */
	uint64_t	 since_ms;	/* accepted (monotonic) */
	int		 evicted;	/* cut short to make room */
};
/* inbound.c: a session the network process accepted, in the parent. */
struct inbound_arg {
	struct daemon	*d;
	struct chan	*ch;
};
void	*inbound_main(void *arg);
/* daemon.c: the connection is authenticated or gone (under mu). */
void	hs_done(struct daemon *d, struct inbound *in);
/*
 * daemon.c: within the limits of docs/PROTOCOL.md, a new connection not
 * yet authenticated, in a handshake slot (an older one may be cut short
 * to make room, and logged); else NULL, fd closed and the refusal logged.
 */
struct inbound *inbound_admit(struct daemon *d, int fd,
	    const struct sockaddr_storage *ss);

/* sandbox.c: unveil and pledge (OpenBSD); 0, or -1 and err: fatal. */
int	repl_sandbox(struct error *err);

/* records.c: local records, a msgpack map of named fields each. */
struct mpr;
/* Reads one field: 0, 1 for a field it does not know (skipped), -1. */
typedef int (*rec_field_fn)(void *arg, const char *key, struct mpr *m);
/* 0, or -1 when absent or malformed (fields read until then stay). */
int	rec_read(struct store *s, const char *name, rec_field_fn fn, void *arg);
int	rec_text(struct mpr *m, char *out, size_t len);	/* a str, cut */
void	rec_map(struct buf *b, size_t nfields);
void	rec_uint(struct buf *b, const char *key, uint64_t v);
void	rec_str(struct buf *b, const char *key, const char *v);
int	rec_write(struct store *s, const char *name, struct buf *b,
	    struct error *err);			/* and frees b */
void	record_load(struct store *s, const char *name, struct peer_record *r);
int	record_save(struct store *s, const char *name,
	    const struct peer_record *r, struct error *err);

/*
 * demote.c: the CARP demotion counter, raised while this node's
 * configuration cannot be trusted (docs/SERVICES.md).
 */
struct demote_record {
	int		 raised;	/* this node added to the counter */
	char		 lower[1024];	/* the command that takes it back */
	uint64_t	 since_ms;	/* UTC */
	char		 why[256];
	char		 error[256];	/* the last command that failed */
	uint64_t	 error_ms;
};
void	demote_record_load(struct store *s, struct demote_record *r);
void	*demote_main(void *arg);	/* the thread; arg: the daemon */
/* At a clean stop, once demote_main is joined: takes back what we added. */
void	demote_stop(struct daemon *d);

/* control.c: the daemon's side of the control socket. */
struct ctlconn {
	struct daemon	*d;
	int		 fd;
};
void	*control_main(void *arg);	/* one connection; arg: a ctlconn */
int	repl_dial(const char *addr, int timeout_ms, struct error *err);
/*
 * The same without blocking: start, then step each time fd is writable
 * or the attempt timed out; 1 connected (take fd, set it to -1), 0
 * connecting (to the next address, if the last failed), -1 failed.
 */
struct repl_dialer {
	struct addrinfo	*res, *ai;
	int		 fd;
	char		 addr[128];
};
int	repl_dial_start(struct repl_dialer *x, const char *addr,
	    struct error *err);
int	repl_dial_step(struct repl_dialer *x, int timed_out, struct error *err);
void	repl_dial_end(struct repl_dialer *x);	/* closes fd if not taken */
int	repl_parse_addr(const char *addr, char *host, size_t hlen,
	    char *port, size_t plen, struct error *err);
/* Both sides of the control socket. */
int	ctl_connect(const char *dir, struct error *err);
int	ctl_read_line(int fd, struct buf *pending, char *line, size_t len,
	    int timeout_ms, struct error *err);

/*
 * prepare.c: checks of a candidate on the peers (docs/PROTOCOL.md,
 * "prepare").  The control request, on the primary: asks every connected
 * peer at once through its push thread and answers with the verdicts.
 */
void	ctl_prepare(struct daemon *d, int fd, struct buf *pending,
	    const struct ctl_line *l);
/* push.c's idle loop: a prepare waits for this peer (under mu). */
int	prepare_wanted(const struct peer *p);
/* The push thread sends it and waits for the verdict; -1: session over. */
int	prepare_push(struct daemon *d, struct peer *p, struct chan *ch,
	    struct buf *in, struct error *err);
/* A replica answers one prepare message; -1: session over. */
int	prepare_answer(struct daemon *d, struct chan *ch, const char *name,
	    const struct msg *m, struct buf *out);

#endif
