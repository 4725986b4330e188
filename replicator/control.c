/*
 * control.c - the control socket: how `set`, `status` and `peer` reach
 * the daemon of their store directory.
 *
 * A unix socket, 0600 in the 0700 store directory, so only the store's
 * owner gets here.  One request line per connection, then lines of
 * tab-separated fields and a last line "end" (docs/PROTOCOL.md).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat_fd.h"
#include "log.h"
#include "ctlmsg.h"
#include "mpread.h"
#include "repl_int.h"

#define LINE_MAX_	1024

/* ---- both sides -------------------------------------------------------- */

static int
write_str(int fd, const char *s, struct error *err)
{
	return link_write_all(fd, s, strlen(s), 2000, err);
}

/* Reads one line (without the newline) before deadline_ms passes. */
static int
read_line(int fd, struct buf *pending, char *line, size_t len,
    int timeout_ms, struct error *err)
{
	char chunk[512], *nl;
	struct pollfd pfd;
	ssize_t n;
	size_t l;
	int rc;

	for (;;) {
		if (pending->len > 0 &&
		    (nl = memchr(pending->data, '\n', pending->len)) != NULL) {
			l = (size_t)(nl - pending->data);
			if (l >= len)
				return error_set(err, ERR_FAIL, "line too long");
			memcpy(line, pending->data, l);
			line[l] = '\0';
			memmove(pending->data, nl + 1, pending->len - l - 1);
			pending->len -= l + 1;
			return 0;
		}
		if (pending->len > LINE_MAX_)
			return error_set(err, ERR_FAIL, "line too long");
		pfd.fd = fd;
		pfd.events = POLLIN;
		do
			rc = poll(&pfd, 1, timeout_ms);
		while (rc == -1 && errno == EINTR);
		if (rc == 0)
			return error_set(err, ERR_FAIL, "timed out");
		if (rc == -1)
			return error_errno(err, ERR_FAIL, "poll");
		if ((n = read(fd, chunk, sizeof(chunk))) <= 0)
			return error_set(err, ERR_FAIL, "connection closed");
		if (buf_append(pending, chunk, (size_t)n) == -1)
			return error_errno(err, ERR_FAIL, "read");
	}
}

int
ctl_read_line(int fd, struct buf *pending, char *line, size_t len,
    int timeout_ms, struct error *err)
{
	return read_line(fd, pending, line, len, timeout_ms, err);
}

/* ---- the daemon's side ---------------------------------------------------- */

struct verdict {
	struct peer		*p;
	uint64_t		 fails0;
	int			 decided;
	enum repl_node_state	 st;
	char			 text[PROTO_TEXT_MAX + 64];
};

/*
 * "commit REV WAIT_MS": start the render and the pushes, then wait for
 * every node to be done with REV (or plainly not reachable) or for the
 * time to run out, and say how each one stands.
 */
