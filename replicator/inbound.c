/*
 * inbound.c - a replica's side of one connection: the handshake, the
 * hellos, then every change set applied through store_apply, which checks
 * each commit's signature against the keys this node trusts before it
 * decodes anything, and its place in the history before it applies it.
 *
 * Whatever is refused is logged with the reason and answered with a nack;
 * the store is never changed by anything but store_apply.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "repl_int.h"

struct in_session {
	struct daemon	*d;
	struct peer	*p;
	struct chan	*l;
	const char	*name;
	struct buf	 in, out;
	uint64_t	 epoch;		/* the peer's, from its hello */
	uint64_t	 session;	/* the peer's live one, 0: not claimed */
	int		 primary_ok;	/* the peer is our primary */
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
	pthread_mutex_lock(&x->d->mu);
	peer_error(x->p, "%s: %s", what, why);
	pthread_mutex_unlock(&x->d->mu);
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

/* One change set.  Returns -1 when the session should end. */
static int
commits(struct in_session *x, const struct msg *m)
{
	struct daemon *d = x->d;
	struct error err = { 0 };
	enum store_apply_result res;
	unsigned char hash[STORE_HASH_LEN];
	char summary[PROTO_TEXT_MAX + 1] = "", what[64];
	uint64_t head;
	size_t applied = 0, before, moved;
	int rc, failed = 0;
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
	pthread_mutex_lock(&d->wmu);
	before = diverged_count(d);
	rc = store_apply(d->s, m->raws, m->nraws, &applied, &res, &err);
	moved = diverged_count(d) - before;
	pthread_mutex_unlock(&d->wmu);
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
	pthread_mutex_lock(&d->mu);
	if (m->head > x->p->rec.peer_head)
		x->p->rec.peer_head = m->head;
	/* A catch-up renders at its last batch only: untrusted till then. */
	if (applied > 0 && m->more && head > d->catchup)
		d->catchup = head;
	pthread_mutex_unlock(&d->mu);
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
		/*
		 * In the middle of a catch-up only the last batch renders.
		 * Restarts may take minutes: while they run, a pong every
		 * few seconds tells the primary we are alive.
		 */
		while (!m->more && !render_wait_for(d, head, KEEPALIVE_MS,
		    summary, sizeof(summary), &failed)) {
			if (proto_pong(&x->out) == -1 ||
			    send_msg(x->l, &x->out, &err) == -1) {
				log_warnx("%s: sending keepalive: %s", x->name,
				    err.msg);
				return -1;
			}
		}
		if (proto_ack(&x->out, head, hash, failed, summary) == -1 ||
		    send_msg(x->l, &x->out, &err) == -1) {
			log_warnx("%s: sending ack: %s", x->name, err.msg);
			return -1;
		}
		pthread_mutex_lock(&d->mu);
		x->p->rec.acked = head;
		x->p->rec.acked_ms = repl_now_ms();
		if (applied > 0)
			x->p->rec.error[0] = '\0';
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		if (!m->more && applied > 0)
			log_info("%s: applied r%llu, %s", x->name,
			    (unsigned long long)head, summary);
		if (!m->more)
			peer_save(x->p);
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
	return prepare_answer(x->d, x->l, x->name, m, &x->out);
}

/*
 * The newest session is the peer's: the old one is likely half dead.  On
 * the primary the peer's session is our push's, left alone; one there
 * only tells an older primary our epoch, unless it fences us.  Under mu.
 */
static void
claim(struct in_session *x)
{
	if (x->p->ch != NULL)
		chan_kill(x->p->ch, "replaced by a newer session");
	x->p->ch = x->l;
	x->session = ++x->p->session;
	x->p->connected = 1;
	pthread_cond_broadcast(&x->d->cv);
}

static int
serve(struct in_session *x)
{
	struct daemon *d = x->d;
	struct error err = { 0 };
	struct msg m;
	unsigned char hash[STORE_HASH_LEN];
	uint64_t head, epoch;
	int rc, primary;

	if (chan_recv(x->l, &x->in, REPLY_MS, &err) == -1 ||
	    proto_decode(x->in.data, x->in.len, &m, &err) == -1) {
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
	pthread_mutex_lock(&d->mu);
	x->p->rec.peer_head = m.head;
	pthread_cond_broadcast(&d->cv);		/* behind: demote.c */
	primary = d->primary;
	if (!primary && x->session == 0)
		claim(x);
	pthread_mutex_unlock(&d->mu);
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
		pthread_mutex_lock(&d->mu);
		x->p->kick = 1;
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		return -1;
	}
	log_info("%s: connected, we are at r%llu of r%llu", x->name,
	    (unsigned long long)head, (unsigned long long)m.head);

	for (;;) {
		/* The primary pings when idle: silence means it is gone. */
		if (chan_recv(x->l, &x->in, IDLE_MS, &err) == -1) {
			log_info("%s: session ended: %s", x->name, err.msg);
			return -1;
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
	}
}

void *
inbound_main(void *arg)
{
	struct inbound_arg *a = arg;
	struct daemon *d = a->d;
	struct in_session x;
	uint64_t head;

	memset(&x, 0, sizeof(x));
	x.d = d;
	x.l = a->ch;
	x.name = chan_peer_name(x.l);
	/* Decrypted change sets may carry secrets: never left unwiped. */
	buf_secret(&x.in);
	pthread_mutex_lock(&d->mu);
	if ((x.p = peer_find(d, x.name)) == NULL) {
		pthread_mutex_unlock(&d->mu);
		log_warnx("connection from %s: %s is no longer a peer",
		    chan_from(x.l), x.name);
		goto done;
	}
	d->reached = 1;
	if (!d->primary)
		claim(&x);
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	log_debug("%s: session from %s", x.name, chan_from(x.l));
	serve(&x);
	/* A catch-up cut short still gets its render. */
	if (repl_head(d, &head, NULL) == 0)
		render_kick(d, head);
done:
	pthread_mutex_lock(&d->mu);
	if (x.p != NULL && x.session != 0 && x.p->session == x.session) {
		x.p->ch = NULL;
		x.p->connected = 0;
	}
	pthread_mutex_unlock(&d->mu);
	if (x.p != NULL)
		peer_save(x.p);
	chan_close(x.l);
	/* Decrypted change sets may carry secrets: wipe, not just free. */
	buf_free_secret(&x.in);
	buf_free(&x.out);
	free(a);
	/* The daemon may be gone once we are counted out: nothing after. */
	pthread_mutex_lock(&d->mu);
	d->ninbound--;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	return NULL;
}
