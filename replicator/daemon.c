/*
 * daemon.c - `cfgstore serve`: set-up, the shared state, rendering,
 * the listeners and shutdown.
 *
 * Threads with blocking-style I/O and poll(2) deadlines: easy to follow
 * and to bound.  The main thread only waits for signals (sigwait), so no
 * handler ever runs in the middle of anything.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
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
#include "render.h"
#include "repl_int.h"

#define THREAD_STACK	(512u << 10)

uint64_t
repl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
repl_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
repl_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void
repl_deadline(struct timespec *ts, uint64_t ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

struct peer *
peer_find(struct daemon *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->npeers; i++)
		if (strcmp(d->peers[i]->info.name, name) == 0)
			return d->peers[i];
	return NULL;
}

void
peer_error(struct peer *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->rec.error, sizeof(p->rec.error), fmt, ap);
	va_end(ap);
	p->rec.error_ms = repl_now_ms();
}

/* Records what we know of p, so status has it with the daemon down. */
void
peer_save(struct peer *p)
{
	struct daemon *d = p->d;
	struct peer_record r;
	struct error err = { 0 };

	pthread_mutex_lock(&d->mu);
	r = p->rec;
	pthread_mutex_unlock(&d->mu);
	pthread_mutex_lock(&d->wmu);
	if (record_save(d->s, p->info.name, &r, &err) == -1)
		log_warnx("%s: cannot record state: %s", p->info.name, err.msg);
	pthread_mutex_unlock(&d->wmu);
}

void
conn_track(struct daemon *d, int fd, int add)
{
	size_t i, n = sizeof(d->conn_fds) / sizeof(d->conn_fds[0]);

	for (i = 0; i < n; i++) {
		if (add && d->conn_fds[i] == -1) {
			d->conn_fds[i] = fd;
			return;
		}
		if (!add && d->conn_fds[i] == fd) {
			d->conn_fds[i] = -1;
			return;
		}
	}
}

int
repl_head(struct daemon *d, uint64_t *rev, unsigned char hash[STORE_HASH_LEN])
{
	struct error err = { 0 };

	if (store_head(d->s, rev, hash, &err) == -1) {
		log_warnx("reading the head: %s", err.msg);
		return -1;
	}
	return 0;
}

int
send_msg(struct chan *c, struct buf *b, struct error *err)
{
	return chan_send(c, b, err);
}

/* ---- rendering ----------------------------------------------------------- */

/* A failed render: the summary, then why each service failed. */
static void
log_render_failures(const struct render_report *rep, uint64_t rev,
    const char *summary)
{
	enum render_outcome oc;
	const char *why;
	size_t i;

	log_warnx("rendered r%llu: %s", (unsigned long long)rev, summary);
	for (i = 0; i < render_report_count(rep); i++) {
		if (!render_outcome_failed(oc = render_report_outcome(rep, i)))
			continue;
		why = render_report_message(rep, i);
		log_warnx("r%llu: %s: %s", (unsigned long long)rev,
		    render_report_service(rep, i),
		    why[0] != '\0' ? why : render_outcome_name(oc));
	}
}

/*
 * The one place that calls the renderer.  One thread renders, always the
 * head, so a burst of commits costs one render, and every caller waits
 * for a render that covers its revision.
 */
