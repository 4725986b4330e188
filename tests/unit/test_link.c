/*
 * test_link.c - the link handshake and frames over socketpair(2), with
 * bare Ed25519 key pairs standing in for the nodes' identities.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "link.h"

struct node {
	const char	*name;
	unsigned char	 pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char	 sk[crypto_sign_SECRETKEYBYTES];
	/* The keys this node trusts. */
	const struct node *trusted[4];
	struct link_auth auth;
};

static int signed_count, signed_other;

/*
 * Every handshake's request passes link_sign_input_ok: what the daemon's
 * parent checks before it signs for its network process.
 */
static void
sign(void *arg, const void *msg, size_t len, unsigned char sig[64])
{
	struct node *n = arg;

	signed_count++;
	if (!link_sign_input_ok(msg, len))
		signed_other++;
	crypto_sign_detached(sig, NULL, msg, len, n->sk);
}

/* Only a link label and a 32-byte hash may be signed for the link. */
static void
test_sign_input(void)
{
	static const char r[] = "cfgstore link v1 sign responder";
	static const char i[] = "cfgstore link v1 sign initiator";
	static const char c[] = "cfgstore commit v1";
	unsigned char m[128];

	memset(m, 7, sizeof(m));
	memcpy(m, r, sizeof(r));
	CHECK(link_sign_input_ok(m, sizeof(r) + 32));
	CHECK(!link_sign_input_ok(m, sizeof(r) + 31));
	CHECK(!link_sign_input_ok(m, sizeof(r) + 33));
	memcpy(m, i, sizeof(i));
	CHECK(link_sign_input_ok(m, sizeof(i) + 32));
	/* Without its NUL, or another label, or a commit's prefix. */
	m[sizeof(i) - 1] = 'x';
	CHECK(!link_sign_input_ok(m, sizeof(i) + 32));
	memcpy(m, "cfgstore link v1 transcript", 28);
	CHECK(!link_sign_input_ok(m, sizeof(i) + 32));
	memset(m, 7, sizeof(m));
	memcpy(m, c, sizeof(c));
	CHECK(!link_sign_input_ok(m, sizeof(r) + 32));
	CHECK(!link_sign_input_ok(m, 0));
	/* Every handshake of the tests before asked only for those. */
	CHECK(signed_count > 0);
	CHECK(signed_other == 0);
}

static int
trust(void *arg, const unsigned char pk[32], char *name, size_t len)
{
	struct node *n = arg;
	int i;

	for (i = 0; i < 4 && n->trusted[i] != NULL; i++)
		if (memcmp(n->trusted[i]->pk, pk, 32) == 0) {
			snprintf(name, len, "%s", n->trusted[i]->name);
			return 1;
		}
	return 0;
}

static void
node_init(struct node *n, const char *name)
{
	memset(n, 0, sizeof(*n));
	n->name = name;
	crypto_sign_keypair(n->pk, n->sk);
	memcpy(n->auth.pk, n->pk, 32);
	n->auth.sign = sign;
	n->auth.sign_arg = n;
	n->auth.trust = trust;
	n->auth.trust_arg = n;
}

/* The accepting side, run in a thread. */
struct acceptor {
	pthread_t	 t;
	int		 fd;
	struct node	*node;
	struct link	*link;
	struct error	 err;
	int		 rc;
	int		 echo;		/* frames to read and send back */
	char		 peer[64];	/* who the link says connected */
};

static void *
acceptor_run(void *arg)
{
	struct acceptor *a = arg;
	struct buf b = { 0 };
	int i;

	a->rc = link_accept(a->fd, &a->node->auth, &a->link, &a->err);
	if (a->rc == -1) {
		close(a->fd);
		return NULL;
	}
	snprintf(a->peer, sizeof(a->peer), "%s", link_peer_name(a->link));
	for (i = 0; i < a->echo; i++) {
		if ((a->rc = link_recv(a->link, &b, 5000, &a->err)) == -1 ||
		    (a->rc = link_send(a->link, b.data, b.len, 5000,
		    &a->err)) == -1) {
			/* As the daemon does: a failed link is closed. */
			shutdown(link_fd(a->link), SHUT_RDWR);
			break;
		}
	}
	buf_free(&b);
	return NULL;
}

static void
acceptor_start(struct acceptor *a, int fd, struct node *n, int echo)
{
	memset(a, 0, sizeof(*a));
	a->fd = fd;
	a->node = n;
	a->echo = echo;
	pthread_create(&a->t, NULL, acceptor_run, a);
}

static void
acceptor_end(struct acceptor *a)
{
	pthread_join(a->t, NULL);
	link_free(a->link);
}

