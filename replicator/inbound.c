/*
 * inbound.c - a replica's side of one connection: the handshake, the
 * hellos, then every change set applied through store_apply, which checks
 * each commit's signature against the keys this node trusts before it
 * decodes anything, and its place in the history before it applies it.
 *
 * Whatever is refused is logged with the reason and answered with a nack;
 * the store is never changed by anything but store_apply.
 *
 * Each session is a state machine in d->insess that the loop steps every
 * turn: it waits for the hello, serves messages, waits for the render an
 * ack must follow, or for a prepare's checks (check.c); while it waits
 * for either, a pong every KEEPALIVE_MS tells the primary it is alive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "repl_int.h"

/* Where a session is: what it waits for. */
enum in_state {
	IN_HELLO,		/* the primary's hello, within REPLY_MS */
	IN_SERVING,		/* its messages; silence for IDLE_MS ends it */
	IN_RENDERING,		/* a render before the ack: pongs meanwhile */
	IN_CHECKING,		/* a prepare's checks: pongs meanwhile */
};

struct in_session {
	struct daemon	*d;
	struct peer	*p;
	struct chan	*l;
	const char	*name;
	struct buf	 in, out;
	uint64_t	 epoch;		/* the peer's, from its hello */
	uint64_t	 session;	/* the peer's live one, 0: not claimed */
	int		 primary_ok;	/* the peer is our primary */
	enum in_state	 state;
	uint64_t	 deadline;	/* of the hello, or of the silence */
	uint64_t	 pong_at;	/* rendering or checking: next pong */
	/* Rendering: the ack to send once the render covers head. */
	uint64_t	 head;
	unsigned char	 hash[STORE_HASH_LEN];
	size_t		 applied;
	struct check_job *job;		/* checking */
	struct in_session *next;
};

static int
nack(struct in_session *x, enum proto_nack why, const char *text)
{
	unsigned char hash[STORE_HASH_LEN];
	uint64_t head;
	struct error err = { 0 };

	if (repl_head(x->d, &head, hash) == -1)
		return -1;
	if (proto_nack(&x->out, why, head, hash, text) == -1 ||
	    send_msg(x->l, &x->out, &err) == -1)
		return -1;
	return 0;
}

static void
note_error(struct in_session *x, const char *what, const char *why)
{
	peer_error(x->p, "%s: %s", what, why);
	peer_save(x->p);
}

static void
revs(char *out, size_t len, const struct msg *m)
{
	/* Only the count: nothing of an unverified commit is decoded here. */
	snprintf(out, len, "%zu commit%s", m->nraws, m->nraws == 1 ? "" : "s");
}

/*
 * Whether the peer on this link is our primary.  Any peer's key is
 * trusted for the link; but a replica takes its history from one node
 * only: the primary of the epoch it holds, or one that says it is the
 * primary of a later epoch (its first commit is then the promote, which
 * the store checks).  Before it holds anything, the only peer, else
 * whichever trusted peer says it is the primary first.
 */
static int
is_primary(struct in_session *x, char *why, size_t len)
{
	struct error err = { 0 };
	struct peer_info *peers = NULL;
	unsigned char pk[STORE_PUBKEY_LEN];
	char name[STORE_NODE_MAX + 1] = "another key";
	uint64_t head, epoch;
	size_t n = 0;

	if (repl_head(x->d, &head, NULL) == -1 ||
	    store_epoch(x->d->s, &epoch, pk, &err) == -1) {
		snprintf(why, len, "cannot read the head");
		return 0;
	}
	if (head == 0) {
		if (store_peers(x->d->s, &peers, &n, &err) == 0 && n > 1)
			log_info("%s: no history here yet: taking it from %s",
			    x->name, x->name);
		free(peers);
		return 1;
	}
	if (x->epoch > epoch || sodium_memcmp(pk, chan_peer_key(x->l),
	    STORE_PUBKEY_LEN) == 0)
		return 1;
	store_trusts(x->d->s, pk, name, sizeof(name));
	snprintf(why, len, "%s is not our primary: the primary of epoch %llu "
	    "is %s", x->name, (unsigned long long)epoch, name);
	return 0;
}

