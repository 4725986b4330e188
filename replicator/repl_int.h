/*
 * repl_int.h - what the files of replicator/ share and nobody else sees.
 *
 * The daemon is two processes (netproc.c, docs/DAEMON.md), each around
 * one struct daemon and each one poll(2) loop.  The parent's loop
 * (daemon.c) turns over the socketpair to the network process, the
 * control socket and its clients, and the deadlines of every session;
 * each turn it calls every module's step function, which does what its
 * state allows without blocking, says what it waits for (loop_watch,
 * loop_at) and returns.  What changes the shared state calls
 * daemon_changed, and every step function runs again before the loop
 * sleeps.  Slow work (rendering with its checks and restarts, a
 * candidate's checks, the CARP demotion commands) runs on two worker
 * threads (work_submit), which see nothing of struct daemon but the
 * store and what their job holds.  The network process has no threads.
 */
#ifndef CFGSTORE_REPL_INT_H
#define CFGSTORE_REPL_INT_H

#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
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
struct push;
struct in_session;
struct ctlconn;
struct work;
struct worker;
struct demote_run;
struct confirm_run;
struct loop;

/* A peer's part in a prepare round (prepare.c). */
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
	struct push	*push;		/* push.c's state for it, or NULL */
};

struct daemon {
	struct store	*s;
	struct identity	*id;
	struct link_auth auth;
	const char	*root;
	char		 node[STORE_NODE_MAX + 1];
	int		 primary;

	int		 stop;
	uint64_t	 gen;		/* daemon_changed: bumped each change */
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
	int		 rendering;	/* a render is with the worker */
	uint64_t	 render_look_ms;	/* look at the head then (mono) */
	char		 render_summary[PROTO_TEXT_MAX + 1];
	int		 render_failed;
	int		 ninbound, nsession, ncontrol;
	struct in_session *insess;	/* inbound.c's sessions */
	struct ctlconn	*ctls;		/* control.c's clients */
	struct confirm_run *confirm;	/* confirm.c's timer */
	struct demote_run *demote;	/* demote.c's state */
	struct worker	*workers;	/* daemon.c: the two threads */
	struct loop	*loop;		/* daemon.c: this turn's waits */
	int		 preparing;	/* a prepare round runs: one at once */
	uint64_t	 prep_id;	/* the last round's id */
	struct inbound	*hs[HS_SLOTS];	/* not yet authenticated */
	int		 wake[2];	/* the workers' and the signals' pipe */

	/* The parent's side of the network process (netproc.c). */
	int		 listen_fd;	/* handed to it, never accepted on */
	char		*self;		/* our binary, to exec */
	const char	*net_exec;	/* tests: another one instead */
	const char	*user, *chroot;
	int		 foreground, verbose;
	pid_t		 net_pid;	/* -1: none now */
	uint64_t	 net_started_ms;
	uint64_t	 net_backoff_ms;	/* before starting another */
	uint64_t	 net_restart_ms;	/* start another then (mono) */
	int		 net_ready;	/* the process said NET_READY */
	struct chan	*chans;
	uint32_t	 last_accepted;	/* session ids, both sides */
	uint32_t	 next_sid;
	/* Both sides: the socketpair, non-blocking, its output queued. */
	struct ipc	 net;
	/* The network process's own (netproc.c). */
	struct netsess	*sess;
};

/*
 * No locks guard struct daemon: only the loop's thread touches it.  The
 * workers' queues have a mutex each (daemon.c), a leaf.  docs/DAEMON.md
 * says why the two workers stay.
 */

