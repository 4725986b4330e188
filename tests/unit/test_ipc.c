/*
 * test_ipc.c - messages between the daemon's processes: whole messages
 * out of bytes that arrive piecemeal, a length beyond the bound refused
 * from the header alone, each type's exact length enforced, the other
 * end's close seen.
 */
#include <sys/socket.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ipc.h"

enum { T_FIXED = 1, T_TEXT = 2 };

static const struct ipc_rule rules[] = {
	{ T_FIXED, 8, 8 },
	{ T_TEXT, 1, 100 },
};
#define NRULES	(sizeof(rules) / sizeof(rules[0]))

/* Reads until a message is whole: 1, or 0/-1 as ipc_get. */
static int
next(struct ipc *c, struct ipc_msg *m, struct error *err)
{
	int rc;

	while ((rc = ipc_get(c, m, err)) == 0)
		if (ipc_read(c, err) != 1)
			return -1;
	return rc;
}

int
main(void)
{
	struct ipc a, b;
	struct ipc_msg m;
	struct error err = { 0 };
	int sv[2], i;
	uint64_t v = 0x0102030405060708ull;
	unsigned char hdr[IPC_HDR_LEN];
	uint32_t type, len, peer;
	char *big;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return 2;
	ipc_init(&a, sv[0]);
	ipc_init(&b, sv[1]);

	/* Two messages in one write, read back one by one. */
	CHECK(ipc_compose(&a, T_FIXED, 7, &v, sizeof(v), &err) == 0);
	CHECK(ipc_compose(&a, T_TEXT, 9, "hello", 5, &err) == 0);
	CHECK(ipc_queued(&a) == 2 * IPC_HDR_LEN + 13);
	CHECK(ipc_flush(&a, &err) == 0);
	CHECK(ipc_queued(&a) == 0);
	CHECK(next(&b, &m, &err) == 1);
	CHECK(m.type == T_FIXED && m.peer == 7 && m.len == 8);
	CHECK(ipc_check(&m, rules, NRULES, &err) == 0);
	CHECK(memcmp(m.data, &v, 8) == 0);
	CHECK(next(&b, &m, &err) == 1);
	CHECK(m.type == T_TEXT && m.peer == 9 && m.len == 5);
	CHECK(memcmp(m.data, "hello", 5) == 0);
	CHECK(ipc_get(&b, &m, &err) == 0);

	/* A message arriving a byte at a time is whole only at its end. */
	CHECK(ipc_compose(&a, T_TEXT, 1, "piecemeal", 9, &err) == 0);
	for (i = 0; i < (int)(IPC_HDR_LEN + 9); i++) {
		CHECK(write(sv[0], a.out.data + i, 1) == 1);
		CHECK(ipc_read(&b, &err) == 1);
		CHECK(ipc_get(&b, &m, &err) == (i == IPC_HDR_LEN + 8));
	}
	CHECK(m.len == 9 && memcmp(m.data, "piecemeal", 9) == 0);
	a.out.len = 0;

	/* Each type's length, checked before any field is read. */
	CHECK(ipc_compose(&a, T_FIXED, 0, &v, 7, &err) == 0);
	CHECK(ipc_compose(&a, T_TEXT, 0, "", 0, &err) == 0);
	CHECK(ipc_compose(&a, 99, 0, "x", 1, &err) == 0);
	CHECK(ipc_flush(&a, &err) == 0);
	CHECK(next(&b, &m, &err) == 1);
	CHECK(ipc_check(&m, rules, NRULES, &err) == -1);
	CHECK_STR(err.msg, "message of type 1: 7 bytes, not 8");
	CHECK(next(&b, &m, &err) == 1);
	CHECK(ipc_check(&m, rules, NRULES, &err) == -1);
	CHECK_STR(err.msg, "message of type 2: 0 bytes, not 1 to 100");
	CHECK(next(&b, &m, &err) == 1);
	CHECK(ipc_check(&m, rules, NRULES, &err) == -1);
	CHECK_STR(err.msg, "message of unknown type 99");

	/* Too long to send, and too long announced: refused at the header. */
	CHECK(ipc_compose(&a, T_TEXT, 0, "", IPC_DATA_MAX + 1, &err) == -1);
	CHECK(err.code == ERR_INPUT);
	type = T_TEXT;
	len = IPC_DATA_MAX + 1;
	peer = 0;
	memcpy(hdr, &type, 4);
	memcpy(hdr + 4, &len, 4);
	memcpy(hdr + 8, &peer, 4);
	CHECK(write(sv[0], hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr));
	CHECK(ipc_read(&b, &err) == 1);
	CHECK(ipc_get(&b, &m, &err) == -1);
	CHECK(b.in.cap < (1u << 20));
	b.off = b.in.len;

	/* The largest message passes, through a non-blocking sender. */
	if ((big = calloc(1, IPC_DATA_MAX)) == NULL)
		return 2;
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	CHECK(ipc_compose(&a, T_TEXT, 3, big, IPC_DATA_MAX, &err) == 0);
	while (ipc_queued(&a) > 0) {
		CHECK(ipc_flush(&a, &err) == 0);
		if (ipc_get(&b, &m, &err) == 0)
			CHECK(ipc_read(&b, &err) == 1);
	}
	CHECK(next(&b, &m, &err) == 1);
	CHECK(m.len == IPC_DATA_MAX && m.peer == 3);
	free(big);

	/* The other end closes: seen as 0, and sending then fails. */
	ipc_clear(&a);
	CHECK(ipc_read(&b, &err) == 0);
	CHECK(ipc_compose(&b, T_FIXED, 0, &v, 8, &err) == 0);
	CHECK(ipc_flush(&b, &err) == -1);
	ipc_clear(&b);
	return check_done();
}
