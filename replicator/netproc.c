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
#define NET_SIGN_MS		LINK_HANDSHAKE_MS

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

/* Composes and writes one message now, one writer at a time. */
static int
net_send(struct daemon *d, uint32_t type, uint32_t sid, const void *p,
    size_t len, struct error *err)
{
	int rc;

	pthread_mutex_lock(&d->netmu);
	if (d->net.fd == -1)
		rc = error_set(err, ERR_FAIL, "the network process is gone");
	else if ((rc = ipc_compose(&d->net, type, sid, p, len, err)) == 0)
		rc = ipc_flush(&d->net, err);
	/* A failed write leaves nothing half queued for the next one. */
	buf_reset(&d->net.out);
	pthread_mutex_unlock(&d->netmu);
	return rc;
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

/* Under mu: the session is over, for the reason given. */
static void
chan_end(struct chan *c, const char *why)
{
	if (!c->dead)
		snprintf(c->why, sizeof(c->why), "%s", why);
	c->dead = 1;
	pthread_cond_broadcast(&c->d->cv);
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

int
chan_send(struct chan *c, const struct buf *b, struct error *err)
{
	int dead;

	if (b->data == NULL)
		return error_set(err, ERR_FAIL, "out of memory");
	pthread_mutex_lock(&c->d->mu);
	dead = c->dead;
	pthread_mutex_unlock(&c->d->mu);
	if (dead)
		return error_set(err, ERR_FAIL, "%s", c->why);
	return net_send(c->d, NET_FRAME, c->sid, b->data, b->len, err);
}

int
chan_recv(struct chan *c, struct buf *out, int timeout_ms, struct error *err)
{
	struct daemon *d = c->d;
	struct timespec ts;
	struct frame *f;
	struct buf tmp;

	repl_deadline(&ts, timeout_ms >= 0 ? (uint64_t)timeout_ms : 0);
	pthread_mutex_lock(&d->mu);
	while (c->head == NULL && !c->dead) {
		if (timeout_ms < 0)
			pthread_cond_wait(&d->cv, &d->mu);
		else if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) != 0)
			break;
	}
	if ((f = c->head) == NULL) {
		pthread_mutex_unlock(&d->mu);
		if (c->dead)
			return error_set(err, ERR_FAIL, "%s", c->why);
		return error_set(err, ERR_FAIL, "timed out");
	}
	if ((c->head = f->next) == NULL)
		c->tail = NULL;
	c->nframes--;
	pthread_mutex_unlock(&d->mu);
	/* The frame's buffer becomes out's; out's old one is wiped. */
	tmp = *out;
	*out = f->b;
	out->secret = 1;
	buf_free_secret(&tmp);
	free(f);
	return 0;
}

int
chan_pending(struct chan *c)
{
	int r;

	pthread_mutex_lock(&c->d->mu);
	r = c->head != NULL || c->dead;
	pthread_mutex_unlock(&c->d->mu);
	return r;
}

