/*
 * test_base64.c - base64 text an admin types: public keys (`peer add`)
 * and blobs (`set --blob` lines of a batch).  Each is read only as it is
 * written back: libsodium 1.0.18 reads bytes from 0x80 up as '/', which
 * turned a mangled key into another key (found by fuzz_peer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "check.h"
#include "store.h"

#define KEY	"LdcgkwH4xrZqutK4Ua0Y2MsSFzTj6EKQuP+qUXpxUxE="

static int
key_ok(const char *text)
{
	unsigned char pk[STORE_PUBKEY_LEN];
	struct error err = { 0 };

	return pubkey_from_text(text, pk, &err) == 0;
}

/* 0 when the batch reads, else the error's code. */
static int
batch(const char *text)
{
	struct error err = { 0 };
	struct change *c = change_new();
	char *copy = strdup(text);	/* fmemopen's buffer is not const */
	FILE *f = fmemopen(copy, strlen(copy), "r");
	int rc;

	rc = read_batch(f, "t", c, &err) == 0 ? 0 : err.code;
	fclose(f);
	free(copy);
	change_free(c);
	return rc;
}

int
main(void)
{
	CHECK(key_ok(KEY));
	/* The same key with "//////" written as bytes from 0x80 up. */
	CHECK(!key_ok("LdcgkwH4xrZqutK4Ua0Y2MsSFzTj6\xbb\xb4\xae\x8a\xaf\xd4"
	    "\x8e\xa5XpxUxE="));
	CHECK(!key_ok("LdcgkwH4xrZqutK4Ua0Y2MsSFzTj6EKQuP+qUXpxUxF="));
	CHECK(!key_ok("LdcgkwH4xrZqutK4Ua0Y2MsSFzTj6EKQuP+qUXpxUxE"));

	CHECK(batch("set --blob a.b aGVsbG8=\n") == 0);
	CHECK(batch("set --blob a.b aGVsbG8\xbb\n") == ERR_INPUT);
	CHECK(batch("set --blob a.b \xff\xff\xff\xff\n") == ERR_INPUT);
	return check_done();
}
