/*
 * push.c - the primary's side: one thread per peer that connects, learns
 * the peer's head, and sends it every commit it lacks, in batches.
 *
 * The peer's head decides what is sent, never our own bookkeeping: a peer
 * restored from a backup, or one that missed a thousand commits, is
 * brought up to date the same way as one that missed none.
 */
#include <sys/socket.h>

#include <errno.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "repl_int.h"

/* One commit of the largest size, or a full batch, fits in a frame. */
_Static_assert(STORE_COMMIT_MAX + PROTO_COMMITS_OVERHEAD(1) <=
    LINK_PAYLOAD_MAX, "a frame must hold the largest commit");
_Static_assert(PROTO_BATCH_BYTES + PROTO_COMMITS_OVERHEAD(PROTO_BATCH_MAX) <=
    LINK_PAYLOAD_MAX, "a frame must hold a full batch");

struct push {
	struct peer	*p;
	struct daemon	*d;
	struct chan	*l;
	struct buf	 out, in;
	struct buf	 raw;		/* the batch's commits, back to back */
	struct store_raw *raws;
};

/* The thread's end: the daemon stops, or the peer was removed. */
static int
quitting(struct push *x)
{
	int quit;

	pthread_mutex_lock(&x->d->mu);
	quit = x->d->stop || x->p->quit;
	pthread_mutex_unlock(&x->d->mu);
	return quit;
}

/* A session's end: that, or this node is no longer the primary. */
static int
stopping(struct push *x)
{
	int stop;

	pthread_mutex_lock(&x->d->mu);
	stop = x->d->stop || x->p->quit || !x->d->primary;
	pthread_mutex_unlock(&x->d->mu);
	return stop;
}

/* Receives one message and decodes it; the frame stays in x->in. */
static int
recv_msg(struct push *x, struct msg *m, int timeout_ms, struct error *err)
{
	if (chan_recv(x->l, &x->in, timeout_ms, err) == -1)
		return -1;
	if (proto_decode(x->in.data, x->in.len, m, err) == -1)
		return error_wrap(err, "malformed message");
	return 0;
}

/*
 * Our commit at rev has the hash the peer says it holds there: the one
 * test that tells a peer behind us from a peer on another history.
 */
static int
same_history(struct push *x, uint64_t rev, const unsigned char *hash,
    uint64_t head, char *why, size_t len)
{
	struct buf raw = { 0 };
	struct error err = { 0 };
	unsigned char signer[STORE_PUBKEY_LEN], ours[STORE_HASH_LEN];
	int same;

	if (rev == 0)
		return 1;
	if (rev > head) {
		snprintf(why, len, "peer is at r%llu, beyond our head r%llu",
		    (unsigned long long)rev, (unsigned long long)head);
		return 0;
	}
	/* The hash only: the commit's values (secrets) are not decoded. */
	buf_secret(&raw);
	if (store_commit_raw(x->d->s, rev, &raw, &err) == -1 ||
	    commit_envelope(raw.data, raw.len, signer, ours, &err) == -1) {
		snprintf(why, len, "reading r%llu: %.200s",
		    (unsigned long long)rev, err.msg[0] ? err.msg :
		    "malformed");
		buf_free(&raw);
		return 0;
	}
	buf_free(&raw);
	same = sodium_memcmp(ours, hash, STORE_HASH_LEN) == 0;
	if (!same)
		snprintf(why, len, "peer's r%llu differs from ours",
		    (unsigned long long)rev);
	return same;
}

static void
diverged(struct push *x, const char *why)
{
	struct peer *p = x->p;

	pthread_mutex_lock(&x->d->mu);
	if (!p->diverged)
		log_warnx("%s: histories diverged, not pushing: %s",
		    p->info.name, why);
	p->diverged = 1;
	peer_error(p, "diverged: %s", why);
	pthread_cond_broadcast(&x->d->cv);
	pthread_mutex_unlock(&x->d->mu);
	peer_save(p);
}