/* Under mu: ends the session and tells the network process to close it. */
void
chan_kill(struct chan *c, const char *why)
{
	chan_end(c, why);
	if (!c->closed) {
		c->closed = 1;
		/* Leaf lock: netmu is taken under mu, never the other way. */
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
	pthread_mutex_lock(&d->mu);
	chan_kill(c, "closed");
	for (pp = &d->chans; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	pthread_mutex_unlock(&d->mu);
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
	struct timespec ts;
	struct chan *c;
	char name[STORE_NODE_MAX + 1];

	*out = NULL;
	memset(name, 0, sizeof(name));
	snprintf(name, sizeof(name), "%s", p->info.name);
	pthread_mutex_lock(&d->mu);
	if (++d->next_sid >= NET_SID_ACCEPTED)
		d->next_sid = 1;
	if ((c = chan_new(d, d->next_sid)) == NULL) {
		pthread_mutex_unlock(&d->mu);
		return error_errno(err, ERR_FAIL, "session");
	}
	memcpy(c->pk, p->info.pubkey, LINK_KEY_LEN);
	snprintf(c->name, sizeof(c->name), "%s", p->info.name);
	p->ch = c;
	pthread_mutex_unlock(&d->mu);
	if (net_send(d, NET_DIAL, c->sid, name, sizeof(name), err) == -1) {
		pthread_mutex_lock(&d->mu);
		if (p->ch == c)
			p->ch = NULL;
		pthread_mutex_unlock(&d->mu);
		chan_close(c);
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (DIAL_MS + LINK_HANDSHAKE_MS) / 1000 + 2;
	pthread_mutex_lock(&d->mu);
	while (!c->up && !c->dead && !d->stop && !p->quit)
		if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) != 0)
			break;
	if (!c->up || c->dead) {
		if (!c->dead)
			chan_end(c, d->stop || p->quit ? "stopping" :
			    "no answer from the network process");
		error_set(err, ERR_FAIL, "%s", c->why);
		/* Nobody may kill it once closed (push.c clears only its own). */
		if (p->ch == c)
			p->ch = NULL;
		pthread_mutex_unlock(&d->mu);
		chan_close(c);
		return -1;
	}
	pthread_mutex_unlock(&d->mu);
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

	pthread_mutex_lock(&d->mu);
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
	pthread_mutex_unlock(&d->mu);
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
	pthread_mutex_lock(&d->netmu);
	ipc_init(&d->net, sv[0]);
	pthread_mutex_unlock(&d->netmu);
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

/* The network process is gone or killed: every session with it ends. */
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
	pthread_mutex_lock(&d->netmu);
	ipc_clear(&d->net);
	pthread_mutex_unlock(&d->netmu);
	pthread_mutex_lock(&d->mu);
	for (c = d->chans; c != NULL; c = c->next) {
		c->closed = 1;
		chan_end(c, "the network process is gone");
		/* Its ids are the next process's to use again. */
		c->sid = 0;
	}
	d->last_accepted = 0;
	pthread_mutex_unlock(&d->mu);
	if (!d->stop)
		log_warnx("network process %ld %s%s", (long)d->net_pid, why,
		    WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL ?
		    " (killed by a signal)" : "");
	d->net_pid = -1;
}

/* A session the network process accepted and authenticated. */
static int
net_up(struct daemon *d, uint32_t sid, const struct net_up *u,
    struct error *err)
{
	struct chan *c;
	struct peer *p;
	struct inbound_arg *a;
	pthread_t t;

	if (!field_ok(u->name, sizeof(u->name)) ||
	    memchr(u->from, '\0', sizeof(u->from)) == NULL)
		return error_set(err, ERR_INPUT, "up: bad fields");
	pthread_mutex_lock(&d->mu);
	c = chan_find(d, sid);
	if (!(sid & NET_SID_ACCEPTED)) {
		/* A dial: the key must be the one asked for. */
		if (c == NULL && sid <= d->next_sid) {
			pthread_mutex_unlock(&d->mu);
			return 0;	/* given up on meanwhile */
		}
		if (c == NULL) {
			pthread_mutex_unlock(&d->mu);
			return error_set(err, ERR_INPUT, "up: session %lu was "
			    "never asked for", (unsigned long)sid);
		}
		if (c->up || sodium_memcmp(c->pk, u->pk, LINK_KEY_LEN) != 0) {
			pthread_mutex_unlock(&d->mu);
			return error_set(err, ERR_INPUT, "up: session %lu "
			    "again, or with another key", (unsigned long)sid);
		}
		c->up = 1;
		snprintf(c->from, sizeof(c->from), "%s", u->from);
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		return 0;
	}
	if (c != NULL || sid <= d->last_accepted) {
		pthread_mutex_unlock(&d->mu);
		return error_set(err, ERR_INPUT, "up: session %lu again",
		    (unsigned long)sid);
	}
	d->last_accepted = sid;
	p = peer_find(d, u->name);
	if (d->stop) {
		pthread_mutex_unlock(&d->mu);
		net_send(d, NET_CLOSE, sid, NULL, 0, NULL);
		return 0;
	}
	if (p == NULL || sodium_memcmp(p->info.pubkey, u->pk,
	    LINK_KEY_LEN) != 0) {
		pthread_mutex_unlock(&d->mu);
		/* Removed by a reload meanwhile; the link knew it then. */
		log_warnx("connection from %s: %s is no longer a peer",
		    u->from, u->name);
		net_send(d, NET_CLOSE, sid, NULL, 0, NULL);
		return 0;
	}
	if ((c = chan_new(d, sid)) == NULL ||
	    (a = calloc(1, sizeof(*a))) == NULL) {
		pthread_mutex_unlock(&d->mu);
		if (c != NULL)
			chan_close(c);
		net_send(d, NET_CLOSE, sid, NULL, 0, NULL);
		return 0;
	}
	c->up = 1;
	memcpy(c->pk, u->pk, LINK_KEY_LEN);
	snprintf(c->name, sizeof(c->name), "%s", u->name);
	snprintf(c->from, sizeof(c->from), "%s", u->from);
	a->d = d;
	a->ch = c;
	d->ninbound++;
	pthread_mutex_unlock(&d->mu);
	if (repl_spawn(&t, inbound_main, a, 1) != 0) {
		pthread_mutex_lock(&d->mu);
		d->ninbound--;
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		chan_close(c);
		free(a);
	}
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
		pthread_mutex_lock(&d->mu);
		if ((c = chan_find(d, m->peer)) != NULL) {
			c->closed = 1;
			chan_end(c, why);
		}
		pthread_mutex_unlock(&d->mu);
		return 0;
	case NET_FRAME:
		pthread_mutex_lock(&d->mu);
		if ((c = chan_find(d, m->peer)) == NULL || !c->up ||
		    c->dead) {
			pthread_mutex_unlock(&d->mu);
			/* Sent before it heard of a close: not an offence. */
			if (c == NULL && (m->peer & NET_SID_ACCEPTED ?
			    m->peer <= d->last_accepted :
			    m->peer <= d->next_sid))
				return 0;
			return error_set(err, ERR_INPUT, "a frame for session "
			    "%lu, which is not up", (unsigned long)m->peer);
		}
		if (c->nframes >= NET_QUEUE_MAX) {
			/* The peer sends without waiting for answers. */
			chan_kill(c, "too many messages unanswered");
			pthread_mutex_unlock(&d->mu);
			return 0;
		}
		pthread_mutex_unlock(&d->mu);
		if ((f = calloc(1, sizeof(*f))) == NULL)
			return error_errno(err, ERR_FAIL, "frame");
		buf_secret(&f->b);
		if (buf_append(&f->b, m->data, m->len) == -1) {
			free(f);
			return error_errno(err, ERR_FAIL, "frame");
		}
		pthread_mutex_lock(&d->mu);
		if ((c = chan_find(d, m->peer)) == NULL) {
			pthread_mutex_unlock(&d->mu);
			buf_free_secret(&f->b);
			free(f);
			return 0;
		}
		if (c->tail != NULL)
			c->tail->next = f;
		else
			c->head = f;
		c->tail = f;
		c->nframes++;
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		return 0;
	}
	return error_set(err, ERR_INPUT, "unexpected message %lu",
	    (unsigned long)m->type);
}

