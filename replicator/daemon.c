/*
 * daemon.c - `cfgstore serve`: set-up, the parent's loop, its two
 * workers, rendering, the listeners and shutdown.
 *
 * One poll(2) loop, as OpenBSD's ntpd and bgpd have: every turn it calls
 * each module's step function, which does what it can without blocking
 * and says what it waits for, then sleeps in poll(2) until a descriptor
 * is ready, the nearest deadline, or a worker is done.  Signals only set
 * a flag and write a byte to the loop's pipe, so no handler runs in the
 * middle of anything.  Rendering and the CARP commands take seconds and
 * run on two worker threads that see only the store and their work.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
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
	struct error err = { 0 };

	if (record_save(d->s, p->info.name, &p->rec, &err) == -1)
		log_warnx("%s: cannot record state: %s", p->info.name, err.msg);
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

/* ---- the loop ------------------------------------------------------------ */

/* What the step functions asked for this turn. */
struct watch {
	loop_io_fn	 fn;
	void		*arg;
};
struct loop {
	struct pollfd	*pfd;
	struct watch	*w;
	size_t		 n, cap;
	uint64_t	 at;		/* the nearest deadline (monotonic) */
	int		 changed;	/* turn again without sleeping */
};

static volatile sig_atomic_t got_hup, got_term;
static int signal_fd = -1;	/* the loop's pipe, for the handler */

void
loop_watch(struct daemon *d, int fd, short events, loop_io_fn fn, void *arg)
{
	struct loop *l = d->loop;
	struct pollfd *pfd;
	struct watch *w;
	size_t cap;

	if (fd == -1)
		return;
	if (l->n == l->cap) {
		cap = l->cap == 0 ? 32 : 2 * l->cap;
		if ((pfd = reallocarray(l->pfd, cap, sizeof(*pfd))) == NULL)
			fatal("poll set");
		l->pfd = pfd;
		if ((w = reallocarray(l->w, cap, sizeof(*w))) == NULL)
			fatal("poll set");
		l->w = w;
		l->cap = cap;
	}
	l->pfd[l->n].fd = fd;
	l->pfd[l->n].events = events;
	l->pfd[l->n].revents = 0;
	l->w[l->n].fn = fn;
	l->w[l->n].arg = arg;
	l->n++;
}

void
loop_at(struct daemon *d, uint64_t mono_ms)
{
	if (mono_ms < d->loop->at)
		d->loop->at = mono_ms;
}

void
daemon_changed(struct daemon *d)
{
	d->gen++;
	if (d->loop != NULL)
		d->loop->changed = 1;
}

static void
on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = sig;
	/* A full pipe is an awake loop: nothing is lost. */
	if (signal_fd != -1)
		(void)!write(signal_fd, "s", 1);
	errno = saved;
}

/* ---- the workers ---------------------------------------------------------- */

/*
 * A thread and its queue.  The mutex guards the two lists and stop, and
 * is a leaf: nothing else is taken under it, and the loop holds it only
 * to move work in or out.
 */
struct worker {
	struct daemon	*d;
	pthread_t	 t;
	int		 started;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct work	*todo, *todo_tail;	/* not started */
	struct work	*finished;		/* run, done not called yet */
	int		 stop;
};

static void
list_append(struct work **head, struct work **tail, struct work *w)
{
	w->next = NULL;
	if (*tail != NULL)
		(*tail)->next = w;
	else
		*head = w;
	*tail = w;
}