/*
 * The peer refused what we sent (a commit failed its checks, or it
 * failed itself): a failure to report, not a peer to catch up later, and
 * retried only after a growing pause.
 */
static void
refused(struct push *x, const struct msg *m)
{
	struct peer *p = x->p;

	pthread_mutex_lock(&x->d->mu);
	if (!p->refused)
		log_warnx("%s: refused our commits (%s): %s", p->info.name,
		    proto_nack_name(m->reason), m->text);
	p->refused = 1;
	peer_error(p, "refused (%s): %s", proto_nack_name(m->reason),
	    m->text);
	pthread_cond_broadcast(&x->d->cv);
	pthread_mutex_unlock(&x->d->mu);
}

/*
 * Commits per batch: PROTO_BATCH_MAX, or fewer for tests that need a
 * catch-up of many batches without making thousands of commits
 * (CFGSTORE_TEST_BATCH, docs/PROTOCOL.md).
 */
static size_t
batch_max(void)
{
	const char *s = getenv("CFGSTORE_TEST_BATCH");
	long v;

	if (s == NULL || (v = strtol(s, NULL, 10)) < 1 || v > PROTO_BATCH_MAX)
		return PROTO_BATCH_MAX;
	return (size_t)v;
}

/* Reads commits from..to (at most a batch) into x->raws; the count. */
static int
load_batch(struct push *x, uint64_t from, uint64_t to, size_t *n,
    struct error *err)
{
	size_t i, cap = batch_max(), *offs;
	uint64_t rev;

	if (x->raws == NULL && (x->raws = calloc(PROTO_BATCH_MAX,
	    sizeof(*x->raws))) == NULL)
		return error_errno(err, ERR_FAIL, "batch");
	if ((offs = calloc(cap, sizeof(*offs))) == NULL)
		return error_errno(err, ERR_FAIL, "batch");
	buf_reset(&x->raw);
	for (i = 0, rev = from; rev <= to && i < cap; rev++, i++) {
		offs[i] = x->raw.len;
		if (store_commit_raw(x->d->s, rev, &x->raw, err) == -1) {
			free(offs);
			return -1;
		}
		/*
		 * Past the aimed-for size, this commit starts the next batch:
		 * a frame holds one commit of the largest size, not more.
		 */
		if (i > 0 && x->raw.len > PROTO_BATCH_BYTES) {
			x->raw.len = offs[i];
			break;
		}
	}
	*n = i;
	/* The buffer may have moved while growing: point into it now. */
	for (i = 0; i < *n; i++) {
		x->raws[i].data = x->raw.data + offs[i];
		x->raws[i].len = (i + 1 < *n ? offs[i + 1] : x->raw.len) -
		    offs[i];
	}
	free(offs);
	return 0;
}

/*
 * Sends what the peer lacks, one batch at a time, until it holds our
 * head.  Returns 0 when caught up, -1 when the session is over.
 */
