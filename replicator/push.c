/*
 * push.c - the primary's side: for each peer a state machine that
 * connects, learns the peer's head, and sends it every commit it lacks,
 * in batches.  The loop (daemon.c) runs every peer's each turn through
 * push_step; nothing here blocks: a state does what it can, says by
 * loop_at when its wait runs out, and returns.
 *
 * The peer's head decides what is sent, never our own bookkeeping: a peer
 * restored from a backup, or one that missed a thousand commits, is
 * brought up to date the same way as one that missed none.
 */
#include <inttypes.h>
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

/* What the dial waits for: the connect, the handshake, and some slack. */
#define DIAL_WAIT_MS	(DIAL_MS + LINK_HANDSHAKE_MS + 2000)
/* States run per peer and turn; the rest waits for the next turn. */
#define STEP_BUDGET	32

enum push_state {
	PUSH_START,	/* no session: dial when the primary */
	PUSH_DIALING,	/* the network process connects, authenticates */
	PUSH_HELLO,	/* our hello sent: waiting for the peer's */
	PUSH_ROUND,	/* connected: push, unless no longer primary */
	PUSH_SEND,	/* the next batch out, or idle: it has all */
	PUSH_ACK,	/* a batch sent: waiting for its ack (or pongs) */
	PUSH_IDLE,	/* caught up: work, a prepare, or ping time */
	PUSH_PONG,	/* a ping sent: waiting for the pong */
	PUSH_VERDICT,	/* a prepare sent: waiting for its verdict */
	PUSH_BACKOFF,	/* the session over: waiting to dial again */
};

struct push {
	struct peer	*p;
	struct daemon	*d;
	enum push_state	 state;
	struct chan	*l;		/* our session, or NULL */
	struct error	 err;		/* why the session ends */
	struct buf	 out, in;
	struct buf	 raw;		/* the batch's commits, end to end */
	struct store_raw *raws;
	uint64_t	 started;	/* the dial (monotonic) */
	uint64_t	 deadline;	/* of this state's wait */
	/* PUSH_HELLO, PUSH_ACK: our head when the message was sent */
	uint64_t	 head;
	unsigned char	 hash[STORE_HASH_LEN];
	uint64_t	 epoch;
	/* PUSH_ACK: the batch in flight */
	uint64_t	 acked;		/* the peer's head before it */
	size_t		 n;
	int		 more;
	uint64_t	 sent_us;
	int		 gaps;		/* resent from its lower head */
	/* PUSH_VERDICT */
	uint64_t	 prep_id;
	uint64_t	 prep_t0;
	/* Between sessions. */
	uint64_t	 backoff;
	uint64_t	 refused_wait;
	uint64_t	 retry_at;
	char		 last[ERROR_MSG_MAX];	/* the failure last logged */
};

/*
 * Takes one message and decodes it; the frame stays in x->in.  1 with
 * m, 0 when none came yet (the deadline registered), -1 and err when
 * the session is over, the message malformed, or the wait ran out.
 */