static void
render_once(struct daemon *d, uint64_t want)
{
	struct render_opts o;
	struct render_report *rep = NULL;
	struct error err = { 0 };
	char summary[PROTO_TEXT_MAX + 1];
	uint64_t done = want, at;
	int failed;

	memset(&o, 0, sizeof(o));
	o.root = d->root;
	/* A confirmed commit reverted here: the files of before it. */
	at = confirm_render_at(d);
	if (render_run(d->s, at, &o, &rep, &err) == -1) {
		snprintf(summary, sizeof(summary), "render failed: %.400s", err.msg);
		failed = 1;
		log_warnx("%s", summary);
	} else {
		render_report_summary(rep, summary, sizeof(summary));
		failed = render_report_failures(rep) > 0;
		if (at == 0 && render_report_rev(rep) > done)
			done = render_report_rev(rep);
		if (failed)
			log_render_failures(rep, done, summary);
		else if (at != 0)
			log_info("rendered r%llu in place of r%llu, not "
			    "confirmed in time: %s", (unsigned long long)at,
			    (unsigned long long)done, summary);
		else
			log_info("rendered r%llu: %s",
			    (unsigned long long)done, summary);
		render_report_free(rep);
	}
	pthread_mutex_lock(&d->mu);
	if (done > d->render_done)
		d->render_done = done;
	memcpy(d->render_summary, summary, sizeof(summary));
	d->render_failed = failed;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

/*
 * Renders whenever asked; every 10 s idle it also looks at the head, so
 * a commit nobody told us of (a tool writing the store directly) is
 * rendered all the same.
 */
static void *
render_main(void *arg)
{
	struct daemon *d = arg;
	struct timespec ts;
	uint64_t want, head;

	pthread_mutex_lock(&d->mu);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += PING_MS / 1000;
	for (;;) {
		while (!d->stop && d->render_want <= d->render_done &&
		    !d->render_again) {
			/*
			 * d->cv wakes us for every control client and every
			 * ack: the deadline is set once per look at the head,
			 * not at each wake, or a busy daemon never looks.
			 */
			if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) == 0)
				continue;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += PING_MS / 1000;
			pthread_mutex_unlock(&d->mu);
			if (repl_head(d, &head, NULL) == -1)
				head = 0;
			pthread_mutex_lock(&d->mu);
			if (head > d->render_want)
				d->render_want = head;
			/* The peers lack it too: the pushes start now. */
			if (head > d->head_hint) {
				d->head_hint = head;
				pthread_cond_broadcast(&d->cv);
			}
		}
		if (d->stop)
			break;
		want = d->render_want;
		d->render_again = 0;
		pthread_mutex_unlock(&d->mu);
		render_once(d, want);
		pthread_mutex_lock(&d->mu);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/*
 * The history was taken from a new primary's fork point: what was
 * rendered belongs to the diverged branch, so the next render is due
 * whatever its revision number.
 */
void
render_rewind(struct daemon *d)
{
	pthread_mutex_lock(&d->mu);
	d->render_done = 0;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

void
render_kick(struct daemon *d, uint64_t rev)
{
	pthread_mutex_lock(&d->mu);
	if (rev > d->render_want) {
		d->render_want = rev;
		pthread_cond_broadcast(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
}

int
render_wait_for(struct daemon *d, uint64_t rev, int timeout_ms,
    char *summary, size_t len, int *failed)
{
	struct timespec ts;

	repl_deadline(&ts, (uint64_t)timeout_ms);
	pthread_mutex_lock(&d->mu);
	if (rev > d->render_want) {
		d->render_want = rev;
		pthread_cond_broadcast(&d->cv);
	}
	while (!d->stop && d->render_done < rev)
		if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) != 0)
			break;
	if (!d->stop && d->render_done < rev) {
		pthread_mutex_unlock(&d->mu);
		return 0;
	}
	snprintf(summary, len, "%s", d->stop && d->render_done < rev ?
	    "shutting down" : d->render_summary);
	*failed = d->render_failed;
	pthread_mutex_unlock(&d->mu);
	return 1;
}

void
render_wait(struct daemon *d, uint64_t rev, char *summary, size_t len,
    int *failed)
{
	pthread_mutex_lock(&d->mu);
	if (rev > d->render_want) {
		d->render_want = rev;
		pthread_cond_broadcast(&d->cv);
	}
	while (!d->stop && d->render_done < rev)
		pthread_cond_wait(&d->cv, &d->mu);
	snprintf(summary, len, "%s", d->stop && d->render_done < rev ?
	    "shutting down" : d->render_summary);
	*failed = d->render_failed;
	pthread_mutex_unlock(&d->mu);
}

/* ---- threads ----------------------------------------------------------- */

int
repl_spawn(pthread_t *t, void *(*fn)(void *), void *arg, int detached)
{
	pthread_attr_t a;
	pthread_t tmp;
	int rc;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, THREAD_STACK);
	if (detached)
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(t ? t : &tmp, &a, fn, arg);
	pthread_attr_destroy(&a);
	return rc;
}

static int	push_start(struct daemon *, struct error *);

static void
peer_free(struct peer *p)
{
	free(p);
}

/*
 * (Re)reads the peers from the store: keeps the ones unchanged, stops
 * the threads of those removed or changed, starts the new ones.
 */
static int
peers_load(struct daemon *d, struct error *err)
{
	struct peer_info *list = NULL;
	struct peer **next = NULL, **gone = NULL, *p;
	size_t n = 0, i, j, ngone = 0;

	pthread_mutex_lock(&d->mu);
	if (d->stop) {
		pthread_mutex_unlock(&d->mu);
		return 0;
	}
	pthread_mutex_unlock(&d->mu);
	if (store_peers(d->s, &list, &n, err) == -1)
		return -1;
	if ((next = calloc(n + 1, sizeof(*next))) == NULL ||
	    (gone = calloc(d->npeers + 1, sizeof(*gone))) == NULL) {
		free(next);
		free(list);
		return error_errno(err, ERR_FAIL, "peers");
	}
	pthread_mutex_lock(&d->mu);
	for (i = 0; i < n; i++) {
		p = peer_find(d, list[i].name);
		if (p != NULL && strcmp(p->info.addr, list[i].addr) == 0 &&
		    sodium_memcmp(p->info.pubkey, list[i].pubkey,
		    STORE_PUBKEY_LEN) == 0) {
			next[i] = p;
			continue;
		}
		if ((p = calloc(1, sizeof(*p))) == NULL)
			break;
		p->d = d;
		p->info = list[i];
		pubkey_to_text(p->info.pubkey, p->key);
		record_load(d->s, p->info.name, &p->rec);
		p->kick = 1;
		next[i] = p;
	}
	if (i < n) {
		for (j = 0; j < i; j++)
			if (next[j] != NULL && peer_find(d, next[j]->info.name)
			    != next[j])
				peer_free(next[j]);
		pthread_mutex_unlock(&d->mu);
		free(next);
		free(gone);
		free(list);
		return error_errno(err, ERR_FAIL, "peers");
	}
	for (i = 0; i < d->npeers; i++) {
		for (j = 0; j < n; j++)
			if (next[j] == d->peers[i])
				break;
		if (j < n)
			continue;
		p = d->peers[i];
		p->quit = 1;
		if (p->ch != NULL)
			chan_kill(p->ch, "no longer a peer");
		gone[ngone++] = p;
	}
	free(d->peers);
	d->peers = next;
	d->npeers = n;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	free(list);

	/*
	 * Threads of peers gone end at their next step; wait for them.  The
	 * peers themselves are kept till exit: sessions and control clients
	 * may still look at them.
	 */
	for (i = 0; i < ngone; i++)
		if (gone[i]->has_thread)
			pthread_join(gone[i]->thread, NULL);
	pthread_mutex_lock(&d->mu);
	for (i = 0; i < ngone; i++) {
		struct peer **g = reallocarray(d->gone, d->ngone + 1,
		    sizeof(*g));

		if (g == NULL)
			break;	/* leaked rather than freed under a user */
		d->gone = g;
		d->gone[d->ngone++] = gone[i];
	}
	pthread_mutex_unlock(&d->mu);
	free(gone);
	/* The network process knows them before anyone dials. */
	net_peers_changed(d);
	return push_start(d, err);
}

/*
 * On the primary, a push thread per peer that has none.  A fenced node's
 * threads wait, idle, until it is the primary again.  Under reload_mu.
 */
static int
push_start(struct daemon *d, struct error *err)
{
	struct peer *p;
	int primary;

	pthread_mutex_lock(&d->mu);
	primary = d->primary;
	pthread_mutex_unlock(&d->mu);
	if (!primary)
		return 0;
	for (size_t i = 0; i < d->npeers; i++) {
		p = d->peers[i];
		if (p->has_thread)
			continue;
		if (repl_spawn(&p->thread, push_main, p, 0) != 0)
			return error_set(err, ERR_FAIL, "cannot start "
			    "a thread for %s", p->info.name);
		p->has_thread = 1;
	}
	return 0;
}

/*
 * The store's role read again: `promote` made this node the primary.
 * Sessions from the old primary end (it learns the new epoch when it
 * comes back), and this node pushes.  Under reload_mu.
 */
static int
role_load(struct daemon *d, struct error *err)
{
	uint64_t epoch;

	if (store_refresh(d->s, err) == -1)
		return -1;
	pthread_mutex_lock(&d->mu);
	if (!store_is_primary(d->s) || d->primary) {
		pthread_mutex_unlock(&d->mu);
		return 0;
	}
	d->primary = 1;
	/* A new term: every peer is pushed to at once, old refusals aside. */
	for (size_t i = 0; i < d->npeers; i++) {
		struct peer *p = d->peers[i];

		if (p->ch != NULL)
			chan_kill(p->ch, "this node is the primary now");
		p->kick = 1;
		p->diverged = p->refused = 0;
	}
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	if (store_epoch(d->s, &epoch, NULL, err) == -1)
		return -1;
	log_info("%s: promoted: now the primary, epoch %llu", d->node,
	    (unsigned long long)epoch);
	return push_start(d, err);
}

void
repl_fence(struct daemon *d, uint64_t epoch, const char *node,
    const char *from)
{
	struct error err = { 0 };
	uint64_t held;
	int fenced = 0;

	if (store_epoch(d->s, &held, NULL, &err) == -1) {
		log_warnx("epoch: %s", err.msg);
		return;
	}
	if (epoch <= held)
		return;
	pthread_mutex_lock(&d->wmu);
	if (store_fence(d->s, epoch, node, &fenced, &err) == -1)
		log_warnx("fencing: %s", err.msg);
	pthread_mutex_unlock(&d->wmu);
	if (!fenced)
		return;
	pthread_mutex_lock(&d->mu);
	d->primary = 0;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	log_warnx("%s: fenced: %s is the primary of epoch %llu (heard from "
	    "%s), above our epoch %llu; no longer the primary: writes "
	    "refused, pushing stops, following it", d->node,
	    node[0] ? node : "a node", (unsigned long long)epoch, from,
	    (unsigned long long)held);
}

/* ---- listening ------------------------------------------------------------ */

int
repl_parse_addr(const char *addr, char *host, size_t hlen, char *port,
    size_t plen, struct error *err)
{
	const char *colon, *h = addr;
	size_t n;
	const char *errstr = NULL;
	long v;
	char *end;

	if ((colon = strrchr(addr, ':')) == NULL || colon[1] == '\0')
		return error_set(err, ERR_INPUT, "invalid address '%s' "
		    "(ADDR:PORT)", addr);
	n = (size_t)(colon - addr);
	if (addr[0] == '[') {
		if (n < 2 || addr[n - 1] != ']')
			return error_set(err, ERR_INPUT, "invalid address '%s'",
			    addr);
		h = addr + 1;
		n -= 2;
	} else if (memchr(addr, ':', n) != NULL)
		return error_set(err, ERR_INPUT, "invalid address '%s' "
		    "(write IPv6 as [ADDR]:PORT)", addr);
	if (n == 0 || n >= hlen)
		return error_set(err, ERR_INPUT, "invalid address '%s'", addr);
	memcpy(host, h, n);
	host[n] = '\0';
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || v < 1 || v > 65535)
		errstr = "invalid port";
	if (errstr != NULL)
		return error_set(err, ERR_INPUT, "%s in '%s'", errstr, addr);
	snprintf(port, plen, "%ld", v);
	return 0;
}

