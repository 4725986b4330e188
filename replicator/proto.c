/*
 * proto.c - encoding and decoding the replication messages.
 *
 * Decoding is strict in the manner of ntpd's imsg dispatch: the element
 * count of each type is exact, every field has one type, text has a
 * length limit and no NUL, and nothing may follow the message.
 */
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "mpread.h"
#include "proto.h"

/* The packer writes here; a failed append is remembered, not lost. */
struct sink {
	struct buf	*b;
	int		 failed;
};

static int
sink_write(void *data, const char *p, size_t len)
{
	struct sink *k = data;

	if (buf_append(k->b, p, len) == -1) {
		k->failed = 1;
		return -1;
	}
	return 0;
}

static void
packer(struct buf *out, struct sink *k, msgpack_packer *pk)
{
	buf_reset(out);
	k->b = out;
	k->failed = 0;
	msgpack_packer_init(pk, k, sink_write);
}

static void
pack_text(msgpack_packer *pk, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	msgpack_pack_str_with_body(pk, s, n);
}

static int
done(const struct sink *k)
{
	return k->failed ? -1 : 0;
}

int
proto_hello(struct buf *out, const char *node, enum proto_role role,
    uint64_t head, const unsigned char hash[STORE_HASH_LEN], uint64_t epoch)
{
	msgpack_packer pk;
	struct sink k;

	packer(out, &k, &pk);
	msgpack_pack_array(&pk, 7);
	msgpack_pack_uint64(&pk, MSG_HELLO);
	msgpack_pack_uint64(&pk, PROTO_VERSION);
	pack_text(&pk, node, STORE_NODE_MAX);
	msgpack_pack_uint64(&pk, role);
	msgpack_pack_uint64(&pk, head);
	msgpack_pack_bin_with_body(&pk, hash, STORE_HASH_LEN);
	msgpack_pack_uint64(&pk, epoch);
	return done(&k);
}

int
proto_commits(struct buf *out, uint64_t head, int more,
    const struct store_raw *raws, size_t n)
{
	msgpack_packer pk;
	struct sink k;
	size_t i;

	packer(out, &k, &pk);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint64(&pk, MSG_COMMITS);
	msgpack_pack_uint64(&pk, head);
	msgpack_pack_uint64(&pk, more ? 1 : 0);
	msgpack_pack_array(&pk, n);
	for (i = 0; i < n; i++)
		msgpack_pack_bin_with_body(&pk, raws[i].data, raws[i].len);
	return done(&k);
}

int
proto_ack(struct buf *out, uint64_t head,
    const unsigned char hash[STORE_HASH_LEN], int failed, const char *summary)
{
	msgpack_packer pk;
	struct sink k;

	packer(out, &k, &pk);
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint64(&pk, MSG_ACK);
	msgpack_pack_uint64(&pk, head);
	msgpack_pack_bin_with_body(&pk, hash, STORE_HASH_LEN);
	msgpack_pack_uint64(&pk, failed ? 1 : 0);
	pack_text(&pk, summary, PROTO_TEXT_MAX);
	return done(&k);
}

int
proto_nack(struct buf *out, enum proto_nack reason, uint64_t head,
    const unsigned char hash[STORE_HASH_LEN], const char *text)
{
	msgpack_packer pk;
	struct sink k;

	packer(out, &k, &pk);
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint64(&pk, MSG_NACK);
	msgpack_pack_uint64(&pk, reason);
	msgpack_pack_uint64(&pk, head);
	msgpack_pack_bin_with_body(&pk, hash, STORE_HASH_LEN);
	pack_text(&pk, text, PROTO_TEXT_MAX);
	return done(&k);
}

int
proto_prepare(struct buf *out, uint64_t id, uint64_t base,
    const unsigned char hash[STORE_HASH_LEN], const void *change, size_t len)
{
	msgpack_packer pk;
	struct sink k;

	packer(out, &k, &pk);
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint64(&pk, MSG_PREPARE);
	msgpack_pack_uint64(&pk, id);
	msgpack_pack_uint64(&pk, base);
	msgpack_pack_bin_with_body(&pk, hash, STORE_HASH_LEN);
	msgpack_pack_bin_with_body(&pk, change, len);
	return done(&k);
}

int
proto_verdict(struct buf *out, uint64_t id, enum proto_verdict status,
    char *const *lines, size_t n)
{
	msgpack_packer pk;
	struct sink k;
	size_t i;

	if (n > PROTO_LINES_MAX)
		n = PROTO_LINES_MAX;
	packer(out, &k, &pk);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint64(&pk, MSG_VERDICT);
	msgpack_pack_uint64(&pk, id);
	msgpack_pack_uint64(&pk, status);
	msgpack_pack_array(&pk, n);
	for (i = 0; i < n; i++)
		pack_text(&pk, lines[i], PROTO_TEXT_MAX);
	return done(&k);
}

