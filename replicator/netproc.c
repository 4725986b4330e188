/*
 * netproc.c - the network process, and the daemon's side of it.
 *
 * `cfgstore serve` runs as two processes (docs/DAEMON.md).  The parent
 * keeps the store, the node's key, rendering and the control socket.  It
 * starts the network process by fork and exec of its own binary (so the
 * new image holds nothing of the parent's memory: no key, no map of the
 * store), passing it only a socketpair and the listening socket.  That
 * process becomes an unprivileged user in an empty chroot and pledges
 * "stdio inet"; it accepts and dials, runs the handshake and the
 * encrypted framing, and hands the parent authenticated, decrypted
 * frames.  What a handshake must sign it asks the parent to sign, which
 * signs only what link_sign_input_ok accepts: never a commit.
 *
 * Messages (ipc.h) carry a session id in the header's peer field:
 * sessions the parent asks for (dials) count up from 1, sessions the
 * network process accepted have NET_SID_ACCEPTED set.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "compat.h"
#include "compat_fd.h"
#include "compat_priv.h"
#include "log.h"
#include "repl_int.h"

#define NET_SID_ACCEPTED	0x80000000u
#define NET_QUEUE_MAX		8	/* frames a session may have waiting */
#define NET_RESTART_MIN_MS	200
#define NET_RESTART_MAX_MS	10000

#ifndef CFGSTORE_SELF
#define CFGSTORE_SELF		"/usr/local/sbin/cfgstore"
#endif

/* The lengths of every message, each direction (ipc_check). */
static const struct ipc_rule to_child[] = {
	{ NET_INIT,		sizeof(struct net_init), sizeof(struct net_init) },
	{ NET_PEER,		sizeof(struct net_peer), sizeof(struct net_peer) },
	{ NET_PEERS_END,	0, 0 },
	{ NET_DIAL,		STORE_NODE_MAX + 1, STORE_NODE_MAX + 1 },
	{ NET_FRAME,		1, LINK_PAYLOAD_MAX },
	{ NET_CLOSE,		0, 0 },
	{ NET_SIGNATURE,	LINK_SIG_LEN, LINK_SIG_LEN },
};
static const struct ipc_rule to_parent[] = {
	{ NET_SIGN,		1, 256 },	/* then link_sign_input_ok */
	{ NET_UP,		sizeof(struct net_up), sizeof(struct net_up) },
	{ NET_DOWN,		1, ERROR_MSG_MAX },
	{ NET_FRAME,		1, LINK_PAYLOAD_MAX },
	{ NET_READY,		0, 0 },
};
#define NRULES(r)	(sizeof(r) / sizeof((r)[0]))

/* A fixed-size text field holds its NUL: checked before it is used. */
static int
field_ok(const char *f, size_t size)
{
	return memchr(f, '\0', size) != NULL && f[0] != '\0';
}

/*
 * Queues one message and writes what the socketpair takes now; the rest
 * goes out as it becomes writable (the parent's loop, net_step).  Only
 * the child's first message, READY, is sent before its socket is made
 * non-blocking, and so goes out whole.
 */
static int
net_send(struct daemon *d, uint32_t type, uint32_t sid, const void *p,
    size_t len, struct error *err)
{
	if (d->net.fd == -1)
		return error_set(err, ERR_FAIL, "the network process is gone");
	if (ipc_compose(&d->net, type, sid, p, len, err) == -1)
		return -1;
	/* A write that fails is seen by the loop: the process is gone. */
	(void)ipc_flush(&d->net, NULL);
	return 0;
}

/* ======================================================================
 * The parent's side
 * ====================================================================== */

struct frame {
	struct buf	 b;
	struct frame	*next;
};

struct chan {
	struct daemon	*d;
	uint32_t	 sid;
	int		 up, dead, closed;
	char		 name[STORE_NODE_MAX + 1];
	unsigned char	 pk[LINK_KEY_LEN];
	char		 from[80];
	char		 why[ERROR_MSG_MAX];
	struct frame	*head, *tail;
	size_t		 nframes;
	struct chan	*next;
};

static struct chan *
chan_find(struct daemon *d, uint32_t sid)
{
	struct chan *c;

	for (c = d->chans; c != NULL; c = c->next)
		if (c->sid == sid)
			return c;
	return NULL;
}

/* The session is over, for the reason given. */
static void
chan_end(struct chan *c, const char *why)
{
	if (!c->dead)
		snprintf(c->why, sizeof(c->why), "%s", why);
	c->dead = 1;
	daemon_changed(c->d);
}

const unsigned char *
chan_peer_key(const struct chan *c)
{
	return c->pk;
}

const char *
chan_peer_name(const struct chan *c)
{
	return c->name;
}

const char *
chan_from(const struct chan *c)
{
	return c->from;
}

enum chan_state
chan_state(const struct chan *c)
{
	if (c->dead)
		return CHAN_DEAD;
	return c->up ? CHAN_UP : CHAN_DIALING;
}

const char *
chan_why(const struct chan *c)
{
	return c->dead ? c->why : "not over";
}

int
chan_send(struct chan *c, const struct buf *b, struct error *err)
{
	if (b->data == NULL)
		return error_set(err, ERR_FAIL, "out of memory");
	if (c->dead)
		return error_set(err, ERR_FAIL, "%s", c->why);
	return net_send(c->d, NET_FRAME, c->sid, b->data, b->len, err);
}

int
chan_take(struct chan *c, struct buf *out)
{
	struct frame *f;
	struct buf tmp;

	if ((f = c->head) == NULL)
		return c->dead ? -1 : 0;
	if ((c->head = f->next) == NULL)
		c->tail = NULL;
	c->nframes--;
	/* The frame's buffer becomes out's; out's old one is wiped. */
	tmp = *out;
	*out = f->b;
	out->secret = 1;
	buf_free_secret(&tmp);
	free(f);
	return 1;
}

int
chan_wait(struct chan *c, struct buf *out, uint64_t now, uint64_t deadline,
    struct error *err)
{
	int rc;

