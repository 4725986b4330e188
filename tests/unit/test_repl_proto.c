/*
 * test_repl_proto.c - the replication messages: each round-trips; each
 * type's exact shape is enforced; every truncation, stray byte, lying
 * header and random input is refused without reading out of bounds.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "proto.h"

static unsigned char H[STORE_HASH_LEN];

/* Every strict prefix of a valid message is refused. */
static void
prefixes(const struct buf *b)
{
	struct msg m;
	struct error err;
	size_t n;
	int bad = 0;

	for (n = 0; n < b->len; n++)
		if (proto_decode(b->data, n, &m, &err) == 0) {
			proto_msg_free(&m);
			bad++;
		}
	CHECK(bad == 0);
}

static void
test_roundtrip(void)
{
	struct buf b = { 0 };
	struct msg m;
	struct error err;
	struct store_raw raws[2] = { { "abc", 3 }, { "defgh", 5 } };

	CHECK(proto_hello(&b, "fw1", ROLE_PRIMARY, 42, H, 7) == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0);
	CHECK(m.type == MSG_HELLO && m.version == PROTO_VERSION);
	CHECK(m.epoch == 7);
	CHECK_STR(m.node, "fw1");
	CHECK(m.role == ROLE_PRIMARY && m.head == 42);
	CHECK(memcmp(m.hash, H, STORE_HASH_LEN) == 0);
	proto_msg_free(&m);
	prefixes(&b);

	CHECK(proto_commits(&b, 7, 1, raws, 2) == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0);
	CHECK(m.type == MSG_COMMITS && m.head == 7 && m.more == 1);
	CHECK(m.nraws == 2 && m.raws[1].len == 5 &&
	    memcmp(m.raws[1].data, "defgh", 5) == 0);
	proto_msg_free(&m);
	prefixes(&b);

	CHECK(proto_ack(&b, 9, H, 1, "restarted unbound") == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0);
	CHECK(m.type == MSG_ACK && m.head == 9 && m.failed == 1);
	CHECK_STR(m.text, "restarted unbound");
	prefixes(&b);

	CHECK(proto_nack(&b, NACK_GAP, 3, H, "got r9, head is r3") == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0);
	CHECK(m.type == MSG_NACK && m.reason == NACK_GAP && m.head == 3);
	CHECK_STR(m.text, "got r9, head is r3");
	prefixes(&b);

	CHECK(proto_ping(&b) == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0 &&
	    m.type == MSG_PING);
	CHECK(proto_pong(&b) == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0 &&
	    m.type == MSG_PONG);
	buf_free(&b);
}

static int
refused(const void *p, size_t len)
{
	struct msg m;
	struct error err = { 0 };

	if (proto_decode(p, len, &m, &err) == 0) {
		proto_msg_free(&m);
		return 0;
	}
	return err.code == ERR_INPUT && err.msg[0] != '\0';
}

#define REFUSED(...) do {						\
	static const unsigned char x_[] = { __VA_ARGS__ };		\
	CHECK(refused(x_, sizeof(x_)));					\
} while (0)

static void
test_shapes(void)
{
	struct buf b = { 0 };

	REFUSED(0xc0);				/* nil */
	REFUSED(0x90);				/* [] */
	REFUSED(0x91, 0x00);			/* [0] */
	REFUSED(0x91, 0x07);			/* [7]: unknown type */
	REFUSED(0x92, 0x05, 0x00);		/* ping with a field */
	REFUSED(0x91, 0xa1, 0x35);		/* type as a string */
	/* commits whose array32 header claims 2^32-1 elements */
	REFUSED(0x94, 0x02, 0x00, 0x00, 0xdd, 0xff, 0xff, 0xff, 0xff,
	    0xc4, 0x01, 0x00);
	/* an array32 message header claiming 2^32-1 elements */
	REFUSED(0xdd, 0xff, 0xff, 0xff, 0xff, 0x05);
	/* commits: empty batch; more = 2; a commit as a string */
	REFUSED(0x94, 0x02, 0x00, 0x00, 0x90);
	REFUSED(0x94, 0x02, 0x00, 0x02, 0x91, 0xc4, 0x01, 0x00);
	REFUSED(0x94, 0x02, 0x00, 0x00, 0x91, 0xa1, 0x41);
	/* a bin32 claiming 4 GiB */
	REFUSED(0x94, 0x02, 0x00, 0x00, 0x91, 0xc6, 0xff, 0xff, 0xff, 0xff);
	/* nack with reason 0 and 5 */
	REFUSED(0x95, 0x04, 0x00, 0x00, 0xc4, 0x00, 0xa0);
	REFUSED(0x95, 0x04, 0x05, 0x00, 0xc4, 0x00, 0xa0);

	/* A stray byte after a valid message. */
	proto_ping(&b);
	buf_append(&b, "", 1);
	CHECK(refused(b.data, b.len));
	/* A hash of the wrong size, a NUL in a name. */
	proto_hello(&b, "fw1", ROLE_REPLICA, 1, H, 1);
	b.data[b.len - 34] = (char)31;		/* bin8 length 32 -> 31 */
	CHECK(refused(b.data, b.len));
	proto_hello(&b, "f\001w", ROLE_REPLICA, 1, H, 1);
	b.data[4] = '\0';
	CHECK(refused(b.data, b.len));
	/* Version 1's hello (no epoch), and one with epoch 0. */
	proto_hello(&b, "fw1", ROLE_PRIMARY, 1, H, 1);
	b.data[0] = (char)0x96;
	b.data[2] = 1;
	CHECK(refused(b.data, b.len - 1));
	proto_hello(&b, "fw1", ROLE_PRIMARY, 1, H, 1);
	b.data[b.len - 1] = 0;
	CHECK(refused(b.data, b.len));
	buf_free(&b);
}