/* daemon.c */
uint64_t repl_now_ms(void);		/* UTC */
uint64_t repl_mono_ms(void);		/* monotonic */
uint64_t repl_mono_us(void);
struct peer *peer_find(struct daemon *d, const char *name);
void	peer_error(struct peer *p, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	peer_save(struct peer *p);	/* its record, to the store */
int	repl_head(struct daemon *d, uint64_t *rev,
	    unsigned char hash[STORE_HASH_LEN]);

/*
 * daemon.c: the parent's loop.  Each turn calls every step function
 * (push_step, inbound_step, control_step, confirm_step, demote_step);
 * a step function never blocks: it does what its state allows, then
 * registers what it waits for, for this turn only: descriptors with
 * loop_watch (fn is called in this turn's dispatch with the revents),
 * a time with loop_at (monotonic ms; the loop wakes then and calls the
 * step functions again).  daemon_changed says the shared state changed
 * (a render done, a peer acked, the role moved): the loop turns again
 * at once, without sleeping, so whoever waited for it sees it.  Never
 * call it from a step function that found nothing new, or the loop
 * spins.
 */
typedef void (*loop_io_fn)(struct daemon *d, void *arg, short revents);
void	loop_watch(struct daemon *d, int fd, short events, loop_io_fn fn,
	    void *arg);
void	loop_at(struct daemon *d, uint64_t mono_ms);
void	daemon_changed(struct daemon *d);

/*
 * daemon.c: the workers.  Two threads, each with a queue: WORK_RENDER
 * renders, checks candidates (the renderer's checkers, the restarts:
 * seconds); WORK_CARP runs the CARP demotion commands, which must not
 * wait behind a render.  run is called on the worker thread and may use
 * d->s and what the work holds, nothing else of struct daemon; done is
 * called afterwards in the loop (then daemon_changed), and owns w from
 * then on.  The caller sets run, done and arg; work_submit sets d.  At
 * stop, work not started yet gets done with w->cancelled set and run
 * never called; work running is waited for.
 */
enum work_queue { WORK_RENDER, WORK_CARP, WORK_QUEUES };
struct work {
	void		(*run)(struct work *w);
	void		(*done)(struct daemon *d, struct work *w);
	struct daemon	*d;
	void		*arg;
	int		 cancelled;
	struct work	*next;		/* the queue's */
};
void	work_submit(struct daemon *d, enum work_queue q, struct work *w);

/*
 * daemon.c: rendering, on WORK_RENDER.  One render at a time, always of
 * the head (or, while confirm.c has reverted a commit, of its base), so
 * a burst of commits costs one render.
 */
/* The next render is due whatever its revision (a fork point was taken). */
void	render_rewind(struct daemon *d);
/* Asks for a render of at least rev. */
void	render_kick(struct daemon *d, uint64_t rev);
/*
 * 1 when a render covering rev is done (or the daemon stops), with its
 * summary and whether a service failed; 0 not yet (render_kick first).
 */
int	render_covers(struct daemon *d, uint64_t rev, char *summary,
	    size_t len, int *failed);
/* Sends one message; logs nothing. */
int	send_msg(struct chan *c, struct buf *b, struct error *err);

/*
 * daemon.c: node ("" when not named) is the primary of epoch, from's
 * hello said.  Above the history's epoch, a primary stops being one at
 * once: writes refused, pushing stopped; it follows the new primary when
 * that one sends.
 */
void	repl_fence(struct daemon *d, uint64_t epoch, const char *node,
	    const char *from);

/*
 * daemon.c: re-reads the peers and the role (SIGHUP, or asked on the
 * control socket).
 */
int	repl_daemon_reload(struct daemon *d, struct error *err);

struct acceptor {
	struct daemon	*d;
	int		 fd;
	int		 starved;	/* accept(2) out of descriptors */
	uint64_t	 retry_ms;	/* then accept again (monotonic) */
};
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
/*
 * netproc.c, the parent's side: net_start starts the network process
 * and waits for it to be ready; net_step (each turn) reads and writes
 * the socketpair, dispatches what came, and starts another process
 * after one died, with a back-off; net_stop ends it.
 */
int	net_start(struct daemon *d, struct error *err);
void	net_step(struct daemon *d, uint64_t now);
void	net_stop(struct daemon *d);
int	net_peers_changed(struct daemon *d);
/*
 * A session through the network process, as the parent sees it: the
 * frames it decrypted, in order; what we send it encrypts.  Nothing here
 * blocks.  chan_dial asks for a session with p and returns it at once,
 * CHAN_DIALING until the network process says it is up (or why not);
 * the caller keeps its own deadline.  A session it accepted reaches
 * inbound_new already CHAN_UP.  chan_send queues a frame (-1 when the
 * session is over, err saying why).  chan_take moves the next frame
 * into out (its old buffer wiped): 1, 0 when none waits, -1 when none
 * waits and the session is over (chan_why).  chan_kill ends it and tells
 * the network process; chan_close also frees it (NULL is fine).  Every
 * frame that arrives and every end calls daemon_changed.
 */
enum chan_state { CHAN_DIALING, CHAN_UP, CHAN_DEAD };
int	chan_dial(struct daemon *d, struct peer *p, struct chan **out,
	    struct error *err);
enum chan_state chan_state(const struct chan *c);
const char *chan_why(const struct chan *c);
int	chan_send(struct chan *c, const struct buf *b, struct error *err);
int	chan_take(struct chan *c, struct buf *out);
/*
 * chan_take for a reader with a deadline (monotonic ms): 1 a frame, 0
 * none yet (loop_at(deadline) done), -1 and err: the session is over,
 * or "timed out".
 */
int	chan_wait(struct chan *c, struct buf *out, uint64_t now,
	    uint64_t deadline, struct error *err);
int	chan_pending(const struct chan *c);	/* a frame or the end waits */
void	chan_kill(struct chan *c, const char *why);
void	net_kill_all(struct daemon *d);
void	chan_close(struct chan *c);
const unsigned char *chan_peer_key(const struct chan *c);
const char *chan_peer_name(const struct chan *c);
const char *chan_from(const struct chan *c);

/*
 * confirm.c: the timer of confirmed commits, and the revision a render
 * is to be of: 0 the head, else the state before a confirmed commit this
 * node has reverted.  confirm_step each turn; confirm_free at exit.
 */
void	confirm_step(struct daemon *d, uint64_t now);
uint64_t confirm_render_at(struct daemon *d);
void	confirm_free(struct daemon *d);

/*
 * push.c: the primary's side, one state machine per peer (p->push):
 * dial, hellos, commits in batches until acked, pings when idle, the
 * prepare of its slot, back-off after a failure.  push_step runs every
 * peer's each turn (a fenced node's idle); push_stop ends their
 * sessions (at stop, or the peer removed), push_free frees p->push.
 */
void	push_step(struct daemon *d, uint64_t now);
void	push_stop(struct peer *p);
void	push_free(struct peer *p);

/* An accepted connection not yet authenticated (in the network process). */
struct inbound {
	struct daemon	*d;
	int		 fd;
	char		 from[80];	/* ADDR:PORT, for the log */
	char		 host[64];	/* ADDR: what the limits count by */
	uint64_t	 since_ms;	/* accepted (monotonic) */
	int		 evicted;	/* cut short to make room */
};
/*
 * inbound.c: a session the network process accepted and authenticated,
 * in the parent: inbound_new takes c (CHAN_UP) and keeps it in
 * d->insess; inbound_step serves every one each turn and frees those
 * over (d->ninbound counts them); inbound_stop_all ends them all.
 */
void	inbound_new(struct daemon *d, struct chan *c);
void	inbound_step(struct daemon *d, uint64_t now);
void	inbound_stop_all(struct daemon *d);
/* daemon.c: the connection is authenticated or gone. */
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
/*
 * Each turn: looks at the state when it changed (d->gen) and five times
 * a second, and hands a raise or a lower to WORK_CARP.
 */
void	demote_step(struct daemon *d, uint64_t now);
/* At a clean stop, the workers ended: takes back what we added (blocks). */
void	demote_stop(struct daemon *d);

/*
 * control.c: the daemon's side of the control socket.  control_new takes
 * an accepted client (d->ncontrol counts them, at most MAX_CONTROL);
 * control_step serves every one each turn: reads its request, answers,
 * or waits (a commit for every node, a prepare for the verdicts);
 * control_stop_all answers those waiting ("daemon shutting down") and
 * closes them.
 */
void	control_new(struct daemon *d, int fd);
void	control_step(struct daemon *d, uint64_t now);
void	control_stop_all(struct daemon *d);
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
 * "prepare"), the primary's side.  A control client's request (after its
 * LEN bytes were read) starts a round: prepare_start puts the round in
 * the slot of every peer; each peer's push sends it when idle and puts
 * the verdict back; prepare_poll says when every peer decided (or the
 * wait ran out) and gives the reply lines.  One round at a time: a
 * second waits for the first (prepare_start says 0: try again).
 */
