/*
 * fuzz_peer.c - what `cfgstore peer add NAME ADDR KEY` is given: the node
 * name, the address (repl_addr_check) and the public key as text
 * (pubkey_from_text), then the peer table of a real store.
 *
 * The input is NAME, ADDR and KEY separated by newlines.  A key accepted
 * must print back as the text it was read from; a peer added must be
 * listed and trusted as given, then deleted again.  See fuzz.h for how
 * harnesses are built and run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "replicator.h"
#include "store.h"

static struct store *st;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	st = fuzz_store("fw1", 1);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = { 0 };
	struct peer_info p, *peers = NULL;
	char *text, *name, *addr, *key, back[STORE_KEYTEXT_LEN];
	char who[STORE_NODE_MAX + 1];
	size_t n = 0;
	int ok = 1;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	name = text;
	addr = strchr(name, '\n');
	key = addr != NULL ? strchr(addr + 1, '\n') : NULL;
	if (key == NULL) {
		/* One field: every parser on its own. */
		(void)repl_addr_check(text, &err);
		(void)node_name_check(text, &err);
		(void)key_check(text, &err);
		if (pubkey_from_text(text, p.pubkey, &err) == 0) {
			pubkey_to_text(p.pubkey, back);
			if (strcmp(back, text) != 0)
				abort();	/* two texts for one key */
		}
		free(text);
		return 0;
	}
	*addr++ = '\0';
	*key++ = '\0';
	memset(&p, 0, sizeof(p));
	if (node_name_check(name, &err) == -1 ||
	    strlen(addr) >= sizeof(p.addr) || repl_addr_check(addr, &err) == -1 ||
	    pubkey_from_text(key, p.pubkey, &err) == -1)
		ok = 0;
	if (ok) {
		pubkey_to_text(p.pubkey, back);
		if (strcmp(back, key) != 0)
			abort();
		snprintf(p.name, sizeof(p.name), "%s", name);
		snprintf(p.addr, sizeof(p.addr), "%s", addr);
		if (store_peer_add(st, &p, &err) == 0) {
			if (store_peers(st, &peers, &n, &err) == -1 ||
			    n != 1 || strcmp(peers[0].name, name) != 0 ||
			    strcmp(peers[0].addr, addr) != 0 ||
			    !store_trusts(st, p.pubkey, who, sizeof(who)) ||
			    strcmp(who, name) != 0 ||
			    store_peer_del(st, name, &err) == -1)
				abort();
			free(peers);
		}
	}
	free(text);
	return 0;
}