/* Too many commits in one message. */
static void
test_batch_limit(void)
{
	struct store_raw *raws = calloc(PROTO_BATCH_MAX + 1, sizeof(*raws));
	struct buf b = { 0 };
	struct msg m;
	struct error err;
	size_t i;

	for (i = 0; i <= PROTO_BATCH_MAX; i++) {
		raws[i].data = "x";
		raws[i].len = 1;
	}
	CHECK(proto_commits(&b, 1, 0, raws, PROTO_BATCH_MAX) == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0);
	proto_msg_free(&m);
	CHECK(proto_commits(&b, 1, 0, raws, PROTO_BATCH_MAX + 1) == 0);
	CHECK(refused(b.data, b.len));
	buf_free(&b);
	free(raws);
}

/* Random bytes and random mutations of valid messages never crash. */
static void
test_random(void)
{
	unsigned char r[256];
	struct buf b = { 0 };
	struct msg m;
	struct error err;
	struct store_raw raw = { "commit", 6 };
	int i, accepted = 0;

	for (i = 0; i < 20000; i++) {
		size_t n = randombytes_uniform(sizeof(r));

		randombytes_buf(r, n);
		if (proto_decode(r, n, &m, &err) == 0) {
			accepted++;
			proto_msg_free(&m);
		}
	}
	for (i = 0; i < 20000; i++) {
		switch (i % 3) {
		case 0:
			proto_hello(&b, "fw2", ROLE_REPLICA, 77, H, 1);
			break;
		case 1:
			proto_commits(&b, 5, 0, &raw, 1);
			break;
		default:
			proto_nack(&b, NACK_DIVERGED, 3, H, "why");
		}
		b.data[randombytes_uniform((uint32_t)b.len)] ^=
		    (char)(1 + randombytes_uniform(255));
		if (proto_decode(b.data, b.len, &m, &err) == 0)
			proto_msg_free(&m);
	}
	buf_free(&b);
	printf("random inputs accepted: %d (well-formed by chance)\n",
	    accepted);
	CHECK(accepted < 200);
}

/* A hello names a node of 1-63 bytes; peers' text is made printable. */
static void
test_text(void)
{
	struct buf b = { 0 };
	struct msg m;
	struct error err;

	CHECK(proto_hello(&b, "", ROLE_PRIMARY, 1, H, 1) == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == -1);
	CHECK(proto_hello(&b, "f", ROLE_PRIMARY, 1, H, 1) == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0);
	CHECK(proto_hello(&b, "fw\x1b[2J\n", ROLE_PRIMARY, 1, H, 1) == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0);
	CHECK_STR(m.node, "fw?[2J?");
	CHECK(proto_nack(&b, NACK_REJECTED, 1, H,
	    "no\r\nfw2: applied r9\x7f\t") == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0);
	CHECK_STR(m.text, "no??fw2: applied r9??");
	CHECK(proto_ack(&b, 1, H, 0, "") == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0);
	CHECK_STR(m.text, "");
	buf_free(&b);
}