static void *
worker_main(void *arg)
{
	struct worker *k = arg;
	struct work *w;

	pthread_mutex_lock(&k->mu);
	for (;;) {
		while (k->todo == NULL && !k->stop)
			pthread_cond_wait(&k->cv, &k->mu);
		if ((w = k->todo) == NULL)
			break;
		if ((k->todo = w->next) == NULL)
			k->todo_tail = NULL;
		pthread_mutex_unlock(&k->mu);
		w->run(w);
		pthread_mutex_lock(&k->mu);
		w->next = k->finished;
		k->finished = w;
		/* The loop wakes and calls done; full, it is awake. */
		(void)!write(k->d->wake[1], "w", 1);
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

void
work_submit(struct daemon *d, enum work_queue q, struct work *w)
{
	struct worker *k = &d->workers[q];

	w->d = d;
	w->cancelled = 0;
	pthread_mutex_lock(&k->mu);
	if (d->stop || k->stop || !k->started) {
		pthread_mutex_unlock(&k->mu);
		w->cancelled = 1;
		w->done(d, w);
		return;
	}
	list_append(&k->todo, &k->todo_tail, w);
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
}

/* Calls done for what the workers finished, in the order they did. */
static void
work_reap(struct daemon *d)
{
	struct work *list, *w, *rev;
	int q;

	for (q = 0; q < WORK_QUEUES; q++) {
		struct worker *k = &d->workers[q];

		pthread_mutex_lock(&k->mu);
		list = k->finished;
		k->finished = NULL;
		pthread_mutex_unlock(&k->mu);
		for (rev = NULL; list != NULL; list = w) {
			w = list->next;
			list->next = rev;
			rev = list;
		}
		for (; rev != NULL; rev = w) {
			w = rev->next;
			rev->done(d, rev);
			daemon_changed(d);
		}
	}
}

/* Signals stay with the loop's thread: the handler never runs here. */
static int
workers_start(struct daemon *d, struct error *err)
{
	sigset_t all, old;
	pthread_attr_t a;
	int q, rc = 0;

	if ((d->workers = calloc(WORK_QUEUES, sizeof(*d->workers))) == NULL)
		return error_errno(err, ERR_FAIL, "workers");
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, THREAD_STACK);
	for (q = 0; q < WORK_QUEUES; q++) {
		struct worker *k = &d->workers[q];

		k->d = d;
		pthread_mutex_init(&k->mu, NULL);
		pthread_cond_init(&k->cv, NULL);
		if (rc == 0 && (rc = pthread_create(&k->t, &a, worker_main,
		    k)) == 0)
			k->started = 1;
	}
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return error_set(err, ERR_FAIL, "cannot start a thread: %s",
		    strerror(rc));
	return 0;
}

/*
 * At stop: work not started is cancelled, work running is waited for,
 * and every done is called.
 */
static void
workers_stop(struct daemon *d)
{
	struct work *w, *todo;
	int q;

	if (d->workers == NULL)
		return;
	for (q = 0; q < WORK_QUEUES; q++) {
		struct worker *k = &d->workers[q];

		pthread_mutex_lock(&k->mu);
		todo = k->todo;
		k->todo = k->todo_tail = NULL;
		k->stop = 1;
		pthread_cond_signal(&k->cv);
		pthread_mutex_unlock(&k->mu);
		for (; todo != NULL; todo = w) {
			w = todo->next;
			todo->cancelled = 1;
			todo->done(d, todo);
		}
		if (k->started)
			pthread_join(k->t, NULL);
	}
	work_reap(d);
	for (q = 0; q < WORK_QUEUES; q++) {
		pthread_mutex_destroy(&d->workers[q].mu);
		pthread_cond_destroy(&d->workers[q].cv);
	}
	free(d->workers);
	d->workers = NULL;
}

/* ---- rendering ----------------------------------------------------------- */

/* One render, on WORK_RENDER: what it was asked, and how it went. */
struct render_work {
	struct work	 w;
	struct store	*s;
	const char	*root;
	uint64_t	 want, at, done;
	int		 failed;
	char		 summary[PROTO_TEXT_MAX + 1];
};

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

/* The one place that calls the renderer, on the worker. */
static void
render_run_work(struct work *w)
{
	struct render_work *r = (struct render_work *)w;
	struct render_opts o;
	struct render_report *rep = NULL;
	struct error err = { 0 };

	memset(&o, 0, sizeof(o));
	o.root = r->root;
	r->done = r->want;
	/* A confirmed commit reverted here: the files of before it. */
	if (render_run(r->s, r->at, &o, &rep, &err) == -1) {
		snprintf(r->summary, sizeof(r->summary), "render failed: "
		    "%.400s", err.msg);
		r->failed = 1;
		log_warnx("%s", r->summary);
		return;
	}
	render_report_summary(rep, r->summary, sizeof(r->summary));
	r->failed = render_report_failures(rep) > 0;
	if (r->at == 0 && render_report_rev(rep) > r->done)
		r->done = render_report_rev(rep);
	if (r->failed)
		log_render_failures(rep, r->done, r->summary);
	else if (r->at != 0)
		log_info("rendered r%llu in place of r%llu, not confirmed in "
		    "time: %s", (unsigned long long)r->at,
		    (unsigned long long)r->done, r->summary);
	else
		log_info("rendered r%llu: %s", (unsigned long long)r->done,
		    r->summary);
	render_report_free(rep);
}

static void
render_done_work(struct daemon *d, struct work *w)
{
	struct render_work *r = (struct render_work *)w;

	d->rendering = 0;
	if (!w->cancelled) {
		if (r->done > d->render_done)
			d->render_done = r->done;
		memcpy(d->render_summary, r->summary, sizeof(r->summary));
		d->render_failed = r->failed;
	}
	free(r);
}

/*
 * Hands the worker a render when one is wanted and none runs: always of
 * the head, so a burst of commits costs one render.  Every 10 s it also
 * looks at the head, so a commit nobody told us of (a tool writing the
 * store directly) is rendered all the same.
 */
static void
render_step(struct daemon *d, uint64_t now)
{
	struct render_work *r;
	uint64_t head;

	if (d->stop)
		return;
	if (now >= d->render_look_ms) {
		d->render_look_ms = now + PING_MS;
		if (repl_head(d, &head, NULL) == 0) {
			if (head > d->render_want)
				d->render_want = head;
			/* The peers lack it too: the pushes start now. */
			if (head > d->head_hint) {
				d->head_hint = head;
				daemon_changed(d);
			}
		}
	}
	loop_at(d, d->render_look_ms);
	if (d->rendering || (d->render_want <= d->render_done &&
	    !d->render_again))
		return;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("render");
		loop_at(d, now + 1000);
		return;
	}
	r->w.run = render_run_work;
	r->w.done = render_done_work;
	r->s = d->s;
	r->root = d->root;
	r->want = d->render_want;
	r->at = confirm_render_at(d);
	d->render_again = 0;
	d->rendering = 1;
	work_submit(d, WORK_RENDER, &r->w);
}