int
repl_addr_check(const char *addr, struct error *err)
{
	char host[256], port[8];
	const char *c;

	if (repl_parse_addr(addr, host, sizeof(host), port, sizeof(port),
	    err) == -1)
		return -1;
	for (c = host; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' ||
		    *c == ':' || *c == '%'))
			return error_set(err, ERR_INPUT, "invalid host in "
			    "address '%s'", addr);
	return 0;
}

static void
tune(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
}

/* Connects to the addresses from x->ai on; soerr: why the last failed. */
static int
dial_next(struct repl_dialer *x, int soerr, struct error *err)
{
	for (; x->ai != NULL; x->ai = x->ai->ai_next) {
		if ((x->fd = fd_socket_cloexec(x->ai->ai_family,
		    x->ai->ai_socktype, x->ai->ai_protocol)) == -1) {
			soerr = errno;
			continue;
		}
		fcntl(x->fd, F_SETFL, fcntl(x->fd, F_GETFL) | O_NONBLOCK);
		if (connect(x->fd, x->ai->ai_addr, x->ai->ai_addrlen) == 0) {
			tune(x->fd);
			return 1;
		}
		if (errno == EINPROGRESS)
			return 0;
		soerr = errno;
		close(x->fd);
		x->fd = -1;
	}
	errno = soerr;
	return error_errno(err, ERR_FAIL, "connect to %s", x->addr);
}

