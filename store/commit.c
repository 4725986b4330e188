/*
 * commit.c - the signed commit record: its bytes, hash and signature.
 *
 * docs/FORMAT.md is the specification; this file is one implementation.
 * Signed bytes are an envelope [signer, body, signature] around the body,
 * so a receiver can check the signature before it decodes anything else.
 */
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "mpread.h"
#include "store_int.h"

#define COMMIT_MAGIC	"cfgstore-commit"
/*
 * Version 1 bodies have ten fields; version 2 adds an eleventh, the
 * flags, never zero: a commit without flags is written as version 1, so
 * every commit still has one spelling and old records stay as they are.
 */
#define COMMIT_VERSION		1
#define COMMIT_VERSION_FLAGS	2
#define BODY_FIELDS		10
/*
 * The fields a flag carries follow the flags, one per such flag set, in
 * the order of the bits: COMMIT_CONFIRM's window, COMMIT_PROMOTE's epoch.
 */
#define FLAG_FIELDS(f)		((((f) & COMMIT_CONFIRM) ? 1u : 0u) + \
				 (((f) & COMMIT_PROMOTE) ? 1u : 0u))

struct op {
	enum commit_op	 op;
	char		*key;
	struct value	*old;
	struct value	*new;
};

struct commit {
	uint64_t	 rev;
	unsigned char	 parent[STORE_HASH_LEN];
	unsigned char	 hash[STORE_HASH_LEN];
	unsigned char	 signer[STORE_PUBKEY_LEN];
	char		*author;
	char		*node;
	char		*message;
	uint64_t	 time_ms;
	uint64_t	 flags;
	uint32_t	 confirm;	/* COMMIT_CONFIRM: seconds */
	uint64_t	 epoch;		/* COMMIT_PROMOTE's field, else 0 */
	size_t		 nops;
	struct op	*ops;
};