/*
 * The history was taken from a new primary's fork point: what was
 * rendered belongs to the diverged branch, so the next render is due
 * whatever its revision number.
 */
void
render_rewind(struct daemon *d)
{
	d->render_done = 0;
	daemon_changed(d);
}

void
render_kick(struct daemon *d, uint64_t rev)
{
	if (rev > d->render_want) {
		d->render_want = rev;
		daemon_changed(d);
	}
}

int
render_covers(struct daemon *d, uint64_t rev, char *summary, size_t len,
    int *failed)
{
	if (d->render_done < rev && !d->stop)
		return 0;
	snprintf(summary, len, "%s", d->render_done < rev ?
	    "shutting down" : d->render_summary);
	*failed = d->render_failed;
	return 1;
}

static void
peer_free(struct peer *p)
{
	push_free(p);
	free(p);
}

/*
 * (Re)reads the peers from the store: keeps the ones unchanged, ends the
 * sessions of those removed or changed; push_step takes up the new ones.
 * The peers removed are kept till exit: a control client may still be
 * waiting on one.
 */
static int
peers_load(struct daemon *d, struct error *err)
{
	struct peer_info *list = NULL;
	struct peer **next = NULL, **gone, *p;
	size_t n = 0, i, j;

	if (d->stop)
		return 0;
	if (store_peers(d->s, &list, &n, err) == -1)
		return -1;
	if ((next = calloc(n + 1, sizeof(*next))) == NULL ||
	    (gone = reallocarray(d->gone, d->ngone + d->npeers + 1,
	    sizeof(*gone))) == NULL) {
		free(next);
		free(list);
		return error_errno(err, ERR_FAIL, "peers");
	}
	d->gone = gone;
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
			if (peer_find(d, next[j]->info.name) != next[j])
				peer_free(next[j]);
		free(next);
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
		push_stop(p);
		if (p->ch != NULL)
			chan_kill(p->ch, "no longer a peer");
		d->gone[d->ngone++] = p;
	}
	free(d->peers);
	d->peers = next;
	d->npeers = n;
	daemon_changed(d);
	free(list);
	/* The network process knows them before anyone dials. */
	net_peers_changed(d);
	return 0;
}

