/*
 * records.c - what a node remembers across restarts: local records.
 *
 * One local record per peer, "repl.peer.NAME", so that `cfgstore
 * status` can say how far a peer had got even when the daemon is not
 * running; and "carp.demote" (demote.c).  The encoding is every local
 * record's (docs/FORMAT.md): a msgpack map of named fields, read with
 * the bounded reader, fields this reader does not know skipped.
 */
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "mpread.h"
#include "repl_int.h"

#define RECORD_PREFIX	"repl.peer."

/* ---- any local record ---------------------------------------------------- */

int
rec_read(struct store *s, const char *name, rec_field_fn fn, void *arg)
{
	struct buf b = { 0 };
	struct mpr m;
	char key[32];
	const char *k;
	uint32_t n, klen;
	int rc = -1, r;

	if (store_local_get(s, name, &b, NULL) == -1)
		return -1;
	mpr_init(&m, b.data, b.len);
	if (mpr_map(&m, &n) == -1)
		goto done;
	while (n-- > 0) {
		if (mpr_str(&m, &k, &klen) == -1 || klen >= sizeof(key))
			goto done;
		memcpy(key, k, klen);
		key[klen] = '\0';
		if ((r = fn(arg, key, &m)) == -1)
			goto done;
		if (r == 1 && mpr_skip(&m) == -1)	/* not one it knows */
			goto done;
	}
	rc = 0;
done:
	buf_free(&b);
	return rc;
}

int
rec_text(struct mpr *m, char *out, size_t len)
{
	const char *t;
	uint32_t tlen;

	if (mpr_str(m, &t, &tlen) == -1)
		return -1;
	snprintf(out, len, "%.*s", (int)tlen, t);
	return 0;
}

static int
sbuf_write(void *data, const char *p, size_t len)
{
	return buf_append(data, p, len);
}

void
rec_map(struct buf *b, size_t n)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, b, sbuf_write);
	msgpack_pack_map(&pk, n);
}

void
rec_uint(struct buf *b, const char *key, uint64_t v)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, b, sbuf_write);
	msgpack_pack_str_with_body(&pk, key, strlen(key));
	msgpack_pack_uint64(&pk, v);
}

void
rec_str(struct buf *b, const char *key, const char *v)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, b, sbuf_write);
	msgpack_pack_str_with_body(&pk, key, strlen(key));
	msgpack_pack_str_with_body(&pk, v, strlen(v));
}

int
rec_write(struct store *s, const char *name, struct buf *b, struct error *err)
{
	int rc;

	if (b->data == NULL)
		rc = error_set(err, ERR_FAIL, "out of memory");
	else
		rc = store_local_put(s, name, b->data, b->len, err);
	buf_free(b);
	return rc;
}

/* ---- a peer's ------------------------------------------------------------ */

static void
record_name(char *out, size_t len, const char *peer)
{
	snprintf(out, len, RECORD_PREFIX "%s", peer);
}

static int
peer_field(void *arg, const char *key, struct mpr *m)
{
	struct peer_record *r = arg;

	if (strcmp(key, "error") == 0)
		return rec_text(m, r->error, sizeof(r->error));
	if (strcmp(key, "acked") == 0)
		return mpr_uint(m, &r->acked);
	if (strcmp(key, "acked_ms") == 0)
		return mpr_uint(m, &r->acked_ms);
	if (strcmp(key, "head") == 0)
		return mpr_uint(m, &r->peer_head);
	if (strcmp(key, "error_ms") == 0)
		return mpr_uint(m, &r->error_ms);
	return 1;
}

void
record_load(struct store *s, const char *name, struct peer_record *r)
{
	char rname[128];

	memset(r, 0, sizeof(*r));
	record_name(rname, sizeof(rname), name);
	/* What decoded before a bad field is kept, as before. */
	rec_read(s, rname, peer_field, r);
}

int
record_save(struct store *s, const char *name, const struct peer_record *r,
    struct error *err)
{
	struct buf b = { 0 };
	char rname[128];

	rec_map(&b, 5);
	rec_uint(&b, "acked", r->acked);
	rec_uint(&b, "acked_ms", r->acked_ms);
	rec_uint(&b, "head", r->peer_head);
	rec_uint(&b, "error_ms", r->error_ms);
	rec_str(&b, "error", r->error);
	record_name(rname, sizeof(rname), name);
	return rec_write(s, rname, &b, err);
}