/*
 * The parent's thread that listens to the network process, and starts
 * a new one when it dies or misbehaves, after a pause that grows while
 * they keep dying young.
 */
static void *
net_reader_main(void *arg)
{
	struct daemon *d = arg;
	struct pollfd pfd[2];
	struct ipc_msg m;
	struct error err;
	uint64_t backoff = NET_RESTART_MIN_MS;
	int rc;

	for (;;) {
		if (d->net_pid == -1) {
			if (repl_mono_ms() - d->net_started_ms > 10000)
				backoff = NET_RESTART_MIN_MS;
			pfd[0].fd = d->wake[0];
			pfd[0].events = POLLIN;
			if (poll(pfd, 1, (int)backoff) == 1)
				break;
			if (backoff < NET_RESTART_MAX_MS)
				backoff *= 2;
			error_clear(&err);
			if (net_spawn(d, &err) == -1) {
				log_warnx("network process: %s", err.msg);
				net_lost(d, "did not start");
				continue;
			}
			log_info("network process %ld started again",
			    (long)d->net_pid);
		}
		/* First what was read already (with READY, at start). */
		error_clear(&err);
		while ((rc = ipc_get(&d->net, &m, &err)) == 1)
			if (net_dispatch(d, &m, &err) == -1)
				break;
		if (rc != 0) {
			log_warnx("network process %ld misbehaved: %s; killing "
			    "it", (long)d->net_pid, err.msg);
			net_lost(d, "killed");
			continue;
		}
		pfd[0].fd = d->net.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = d->wake[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno != EINTR)
				log_warn("poll");
			continue;
		}
		if (pfd[1].revents)
			break;
		if ((rc = ipc_read(&d->net, &err)) <= 0)
			net_lost(d, rc == 0 ? "exited" : err.msg);
	}
	return NULL;
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
	int rc;

	pfd.fd = d->net.fd;
	pfd.events = POLLIN;
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
		if (poll(&pfd, 1, LINK_HANDSHAKE_MS) == 0) {
			error_set(err, ERR_FAIL, "network process: did not "
			    "start");
			goto fail;
		}
		if ((rc = ipc_read(&d->net, err)) <= 0) {
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
	if (net_spawn(d, err) == -1 || net_wait_ready(d, err) == -1)
		return -1;
	if (repl_spawn(&d->net_t, net_reader_main, d, 0) != 0)
		return error_set(err, ERR_FAIL, "cannot start a thread");
	d->has_net = 1;
	return 0;
}