static int
push_commits(struct push *x, struct error *err)
{
	struct peer *p = x->p;
	struct daemon *d = x->d;
	struct msg m;
	uint64_t head, acked, sent;
	unsigned char hash[STORE_HASH_LEN];
	char why[256];
	size_t n = 0;
	int more, gaps = 0;

	for (;;) {
		if (repl_head(d, &head, hash) == -1)
			return error_set(err, ERR_FAIL, "cannot read the head");
		pthread_mutex_lock(&d->mu);
		acked = p->rec.acked;
		pthread_mutex_unlock(&d->mu);
		if (acked >= head)
			return 0;
		if (load_batch(x, acked + 1, head, &n, err) == -1)
			return -1;
		more = acked + n < head;
		log_debug("%s: sending r%llu..r%llu%s", p->info.name,
		    (unsigned long long)acked + 1,
		    (unsigned long long)(acked + n), more ? " (more)" : "");
		sent = repl_mono_us();
		if (proto_commits(&x->out, head, more, x->raws, n) == -1 ||
		    send_msg(x->l, &x->out, err) == -1)
			return -1;
		/* A catch-up's batches must not stay resident. */
		if (x->raw.cap > (1u << 20)) {
			buf_free_secret(&x->raw);
			buf_free_secret(&x->out);
		}
		/* Pongs before the ack: the peer is still rendering. */
		for (;;) {
			if (recv_msg(x, &m, REPLY_MS, err) == -1)
				return -1;
			if (m.type != MSG_PONG)
				break;
			log_debug("%s: still rendering", p->info.name);
		}
		if (m.type == MSG_ACK) {
			/* It must now hold what we sent, as we hold it. */
			if (m.head < acked + n || !same_history(x, m.head,
			    m.hash, head, why, sizeof(why))) {
				if (m.head < acked + n)
					snprintf(why, sizeof(why), "acknowledged "
					    "r%llu after r%llu was sent",
					    (unsigned long long)m.head,
					    (unsigned long long)(acked + n));
				diverged(x, why);
				proto_msg_free(&m);
				return error_set(err, ERR_FAIL, "%s", why);
			}
			pthread_mutex_lock(&d->mu);
			p->rec.acked = p->rec.peer_head = m.head;
			p->rec.acked_ms = repl_now_ms();
			p->rec.error[0] = '\0';
			p->refused = 0;
			if (!more) {
				p->rendered = m.head;
				p->render_failed = m.failed;
				snprintf(p->summary, sizeof(p->summary), "%s",
				    m.text);
			}
			pthread_cond_broadcast(&d->cv);
			pthread_mutex_unlock(&d->mu);
			if (!more)
				log_info("%s: applied r%llu, %s", p->info.name,
				    (unsigned long long)m.head, m.text);
			log_debug("%s: r%llu..r%llu acknowledged %.3f ms after "
			    "sending", p->info.name, (unsigned long long)acked + 1,
			    (unsigned long long)(acked + n),
			    (double)(repl_mono_us() - sent) / 1000);
			if (!more || m.head >= head)
				peer_save(p);
			proto_msg_free(&m);
			continue;
		}
		if (m.type != MSG_NACK) {
			error_set(err, ERR_FAIL, "unexpected %s",
			    proto_type_name(m.type));
			proto_msg_free(&m);
			return -1;
		}
		if (m.reason == NACK_GAP && m.head < acked + 1 && ++gaps < 4) {
			/* It holds less than it said: start from its head. */
			log_info("%s: is at r%llu, resending from there",
			    p->info.name, (unsigned long long)m.head);
			pthread_mutex_lock(&d->mu);
			p->rec.acked = p->rec.peer_head = m.head;
			pthread_mutex_unlock(&d->mu);
			proto_msg_free(&m);
			continue;
		}
		if (m.reason == NACK_DIVERGED)
			diverged(x, m.text);
		else
			refused(x, &m);
		error_set(err, ERR_FAIL, "refused (%s): %s",
		    proto_nack_name(m.reason), m.text);
		proto_msg_free(&m);
		return -1;
	}
}

/* Waits until there is something to push, or it is time to ping. */
static int
idle(struct push *x, struct error *err)
{
	struct daemon *d = x->d;
	struct peer *p = x->p;
	struct timespec ts;
	struct msg m;
	int work, prep;

	pthread_mutex_lock(&d->mu);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += PING_MS / 1000;
	for (;;) {
		work = d->stop || p->quit || p->kick || !d->primary ||
		    d->head_hint > p->rec.acked;
		prep = prepare_wanted(p);
		if (work || prep ||
		    pthread_cond_timedwait(&d->cv, &d->mu, &ts) != 0)
			break;
	}
	p->kick = 0;
	pthread_mutex_unlock(&d->mu);
	/*
	 * An idle replica says nothing: readable now means it closed (or
	 * misbehaves), and commits sent now would only be sent again.
	 */
	if (chan_pending(x->l))
		return error_set(err, ERR_FAIL, "connection closed");
	if (work)
		return 0;
	/* A candidate to check: the verdict is the session's answer. */
	if (prep)
		return prepare_push(d, p, x->l, &x->in, err);
	if (proto_ping(&x->out) == -1 || send_msg(x->l, &x->out, err) == -1 ||
	    recv_msg(x, &m, REPLY_MS, err) == -1)
		return -1;
	proto_msg_free(&m);
	if (m.type != MSG_PONG)
		return error_set(err, ERR_FAIL, "unexpected %s to a ping",
		    proto_type_name(m.type));
	return 0;
}

