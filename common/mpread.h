/*
 * mpread.h - a bounded, zero-copy msgpack reader for untrusted bytes.
 *
 * msgpack-c writes our msgpack.  Its unpacker is not used on bytes from
 * outside because it allocates from the length a header claims (an array32
 * header of 2^32-1 elements asks for ~100 GB) before it has seen the data.
 * This reader allocates nothing: every length is checked against the bytes
 * that remain, strings and bins point into the input, and nesting depth
 * is capped.  Once a call fails, the reader stays failed (r->failed).
 */
#ifndef CFGSTORE_MPREAD_H
#define CFGSTORE_MPREAD_H

#include <stddef.h>
#include <stdint.h>

#define MPR_DEPTH_MAX 16

enum mpr_type {
	MPR_NONE, MPR_NIL, MPR_BOOL, MPR_UINT, MPR_INT, MPR_FLOAT,
	MPR_STR, MPR_BIN, MPR_ARRAY, MPR_MAP, MPR_EXT
};

struct mpr {
	const unsigned char	*p;
	const unsigned char	*end;
	int			 failed;
};

void	mpr_init(struct mpr *r, const void *buf, size_t len);
size_t	mpr_left(const struct mpr *r);
enum mpr_type mpr_peek(const struct mpr *r);

/* Each returns 0, or -1 on a type mismatch or truncation. */
int	mpr_nil(struct mpr *r);
int	mpr_uint(struct mpr *r, uint64_t *v);
int	mpr_str(struct mpr *r, const char **s, uint32_t *len);
int	mpr_bin(struct mpr *r, const void **p, uint32_t *len);
/* Element counts are checked against the bytes left (one byte each, at least). */
int	mpr_array(struct mpr *r, uint32_t *n);
int	mpr_map(struct mpr *r, uint32_t *n);
/* Skips one whole object, however nested (up to MPR_DEPTH_MAX). */
int	mpr_skip(struct mpr *r);
/* Skips one object and returns where it starts and how long it is. */
int	mpr_span(struct mpr *r, const void **start, size_t *len);

#endif