void
net_stop(struct daemon *d)
{
	int status;

	/* Its socketpair closes: the network process exits on its own. */
	if (d->has_net)
		pthread_join(d->net_t, NULL);
	pthread_mutex_lock(&d->netmu);
	ipc_clear(&d->net);
	pthread_mutex_unlock(&d->netmu);
	/* It may be in the middle of a send to a slow peer: no waiting. */
	if (d->net_pid > 0) {
		kill(d->net_pid, SIGTERM);
		while (waitpid(d->net_pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	free(d->self);
}

/* ======================================================================
 * The network process
 * ====================================================================== */

struct netsess {
	uint32_t	 sid;
	int		 fd;
	struct link	*l;
	int		 busy;		/* the reader sends on it */
	struct netsess	*next;
};

struct netsign {
	uint32_t	 req;
	int		 done;
	unsigned char	 sig[LINK_SIG_LEN];
	struct netsign	*next;
};

static struct daemon *netd;

/* auth->sign in the network process: the parent signs, or nobody. */
static void
net_sign_cb(void *arg, const void *msg, size_t len,
    unsigned char sig[LINK_SIG_LEN])
{
	struct daemon *d = arg;
	struct netsign w, **pp;
	struct timespec ts;

	memset(&w, 0, sizeof(w));
	memset(sig, 0, LINK_SIG_LEN);
	pthread_mutex_lock(&d->mu);
	w.req = ++d->next_sid;
	w.next = d->signs;
	d->signs = &w;
	pthread_mutex_unlock(&d->mu);
	if (net_send(d, NET_SIGN, w.req, msg, len, NULL) == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += NET_SIGN_MS / 1000;
		pthread_mutex_lock(&d->mu);
		while (!w.done && pthread_cond_timedwait(&d->cv, &d->mu,
		    &ts) == 0)
			;
		pthread_mutex_unlock(&d->mu);
	}
	pthread_mutex_lock(&d->mu);
	for (pp = &d->signs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == &w) {
			*pp = w.next;
			break;
		}
	if (w.done)
		memcpy(sig, w.sig, LINK_SIG_LEN);
	pthread_mutex_unlock(&d->mu);
}

/* auth->trust: the peers the parent sent, never our own key. */
static int
net_trust_cb(void *arg, const unsigned char pk[LINK_KEY_LEN], char *name,
    size_t len)
{
	struct daemon *d = arg;
	size_t i;
	int ok = 0;

	if (sodium_memcmp(pk, d->auth.pk, LINK_KEY_LEN) == 0)
		return 0;
	pthread_mutex_lock(&d->mu);
	for (i = 0; i < d->npeers && !ok; i++)
		if (sodium_memcmp(pk, d->peers[i]->info.pubkey,
		    LINK_KEY_LEN) == 0) {
			snprintf(name, len, "%s", d->peers[i]->info.name);
			ok = 1;
		}
	pthread_mutex_unlock(&d->mu);
	return ok;
}

static struct netsess *
sess_add(struct daemon *d, uint32_t sid, int fd, struct link *l)
{
	struct netsess *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->sid = sid;
	s->fd = fd;
	s->l = l;
	pthread_mutex_lock(&d->mu);
	s->next = d->sess;
	d->sess = s;
	pthread_mutex_unlock(&d->mu);
	return s;
}

static void
sess_remove(struct daemon *d, struct netsess *s)
{
	struct netsess **pp;

	pthread_mutex_lock(&d->mu);
	for (pp = &d->sess; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	while (s->busy)
		pthread_cond_wait(&d->cv, &d->mu);
	pthread_mutex_unlock(&d->mu);
}

/* Passes every frame of an authenticated session to the parent. */
static void
relay(struct daemon *d, struct netsess *s)
{
	struct buf in = { 0 };
	struct error err = { 0 };

	buf_secret(&in);
	for (;;) {
		if (link_recv(s->l, &in, -1, &err) == -1)
			break;
		if (net_send(d, NET_FRAME, s->sid, in.data, in.len,
		    &err) == -1)
			break;
		if (in.cap > (1u << 20))
			buf_free_secret(&in);
	}
	buf_free_secret(&in);
	net_send(d, NET_DOWN, s->sid, err.msg, strlen(err.msg) + 1, NULL);
}

static void
session_up(struct daemon *d, uint32_t sid, struct link *l, const char *from)
{
	struct net_up u;

	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "%s", link_peer_name(l));
	memcpy(u.pk, link_peer_key(l), LINK_KEY_LEN);
	snprintf(u.from, sizeof(u.from), "%s", from);
	net_send(d, NET_UP, sid, &u, sizeof(u), NULL);
}

/* A connection accept_one took: the handshake, then the relay. */
void *
net_accepted_main(void *arg)
{
	struct inbound *in = arg;
	struct daemon *d = in->d;
	struct netsess *s = NULL;
	struct link *l = NULL;
	struct error err = { 0 };
	uint32_t sid;
	int authed = 0;

	if (link_accept(in->fd, &d->auth, &l, &err) == -1) {
		log_warnx("connection from %s refused: %s", in->from, err.msg);
		goto done;
	}
	pthread_mutex_lock(&d->mu);
	hs_done(d, in);
	d->nsession++;
	authed = 1;
	sid = NET_SID_ACCEPTED | ++d->last_accepted;
	pthread_mutex_unlock(&d->mu);
	log_debug("%s: authenticated from %s", link_peer_name(l), in->from);
	if ((s = sess_add(d, sid, in->fd, l)) == NULL)
		goto done;
	session_up(d, sid, l, in->from);
	relay(d, s);
	sess_remove(d, s);
done:
	pthread_mutex_lock(&d->mu);
	if (!authed)
		hs_done(d, in);
	else
		d->nsession--;
	d->ninbound--;
	conn_track(d, in->fd, 0);
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	if (l != NULL)
		link_free(l);
	else
		close(in->fd);
	free(s);
	free(in);
	return NULL;
}

struct dial_arg {
	struct daemon	*d;
	uint32_t	 sid;
	char		 name[STORE_NODE_MAX + 1];
};

static void *
net_dial_main(void *arg)
{
	struct dial_arg *a = arg;
	struct daemon *d = a->d;
	struct netsess *s;
	struct link *l = NULL;
	struct error err = { 0 };
	struct peer *p;
	char addr[128];
	unsigned char pk[LINK_KEY_LEN];
	int fd = -1;

	pthread_mutex_lock(&d->mu);
	if ((p = peer_find(d, a->name)) != NULL) {
		snprintf(addr, sizeof(addr), "%s", p->info.addr);
		memcpy(pk, p->info.pubkey, LINK_KEY_LEN);
	}
	pthread_mutex_unlock(&d->mu);
	if (p == NULL)
		error_set(&err, ERR_FAIL, "%s is not a peer", a->name);
	else if ((fd = repl_dial(addr, DIAL_MS, &err)) != -1 &&
	    (s = sess_add(d, a->sid, fd, NULL)) != NULL) {
		/* In the table from now on, so a close cuts the handshake. */
		if (link_connect(fd, &d->auth, pk, &l, &err) == 0) {
			pthread_mutex_lock(&d->mu);
			s->l = l;
			pthread_mutex_unlock(&d->mu);
			session_up(d, a->sid, l, addr);
			relay(d, s);
			sess_remove(d, s);
			free(s);
			link_free(l);
			free(a);
			return NULL;
		}
		sess_remove(d, s);
		free(s);
	}
	if (fd != -1)
		close(fd);
	net_send(d, NET_DOWN, a->sid, err.msg, strlen(err.msg) + 1, NULL);
	free(a);
	return NULL;
}

/* Replaces the peers with the ones received (the parent's, numeric). */
static int
take_peers(struct daemon *d, struct peer **next, size_t n)
{
	struct peer **old;
	size_t i, nold;

	pthread_mutex_lock(&d->mu);
	old = d->peers;
	nold = d->npeers;
	d->peers = next;
	d->npeers = n;
	pthread_mutex_unlock(&d->mu);
	/* Dial threads copy what they need under mu: the old can go. */
	for (i = 0; i < nold; i++)
		free(old[i]);
	free(old);
	return 0;
}

static void
net_child_dispatch(struct daemon *d, const struct ipc_msg *m,
    struct peer ***pending, size_t *npending)
{
	struct error err = { 0 };
	struct net_peer np;
	struct netsess *s;
	struct netsign *w;
	struct dial_arg *a;
	struct peer *p, **grown;
	pthread_t t;

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
		pthread_mutex_lock(&d->mu);
		for (w = d->signs; w != NULL; w = w->next)
			if (w->req == m->peer) {
				memcpy(w->sig, m->data, LINK_SIG_LEN);
				w->done = 1;
			}
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		break;
	case NET_DIAL:
		if ((a = calloc(1, sizeof(*a))) == NULL)
			fatal("dial");
		a->d = d;
		a->sid = m->peer;
		memcpy(a->name, m->data, sizeof(a->name));
		a->name[sizeof(a->name) - 1] = '\0';
		if (repl_spawn(&t, net_dial_main, a, 1) != 0) {
			net_send(d, NET_DOWN, a->sid, "no thread", 10, NULL);
			free(a);
		}
		break;
	case NET_CLOSE:
	case NET_FRAME:
		pthread_mutex_lock(&d->mu);
		for (s = d->sess; s != NULL; s = s->next)
			if (s->sid == m->peer)
				break;
		if (s == NULL) {
			pthread_mutex_unlock(&d->mu);
			break;	/* it ended meanwhile: DOWN is on its way */
		}
		if (m->type == NET_CLOSE || s->l == NULL) {
			shutdown(s->fd, SHUT_RDWR);
			pthread_mutex_unlock(&d->mu);
			break;
		}
		s->busy++;
		pthread_mutex_unlock(&d->mu);
		if (link_send(s->l, m->data, m->len, SEND_MS, &err) == -1)
			shutdown(s->fd, SHUT_RDWR);
		pthread_mutex_lock(&d->mu);
		s->busy--;
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		break;
	default:
		fatalx("from the parent: unexpected message %lu",
		    (unsigned long)m->type);
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

int
repl_net_main(void)
{
	static struct daemon d;
	struct net_init ni;
	struct acceptor tcp;
	struct ipc_msg m;
	struct error err = { 0 };
	struct peer **pending = NULL;
	size_t npending = 0;
	pthread_t tcp_t;
	size_t i;
	int rc;

	netd = &d;
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.cv, NULL);
	pthread_mutex_init(&d.netmu, NULL);
	for (i = 0; i < sizeof(d.conn_fds) / sizeof(d.conn_fds[0]); i++)
		d.conn_fds[i] = -1;
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		_exit(1);
	ipc_init(&d.net, NET_FD_IPC);
	read_init(&d, &ni);
	log_init(ni.foreground, ni.verbose, "cfgstore");
	snprintf(d.node, sizeof(d.node), "%s", ni.node);
	d.primary = (int)ni.primary;
	memcpy(d.auth.pk, ni.pk, LINK_KEY_LEN);
	d.auth.sign = net_sign_cb;
	d.auth.sign_arg = &d;
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
	if (fd_pipe_cloexec(d.wake) == -1)
		not_started(&d, "no pipe");
	/* Ready before it accepts: a handshake's signing request follows. */
	net_send(&d, NET_READY, 0, NULL, 0, NULL);
	if (tcp.fd != -1 && repl_spawn(&tcp_t, acceptor_main, &tcp, 1) != 0)
		fatalx("network process: cannot start a thread");
	for (;;) {
		/* What came with the start message first. */
		while ((rc = ipc_get(&d.net, &m, &err)) == 1)
			net_child_dispatch(&d, &m, &pending, &npending);
		if (rc == -1)
			fatalx("from the parent: %s", err.msg);
		if ((rc = ipc_read(&d.net, &err)) <= 0) {
			/* The parent is gone: so is the reason to be. */
			if (rc == -1)
				log_warnx("network process: %s", err.msg);
			_exit(0);
		}
	}
}
