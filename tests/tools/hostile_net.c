/*
 * hostile_net.c - a network process that misbehaves towards the daemon,
 * one way per run (HOSTILE_NET_MODE), started by serve_hooked in place
 * of the real one.  It appends its pid to HOSTILE_NET_PIDS, reads the
 * says it is ready, reads the peers, sends what the mode says, then
 * waits to be killed.  Modes:
 *
 *	sign-commit	asks for a signature over what is not a handshake
 *	sign-long	a signing request beyond its bound
 *	up-short	an "up" a byte short
 *	up-noname	an "up" whose name has no end
 *	up-twice	a genuine peer's session up, then up again
 *	up-undialled	an "up" for a dial the daemon never asked for
 *	down-empty	a "down" without a reason
 *	down-long	a "down" with a reason beyond its bound
 *	frame-notup	a frame for a session never up
 *	frame-empty	an empty frame for a session that is up
 *	frame-huge	a header announcing more than any message may hold
 *	unknown		a type that does not exist
 *	init		a type only the daemon may send
 *	ready-twice	ready, once more
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repl_int.h"

static struct ipc c;

static void
put(uint32_t type, uint32_t sid, const void *p, size_t len)
{
	struct error err = { 0 };

	if (ipc_compose(&c, type, sid, p, len, &err) == -1 ||
	    ipc_flush(&c, &err) == -1) {
		fprintf(stderr, "hostile_net: %s\n", err.msg);
		exit(1);
	}
}

/* Reads messages until the peers are all in; the first peer's. */
static void
first_peer(struct net_peer *first)
{
	struct ipc_msg m;
	struct error err = { 0 };
	int have = 0, rc;

	for (;;) {
		while ((rc = ipc_get(&c, &m, &err)) == 1) {
			if (m.type == NET_PEER && !have &&
			    m.len == sizeof(*first)) {
				memcpy(first, m.data, sizeof(*first));
				have = 1;
			}
			if (m.type == NET_PEERS_END && have)
				return;
		}
		if (rc == -1 || ipc_read(&c, &err) != 1)
			exit(1);
	}
}

int
main(void)
{
	const char *mode = getenv("HOSTILE_NET_MODE");
	const char *pids = getenv("HOSTILE_NET_PIDS");
	struct net_peer peer;
	struct net_init init;
	struct net_up up;
	struct ipc_msg m;
	struct error err = { 0 };
	unsigned char sig[256], hdr[IPC_HDR_LEN];
	char reason[ERROR_MSG_MAX + 10];
	uint32_t v;
	FILE *f;

	if (mode == NULL)
		return 2;
	if (pids != NULL && (f = fopen(pids, "a")) != NULL) {
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	ipc_init(&c, NET_FD_IPC);
	/* The daemon waits for this before it sends the peers. */
	put(NET_READY, 0, NULL, 0);
	first_peer(&peer);
	memset(&up, 0, sizeof(up));
	snprintf(up.name, sizeof(up.name), "%s", peer.name);
	memcpy(up.pk, peer.pk, sizeof(up.pk));
	snprintf(up.from, sizeof(up.from), "127.0.0.1:1");
	memset(sig, 'x', sizeof(sig));
	memset(reason, 'y', sizeof(reason));

	if (strcmp(mode, "sign-commit") == 0) {
		/* The length of a handshake's request, not its label. */
		memcpy(sig, "cfgstore commit", 15);
		put(NET_SIGN, 1, sig, 64);
	} else if (strcmp(mode, "sign-long") == 0)
		put(NET_SIGN, 1, reason, 257);
	else if (strcmp(mode, "up-short") == 0)
		put(NET_UP, 0x80000001u, &up, sizeof(up) - 1);
	else if (strcmp(mode, "up-noname") == 0) {
		memset(up.name, 'z', sizeof(up.name));
		put(NET_UP, 0x80000001u, &up, sizeof(up));
	} else if (strcmp(mode, "up-twice") == 0) {
		put(NET_UP, 0x80000001u, &up, sizeof(up));
		put(NET_UP, 0x80000001u, &up, sizeof(up));
	} else if (strcmp(mode, "up-undialled") == 0)
		put(NET_UP, 4000, &up, sizeof(up));
	else if (strcmp(mode, "down-empty") == 0)
		put(NET_DOWN, 1, NULL, 0);
	else if (strcmp(mode, "down-long") == 0)
		put(NET_DOWN, 1, reason, ERROR_MSG_MAX + 1);
	else if (strcmp(mode, "frame-notup") == 0)
		put(NET_FRAME, 0x80000005u, "x", 1);
	else if (strcmp(mode, "frame-empty") == 0) {
		put(NET_UP, 0x80000001u, &up, sizeof(up));
		put(NET_FRAME, 0x80000001u, NULL, 0);
	} else if (strcmp(mode, "frame-huge") == 0) {
		v = NET_FRAME;
		memcpy(hdr, &v, 4);
		v = IPC_DATA_MAX + 1;
		memcpy(hdr + 4, &v, 4);
		v = 0x80000001u;
		memcpy(hdr + 8, &v, 4);
		if (write(NET_FD_IPC, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr))
			return 1;
	} else if (strcmp(mode, "unknown") == 0)
		put(99, 0, "x", 1);
	else if (strcmp(mode, "init") == 0) {
		memset(&init, 0, sizeof(init));
		put(NET_INIT, 0, &init, sizeof(init));
	}
	else if (strcmp(mode, "ready-twice") == 0)
		put(NET_READY, 0, NULL, 0);
	else
		return 2;
	/* Killed by the daemon, or its socket closes. */
	while (ipc_read(&c, &err) == 1)
		while (ipc_get(&c, &m, &err) == 1)
			;
	return 0;
}
