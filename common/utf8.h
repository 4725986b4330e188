/*
 * utf8.h - strict UTF-8, as RFC 3629 has it.
 */
#ifndef CFGSTORE_UTF8_H
#define CFGSTORE_UTF8_H

#include <stddef.h>

/*
 * The length of the UTF-8 character at p (at most len bytes there, len
 * at least 1), or 0 when it is not one.  No overlong forms, no
 * surrogates and nothing beyond U+10FFFF, so every text has one spelling.
 */
size_t	utf8_char(const unsigned char *p, size_t len);

/* 1 when all len bytes at p are UTF-8 as above. */
int	utf8_valid(const void *p, size_t len);

#endif