int
repl_dial_start(struct repl_dialer *x, const char *addr, struct error *err)
{
	struct addrinfo hints;
	char host[256], port[8];
	int rc;

	memset(x, 0, sizeof(*x));
	x->fd = -1;
	snprintf(x->addr, sizeof(x->addr), "%s", addr);
	if (repl_parse_addr(addr, host, sizeof(host), port, sizeof(port),
	    err) == -1)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/*
	 * Only the network process dials: chrooted, pledged without dns,
	 * it is given numeric addresses and must not try to resolve.
	 */
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
	if ((rc = getaddrinfo(host, port, &hints, &x->res)) != 0) {
		x->res = NULL;
		return error_set(err, ERR_FAIL, "%s: %s", host,
		    gai_strerror(rc));
	}
	x->ai = x->res;
	return dial_next(x, 0, err);
}

int
repl_dial_step(struct repl_dialer *x, int timed_out, struct error *err)
{
	socklen_t sl = sizeof(int);
	int soerr = 0;

	if (x->fd == -1 || x->ai == NULL)
		return error_set(err, ERR_FAIL, "connect to %s: out of step",
		    x->addr);
	if (timed_out)
		soerr = ETIMEDOUT;
	else if (getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		soerr = errno;
	else if (soerr == 0) {
		tune(x->fd);
		return 1;
	}
	close(x->fd);
	x->fd = -1;
	x->ai = x->ai->ai_next;
	return dial_next(x, soerr, err);
}

void
repl_dial_end(struct repl_dialer *x)
{
	if (x->fd != -1)
		close(x->fd);
	x->fd = -1;
	if (x->res != NULL)
		freeaddrinfo(x->res);
	x->res = x->ai = NULL;
}

int
repl_dial(const char *addr, int timeout_ms, struct error *err)
{
	struct repl_dialer x;
	struct pollfd pfd;
	int rc, n, fd = -1;

	rc = repl_dial_start(&x, addr, err);
	while (rc == 0) {
		pfd.fd = x.fd;
		pfd.events = POLLOUT;
		do
			n = poll(&pfd, 1, timeout_ms);
		while (n == -1 && errno == EINTR);
		rc = repl_dial_step(&x, n == 0, err);
	}
	if (rc == 1) {
		fd = x.fd;
		x.fd = -1;
	}
	repl_dial_end(&x);
	return fd;
}

static int
listen_tcp(const char *addr, struct error *err)
{
	struct addrinfo hints, *res = NULL;
	char host[256], port[8];
	int fd, one = 1, rc;

	if (repl_parse_addr(addr, host, sizeof(host), port, sizeof(port),
	    err) == -1)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return error_set(err, ERR_FAIL, "%s: %s", host,
		    gai_strerror(rc));
	if ((fd = fd_socket_cloexec(res->ai_family, res->ai_socktype,
	    res->ai_protocol)) == -1) {
		freeaddrinfo(res);
		return error_errno(err, ERR_FAIL, "socket");
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 16) == -1) {
		error_errno(err, ERR_FAIL, "listen on %s", addr);
		freeaddrinfo(res);
		close(fd);
		return -1;
	}
	freeaddrinfo(res);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static int
listen_control(const char *dir, struct error *err)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir,
	    REPL_SOCKET) >= sizeof(sun.sun_path))
		return error_set(err, ERR_FAIL, "%s: path too long for a "
		    "socket", dir);
	if ((fd = fd_socket_cloexec(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return error_errno(err, ERR_FAIL, "socket");
	/* The lock file says no other daemon runs: a socket left is stale. */
	unlink(sun.sun_path);
	old = umask(077);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	/* Clients past MAX_CONTROL wait in the backlog for their turn. */
	if (rc == -1 || chmod(sun.sun_path, 0600) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		error_errno(err, ERR_FAIL, "%s", sun.sun_path);
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void
describe_peer(const struct sockaddr_storage *ss, char *host, size_t hlen,
    char *out, size_t len)
{
	char h[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, h, sizeof(h));
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, h, sizeof(h));
		port = ntohs(in6->sin6_port);
	}
	snprintf(host, hlen, "%s", h);
	snprintf(out, len, "%s:%d", h, port);
}

void
hs_done(struct daemon *d, struct inbound *in)
{
	size_t i;

	for (i = 0; i < HS_SLOTS; i++)
		if (d->hs[i] == in)
			d->hs[i] = NULL;
}

/* Live (not evicted) unfinished handshakes from host, under mu. */
static int
hs_count(struct daemon *d, const char *host)
{
	size_t i;
	int n = 0;

	for (i = 0; i < HS_SLOTS; i++)
		if (d->hs[i] != NULL && !d->hs[i]->evicted &&
		    strcmp(d->hs[i]->host, host) == 0)
			n++;
	return n;
}

/*
 * Makes room for one more unauthenticated connection from host, under
 * mu.  Anyone can open connections, so none may keep a peer out: past
 * the bound per address the oldest from that address is cut short, past
 * the bound in all the oldest from the address that holds the most, and
 * never the newest refused.  A peer connecting from an address of its
 * own is so never evicted by a flood from others.  Returns the free slot,
 * or -1 when even the evicted have not wound down yet; *victim names the
 * one evicted, if any.
 */
static int
hs_admit(struct daemon *d, const char *host, char *victim, size_t vlen)
{
	struct inbound *old = NULL, *in;
	size_t i;
	int nlive = 0, n, most = 0, slot = -1, own;

	victim[0] = '\0';
	own = hs_count(d, host) >= MAX_HANDSHAKING_ADDR;
	for (i = 0; i < HS_SLOTS; i++) {
		if ((in = d->hs[i]) == NULL) {
			if (slot == -1)
				slot = (int)i;
			continue;
		}
		if (in->evicted)
			continue;
		nlive++;
		if (own && strcmp(in->host, host) != 0)
			continue;
		n = own ? 0 : hs_count(d, in->host);
		if (old == NULL || n > most || (n == most &&
		    in->since_ms < old->since_ms)) {
			old = in;
			most = n;
		}
	}
	if (slot == -1)
		return -1;
	if (!own && nlive < MAX_HANDSHAKING)
		old = NULL;
	if (old != NULL) {
		old->evicted = 1;
		shutdown(old->fd, SHUT_RDWR);
		snprintf(victim, vlen, "%s", old->from);
	}
	return slot;
}

int
acceptor_take(struct acceptor *a, struct sockaddr_storage *ss)
{
	socklen_t sl = sizeof(*ss);
	int fd;

	/* Close-on-exec from the start: the renderer may be spawning. */
	if ((fd = fd_accept_cloexec(a->fd, (struct sockaddr *)ss,
	    &sl)) == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* Once per spell, not ten times a second. */
			if (!a->starved)
				log_warn("accept");
			a->starved = 1;
			return -2;
		}
		return -1;
	}
	if (a->starved)
		log_info("accepting connections again");
	a->starved = 0;
	return fd;
}

struct inbound *
inbound_admit(struct daemon *d, int fd, const struct sockaddr_storage *ss)
{
	struct inbound *in;
	int slot;
	char from[80], host[64], victim[80];

	describe_peer(ss, host, sizeof(host), from, sizeof(from));
	pthread_mutex_lock(&d->mu);
	if (d->nsession >= MAX_INBOUND) {
		pthread_mutex_unlock(&d->mu);
		log_warnx("connection from %s refused: too many sessions",
		    from);
		close(fd);
		return NULL;
	}
	if ((slot = hs_admit(d, host, victim, sizeof(victim))) == -1 ||
	    (in = calloc(1, sizeof(*in))) == NULL) {
		pthread_mutex_unlock(&d->mu);
		log_warnx("connection from %s refused: too many unfinished "
		    "handshakes", from);
		close(fd);
		return NULL;
	}
	in->d = d;
	in->fd = fd;
	in->since_ms = repl_mono_ms();
	snprintf(in->from, sizeof(in->from), "%s", from);
	snprintf(in->host, sizeof(in->host), "%s", host);
	d->hs[slot] = in;
	d->ninbound++;
	pthread_mutex_unlock(&d->mu);
	if (victim[0] != '\0')
		log_warnx("connection from %s dropped: too many unfinished "
		    "handshakes, the oldest makes room for %s", victim, from);
	tune(fd);
	return in;
}

/*
 * Takes one control connection.  -1 when accept itself failed for want
 * of descriptors or memory.
 */
static int
accept_one(struct acceptor *a)
{
	struct daemon *d = a->d;
	struct sockaddr_storage ss;
	struct ctlconn *cc;
	int fd;

	if ((fd = acceptor_take(a, &ss)) < 0)
		return fd == -2 ? -1 : 0;
	pthread_mutex_lock(&d->mu);
	if ((cc = malloc(sizeof(*cc))) == NULL) {
		pthread_mutex_unlock(&d->mu);
		log_warnx("control: out of memory, a client refused");
		close(fd);
		return 0;
	}
	cc->d = d;
	cc->fd = fd;
	d->ncontrol++;
	conn_track(d, fd, 1);
	pthread_mutex_unlock(&d->mu);
	if (repl_spawn(NULL, control_main, cc, 1) != 0) {
		pthread_mutex_lock(&d->mu);
		d->ncontrol--;
		conn_track(d, fd, 0);
		pthread_mutex_unlock(&d->mu);
		close(fd);
		free(cc);
	}
	return 0;
}

void *
acceptor_main(void *arg)
{
	struct acceptor *a = arg;
	struct pollfd pfd[2];

	pfd[0].fd = a->fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = a->d->wake[0];
	pfd[1].events = POLLIN;
	for (;;) {
		/*
		 * MAX_CONTROL clients at once; the others are not refused
		 * (their commits are made: they must hear how they went)
		 * but left in the backlog until one is done.
		 */
		if (a->control) {
			pthread_mutex_lock(&a->d->mu);
			while (!a->d->stop && a->d->ncontrol >= MAX_CONTROL)
				pthread_cond_wait(&a->d->cv, &a->d->mu);
			pthread_mutex_unlock(&a->d->mu);
		}
		if (poll(pfd, 2, -1) == -1 && errno != EINTR) {
			log_warn("poll");
			break;
		}
		if (pfd[1].revents)
			break;
		/* Out of descriptors: the backlog stays; wait, not spin. */
		if ((pfd[0].revents & POLLIN) && accept_one(a) == -1)
			poll(&pfd[1], 1, ACCEPT_BACKOFF_MS);
	}
	return NULL;
}

/* ---- start and stop ------------------------------------------------------- */

/*
 * Detaches.  The parent waits until the child says it is serving, or why
 * it could not, so `cfgstore serve` still fails visibly on a bad start.
 */
static int
daemonize(int *ready, struct error *err)
{
	char msg[ERROR_MSG_MAX];
	ssize_t n;
	pid_t pid;
	int p[2], fd;

	if (fd_pipe_cloexec(p) == -1)
		return error_errno(err, ERR_FAIL, "pipe");
	if ((pid = fork()) == -1)
		return error_errno(err, ERR_FAIL, "fork");
	if (pid > 0) {
		close(p[1]);
		do
			n = read(p[0], msg, sizeof(msg) - 1);
		while (n == -1 && errno == EINTR);
		close(p[0]);
		if (n <= 0)
			return error_set(err, ERR_FAIL, "the daemon died while "
			    "starting");
		msg[n] = '\0';
		if (strcmp(msg, "ok") == 0)
			_exit(0);
		return error_set(err, ERR_FAIL, "%s", msg);
	}
	close(p[0]);
	setsid();
	if (chdir("/") == -1)
		return error_errno(err, ERR_FAIL, "chdir");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	*ready = p[1];
	return 0;
}

static void
tell_parent(int *ready, const char *msg)
{
	if (*ready == -1)
		return;
	if (write(*ready, msg, strlen(msg)) == -1)
		log_warn("telling the parent");
	close(*ready);
	*ready = -1;
}

static int
lock_dir(const char *dir, struct error *err)
{
	char path[1024], pid[32];
	int fd;

	snprintf(path, sizeof(path), "%s/serve.pid", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return error_errno(err, ERR_FAIL, "%s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		if (errno == EWOULDBLOCK)
			return error_set(err, ERR_FAIL, "a daemon already "
			    "serves %s", dir);
		return error_errno(err, ERR_FAIL, "lock %s", path);
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, pid, strlen(pid)) == -1)
		log_warn("%s", path);
	return fd;
}

static void
shutdown_all(struct daemon *d)
{
	size_t i;

	pthread_mutex_lock(&d->mu);
	d->stop = 1;
	for (i = 0; i < d->npeers; i++)
		if (d->peers[i]->ch != NULL)
			chan_kill(d->peers[i]->ch, "stopping");
	for (i = 0; i < sizeof(d->conn_fds) / sizeof(d->conn_fds[0]); i++)
		if (d->conn_fds[i] != -1)
			shutdown(d->conn_fds[i], SHUT_RDWR);
	net_kill_all(d);
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	if (write(d->wake[1], "x", 1) == -1)
		log_warn("wake");
}

static int
wait_signals(struct daemon *d, const sigset_t *set)
{
	struct error err = { 0 };
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP: re-reading peers");
			if (repl_daemon_reload(d, &err) == -1)
				log_warnx("peers: %s", err.msg);
			continue;
		}
		log_info("%s: shutting down", sig == SIGTERM ? "SIGTERM" :
		    "SIGINT");
		return 0;
	}
}

