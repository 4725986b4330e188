/*
 * link.h - the authenticated, encrypted link between two nodes.
 *
 * Internal to replicator/.  A link wraps a connected stream socket: a
 * handshake with fresh ephemeral X25519 keys on both sides, each side
 * signing the transcript with its long-term Ed25519 key (SIGMA-style),
 * then length-prefixed XChaCha20-Poly1305 frames with a counter nonce per
 * direction.  docs/PROTOCOL.md is the byte-level specification.
 *
 * The long-term key is reached through struct link_auth rather than the
 * store's identity, so the handshake can be tested with bare key pairs.
 */
#ifndef CFGSTORE_LINK_H
#define CFGSTORE_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

#define LINK_KEY_LEN		32
#define LINK_SIG_LEN		64
#define LINK_NAME_MAX		63
/*
 * The largest plaintext a frame may carry: one commit at its size limit
 * (64 MiB) plus the message around it.  Checked before any allocation.
 */
#define LINK_PAYLOAD_MAX	((64u << 20) + (64u << 10))
#define LINK_HANDSHAKE_MS	5000	/* the whole handshake, either side */
#define LINK_MSG1_MS		1500	/* a responder waits this for msg1 */

struct link_auth {
	unsigned char	 pk[LINK_KEY_LEN];	/* our Ed25519 public key */
	/* Signs msg with our long-term secret key. */
	void		(*sign)(void *arg, const void *msg, size_t len,
			    unsigned char sig[LINK_SIG_LEN]);
	void		*sign_arg;
	/*
	 * 1 when the peer's key may talk to us (name filled in), 0 when
	 * not.  Asked before the peer's signature is checked.
	 */
	int		(*trust)(void *arg, const unsigned char pk[LINK_KEY_LEN],
			    char *name, size_t len);
	void		*trust_arg;
};

struct link;

/*
 * 1 when msg is what a handshake asks auth->sign to sign (a label of the
 * link's own and a transcript hash), 0 for anything else.  The process
 * that holds the key signs for the network process only what passes.
 */
int	link_sign_input_ok(const void *msg, size_t len);

/*
 * Runs the handshake as the side that connected.  expect, when not NULL,
 * is the key the other side must prove it holds (compared in constant
 * time), in addition to auth->trust.  On success *out owns fd; on failure
 * fd is left open for the caller to close.
 */
int	link_connect(int fd, const struct link_auth *auth,
	    const unsigned char expect[LINK_KEY_LEN], struct link **out,
	    struct error *err);
/* Runs the handshake as the side that accepted.  Ownership as above. */
int	link_accept(int fd, const struct link_auth *auth, struct link **out,
	    struct error *err);

/*
 * The same handshake without blocking, for an event loop: link_hs_step
 * goes as far as the socket allows and says what it waits for.  The
 * signature is asked for (LINK_HS_SIGN) rather than made by auth->sign,
 * so it may come later from another process.  Deadlines are monotonic
 * milliseconds (link_now_ms); past link_hs_deadline the caller calls
 * link_hs_expire, which fails as the blocking calls do.  The descriptor
 * is the caller's until link_hs_take hands it over with the link.
 */
struct link_hs;
#define LINK_HS_DONE	0
#define LINK_HS_READ	1	/* wait until readable */
#define LINK_HS_WRITE	2	/* wait until writable */
#define LINK_HS_SIGN	3	/* give link_hs_signature */
int	link_hs_new(int fd, int initiator, const struct link_auth *auth,
	    const unsigned char expect[LINK_KEY_LEN], struct link_hs **out,
	    struct error *err);
int	link_hs_step(struct link_hs *x, struct error *err);	/* or -1 */
const void *link_hs_sign_input(const struct link_hs *x, size_t *len);
void	link_hs_signature(struct link_hs *x,
	    const unsigned char sig[LINK_SIG_LEN]);
int64_t	link_hs_deadline(const struct link_hs *x);
int	link_hs_expire(struct link_hs *x, struct error *err);	/* -1 */
struct link *link_hs_take(struct link_hs *x);	/* after LINK_HS_DONE */
void	link_hs_free(struct link_hs *x);	/* accepts NULL */
int64_t	link_now_ms(void);

/*
 * Encrypts and sends one frame, waiting at most timeout_ms for the socket
 * to take it.  Fails with ERR_INPUT when len exceeds LINK_PAYLOAD_MAX.
 */
int	link_send(struct link *l, const void *p, size_t len, int timeout_ms,
	    struct error *err);
/*
 * Receives one frame into out (replacing its contents): waits at most
 * timeout_ms (-1: forever) for it to start, then gives the rest a deadline
 * of its own that grows with the announced length.  The length is checked
 * against LINK_PAYLOAD_MAX before any allocation, and the buffer grows only
 * as bytes arrive.  Authentication failure, a counter out of step, a short
 * read or the peer closing all fail; the link is then dead.
 */
int	link_recv(struct link *l, struct buf *out, int timeout_ms,
	    struct error *err);

/*
 * Frames without blocking.  link_queue encrypts one frame onto the
 * link's output queue; link_flush writes what the socket takes: 1 all
 * of it, 0 some is left (wait until writable), -1 the link is dead.
 * link_recv_some reads what has arrived: 1 a whole frame is in out
 * (which must be the same buffer from one call to the next), 0 not yet,
 * -1 dead; once a frame's length is in, its body must come before
 * link_recv_deadline (else -1: none running), past which
 * link_recv_expire fails as link_recv does.
 */
int	link_queue(struct link *l, const void *p, size_t len,
	    struct error *err);
int	link_flush(struct link *l, struct error *err);
size_t	link_queued(const struct link *l);
int	link_recv_some(struct link *l, struct buf *out, struct error *err);
int64_t	link_recv_deadline(const struct link *l);
int	link_recv_expire(struct link *l, struct error *err);

const unsigned char *link_peer_key(const struct link *l);
const char *link_peer_name(const struct link *l);
int	link_fd(const struct link *l);
/* Wipes the session keys, closes the socket, frees.  Accepts NULL. */
void	link_free(struct link *l);

/*
 * Raw frame I/O without the handshake, for tests that speak the wire
 * format directly (a hostile peer): reads or writes a 4-byte big-endian
 * length and that many bytes, with the same deadline rules.
 */
int	link_write_all(int fd, const void *p, size_t len, int timeout_ms,
	    struct error *err);
int	link_read_all(int fd, void *p, size_t len, int timeout_ms,
	    struct error *err);

#endif
