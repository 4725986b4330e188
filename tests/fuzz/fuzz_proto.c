/*
 * fuzz_proto.c - the replication messages a peer sends inside link frames
 * (proto_decode), and the envelope of each commit they carry.
 *
 * Whatever decodes is encoded again with the matching encoder and must
 * decode to the same message: nothing is accepted that the sender's side
 * could not have meant.  A prepare's change goes through the store's
 * change decoder as a replica's would.  See fuzz.h for how harnesses are built and run.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proto.h"

static int
encode(struct buf *out, const struct msg *m)
{
	switch (m->type) {
	case MSG_HELLO:
		return proto_hello(out, m->node, m->role, m->head, m->hash,
		    m->epoch);
	case MSG_COMMITS:
		return proto_commits(out, m->head, m->more, m->raws, m->nraws);
	case MSG_ACK:
		return proto_ack(out, m->head, m->hash, m->failed, m->text);
	case MSG_NACK:
		return proto_nack(out, m->reason, m->head, m->hash, m->text);
	case MSG_PING:
		return proto_ping(out);
	case MSG_PONG:
		return proto_pong(out);
	case MSG_PREPARE:
		return proto_prepare(out, m->id, m->head, m->hash, m->change,
		    m->change_len);
	case MSG_VERDICT:
		return proto_verdict(out, m->id, m->status, m->lines,
		    m->nlines);
	}
	abort();
}

static int
same(const struct msg *a, const struct msg *b)
{
	size_t i;

	if (a->type != b->type || a->head != b->head || a->role != b->role ||
	    a->more != b->more || a->failed != b->failed ||
	    a->reason != b->reason || a->nraws != b->nraws ||
	    a->id != b->id || a->status != b->status ||
	    a->change_len != b->change_len || a->nlines != b->nlines ||
	    (a->change_len > 0 && memcmp(a->change, b->change,
	    a->change_len) != 0) ||
	    a->epoch != b->epoch ||
	    strcmp(a->node, b->node) != 0 || strcmp(a->text, b->text) != 0 ||
	    (a->hash == NULL) != (b->hash == NULL) ||
	    (a->hash != NULL && memcmp(a->hash, b->hash, STORE_HASH_LEN) != 0))
		return 0;
	for (i = 0; i < a->nraws; i++)
		if (a->raws[i].len != b->raws[i].len ||
		    memcmp(a->raws[i].data, b->raws[i].data,
		    a->raws[i].len) != 0)
			return 0;
	for (i = 0; i < a->nlines; i++)
		if (strcmp(a->lines[i], b->lines[i]) != 0)
			return 0;
	return 1;
}

/* A change that decodes encodes back to the same bytes. */
static void
change_roundtrip(const struct msg *m)
{
	struct change *c = NULL;
	struct error err = { 0 };
	struct buf b = { 0 };

	if (m->change_len == 0 || change_decode(m->change, m->change_len, &c,
	    &err) == -1)
		return;
	if (change_encode(c, &b, &err) == -1 || b.len != m->change_len ||
	    memcmp(b.data, m->change, b.len) != 0)
		abort();
	change_free(c);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = { 0 };
	struct msg m, again;
	struct buf b = { 0 };
	unsigned char signer[STORE_PUBKEY_LEN], hash[STORE_HASH_LEN];
	size_t i;

	if (proto_decode(data, size, &m, &err) == -1) {
		if (err.code != ERR_INPUT || err.msg[0] == '\0')
			abort();	/* a refusal always says why */
		return 0;
	}
	/* The store's envelope parser on what a peer sends: no crash. */
	for (i = 0; i < m.nraws; i++)
		(void)commit_envelope(m.raws[i].data, m.raws[i].len, signer,
		    hash, NULL);
	change_roundtrip(&m);
	if (encode(&b, &m) == -1)
		abort();
	if (proto_decode(b.data, b.len, &again, &err) == -1 ||
	    !same(&m, &again))
		abort();
	proto_msg_free(&again);
	proto_msg_free(&m);
	buf_free(&b);
	return 0;
}