/* One connection: handshake, hellos, then push and idle until it fails. */
static int
session(struct push *x, struct error *err)
{
	struct peer *p = x->p;
	struct daemon *d = x->d;
	struct msg m;
	uint64_t head, epoch, start;
	unsigned char hash[STORE_HASH_LEN];
	char why[256];

	/* Dialled and authenticated by the network process. */
	if (chan_dial(d, p, &x->l, err) == -1)
		return -1;
	if (repl_head(d, &head, hash) == -1 ||
	    store_epoch(d->s, &epoch, NULL, err) == -1)
		return error_set(err, ERR_FAIL, "cannot read the head");
	if (proto_hello(&x->out, d->node, ROLE_PRIMARY, head, hash,
	    epoch) == -1 || send_msg(x->l, &x->out, err) == -1)
		return -1;
	if (recv_msg(x, &m, REPLY_MS, err) == -1)
		return error_wrap(err, "waiting for hello (is our key among "
		    "its peers?)");
	proto_msg_free(&m);
	if (m.type == MSG_NACK) {
		if (m.reason == NACK_DIVERGED)
			diverged(x, m.text);
		else
			refused(x, &m);
		return error_set(err, ERR_FAIL, "refused (%s): %s",
		    proto_nack_name(m.reason), m.text);
	}
	if (m.type != MSG_HELLO || m.version != PROTO_VERSION)
		return error_set(err, ERR_FAIL, "expected hello version %d",
		    PROTO_VERSION);
	if (strcmp(m.node, p->info.name) != 0)
		log_warnx("%s: calls itself %s", p->info.name, m.node);
	/* A newer epoch, whoever tells of it: this node is primary no more. */
	if (m.epoch > epoch) {
		repl_fence(d, m.epoch, m.role == ROLE_PRIMARY ? p->info.name :
		    "", p->info.name);
		return error_set(err, ERR_FENCED, "it is at epoch %llu, above "
		    "our %llu", (unsigned long long)m.epoch,
		    (unsigned long long)epoch);
	}
	if (m.role == ROLE_PRIMARY)
		return error_set(err, ERR_FAIL, "it says it is a primary too");
	/*
	 * A follower of an older epoch takes our history from the promote
	 * that ended its epoch: what it holds after that revision's parent
	 * moves to its diverged branch.
	 */
	start = 0;
	if (m.epoch < epoch &&
	    !same_history(x, m.head, m.hash, head, why, sizeof(why)) &&
	    store_epoch_start(d->s, m.epoch, &start, NULL) == 0) {
		log_info("%s: at epoch %llu on another history: sending from "
		    "r%llu, the promote that ended its epoch", p->info.name,
		    (unsigned long long)m.epoch, (unsigned long long)start);
		m.head = start - 1;
	} else if (!same_history(x, m.head, m.hash, head, why, sizeof(why))) {
		diverged(x, why);
		if (proto_nack(&x->out, NACK_DIVERGED, head, hash, why) == 0)
			send_msg(x->l, &x->out, NULL);
		return error_set(err, ERR_FAIL, "diverged: %s", why);
	}
	pthread_mutex_lock(&d->mu);
	p->connected = 1;
	d->reached = 1;
	p->diverged = 0;
	p->rec.acked = p->rec.peer_head = m.head;
	if (m.head >= head) {
		/* Nothing to send: it holds all we could wait for. */
		if (p->rendered < m.head)
			p->rendered = m.head;
		p->refused = 0;
	}
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	log_info("%s: connected (%s), at r%llu of r%llu", p->info.name,
	    p->info.addr, (unsigned long long)m.head,
	    (unsigned long long)head);
	while (!stopping(x)) {
		if (push_commits(x, err) == -1 || idle(x, err) == -1)
			return -1;
	}
	return 0;
}