/*
 * The store's role read again: `promote` made this node the primary.
 * Sessions from the old primary end (it learns the new epoch when it
 * comes back), and this node pushes.
 */
static int
role_load(struct daemon *d, struct error *err)
{
	uint64_t epoch;

	if (store_refresh(d->s, err) == -1)
		return -1;
	if (!store_is_primary(d->s) || d->primary)
		return 0;
	d->primary = 1;
	/* A new term: every peer is pushed to at once, old refusals aside. */
	for (size_t i = 0; i < d->npeers; i++) {
		struct peer *p = d->peers[i];

		if (p->ch != NULL)
			chan_kill(p->ch, "this node is the primary now");
		p->kick = 1;
		p->diverged = p->refused = 0;
	}
	daemon_changed(d);
	if (store_epoch(d->s, &epoch, NULL, err) == -1)
		return -1;
	log_info("%s: promoted: now the primary, epoch %llu", d->node,
	    (unsigned long long)epoch);
	return 0;
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
	if (store_fence(d->s, epoch, node, &fenced, &err) == -1)
		log_warnx("fencing: %s", err.msg);
	if (!fenced)
		return;
	d->primary = 0;
	daemon_changed(d);
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

/* Live (not evicted) unfinished handshakes from host. */
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
	if (d->nsession >= MAX_INBOUND) {
		log_warnx("connection from %s refused: too many sessions",
		    from);
		close(fd);
		return NULL;
	}
	if ((slot = hs_admit(d, host, victim, sizeof(victim))) == -1 ||
	    (in = calloc(1, sizeof(*in))) == NULL) {
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
	if (victim[0] != '\0')
		log_warnx("connection from %s dropped: too many unfinished "
		    "handshakes, the oldest makes room for %s", victim, from);
	tune(fd);
	return in;
}

/* The control socket is readable: one client more. */
static void
control_accept(struct daemon *d, void *arg, short revents)
{
	struct acceptor *a = arg;
	struct sockaddr_storage ss;
	int fd;

	(void)revents;
	if ((fd = acceptor_take(a, &ss)) == -2)
		/* Out of descriptors: the backlog stays; wait, not spin. */
		a->retry_ms = repl_mono_ms() + ACCEPT_BACKOFF_MS;
	else if (fd >= 0)
		control_new(d, fd);
}

/*
 * MAX_CONTROL clients at once; the others are not refused (their
 * commits are made: they must hear how they went) but left in the
 * backlog until one is done.
 */
static void
control_listen_step(struct daemon *d, struct acceptor *a, uint64_t now)
{
	if (d->stop || a->fd == -1 || d->ncontrol >= MAX_CONTROL)
		return;
	if (now < a->retry_ms) {
		loop_at(d, a->retry_ms);
		return;
	}
	loop_watch(d, a->fd, POLLIN, control_accept, a);
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

/* SIGHUP or the control socket. */
int
repl_daemon_reload(struct daemon *d, struct error *err)
{
	if (peers_load(d, err) == -1)
		return -1;
	return role_load(d, err);
}

/* The loop's pipe: a worker finished, or a signal came. */
static void
wake_io(struct daemon *d, void *arg, short revents)
{
	char buf[64];

	(void)arg;
	(void)revents;
	while (read(d->wake[0], buf, sizeof(buf)) > 0)
		;
	work_reap(d);
}

/* Runs every step function, sleeps, dispatches; until SIGTERM or SIGINT. */
static void
run_loop(struct daemon *d, struct acceptor *ctl)
{
	struct loop *l = d->loop;
	struct error err;
	uint64_t now;
	size_t i, n;
	int timeout;

	for (;;) {
		if (got_term) {
			log_info("%s: shutting down", got_term == SIGTERM ?
			    "SIGTERM" : "SIGINT");
			return;
		}
		if (got_hup) {
			got_hup = 0;
			log_info("SIGHUP: re-reading peers");
			error_clear(&err);
			if (repl_daemon_reload(d, &err) == -1)
				log_warnx("peers: %s", err.msg);
		}
		l->n = 0;
		l->at = UINT64_MAX;
		l->changed = 0;
		now = repl_mono_ms();
		loop_watch(d, d->wake[0], POLLIN, wake_io, NULL);
		render_step(d, now);
		push_step(d, now);
		inbound_step(d, now);
		control_step(d, now);
		confirm_step(d, now);
		demote_step(d, now);
		control_listen_step(d, ctl, now);
		/* Last: it writes what the others queued for it this turn. */
		net_step(d, now);
		if (l->changed)
			timeout = 0;
		else if (l->at == UINT64_MAX)
			timeout = -1;
		else if ((now = repl_mono_ms()) >= l->at)
			timeout = 0;
		else
			timeout = l->at - now > INT_MAX ? INT_MAX :
			    (int)(l->at - now);
		if (poll(l->pfd, l->n, timeout) == -1) {
			if (errno != EINTR)
				fatal("poll");
			continue;
		}
		/* A callback may add watches of its own: only these. */
		n = l->n;
		for (i = 0; i < n; i++)
			if (l->pfd[i].revents != 0)
				l->w[i].fn(d, l->w[i].arg, l->pfd[i].revents);
	}
}

/*
 * Ends everything the loop ran: clients waiting hear why, sessions end,
 * the workers finish what they run, the network process exits.
 */
static void
shutdown_all(struct daemon *d)
{
	size_t i;

	d->stop = 1;
	daemon_changed(d);
	control_stop_all(d);
	for (i = 0; i < d->npeers; i++) {
		d->peers[i]->quit = 1;
		push_stop(d->peers[i]);
	}
	inbound_stop_all(d);
	net_kill_all(d);
	workers_stop(d);
}

static int
set_signals(struct daemon *d)
{
	struct sigaction sa;

	signal_fd = d->wake[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGHUP, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	return 0;
}

int
repl_serve(const char *dir, const struct repl_serve_opts *o,
    struct error *err)
{
	struct daemon d;
	struct loop loop;
	struct acceptor ctl = { 0 };
	int ready = -1, lockfd = -1, started = 0, has_net = 0;
	int rc = -1;
	uint64_t head;
	size_t i;
	char sockpath[1024];

	memset(&d, 0, sizeof(d));
	memset(&loop, 0, sizeof(loop));
	d.loop = &loop;
	d.wake[0] = d.wake[1] = -1;
	d.listen_fd = d.net.fd = -1;
	d.net_pid = -1;
	ctl.fd = -1;
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
	/* Neither end may block: a full pipe only means the loop is awake. */
	for (i = 0; i < 2; i++)
		if (fcntl(d.wake[i], F_SETFL, fcntl(d.wake[i], F_GETFL) |
		    O_NONBLOCK) == -1) {
			error_errno(err, ERR_FAIL, "pipe");
			goto fail;
		}
	if (set_signals(&d) == -1) {
		error_errno(err, ERR_FAIL, "sigaction");
		goto fail;
	}
	ctl.d = &d;
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
	has_net = 1;
	if (net_start(&d, err) == -1 || peers_load(&d, err) == -1)
		goto fail;
	if (workers_start(&d, err) == -1)
		goto fail;
	/* Last: its socket says the daemon is up, peers and all. */
	if ((ctl.fd = listen_control(dir, err)) == -1)
		goto fail;
	log_info("%s: serving as %s at r%llu%s%s, %zu peer%s", d.node,
	    d.primary ? "primary" : "replica", (unsigned long long)head,
	    d.listen_fd != -1 ? ", listening on " : "",
	    d.listen_fd != -1 ? store_listen(d.s) : "", d.npeers,
	    d.npeers == 1 ? "" : "s");
	tell_parent(&ready, "ok");
	started = 1;
	run_loop(&d, &ctl);
	rc = 0;
fail:
	if (rc == -1 && ready != -1)
		tell_parent(&ready, err->msg);
	if (rc == -1 && !o->foreground)
		log_warnx("%s", err->msg);
	shutdown_all(&d);
	/* Only a daemon that ran its demotion takes it back. */
	if (started)
		demote_stop(&d);
	confirm_free(&d);
	if (has_net)
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
	signal_fd = -1;
	if (d.wake[0] != -1) {
		close(d.wake[0]);
		close(d.wake[1]);
	}
	free(loop.pfd);
	free(loop.w);
	identity_free(d.id);
	store_close(d.s);
	if (lockfd != -1)
		close(lockfd);
	if (rc == 0)
		log_info("stopped");
	return rc;
}
