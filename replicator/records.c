/*
 * records.c - what a node remembers of each peer across restarts.
 *
 * One local record per peer, "repl.peer.NAME", so that `cfgstore
 * status` can say how far a peer had got even when the daemon is not
 * running.  The encoding is every local record's (docs/FORMAT.md): a
 * msgpack map of named fields, read with the bounded reader, fields
 * this reader does not know skipped.
 */
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "mpread.h"
#include "repl_int.h"

#define RECORD_PREFIX	"repl.peer."

static void
record_name(char *out, size_t len, const char *peer)
{
	snprintf(out, len, RECORD_PREFIX "%s", peer);
}

void
record_load(struct store *s, const char *name, struct peer_record *r)
{
	struct buf b = { 0 };
	struct mpr m;
	char rname[128], key[16];
	const char *k, *t;
	uint32_t n, klen, tlen;
	uint64_t v;

	memset(r, 0, sizeof(*r));
	record_name(rname, sizeof(rname), name);
	if (store_local_get(s, rname, &b, NULL) == -1)
		return;
	mpr_init(&m, b.data, b.len);
	if (mpr_map(&m, &n) == -1)
		goto done;
	while (n-- > 0) {
		if (mpr_str(&m, &k, &klen) == -1 || klen >= sizeof(key))
			break;
		memcpy(key, k, klen);
		key[klen] = '\0';
		if (strcmp(key, "error") == 0) {
			if (mpr_str(&m, &t, &tlen) == -1)
				break;
			snprintf(r->error, sizeof(r->error), "%.*s",
			    (int)tlen, t);
			continue;
		}
		if (strcmp(key, "acked") != 0 && strcmp(key, "acked_ms") != 0 &&
		    strcmp(key, "head") != 0 && strcmp(key, "error_ms") != 0) {
			if (mpr_skip(&m) == -1)
				break;
			continue;
		}
		if (mpr_uint(&m, &v) == -1)
			break;
		if (strcmp(key, "acked") == 0)
			r->acked = v;
		else if (strcmp(key, "acked_ms") == 0)
			r->acked_ms = v;
		else if (strcmp(key, "head") == 0)
			r->peer_head = v;
		else if (strcmp(key, "error_ms") == 0)
			r->error_ms = v;
	}
done:
	buf_free(&b);
}

static int
sbuf_write(void *data, const char *p, size_t len)
{
	return buf_append(data, p, len);
}

static void
pack_uint(msgpack_packer *pk, const char *key, uint64_t v)
{
	msgpack_pack_str_with_body(pk, key, strlen(key));
	msgpack_pack_uint64(pk, v);
}

int
record_save(struct store *s, const char *name, const struct peer_record *r,
    struct error *err)
{
	struct buf b = { 0 };
	msgpack_packer pk;
	char rname[128];
	int rc;

	msgpack_packer_init(&pk, &b, sbuf_write);
	msgpack_pack_map(&pk, 5);
	pack_uint(&pk, "acked", r->acked);
	pack_uint(&pk, "acked_ms", r->acked_ms);
	pack_uint(&pk, "head", r->peer_head);
	pack_uint(&pk, "error_ms", r->error_ms);
	msgpack_pack_str_with_body(&pk, "error", 5);
	msgpack_pack_str_with_body(&pk, r->error, strlen(r->error));
	record_name(rname, sizeof(rname), name);
	if (b.data == NULL)
		rc = error_set(err, ERR_FAIL, "out of memory");
	else
		rc = store_local_put(s, rname, b.data, b.len, err);
	buf_free(&b);
	return rc;
}