static int
pack_bare(struct buf *out, enum proto_type t)
{
	msgpack_packer pk;
	struct sink k;

	packer(out, &k, &pk);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint64(&pk, t);
	return done(&k);
}

int
proto_ping(struct buf *out)
{
	return pack_bare(out, MSG_PING);
}

int
proto_pong(struct buf *out)
{
	return pack_bare(out, MSG_PONG);
}

/* ---- decoding ---------------------------------------------------------- */

/*
 * Text from a peer ends up in logs, status and terminals: control
 * characters (an escape sequence, a newline that forges a log line)
 * become '?' as it is copied.
 */
static int
get_text(struct mpr *r, char *dst, size_t min, size_t max, const char *what,
    struct error *err)
{
	const char *s;
	uint32_t n, i;

	if (mpr_str(r, &s, &n) == -1)
		return error_set(err, ERR_INPUT, "%s: not a string", what);
	if (n < min || n > max || memchr(s, '\0', n) != NULL)
		return error_set(err, ERR_INPUT, "%s: bad text", what);
	for (i = 0; i < n; i++)
		dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		    s[i];
	dst[n] = '\0';
	return 0;
}

static int
get_hash(struct mpr *r, const unsigned char **hash, struct error *err)
{
	const void *p;
	uint32_t n;

	if (mpr_bin(r, &p, &n) == -1 || n != STORE_HASH_LEN)
		return error_set(err, ERR_INPUT, "hash: not %d bytes",
		    STORE_HASH_LEN);
	*hash = p;
	return 0;
}

static int
get_uint(struct mpr *r, uint64_t *v, uint64_t max, const char *what,
    struct error *err)
{
	if (mpr_uint(r, v) == -1 || *v > max)
		return error_set(err, ERR_INPUT, "%s: bad number", what);
	return 0;
}

static int
decode_commits(struct mpr *r, struct msg *m, struct error *err)
{
	uint64_t more;
	uint32_t n, i, len;
	const void *p;

	if (get_uint(r, &m->head, UINT64_MAX, "head", err) == -1 ||
	    get_uint(r, &more, 1, "more", err) == -1)
		return -1;
	m->more = (int)more;
	if (mpr_array(r, &n) == -1)
		return error_set(err, ERR_INPUT, "commits: not an array");
	if (n == 0 || n > PROTO_BATCH_MAX)
		return error_set(err, ERR_INPUT, "commits: %lu in one message "
		    "(1 to %d allowed)", (unsigned long)n, PROTO_BATCH_MAX);
	if ((m->raws = calloc(n, sizeof(*m->raws))) == NULL)
		return error_errno(err, ERR_FAIL, "commits");
	for (i = 0; i < n; i++) {
		if (mpr_bin(r, &p, &len) == -1)
			return error_set(err, ERR_INPUT, "commit %lu: not bytes",
			    (unsigned long)i);
		if (len == 0 || len > STORE_COMMIT_MAX)
			return error_set(err, ERR_INPUT, "commit %lu: %lu bytes",
			    (unsigned long)i, (unsigned long)len);
		m->raws[i].data = p;
		m->raws[i].len = len;
	}
	m->nraws = n;
	return 0;
}

static int
decode_prepare(struct mpr *r, struct msg *m, struct error *err)
{
	uint32_t len;

	if (get_uint(r, &m->id, UINT64_MAX, "id", err) == -1 ||
	    get_uint(r, &m->head, UINT64_MAX, "base", err) == -1 ||
	    get_hash(r, &m->hash, err) == -1)
		return -1;
	if (mpr_bin(r, &m->change, &len) == -1)
		return error_set(err, ERR_INPUT, "change: not bytes");
	if (len > STORE_CHANGE_MAX)
		return error_set(err, ERR_INPUT, "change: %lu bytes",
		    (unsigned long)len);
	m->change_len = len;
	return 0;
}

static int
decode_verdict(struct mpr *r, struct msg *m, struct error *err)
{
	uint64_t v;
	uint32_t n, i;
	char *text;

	if (get_uint(r, &m->id, UINT64_MAX, "id", err) == -1 ||
	    get_uint(r, &v, VERDICT_UNCHECKED, "status", err) == -1)
		return -1;
	m->status = (enum proto_verdict)v;
	if (mpr_array(r, &n) == -1)
		return error_set(err, ERR_INPUT, "lines: not an array");
	if (n > PROTO_LINES_MAX)
		return error_set(err, ERR_INPUT, "lines: %lu (at most %d)",
		    (unsigned long)n, PROTO_LINES_MAX);
	if (n == 0)
		return 0;
	/* The pointers, then a line's room each, in one block. */
	if ((m->lines = malloc(n * (sizeof(char *) + PROTO_TEXT_MAX + 1))) ==
	    NULL)
		return error_errno(err, ERR_FAIL, "verdict");
	text = (char *)(m->lines + n);
	for (i = 0; i < n; i++) {
		m->lines[i] = text + (size_t)i * (PROTO_TEXT_MAX + 1);
		if (get_text(r, m->lines[i], 0, PROTO_TEXT_MAX, "line",
		    err) == -1)
			return -1;
		m->nlines++;
	}
	return 0;
}

