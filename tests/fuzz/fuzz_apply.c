/*
 * fuzz_apply.c - chains of signed commits given to store_apply, as a
 * replica receives them from its primary: out of order, repeated, cut,
 * signed by the wrong key, or not commits at all.
 *
 * The input is chunks (2-byte big-endian length, bytes), each one commit
 * as it travels.  Every input meets a new replica store, fw2, that trusts
 * the primary fw1 whose key is below: the seed corpus holds real chains
 * that fw1 signed (its secret key is gone).  Whatever store_apply
 * accepts, the replica must verify afterwards.  See fuzz.h for how
 * harnesses are built and run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "store.h"

#define CHAIN_MAX	64

static const char primary_key[] =
    "LdcgkwH4xrZqutK4Ua0Y2MsSFzTj6EKQuP+qUXpxUxE=";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned long runs;
	struct fuzz_in in = { data, size };
	struct store_raw raws[CHAIN_MAX];
	struct store_init_opts o = { "fw2", 0, NULL };
	struct error err = { 0 };
	struct peer_info p;
	struct store *s;
	enum store_apply_result res;
	size_t n = 0, applied = 0, len;
	uint64_t head, bad;
	const uint8_t *c;
	char dir[1200];

	while (n < CHAIN_MAX && (c = fuzz_chunk(&in, &len)) != NULL) {
		raws[n].data = c;
		raws[n++].len = len;
	}
	snprintf(dir, sizeof(dir), "%s/fw2.%lu", fuzz_tmpdir(), runs++);
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "fw1");
	snprintf(p.addr, sizeof(p.addr), "127.0.0.1:9");
	if (pubkey_from_text(primary_key, p.pubkey, &err) == -1 ||
	    store_init(dir, &o, &err) == -1 ||
	    store_open(dir, 0, &s, &err) == -1 ||
	    store_peer_add(s, &p, &err) == -1) {
		fprintf(stderr, "%s: %s\n", dir, err.msg);
		abort();
	}
	if (store_apply(s, raws, n, &applied, &res, &err) == -1) {
		fprintf(stderr, "store_apply: %s\n", err.msg);
		abort();	/* the store itself never fails here */
	}
	if (applied > n || store_head(s, &head, NULL, &err) == -1 ||
	    head != applied)
		abort();	/* every commit applied is a new head */
	if (store_verify(s, &bad, &err) == -1) {
		fprintf(stderr, "verify: %s (r%llu)\n", err.msg,
		    (unsigned long long)bad);
		abort();
	}
	store_close(s);
	if (fuzz_rmtree(dir) == -1)
		abort();
	return 0;
}
