/*
 * hostile_peer.c - a client that misbehaves towards a replica, one way
 * per run, and checks that the replica refuses.  Exit status 0 when it
 * was refused as it should be, 1 when not, 2 on bad usage.
 *
 *	hostile_peer [-k STOREDIR] [-s STOREDIR] ADDR:PORT MODE [ARG...]
 *
 * Modes before the handshake: garbage, hugelen, stall, unknown (a key the
 * replica does not trust), playback FILE (a recorded session).  Modes
 * after a handshake with the key of STOREDIR, which the replica trusts:
 * forged FILE (a commit with its signature broken), replay FILE (an old
 * commit: acknowledged, no effect), gap FILE (a commit beyond the head),
 * relay FILE (a genuine commit, from a peer that is not the primary),
 * resign FILE (the commit made again and signed with the key of the
 * store -s names), trunc, hugeframe, array32, rndframe (random bytes in
 * an authenticated frame), rndmsgpack (random msgpack objects in one),
 * emptyframe (an authenticated frame of no bytes).  flood N SECONDS: N stalled connections at
 * once from loopback addresses 127.0.0.2 to 127.0.0.25, each reopened as
 * soon as it is closed, for SECONDS (at most 128 and 60).  nacker
 * SECONDS: a replica with the key of -k on ADDR:PORT that answers every
 * change set with nack rejected, and counts the connections.  A recorder:
 * record LISTEN_PORT FILE, a proxy to ADDR:PORT for one connection that
 * writes what the client sent to FILE.  prepare-behind, prepare-garbage
 * (with the primary's key as -k): a candidate on a base the replica is
 * not at, or a change that does not decode; the replica must answer
 * that it cannot check, and why.  ahead HEAD SECONDS: a session with the
 * key of -k whose hello claims head HEAD, held open SECONDS (at most
 * 25): a primary that is reachable and ahead.  epoch E SECONDS: the
 * same with a hello that claims epoch E (and head 0).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <msgpack.h>

#include "link.h"
#include "proto.h"
#include "repl_int.h"
#include "store.h"
#include "store_int.h"

/* A one-shot tool that exits from many places: leaks are not its point. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}

static const char *target;
static uint64_t hello_head;	/* the head our hello claims */
static uint64_t hello_epoch = 1;	/* and the epoch */
static struct store *store, *sign_store;
static struct identity *id, *resign_id;
static unsigned char rnd_pk[32], rnd_sk[64];

static void
sign_id(void *arg, const void *m, size_t len, unsigned char sig[64])
{
	(void)arg;
	identity_sign(id, m, len, sig);
}

static void
sign_rnd(void *arg, const void *m, size_t len, unsigned char sig[64])
{
	(void)arg;
	crypto_sign_detached(sig, NULL, m, len, rnd_sk);
}

static int
trust_any(void *arg, const unsigned char pk[32], char *name, size_t len)
{
	(void)arg; (void)pk;
	snprintf(name, len, "replica");
	return 1;
}

static int
dial(void)
{
	struct error err = { 0 };
	int fd;

	if ((fd = repl_dial(target, 3000, &err)) == -1) {
		fprintf(stderr, "hostile_peer: %s\n", err.msg);
		exit(1);
	}
	return fd;
}

/* Waits until the other side closes; how long it took, or -1 if it never did. */
static int
closed_within(int fd, int ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char b[4096];
	struct timespec a, z;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (;;) {
		if (poll(&pfd, 1, ms) <= 0)
			return -1;
		if (recv(fd, b, sizeof(b), 0) <= 0)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &z);
	return (int)((z.tv_sec - a.tv_sec) * 1000 +
	    (z.tv_nsec - a.tv_nsec) / 1000000);
}

static int
verdict(int refused, const char *what)
{
	printf("%s: %s\n", refused ? "refused" : "NOT REFUSED", what);
	return refused ? 0 : 1;
}