/* SIGHUP or the control socket; the two may come at once. */
int
repl_daemon_reload(struct daemon *d, struct error *err)
{
	int rc;

	pthread_mutex_lock(&d->reload_mu);
	rc = peers_load(d, err);
	if (rc == 0)
		rc = role_load(d, err);
	pthread_mutex_unlock(&d->reload_mu);
	return rc;
}

int
repl_serve(const char *dir, const struct repl_serve_opts *o,
    struct error *err)
{
	struct daemon d;
	struct acceptor ctl = { 0 };
	pthread_t render_t, ctl_t, confirm_t, demote_t;
	int ready = -1, lockfd = -1, has_render = 0, has_ctl = 0;
	int has_confirm = 0, has_demote = 0;
	int rc = -1;
	sigset_t set;
	uint64_t head;
	size_t i;
	char sockpath[1024];

	memset(&d, 0, sizeof(d));
	d.wake[0] = d.wake[1] = -1;
	d.listen_fd = d.net.fd = -1;
	d.net_pid = -1;
	ctl.fd = -1;
	for (i = 0; i < sizeof(d.conn_fds) / sizeof(d.conn_fds[0]); i++)
		d.conn_fds[i] = -1;
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.cv, NULL);
	pthread_mutex_init(&d.wmu, NULL);
	pthread_mutex_init(&d.reload_mu, NULL);
	pthread_mutex_init(&d.netmu, NULL);
	d.root = o->root;
	d.user = o->user != NULL ? o->user : PRIV_USER_DEFAULT;
	d.chroot = o->chroot != NULL ? o->chroot : REPL_CHROOT;
	d.foreground = o->foreground;
	d.verbose = o->verbose;
	d.net_exec = o->net_exec;

	if (sodium_init() < 0)
		return error_set(err, ERR_FAIL, "libsodium failed to start");
	if (!o->foreground && daemonize(&ready, err) == -1)
		return -1;
	log_init(o->foreground, o->verbose, "cfgstore");
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (store_open(dir, 0, &d.s, err) == -1)
		goto fail;
	if ((lockfd = lock_dir(dir, err)) == -1)
		goto fail;
	snprintf(d.node, sizeof(d.node), "%s", store_node(d.s));
	d.primary = store_is_primary(d.s);
	if (identity_load(d.s, &d.id, err) == -1)
		goto fail;
	/* The key stays here; the network process gets the public half. */
	memcpy(d.auth.pk, identity_public(d.id), LINK_KEY_LEN);
	if (fd_pipe_cloexec(d.wake) == -1) {
		error_errno(err, ERR_FAIL, "pipe");
		goto fail;
	}
	ctl.d = &d;
	ctl.control = 1;
	if (!d.primary && store_listen(d.s)[0] == '\0') {
		error_set(err, ERR_FAIL, "%s is a replica without a listen "
		    "address (init --listen ADDR:PORT)", d.node);
		goto fail;
	}
	/*
	 * The primary listens too: a node promoted while this one was away
	 * reaches it there.  Bound here, as root may need; accepted on over
	 * there.
	 */
	if (store_listen(d.s)[0] != '\0' &&
	    (d.listen_fd = listen_tcp(store_listen(d.s), err)) == -1)
		goto fail;
	if (geteuid() == 0 && mkdir(d.chroot, 0755) == -1 && errno != EEXIST) {
		error_errno(err, ERR_FAIL, "%s", d.chroot);
		goto fail;
	}
	if (store_head(d.s, &head, NULL, err) == -1)
		goto fail;
	/* Whatever was committed while no daemon ran is rendered now. */
	d.head_hint = d.render_want = head;
	/* Set up: from here on the store, the rendered files, commands. */
	if (repl_sandbox(err) == -1)
		goto fail;
	if (net_start(&d, err) == -1 || peers_load(&d, err) == -1)
		goto fail;
	/* Last: its socket says the daemon is up, peers and all. */
	if ((ctl.fd = listen_control(dir, err)) == -1)
		goto fail;
	if (repl_spawn(&render_t, render_main, &d, 0) != 0 ||
	    !(has_render = 1) ||
	    repl_spawn(&ctl_t, acceptor_main, &ctl, 0) != 0 || !(has_ctl = 1) ||
	    repl_spawn(&confirm_t, confirm_main, &d, 0) != 0 ||
	    !(has_confirm = 1) ||
	    repl_spawn(&demote_t, demote_main, &d, 0) != 0 ||
	    !(has_demote = 1)) {
		error_set(err, ERR_FAIL, "cannot start threads");
		goto fail;
	}
	log_info("%s: serving as %s at r%llu%s%s, %zu peer%s", d.node,
	    d.primary ? "primary" : "replica", (unsigned long long)head,
	    d.listen_fd != -1 ? ", listening on " : "",
	    d.listen_fd != -1 ? store_listen(d.s) : "", d.npeers,
	    d.npeers == 1 ? "" : "s");
	tell_parent(&ready, "ok");
	rc = wait_signals(&d, &set);
