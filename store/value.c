/*
 * value.c - typed values, kept in their canonical msgpack encoding.
 *
 * The encoding is what gets hashed into commits and what the state and
 * history tables hold, so a value is its encoding plus a small index for
 * the accessors.  Canonical means msgpack-c's smallest forms; value_decode
 * rebuilds the value and insists the bytes come out the same.
 */
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "mpread.h"
#include "store_int.h"
#include "utf8.h"

struct item {
	const char	*p;
	size_t		 len;
};

struct value {
	enum value_type	 type;
	unsigned char	*enc;
	size_t		 enc_len;
	const void	*payload;	/* string or blob bytes, inside enc */
	size_t		 payload_len;
	size_t		 nitems;
	struct item	*items;		/* list items, inside enc */
};

const char *
value_type_name(enum value_type t)
{
	switch (t) {
	case VALUE_STRING:
		return "string";
	case VALUE_LIST:
		return "list";
	case VALUE_BLOB:
		return "blob";
	}
	return "?";
}

/*
 * Strings end up inside config files, one per line or word, so they are
 * valid UTF-8 without control characters: a newline in a value would let
 * it write arbitrary lines into a config.  Multi-line text is a blob.
 * Commit messages are held to the same rule: a newline in one would
 * print as a forged line of `log`.
 */
int
text_check(const char *s, size_t len, enum text_kind kind, struct error *err)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	const char *what = kind == TEXT_VALUE ? "string value" : "message";

	while (p < end) {
		size_t n = utf8_char(p, (size_t)(end - p));

		if (n == 0)
			return error_set(err, ERR_BADVALUE, "%s is not valid UTF-8",
			    what);
		if (n == 1 && ((*p < 0x20 && *p != '\t') || *p == 0x7f))
			return error_set(err, ERR_BADVALUE,
			    "%s contains control character 0x%02x%s", what, *p,
			    kind == TEXT_VALUE ?
			    " (use --file for multi-line values)" :
			    " (one line of text)");
		p += n;
	}
	return 0;
}

/*
 * Takes the packed bytes (ownership) and indexes them with the bounded
 * reader.  The bytes are already known to be well formed.
 */
static int
finish(unsigned char *enc, size_t len, enum value_type type,
    struct value **out, struct error *err)
{
	struct value *v;
	struct mpr r;
	uint32_t n, slen;

	if ((v = calloc(1, sizeof(*v))) == NULL) {
		free(enc);
		return error_errno(err, ERR_FAIL, "value");
	}
	v->type = type;
	v->enc = enc;
	v->enc_len = len;
	mpr_init(&r, v->enc, v->enc_len);
	switch (type) {
	case VALUE_STRING:
		mpr_str(&r, (const char **)&v->payload, &slen);
		v->payload_len = slen;
		break;
	case VALUE_BLOB:
		mpr_bin(&r, &v->payload, &slen);
		v->payload_len = slen;
		break;
	case VALUE_LIST:
		mpr_array(&r, &n);
		if (n > 0 && (v->items = calloc(n, sizeof(*v->items))) == NULL) {
			value_free(v);
			return error_errno(err, ERR_FAIL, "value");
		}
		v->nitems = n;
		for (uint32_t i = 0; i < n; i++) {
			mpr_str(&r, &v->items[i].p, &slen);
			v->items[i].len = slen;
		}
		break;
	}
	*out = v;
	return 0;
}

/*
 * A packer writing into a buffer of exactly the size needed (payload plus
 * at most 5 header bytes per item): msgpack-c's default 8 KiB start per
 * buffer would make a 100,000-key batch cost gigabytes of page faults.
 */
static int
packer_start(msgpack_sbuffer *sb, msgpack_packer *pk, size_t size,
    struct error *err)
{
	msgpack_sbuffer_init(sb);
	if ((sb->data = malloc(size)) == NULL)
		return error_errno(err, ERR_FAIL, "value");
	sb->alloc = size;
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	return 0;
}

static int
size_check(size_t len, struct error *err)
{
	if (len > STORE_VALUE_MAX)
		return error_set(err, ERR_BADVALUE,
		    "value too large: %zu bytes (limit %u)", len,
		    STORE_VALUE_MAX);
	return 0;
}

int
value_string(const char *s, size_t len, struct value **out, struct error *err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	if (size_check(len, err) == -1 ||
	    text_check(s, len, TEXT_VALUE, err) == -1 ||
	    packer_start(&sb, &pk, len + 5, err) == -1)
		return -1;
	msgpack_pack_str_with_body(&pk, s, len);
	return finish((unsigned char *)sb.data, sb.size, VALUE_STRING, out, err);
}