	if ((rc = chan_take(c, out)) == -1)
		return error_set(err, ERR_FAIL, "%s", c->why);
	if (rc == 0) {
		if (now >= deadline)
			return error_set(err, ERR_FAIL, "timed out");
		loop_at(c->d, deadline);
	}
	return rc;
}

int
chan_pending(const struct chan *c)
{
	return c->head != NULL || c->dead;
}

/* Ends the session and tells the network process to close it. */
void
chan_kill(struct chan *c, const char *why)
{
	chan_end(c, why);
	if (!c->closed) {
		c->closed = 1;
		net_send(c->d, NET_CLOSE, c->sid, NULL, 0, NULL);
	}
}

void
net_kill_all(struct daemon *d)
{
	struct chan *c;

	for (c = d->chans; c != NULL; c = c->next)
		chan_kill(c, "stopping");
}

void
chan_close(struct chan *c)
{
	struct daemon *d;
	struct chan **pp;
	struct frame *f;

	if (c == NULL)
		return;
	d = c->d;
	chan_kill(c, "closed");
	for (pp = &d->chans; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	while ((f = c->head) != NULL) {
		c->head = f->next;
		buf_free_secret(&f->b);
		free(f);
	}
	free(c);
}

static struct chan *
chan_new(struct daemon *d, uint32_t sid)
{
	struct chan *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->d = d;
	c->sid = sid;
	c->next = d->chans;
	d->chans = c;
	return c;
}

int
chan_dial(struct daemon *d, struct peer *p, struct chan **out,
    struct error *err)
{
	struct chan *c;
	char name[STORE_NODE_MAX + 1];

	*out = NULL;
	/*
	 * Fenced since the push decided to dial, this node follows: the
	 * peer's session may already be an inbound one (inbound.c, claim),
	 * which a dial must not take the place of.
	 */
	if (!d->primary)
		return error_set(err, ERR_FAIL, "not the primary any more");
	if (d->net.fd == -1)
		return error_set(err, ERR_FAIL, "the network process is gone");
	if (++d->next_sid >= NET_SID_ACCEPTED)
		d->next_sid = 1;
	if ((c = chan_new(d, d->next_sid)) == NULL)
		return error_errno(err, ERR_FAIL, "session");
	memcpy(c->pk, p->info.pubkey, LINK_KEY_LEN);
	snprintf(c->name, sizeof(c->name), "%s", p->info.name);
	memset(name, 0, sizeof(name));
	snprintf(name, sizeof(name), "%s", p->info.name);
	if (net_send(d, NET_DIAL, c->sid, name, sizeof(name), err) == -1) {
		chan_close(c);
		return -1;
	}
	p->ch = c;
	*out = c;
	return 0;
}

/* Peers as the network process needs them: addresses made numeric. */
static int
send_peers(struct daemon *d, struct error *err)
{
	struct net_peer np;
	struct addrinfo hints, *res;
	char host[256], port[8], num[INET6_ADDRSTRLEN];
	size_t i;
	int rc = 0;

	for (i = 0; i < d->npeers && rc == 0; i++) {
		struct peer *p = d->peers[i];

		memset(&np, 0, sizeof(np));
		snprintf(np.name, sizeof(np.name), "%s", p->info.name);
		memcpy(np.pk, p->info.pubkey, LINK_KEY_LEN);
		snprintf(np.addr, sizeof(np.addr), "%s", p->info.addr);
		/* The network process is chrooted: it cannot resolve. */
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV;
		if (repl_parse_addr(p->info.addr, host, sizeof(host), port,
		    sizeof(port), NULL) == 0 &&
		    getaddrinfo(host, port, &hints, &res) == 0) {
			if (res->ai_family == AF_INET)
				inet_ntop(AF_INET, &((struct sockaddr_in *)
				    (void *)res->ai_addr)->sin_addr, num,
				    sizeof(num));
			else
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)
				    (void *)res->ai_addr)->sin6_addr, num,
				    sizeof(num));
			snprintf(np.addr, sizeof(np.addr), "%s%s%s:%s",
			    res->ai_family == AF_INET6 ? "[" : "", num,
			    res->ai_family == AF_INET6 ? "]" : "", port);
			freeaddrinfo(res);
		}
		rc = net_send(d, NET_PEER, 0, &np, sizeof(np), err);
	}
	if (rc == 0)
		rc = net_send(d, NET_PEERS_END, 0, NULL, 0, err);
	return rc;
}

int
net_peers_changed(struct daemon *d)
{
	struct error err = { 0 };

	if (d->net.fd == -1)
		return 0;	/* a new process gets them when it starts */
	if (send_peers(d, &err) == -1) {
		log_warnx("network process: %s", err.msg);
		return -1;
	}
	return 0;
}

/* Closes every descriptor from lo on but keep. */
static void
close_from(int lo)
{
	long max = sysconf(_SC_OPEN_MAX);
	int fd;

	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = lo; fd < max; fd++)
		close(fd);
}

static int
net_spawn(struct daemon *d, struct error *err)
{
	struct net_init ni;
	int sv[2];
	pid_t pid;
	char *argv[] = { "cfgstore", "serve", "--network-process", NULL };

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return error_errno(err, ERR_FAIL, "socketpair");
	fcntl(sv[0], F_SETFD, FD_CLOEXEC);
	if ((pid = fork()) == -1) {
		close(sv[0]);
		close(sv[1]);
		return error_errno(err, ERR_FAIL, "fork");
	}
	if (pid == 0) {
		/*
		 * Only the socketpair and the listener cross the exec, as 3
		 * and 4: moved out of the way first, either may be 3 or 4.
		 */
		int ipc = fcntl(sv[1], F_DUPFD, 10);
		int lfd = d->listen_fd != -1 ?
		    fcntl(d->listen_fd, F_DUPFD, 10) : -1;

		if (ipc == -1 || dup2(ipc, NET_FD_IPC) == -1 ||
		    (lfd != -1 && dup2(lfd, NET_FD_LISTEN) == -1))
			_exit(127);
		if (lfd == -1)
			close(NET_FD_LISTEN);
		close_from(NET_FD_LISTEN + 1);
		execv(d->self, argv);
		_exit(127);
	}
	close(sv[1]);
	/* The loop never waits on it: what it does not take now, later. */
	if (fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) == -1)
		log_warn("fcntl");
	ipc_init(&d->net, sv[0]);
	d->net_pid = pid;
	d->net_ready = 0;
	d->net_started_ms = repl_mono_ms();
	memset(&ni, 0, sizeof(ni));
	memcpy(ni.pk, d->auth.pk, LINK_KEY_LEN);
	snprintf(ni.node, sizeof(ni.node), "%s", d->node);
	snprintf(ni.user, sizeof(ni.user), "%s", d->user);
	snprintf(ni.chroot, sizeof(ni.chroot), "%s", d->chroot);
	ni.primary = (uint32_t)d->primary;
	ni.has_listener = d->listen_fd != -1;
	ni.foreground = (uint32_t)d->foreground;
	ni.verbose = (uint32_t)d->verbose;
	if (net_send(d, NET_INIT, 0, &ni, sizeof(ni), err) == -1 ||
	    send_peers(d, err) == -1)
		return -1;
	log_debug("network process %ld started", (long)pid);
	return 0;
}