/* Connects with the trusted key and says hello as a primary. */
static struct link *
session(int *fd)
{
	struct link_auth a;
	struct link *l;
	struct error err = { 0 };
	struct buf b = { 0 };
	struct msg m;
	unsigned char hash[STORE_HASH_LEN] = { 0 };

	if (id == NULL) {
		fprintf(stderr, "hostile_peer: this mode needs -k STOREDIR\n");
		exit(2);
	}
	memset(&a, 0, sizeof(a));
	memcpy(a.pk, identity_public(id), 32);
	a.sign = sign_id;
	a.trust = trust_any;
	*fd = dial();
	if (link_connect(*fd, &a, NULL, &l, &err) == -1 ||
	    proto_hello(&b, "hostile", ROLE_PRIMARY, hello_head, hash,
	    hello_epoch) == -1 ||
	    link_send(l, b.data, b.len, 2000, &err) == -1 ||
	    link_recv(l, &b, 5000, &err) == -1 ||
	    proto_decode(b.data, b.len, &m, &err) == -1) {
		fprintf(stderr, "hostile_peer: session: %s\n", err.msg);
		exit(1);
	}
	printf("replica is at r%llu\n", (unsigned long long)m.head);
	proto_msg_free(&m);
	buf_free(&b);
	return l;
}

/* The same commit, made again and signed with resign_id. */
static void
resign(struct buf *raw)
{
	struct commit *c = NULL;
	struct commit_in ci;
	struct commit_op_in *ops;
	struct error err = { 0 };
	unsigned char hash[STORE_HASH_LEN];
	size_t i;

	if (resign_id == NULL) {
		fprintf(stderr, "hostile_peer: resign needs -s STOREDIR\n");
		exit(2);
	}
	if (commit_parse(raw->data, raw->len, &c, &err) == -1 ||
	    (ops = calloc(commit_op_count(c) + 1, sizeof(*ops))) == NULL) {
		fprintf(stderr, "hostile_peer: %s\n", err.msg);
		exit(2);
	}
	for (i = 0; i < commit_op_count(c); i++)
		commit_op(c, i, &ops[i].op, &ops[i].key, &ops[i].old,
		    &ops[i].new);
	memset(&ci, 0, sizeof(ci));
	ci.rev = commit_rev(c);
	ci.parent = commit_parent(c);
	ci.author = commit_author(c);
	ci.node = commit_node(c);
	ci.time_ms = commit_time_ms(c);
	ci.message = commit_message(c);
	ci.ops = ops;
	ci.nops = commit_op_count(c);
	if (commit_make(&ci, resign_id, raw, hash, &err) == -1) {
		fprintf(stderr, "hostile_peer: %s\n", err.msg);
		exit(2);
	}
	free(ops);
	commit_free(c);
}

/* Sends one commit (possibly altered) and reads the answer. */
static int
send_commit(const char *file, int alter, struct msg *m, struct buf *in)
{
	struct buf raw = { 0 }, out = { 0 };
	struct store_raw r;
	struct error err = { 0 };
	struct link *l;
	int fd, rc;

	if (buf_read_file(&raw, file, STORE_COMMIT_MAX) == -1) {
		perror(file);
		exit(2);
	}
	if (alter == 1)
		raw.data[raw.len - 1] ^= 0x01;	/* the signature's last byte */
	else if (alter == 2)
		resign(&raw);
	r.data = raw.data;
	r.len = raw.len;
	l = session(&fd);
	if (proto_commits(&out, 0, 0, &r, 1) == -1 ||
	    link_send(l, out.data, out.len, 2000, &err) == -1)
		exit(1);
	rc = link_recv(l, in, 5000, &err) == -1 ||
	    proto_decode(in->data, in->len, m, &err) == -1 ? -1 : 0;
	link_free(l);
	buf_free(&raw);
	buf_free(&out);
	return rc;
}