static void
pack_text(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void
pack_value(msgpack_sbuffer *sb, msgpack_packer *pk, const struct value *v)
{
	const void *enc;
	size_t len;

	if (v == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	enc = value_encoded(v, &len);
	msgpack_sbuffer_write(sb, enc, len);
}

/* What is signed: a context string, then the body's BLAKE2b-256 hash. */
static void
sig_input(const unsigned char hash[STORE_HASH_LEN],
    unsigned char out[sizeof(COMMIT_SIG_CONTEXT) + STORE_HASH_LEN])
{
	memcpy(out, COMMIT_SIG_CONTEXT, sizeof(COMMIT_SIG_CONTEXT));
	memcpy(out + sizeof(COMMIT_SIG_CONTEXT), hash, STORE_HASH_LEN);
}

/*
 * The body's canonical bytes (msgpack-c packs every item in its shortest
 * form): what commit_make signs, and what decode_body insists a received
 * body is, byte for byte.
 */
static void
encode_body(const struct commit_in *in, const unsigned char *signer,
    msgpack_sbuffer *body)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(body);
	msgpack_packer_init(&pk, body, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, BODY_FIELDS + (in->flags != 0) +
	    FLAG_FIELDS(in->flags));
	pack_text(&pk, COMMIT_MAGIC);
	msgpack_pack_uint64(&pk, in->flags ? COMMIT_VERSION_FLAGS :
	    COMMIT_VERSION);
	msgpack_pack_uint64(&pk, in->rev);
	msgpack_pack_bin_with_body(&pk, in->parent, STORE_HASH_LEN);
	pack_text(&pk, in->author);
	pack_text(&pk, in->node);
	msgpack_pack_uint64(&pk, in->time_ms);
	pack_text(&pk, in->message);
	msgpack_pack_bin_with_body(&pk, signer, STORE_PUBKEY_LEN);
	msgpack_pack_array(&pk, in->nops);
	for (size_t i = 0; i < in->nops; i++) {
		msgpack_pack_array(&pk, 4);
		msgpack_pack_uint64(&pk, in->ops[i].op);
		pack_text(&pk, in->ops[i].key);
		pack_value(body, &pk, in->ops[i].old);
		pack_value(body, &pk, in->ops[i].new);
	}
	if (in->flags != 0)
		msgpack_pack_uint64(&pk, in->flags);
	if (in->flags & COMMIT_CONFIRM)
		msgpack_pack_uint64(&pk, in->confirm);
	if (in->flags & COMMIT_PROMOTE)
		msgpack_pack_uint64(&pk, in->epoch);
}

/* The envelope's canonical bytes around a body and its signature. */
static void
encode_envelope(const unsigned char *signer, const void *body, size_t len,
    const unsigned char *sig, msgpack_sbuffer *env)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(env);
	msgpack_packer_init(&pk, env, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_bin_with_body(&pk, signer, STORE_PUBKEY_LEN);
	msgpack_pack_bin_with_body(&pk, body, len);
	msgpack_pack_bin_with_body(&pk, sig, STORE_SIG_LEN);
}

int
commit_make(const struct commit_in *in, const struct identity *id,
    struct buf *out, unsigned char hash[STORE_HASH_LEN], struct error *err)
{
	unsigned char tosign[sizeof(COMMIT_SIG_CONTEXT) + STORE_HASH_LEN];
	unsigned char sig[STORE_SIG_LEN];
	msgpack_sbuffer body, env;
	int rc = -1;

	encode_body(in, identity_public(id), &body);
	if (body.data == NULL || body.size > STORE_COMMIT_MAX - 256) {
		error_set(err, ERR_INPUT, "commit too large (limit %u bytes)",
		    STORE_COMMIT_MAX);
		goto done;
	}
	crypto_generichash(hash, STORE_HASH_LEN, (unsigned char *)body.data,
	    body.size, NULL, 0);
	sig_input(hash, tosign);
	identity_sign(id, tosign, sizeof(tosign), sig);

	encode_envelope(identity_public(id), body.data, body.size, sig, &env);
	buf_reset(out);
	rc = buf_append(out, env.data, env.size);
	if (rc == -1)
		error_errno(err, ERR_FAIL, "commit");
	msgpack_sbuffer_destroy(&env);
done:
	msgpack_sbuffer_destroy(&body);
	return rc;
}

/* The size of the shortest bin header for n bytes. */
static size_t
bin_header(size_t n)
{
	return n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/* The envelope's three parts, pointing into raw. */
static int
envelope_split(const void *raw, size_t len, const unsigned char **signer,
    const void **body, uint32_t *body_len, const unsigned char **sig,
    struct error *err)
{
	struct mpr r;
	const void *p;
	uint32_t n, plen;

	if (len > STORE_COMMIT_MAX)
		return error_set(err, ERR_MALFORMED, "commit larger than %u bytes",
		    STORE_COMMIT_MAX);
	mpr_init(&r, raw, len);
	if (mpr_array(&r, &n) == -1 || n != 3 ||
	    mpr_bin(&r, &p, &plen) == -1 || plen != STORE_PUBKEY_LEN)
		return error_set(err, ERR_MALFORMED, "malformed commit envelope");
	*signer = p;
	if (mpr_bin(&r, body, body_len) == -1 ||
	    mpr_bin(&r, &p, &plen) == -1 || plen != STORE_SIG_LEN ||
	    mpr_left(&r) != 0)
		return error_set(err, ERR_MALFORMED, "malformed commit envelope");
	*sig = p;
	/* Only the shortest headers: one record, one spelling. */
	if (len != 1 + bin_header(STORE_PUBKEY_LEN) + STORE_PUBKEY_LEN +
	    bin_header(*body_len) + *body_len + bin_header(STORE_SIG_LEN) +
	    STORE_SIG_LEN)
		return error_set(err, ERR_MALFORMED,
		    "commit envelope not in canonical form");
	return 0;
}

int
commit_envelope(const void *raw, size_t len,
    unsigned char signer[STORE_PUBKEY_LEN],
    unsigned char hash[STORE_HASH_LEN], struct error *err)
{
	/* Set by envelope_split when it succeeds; NULL quiets -O2. */
	const unsigned char *s = NULL, *sig = NULL;
	const void *body;
	uint32_t body_len;

	if (envelope_split(raw, len, &s, &body, &body_len, &sig, err) == -1)
		return -1;
	memcpy(signer, s, STORE_PUBKEY_LEN);
	if (hash != NULL)
		crypto_generichash(hash, STORE_HASH_LEN, body, body_len, NULL,
		    0);
	return 0;
}

static int
take_text(struct mpr *r, char **out)
{
	const char *s;
	uint32_t len;

	if (mpr_str(r, &s, &len) == -1 || memchr(s, '\0', len) != NULL ||
	    (*out = strndup(s, len)) == NULL)
		return -1;
	return 0;
}

static int
take_value(struct mpr *r, struct value **out, struct error *err)
{
	const void *p;
	size_t len;

	*out = NULL;
	if (mpr_peek(r) == MPR_NIL)
		return mpr_nil(r);
	if (mpr_span(r, &p, &len) == -1)
		return -1;
	return value_decode(p, len, out, err);
}

/*
 * A body that decodes must also be the one spelling of what it says
 * (docs/FORMAT.md): operations sorted by key, one per key, and every
 * item in its shortest form, which re-encoding it shows.  Otherwise two
 * records with different hashes would say the same thing.
 */
static int
canonical_check(const struct commit *c, const void *body, size_t len,
    struct error *err)
{
	struct commit_op_in *ops = NULL;
	struct commit_in in;
	msgpack_sbuffer again;
	int same;

	for (size_t i = 1; i < c->nops; i++)
		if (strcmp(c->ops[i - 1].key, c->ops[i].key) >= 0)
			return error_set(err, ERR_MALFORMED, "malformed commit "
			    "r%llu: operations not sorted by key, one per key",
			    (unsigned long long)c->rev);
	if (c->nops > 0 && (ops = calloc(c->nops, sizeof(*ops))) == NULL)
		return error_errno(err, ERR_FAIL, "commit");
	for (size_t i = 0; i < c->nops; i++) {
		ops[i].op = c->ops[i].op;
		ops[i].key = c->ops[i].key;
		ops[i].old = c->ops[i].old;
		ops[i].new = c->ops[i].new;
	}
	in.rev = c->rev;
	in.parent = c->parent;
	in.author = c->author;
	in.node = c->node;
	in.time_ms = c->time_ms;
	in.message = c->message;
	in.flags = c->flags;
	in.confirm = c->confirm;
	in.epoch = c->epoch;
	in.ops = ops;
	in.nops = c->nops;
	encode_body(&in, c->signer, &again);
	same = again.data != NULL && again.size == len &&
	    memcmp(again.data, body, len) == 0;
	msgpack_sbuffer_destroy(&again);
	free(ops);
	if (!same)
		return error_set(err, ERR_MALFORMED, "malformed commit r%llu: not "
		    "in canonical form", (unsigned long long)c->rev);
	return 0;
}

/*
 * The fields the flags carry, and what the flags allow: a confirmed
 * commit has a window of 1 to STORE_CONFIRM_MAX seconds; a confirmation
 * has no operations and is not itself confirmed.
 */
static int
flags_check(struct commit *c, struct mpr *r)
{
	uint64_t window;

	if (c->flags & COMMIT_CONFIRM) {
		if (mpr_uint(r, &window) == -1 || window == 0 ||
		    window > STORE_CONFIRM_MAX)
			return -1;
		c->confirm = (uint32_t)window;
	}
	if ((c->flags & COMMIT_CONFIRMS) &&
	    (c->nops != 0 || (c->flags & COMMIT_CONFIRM)))
		return -1;
	/*
	 * Epoch 1 is r1's primary's: a promote starts a later one.  It only
	 * names a primary: no operations, and no other flag (which a
	 * promote made by store_promote never has), so one spelling.
	 */
	if ((c->flags & COMMIT_PROMOTE) &&
	    (mpr_uint(r, &c->epoch) == -1 || c->epoch < 2 ||
	    c->flags != COMMIT_PROMOTE || c->nops != 0))
		return -1;
	return 0;
}

static int
decode_body(struct commit *c, const void *body, size_t len, struct error *err)
{
	const char *magic;
	const void *p;
	uint64_t version, op;
	uint32_t nfields, n, mlen, plen;
	struct mpr r;

	mpr_init(&r, body, len);
	if (mpr_array(&r, &nfields) == -1 ||
	    nfields < BODY_FIELDS || nfields > BODY_FIELDS + 3 ||
	    mpr_str(&r, &magic, &mlen) == -1 ||
	    mlen != strlen(COMMIT_MAGIC) || memcmp(magic, COMMIT_MAGIC, mlen) ||
	    mpr_uint(&r, &version) == -1 ||
	    version != (nfields == BODY_FIELDS ? COMMIT_VERSION :
	    COMMIT_VERSION_FLAGS) ||
	    mpr_uint(&r, &c->rev) == -1 ||
	    mpr_bin(&r, &p, &plen) == -1 || plen != STORE_HASH_LEN)
		goto bad;
	memcpy(c->parent, p, STORE_HASH_LEN);
	if (take_text(&r, &c->author) == -1 || take_text(&r, &c->node) == -1 ||
	    mpr_uint(&r, &c->time_ms) == -1 ||
	    take_text(&r, &c->message) == -1 ||
	    mpr_bin(&r, &p, &plen) == -1 || plen != STORE_PUBKEY_LEN)
		goto bad;
	if (sodium_memcmp(p, c->signer, STORE_PUBKEY_LEN) != 0)
		return error_set(err, ERR_MALFORMED,
		    "commit body names another signer than its envelope");
	if (mpr_array(&r, &n) == -1)
		goto bad;
	if (n > 0 && (c->ops = calloc(n, sizeof(*c->ops))) == NULL)
		return error_errno(err, ERR_FAIL, "commit");
	for (uint32_t i = 0; i < n; i++) {
		struct op *o = &c->ops[i];
		uint32_t fields;

		c->nops = i + 1;
		if (mpr_array(&r, &fields) == -1 || fields != 4 ||
		    mpr_uint(&r, &op) == -1 || op > COMMIT_DEL ||
		    take_text(&r, &o->key) == -1)
			goto bad;
		o->op = (enum commit_op)op;
		if (key_check(o->key, err) == -1 ||
		    take_value(&r, &o->old, err) == -1 ||
		    take_value(&r, &o->new, err) == -1)
			goto bad;
		if ((o->op == COMMIT_DEL) != (o->new == NULL))
			goto bad;
	}
	/* Zero flags would be a second spelling of a version 1 body. */
	if (nfields > BODY_FIELDS &&
	    (mpr_uint(&r, &c->flags) == -1 || c->flags == 0 ||
	    (c->flags & ~(uint64_t)COMMIT_FLAGS_KNOWN) != 0 ||
	    nfields != BODY_FIELDS + 1 + FLAG_FIELDS(c->flags)))
		goto bad;
	if (flags_check(c, &r) == -1)
		goto bad;
	if (mpr_left(&r) != 0)
		goto bad;
	return canonical_check(c, body, len, err);
bad:
	if (err != NULL && err->code != ERR_OK && err->msg[0] != '\0')
		return error_wrap(err, "malformed commit r%llu",
		    (unsigned long long)c->rev);
	return error_set(err, ERR_MALFORMED, "malformed commit body");
}

/*
 * The one way into signed bytes: the envelope split once, the signer
 * asked about (trust, when not NULL) before anything else, the signature
 * verified once, and only then the body decoded.
 */
int
commit_parse_trusted(const void *raw, size_t len, commit_trust_fn trust,
    void *arg, struct commit **out, struct error *err)
{
	unsigned char tosign[sizeof(COMMIT_SIG_CONTEXT) + STORE_HASH_LEN];
	const unsigned char *signer = NULL, *sig = NULL;
	const void *body;
	uint32_t body_len;
	struct commit *c;

	*out = NULL;
	if (envelope_split(raw, len, &signer, &body, &body_len, &sig,
	    err) == -1)
		return -1;
	if (trust != NULL && trust(arg, signer, err) == -1)
		return -1;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return error_errno(err, ERR_FAIL, "commit");
	memcpy(c->signer, signer, STORE_PUBKEY_LEN);
	crypto_generichash(c->hash, STORE_HASH_LEN, body, body_len, NULL, 0);
	sig_input(c->hash, tosign);
	if (crypto_sign_verify_detached(sig, tosign, sizeof(tosign),
	    signer) != 0) {
		error_set(err, ERR_BADSIG, "bad signature");
		goto fail;
	}
	error_clear(err);
	if (decode_body(c, body, body_len, err) == -1)
		goto fail;
	*out = c;
	return 0;
fail:
	commit_free(c);
	return -1;
}

int
commit_parse(const void *raw, size_t len, struct commit **out,
    struct error *err)
{
	return commit_parse_trusted(raw, len, NULL, NULL, out, err);
}

uint64_t commit_rev(const struct commit *c) { return c->rev; }
const unsigned char *commit_parent(const struct commit *c) { return c->parent; }
const unsigned char *commit_hash(const struct commit *c) { return c->hash; }
const unsigned char *commit_signer(const struct commit *c) { return c->signer; }
const char *commit_author(const struct commit *c) { return c->author; }
const char *commit_node(const struct commit *c) { return c->node; }
uint64_t commit_time_ms(const struct commit *c) { return c->time_ms; }
const char *commit_message(const struct commit *c) { return c->message; }
uint64_t commit_flags(const struct commit *c) { return c->flags; }
uint32_t commit_confirm_window(const struct commit *c) { return c->confirm; }
uint64_t commit_epoch(const struct commit *c) { return c->epoch; }
size_t commit_op_count(const struct commit *c) { return c->nops; }

void
commit_op(const struct commit *c, size_t i, enum commit_op *op,
    const char **key, const struct value **old, const struct value **new)
{
	const struct op *o = &c->ops[i];

	if (op != NULL)
		*op = o->op;
	if (key != NULL)
		*key = o->key;
	if (old != NULL)
		*old = o->old;
	if (new != NULL)
		*new = o->new;
}

void
commit_free(struct commit *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nops; i++) {
		free(c->ops[i].key);
		value_free(c->ops[i].old);
		value_free(c->ops[i].new);
	}
	free(c->ops);
	free(c->author);
	free(c->node);
	free(c->message);
	free(c);
}
