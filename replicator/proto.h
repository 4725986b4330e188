/*
 * proto.h - the messages nodes exchange inside link frames.
 *
 * Internal to replicator/.  Every frame carries exactly one message, a
 * msgpack array whose first element is the type; each type has an exact
 * element count and exact field types (docs/PROTOCOL.md).  Messages are
 * written with msgpack-c and read with the bounded reader (mpread.h): a
 * decoded message points into the frame it came from and lives as long as
 * that frame's buffer.
 */
#ifndef CFGSTORE_PROTO_H
#define CFGSTORE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "store.h"

#define PROTO_VERSION		2
#define PROTO_BATCH_MAX		2048		/* commits in one message */
#define PROTO_BATCH_BYTES	(4u << 20)	/* aimed for, not a limit */
#define PROTO_TEXT_MAX		512		/* summaries and reasons */
#define PROTO_LINES_MAX		64		/* lines in a verdict */
/*
 * A commits message around n commits: the array, type, head and more
 * (at most 21 bytes), then a bin header of at most 5 bytes per commit.
 */
#define PROTO_COMMITS_OVERHEAD(n)	(32u + 5u * (n))

enum proto_type {
	MSG_HELLO = 1,		/* who I am, my role and head */
	MSG_COMMITS = 2,	/* signed commits, in revision order */
	MSG_ACK = 3,		/* applied (and rendered): my head now */
	MSG_NACK = 4,		/* refused: why, and my head */
	MSG_PING = 5,
	MSG_PONG = 6,
	MSG_PREPARE = 7,	/* check this change on top of that head */
	MSG_VERDICT = 8,	/* what the checks of a prepare said */
};

/* A verdict's status. */
enum proto_verdict {
	VERDICT_YES = 0,	/* every check passed */
	VERDICT_NO = 1,		/* some refused: the lines say which */
	VERDICT_UNCHECKED = 2,	/* could not check: the line says why */
};

enum proto_nack {
	NACK_GAP = 1,		/* resend from my head + 1 */
	NACK_DIVERGED = 2,	/* our histories differ: nothing more */
	NACK_REJECTED = 3,	/* a commit failed verification */
	NACK_ERROR = 4,		/* I failed (disk, memory) */
};

enum proto_role { ROLE_REPLICA = 0, ROLE_PRIMARY = 1 };

struct msg {
	enum proto_type	 type;
	/* HELLO */
	uint64_t	 version;
	const char	*node;			/* NUL-terminated copy */
	enum proto_role	 role;
	uint64_t	 epoch;			/* HELLO: 1 or more */
	/* HELLO, COMMITS (sender's head), ACK, NACK */
	uint64_t	 head;
	const unsigned char *hash;		/* STORE_HASH_LEN; HELLO/ACK/NACK */
	/* COMMITS */
	int		 more;			/* the sender has more after these */
	struct store_raw *raws;			/* owned by the msg */
	size_t		 nraws;
	/* ACK: the render that followed failed for some service */
	int		 failed;
	/* NACK */
	enum proto_nack	 reason;
	/* ACK (render summary), NACK (reason): NUL-terminated copies */
	const char	*text;
	/* PREPARE (base in head and hash), VERDICT */
	uint64_t	 id;
	const void	*change;		/* PREPARE: points into the frame */
	size_t		 change_len;		/* 0: no change, check all */
	enum proto_verdict status;		/* VERDICT */
	char		**lines;		/* VERDICT: owned by the msg */
	size_t		 nlines;
	/* storage for the copies */
	char		 nodebuf[STORE_NODE_MAX + 1];
	char		 textbuf[PROTO_TEXT_MAX + 1];
};

/* Encoders append one message to out (which is reset first). */
int	proto_hello(struct buf *out, const char *node, enum proto_role role,
	    uint64_t head, const unsigned char hash[STORE_HASH_LEN],
	    uint64_t epoch);
int	proto_commits(struct buf *out, uint64_t head, int more,
	    const struct store_raw *raws, size_t n);
int	proto_ack(struct buf *out, uint64_t head,
	    const unsigned char hash[STORE_HASH_LEN], int failed,
	    const char *summary);
int	proto_nack(struct buf *out, enum proto_nack reason, uint64_t head,
	    const unsigned char hash[STORE_HASH_LEN], const char *text);
int	proto_prepare(struct buf *out, uint64_t id, uint64_t base,
	    const unsigned char hash[STORE_HASH_LEN], const void *change,
	    size_t len);
int	proto_verdict(struct buf *out, uint64_t id, enum proto_verdict status,
	    char *const *lines, size_t n);
int	proto_ping(struct buf *out);
int	proto_pong(struct buf *out);

/*
 * Decodes one frame.  Anything but exactly one well-formed message of a
 * known type is ERR_INPUT, with what was wrong.  m->raws points into p;
 * release m with proto_msg_free.
 */
int	proto_decode(const void *p, size_t len, struct msg *m,
	    struct error *err);
void	proto_msg_free(struct msg *m);


const char *proto_type_name(enum proto_type t);
const char *proto_nack_name(enum proto_nack r);
const char *proto_verdict_name(enum proto_verdict v);

#endif