/* Prepare and verdict round-trip; a verdict's lines are bounded. */
static void
test_prepare(void)
{
	struct buf b = { 0 }, enc = { 0 }, again = { 0 };
	struct msg m;
	struct error err;
	struct change *c, *d;
	struct value *v;
	char *lines[PROTO_LINES_MAX + 1], big[PROTO_TEXT_MAX + 2];
	const char *key;
	const struct value *dv;
	size_t i;

	CHECK((c = change_new()) != NULL);
	CHECK(value_string("10.0.0.3", 8, &v, &err) == 0);
	CHECK(change_set(c, "ntpd.listen@fw2", v, &err) == 0);
	CHECK(change_del(c, "ntpd.server", &err) == 0);
	CHECK(change_encode(c, &enc, &err) == 0);
	CHECK(proto_prepare(&b, 77, 41, H, enc.data, enc.len) == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0);
	CHECK(m.type == MSG_PREPARE && m.id == 77 && m.head == 41);
	CHECK(memcmp(m.hash, H, STORE_HASH_LEN) == 0);
	CHECK(m.change_len == enc.len &&
	    memcmp(m.change, enc.data, enc.len) == 0);
	/* The change comes back whole, in its order, deletes as deletes. */
	CHECK(change_decode(m.change, m.change_len, &d, &err) == 0);
	CHECK(change_count(d) == 2);
	change_op_at(d, 0, &key, &dv);
	CHECK_STR(key, "ntpd.listen@fw2");
	CHECK(dv != NULL && value_equal(dv, v));
	change_op_at(d, 1, &key, &dv);
	CHECK_STR(key, "ntpd.server");
	CHECK(dv == NULL);
	CHECK(change_encode(d, &again, &err) == 0);
	CHECK(again.len == enc.len && memcmp(again.data, enc.data,
	    enc.len) == 0);
	change_free(d);
	proto_msg_free(&m);
	prefixes(&b);
	/* Every strict prefix of a change, and a stray byte, is refused. */
	for (i = 0; i < enc.len; i++) {
		CHECK(change_decode(enc.data, i, &d, &err) == -1);
		CHECK(err.code == ERR_MALFORMED);
	}
	CHECK(buf_append(&enc, "", 1) == 0);
	CHECK(change_decode(enc.data, enc.len, &d, &err) == -1);
	/* No change at all: check everything. */
	CHECK(proto_prepare(&b, 1, 0, H, "", 0) == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0);
	CHECK(m.change_len == 0);
	proto_msg_free(&m);

	for (i = 0; i <= PROTO_LINES_MAX; i++)
		lines[i] = "fw2: ntpd: /etc/ntpd.conf: syntax error";
	CHECK(proto_verdict(&b, 77, VERDICT_NO, lines, 2) == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0);
	CHECK(m.type == MSG_VERDICT && m.id == 77 && m.status == VERDICT_NO);
	CHECK(m.nlines == 2);
	CHECK_STR(m.lines[1], "fw2: ntpd: /etc/ntpd.conf: syntax error");
	proto_msg_free(&m);
	prefixes(&b);
	/* The encoder keeps to the limit; 65 lines on the wire are refused. */
	CHECK(proto_verdict(&b, 1, VERDICT_NO, lines, PROTO_LINES_MAX + 1) == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0);
	CHECK(m.nlines == PROTO_LINES_MAX);
	proto_msg_free(&m);
	buf_reset(&b);
	CHECK(buf_append(&b, "\x94\x08\x01\x01\xdc\x00\x41", 7) == 0);
	for (i = 0; i <= PROTO_LINES_MAX; i++)
		CHECK(buf_append(&b, "\xa1x", 2) == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == -1);
	b.data[6] = 0x40;	/* 64 lines, one byte left over */
	CHECK(proto_decode(b.data, b.len, &m, &err) == -1);
	CHECK(proto_decode(b.data, b.len - 2, &m, &err) == 0);
	CHECK(m.nlines == PROTO_LINES_MAX);
	proto_msg_free(&m);
	/* A line past the text limit is refused. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	lines[0] = big;
	CHECK(proto_verdict(&b, 1, VERDICT_NO, lines, 1) == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0);	/* cut */
	CHECK(strlen(m.lines[0]) == PROTO_TEXT_MAX);
	proto_msg_free(&m);
	CHECK(proto_verdict(&b, 1, VERDICT_YES, NULL, 0) == 0);
	CHECK(proto_decode(b.data, b.len, &m, &err) == 0);
	CHECK(m.nlines == 0 && m.lines == NULL);
	proto_msg_free(&m);
	value_free(v);
	change_free(c);
	buf_free(&b);
	buf_free(&enc);
	buf_free(&again);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	randombytes_buf(H, sizeof(H));
	test_roundtrip();
	test_shapes();
	test_batch_limit();
	test_text();
	test_prepare();
	test_random();
	return check_done();
}