/*
 * The network process is gone or killed: every session with it ends,
 * and another starts after a pause that grows while they keep dying
 * young.
 */
static void
net_lost(struct daemon *d, const char *why)
{
	struct chan *c;
	int status = 0;

	if (d->net_pid > 0) {
		kill(d->net_pid, SIGKILL);
		while (waitpid(d->net_pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	ipc_clear(&d->net);
	for (c = d->chans; c != NULL; c = c->next) {
		c->closed = 1;
		chan_end(c, "the network process is gone");
		/* Its ids are the next process's to use again. */
		c->sid = 0;
	}
	d->last_accepted = 0;
	if (!d->stop)
		log_warnx("network process %ld %s%s", (long)d->net_pid, why,
		    WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL ?
		    " (killed by a signal)" : "");
	d->net_pid = -1;
	if (repl_mono_ms() - d->net_started_ms > 10000)
		d->net_backoff_ms = NET_RESTART_MIN_MS;
	d->net_restart_ms = repl_mono_ms() + d->net_backoff_ms;
	if (d->net_backoff_ms < NET_RESTART_MAX_MS)
		d->net_backoff_ms *= 2;
	daemon_changed(d);
}

/* A session the network process accepted and authenticated. */
static int
net_up(struct daemon *d, uint32_t sid, const struct net_up *u,
    struct error *err)
{
	struct chan *c;
	struct peer *p;

	if (!field_ok(u->name, sizeof(u->name)) ||
	    memchr(u->from, '\0', sizeof(u->from)) == NULL)
		return error_set(err, ERR_INPUT, "up: bad fields");
	c = chan_find(d, sid);
	if (!(sid & NET_SID_ACCEPTED)) {
		/* A dial: the key must be the one asked for. */
		if (c == NULL && sid <= d->next_sid)
			return 0;	/* given up on meanwhile */
		if (c == NULL)
			return error_set(err, ERR_INPUT, "up: session %lu was "
			    "never asked for", (unsigned long)sid);
		if (c->up || sodium_memcmp(c->pk, u->pk, LINK_KEY_LEN) != 0)
			return error_set(err, ERR_INPUT, "up: session %lu "
			    "again, or with another key", (unsigned long)sid);
		c->up = 1;
		snprintf(c->from, sizeof(c->from), "%s", u->from);
		daemon_changed(d);
		return 0;
	}
	if (c != NULL || sid <= d->last_accepted)
		return error_set(err, ERR_INPUT, "up: session %lu again",
		    (unsigned long)sid);
	d->last_accepted = sid;
	p = peer_find(d, u->name);
	if (d->stop) {
		net_send(d, NET_CLOSE, sid, NULL, 0, NULL);
		return 0;
	}
	if (p == NULL || sodium_memcmp(p->info.pubkey, u->pk,
	    LINK_KEY_LEN) != 0) {
		/* Removed by a reload meanwhile; the link knew it then. */
		log_warnx("connection from %s: %s is no longer a peer",
		    u->from, u->name);
		net_send(d, NET_CLOSE, sid, NULL, 0, NULL);
		return 0;
	}
	if ((c = chan_new(d, sid)) == NULL) {
		net_send(d, NET_CLOSE, sid, NULL, 0, NULL);
		return 0;
	}
	c->up = 1;
	memcpy(c->pk, u->pk, LINK_KEY_LEN);
	snprintf(c->name, sizeof(c->name), "%s", u->name);
	snprintf(c->from, sizeof(c->from), "%s", u->from);
	inbound_new(d, c);
	return 0;
}

/* One message from the network process: -1 when it misbehaved. */
static int
net_dispatch(struct daemon *d, const struct ipc_msg *m, struct error *err)
{
	unsigned char sig[LINK_SIG_LEN];
	struct net_up u;
	struct chan *c;
	struct frame *f;
	char why[ERROR_MSG_MAX];

	if (ipc_check(m, to_parent, NRULES(to_parent), err) == -1)
		return -1;
	/* Before it is ready it may say only that, or why it is not. */
	if (!d->net_ready && m->type != NET_READY &&
	    !(m->type == NET_DOWN && m->peer == 0))
		return error_set(err, ERR_INPUT, "message %lu before it was "
		    "ready", (unsigned long)m->type);
	switch (m->type) {
	case NET_READY:
		if (d->net_ready)
			return error_set(err, ERR_INPUT, "ready again");
		d->net_ready = 1;
		return 0;
	case NET_SIGN:
		/* The one signature it may have: a handshake's. */
		if (!link_sign_input_ok(m->data, m->len))
			return error_set(err, ERR_INPUT, "asked to sign what "
			    "is not a handshake");
		identity_sign(d->id, m->data, m->len, sig);
		return net_send(d, NET_SIGNATURE, m->peer, sig, sizeof(sig),
		    err);
	case NET_UP:
		memcpy(&u, m->data, sizeof(u));
		return net_up(d, m->peer, &u, err);
	case NET_DOWN:
		snprintf(why, sizeof(why), "%.*s", (int)m->len,
		    (const char *)m->data);
		if (m->peer == 0) {
			/* It exits next: net_lost will say so. */
			log_warnx("network process: %s", why);
			return 0;
		}
		if ((c = chan_find(d, m->peer)) != NULL) {
			c->closed = 1;
			chan_end(c, why);
		}
		return 0;
	case NET_FRAME:
		if ((c = chan_find(d, m->peer)) == NULL || !c->up ||
		    c->dead) {
			/* Sent before it heard of a close: not an offence. */
			if (c == NULL && (m->peer & NET_SID_ACCEPTED ?
			    m->peer <= d->last_accepted :
			    m->peer <= d->next_sid))
				return 0;
			if (c != NULL && c->dead)
				return 0;
			return error_set(err, ERR_INPUT, "a frame for session "
			    "%lu, which is not up", (unsigned long)m->peer);
		}
		if (c->nframes >= NET_QUEUE_MAX) {
			/* The peer sends without waiting for answers. */
			chan_kill(c, "too many messages unanswered");
			return 0;
		}
		if ((f = calloc(1, sizeof(*f))) == NULL)
			return error_errno(err, ERR_FAIL, "frame");
		buf_secret(&f->b);
		if (buf_append(&f->b, m->data, m->len) == -1) {
			free(f);
			return error_errno(err, ERR_FAIL, "frame");
		}
		if (c->tail != NULL)
			c->tail->next = f;
		else
			c->head = f;
		c->tail = f;
		c->nframes++;
		daemon_changed(d);
		return 0;
	}
	return error_set(err, ERR_INPUT, "unexpected message %lu",
	    (unsigned long)m->type);
}

/* Takes every whole message read; a misbehaving process is killed. */
static void
net_drain(struct daemon *d)
{
	struct ipc_msg m;
	struct error err = { 0 };
	int rc;

	while ((rc = ipc_get(&d->net, &m, &err)) == 1)
		if (net_dispatch(d, &m, &err) == -1)
			break;
	if (rc != 0) {
		log_warnx("network process %ld misbehaved: %s; killing it",
		    (long)d->net_pid, err.msg);
		net_lost(d, "killed");
	}
}

static void
net_io(struct daemon *d, void *arg, short revents)
{
	struct error err = { 0 };
	int rc;

	(void)arg;
	if (d->net.fd == -1)
		return;
	if ((revents & POLLOUT) && ipc_flush(&d->net, &err) == -1) {
		net_lost(d, err.msg);
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		if ((rc = ipc_read(&d->net, &err)) <= 0) {
			/* What it said last (why it could not start) first. */
			net_drain(d);
			if (d->net.fd != -1)
				net_lost(d, rc == 0 ? "exited" : err.msg);
			return;
		}
		net_drain(d);
	}
}

void
net_step(struct daemon *d, uint64_t now)
{
	struct error err = { 0 };

	if (d->stop)
		return;
	if (d->net.fd == -1) {
		if (now < d->net_restart_ms) {
			loop_at(d, d->net_restart_ms);
			return;
		}
		if (net_spawn(d, &err) == -1) {
			log_warnx("network process: %s", err.msg);
			net_lost(d, "did not start");
			loop_at(d, d->net_restart_ms);
			return;
		}
		log_info("network process %ld started again",
		    (long)d->net_pid);
	}
	loop_watch(d, d->net.fd, POLLIN | (ipc_queued(&d->net) > 0 ?
	    POLLOUT : 0), net_io, NULL);
}

/*
 * At start, the network process must come up, or the daemon does not:
 * `cfgstore serve --user nosuchuser` fails on the terminal, not in a
 * loop of restarts in the log.
 */
static int
net_wait_ready(struct daemon *d, struct error *err)
{
	struct pollfd pfd;
	struct ipc_msg m;
	char why[ERROR_MSG_MAX];
	uint64_t until = repl_mono_ms() + LINK_HANDSHAKE_MS, now;
	int rc;

	pfd.fd = d->net.fd;
	for (;;) {
		while ((rc = ipc_get(&d->net, &m, err)) == 1) {
			if (m.type == NET_READY && m.len == 0) {
				d->net_ready = 1;
				return 0;
			}
			if (m.type == NET_DOWN && m.peer == 0 && m.len > 0 &&
			    m.len <= ERROR_MSG_MAX) {
				snprintf(why, sizeof(why), "%.*s", (int)m.len,
				    (const char *)m.data);
				error_set(err, ERR_FAIL, "network process: %s",
				    why);
				goto fail;
			}
			error_set(err, ERR_FAIL, "network process: message "
			    "%lu before it was ready", (unsigned long)m.type);
			goto fail;
		}
		if (rc == -1)
			goto fail;
		pfd.events = POLLIN | (ipc_queued(&d->net) > 0 ? POLLOUT : 0);
		if ((now = repl_mono_ms()) >= until ||
		    poll(&pfd, 1, (int)(until - now)) == 0) {
			error_set(err, ERR_FAIL, "network process: did not "
			    "start");
			goto fail;
		}
		if ((pfd.revents & POLLOUT) && ipc_flush(&d->net, err) == -1)
			goto fail;
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
		    (rc = ipc_read(&d->net, err)) <= 0) {
			if (rc == 0)
				error_set(err, ERR_FAIL, "network process: "
				    "exited while starting");
			goto fail;
		}
	}
fail:
	d->stop = 1;	/* quietly: the caller reports err */
	net_lost(d, "did not start");
	d->stop = 0;
	return -1;
}

int
net_start(struct daemon *d, struct error *err)
{
	char path[1024];
	ssize_t n;

#ifdef __linux__
	if ((n = readlink("/proc/self/exe", path, sizeof(path) - 1)) == -1)
		return error_errno(err, ERR_FAIL, "/proc/self/exe");
	path[n] = '\0';
#else
	(void)n;
	snprintf(path, sizeof(path), "%s", CFGSTORE_SELF);
#endif
	if (d->net_exec != NULL)
		snprintf(path, sizeof(path), "%s", d->net_exec);
	if ((d->self = strdup(path)) == NULL)
		return error_errno(err, ERR_FAIL, "start");
	d->net_backoff_ms = NET_RESTART_MIN_MS;
	if (net_spawn(d, err) == -1 || net_wait_ready(d, err) == -1)
		return -1;
	return 0;
}

void
net_stop(struct daemon *d)
{
	struct pollfd pfd;
	int status;

	/* What was queued last (the CLOSEs, an ack) goes, for a second. */
	pfd.fd = d->net.fd;
	pfd.events = POLLOUT;
	while (d->net.fd != -1 && ipc_queued(&d->net) > 0 &&
	    poll(&pfd, 1, 1000) == 1 && ipc_flush(&d->net, NULL) == 0)
		;
	/* Its socketpair closes: the network process exits on its own. */
	ipc_clear(&d->net);
	/* SIGTERM in case it is stuck. */
	if (d->net_pid > 0) {
		kill(d->net_pid, SIGTERM);
		while (waitpid(d->net_pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	free(d->self);
}

/* ======================================================================
 * The network process: one poll(2) loop, no threads
 *
 * Every socket is non-blocking.  A session is a dial in progress, a
 * handshake (link_hs_*, which asks the parent for its signature and goes
 * on when it comes), or an authenticated link with its own output
 * queue: a peer slow to read delays only its own frames, and is dropped
 * when what it was sent stays unsent for SEND_MS.  What goes to the
 * parent is queued too, and written as the socketpair takes it; while
 * much waits there, peers are not read.  Every deadline is on the one
 * monotonic clock of link_now_ms.
 * ====================================================================== */

#define NET_SENDQ_MAX	NET_QUEUE_MAX	/* frames a session may have unsent */
#define NET_IPC_HIGH	(1u << 20)	/* queued for the parent: peers wait */
#define NET_ACCEPT_MAX	16		/* connections taken in one turn */

enum sess_state {
	S_DIAL,		/* connecting */
	S_HS,		/* handshake */
	S_UP,		/* authenticated: frames both ways */
	S_CLOSING,	/* closed by the parent: what it sent last goes out */
};

struct netsess {
	uint32_t	 sid;		/* 0: accepted, not yet authenticated */
	int		 state;
	int		 fd;
	int		 accepted;
	struct inbound	*inb;		/* accepted: its handshake slot */
	struct repl_dialer dial;
	struct link_hs	*hs;
	struct link	*l;
	int		 want;		/* what the handshake waits for */
	uint32_t	 sign_req;	/* the signature asked for, or 0 */
	unsigned char	 pk[LINK_KEY_LEN];	/* dialled: the key asked for */
	char		 from[128];	/* the address dialled, or ADDR:PORT */
	int64_t		 deadline;	/* of a dial attempt, or of closing */
	struct buf	 rx;		/* the frame coming in */
	size_t		 nqueued;	/* frames not yet all sent */
	int64_t		 send_since;	/* unsent bytes since, or -1 */
	int		 gone;		/* freed at the end of the turn */
	struct netsess	*next;
};

/* Queues one message for the parent; the loop writes it. */
static void
net_queue(struct daemon *d, uint32_t type, uint32_t sid, const void *p,
    size_t len)
{
	struct error err = { 0 };

	if (ipc_compose(&d->net, type, sid, p, len, &err) == -1)
		fatalx("network process: %s", err.msg);
}

/* auth->trust: the peers the parent sent, never our own key. */
static int
net_trust_cb(void *arg, const unsigned char pk[LINK_KEY_LEN], char *name,
    size_t len)
{
	struct daemon *d = arg;
	size_t i;

	if (sodium_memcmp(pk, d->auth.pk, LINK_KEY_LEN) == 0)
		return 0;
	for (i = 0; i < d->npeers; i++)
		if (sodium_memcmp(pk, d->peers[i]->info.pubkey,
		    LINK_KEY_LEN) == 0) {
			snprintf(name, len, "%s", d->peers[i]->info.name);
			return 1;
		}
	return 0;
}

static struct netsess *
sess_new(struct daemon *d, uint32_t sid, int state)
{
	struct netsess *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("session");
	s->sid = sid;
	s->state = state;
	s->fd = -1;
	s->dial.fd = -1;
	s->send_since = -1;
	buf_secret(&s->rx);
	s->next = d->sess;
	d->sess = s;
	return s;
}

static struct netsess *
sess_find(struct daemon *d, uint32_t sid)
{
	struct netsess *s;

	for (s = d->sess; s != NULL; s = s->next)
		if (s->sid == sid && sid != 0 && !s->gone &&
		    s->state != S_CLOSING)
			return s;
	return NULL;
}

/* Closes and frees what the session holds; the turn's end frees it. */
static void
sess_release(struct daemon *d, struct netsess *s)
{
	if (s->gone)
		return;
	if (s->inb != NULL) {
		hs_done(d, s->inb);
		d->ninbound--;
		free(s->inb);
		s->inb = NULL;
	} else if (s->accepted && s->state != S_CLOSING) {
		d->nsession--;
		d->ninbound--;
	}
	link_hs_free(s->hs);
	s->hs = NULL;
	if (s->l != NULL)
		link_free(s->l);	/* closes fd */
	else if (s->fd != -1)
		close(s->fd);
	s->l = NULL;
	s->fd = -1;
	repl_dial_end(&s->dial);
	buf_free_secret(&s->rx);
	s->gone = 1;
}

/* The session is over: the parent hears why, if it knew of it. */
static void
sess_end(struct daemon *d, struct netsess *s, const char *why)
{
	if (s->gone)
		return;
	if (s->sid != 0)
		net_queue(d, NET_DOWN, s->sid, why, strlen(why) + 1);
	else
		log_warnx("connection from %s refused: %s", s->from, why);
	sess_release(d, s);
}

/* An authenticated peer that does not take what it is sent. */
static void
sess_drop(struct daemon *d, struct netsess *s, const char *why)
{
	log_warnx("%s: dropped: %s", link_peer_name(s->l), why);
	sess_end(d, s, why);
}

/* The parent closed it: the parent's last frames still go out. */
static void
sess_close(struct daemon *d, struct netsess *s)
{
	int accepted = s->accepted;

	net_queue(d, NET_DOWN, s->sid, "closed", sizeof("closed"));
	if (s->state != S_UP || link_queued(s->l) == 0) {
		sess_release(d, s);
		return;
	}
	if (accepted) {
		d->nsession--;
		d->ninbound--;
	}
	s->state = S_CLOSING;
	s->deadline = link_now_ms() + SEND_MS;
}

/* Authenticated: the parent hears who it is, and frames may pass. */
static void
sess_up(struct daemon *d, struct netsess *s)
{
	struct net_up u;

	s->l = link_hs_take(s->hs);
	link_hs_free(s->hs);
	s->hs = NULL;
	s->state = S_UP;
	if (s->inb != NULL) {
		hs_done(d, s->inb);
		free(s->inb);
		s->inb = NULL;
		s->accepted = 1;
		d->nsession++;
		s->sid = NET_SID_ACCEPTED | ++d->last_accepted;
		log_debug("%s: authenticated from %s", link_peer_name(s->l),
		    s->from);
	}
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "%s", link_peer_name(s->l));
	memcpy(u.pk, link_peer_key(s->l), LINK_KEY_LEN);
	snprintf(u.from, sizeof(u.from), "%.*s", (int)sizeof(u.from) - 1,
	    s->from);
	net_queue(d, NET_UP, s->sid, &u, sizeof(u));
}

/* Takes the handshake as far as it goes now. */
static void
hs_drive(struct daemon *d, struct netsess *s)
{
	struct error err = { 0 };
	const void *m;
	size_t len;
	int rc;

	switch ((rc = link_hs_step(s->hs, &err))) {
	case -1:
		sess_end(d, s, err.msg);
		return;
	case LINK_HS_DONE:
		sess_up(d, s);
		return;
	case LINK_HS_SIGN:
		/* The parent holds the key: it signs, or nobody does. */
		if (s->sign_req == 0) {
			if (++d->next_sid == 0)
				d->next_sid = 1;
			s->sign_req = d->next_sid;
			m = link_hs_sign_input(s->hs, &len);
			net_queue(d, NET_SIGN, s->sign_req, m, len);
		}
		break;
	}
	s->want = rc;
}

static void
hs_start(struct daemon *d, struct netsess *s, int initiator)
{
	struct error err = { 0 };

	if (link_hs_new(s->fd, initiator, &d->auth, initiator ? s->pk : NULL,
	    &s->hs, &err) == -1) {
		sess_end(d, s, err.msg);
		return;
	}
	s->state = S_HS;
	hs_drive(d, s);
}

/* A dial's connect went on (rc of repl_dial_start or _step). */
static void
dial_result(struct daemon *d, struct netsess *s, int rc, struct error *err)
{
	if (rc == -1)
		sess_end(d, s, err->msg);
	else if (rc == 0)
		s->deadline = link_now_ms() + DIAL_MS;
	else {
		s->fd = s->dial.fd;
		s->dial.fd = -1;
		repl_dial_end(&s->dial);
		hs_start(d, s, 1);
	}
}

static void
dial_start(struct daemon *d, uint32_t sid, const char *name)
{
	struct error err = { 0 };
	struct netsess *s;
	struct peer *p;

	s = sess_new(d, sid, S_DIAL);
	if ((p = peer_find(d, name)) == NULL) {
		error_set(&err, ERR_FAIL, "%s is not a peer", name);
		sess_end(d, s, err.msg);
		return;
	}
	memcpy(s->pk, p->info.pubkey, LINK_KEY_LEN);
	snprintf(s->from, sizeof(s->from), "%s", p->info.addr);
	dial_result(d, s, repl_dial_start(&s->dial, p->info.addr, &err),
	    &err);
}

/* Writes what the peer's socket takes. */
static void
sess_write(struct daemon *d, struct netsess *s)
{
	struct error err = { 0 };
	int rc;

	rc = link_flush(s->l, &err);
	if (rc == 1) {
		s->nqueued = 0;
		s->send_since = -1;
	}
	if (s->state == S_CLOSING) {
		if (rc != 0)
			sess_release(d, s);
	} else if (rc == -1)
		sess_drop(d, s, err.msg);
}

/* Passes the frames that arrived to the parent. */
static void
sess_read(struct daemon *d, struct netsess *s)
{
	struct error err = { 0 };
	int rc;

	while ((rc = link_recv_some(s->l, &s->rx, &err)) == 1) {
		/*
		 * No message is empty (docs/PROTOCOL.md), and the parent
		 * takes an empty frame for the network process misbehaving:
		 * the peer's session ends here instead.
		 */
		if (s->rx.len == 0) {
			sess_end(d, s, "an empty frame");
			return;
		}
		net_queue(d, NET_FRAME, s->sid, s->rx.data, s->rx.len);
		if (s->rx.cap > (1u << 20))
			buf_free_secret(&s->rx);
		if (ipc_queued(&d->net) >= NET_IPC_HIGH)
			return;
	}
	if (rc == -1)
		sess_end(d, s, err.msg);
}

/* A frame from the parent, onto the session's own queue. */
static void
sess_send(struct daemon *d, struct netsess *s, const void *p, size_t len)
{
	struct error err = { 0 };

	if (s->nqueued >= NET_SENDQ_MAX) {
		sess_drop(d, s, "too many frames unsent");
		return;
	}
	if (link_queue(s->l, p, len, &err) == -1) {
		sess_drop(d, s, err.msg);
		return;
	}
	s->nqueued++;
	if (s->send_since == -1)
		s->send_since = link_now_ms();
	sess_write(d, s);
}

/* What to poll the session's socket for: its descriptor, or -1. */
static int
sess_events(struct daemon *d, struct netsess *s, short *ev)
{
	*ev = 0;
	switch (s->state) {
	case S_DIAL:
		*ev = POLLOUT;
		return s->dial.fd;
	case S_HS:
		if (s->want == LINK_HS_SIGN)
			return -1;
		*ev = s->want == LINK_HS_READ ? POLLIN : POLLOUT;
		return s->fd;
	case S_UP:
		if (ipc_queued(&d->net) < NET_IPC_HIGH)
			*ev |= POLLIN;
		if (link_queued(s->l) > 0)
			*ev |= POLLOUT;
		return s->fd;
	default:
		*ev = POLLOUT;
		return s->fd;
	}
}

/* The session's next deadline, or -1. */
static int64_t
sess_deadline(const struct netsess *s)
{
	int64_t a, b;

	switch (s->state) {
	case S_HS:
		return link_hs_deadline(s->hs);
	case S_UP:
		a = link_recv_deadline(s->l);
		b = s->send_since == -1 ? -1 : s->send_since + SEND_MS;
		if (a == -1 || (b != -1 && b < a))
			return b;
		return a;
	default:
		return s->deadline;
	}
}

static void
sess_event(struct daemon *d, struct netsess *s, short revents)
{
	struct error err = { 0 };

	switch (s->state) {
	case S_DIAL:
		dial_result(d, s, repl_dial_step(&s->dial, 0, &err), &err);
		break;
	case S_HS:
		hs_drive(d, s);
		break;
	case S_UP:
		if (revents & POLLOUT)
			sess_write(d, s);
		if (!s->gone && (revents & (POLLIN | POLLHUP | POLLERR)))
			sess_read(d, s);
		break;
	default:
		sess_write(d, s);
		break;
	}
}

static void
sess_timers(struct daemon *d, struct netsess *s, int64_t now)
{
	struct error err = { 0 };
	int64_t dl;

	if (s->gone || (dl = sess_deadline(s)) == -1 || now < dl)
		return;
	switch (s->state) {
	case S_DIAL:
		dial_result(d, s, repl_dial_step(&s->dial, 1, &err), &err);
		break;
	case S_HS:
		link_hs_expire(s->hs, &err);
		sess_end(d, s, err.msg);
		break;
	case S_UP:
		if (link_recv_deadline(s->l) == dl) {
			link_recv_expire(s->l, &err);
			sess_end(d, s, err.msg);
		} else
			sess_drop(d, s, "send: timed out");
		break;
	default:
		sess_release(d, s);
		break;
	}
}

/* Takes the connections waiting, within the limits of PROTOCOL.md. */
static void
net_accept(struct daemon *d, struct acceptor *tcp, int64_t *pause_until)
{
	struct sockaddr_storage ss;
	struct inbound *in;
	struct netsess *s;
	int i, fd;

	for (i = 0; i < NET_ACCEPT_MAX; i++) {
		if ((fd = acceptor_take(tcp, &ss)) == -1)
			return;
		if (fd == -2) {
			/* Out of descriptors: the backlog waits, no spin. */
			*pause_until = link_now_ms() + ACCEPT_BACKOFF_MS;
			return;
		}
		if ((in = inbound_admit(d, fd, &ss)) == NULL)
			continue;
		s = sess_new(d, 0, S_HS);
		s->inb = in;
		s->fd = fd;
		snprintf(s->from, sizeof(s->from), "%s", in->from);
		hs_start(d, s, 0);
	}
}

/* Replaces the peers with the ones received (the parent's, numeric). */
static void
take_peers(struct daemon *d, struct peer **next, size_t n)
{
	size_t i;

	for (i = 0; i < d->npeers; i++)
		free(d->peers[i]);
	free(d->peers);
	d->peers = next;
	d->npeers = n;
}

static void
net_child_dispatch(struct daemon *d, const struct ipc_msg *m,
    struct peer ***pending, size_t *npending)
{
	struct error err = { 0 };
	struct net_peer np;
	struct netsess *s;
	struct peer *p, **grown;
	char name[STORE_NODE_MAX + 1];

	if (ipc_check(m, to_child, NRULES(to_child), &err) == -1)
		fatalx("from the parent: %s", err.msg);
	switch (m->type) {
	case NET_PEER:
		memcpy(&np, m->data, sizeof(np));
		if (!field_ok(np.name, sizeof(np.name)) ||
		    !field_ok(np.addr, sizeof(np.addr)))
			fatalx("from the parent: a bad peer");
		if ((p = calloc(1, sizeof(*p))) == NULL ||
		    (grown = reallocarray(*pending, *npending + 1,
		    sizeof(*grown))) == NULL)
			fatal("peers");
		snprintf(p->info.name, sizeof(p->info.name), "%s", np.name);
		snprintf(p->info.addr, sizeof(p->info.addr), "%s", np.addr);
		memcpy(p->info.pubkey, np.pk, LINK_KEY_LEN);
		*pending = grown;
		(*pending)[(*npending)++] = p;
		break;
	case NET_PEERS_END:
		take_peers(d, *pending, *npending);
		*pending = NULL;
		*npending = 0;
		break;
	case NET_SIGNATURE:
		for (s = d->sess; s != NULL; s = s->next)
			if (!s->gone && s->state == S_HS && s->sign_req != 0 &&
			    s->sign_req == m->peer) {
				link_hs_signature(s->hs, m->data);
				s->sign_req = 0;
				hs_drive(d, s);
			}
		break;
	case NET_DIAL:
		memcpy(name, m->data, sizeof(name));
		name[sizeof(name) - 1] = '\0';
		dial_start(d, m->peer, name);
		break;
	case NET_CLOSE:
	case NET_FRAME:
		/* None: it ended meanwhile, and DOWN is on its way. */
		if ((s = sess_find(d, m->peer)) == NULL)
			break;
		if (m->type == NET_CLOSE || s->state != S_UP)
			sess_close(d, s);
		else
			sess_send(d, s, m->data, m->len);
		break;
	default:
		fatalx("from the parent: unexpected message %lu",
		    (unsigned long)m->type);
	}
}

/* Frees the sessions that ended this turn. */
static void
sess_sweep(struct daemon *d)
{
	struct netsess **pp, *s;

	for (pp = &d->sess; (s = *pp) != NULL; ) {
		if (s->gone) {
			*pp = s->next;
			free(s);
		} else
			pp = &s->next;
	}
}

/* Handles what the parent sent: exits when it is gone. */
static void
net_from_parent(struct daemon *d, struct peer ***pending, size_t *npending)
{
	struct ipc_msg m;
	struct error err = { 0 };
	int rc;

	while ((rc = ipc_get(&d->net, &m, &err)) == 1)
		net_child_dispatch(d, &m, pending, npending);
	if (rc == -1)
		fatalx("from the parent: %s", err.msg);
}

static void __attribute__((noreturn))
net_loop(struct daemon *d, struct acceptor *tcp)
{
	struct pollfd *pfd = NULL, *grownp;
	struct netsess **who = NULL, **grownw, *s;
	struct peer **pending = NULL;
	struct error err = { 0 };
	size_t n, cap = 0, i, npending = 0;
	int64_t now, next, dl, pause_until = 0;
	int rc, timeout;

	/* What came with the start message first. */
	net_from_parent(d, &pending, &npending);
	for (;;) {
		for (n = 2, s = d->sess; s != NULL; s = s->next)
			n++;
		if (n > cap) {
			if ((grownp = reallocarray(pfd, n + 16,
			    sizeof(*pfd))) == NULL)
				fatal("poll");
			pfd = grownp;
			if ((grownw = reallocarray(who, n + 16,
			    sizeof(*who))) == NULL)
				fatal("poll");
			who = grownw;
			cap = n + 16;
		}
		now = link_now_ms();
		next = -1;
		pfd[0].fd = d->net.fd;
		pfd[0].events = POLLIN;
		if (ipc_queued(&d->net) > 0)
			pfd[0].events |= POLLOUT;
		pfd[1].fd = -1;
		pfd[1].events = POLLIN;
		if (tcp->fd != -1 && now >= pause_until)
			pfd[1].fd = tcp->fd;
		else if (tcp->fd != -1)
			next = pause_until;
		for (n = 2, s = d->sess; s != NULL; s = s->next, n++) {
			pfd[n].fd = sess_events(d, s, &pfd[n].events);
			who[n] = s;
			if ((dl = sess_deadline(s)) != -1 &&
			    (next == -1 || dl < next))
				next = dl;
		}
		timeout = next == -1 ? -1 : next <= now ? 0 :
		    next - now > 1000000 ? 1000000 : (int)(next - now);
		for (i = 0; i < n; i++)
			pfd[i].revents = 0;
		if (poll(pfd, n, timeout) == -1) {
			if (errno != EINTR)
				fatal("poll");
			continue;
		}
		if ((pfd[0].revents & POLLOUT) &&
		    ipc_flush(&d->net, &err) == -1)
			_exit(0);	/* the parent is gone */
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((rc = ipc_read(&d->net, &err)) <= 0) {
				/*
				 * The parent is gone: so is the reason to be.
				 * Closed with our last words unread, it resets.
				 */
				if (rc == -1 && errno != ECONNRESET)
					log_warnx("network process: %s",
					    err.msg);
				_exit(0);
			}
			net_from_parent(d, &pending, &npending);
		}
		if (pfd[1].revents & POLLIN)
			net_accept(d, tcp, &pause_until);
		for (i = 2; i < n; i++) {
			s = who[i];
			if (!s->gone && pfd[i].revents != 0)
				sess_event(d, s, pfd[i].revents);
			sess_timers(d, s, link_now_ms());
		}
		sess_sweep(d);
		/* Written at once, not a turn later: signatures wait on it. */
		if (ipc_queued(&d->net) > 0 && ipc_flush(&d->net, &err) == -1)
			_exit(0);
	}
}

/* Tells the parent why it could not start, and exits. */
static void __attribute__((noreturn))
not_started(struct daemon *d, const char *why)
{
	net_send(d, NET_DOWN, 0, why, strlen(why) + 1, NULL);
	_exit(1);
}

/* Reads the first message, NET_INIT, before anything else. */
static void
read_init(struct daemon *d, struct net_init *ni)
{
	struct ipc_msg m;
	struct error err = { 0 };
	int rc;

	while ((rc = ipc_get(&d->net, &m, &err)) == 0)
		if (ipc_read(&d->net, &err) != 1)
			exit(0);
	if (rc == -1 || ipc_check(&m, to_child, NRULES(to_child),
	    &err) == -1 || m.type != NET_INIT)
		fatalx("from the parent: no start message");
	memcpy(ni, m.data, sizeof(*ni));
	if (!field_ok(ni->node, sizeof(ni->node)) ||
	    memchr(ni->user, '\0', sizeof(ni->user)) == NULL ||
	    memchr(ni->chroot, '\0', sizeof(ni->chroot)) == NULL)
		fatalx("from the parent: a bad start message");
}

static void
nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("fcntl");
}

int
repl_net_main(void)
{
	static struct daemon d;
	struct net_init ni;
	struct acceptor tcp;
	struct error err = { 0 };

	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		_exit(1);
	ipc_init(&d.net, NET_FD_IPC);
	read_init(&d, &ni);
	log_init(ni.foreground, ni.verbose, "cfgstore");
	snprintf(d.node, sizeof(d.node), "%s", ni.node);
	d.primary = (int)ni.primary;
	memcpy(d.auth.pk, ni.pk, LINK_KEY_LEN);
	/* No auth.sign: the loop asks the parent (LINK_HS_SIGN). */
	d.auth.trust = net_trust_cb;
	d.auth.trust_arg = &d;
	/* Everything it will ever open is open: now it gives up the rest. */
	if (geteuid() == 0) {
		if (priv_drop(ni.user, ni.chroot, &err) == -1)
			not_started(&d, err.msg);
	} else
		log_info("network process: not root, so neither chrooted nor "
		    "another user");
	if (sandbox_pledge("stdio inet") == -1)
		not_started(&d, "pledge failed");
	memset(&tcp, 0, sizeof(tcp));
	tcp.d = &d;
	tcp.fd = ni.has_listener ? NET_FD_LISTEN : -1;
	/* Ready before it accepts: a handshake's signing request follows. */
	if (net_send(&d, NET_READY, 0, NULL, 0, &err) == -1)
		_exit(0);
	nonblock(d.net.fd);
	if (tcp.fd != -1)
		nonblock(tcp.fd);
	net_loop(&d, &tcp);
}