/* Commits on the diverged branch; 0 when that cannot be read. */
static size_t
diverged_count(struct daemon *d)
{
	size_t n = 0;

	if (store_diverged_count(d->s, &n, NULL) == -1)
		return 0;
	return n;
}

/* What a session says when it ends for want of its peer, as it waited. */
static void
log_end(const struct in_session *x, const char *why)
{
	switch (x->state) {
	case IN_HELLO:
		log_warnx("%s: waiting for hello: %s", x->name, why);
		break;
	case IN_SERVING:
		log_info("%s: session ended: %s", x->name, why);
		break;
	case IN_RENDERING:
		/* Stopping ends the render's wait: the ack finds it over. */
		log_warnx("%s: sending ack: %s", x->name, why);
		break;
	case IN_CHECKING:
		log_warnx("%s: sending keepalive: %s", x->name, why);
		break;
	}
}

/* Back to the primary's messages, its silence counted from now. */
static void
serving(struct in_session *x)
{
	x->state = IN_SERVING;
	x->deadline = repl_mono_ms() + IDLE_MS;
}

/* While we render or check, a pong every so often says we are alive. */
static int
keepalive(struct in_session *x, uint64_t now)
{
	struct error err = { 0 };

	if (now >= x->pong_at) {
		if (proto_pong(&x->out) == -1 ||
		    send_msg(x->l, &x->out, &err) == -1) {
			log_warnx("%s: sending keepalive: %s", x->name,
			    err.msg);
			return -1;
		}
		x->pong_at = repl_mono_ms() + KEEPALIVE_MS;
	}
	loop_at(x->d, x->pong_at);
	return 0;
}

/* The ack of a change set, and what it tells of the peer. */
static int
ack(struct in_session *x, uint64_t head,
    const unsigned char hash[STORE_HASH_LEN], size_t applied, int more,
    const char *summary, int failed)
{
	struct error err = { 0 };

	if (proto_ack(&x->out, head, hash, failed, summary) == -1 ||
	    send_msg(x->l, &x->out, &err) == -1) {
		log_warnx("%s: sending ack: %s", x->name, err.msg);
		return -1;
	}
	x->p->rec.acked = head;
	x->p->rec.acked_ms = repl_now_ms();
	if (applied > 0)
		x->p->rec.error[0] = '\0';
	daemon_changed(x->d);
	if (!more && applied > 0)
		log_info("%s: applied r%llu, %s", x->name,
		    (unsigned long long)head, summary);
	if (!more)
		peer_save(x->p);
	return 0;
}