/*
 * A relay between two socketpairs that records what the initiator sends
 * and can flip one byte of it on the way (a man in the middle).
 */
struct relay {
	pthread_t	 t[2];
	int		 ifd, rfd;	/* towards initiator, responder */
	struct buf	 rec;		/* initiator -> responder bytes */
	long		 flip;		/* offset in that stream, or -1 */
	long		 flip_r;	/* same, responder -> initiator */
	pthread_mutex_t	 mu;
};

struct pump {
	struct relay	*r;
	int		 from, to, dir;
};

static void *
pump_run(void *arg)
{
	struct pump *p = arg;
	unsigned char b[4096];
	long off = 0, flip;
	ssize_t n, i;

	flip = p->dir == 0 ? p->r->flip : p->r->flip_r;
	while ((n = read(p->from, b, sizeof(b))) > 0) {
		for (i = 0; i < n; i++)
			if (off + i == flip)
				b[i] ^= 0x01;
		if (p->dir == 0) {
			pthread_mutex_lock(&p->r->mu);
			buf_append(&p->r->rec, b, (size_t)n);
			pthread_mutex_unlock(&p->r->mu);
		}
		off += n;
		if (write(p->to, b, (size_t)n) != n)
			break;
	}
	shutdown(p->to, SHUT_WR);
	free(p);
	return NULL;
}

/* Returns the fd the initiator should use; *rfd is the responder's. */
static int
relay_start(struct relay *r, long flip, long flip_r, int *rfd)
{
	int a[2], b[2];
	struct pump *p;

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	r->flip = flip;
	r->flip_r = flip_r;
	socketpair(AF_UNIX, SOCK_STREAM, 0, a);
	socketpair(AF_UNIX, SOCK_STREAM, 0, b);
	r->ifd = a[1];
	r->rfd = b[0];
	*rfd = b[1];
	p = calloc(1, sizeof(*p));
	p->r = r; p->from = r->ifd; p->to = r->rfd; p->dir = 0;
	pthread_create(&r->t[0], NULL, pump_run, p);
	p = calloc(1, sizeof(*p));
	p->r = r; p->from = r->rfd; p->to = r->ifd; p->dir = 1;
	pthread_create(&r->t[1], NULL, pump_run, p);
	return a[0];
}

static void
relay_end(struct relay *r)
{
	pthread_join(r->t[0], NULL);
	pthread_join(r->t[1], NULL);
	close(r->ifd);
	close(r->rfd);
	buf_free(&r->rec);
	pthread_mutex_destroy(&r->mu);
}

static struct node A, B, C, D;

static void
test_good(void)
{
	struct acceptor acc;
	struct link *l;
	struct error err;
	struct buf b = { 0 };
	char *big;
	int sv[2];

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	acceptor_start(&acc, sv[1], &B, 3);
	CHECK(link_connect(sv[0], &A.auth, B.pk, &l, &err) == 0);
	CHECK_STR(link_peer_name(l), "B");
	CHECK(link_send(l, "hello", 5, 1000, &err) == 0);
	CHECK(link_recv(l, &b, 1000, &err) == 0);
	CHECK(b.len == 5 && memcmp(b.data, "hello", 5) == 0);
	CHECK(link_send(l, "", 0, 1000, &err) == 0);
	CHECK(link_recv(l, &b, 1000, &err) == 0);
	CHECK(b.len == 0);
	big = malloc(3u << 20);
	memset(big, 'x', 3u << 20);
	big[12345] = 'y';
	CHECK(link_send(l, big, 3u << 20, 5000, &err) == 0);
	CHECK(link_recv(l, &b, 5000, &err) == 0);
	CHECK(b.len == (3u << 20) && memcmp(b.data, big, b.len) == 0);
	CHECK(link_send(l, big, LINK_PAYLOAD_MAX + 1, 1000, &err) == -1 &&
	    err.code == ERR_INPUT);
	acceptor_end(&acc);
	CHECK(acc.rc == 0);
	CHECK_STR(acc.peer, "A");
	free(big);
	buf_free(&b);
	link_free(l);
}

/* The responder does not trust the initiator: nothing gets through. */
static void
test_unknown_initiator(void)
{
	struct acceptor acc;
	struct link *l;
	struct error err;
	struct buf b = { 0 };
	int sv[2];

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	acceptor_start(&acc, sv[1], &B, 1);
	/* C trusts B, but B does not trust C. */
	CHECK(link_connect(sv[0], &C.auth, B.pk, &l, &err) == 0);
	/* B may have closed already: the send may fail, the read must. */
	(void)link_send(l, "secret", 6, 1000, &err);
	CHECK(link_recv(l, &b, 2000, &err) == -1);
	acceptor_end(&acc);
	CHECK(acc.rc == -1 && acc.err.code == ERR_UNTRUSTED);
	buf_free(&b);
	link_free(l);
}