static void
ctl_commit(struct daemon *d, int fd, uint64_t rev, uint64_t wait_ms)
{
	struct verdict *v = NULL;
	struct timespec ts;
	struct buf out = { 0 };
	size_t i, n;
	int local = 0, undecided, timed_out = 0;
	enum repl_node_state lst = REPL_NODE_PENDING;
	char ltext[PROTO_TEXT_MAX + 64];
	uint64_t t0 = repl_mono_us();

	pthread_mutex_lock(&d->mu);
	if (rev > d->head_hint)
		d->head_hint = rev;
	if (rev > d->render_want)
		d->render_want = rev;
	n = d->primary ? d->npeers : 0;
	if (n > 0 && (v = calloc(n, sizeof(*v))) == NULL)
		n = 0;
	for (i = 0; i < n; i++) {
		v[i].p = d->peers[i];
		v[i].fails0 = d->peers[i]->fails;
		d->peers[i]->kick = 1;
	}
	pthread_cond_broadcast(&d->cv);
	if (wait_ms == 0) {
		pthread_mutex_unlock(&d->mu);
		write_str(fd, "end\n", NULL);
		free(v);
		return;
	}
	if (wait_ms > REPL_WAIT_MAX)
		wait_ms = REPL_WAIT_MAX;
	repl_deadline(&ts, wait_ms);
	for (;;) {
		undecided = 0;
		if (!local && d->render_done >= rev) {
			local = 1;
			lst = d->render_failed ? REPL_NODE_FAILED : REPL_NODE_OK;
			snprintf(ltext, sizeof(ltext), "committed r%" PRIu64
			    ", %s", rev, d->render_summary);
		}
		undecided += !local;
		for (i = 0; i < n; i++) {
			struct peer *p = v[i].p;

			if (v[i].decided)
				continue;
			if (p->rendered >= rev) {
				v[i].st = p->render_failed ? REPL_NODE_FAILED :
				    REPL_NODE_OK;
				snprintf(v[i].text, sizeof(v[i].text),
				    "applied r%" PRIu64 ", %s", rev, p->summary);
			} else if (p->diverged || p->refused) {
				/* "refused: diverged: ...", "refused (rejected): ..." */
				v[i].st = REPL_NODE_FAILED;
				snprintf(v[i].text, sizeof(v[i].text), "%s%s",
				    p->diverged ? "refused: " : "", p->rec.error);
			} else if (p->quit) {
				v[i].st = REPL_NODE_PENDING;
				snprintf(v[i].text, sizeof(v[i].text),
				    "no longer a peer");
			} else if (!p->connected && p->fails > v[i].fails0) {
				v[i].st = REPL_NODE_PENDING;
				snprintf(v[i].text, sizeof(v[i].text),
				    "unreachable, will catch up");
			} else if (timed_out) {
				v[i].st = REPL_NODE_PENDING;
				snprintf(v[i].text, sizeof(v[i].text), "%s",
				    p->connected ? "no answer yet, will catch up"
				    : "unreachable, will catch up");
			} else {
				undecided++;
				continue;
			}
			v[i].decided = 1;
		}
		if (undecided == 0 || d->stop)
			break;
		if (timed_out) {
			if (!local)
				snprintf(ltext, sizeof(ltext), "committed r%"
				    PRIu64 ", render still running", rev);
			break;
		}
		if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) != 0)
			timed_out = 1;
	}
	if (!local && d->stop)
		snprintf(ltext, sizeof(ltext), "committed r%" PRIu64 ", daemon "
		    "shutting down", rev);
	ctl_clean(ltext);
	buf_printf(&out, "%s\t%d\t%s\n", d->node, (int)lst, ltext);
	for (i = 0; i < n; i++) {
		if (!v[i].decided) {
			v[i].st = REPL_NODE_PENDING;
			snprintf(v[i].text, sizeof(v[i].text),
			    "daemon shutting down");
		}
		ctl_clean(v[i].text);
		buf_printf(&out, "%s\t%d\t%s\n", v[i].p->info.name,
		    (int)v[i].st, v[i].text);
	}
	pthread_mutex_unlock(&d->mu);
	log_debug("r%" PRIu64 ": reported on every node %.3f ms after the notice",
	    rev, (double)(repl_mono_us() - t0) / 1000);
	buf_puts(&out, "end\n");
	if (out.data != NULL)
		link_write_all(fd, out.data, out.len, 2000, NULL);
	buf_free(&out);
	free(v);
}

static void
ctl_status(struct daemon *d, int fd)
{
	struct buf out = { 0 };
	char text[256];
	size_t i;

	pthread_mutex_lock(&d->mu);
	for (i = 0; i < d->npeers; i++) {
		struct peer *p = d->peers[i];

		snprintf(text, sizeof(text), "%s", p->rec.error);
		ctl_clean(text);
		buf_printf(&out, "peer\t%s\t%d\t%" PRIu64 "\t%" PRIu64 "\t%"
		    PRIu64 "\t%" PRIu64 "\t%s\n", p->info.name, p->connected,
		    p->rec.acked, p->rec.acked_ms, p->rec.peer_head,
		    p->rec.error_ms, text);
	}
	pthread_mutex_unlock(&d->mu);
	buf_printf(&out, "pid\t%ld\nend\n", (long)getpid());
	if (out.data != NULL)
		link_write_all(fd, out.data, out.len, 2000, NULL);
	buf_free(&out);
}

