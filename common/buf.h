/*
 * buf.h - a growable byte buffer, the one used everywhere.
 *
 * A zeroed struct buf is an empty buffer.  Appends keep a NUL after the
 * last byte so text can be used as a C string; len never counts it.
 */
#ifndef CFGSTORE_BUF_H
#define CFGSTORE_BUF_H

#include <stddef.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	int	 secret;	/* see buf_secret */
};

int	buf_reserve(struct buf *b, size_t extra);	/* 0, or -1 (ENOMEM) */
int	buf_append(struct buf *b, const void *p, size_t n);
int	buf_puts(struct buf *b, const char *s);
int	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	buf_reset(struct buf *b);	/* len = 0, keeps memory */
void	buf_free(struct buf *b);	/* frees; b is empty again */
/* Like buf_free, wiping the bytes first: for secrets. */
void	buf_free_secret(struct buf *b);
/*
 * Marks b as holding secrets (decrypted frames, commits): from then on
 * growing copies into a new block and wipes the old one before freeing
 * it, rather than realloc(3), which may leave the old bytes in freed
 * memory; and buf_free wipes too.  It stays so after buf_free.
 */
void	buf_secret(struct buf *b);
/* Takes the bytes out; the caller frees them.  b is empty again. */
char	*buf_detach(struct buf *b, size_t *len);

/* Reads a whole file (at most max bytes, else EFBIG). 0 or -1/errno. */
int	buf_read_file(struct buf *b, const char *path, size_t max);

#endif