/* The initiator expected someone else: it stops before sending its key. */
static void
test_wrong_responder(void)
{
	struct acceptor acc;
	struct link *l;
	struct error err;
	int sv[2];

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	acceptor_start(&acc, sv[1], &B, 0);
	CHECK(link_connect(sv[0], &A.auth, C.pk, &l, &err) == -1);
	CHECK(err.code == ERR_UNTRUSTED);
	close(sv[0]);
	acceptor_end(&acc);
	CHECK(acc.rc == -1);

	/* Expected nothing in particular, but does not trust D. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	acceptor_start(&acc, sv[1], &D, 0);
	CHECK(link_connect(sv[0], &A.auth, NULL, &l, &err) == -1);
	CHECK(err.code == ERR_UNTRUSTED);
	close(sv[0]);
	acceptor_end(&acc);
}

/* Any flipped bit in the handshake, either way, ends it. */
static void
test_tamper(void)
{
	static const long offs[] = { 5, 20, 44, 60, 100, 160, 200 };
	struct relay r;
	struct acceptor acc;
	struct link *l;
	struct error err;
	size_t i;
	int fd, rfd, rc, bad = 0;

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		/* The initiator's stream: msg1 is 44 bytes, msg3 116. */
		fd = relay_start(&r, offs[i] < 160 ? offs[i] : -1,
		    offs[i] < 160 ? -1 : offs[i] - 60, &rfd);
		acceptor_start(&acc, rfd, &B, 1);
		rc = link_connect(fd, &A.auth, B.pk, &l, &err);
		if (rc == 0) {
			struct buf b = { 0 };

			link_send(l, "x", 1, 1000, &err);
			rc = link_recv(l, &b, 2000, &err);
			buf_free(&b);
			link_free(l);
		} else
			close(fd);
		acceptor_end(&acc);
		if (rc == 0 || acc.rc == 0)
			bad++;
		relay_end(&r);
	}
	CHECK(bad == 0);
}

/* A recorded session, played again to the responder, goes nowhere. */
static void
test_replay_session(void)
{
	struct relay r;
	struct acceptor acc;
	struct link *l;
	struct error err;
	struct buf b = { 0 }, rec = { 0 };
	int fd, rfd, sv[2];

	fd = relay_start(&r, -1, -1, &rfd);
	acceptor_start(&acc, rfd, &B, 1);
	CHECK(link_connect(fd, &A.auth, B.pk, &l, &err) == 0);
	CHECK(link_send(l, "set carp.pass s3cret", 20, 1000, &err) == 0);
	CHECK(link_recv(l, &b, 2000, &err) == 0);
	link_free(l);
	acceptor_end(&acc);
	CHECK(acc.rc == 0);
	pthread_join(r.t[0], NULL);
	pthread_join(r.t[1], NULL);
	buf_append(&rec, r.rec.data, r.rec.len);
	CHECK(memmem(rec.data, rec.len, "s3cret", 6) == NULL);
	close(r.ifd);
	close(r.rfd);
	buf_free(&r.rec);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	acceptor_start(&acc, sv[1], &B, 1);
	write(sv[0], rec.data, rec.len);
	acceptor_end(&acc);
	CHECK(acc.rc == -1 && acc.err.code == ERR_BADSIG);
	close(sv[0]);
	buf_free(&rec);
	buf_free(&b);
}

/*
 * After the handshake: a huge length prefix, a truncated frame, a frame
 * sent twice or out of order, garbage.  Each ends the link.
 */
struct raw_case {
	const char	*what;
	int		 kind;
};