void *
control_main(void *arg)
{
	struct ctlconn *cc = arg;
	struct daemon *d = cc->d;
	struct buf pending = { 0 };
	struct error err = { 0 };
	struct ctl_line l;
	char line[256];

	if (read_line(cc->fd, &pending, line, sizeof(line), 2000,
	    &err) == -1)
		log_debug("control: %s", err.msg);
	else if (ctl_parse(line, &l, &err) == -1 || (l.kind != CTL_COMMIT &&
	    l.kind != CTL_STATUS && l.kind != CTL_RELOAD &&
	    l.kind != CTL_PREPARE))
		write_str(cc->fd, "error\tunknown request\n", NULL);
	else if (l.kind == CTL_PREPARE)
		ctl_prepare(d, cc->fd, &pending, &l);
	else if (l.kind == CTL_COMMIT)
		ctl_commit(d, cc->fd, l.n[0], l.n[1]);
	else if (l.kind == CTL_STATUS)
		ctl_status(d, cc->fd);
	else if (repl_daemon_reload(d, &err) == -1) {
		ctl_clean(err.msg);
		dprintf(cc->fd, "error\t%s\n", err.msg);
	} else
		write_str(cc->fd, "end\n", NULL);
	buf_free(&pending);
	pthread_mutex_lock(&d->mu);
	conn_track(d, cc->fd, 0);
	d->ncontrol--;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	close(cc->fd);
	free(cc);
	return NULL;
}

/* ---- the command line's side ------------------------------------------- */

