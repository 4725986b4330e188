/*
 * ipc.h - typed messages between the daemon's processes, over a
 * socketpair: OpenBSD's imsg, which Linux lacks, in the few lines the
 * daemon needs and with the same discipline.
 *
 * Internal to replicator/.  Every message is a header (type, length of
 * the data, the peer or session it concerns) and that many bytes.  A
 * header announcing more than IPC_DATA_MAX is an error before anything
 * is buffered, and the receiver checks each message's length against
 * the exact length (or the bounds) of its type, with ipc_check, before
 * it reads any field.  Both ends are one machine: the header is in host
 * byte order, as imsg's is.
 */
#ifndef CFGSTORE_IPC_H
#define CFGSTORE_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "link.h"

#define IPC_HDR_LEN	12
/* A decrypted frame and a little around it. */
#define IPC_DATA_MAX	(LINK_PAYLOAD_MAX + 1024u)

struct ipc_msg {
	uint32_t		 type;
	uint32_t		 peer;
	const unsigned char	*data;	/* into the channel's buffer */
	size_t			 len;
};

/* The lengths a type may have: exact when min == max. */
struct ipc_rule {
	uint32_t	 type;
	size_t		 min, max;
};

struct ipc {
	int		 fd;
	struct buf	 in;		/* read, from off on not yet taken */
	size_t		 off;
	struct buf	 out;		/* composed, from outoff on not yet */
	size_t		 outoff;	/* written */
};

/* fd: one end of a socketpair, which the channel now owns. */
void	ipc_init(struct ipc *c, int fd);
/* Closes the descriptor and wipes and frees the buffers. */
void	ipc_clear(struct ipc *c);

/* Queues one message; nothing is written before ipc_flush. */
int	ipc_compose(struct ipc *c, uint32_t type, uint32_t peer,
	    const void *data, size_t len, struct error *err);
/*
 * Writes what is queued, as much as the socket takes without blocking
 * when it is non-blocking.  0, or -1 when the other end is gone.
 */
int	ipc_flush(struct ipc *c, struct error *err);
/* Bytes queued and not yet written. */
size_t	ipc_queued(const struct ipc *c);
/*
 * Reads what there is: 1 when bytes came (or none without blocking), 0
 * when the other end closed, -1 on error.
 */
int	ipc_read(struct ipc *c, struct error *err);
/*
 * Takes the next whole message out of what was read: 1 and *m (valid
 * until the next ipc_read), 0 when none is whole yet, -1 when the header
 * announces more than IPC_DATA_MAX: the channel is then unusable.
 */
int	ipc_get(struct ipc *c, struct ipc_msg *m, struct error *err);
/*
 * The message's type is among rules and its length within that type's
 * bounds; else ERR_INPUT saying which.  Called before any field is read.
 */
int	ipc_check(const struct ipc_msg *m, const struct ipc_rule *rules,
	    size_t n, struct error *err);

#endif