/* One change set.  Returns -1 when the session should end. */
static int
commits(struct in_session *x, const struct msg *m)
{
	struct daemon *d = x->d;
	struct error err = { 0 };
	enum store_apply_result res;
	unsigned char hash[STORE_HASH_LEN];
	char what[64];
	uint64_t head;
	size_t applied = 0, before, moved;
	int rc;
	char why[256];

	/*
	 * Asked at the first change set, not at hello: a primary on
	 * another history learns from our hello that we diverged.
	 */
	if (!x->primary_ok && !is_primary(x, why, sizeof(why))) {
		log_warnx("%s: refused a change set: %s", x->name, why);
		note_error(x, "refused", why);
		nack(x, NACK_REJECTED, why);
		return -1;
	}
	x->primary_ok = 1;
	/* Each commit's signer is the store's to check: its epoch's primary. */
	before = diverged_count(d);
	rc = store_apply(d->s, m->raws, m->nraws, &applied, &res, &err);
	moved = diverged_count(d) - before;
	if (moved > 0) {
		log_warnx("%s: took its history from its promote on: %zu "
		    "commit%s of ours moved to the diverged branch (cfgstore "
		    "log --diverged)", x->name, moved, moved == 1 ? "" : "s");
		render_rewind(d);
	}
	if (rc == -1) {
		log_warnx("%s: applying a change set: %s", x->name, err.msg);
		note_error(x, "apply", err.msg);
		nack(x, NACK_ERROR, err.msg);
		return -1;
	}
	if (repl_head(d, &head, hash) == -1)
		return -1;
	if (m->head > x->p->rec.peer_head)
		x->p->rec.peer_head = m->head;
	/* A catch-up renders at its last batch only: untrusted till then. */
	if (applied > 0 && m->more && head > d->catchup)
		d->catchup = head;
	revs(what, sizeof(what), m);
	switch (res) {
	case APPLY_OK:
	case APPLY_DUPLICATE:
		if (applied == 0)
			log_info("%s: %s already held: no effect", x->name,
			    what);
		else
			log_debug("%s: applied %zu of %s, head r%llu%s",
			    x->name, applied, what, (unsigned long long)head,
			    m->more ? ", more to come" : "");
		/* In the middle of a catch-up only the last batch renders. */
		if (m->more)
			return ack(x, head, hash, applied, 1, "", 0);
		/*
		 * Restarts may take minutes: while they run, a pong every
		 * few seconds tells the primary we are alive (rendered()).
		 */
		x->head = head;
		memcpy(x->hash, hash, sizeof(x->hash));
		x->applied = applied;
		x->pong_at = repl_mono_ms() + KEEPALIVE_MS;
		x->state = IN_RENDERING;
		render_kick(d, head);
		return 0;
	case APPLY_GAP:
		log_info("%s: out of order: %s; asking for r%llu on", x->name,
		    err.msg, (unsigned long long)head + 1);
		if (applied > 0)
			render_kick(d, head);
		return nack(x, NACK_GAP, err.msg);
	case APPLY_DIVERGED:
		log_warnx("%s: refused a change set: %s", x->name, err.msg);
		note_error(x, "diverged", err.msg);
		if (applied > 0)
			render_kick(d, head);
		nack(x, NACK_DIVERGED, err.msg);
		return -1;
	case APPLY_REJECTED:
	default:
		log_warnx("%s: rejected a change set: %s", x->name, err.msg);
		note_error(x, "rejected", err.msg);
		if (applied > 0)
			render_kick(d, head);
		nack(x, NACK_REJECTED, err.msg);
		return -1;
	}
}

/* Rendering: the ack once the render covers the change set. */
static int
rendered(struct in_session *x, uint64_t now)
{
	char summary[PROTO_TEXT_MAX + 1] = "";
	int failed = 0;

	if (!render_covers(x->d, x->head, summary, sizeof(summary), &failed))
		return keepalive(x, now);
	if (ack(x, x->head, x->hash, x->applied, 0, summary, failed) == -1)
		return -1;
	serving(x);
	return 0;
}

/* The verdict check.c put in x->out; empty when it could not be encoded. */
static int
send_verdict(struct in_session *x)
{
	struct error err = { 0 };

	if (x->out.len == 0 || send_msg(x->l, &x->out, &err) == -1) {
		log_warnx("%s: sending verdict: %s", x->name, err.msg);
		return -1;
	}
	return 0;
}

/* A candidate to check: from our primary only, as change sets are. */
static int
prepare(struct in_session *x, const struct msg *m)
{
	char why[256];

	if (!x->primary_ok && !is_primary(x, why, sizeof(why))) {
		log_warnx("%s: refused a prepare: %s", x->name, why);
		nack(x, NACK_REJECTED, why);
		return -1;
	}
	x->primary_ok = 1;
	/* Not at the base, or no job: the verdict is ready at once. */
	if (check_start(x->d, x->name, m, &x->job, &x->out) == -1)
		return send_verdict(x);
	x->pong_at = repl_mono_ms() + KEEPALIVE_MS;
	x->state = IN_CHECKING;
	return 0;
}