static int
after_handshake(const char *mode)
{
	unsigned char hdr[8] = { 0xff, 0xff, 0xff, 0xff };
	/* [2, 0, 0, array32 of 2^32-1] */
	static const unsigned char a32[] = { 0x94, 0x02, 0x00, 0x00,
	    0xdd, 0xff, 0xff, 0xff, 0xff, 0xc4, 0x01, 0x00 };
	struct error err = { 0 };
	struct link *l;
	int fd, rc;

	l = session(&fd);
	if (strcmp(mode, "rndframe") == 0) {
		unsigned char junk[1000];

		/* Random bytes, but sealed: only the message layer can object. */
		randombytes_buf(junk, sizeof(junk));
		if (junk[0] >= 0x90 && junk[0] <= 0x9f)
			junk[0] = 0xc1;		/* never an array */
		link_send(l, junk, sizeof(junk), 1000, &err);
	} else if (strcmp(mode, "rndmsgpack") == 0) {
		msgpack_sbuffer sb;
		msgpack_packer pk;
		unsigned char b[64];

		/* An array of random objects: types, bins, strings, maps. */
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 6);
		msgpack_pack_uint64(&pk, 1 + randombytes_uniform(6));
		randombytes_buf(b, sizeof(b));
		msgpack_pack_bin_with_body(&pk, b, randombytes_uniform(64));
		msgpack_pack_str_with_body(&pk, "\x01\x7f\x1b[31m", 8);
		msgpack_pack_map(&pk, 1);
		msgpack_pack_int64(&pk, -(int64_t)randombytes_random());
		msgpack_pack_double(&pk, 1.5);
		msgpack_pack_array(&pk, 1);
		msgpack_pack_nil(&pk);
		msgpack_pack_uint64(&pk, randombytes_random());
		link_send(l, sb.data, sb.size, 1000, &err);
		msgpack_sbuffer_destroy(&sb);
	} else if (strcmp(mode, "hugeframe") == 0)
		link_write_all(fd, hdr, 4, 1000, &err);
	else if (strcmp(mode, "emptyframe") == 0)
		link_send(l, "", 0, 1000, &err);
	else if (strcmp(mode, "trunc") == 0) {
		hdr[0] = hdr[1] = 0;
		hdr[2] = 0x03;
		hdr[3] = 0xe8;		/* 1000 bytes announced */
		link_write_all(fd, hdr, 4, 1000, &err);
		link_write_all(fd, "0123456789", 10, 1000, &err);
		shutdown(fd, SHUT_WR);
	} else
		link_send(l, a32, sizeof(a32), 1000, &err);
	rc = closed_within(fd, 15000);
	link_free(l);
	return verdict(rc >= 0, mode);
}

/* One stalled connection to the loopback target from 127.0.0.(2 + i % 24). */
/* A prepare the replica cannot check: verdict 2, one line saying why. */
static int
prepare_attack(const char *mode)
{
	struct buf out = { 0 }, in = { 0 };
	struct error err = { 0 };
	struct msg m;
	struct link *l;
	unsigned char hash[STORE_HASH_LEN];
	uint64_t head;
	int fd, ok, garbage = strcmp(mode, "prepare-garbage") == 0;

	if (id == NULL || store_head(store, &head, hash, &err) == -1) {
		fprintf(stderr, "hostile_peer: this mode needs -k STOREDIR\n");
		return 2;
	}
	l = session(&fd);
	/* One operation whose value is missing; or a base one ahead. */
	if (proto_prepare(&out, 9, garbage ? head : head + 1, hash,
	    "\x91\x92\xa1x", garbage ? 4 : 0) == -1 ||
	    link_send(l, out.data, out.len, 2000, &err) == -1)
		return 1;
	for (;;) {
		if (link_recv(l, &in, 15000, &err) == -1 ||
		    proto_decode(in.data, in.len, &m, &err) == -1) {
			printf("no answer: %s\n", err.msg);
			return verdict(0, mode);
		}
		if (m.type != MSG_PONG)
			break;
	}
	if (m.type == MSG_NACK)
		printf("answer: nack %s: %s\n", proto_nack_name(m.reason),
		    m.text);
	else
		printf("answer: %s %s: %s\n", proto_type_name(m.type),
		    proto_verdict_name(m.status), m.nlines > 0 ?
		    m.lines[0] : "");
	ok = m.type == MSG_VERDICT && m.id == 9 &&
	    m.status == VERDICT_UNCHECKED && m.nlines == 1;
	proto_msg_free(&m);
	link_free(l);
	buf_free(&in);
	buf_free(&out);
	return verdict(ok, mode);
}

