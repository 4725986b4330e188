#include <string.h>

#include "mpread.h"

void
mpr_init(struct mpr *r, const void *buf, size_t len)
{
	r->p = buf;
	r->end = r->p + len;
	r->failed = 0;
}

size_t
mpr_left(const struct mpr *r)
{
	return r->failed ? 0 : (size_t)(r->end - r->p);
}

static int
fail(struct mpr *r)
{
	r->failed = 1;
	return -1;
}

static uint64_t
be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Reads an n-byte big-endian length or number after the type byte. */
static int
take(struct mpr *r, int n, uint64_t *v)
{
	if ((size_t)(r->end - r->p) < (size_t)n)
		return fail(r);
	*v = be(r->p, n);
	r->p += n;
	return 0;
}

enum mpr_type
mpr_peek(const struct mpr *r)
{
	unsigned char c;

	if (r->failed || r->p >= r->end)
		return MPR_NONE;
	c = *r->p;
	if (c <= 0x7f || c == 0xcc || c == 0xcd || c == 0xce || c == 0xcf)
		return MPR_UINT;
	if (c >= 0xe0 || (c >= 0xd0 && c <= 0xd3))
		return MPR_INT;
	if ((c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb))
		return MPR_STR;
	if (c >= 0xc4 && c <= 0xc6)
		return MPR_BIN;
	if ((c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd)
		return MPR_ARRAY;
	if ((c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf)
		return MPR_MAP;
	if (c == 0xc0)
		return MPR_NIL;
	if (c == 0xc2 || c == 0xc3)
		return MPR_BOOL;
	if (c == 0xca || c == 0xcb)
		return MPR_FLOAT;
	if ((c >= 0xc7 && c <= 0xc9) || (c >= 0xd4 && c <= 0xd8))
		return MPR_EXT;
	return MPR_NONE;	/* 0xc1 is never used */
}

int
mpr_nil(struct mpr *r)
{
	if (mpr_peek(r) != MPR_NIL)
		return fail(r);
	r->p++;
	return 0;
}

int
mpr_uint(struct mpr *r, uint64_t *v)
{
	unsigned char c;

	if (mpr_peek(r) != MPR_UINT)
		return fail(r);
	c = *r->p++;
	if (c <= 0x7f) {
		*v = c;
		return 0;
	}
	return take(r, 1 << (c - 0xcc), v);
}

/* Reads the length of a str, bin, array or map whose header starts at r->p. */
static int
length(struct mpr *r, uint64_t *n)
{
	unsigned char c = *r->p++;

	if ((c & 0xe0) == 0xa0)
		*n = c & 0x1f;
	else if ((c & 0xf0) == 0x90 || (c & 0xf0) == 0x80)
		*n = c & 0x0f;
	else if (c == 0xd9 || c == 0xc4)
		return take(r, 1, n);
	else if (c == 0xda || c == 0xc5 || c == 0xdc || c == 0xde)
		return take(r, 2, n);
	else
		return take(r, 4, n);
	return 0;
}

static int
bytes(struct mpr *r, enum mpr_type want, const void **p, uint32_t *len)
{
	uint64_t n;

	if (mpr_peek(r) != want || length(r, &n) == -1)
		return fail(r);
	if (n > (uint64_t)(r->end - r->p))
		return fail(r);
	*p = r->p;
	*len = (uint32_t)n;
	r->p += n;
	return 0;
}

int
mpr_str(struct mpr *r, const char **s, uint32_t *len)
{
	return bytes(r, MPR_STR, (const void **)s, len);
}

int
mpr_bin(struct mpr *r, const void **p, uint32_t *len)
{
	return bytes(r, MPR_BIN, p, len);
}

static int
container(struct mpr *r, enum mpr_type want, uint32_t *n, int per_item)
{
	uint64_t v;

	if (mpr_peek(r) != want || length(r, &v) == -1)
		return fail(r);
	/* Every element takes at least one byte: refuse what cannot be. */
	if (v > (uint64_t)(r->end - r->p) / (uint64_t)per_item)
		return fail(r);
	*n = (uint32_t)v;
	return 0;
}

int
mpr_array(struct mpr *r, uint32_t *n)
{
	return container(r, MPR_ARRAY, n, 1);
}

int
mpr_map(struct mpr *r, uint32_t *n)
{
	return container(r, MPR_MAP, n, 2);
}

static int
skip(struct mpr *r, int depth)
{
	const void *p;
	uint32_t n, i, len;
	uint64_t v;
	unsigned char c;

	if (depth > MPR_DEPTH_MAX)
		return fail(r);
	switch (mpr_peek(r)) {
	case MPR_NIL:
	case MPR_BOOL:
		r->p++;
		return 0;
	case MPR_UINT:
		return mpr_uint(r, &v);
	case MPR_INT:
		c = *r->p++;
		if (c >= 0xe0)
			return 0;
		return take(r, 1 << (c - 0xd0), &v);
	case MPR_FLOAT:
		c = *r->p++;
		return take(r, c == 0xca ? 4 : 8, &v);
	case MPR_STR:
		return bytes(r, MPR_STR, &p, &len);
	case MPR_BIN:
		return bytes(r, MPR_BIN, &p, &len);
	case MPR_ARRAY:
		if (mpr_array(r, &n) == -1)
			return -1;
		for (i = 0; i < n; i++)
			if (skip(r, depth + 1) == -1)
				return -1;
		return 0;
	case MPR_MAP:
		if (mpr_map(r, &n) == -1)
			return -1;
		for (i = 0; i < 2 * n; i++)
			if (skip(r, depth + 1) == -1)
				return -1;
		return 0;
	default:
		/* Extensions and 0xc1 never occur in cfgstore's data. */
		return fail(r);
	}
}

int
mpr_skip(struct mpr *r)
{
	return skip(r, 0);
}

int
mpr_span(struct mpr *r, const void **start, size_t *len)
{
	const unsigned char *s = r->p;

	if (skip(r, 0) == -1)
		return -1;
	*start = s;
	*len = (size_t)(r->p - s);
	return 0;
}