fail:
	if (rc == -1 && ready != -1)
		tell_parent(&ready, err->msg);
	if (rc == -1 && !o->foreground)
		log_warnx("%s", err->msg);
	if (d.wake[1] != -1)
		shutdown_all(&d);
	/* A reload under way finishes; none starts after (d.stop). */
	pthread_mutex_lock(&d.reload_mu);
	pthread_mutex_unlock(&d.reload_mu);
	if (has_render)
		pthread_join(render_t, NULL);
	if (has_ctl)
		pthread_join(ctl_t, NULL);
	if (has_confirm)
		pthread_join(confirm_t, NULL);
	/* Only a daemon that ran its demotion takes it back. */
	if (has_demote) {
		pthread_join(demote_t, NULL);
		demote_stop(&d);
	}
	pthread_mutex_lock(&d.mu);
	for (i = 0; i < d.npeers; i++)
		d.peers[i]->quit = 1;
	pthread_mutex_unlock(&d.mu);
	for (i = 0; i < d.npeers; i++) {
		if (d.peers[i]->has_thread)
			pthread_join(d.peers[i]->thread, NULL);
	}
	/* Detached sessions end once their sockets are shut down. */
	pthread_mutex_lock(&d.mu);
	while (d.ninbound > 0 || d.ncontrol > 0)
		pthread_cond_wait(&d.cv, &d.mu);
	pthread_mutex_unlock(&d.mu);
	net_stop(&d);
	for (i = 0; i < d.npeers; i++)
		peer_free(d.peers[i]);
	free(d.peers);
	for (i = 0; i < d.ngone; i++)
		peer_free(d.gone[i]);
	free(d.gone);
	if (ctl.fd != -1) {
		close(ctl.fd);
		snprintf(sockpath, sizeof(sockpath), "%s/%s", dir, REPL_SOCKET);
		unlink(sockpath);
	}
	if (d.listen_fd != -1)
		close(d.listen_fd);
	if (d.wake[0] != -1) {
		close(d.wake[0]);
		close(d.wake[1]);
	}
	identity_free(d.id);
	store_close(d.s);
	if (lockfd != -1)
		close(lockfd);
	pthread_cond_destroy(&d.cv);
	pthread_mutex_destroy(&d.mu);
	pthread_mutex_destroy(&d.wmu);
	pthread_mutex_destroy(&d.reload_mu);
	pthread_mutex_destroy(&d.netmu);
	if (rc == 0)
		log_info("stopped");
	return rc;
}