static int
flood_one(const struct sockaddr_in *to, int i)
{
	struct sockaddr_in from;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&from, 0, sizeof(from));
	from.sin_family = AF_INET;
	from.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(i % 24));
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) == -1 ||
	    connect(fd, (const struct sockaddr *)to, sizeof(*to)) == -1) {
		close(fd);
		return -1;
	}
	/* Half a length prefix, then nothing. */
	if (send(fd, "\0\0", 2, 0) != 2) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
flood(const char *nstr, const char *secstr)
{
	struct sockaddr_in to;
	struct pollfd pfd[128];
	struct timespec a, z;
	char host[64], *colon, b[256];
	int n = atoi(nstr), secs = atoi(secstr), i, opened = 0, closed = 0;

	snprintf(host, sizeof(host), "%s", target);
	if ((colon = strrchr(host, ':')) == NULL || n < 1 || n > 128 ||
	    secs < 1 || secs > 60)
		return 2;
	*colon = '\0';
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)atoi(colon + 1));
	/* Loopback only: this is a test of our own daemon. */
	if (inet_pton(AF_INET, host, &to.sin_addr) != 1 ||
	    (ntohl(to.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "hostile_peer: flood: loopback only\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		pfd[i].fd = flood_one(&to, i);
		pfd[i].events = POLLIN;
		opened += pfd[i].fd != -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &z);
		if (z.tv_sec - a.tv_sec >= secs)
			break;
		if (poll(pfd, (nfds_t)n, 20) == -1 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			if (pfd[i].fd != -1 && pfd[i].revents == 0)
				continue;
			if (pfd[i].fd != -1 &&
			    recv(pfd[i].fd, b, sizeof(b), MSG_DONTWAIT) > 0)
				continue;
			if (pfd[i].fd != -1) {
				close(pfd[i].fd);
				closed++;
			}
			if ((pfd[i].fd = flood_one(&to, i)) != -1)
				opened++;
		}
	}
	for (i = 0; i < n; i++)
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	printf("flood: %d connections opened, %d closed by the replica\n",
	    opened, closed);
	return opened > n ? 0 : 1;
}

static int
nacker(const char *secstr)
{
	struct sockaddr_in sin;
	struct link_auth a;
	struct link *l;
	struct error err = { 0 };
	struct buf b = { 0 };
	struct msg m;
	struct pollfd pfd;
	struct timespec t0, t;
	unsigned char hash[STORE_HASH_LEN] = { 0 };
	char host[64], *colon;
	int ls, fd, one = 1, conns = 0, nacks = 0, secs = atoi(secstr), rc;

	snprintf(host, sizeof(host), "%s", target);
	if (id == NULL || (colon = strrchr(host, ':')) == NULL || secs < 1 ||
	    secs > 60)
		return 2;
	*colon = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return 2;
	memset(&a, 0, sizeof(a));
	memcpy(a.pk, identity_public(id), 32);
	a.sign = sign_id;
	a.trust = trust_any;
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(ls, 8) == -1) {
		perror("nacker");
		return 2;
	}
	printf("listening\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= secs)
			break;
		pfd.fd = ls;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 100) <= 0 ||
		    (fd = accept(ls, NULL, NULL)) == -1)
			continue;
		conns++;
		if (link_accept(fd, &a, &l, &err) == -1) {
			close(fd);
			continue;
		}
		/* Its hello, ours, then a nack for each change set. */
		rc = link_recv(l, &b, 5000, &err) == -1 ||
		    proto_decode(b.data, b.len, &m, &err) == -1 ||
		    proto_hello(&b, "nacker", ROLE_REPLICA, 0, hash, 1) == -1 ||
		    link_send(l, b.data, b.len, 2000, &err) == -1 ? -1 : 0;
		while (rc == 0 && link_recv(l, &b, 2000, &err) == 0 &&
		    proto_decode(b.data, b.len, &m, &err) == 0) {
			if (m.type == MSG_COMMITS) {
				proto_msg_free(&m);
				nacks++;
				rc = proto_nack(&b, NACK_REJECTED, 0, hash,
				    "nacker\trefuses\x1b[2J everything") == -1 ||
				    link_send(l, b.data, b.len, 2000,
				    &err) == -1 ? -1 : 0;
			} else if (m.type == MSG_PING)
				rc = proto_pong(&b) == -1 ||
				    link_send(l, b.data, b.len, 2000,
				    &err) == -1 ? -1 : 0;
			else
				rc = -1;
		}
		link_free(l);
	}
	close(ls);
	buf_free(&b);
	printf("nacker: %d connections, %d nacks\n", conns, nacks);
	return 0;
}

