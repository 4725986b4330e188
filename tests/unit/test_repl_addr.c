/*
 * test_repl_addr.c - peer addresses: what `peer add` takes and the
 * daemon dials, and what both refuse.
 */
#include "check.h"
#include "replicator.h"

static int
good(const char *addr)
{
	struct error err = { 0 };

	return repl_addr_check(addr, &err) == 0;
}

static int
bad(const char *addr)
{
	struct error err = { 0 };

	return repl_addr_check(addr, &err) == -1 && err.code == ERR_INPUT &&
	    err.msg[0] != '\0';
}

int
main(void)
{
	CHECK(good("10.0.99.2:7369"));
	CHECK(good("127.0.0.1:1"));
	CHECK(good("fw2.example.com:65535"));
	CHECK(good("[::1]:7369"));
	CHECK(good("[fe80::1%em2]:7369"));
	CHECK(bad(""));
	CHECK(bad("10.0.99.2"));
	CHECK(bad("10.0.99.2:"));
	CHECK(bad(":7369"));
	CHECK(bad("10.0.99.2:0"));
	CHECK(bad("10.0.99.2:65536"));
	CHECK(bad("10.0.99.2:73x9"));
	CHECK(bad("10.0.99.2:-1"));
	CHECK(bad("::1:7369"));
	CHECK(bad("[::1:7369"));
	CHECK(bad("[]:7369"));
	CHECK(bad("fw 2:7369"));
	CHECK(bad("fw2;reboot:7369"));
	return check_done();
}
