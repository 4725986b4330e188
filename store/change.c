/*
 * change.c - a change as bytes, so a node can hand what it is about to
 * commit to another for checking (docs/PROTOCOL.md, "prepare").
 *
 * An array of operations in the order they were added, each [key, value]
 * with the value in its canonical encoding, or nil for a delete.  Read
 * back with the bounded reader: no count is believed beyond the bytes
 * that are there, every key and value is checked as change_set checks
 * what a user typed, and the bytes must be the canonical ones
 * (docs/FORMAT.md): encoding what was decoded gives them back.
 */
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "mpread.h"
#include "store_int.h"

static int
sink_write(void *data, const char *p, size_t len)
{
	return buf_append(data, p, len);
}

int
change_encode(const struct change *c, struct buf *out, struct error *err)
{
	msgpack_packer pk;
	const struct value *v;
	const char *key;
	const void *enc;
	size_t i, n = change_count(c), len;
	int rc = 0;

	buf_reset(out);
	msgpack_packer_init(&pk, out, sink_write);
	rc |= msgpack_pack_array(&pk, n);
	for (i = 0; i < n && rc == 0; i++) {
		change_op_at(c, i, &key, &v);
		rc |= msgpack_pack_array(&pk, 2);
		rc |= msgpack_pack_str_with_body(&pk, key, strlen(key));
		if (v == NULL)
			rc |= msgpack_pack_nil(&pk);
		else {
			enc = value_encoded(v, &len);
			rc |= buf_append(out, enc, len);
		}
	}
	if (rc != 0)
		return error_errno(err, ERR_FAIL, "encoding a change");
	if (out->len > STORE_CHANGE_MAX)
		return error_set(err, ERR_INPUT, "change too large: %zu bytes "
		    "(limit %u)", out->len, STORE_CHANGE_MAX);
	return 0;
}

/* One [key, value] into c. */
static int
decode_op(struct mpr *r, struct change *c, struct error *err)
{
	char key[STORE_KEY_MAX + 1];
	struct value *v = NULL;
	const void *p;
	const char *s;
	uint32_t n;
	size_t len;
	int rc;

	if (mpr_array(r, &n) == -1 || n != 2)
		return error_set(err, ERR_MALFORMED, "operation: not [key, "
		    "value]");
	if (mpr_str(r, &s, &n) == -1 || n == 0 || n > STORE_KEY_MAX ||
	    memchr(s, '\0', n) != NULL)
		return error_set(err, ERR_MALFORMED, "operation: bad key");
	memcpy(key, s, n);
	key[n] = '\0';
	if (mpr_peek(r) == MPR_NIL) {
		if (mpr_nil(r) == -1)
			return error_set(err, ERR_MALFORMED, "truncated");
		return change_del(c, key, err);
	}
	if (mpr_span(r, &p, &len) == -1)
		return error_set(err, ERR_MALFORMED, "%s: truncated value", key);
	if (value_decode(p, len, &v, err) == -1)
		return error_wrap(err, "%s", key);
	rc = change_set(c, key, v, err);
	value_free(v);
	return rc;
}

int
change_decode(const void *p, size_t len, struct change **out,
    struct error *err)
{
	struct buf again = { 0 };
	struct change *c;
	struct mpr r;
	uint32_t n, i;
	int rc;

	*out = NULL;
	if (len > STORE_CHANGE_MAX)
		return error_set(err, ERR_MALFORMED, "change too large: %zu "
		    "bytes", len);
	mpr_init(&r, p, len);
	if (mpr_array(&r, &n) == -1)
		return error_set(err, ERR_MALFORMED, "change: not an array");
	if ((c = change_new()) == NULL)
		return error_errno(err, ERR_FAIL, "change");
	for (i = 0; i < n; i++)
		if (decode_op(&r, c, err) == -1) {
			error_wrap(err, "change: operation %lu",
			    (unsigned long)i + 1);
			err->code = err->code == ERR_FAIL ? ERR_FAIL :
			    ERR_MALFORMED;
			change_free(c);
			return -1;
		}
	if (mpr_left(&r) != 0) {
		change_free(c);
		return error_set(err, ERR_MALFORMED, "change: %zu bytes after "
		    "it", mpr_left(&r));
	}
	/* One spelling, as for commits: what it decodes to encodes back. */
	buf_secret(&again);
	if ((rc = change_encode(c, &again, err)) == 0 && (again.len != len ||
	    memcmp(again.data, p, len) != 0))
		rc = error_set(err, ERR_MALFORMED, "change: not canonical");
	buf_free_secret(&again);
	if (rc == -1) {
		change_free(c);
		return -1;
	}
	*out = c;
	return 0;
}