int
value_list(const char *const *items, size_t n, struct value **out,
    struct error *err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t total = 0;

	if (n > STORE_LIST_MAX)
		return error_set(err, ERR_BADVALUE,
		    "list too long: %zu items (limit %u)", n, STORE_LIST_MAX);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(items[i]);

		if (text_check(items[i], len, TEXT_VALUE, err) == -1)
			return -1;
		total += len + 5;
	}
	if (size_check(total, err) == -1 ||
	    packer_start(&sb, &pk, total + 5, err) == -1)
		return -1;
	msgpack_pack_array(&pk, n);
	for (size_t i = 0; i < n; i++)
		msgpack_pack_str_with_body(&pk, items[i], strlen(items[i]));
	return finish((unsigned char *)sb.data, sb.size, VALUE_LIST, out, err);
}

int
value_blob(const void *p, size_t len, struct value **out, struct error *err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	if (size_check(len, err) == -1 ||
	    packer_start(&sb, &pk, len + 5, err) == -1)
		return -1;
	msgpack_pack_bin_with_body(&pk, p, len);
	return finish((unsigned char *)sb.data, sb.size, VALUE_BLOB, out, err);
}

int
value_decode(const void *p, size_t len, struct value **out, struct error *err)
{
	struct value *v = NULL;
	char **items = NULL;
	struct mpr r;
	const char *s;
	const void *b;
	uint32_t n = 0, slen;
	int rc = -1, built = 0;	/* a constructor ran and set err */

	/* The constructors re-validate; then the bytes must round-trip. */
	mpr_init(&r, p, len);
	switch (mpr_peek(&r)) {
	case MPR_STR:
		if (mpr_str(&r, &s, &slen) == 0)
			rc = value_string(s, slen, &v, err), built = 1;
		break;
	case MPR_BIN:
		if (mpr_bin(&r, &b, &slen) == 0)
			rc = value_blob(b, slen, &v, err), built = 1;
		break;
	case MPR_ARRAY:
		if (mpr_array(&r, &n) == -1 || n > STORE_LIST_MAX)
			break;
		if ((items = calloc(n + 1, sizeof(*items))) == NULL)
			return error_errno(err, ERR_FAIL, "value");
		for (uint32_t i = 0; i < n; i++)
			if (mpr_str(&r, &s, &slen) == -1 ||
			    memchr(s, '\0', slen) != NULL ||
			    (items[i] = strndup(s, slen)) == NULL)
				goto done;
		rc = value_list((const char *const *)items, n, &v, err);
		built = 1;
		break;
	default:
		break;
	}
done:
	if (items != NULL)
		for (uint32_t i = 0; i < n; i++)
			free(items[i]);
	free(items);
	if (rc == -1)
		return built ? -1 : error_set(err, ERR_MALFORMED, "malformed value");
	if (mpr_left(&r) != 0 || v->enc_len != len ||
	    memcmp(v->enc, p, len) != 0) {
		value_free(v);
		return error_set(err, ERR_MALFORMED, "value not in canonical form");
	}
	*out = v;
	return 0;
}

enum value_type
value_type(const struct value *v)
{
	return v->type;
}

const void *
value_bytes(const struct value *v, size_t *len)
{
	*len = v->payload_len;
	return v->payload;
}

size_t
value_count(const struct value *v)
{
	return v->nitems;
}

const char *
value_item(const struct value *v, size_t i, size_t *len)
{
	*len = v->items[i].len;
	return v->items[i].p;
}

const void *
value_encoded(const struct value *v, size_t *len)
{
	*len = v->enc_len;
	return v->enc;
}

int
value_equal(const struct value *a, const struct value *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->enc_len == b->enc_len &&
	    memcmp(a->enc, b->enc, a->enc_len) == 0;
}

struct value *
value_dup(const struct value *v)
{
	struct value *d = NULL;
	unsigned char *enc;

	if ((enc = malloc(v->enc_len)) == NULL)
		return NULL;
	memcpy(enc, v->enc, v->enc_len);
	if (finish(enc, v->enc_len, v->type, &d, NULL) == -1)
		return NULL;
	return d;
}

void
value_free(struct value *v)
{
	if (v == NULL)
		return;
	free(v->enc);
	free(v->items);
	free(v);
}