/* Checking: the verdict once the checks ended. */
static int
checked(struct in_session *x, uint64_t now)
{
	if (!check_poll(x->job, &x->out))
		return keepalive(x, now);
	check_free(x->job);
	x->job = NULL;
	if (send_verdict(x) == -1)
		return -1;
	serving(x);
	return 0;
}

/*
 * The newest session is the peer's: the old one is likely half dead.  On
 * the primary the peer's session is our push's, left alone; one there
 * only tells an older primary our epoch, unless it fences us.
 */
static void
claim(struct in_session *x)
{
	if (x->p->ch != NULL)
		chan_kill(x->p->ch, "replaced by a newer session");
	x->p->ch = x->l;
	x->session = ++x->p->session;
	x->p->connected = 1;
	daemon_changed(x->d);
}

/* Waiting for the primary's hello, then ours in reply. */
static int
hello(struct in_session *x, uint64_t now)
{
	struct daemon *d = x->d;
	struct error err = { 0 };
	struct msg m;
	unsigned char hash[STORE_HASH_LEN];
	uint64_t head, epoch;
	int rc, primary;

	if ((rc = chan_wait(x->l, &x->in, now, x->deadline, &err)) != 1) {
		if (rc == -1)
			log_end(x, err.msg);
		return rc;
	}
	if (proto_decode(x->in.data, x->in.len, &m, &err) == -1) {
		log_warnx("%s: waiting for hello: %s", x->name, err.msg);
		return -1;
	}
	proto_msg_free(&m);
	if (m.type != MSG_HELLO || m.version != PROTO_VERSION ||
	    m.role != ROLE_PRIMARY) {
		log_warnx("%s: expected a primary's hello version %d, got %s",
		    x->name, PROTO_VERSION, proto_type_name(m.type));
		return -1;
	}
	x->epoch = m.epoch;
	/* A primary of a newer epoch: if we were the primary, no longer. */
	repl_fence(d, m.epoch, x->name, x->name);
	x->p->rec.peer_head = m.head;
	daemon_changed(d);		/* behind: demote.c */
	primary = d->primary;
	if (!primary && x->session == 0)
		claim(x);
	/* Kept at once: a restart after a crash knows it is behind. */
	peer_save(x->p);
	if (repl_head(d, &head, hash) == -1 ||
	    store_epoch(d->s, &epoch, NULL, &err) == -1 ||
	    proto_hello(&x->out, d->node, primary ? ROLE_PRIMARY :
	    ROLE_REPLICA, head, hash, epoch) == -1 ||
	    send_msg(x->l, &x->out, &err) == -1)
		return -1;
	/*
	 * Our hello told it of our epoch: an older primary fences itself,
	 * and is back and listening, so our push to it need not wait.
	 */
	if (primary) {
		log_warnx("%s: dialled us as the primary of epoch %llu; we are "
		    "the primary of epoch %llu", x->name,
		    (unsigned long long)m.epoch, (unsigned long long)epoch);
		x->p->kick = 1;
		daemon_changed(d);
		return -1;
	}
	log_info("%s: connected, we are at r%llu of r%llu", x->name,
	    (unsigned long long)head, (unsigned long long)m.head);
	serving(x);
	return 0;
}

/* The primary's messages, each handled as it comes, while we serve. */
static int
serve(struct in_session *x, uint64_t now)
{
	struct error err = { 0 };
	struct msg m;
	int rc;

	while (x->state == IN_SERVING) {
		/* The primary pings when idle: silence means it is gone. */
		if ((rc = chan_wait(x->l, &x->in, now, x->deadline,
		    &err)) != 1) {
			if (rc == -1)
				log_end(x, err.msg);
			return rc;
		}
		if (proto_decode(x->in.data, x->in.len, &m, &err) == -1) {
			log_warnx("%s: malformed message: %s", x->name,
			    err.msg);
			return -1;
		}
		switch (m.type) {
		case MSG_COMMITS:
			rc = commits(x, &m);
			break;
		case MSG_PING:
			rc = proto_pong(&x->out) == -1 ? -1 :
			    send_msg(x->l, &x->out, &err);
			break;
		case MSG_PREPARE:
			rc = prepare(x, &m);
			break;
		case MSG_NACK:
			log_warnx("%s: refuses us (%s): %s", x->name,
			    proto_nack_name(m.reason), m.text);
			note_error(x, proto_nack_name(m.reason), m.text);
			rc = -1;
			break;
		default:
			log_warnx("%s: unexpected %s message", x->name,
			    proto_type_name(m.type));
			rc = -1;
			break;
		}
		proto_msg_free(&m);
		/* One huge change set must not keep its memory for good. */
		if (x->in.cap > (1u << 20))
			buf_free_secret(&x->in);
		if (rc == -1)
			return -1;
		x->deadline = repl_mono_ms() + IDLE_MS;
	}
	return 0;
}