static int
recv_msg(struct push *x, struct msg *m, uint64_t now, struct error *err)
{
	int rc;

	if ((rc = chan_wait(x->l, &x->in, now, x->deadline, err)) != 1)
		return rc;
	if (proto_decode(x->in.data, x->in.len, m, err) == -1)
		return error_wrap(err, "malformed message");
	return 1;
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

	if (!p->diverged)
		log_warnx("%s: histories diverged, not pushing: %s",
		    p->info.name, why);
	p->diverged = 1;
	peer_error(p, "diverged: %s", why);
	daemon_changed(x->d);
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

	if (!p->refused)
		log_warnx("%s: refused our commits (%s): %s", p->info.name,
		    proto_nack_name(m->reason), m->text);
	p->refused = 1;
	peer_error(p, "refused (%s): %s", proto_nack_name(m->reason),
	    m->text);
	daemon_changed(x->d);
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

/* The prepare sent on this session gets no verdict: why, as its line. */
static void
prepare_lost(struct push *x, const char *why)
{
	struct buf text = { 0 };

	buf_printf(&text, "connection lost: %s\n", why);
	prepare_done(x->d, x->p, VERDICT_UNCHECKED, buf_detach(&text, NULL),
	    repl_mono_ms() - x->prep_t0);
	buf_free(&text);
}

/*
 * Lets the session go, the prepare in flight told why, and the peer's
 * session cleared unless an inbound one took its place (fenced, this
 * node follows: inbound.c, claim).  Whether the peer was connected.
 */
static int
session_release(struct push *x, const char *why)
{
	struct peer *p = x->p;
	int was_up = 0;

	if (x->state == PUSH_VERDICT)
		prepare_lost(x, why);
	if (p->ch == NULL || p->ch == x->l) {
		was_up = p->connected;
		p->connected = 0;
		p->ch = NULL;
	}
	chan_close(x->l);
	x->l = NULL;
	x->state = PUSH_START;
	return was_up;
}

/* Ends the session, if any, saying nothing: 1 when the peer's changed. */
static int
session_close(struct push *x, const char *why)
{
	int ours;

	if (x->l == NULL)
		return 0;
	ours = x->p->ch == x->l;
	return session_release(x, why) || ours;
}

/*
 * The session is over (rc -1: failed, x->err saying why; 0: this node
 * is no longer the primary): the peer's record, the log, and when to
 * dial again.
 */
static void
session_end(struct push *x, uint64_t now, int rc)
{
	struct peer *p = x->p;
	struct daemon *d = x->d;
	uint64_t wait;
	int was_up;

	was_up = session_release(x, x->err.msg);
	if (rc == -1 && !d->stop && !p->quit) {
		/*
		 * Only a failed attempt says "unreachable"; a session that
		 * drops is retried at once and judged on that.
		 */
		if (!was_up)
			p->fails++;
		if (!p->diverged)
			peer_error(p, "%s", x->err.msg);
	}
	daemon_changed(d);
	if (d->stop || p->quit)
		return;
	/* Each new reason once at warning level, repeats as debug. */
	if (was_up)
		log_warnx("%s: disconnected: %s", p->info.name, x->err.msg);
	else if (strcmp(x->err.msg, x->last) != 0)
		log_warnx("%s: %s", p->info.name, x->err.msg);
	else
		log_debug("%s: %s", p->info.name, x->err.msg);
	snprintf(x->last, sizeof(x->last), "%s", was_up ? "" : x->err.msg);
	peer_save(p);
	/* A session that lasted is retried at once, then backs off. */
	if (was_up && now - x->started > 1000) {
		x->backoff = BACKOFF_MIN_MS;
		wait = 0;
	} else {
		wait = x->backoff;
		if (x->backoff < BACKOFF_MAX_MS)
			x->backoff *= 2;
	}
	if (p->diverged)
		wait = DIVERGED_RETRY_MS;
	else if (p->refused) {
		wait = x->refused_wait;
		if (x->refused_wait < REFUSED_RETRY_MAX_MS)
			x->refused_wait *= 2;
	} else
		x->refused_wait = REFUSED_RETRY_MIN_MS;
	x->retry_at = now + wait;
	x->state = PUSH_BACKOFF;
}

/* A failure: the session ends with what x->err says. */
static int
fail(struct push *x, uint64_t now)
{
	session_end(x, now, -1);
	return 1;
}

/* PUSH_START: a session, dialled and authenticated by the network process. */
static int
dial(struct push *x, uint64_t now)
{
	if (!x->d->primary)
		return 0;
	error_clear(&x->err);
	x->started = now;
	if (chan_dial(x->d, x->p, &x->l, &x->err) == -1)
		return fail(x, now);
	x->deadline = now + DIAL_WAIT_MS;
	x->state = PUSH_DIALING;
	return 1;
}

/* Our hello, once the session is up. */
static int
send_hello(struct push *x, uint64_t now)
{
	struct daemon *d = x->d;

	if (repl_head(d, &x->head, x->hash) == -1 ||
	    store_epoch(d->s, &x->epoch, NULL, &x->err) == -1) {
		error_set(&x->err, ERR_FAIL, "cannot read the head");
		return fail(x, now);
	}
	if (proto_hello(&x->out, d->node, ROLE_PRIMARY, x->head, x->hash,
	    x->epoch) == -1 || send_msg(x->l, &x->out, &x->err) == -1)
		return fail(x, now);
	x->deadline = now + REPLY_MS;
	x->state = PUSH_HELLO;
	return 1;
}

/* PUSH_DIALING */
static int
dialing(struct push *x, uint64_t now)
{
	switch (chan_state(x->l)) {
	case CHAN_UP:
		return send_hello(x, now);
	case CHAN_DEAD:
		error_set(&x->err, ERR_FAIL, "%s", chan_why(x->l));
		return fail(x, now);
	case CHAN_DIALING:
		break;
	}
	if (now >= x->deadline) {
		error_set(&x->err, ERR_FAIL,
		    "no answer from the network process");
		return fail(x, now);
	}
	loop_at(x->d, x->deadline);
	return 0;
}

/* The peer's hello: 0 connected, -1 and err. */
static int
hello_reply(struct push *x, struct msg *m, struct error *err)
{
	struct peer *p = x->p;
	struct daemon *d = x->d;
	uint64_t head = x->head, epoch = x->epoch, start;
	char why[256];

	proto_msg_free(m);
	if (m->type == MSG_NACK) {
		if (m->reason == NACK_DIVERGED)
			diverged(x, m->text);
		else
			refused(x, m);
		return error_set(err, ERR_FAIL, "refused (%s): %s",
		    proto_nack_name(m->reason), m->text);
	}
	if (m->type != MSG_HELLO || m->version != PROTO_VERSION)
		return error_set(err, ERR_FAIL, "expected hello version %d",
		    PROTO_VERSION);
	if (strcmp(m->node, p->info.name) != 0)
		log_warnx("%s: calls itself %s", p->info.name, m->node);
	/* A newer epoch, whoever tells of it: this node is primary no more. */
	if (m->epoch > epoch) {
		repl_fence(d, m->epoch, m->role == ROLE_PRIMARY ?
		    p->info.name : "", p->info.name);
		return error_set(err, ERR_FENCED, "it is at epoch %llu, above "
		    "our %llu", (unsigned long long)m->epoch,
		    (unsigned long long)epoch);
	}
	if (m->role == ROLE_PRIMARY)
		return error_set(err, ERR_FAIL, "it says it is a primary too");
	/*
	 * A follower of an older epoch takes our history from the promote
	 * that ended its epoch: what it holds after that revision's parent
	 * moves to its diverged branch.
	 */
	start = 0;
	if (m->epoch < epoch &&
	    !same_history(x, m->head, m->hash, head, why, sizeof(why)) &&
	    store_epoch_start(d->s, m->epoch, &start, NULL) == 0) {
		log_info("%s: at epoch %llu on another history: sending from "
		    "r%llu, the promote that ended its epoch", p->info.name,
		    (unsigned long long)m->epoch, (unsigned long long)start);
		m->head = start - 1;
	} else if (!same_history(x, m->head, m->hash, head, why,
	    sizeof(why))) {
		diverged(x, why);
		if (proto_nack(&x->out, NACK_DIVERGED, head, x->hash,
		    why) == 0)
			send_msg(x->l, &x->out, NULL);
		return error_set(err, ERR_FAIL, "diverged: %s", why);
	}
	p->connected = 1;
	d->reached = 1;
	p->diverged = 0;
	p->rec.acked = p->rec.peer_head = m->head;
	if (m->head >= head) {
		/* Nothing to send: it holds all we could wait for. */
		if (p->rendered < m->head)
			p->rendered = m->head;
		p->refused = 0;
	}
	daemon_changed(d);
	log_info("%s: connected (%s), at r%llu of r%llu", p->info.name,
	    p->info.addr, (unsigned long long)m->head,
	    (unsigned long long)head);
	return 0;
}

/* PUSH_HELLO */
static int
hello_wait(struct push *x, uint64_t now)
{
	struct msg m;
	int rc;

	if ((rc = recv_msg(x, &m, now, &x->err)) == 0)
		return 0;
	if (rc == -1) {
		error_wrap(&x->err, "waiting for hello (is our key among "
		    "its peers?)");
		return fail(x, now);
	}
	if (hello_reply(x, &m, &x->err) == -1)
		return fail(x, now);
	x->state = PUSH_ROUND;
	return 1;
}

/* PUSH_ROUND: a fenced node's session ends here, without a failure. */
static int
round_start(struct push *x, uint64_t now)
{
	if (!x->d->primary) {
		session_end(x, now, 0);
		return 1;
	}
	x->gaps = 0;
	x->state = PUSH_SEND;
	return 1;
}

/*
 * PUSH_SEND: what the peer lacks, one batch at a time, until it holds
 * our head; then idle.
 */
static int
send_batch(struct push *x, uint64_t now)
{
	struct peer *p = x->p;
	uint64_t head, acked;
	unsigned char hash[STORE_HASH_LEN];
	size_t n = 0;
	int more;

	if (repl_head(x->d, &head, hash) == -1) {
		error_set(&x->err, ERR_FAIL, "cannot read the head");
		return fail(x, now);
	}
	acked = p->rec.acked;
	if (acked >= head) {
		/*
		 * A hint beyond the head (a history taken from a new
		 * primary's fork point) would call us back here each turn.
		 */
		if (x->d->head_hint > head)
			x->d->head_hint = head;
		x->deadline = now + PING_MS;
		x->state = PUSH_IDLE;
		return 1;
	}
	if (load_batch(x, acked + 1, head, &n, &x->err) == -1)
		return fail(x, now);
	more = acked + n < head;
	log_debug("%s: sending r%llu..r%llu%s", p->info.name,
	    (unsigned long long)acked + 1,
	    (unsigned long long)(acked + n), more ? " (more)" : "");
	x->sent_us = repl_mono_us();
	if (proto_commits(&x->out, head, more, x->raws, n) == -1 ||
	    send_msg(x->l, &x->out, &x->err) == -1)
		return fail(x, now);
	/* A catch-up's batches must not stay resident. */
	if (x->raw.cap > (1u << 20)) {
		buf_free_secret(&x->raw);
		buf_free_secret(&x->out);
	}
	x->head = head;
	x->acked = acked;
	x->n = n;
	x->more = more;
	x->deadline = now + REPLY_MS;
	x->state = PUSH_ACK;
	return 1;
}

/* The batch's ack: the peer holds what we sent. */
static int
batch_acked(struct push *x, uint64_t now, struct msg *m)
{
	struct peer *p = x->p;
	uint64_t acked = x->acked, head = x->head;
	size_t n = x->n;
	int more = x->more;
	char why[256];

	/* It must now hold what we sent, as we hold it. */
	if (m->head < acked + n || !same_history(x, m->head, m->hash, head,
	    why, sizeof(why))) {
		if (m->head < acked + n)
			snprintf(why, sizeof(why), "acknowledged r%llu after "
			    "r%llu was sent", (unsigned long long)m->head,
			    (unsigned long long)(acked + n));
		diverged(x, why);
		proto_msg_free(m);
		error_set(&x->err, ERR_FAIL, "%s", why);
		return fail(x, now);
	}
	p->rec.acked = p->rec.peer_head = m->head;
	p->rec.acked_ms = repl_now_ms();
	p->rec.error[0] = '\0';
	p->refused = 0;
	if (!more) {
		p->rendered = m->head;
		p->render_failed = m->failed;
		snprintf(p->summary, sizeof(p->summary), "%s", m->text);
	}
	daemon_changed(x->d);
	if (!more)
		log_info("%s: applied r%llu, %s", p->info.name,
		    (unsigned long long)m->head, m->text);
	log_debug("%s: r%llu..r%llu acknowledged %.3f ms after sending",
	    p->info.name, (unsigned long long)acked + 1,
	    (unsigned long long)(acked + n),
	    (double)(repl_mono_us() - x->sent_us) / 1000);
	if (!more || m->head >= head)
		peer_save(p);
	proto_msg_free(m);
	x->state = PUSH_SEND;
	return 1;
}

/* PUSH_ACK */
static int
ack_wait(struct push *x, uint64_t now)
{
	struct peer *p = x->p;
	struct msg m;
	int rc;

	if ((rc = recv_msg(x, &m, now, &x->err)) == 0)
		return 0;
	if (rc == -1)
		return fail(x, now);
	/* Pongs before the ack: the peer is still rendering. */
	if (m.type == MSG_PONG) {
		log_debug("%s: still rendering", p->info.name);
		x->deadline = now + REPLY_MS;
		return 1;
	}
	if (m.type == MSG_ACK)
		return batch_acked(x, now, &m);
	if (m.type != MSG_NACK) {
		error_set(&x->err, ERR_FAIL, "unexpected %s",
		    proto_type_name(m.type));
		proto_msg_free(&m);
		return fail(x, now);
	}
	if (m.reason == NACK_GAP && m.head < x->acked + 1 && ++x->gaps < 4) {
		/* It holds less than it said: start from its head. */
		log_info("%s: is at r%llu, resending from there",
		    p->info.name, (unsigned long long)m.head);
		p->rec.acked = p->rec.peer_head = m.head;
		proto_msg_free(&m);
		x->state = PUSH_SEND;
		return 1;
	}
	if (m.reason == NACK_DIVERGED)
		diverged(x, m.text);
	else
		refused(x, &m);
	error_set(&x->err, ERR_FAIL, "refused (%s): %s",
	    proto_nack_name(m.reason), m.text);
	proto_msg_free(&m);
	return fail(x, now);
}

/* A candidate to check: the verdict is the session's answer. */
static int
send_prepare(struct push *x, uint64_t now)
{
	const struct buf *msg;
	uint64_t id;

	if ((msg = prepare_take(x->p, &id)) == NULL) {
		x->state = PUSH_ROUND;
		return 1;
	}
	x->prep_id = id;
	x->prep_t0 = repl_mono_ms();
	/* From here on the prepare is answered, whatever happens. */
	x->state = PUSH_VERDICT;
	if (chan_send(x->l, msg, &x->err) == -1)
		return fail(x, now);
	x->deadline = now + REPLY_MS;
	return 1;
}

/* PUSH_IDLE: until there is something to push, or it is time to ping. */
static int
idle(struct push *x, uint64_t now)
{
	struct daemon *d = x->d;
	struct peer *p = x->p;
	int work, prep;

	work = d->stop || p->quit || p->kick || !d->primary ||
	    d->head_hint > p->rec.acked;
	prep = prepare_wanted(p);
	if (!work && !prep && now < x->deadline && !chan_pending(x->l)) {
		loop_at(d, x->deadline);
		return 0;
	}
	p->kick = 0;
	/*
	 * An idle replica says nothing: a frame now means it closed (or
	 * misbehaves), and commits sent now would only be sent again.
	 */
	if (chan_pending(x->l)) {
		error_set(&x->err, ERR_FAIL, "connection closed");
		return fail(x, now);
	}
	if (work) {
		x->state = PUSH_ROUND;
		return 1;
	}
	if (prep)
		return send_prepare(x, now);
	if (proto_ping(&x->out) == -1 ||
	    send_msg(x->l, &x->out, &x->err) == -1)
		return fail(x, now);
	x->deadline = now + REPLY_MS;
	x->state = PUSH_PONG;
	return 1;
}

/* PUSH_PONG */
static int
pong_wait(struct push *x, uint64_t now)
{
	struct msg m;
	int rc;

	if ((rc = recv_msg(x, &m, now, &x->err)) == 0)
		return 0;
	if (rc == -1)
		return fail(x, now);
	proto_msg_free(&m);
	if (m.type != MSG_PONG) {
		error_set(&x->err, ERR_FAIL, "unexpected %s to a ping",
		    proto_type_name(m.type));
		return fail(x, now);
	}
	x->state = PUSH_ROUND;
	return 1;
}

/* PUSH_VERDICT: pongs while it checks, as while it renders. */
static int
verdict_wait(struct push *x, uint64_t now)
{
	struct peer *p = x->p;
	struct buf text = { 0 };
	struct msg m;
	uint64_t ms;
	size_t i;
	int rc;

	if ((rc = recv_msg(x, &m, now, &x->err)) == 0)
		return 0;
	if (rc == -1)
		return fail(x, now);
	if (m.type != MSG_VERDICT || m.id != x->prep_id) {
		if (m.type != MSG_PONG) {
			error_set(&x->err, ERR_FAIL, "unexpected %s to a "
			    "prepare", proto_type_name(m.type));
			proto_msg_free(&m);
			return fail(x, now);
		}
		log_debug("%s: still checking", p->info.name);
		x->deadline = now + REPLY_MS;
		return 1;
	}
	for (i = 0; i < m.nlines; i++)
		buf_printf(&text, "%s\n", m.lines[i]);
	ms = repl_mono_ms() - x->prep_t0;
	log_info("%s: prepare %" PRIu64 ": %s after %" PRIu64 " ms",
	    p->info.name, x->prep_id, proto_verdict_name(m.status), ms);
	x->state = PUSH_ROUND;
	prepare_done(x->d, p, m.status, buf_detach(&text, NULL), ms);
	proto_msg_free(&m);
	buf_free(&text);
	return 1;
}

/*
 * PUSH_BACKOFF: fenced, idle until promoted again; a new commit cuts
 * the wait short, unless the peer diverged or refused.
 */
static int
backoff_wait(struct push *x, uint64_t now)
{
	struct peer *p = x->p;

	if (!x->d->primary)
		return 0;
	if (!(p->kick && !p->diverged && !p->refused) &&
	    now < x->retry_at) {
		loop_at(x->d, x->retry_at);
		return 0;
	}
	p->kick = 0;
	x->state = PUSH_START;
	return 1;
}

/* Runs x's state once: 1 when it moved on, 0 when it waits. */
static int
run(struct push *x, uint64_t now)
{
	switch (x->state) {
	case PUSH_START:
		return dial(x, now);
	case PUSH_DIALING:
		return dialing(x, now);
	case PUSH_HELLO:
		return hello_wait(x, now);
	case PUSH_ROUND:
		return round_start(x, now);
	case PUSH_SEND:
		return send_batch(x, now);
	case PUSH_ACK:
		return ack_wait(x, now);
	case PUSH_IDLE:
		return idle(x, now);
	case PUSH_PONG:
		return pong_wait(x, now);
	case PUSH_VERDICT:
		return verdict_wait(x, now);
	case PUSH_BACKOFF:
		return backoff_wait(x, now);
	}
	return 0;
}

static struct push *
push_new(struct daemon *d, struct peer *p)
{
	struct push *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->p = p;
	x->d = d;
	x->state = PUSH_START;
	x->backoff = BACKOFF_MIN_MS;
	x->refused_wait = REFUSED_RETRY_MIN_MS;
	/* Commits may carry secrets (dhcpd.key): never in freed memory. */
	buf_secret(&x->out);
	buf_secret(&x->in);
	buf_secret(&x->raw);
	return x;
}

void
push_step(struct daemon *d, uint64_t now)
{
	struct peer *p;
	size_t i;
	int n;

	for (i = 0; i < d->npeers; i++) {
		p = d->peers[i];
		if (d->stop || p->quit) {
			push_stop(p);
			continue;
		}
		/* A node that was never the primary pushes nothing. */
		if (p->push == NULL) {
			if (!d->primary)
				continue;
			if ((p->push = push_new(d, p)) == NULL) {
				log_warn("%s: push", p->info.name);
				continue;
			}
		}
		for (n = 0; n < STEP_BUDGET; n++)
			if (!run(p->push, now))
				break;
		/* More to do than one turn takes: the next goes on. */
		if (n == STEP_BUDGET)
			loop_at(d, now);
	}
}

void
push_stop(struct peer *p)
{
	if (p->push != NULL && session_close(p->push, "stopping"))
		daemon_changed(p->d);
}

void
push_free(struct peer *p)
{
	struct push *x = p->push;

	if (x == NULL)
		return;
	session_close(x, "stopping");
	/* Commits may carry secrets (dhcpd.key): wipe, not just free. */
	buf_free_secret(&x->out);
	buf_free_secret(&x->in);
	buf_free_secret(&x->raw);
	free(x->raws);
	free(x);
	p->push = NULL;
}