static void
test_frames(void)
{
	static const struct raw_case cases[] = {
		{ "length 2^32-1", 0 }, { "truncated", 1 },
		{ "replayed frame", 2 }, { "reordered", 3 },
		{ "short length", 4 },
	};
	struct relay r;
	struct acceptor acc;
	struct link *l;
	struct error err;
	struct buf b = { 0 };
	unsigned char hdr[4] = { 0xff, 0xff, 0xff, 0xff };
	size_t i, hs;
	int fd, rfd;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd = relay_start(&r, -1, -1, &rfd);
		acceptor_start(&acc, rfd, &B, 3);
		CHECK(link_connect(fd, &A.auth, B.pk, &l, &err) == 0);
		usleep(20000);
		pthread_mutex_lock(&r.mu);
		hs = r.rec.len;
		pthread_mutex_unlock(&r.mu);
		CHECK(link_send(l, "one", 3, 1000, &err) == 0);
		CHECK(link_recv(l, &b, 2000, &err) == 0);
		switch (cases[i].kind) {
		case 0:
			link_write_all(fd, hdr, 4, 1000, &err);
			break;
		case 1:
			hdr[0] = 0; hdr[1] = 0; hdr[2] = 1; hdr[3] = 0;
			link_write_all(fd, hdr, 4, 1000, &err);
			link_write_all(fd, "abc", 3, 1000, &err);
			shutdown(fd, SHUT_WR);
			hdr[0] = hdr[1] = hdr[2] = hdr[3] = 0xff;
			break;
		case 2:
		case 3:
			/* The first data frame, as recorded, once more. */
			if (cases[i].kind == 3)
				link_send(l, "two", 3, 1000, &err);
			usleep(20000);
			pthread_mutex_lock(&r.mu);
			link_write_all(fd, r.rec.data + hs, r.rec.len - hs -
			    (cases[i].kind == 3 ? 23 : 0), 1000, &err);
			pthread_mutex_unlock(&r.mu);
			break;
		case 4:
			hdr[0] = 0; hdr[1] = 0; hdr[2] = 0; hdr[3] = 3;
			link_write_all(fd, hdr, 4, 1000, &err);
			link_write_all(fd, "abc", 3, 1000, &err);
			hdr[0] = hdr[1] = hdr[2] = hdr[3] = 0xff;
			break;
		}
		if (cases[i].kind == 3)
			CHECK(link_recv(l, &b, 2000, &err) == 0);
		CHECK(link_recv(l, &b, 2000, &err) == -1);
		acceptor_end(&acc);
		if (acc.rc != -1)
			printf("not ok: %s accepted\n", cases[i].what);
		CHECK(acc.rc == -1);
		link_free(l);
		relay_end(&r);
	}
	buf_free(&b);
}

