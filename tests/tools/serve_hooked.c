/*
 * serve_hooked.c - `cfgstore serve -f -v` with another program as its
 * network process, for tests that play one that misbehaves:
 *
 *	serve_hooked STOREDIR ROOT NETPROG
 *
 * The daemon itself has no way to be told this: only code can.
 */
#include <stdio.h>

#include "replicator.h"

int
main(int argc, char **argv)
{
	struct repl_serve_opts o = { 0 };
	struct error err = { 0 };

	if (argc != 4) {
		fprintf(stderr, "usage: serve_hooked STOREDIR ROOT NETPROG\n");
		return 2;
	}
	o.root = argv[2];
	o.foreground = 1;
	o.verbose = 1;
	o.net_exec = argv[3];
	if (repl_serve(argv[1], &o, &err) == -1) {
		fprintf(stderr, "serve_hooked: %s\n", err.msg);
		return 1;
	}
	return 0;
}