/*
 * As far as the session can go this turn: each state's handler either
 * moves it on, and the next state's runs at once, or says what it waits
 * for (loop_at) and leaves it.  -1: it is over.
 */
static int
run(struct in_session *x, uint64_t now)
{
	enum in_state was;
	int rc;

	do {
		was = x->state;
		switch (x->state) {
		case IN_HELLO:
			rc = hello(x, now);
			break;
		case IN_SERVING:
			rc = serve(x, now);
			break;
		case IN_RENDERING:
			rc = rendered(x, now);
			break;
		case IN_CHECKING:
			rc = checked(x, now);
			break;
		default:
			rc = -1;
			break;
		}
	} while (rc == 0 && x->state != was);
	return rc;
}

/* Frees a session that is over (unlinked from d->insess already). */
static void
finish(struct in_session *x)
{
	struct daemon *d = x->d;
	uint64_t head;

	/* Checks still running end on their own and are freed then. */
	check_free(x->job);
	/* A catch-up cut short still gets its render. */
	if (!d->stop && repl_head(d, &head, NULL) == 0)
		render_kick(d, head);
	if (x->session != 0 && x->p->session == x->session) {
		x->p->ch = NULL;
		x->p->connected = 0;
	}
	peer_save(x->p);
	chan_close(x->l);
	/* Decrypted change sets may carry secrets: wipe, not just free. */
	buf_free_secret(&x->in);
	buf_free(&x->out);
	free(x);
	d->ninbound--;
	daemon_changed(d);
}

void
inbound_new(struct daemon *d, struct chan *c)
{
	struct in_session *x;
	struct peer *p;

	if ((p = peer_find(d, chan_peer_name(c))) == NULL) {
		log_warnx("connection from %s: %s is no longer a peer",
		    chan_from(c), chan_peer_name(c));
		chan_close(c);
		return;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		log_warn("%s: session from %s", chan_peer_name(c),
		    chan_from(c));
		chan_close(c);
		return;
	}
	x->d = d;
	x->p = p;
	x->l = c;
	x->name = chan_peer_name(c);
	/* Decrypted change sets may carry secrets: never left unwiped. */
	buf_secret(&x->in);
	x->state = IN_HELLO;
	x->deadline = repl_mono_ms() + REPLY_MS;
	d->reached = 1;
	if (!d->primary)
		claim(x);
	x->next = d->insess;
	d->insess = x;
	d->ninbound++;
	daemon_changed(d);
	log_debug("%s: session from %s", x->name, chan_from(c));
}

void
inbound_step(struct daemon *d, uint64_t now)
{
	struct in_session **xp, *x;

	for (xp = &d->insess; (x = *xp) != NULL; ) {
		if (run(x, now) == -1) {
			*xp = x->next;
			finish(x);
		} else
			xp = &x->next;
	}
}

void
inbound_stop_all(struct daemon *d)
{
	struct in_session *x;

	while ((x = d->insess) != NULL) {
		d->insess = x->next;
		/* Its reason stays if it was over already. */
		chan_kill(x->l, "stopping");
		log_end(x, chan_why(x->l));
		finish(x);
	}
}