void *
push_main(void *arg)
{
	struct peer *p = arg;
	struct daemon *d = p->d;
	struct push x;
	struct error err;
	struct timespec ts;
	uint64_t backoff = BACKOFF_MIN_MS, wait, started;
	uint64_t refused_wait = REFUSED_RETRY_MIN_MS;
	char last[ERROR_MSG_MAX] = "";
	int was_up, rc;

	memset(&x, 0, sizeof(x));
	x.p = p;
	x.d = d;
	/* Commits may carry secrets (dhcpd.key): never left in freed memory. */
	buf_secret(&x.out);
	buf_secret(&x.in);
	buf_secret(&x.raw);
	while (!quitting(&x)) {
		error_clear(&err);
		started = repl_mono_ms();
		rc = session(&x, &err);
		pthread_mutex_lock(&d->mu);
		/*
		 * Fenced, this node follows: the peer's session may be an
		 * inbound one now (inbound.c, claim), not ours to clear.
		 */
		was_up = 0;
		if (p->ch == NULL || p->ch == x.l) {
			was_up = p->connected;
			p->connected = 0;
			p->ch = NULL;
		}
		if (rc == -1 && !d->stop && !p->quit) {
			/*
			 * Only a failed attempt says "unreachable"; a session
			 * that drops is retried at once and judged on that.
			 */
			if (!was_up)
				p->fails++;
			if (!p->diverged)
				peer_error(p, "%s", err.msg);
		}
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		chan_close(x.l);
		x.l = NULL;
		if (quitting(&x))
			break;
		/* Each new reason once at warning level, repeats as debug. */
		if (was_up)
			log_warnx("%s: disconnected: %s", p->info.name, err.msg);
		else if (strcmp(err.msg, last) != 0)
			log_warnx("%s: %s", p->info.name, err.msg);
		else
			log_debug("%s: %s", p->info.name, err.msg);
		snprintf(last, sizeof(last), "%s", was_up ? "" : err.msg);
		peer_save(p);
		/* A session that lasted is retried at once, then backs off. */
		if (was_up && repl_mono_ms() - started > 1000) {
			backoff = BACKOFF_MIN_MS;
			wait = 0;
		} else {
			wait = backoff;
			if (backoff < BACKOFF_MAX_MS)
				backoff *= 2;
		}
		if (p->diverged)
			wait = DIVERGED_RETRY_MS;
		else if (p->refused) {
			wait = refused_wait;
			if (refused_wait < REFUSED_RETRY_MAX_MS)
				refused_wait *= 2;
		} else
			refused_wait = REFUSED_RETRY_MIN_MS;
		repl_deadline(&ts, wait);
		pthread_mutex_lock(&d->mu);
		/* Fenced: idle until promoted again (or the end). */
		while (!d->stop && !p->quit && !d->primary)
			pthread_cond_wait(&d->cv, &d->mu);
		/* A new commit cuts the wait short, unless refused. */
		while (!d->stop && !p->quit && d->primary &&
		    !(p->kick && !p->diverged && !p->refused) &&
		    pthread_cond_timedwait(&d->cv, &d->mu, &ts) == 0)
			;
		p->kick = 0;
		pthread_mutex_unlock(&d->mu);
	}
	/* Commits may carry secrets (dhcpd.key): wipe, not just free. */
	buf_free_secret(&x.out);
	buf_free_secret(&x.in);
	buf_free_secret(&x.raw);
	free(x.raws);
	return NULL;
}