/* The element count of each type, after the type itself. */
static const uint32_t fields[] = {
	[MSG_HELLO] = 6, [MSG_COMMITS] = 3, [MSG_ACK] = 4, [MSG_NACK] = 4,
	[MSG_PING] = 0, [MSG_PONG] = 0, [MSG_PREPARE] = 4, [MSG_VERDICT] = 3,
};

int
proto_decode(const void *p, size_t len, struct msg *m, struct error *err)
{
	struct mpr r;
	uint32_t n;
	uint64_t t, v;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	m->node = m->nodebuf;
	m->text = m->textbuf;
	mpr_init(&r, p, len);
	if (mpr_array(&r, &n) == -1 || n == 0)
		return error_set(err, ERR_INPUT, "message is not an array");
	if (mpr_uint(&r, &t) == -1 || t < MSG_HELLO || t > MSG_VERDICT)
		return error_set(err, ERR_INPUT, "unknown message type");
	m->type = (enum proto_type)t;
	/* Version 1's hello, without the epoch: refused by its name. */
	if (t == MSG_HELLO && n - 1 == 5)
		return error_set(err, ERR_INPUT, "hello of protocol version 1 "
		    "(this node speaks version %d)", PROTO_VERSION);
	if (n - 1 != fields[t])
		return error_set(err, ERR_INPUT, "%s with %lu fields, expected "
		    "%lu", proto_type_name(m->type), (unsigned long)n - 1,
		    (unsigned long)fields[t]);
	switch (m->type) {
	case MSG_HELLO:
		if (get_uint(&r, &m->version, UINT64_MAX, "version",
		    err) == -1 ||
		    get_text(&r, m->nodebuf, 1, STORE_NODE_MAX, "node",
		    err) == -1 ||
		    get_uint(&r, &v, ROLE_PRIMARY, "role", err) == -1 ||
		    get_uint(&r, &m->head, UINT64_MAX, "head", err) == -1 ||
		    get_hash(&r, &m->hash, err) == -1)
			goto fail;
		m->role = (enum proto_role)v;
		if (get_uint(&r, &m->epoch, UINT64_MAX, "epoch", err) == -1)
			goto fail;
		if (m->epoch == 0) {
			error_set(err, ERR_INPUT, "hello with epoch 0");
			goto fail;
		}
		break;
	case MSG_COMMITS:
		if (decode_commits(&r, m, err) == -1)
			goto fail;
		break;
	case MSG_ACK:
		if (get_uint(&r, &m->head, UINT64_MAX, "head", err) == -1 ||
		    get_hash(&r, &m->hash, err) == -1 ||
		    get_uint(&r, &v, 1, "failed", err) == -1 ||
		    get_text(&r, m->textbuf, 0, PROTO_TEXT_MAX, "summary",
		    err) == -1)
			goto fail;
		m->failed = (int)v;
		break;
	case MSG_NACK:
		if (get_uint(&r, &v, NACK_ERROR, "reason", err) == -1)
			goto fail;
		if (v < NACK_GAP) {
			error_set(err, ERR_INPUT, "reason: bad number");
			goto fail;
		}
		m->reason = (enum proto_nack)v;
		if (get_uint(&r, &m->head, UINT64_MAX, "head", err) == -1 ||
		    get_hash(&r, &m->hash, err) == -1 ||
		    get_text(&r, m->textbuf, 0, PROTO_TEXT_MAX, "reason",
		    err) == -1)
			goto fail;
		break;
	case MSG_PREPARE:
		if (decode_prepare(&r, m, err) == -1)
			goto fail;
		break;
	case MSG_VERDICT:
		if (decode_verdict(&r, m, err) == -1)
			goto fail;
		break;
	case MSG_PING:
	case MSG_PONG:
		break;
	}
	if (mpr_left(&r) != 0 || r.failed) {
		error_set(err, ERR_INPUT, "%zu bytes after the %s message",
		    mpr_left(&r), proto_type_name(m->type));
		goto fail;
	}
	rc = 0;
fail:
	if (rc == -1) {
		err->code = ERR_INPUT;
		proto_msg_free(m);
	}
	return rc;
}

void
proto_msg_free(struct msg *m)
{
	free(m->raws);
	m->raws = NULL;
	m->nraws = 0;
	free(m->lines);
	m->lines = NULL;
	m->nlines = 0;
}

const char *
proto_type_name(enum proto_type t)
{
	static const char *names[] = { "?", "hello", "commits", "ack", "nack",
	    "ping", "pong", "prepare", "verdict" };

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

const char *
proto_nack_name(enum proto_nack r)
{
	static const char *names[] = { "?", "gap", "diverged", "rejected",
	    "error" };

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

const char *
proto_verdict_name(enum proto_verdict v)
{
	static const char *names[] = { "yes", "no", "cannot check" };

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}