int
ctl_connect(const char *dir, struct error *err)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir,
	    REPL_SOCKET) >= sizeof(sun.sun_path))
		return error_set(err, ERR_FAIL, "daemon not running (store "
		    "path too long for its socket)");
	if ((fd = fd_socket_cloexec(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return error_errno(err, ERR_FAIL, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		if (errno == ENOENT || errno == ECONNREFUSED)
			return error_set(err, ERR_NODAEMON, "daemon not running");
		return error_errno(err, ERR_FAIL, "%s", sun.sun_path);
	}
	return fd;
}

int
repl_notify(const char *dir, uint64_t rev, int wait_ms, repl_report_fn fn,
    void *arg, struct error *err)
{
	struct buf pending = { 0 };
	struct ctl_line l;
	char req[64], line[LINE_MAX_];
	int fd, rc = -1;

	if ((fd = ctl_connect(dir, err)) == -1)
		return -1;
	if (wait_ms < 0)
		wait_ms = 0;
	snprintf(req, sizeof(req), "commit %" PRIu64 " %d\n", rev, wait_ms);
	if (write_str(fd, req, err) == -1)
		goto done;
	for (;;) {
		/* The daemon keeps to wait_ms; this is only a backstop. */
		if (read_line(fd, &pending, line, sizeof(line),
		    wait_ms + 10000, err) == -1) {
			error_wrap(err, "daemon");
			goto done;
		}
		if (ctl_parse(line, &l, err) == -1 || (l.kind != CTL_END &&
		    l.kind != CTL_NODE)) {
			error_set(err, ERR_FAIL, "daemon: bad reply");
			goto done;
		}
		if (l.kind == CTL_END)
			break;
		if (fn != NULL)
			fn(arg, l.name, (enum repl_node_state)l.n[0], l.text);
	}
	rc = 0;
done:
	buf_free(&pending);
	close(fd);
	return rc;
}

int
repl_reload(const char *dir, struct error *err)
{
	struct buf pending = { 0 };
	struct ctl_line l;
	char line[LINE_MAX_];
	int fd, rc = -1;

	if ((fd = ctl_connect(dir, err)) == -1)
		return -1;
	if (write_str(fd, "reload\n", err) == 0 &&
	    read_line(fd, &pending, line, sizeof(line), 15000, err) == 0) {
		if (ctl_parse(line, &l, err) == 0 && l.kind == CTL_END)
			rc = 0;
		else if (l.kind == CTL_ERROR)
			error_set(err, ERR_FAIL, "daemon: %s", l.text);
		else
			error_set(err, ERR_FAIL, "daemon: bad reply");
	}
	buf_free(&pending);
	close(fd);
	return rc;
}

/* Live peer state from the daemon, over what the records said. */
static int
ask_status(struct store *s, struct repl_status *st)
{
	struct buf pending = { 0 };
	struct error err = { 0 };
	struct ctl_line l;
	char line[LINE_MAX_];
	size_t i;
	int fd, rc = -1;

	if ((fd = ctl_connect(store_dir(s), &err)) == -1)
		return -1;
	if (write_str(fd, "status\n", &err) == -1)
		goto done;
	for (;;) {
		if (read_line(fd, &pending, line, sizeof(line), 5000,
		    &err) == -1)
			goto done;
		if (ctl_parse(line, &l, &err) == -1)
			goto done;
		if (l.kind == CTL_END)
			break;
		if (l.kind != CTL_PEER)
			continue;	/* pid, and what a newer daemon adds */
		for (i = 0; i < st->npeers; i++) {
			struct repl_peer_status *ps = &st->peers[i];

			if (strcmp(ps->name, l.name) != 0)
				continue;
			ps->connected = l.n[0] != 0;
			ps->acked = l.n[1];
			ps->acked_ms = l.n[2];
			ps->peer_head = l.n[3];
			ps->error_ms = l.n[4];
			snprintf(ps->error, sizeof(ps->error), "%s", l.text);
		}
	}
	rc = 0;
done:
	buf_free(&pending);
	close(fd);
	return rc;
}

static void
lag(struct store *s, struct repl_status *st, struct repl_peer_status *ps,
    uint64_t now)
{
	struct commit *c = NULL;

	ps->lag = ps->lag_ms = 0;
	if (st->primary) {
		if (ps->acked >= st->head)
			return;
		ps->lag = st->head - ps->acked;
		/* How long the oldest commit it lacks has been waiting. */
		if (store_commit_load(s, ps->acked + 1, &c, NULL) == 0) {
			if (now > commit_time_ms(c))
				ps->lag_ms = now - commit_time_ms(c);
			commit_free(c);
		}
		return;
	}
	if (ps->peer_head > st->head) {
		ps->lag = ps->peer_head - st->head;
		if (ps->acked_ms > 0 && now > ps->acked_ms)
			ps->lag_ms = now - ps->acked_ms;
	}
}

int
repl_status_get(struct store *s, struct repl_status **out, struct error *err)
{
	struct repl_status *st;
	struct peer_info *peers = NULL;
	struct peer_record r;
	struct demote_record dr;
	struct commit *c = NULL;
	size_t i, n = 0;
	uint64_t now = repl_now_ms();

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return error_errno(err, ERR_FAIL, "status");
	st->primary = store_is_primary(s);
	snprintf(st->node, sizeof(st->node), "%s", store_node(s));
	snprintf(st->listen, sizeof(st->listen), "%s", store_listen(s));
	if (store_primary_name(s, st->primary_name, sizeof(st->primary_name),
	    NULL) == -1)
		st->primary_name[0] = '\0';
	if (store_head(s, &st->head, st->hash, err) == -1 ||
	    store_peers(s, &peers, &n, err) == -1)
		goto fail;
	if (st->head > 0 && store_commit_load(s, st->head, &c, NULL) == 0) {
		st->head_ms = commit_time_ms(c);
		commit_free(c);
	}
	demote_record_load(s, &dr);
	st->demoted = dr.raised;
	st->demoted_ms = dr.since_ms;
	snprintf(st->demote_why, sizeof(st->demote_why), "%s", dr.why);
	snprintf(st->demote_error, sizeof(st->demote_error), "%s", dr.error);
	st->demote_error_ms = dr.error_ms;
	if (n > 0 && (st->peers = calloc(n, sizeof(*st->peers))) == NULL) {
		error_errno(err, ERR_FAIL, "status");
		goto fail;
	}
	st->npeers = n;
	for (i = 0; i < n; i++) {
		struct repl_peer_status *ps = &st->peers[i];

		snprintf(ps->name, sizeof(ps->name), "%s", peers[i].name);
		snprintf(ps->addr, sizeof(ps->addr), "%s", peers[i].addr);
		pubkey_to_text(peers[i].pubkey, ps->key);
		record_load(s, ps->name, &r);
		ps->acked = r.acked;
		ps->acked_ms = r.acked_ms;
		ps->peer_head = r.peer_head;
		ps->error_ms = r.error_ms;
		snprintf(ps->error, sizeof(ps->error), "%s", r.error);
	}
	st->daemon = ask_status(s, st) == 0;
	for (i = 0; i < n; i++)
		lag(s, st, &st->peers[i], now);
	free(peers);
	if (repl_failover_status(s, st, err) == -1)
		goto fail;
	*out = st;
	return 0;
fail:
	free(peers);
	repl_status_free(st);
	return -1;
}

#define EXPORTED_RECORD	"diverged.exported"

static int
exported_field(void *arg, const char *key, struct mpr *m)
{
	struct repl_status *st = arg;
	uint64_t v;

	if (strcmp(key, "count") != 0 && strcmp(key, "time_ms") != 0)
		return 1;
	if (mpr_uint(m, &v) == -1)
		return -1;
	if (strcmp(key, "count") == 0)
		st->nexported = (size_t)v;
	else
		st->exported_ms = v;
	return 0;
}

/* What export --diverged wrote out, never more than the branch holds. */
static void
exported_load(struct store *s, struct repl_status *st)
{
	st->nexported = 0;
	st->exported_ms = 0;
	if (rec_read(s, EXPORTED_RECORD, exported_field, st) == -1)
		st->nexported = st->exported_ms = 0;
	if (st->nexported > st->ndiverged)
		st->nexported = st->ndiverged;
}

int
repl_diverged_exported(struct store *s, size_t n, struct error *err)
{
	struct buf b = { 0 };

	rec_map(&b, 2);
	rec_uint(&b, "count", n);
	rec_uint(&b, "time_ms", repl_now_ms());
	return rec_write(s, EXPORTED_RECORD, &b, err);
}

int
repl_failover_status(struct store *s, struct repl_status *st,
    struct error *err)
{
	char name[STORE_NODE_MAX + 1];

	if (store_epoch(s, &st->epoch, NULL, err) == -1 ||
	    store_diverged_count(s, &st->ndiverged, err) == -1)
		return -1;
	st->fenced = store_fenced(s, &st->fenced_epoch, name, sizeof(name));
	exported_load(s, st);
	/* Not a peer here: a daemon would have no session with it. */
	st->primary_connected = st->daemon ? 0 : -1;
	st->primary_head = 0;
	if (st->primary) {
		st->primary_connected = 1;
		st->primary_head = st->head;
		return 0;
	}
	/*
	 * With no history yet the primary is not known by name: any peer
	 * with a session counts (only a primary opens one to a replica).
	 */
	for (size_t i = 0; i < st->npeers; i++) {
		if (st->primary_name[0] != '\0' &&
		    strcmp(st->peers[i].name, st->primary_name) != 0)
			continue;
		if (st->peers[i].peer_head > st->primary_head)
			st->primary_head = st->peers[i].peer_head;
		if (st->daemon && st->peers[i].connected)
			st->primary_connected = 1;
	}
	return 0;
}

void
repl_status_free(struct repl_status *st)
{
	if (st == NULL)
		return;
	free(st->peers);
	free(st);
}