/* A client that never finishes: the responder gives up on time. */
static void
test_deadline(void)
{
	struct acceptor acc;
	int sv[2];

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	acceptor_start(&acc, sv[1], &B, 0);
	write(sv[0], "\0\0\0\x28" "CFGL", 8);
	acceptor_end(&acc);
	CHECK(acc.rc == -1 && acc.err.code == ERR_TIMEOUT);
	close(sv[0]);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	acceptor_start(&acc, sv[1], &B, 0);
	write(sv[0], "\0\0\0\x28" "GET / HTTP/1.0\r\n\r\n" "0123456789012345"
	    "6789012345", 44);
	acceptor_end(&acc);
	CHECK(acc.rc == -1 && acc.err.code == ERR_MALFORMED);
	close(sv[0]);
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif

/*
 * A secret buffer leaves nothing behind when it grows or is freed.  Seen
 * by looking at the freed block, which only works without a sanitizer
 * (that read is what AddressSanitizer exists to stop).
 */
static void
test_secret_buf(void)
{
	struct buf b = { 0 };
	unsigned char s[200];
	volatile unsigned char *old;
	void *blocker;
	size_t i, left;
	int moved = 0, rounds;

	memset(s, 'S', sizeof(s));
	buf_secret(&b);
	CHECK(buf_append(&b, s, 40) == 0);
	CHECK(b.secret && b.len == 40);
	for (rounds = 0; rounds < 8; rounds++) {
		old = (volatile unsigned char *)b.data;
		/* Something after the block, so it cannot grow in place. */
		blocker = malloc(64);
		/* Past the capacity, so it must grow. */
		CHECK(buf_append(&b, s, b.cap - b.len) == 0);
		moved += (const volatile void *)old !=
		    (const volatile void *)b.data;
#ifndef __SANITIZE_ADDRESS__
		/* The allocator reuses a few bytes: count what is left. */
		for (i = 0, left = 0; i < 40; i++)
			left += old[i] == 'S';
		CHECK(left < 8);
#endif
		free(blocker);
		if (b.cap > sizeof(s))
			break;
	}
	CHECK(moved == rounds + 1);
	for (i = 0; i < b.len; i++)
		if (b.data[i] != 'S')
			break;
	CHECK(i == b.len);
	buf_free(&b);
	CHECK(b.data == NULL && b.secret);
	(void)left;
}

/*
 * The non-blocking steps, one thread driving both sides as the network
 * process's loop does: each side's signature comes a turn after it is
 * asked for, a frame bigger than the socket takes goes out in pieces,
 * and the timeouts fail with the blocking calls' messages.
 */
static void
test_nonblocking(void)
{
	struct link_hs *x[2];
	struct link *l[2] = { NULL, NULL };
	struct node *who[2] = { &A, &B };
	struct error err = { 0 };
	struct buf in = { 0 };
	unsigned char sig[64], *big;
	const void *m;
	size_t len, i;
	int sv[2], rc[2], asked[2] = { 0, 0 }, turns, got;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	CHECK(link_hs_new(sv[0], 1, &A.auth, B.pk, &x[0], &err) == 0);
	CHECK(link_hs_new(sv[1], 0, &B.auth, NULL, &x[1], &err) == 0);
	CHECK(link_hs_deadline(x[1]) < link_hs_deadline(x[0]));
	for (turns = 0; turns < 20 && (l[0] == NULL || l[1] == NULL);
	    turns++)
		for (i = 0; i < 2; i++) {
			if (l[i] != NULL)
				continue;
			/* Asked last turn: the answer comes now. */
			if (asked[i]) {
				m = link_hs_sign_input(x[i], &len);
				CHECK(link_sign_input_ok(m, len));
				crypto_sign_detached(sig, NULL, m, len,
				    who[i]->sk);
				link_hs_signature(x[i], sig);
				asked[i] = 0;
			}
			rc[i] = link_hs_step(x[i], &err);
			CHECK(rc[i] != -1);
			if (rc[i] == LINK_HS_SIGN)
				asked[i] = 1;
			else if (rc[i] == LINK_HS_DONE)
				l[i] = link_hs_take(x[i]);
		}
	CHECK(l[0] != NULL && l[1] != NULL);
	link_hs_free(x[0]);
	link_hs_free(x[1]);
	if (l[0] == NULL || l[1] == NULL)
		return;
	CHECK_STR(link_peer_name(l[0]), "B");
	CHECK_STR(link_peer_name(l[1]), "A");

	/* 4 MiB and a small frame after it, through a full socket. */
	big = malloc(4u << 20);
	memset(big, 'b', 4u << 20);
	CHECK(link_queue(l[0], big, 4u << 20, &err) == 0);
	CHECK(link_queue(l[0], "after", 5, &err) == 0);
	CHECK(link_flush(l[0], &err) == 0);	/* the socket is full */
	CHECK(link_queued(l[0]) > 0);
	buf_secret(&in);
	for (got = 0, turns = 0; got < 2 && turns < 100000; turns++) {
		if (link_queued(l[0]) > 0)
			CHECK(link_flush(l[0], &err) != -1);
		while ((rc[1] = link_recv_some(l[1], &in, &err)) == 1) {
			if (got++ == 0)
				CHECK(in.len == (4u << 20) &&
				    memcmp(in.data, big, in.len) == 0);
			else
				CHECK(in.len == 5 &&
				    memcmp(in.data, "after", 5) == 0);
		}
		CHECK(rc[1] == 0);
		if (got == 0 && link_recv_deadline(l[1]) != -1)
			CHECK(link_recv_deadline(l[1]) > 0);
	}
	CHECK(got == 2 && link_queued(l[0]) == 0);
	CHECK(link_recv_deadline(l[1]) == -1);

	/* A frame begun and never finished: the blocking call's error. */
	write(sv[0], "\0\0\0\x20" "0123", 8);
	CHECK(link_recv_some(l[1], &in, &err) == 0);
	CHECK(link_recv_deadline(l[1]) != -1);
	CHECK(link_recv_expire(l[1], &err) == -1 && err.code == ERR_TIMEOUT);
	CHECK_STR(err.msg, "frame of 32 bytes: timed out");
	free(big);
	buf_free_secret(&in);
	link_free(l[0]);
	link_free(l[1]);

	/* A responder given nothing: as link_accept says it. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	CHECK(link_hs_new(sv[1], 0, &B.auth, NULL, &x[1], &err) == 0);
	CHECK(link_hs_step(x[1], &err) == LINK_HS_READ);
	memset(&err, 0, sizeof(err));
	CHECK(link_hs_expire(x[1], &err) == -1 && err.code == ERR_TIMEOUT);
	CHECK_STR(err.msg, "handshake: waiting for msg1: timed out");
	link_hs_free(x[1]);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		return 1;
	node_init(&A, "A");
	node_init(&B, "B");
	node_init(&C, "C");
	node_init(&D, "D");
	D.trusted[0] = &A;
	A.trusted[0] = &B;
	A.trusted[1] = &C;
	B.trusted[0] = &A;
	C.trusted[0] = &B;
	test_good();
	test_unknown_initiator();
	test_wrong_responder();
	test_tamper();
	test_replay_session();
	test_frames();
	test_deadline();
	test_nonblocking();
	test_secret_buf();
	test_sign_input();
	return check_done();
}