struct prep_wait;
/* 1 started (*out), 0 another round runs, -1 err (ERR_INPUT: say so). */
int	prepare_start(struct daemon *d, const struct ctl_line *l,
	    struct buf *chg, struct prep_wait **out, struct error *err);
/* 1 done: the reply lines ("verdict ..." and "end") appended to out. */
int	prepare_poll(struct daemon *d, struct prep_wait *w, uint64_t now,
	    struct buf *out);
void	prepare_cancel(struct daemon *d, struct prep_wait *w);	/* frees */
/* The push's side: a prepare waits for p (its message and id). */
int	prepare_wanted(const struct peer *p);
const struct buf *prepare_take(struct peer *p, uint64_t *id);	/* SENT */
/* Its verdict, or VERDICT_UNCHECKED with why the session ended. */
void	prepare_done(struct daemon *d, struct peer *p, enum proto_verdict st,
	    char *lines, uint64_t ms);		/* takes lines */

/*
 * check.c: a replica answers one prepare message, checking the
 * candidate on WORK_RENDER; while the checks run, inbound.c sends a pong
 * every KEEPALIVE_MS.  check_start: 0 and *out, or -1 with the verdict
 * already in reply (not at the base, malformed).  check_poll: 1 when
 * done, the verdict message in reply; check_free at any time (work
 * still running is let go and freed when it ends).
 */
struct check_job;
int	check_start(struct daemon *d, const char *name, const struct msg *m,
	    struct check_job **out, struct buf *reply);
int	check_poll(struct check_job *j, struct buf *reply);
void	check_free(struct check_job *j);

#endif