static int
record(const char *port, const char *file)
{
	struct sockaddr_in sin;
	struct pollfd pfd[2];
	char b[65536];
	FILE *f;
	ssize_t n;
	int ls, c, s, one = 1;

	if ((f = fopen(file, "w")) == NULL) {
		perror(file);
		return 2;
	}
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(port));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(ls, 1) == -1 || (c = accept(ls, NULL, NULL)) == -1) {
		perror("record");
		return 2;
	}
	s = dial();
	pfd[0].fd = c;
	pfd[1].fd = s;
	pfd[0].events = pfd[1].events = POLLIN;
	while (poll(pfd, 2, 30000) > 0) {
		if (pfd[0].revents) {
			if ((n = recv(c, b, sizeof(b), 0)) <= 0)
				break;
			fwrite(b, 1, (size_t)n, f);
			fflush(f);
			if (send(s, b, (size_t)n, 0) != n)
				break;
		}
		if (pfd[1].revents) {
			if ((n = recv(s, b, sizeof(b), 0)) <= 0)
				break;
			if (send(c, b, (size_t)n, 0) != n)
				break;
		}
	}
	fclose(f);
	close(c);
	close(s);
	close(ls);
	return 0;
}

int
main(int argc, char **argv)
{
	struct error err = { 0 };
	struct buf in = { 0 }, b = { 0 };
	struct msg m;
	const char *mode, *keydir = NULL, *signdir = NULL;
	unsigned char junk[4096], hdr[4] = { 0xff, 0xff, 0xff, 0xff };
	int ch, fd, rc, n;

	while ((ch = getopt(argc, argv, "k:s:")) != -1) {
		if (ch == 'k')
			keydir = optarg;
		else if (ch == 's')
			signdir = optarg;
		else
			return 2;
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		return 1;
	target = argv[0];
	mode = argv[1];
	if (keydir != NULL && (store_open(keydir, STORE_RDONLY, &store,
	    &err) == -1 || identity_load(store, &id, &err) == -1)) {
		fprintf(stderr, "hostile_peer: %s\n", err.msg);
		return 2;
	}
	if (signdir != NULL) {
		if (store_open(signdir, STORE_RDONLY, &sign_store,
		    &err) == -1 ||
		    identity_load(sign_store, &resign_id, &err) == -1) {
			fprintf(stderr, "hostile_peer: %s\n", err.msg);
			return 2;
		}
	}

	if (strcmp(mode, "garbage") == 0) {
		fd = dial();
		randombytes_buf(junk, sizeof(junk));
		link_write_all(fd, junk, sizeof(junk), 1000, &err);
		return verdict(closed_within(fd, 10000) >= 0, mode);
	}
	if (strcmp(mode, "hugelen") == 0) {
		fd = dial();
		link_write_all(fd, hdr, 4, 1000, &err);
		return verdict(closed_within(fd, 10000) >= 0, mode);
	}
	if (strcmp(mode, "stall") == 0) {
		/* Half a length prefix, then nothing: the deadline ends it. */
		fd = dial();
		link_write_all(fd, "\0\0", 2, 1000, &err);
		n = closed_within(fd, 30000);
		printf("closed after %d ms\n", n);
		return verdict(n >= 0 && n < 15000, mode);
	}
	if (strcmp(mode, "unknown") == 0) {
		struct link_auth a;
		struct link *l;

		crypto_sign_keypair(rnd_pk, rnd_sk);
		memset(&a, 0, sizeof(a));
		memcpy(a.pk, rnd_pk, 32);
		a.sign = sign_rnd;
		a.trust = trust_any;
		fd = dial();
		if (link_connect(fd, &a, NULL, &l, &err) == -1) {
			close(fd);
			return verdict(1, mode);
		}
		rc = link_recv(l, &in, 10000, &err);
		link_free(l);
		return verdict(rc == -1, mode);
	}
	if (strcmp(mode, "playback") == 0 && argc == 3) {
		if (buf_read_file(&b, argv[2], 1 << 24) == -1) {
			perror(argv[2]);
			return 2;
		}
		fd = dial();
		link_write_all(fd, b.data, b.len, 2000, &err);
		buf_free(&b);
		/* msg2 comes back (the replica cannot tell yet), then close. */
		n = closed_within(fd, 10000);
		return verdict(n >= 0, mode);
	}
	if ((strcmp(mode, "forged") == 0 || strcmp(mode, "replay") == 0 ||
	    strcmp(mode, "gap") == 0 || strcmp(mode, "relay") == 0 ||
	    strcmp(mode, "resign") == 0) && argc == 3) {
		int ok;

		rc = send_commit(argv[2], strcmp(mode, "forged") == 0 ? 1 :
		    strcmp(mode, "resign") == 0 ? 2 : 0, &m, &in);
		/* A dropped connection is no answer: the nack must come. */
		if (rc == -1) {
			buf_free(&in);
			printf("no answer: the connection was dropped\n");
			return verdict(0, mode);
		}
		printf("answer: %s %s r%llu %s\n", proto_type_name(m.type),
		    m.type == MSG_NACK ? proto_nack_name(m.reason) : "",
		    (unsigned long long)m.head, m.text);
		if (strcmp(mode, "forged") == 0)
			ok = m.type == MSG_NACK && m.reason == NACK_REJECTED;
		else if (strcmp(mode, "gap") == 0)
			ok = m.type == MSG_NACK && m.reason == NACK_GAP;
		else if (strcmp(mode, "relay") == 0 ||
		    strcmp(mode, "resign") == 0)
			ok = m.type == MSG_NACK && m.reason == NACK_REJECTED;
		else	/* an old commit: acknowledged as already held */
			ok = m.type == MSG_ACK;
		proto_msg_free(&m);
		buf_free(&in);
		return verdict(ok, mode);
	}
	if (strcmp(mode, "trunc") == 0 || strcmp(mode, "hugeframe") == 0 ||
	    strcmp(mode, "array32") == 0 || strcmp(mode, "rndframe") == 0 ||
	    strcmp(mode, "rndmsgpack") == 0 || strcmp(mode, "emptyframe") == 0)
		return after_handshake(mode);
	if (strcmp(mode, "prepare-behind") == 0 ||
	    strcmp(mode, "prepare-garbage") == 0)
		return prepare_attack(mode);
	if (strcmp(mode, "nacker") == 0 && argc == 3)
		return nacker(argv[2]);
	if ((strcmp(mode, "ahead") == 0 || strcmp(mode, "epoch") == 0) &&
	    argc == 4) {
		struct link *l;

		if (strcmp(mode, "epoch") == 0)
			hello_epoch = strtoull(argv[2], NULL, 10);
		else
			hello_head = strtoull(argv[2], NULL, 10);
		l = session(&fd);
		fflush(stdout);
		n = atoi(argv[3]);
		sleep(n > 0 && n <= 25 ? (unsigned)n : 1);
		link_free(l);
		close(fd);
		return 0;
	}
	if (strcmp(mode, "flood") == 0 && argc == 4)
		return flood(argv[2], argv[3]);
	if (strcmp(mode, "record") == 0 && argc == 4)
		return record(argv[2], argv[3]);
	fprintf(stderr, "hostile_peer: unknown mode %s\n", mode);
	return 2;
}
