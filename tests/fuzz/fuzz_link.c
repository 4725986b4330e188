/*
 * fuzz_link.c - the bytes a peer sends before and after authenticating:
 * the handshake messages and the frame reader (link.h), driven over a
 * socketpair with real keys and real handshakes.
 *
 * The first byte picks what the harness plays:
 *	0	a client talking to link_accept: the rest is all it sends
 *	1	a server answering link_connect: the rest is all it sends
 *	2	a peer after a real handshake: the rest goes down the socket
 *		as is, and every frame link_recv takes is given to
 *		proto_decode, as the daemon does
 *	3	the same peer sending well-formed frames: the rest is chunks
 *		(2-byte length, bytes), each sent with link_send, and each
 *		must arrive unchanged
 * The other side's writes go to a socket nobody reads; the harness side
 * is shut down after writing so nothing waits for a timeout.  See fuzz.h
 * for how harnesses are built and run.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "fuzz.h"
#include "link.h"
#include "proto.h"

struct node {
	unsigned char	 pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char	 sk[crypto_sign_SECRETKEYBYTES];
	struct link_auth auth;
};

static struct node server, client;

static void
sign(void *arg, const void *msg, size_t len, unsigned char sig[LINK_SIG_LEN])
{
	const struct node *n = arg;

	crypto_sign_detached(sig, NULL, msg, len, n->sk);
}

/* Each side trusts the other (and only the other). */
static int
trust(void *arg, const unsigned char pk[LINK_KEY_LEN], char *name,
    size_t len)
{
	const struct node *other = arg;

	if (memcmp(pk, other->pk, LINK_KEY_LEN) != 0)
		return 0;
	snprintf(name, len, "%s", other == &server ? "server" : "client");
	return 1;
}

static void
node_init(struct node *n, struct node *other, unsigned char seed)
{
	unsigned char s[crypto_sign_SEEDBYTES];

	memset(s, seed, sizeof(s));
	crypto_sign_seed_keypair(n->pk, n->sk, s);
	memcpy(n->auth.pk, n->pk, LINK_KEY_LEN);
	n->auth.sign = sign;
	n->auth.sign_arg = n;
	n->auth.trust = trust;
	n->auth.trust_arg = other;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() == -1)
		abort();
	node_init(&server, &client, 1);
	node_init(&client, &server, 2);
	return 0;
}

static void
feed(int fd, const uint8_t *p, size_t len)
{
	struct error err;

	if (len > 0 && link_write_all(fd, p, len, 1000, &err) == -1)
		abort();	/* the socket buffer holds any input */
	shutdown(fd, SHUT_WR);
}

struct dial {
	int		 fd;
	struct link	*l;
};

static void *
dial_main(void *arg)
{
	struct dial *d = arg;
	struct error err;

	if (link_connect(d->fd, &client.auth, server.pk, &d->l, &err) == -1)
		d->l = NULL;
	return NULL;
}

/* A real handshake over sv: *acc is the server's end, *con the client's. */
static void
session(int sv[2], struct link **acc, struct link **con)
{
	struct dial d = { sv[1], NULL };
	struct error err;
	pthread_t t;

	if (pthread_create(&t, NULL, dial_main, &d) != 0)
		abort();
	if (link_accept(sv[0], &server.auth, acc, &err) == -1) {
		fprintf(stderr, "handshake: %s\n", err.msg);
		abort();
	}
	pthread_join(t, NULL);
	if (d.l == NULL)
		abort();
	*con = d.l;
}

static void
frames_raw(const uint8_t *p, size_t len)
{
	struct link *acc, *con;
	struct buf b = { 0 };
	struct error err;
	struct msg m;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	session(sv, &acc, &con);
	feed(link_fd(con), p, len);
	while (link_recv(acc, &b, 1000, &err) == 0)
		if (proto_decode(b.data, b.len, &m, &err) == 0)
			proto_msg_free(&m);
	buf_free(&b);
	link_free(acc);
	link_free(con);
}

static void
frames_sealed(const uint8_t *p, size_t len)
{
	struct fuzz_in in = { p, len };
	struct link *acc, *con;
	struct buf b = { 0 };
	struct error err;
	struct msg m;
	const uint8_t *c;
	size_t n;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	session(sv, &acc, &con);
	while ((c = fuzz_chunk(&in, &n)) != NULL) {
		if (link_send(con, c, n, 1000, &err) == -1 ||
		    link_recv(acc, &b, 1000, &err) == -1 || b.len != n ||
		    memcmp(b.data, c, n) != 0)
			abort();	/* a frame sent is the frame received */
		if (proto_decode(b.data, b.len, &m, &err) == 0)
			proto_msg_free(&m);
	}
	buf_free(&b);
	link_free(acc);
	link_free(con);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct link *l = NULL;
	struct error err;
	int sv[2];

	if (size < 1 || size > 128 * 1024)
		return 0;	/* more than a socket buffer holds unread */
	switch (data[0]) {
	case 0:
	case 1:
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
			abort();
		feed(sv[1], data + 1, size - 1);
		if ((data[0] == 0 ? link_accept(sv[0], &server.auth, &l,
		    &err) : link_connect(sv[0], &client.auth, server.pk, &l,
		    &err)) == 0)
			abort();	/* nobody here holds the other key */
		close(sv[0]);
		close(sv[1]);
		break;
	case 2:
		frames_raw(data + 1, size - 1);
		break;
	case 3:
		frames_sealed(data + 1, size - 1);
		break;
	}
	return 0;
}
