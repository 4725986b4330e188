/*
 * link.c - handshake and encrypted frames over a connected socket.
 *
 * Handshake (docs/PROTOCOL.md has the bytes):
 *
 *	I -> R	msg1 = "CFGLINK1" || eI
 *	R -> I	msg2 = eR || AEAD(kR, pkR || sign_R(L_SIGR || th1))
 *	I -> R	msg3 =       AEAD(kI, pkI || sign_I(L_SIGI || th2))
 *
 * eI, eR are fresh X25519 keys; every key is derived from their shared
 * secret and a hash of the transcript so far, so nothing recorded from one
 * connection opens or authenticates another.  Each side's long-term key
 * travels encrypted and is bound to the ephemeral secret by the AEAD (the
 * MAC of SIGMA), and its signature covers both ephemeral keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "compat.h"
#include "link.h"

#define MAGIC		"CFGLINK1"
#define MAGIC_LEN	8
#define HASH_LEN	32
#define AEAD_ABYTES	crypto_aead_xchacha20poly1305_ietf_ABYTES
#define AEAD_NPUB	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define ID_LEN		(LINK_KEY_LEN + LINK_SIG_LEN)	/* pk || sig */
#define MSG1_LEN	(MAGIC_LEN + 32)
#define MSG2_LEN	(32 + ID_LEN + AEAD_ABYTES)
#define MSG3_LEN	(ID_LEN + AEAD_ABYTES)

/* Labels, each used with its terminating NUL (see PROTOCOL.md). */
static const char L_TH[] = "cfgstore link v1 transcript";
static const char L_KEYR[] = "cfgstore link v1 key responder";
static const char L_KEYI[] = "cfgstore link v1 key initiator";
static const char L_KEYI2R[] = "cfgstore link v1 key i2r";
static const char L_KEYR2I[] = "cfgstore link v1 key r2i";
static const char L_SIGR[] = "cfgstore link v1 sign responder";
static const char L_SIGI[] = "cfgstore link v1 sign initiator";

struct link {
	int		 fd;
	unsigned char	 tx[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	unsigned char	 rx[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint64_t	 txn, rxn;		/* next nonce counter each way */
	unsigned char	 peer[LINK_KEY_LEN];
	char		 name[LINK_NAME_MAX + 1];
	struct buf	 out;			/* sealed frames not yet sent */
	size_t		 outoff;		/* of out, already sent */
	/* The frame being received: its length, then its body. */
	unsigned char	 rhdr[4];
	size_t		 rhdr_got;
	uint32_t	 rlen;
	size_t		 rgot;
	int64_t		 rdeadline;		/* for the body */
};

/* Everything the handshake computes; wiped on every path out. */
struct hs {
	unsigned char	esk[32], epk[32];	/* our ephemeral pair */
	unsigned char	dh[32];
	unsigned char	th[HASH_LEN];
	unsigned char	k[32];
	unsigned char	msg[MSG2_LEN];
	unsigned char	id[ID_LEN];
};

int64_t
link_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline (-1: none), at least 0. */
static int
left(int64_t deadline)
{
	int64_t d;

	if (deadline < 0)
		return -1;
	d = deadline - link_now_ms();
	if (d < 0)
		return 0;
	return d > 1000000000 ? 1000000000 : (int)d;
}

static int
wait_fd(int fd, short events, int64_t deadline, struct error *err)
{
	struct pollfd pfd;
	int n;

	pfd.fd = fd;
	pfd.events = events;
	for (;;) {
		pfd.revents = 0;
		n = poll(&pfd, 1, left(deadline));
		if (n > 0)
			return 0;
		if (n == 0)
			return error_set(err, ERR_TIMEOUT, "timed out");
		if (errno != EINTR)
			return error_errno(err, ERR_FAIL, "poll");
	}
}

/*
 * Writes what the socket takes without blocking, from *done on: 1 when
 * all of it is written, 0 when the socket is full, -1 on error.
 */
static int
write_some(int fd, const unsigned char *p, size_t len, size_t *done,
    struct error *err)
{
	ssize_t n;
	int flags = 0;

#ifdef MSG_NOSIGNAL
	flags = MSG_NOSIGNAL;
#endif
	while (*done < len) {
		n = send(fd, p + *done, len - *done, flags);
		if (n > 0) {
			*done += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return error_errno(err, ERR_FAIL, "send");
	}
	return 1;
}

/* Reads up to len from *done on, without blocking; returns as above. */
static int
read_some(int fd, unsigned char *p, size_t len, size_t *done,
    struct error *err)
{
	ssize_t n;

	while (*done < len) {
		n = recv(fd, p + *done, len - *done, 0);
		if (n > 0) {
			*done += (size_t)n;
			continue;
		}
		if (n == 0)
			return error_set(err, ERR_FAIL, "connection closed");
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return error_errno(err, ERR_FAIL, "recv");
	}
	return 1;
}

static int
write_until(int fd, const void *p, size_t len, int64_t deadline,
    struct error *err)
{
	size_t done = 0;
	int rc;

	while ((rc = write_some(fd, p, len, &done, err)) == 0)
		if (wait_fd(fd, POLLOUT, deadline, err) == -1)
			return -1;
	return rc == 1 ? 0 : -1;
}

static int
read_until(int fd, void *p, size_t len, int64_t deadline, struct error *err)
{
	size_t done = 0;
	int rc;

	while ((rc = read_some(fd, p, len, &done, err)) == 0)
		if (wait_fd(fd, POLLIN, deadline, err) == -1)
			return -1;
	return rc == 1 ? 0 : -1;
}

int
link_write_all(int fd, const void *p, size_t len, int timeout_ms,
    struct error *err)
{
	return write_until(fd, p, len,
	    timeout_ms < 0 ? -1 : link_now_ms() + timeout_ms, err);
}

int
link_read_all(int fd, void *p, size_t len, int timeout_ms, struct error *err)
{
	return read_until(fd, p, len,
	    timeout_ms < 0 ? -1 : link_now_ms() + timeout_ms, err);
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}
/* th = BLAKE2b-256(th || a || b), or of L_TH || a || b when first. */
static void
th_mix(unsigned char th[HASH_LEN], int first, const void *a, size_t alen,
    const void *b, size_t blen)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, HASH_LEN);
	if (first)
		crypto_generichash_update(&st, (const unsigned char *)L_TH,
		    sizeof(L_TH));
	else
		crypto_generichash_update(&st, th, HASH_LEN);
	crypto_generichash_update(&st, a, alen);
	if (b != NULL)
		crypto_generichash_update(&st, b, blen);
	crypto_generichash_final(&st, th, HASH_LEN);
	sodium_memzero(&st, sizeof(st));
}

/* out = BLAKE2b-256 keyed with dh over label || th. */
static void
kdf(unsigned char out[32], const unsigned char dh[32], const char *label,
    size_t lablen, const unsigned char th[HASH_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, dh, 32, 32);
	crypto_generichash_update(&st, (const unsigned char *)label, lablen);
	crypto_generichash_update(&st, th, HASH_LEN);
	crypto_generichash_final(&st, out, 32);
	sodium_memzero(&st, sizeof(st));
}

int
link_sign_input_ok(const void *msg, size_t len)
{
	/* Both labels have one length: a signature over nothing else. */
	_Static_assert(sizeof(L_SIGR) == sizeof(L_SIGI), "label lengths");
	if (len != sizeof(L_SIGR) + HASH_LEN)
		return 0;
	return memcmp(msg, L_SIGR, sizeof(L_SIGR)) == 0 ||
	    memcmp(msg, L_SIGI, sizeof(L_SIGI)) == 0;
}

static int
verify_th(const unsigned char pk[LINK_KEY_LEN], const char *label,
    size_t lablen, const unsigned char th[HASH_LEN],
    const unsigned char sig[LINK_SIG_LEN])
{
	unsigned char m[64];

	memcpy(m, label, lablen);
	memcpy(m + lablen, th, HASH_LEN);
	return crypto_sign_verify_detached(sig, m, lablen + HASH_LEN, pk);
}

static const unsigned char zero_nonce[AEAD_NPUB];

static void
seal(unsigned char *c, const unsigned char *m, size_t mlen,
    const unsigned char th[HASH_LEN], const unsigned char k[32])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt(c, NULL, m, mlen,
	    th, HASH_LEN, NULL, zero_nonce, k);
}

static int
open_(unsigned char *m, const unsigned char *c, size_t clen,
    const unsigned char th[HASH_LEN], const unsigned char k[32])
{
	return crypto_aead_xchacha20poly1305_ietf_decrypt(m, NULL, NULL, c,
	    clen, th, HASH_LEN, zero_nonce, k);
}

static void
keytext(const unsigned char pk[LINK_KEY_LEN], char *text, size_t len)
{
	sodium_bin2base64(text, len, pk, LINK_KEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
}

/*
 * Checks the other side's long-term key: the one we expect, if any, and
 * one we trust.  Both before its signature is even looked at.
 */
static int
check_peer(struct link *l, const struct link_auth *a,
    const unsigned char expect[LINK_KEY_LEN], struct error *err)
{
	char text[sodium_base64_ENCODED_LEN(LINK_KEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL)];

	keytext(l->peer, text, sizeof(text));
	if (expect != NULL && sodium_memcmp(expect, l->peer,
	    LINK_KEY_LEN) != 0)
		return error_set(err, ERR_UNTRUSTED, "handshake: peer presented "
		    "key %s, not the one configured for it", text);
	if (!a->trust(a->trust_arg, l->peer, l->name, sizeof(l->name)))
		return error_set(err, ERR_UNTRUSTED, "handshake: key %s is not "
		    "trusted", text);
	return 0;
}

static struct link *
link_new(int fd)
{
	struct link *l;
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->fd = fd;
	return l;
}

static void
session_keys(struct link *l, const struct hs *h, int initiator)
{
	if (initiator) {
		kdf(l->tx, h->dh, L_KEYI2R, sizeof(L_KEYI2R), h->th);
		kdf(l->rx, h->dh, L_KEYR2I, sizeof(L_KEYR2I), h->th);
	} else {
		kdf(l->tx, h->dh, L_KEYR2I, sizeof(L_KEYR2I), h->th);
		kdf(l->rx, h->dh, L_KEYI2R, sizeof(L_KEYI2R), h->th);
	}
}

static int
ephemeral(struct hs *h, struct error *err)
{
	randombytes_buf(h->esk, sizeof(h->esk));
	if (crypto_scalarmult_base(h->epk, h->esk) != 0)
		return error_set(err, ERR_FAIL, "handshake: key generation");
	return 0;
}

/*
 * The handshake as a state machine, so the network process can run many
 * in one poll(2) loop; link_connect and link_accept drive the same one
 * with blocking waits.  Each phase is one message sent or received, or
 * one signature waited for.
 */
enum hs_phase {
	I_MSG1, I_MSG2, I_SIGN, I_MSG3,		/* initiator */
	R_MSG1, R_SIGN, R_MSG2, R_MSG3,		/* responder */
	HS_DONE,
};

struct link_hs {
	struct link		*l;		/* until taken */
	const struct link_auth	*a;
	unsigned char		 expect[LINK_KEY_LEN];
	int			 has_expect;
	int			 phase, sending;
	int64_t			 deadline, msg1_deadline;
	struct hs		 h;
	unsigned char		 msg1[MSG1_LEN], msg3[MSG3_LEN];
	unsigned char		 io[4 + MSG2_LEN];	/* message in flight */
	size_t			 iolen, iodone;
	const char		*what;		/* its name, receiving */
	unsigned char		 sign_in[64];
	size_t			 sign_len;
};

/* Handshake messages are frames of one exact length each. */
static void
hs_out(struct link_hs *x, const void *p, size_t len)
{
	put32(x->io, (uint32_t)len);
	memcpy(x->io + 4, p, len);
	x->iolen = 4 + len;
	x->iodone = 0;
	x->sending = 1;
}

static void
hs_in(struct link_hs *x, size_t len, const char *what)
{
	x->iolen = 4 + len;
	x->iodone = 0;
	x->sending = 0;
	x->what = what;
}

/* Says in err which step failed, as the cause it holds. */
static int
hs_wrap(struct link_hs *x, struct error *err)
{
	if (x->sending || x->phase == I_SIGN || x->phase == R_SIGN)
		return error_wrap(err, "handshake");
	if (x->iodone < 4)
		return error_wrap(err, "handshake: waiting for %s", x->what);
	return error_wrap(err, "handshake: reading %s", x->what);
}

/* The message in flight: 1 through, 0 the socket must wait, -1 failed. */
static int
hs_io(struct link_hs *x, struct error *err)
{
	uint32_t n;
	int rc;

	if (x->sending)
		rc = write_some(x->l->fd, x->io, x->iolen, &x->iodone, err);
	else if (x->iodone < 4 &&
	    (rc = read_some(x->l->fd, x->io, 4, &x->iodone, err)) != 1)
		;
	else if (x->iodone == 4 && (n = get32(x->io)) != x->iolen - 4)
		return error_set(err, ERR_MALFORMED, "handshake: %s has length "
		    "%lu, expected %zu", x->what, (unsigned long)n,
		    x->iolen - 4);
	else
		rc = read_some(x->l->fd, x->io, x->iolen, &x->iodone, err);
	if (rc == -1)
		return hs_wrap(x, err);
	return rc;
}

/* Signs label || th with the long-term key: what to ask for. */
static void
hs_sign_input(struct link_hs *x, const char *label, size_t lablen)
{
	memcpy(x->sign_in, label, lablen);
	memcpy(x->sign_in + lablen, x->h.th, HASH_LEN);
	x->sign_len = lablen + HASH_LEN;
}

/* What follows a message through: the crypto of the protocol. */
static int
hs_next(struct link_hs *x, struct error *err)
{
	struct link *l = x->l;
	struct hs *h = &x->h;
	const unsigned char *sig;

	switch (x->phase) {
	case I_MSG1:
		hs_in(x, MSG2_LEN, "msg2");
		x->phase = I_MSG2;
		return 0;
	case I_MSG2:
		/* The responder's ephemeral key, then its sealed identity. */
		memcpy(h->msg, x->io + 4, MSG2_LEN);
		if (crypto_scalarmult(h->dh, h->esk, h->msg) != 0)
			return error_set(err, ERR_MALFORMED, "handshake: bad "
			    "ephemeral key");
		th_mix(h->th, 1, x->msg1, sizeof(x->msg1), h->msg, 32);
		kdf(h->k, h->dh, L_KEYR, sizeof(L_KEYR), h->th);
		if (open_(h->id, h->msg + 32, MSG2_LEN - 32, h->th, h->k) != 0)
			return error_set(err, ERR_BADSIG, "handshake: cannot "
			    "authenticate msg2");
		memcpy(l->peer, h->id, LINK_KEY_LEN);
		sig = h->id + LINK_KEY_LEN;
		if (check_peer(l, x->a, x->has_expect ? x->expect : NULL,
		    err) == -1)
			return -1;
		if (verify_th(l->peer, L_SIGR, sizeof(L_SIGR), h->th, sig) != 0)
			return error_set(err, ERR_BADSIG, "handshake: bad "
			    "signature from %s", l->name);
		/* msg3: our sealed identity over everything so far. */
		th_mix(h->th, 0, h->msg, MSG2_LEN, NULL, 0);
		kdf(h->k, h->dh, L_KEYI, sizeof(L_KEYI), h->th);
		hs_sign_input(x, L_SIGI, sizeof(L_SIGI));
		x->phase = I_SIGN;
		return 0;
	case I_MSG3:
		th_mix(h->th, 0, x->msg3, sizeof(x->msg3), NULL, 0);
		session_keys(l, h, 1);
		x->phase = HS_DONE;
		return 0;
	case R_MSG1:
		memcpy(x->msg1, x->io + 4, MSG1_LEN);
		if (memcmp(x->msg1, MAGIC, MAGIC_LEN) != 0)
			return error_set(err, ERR_MALFORMED, "handshake: not a "
			    "cfgstore link v1 client");
		if (ephemeral(h, err) == -1)
			return -1;
		if (crypto_scalarmult(h->dh, h->esk, x->msg1 + MAGIC_LEN) != 0)
			return error_set(err, ERR_MALFORMED, "handshake: bad "
			    "ephemeral key");
		/* msg2: our ephemeral key and our identity, sealed, signed. */
		th_mix(h->th, 1, x->msg1, sizeof(x->msg1), h->epk, 32);
		kdf(h->k, h->dh, L_KEYR, sizeof(L_KEYR), h->th);
		hs_sign_input(x, L_SIGR, sizeof(L_SIGR));
		x->phase = R_SIGN;
		return 0;
	case R_MSG2:
		/* msg3: the initiator's identity, bound to this exchange. */
		th_mix(h->th, 0, h->msg, MSG2_LEN, NULL, 0);
		kdf(h->k, h->dh, L_KEYI, sizeof(L_KEYI), h->th);
		hs_in(x, MSG3_LEN, "msg3");
		x->phase = R_MSG3;
		return 0;
	case R_MSG3:
		memcpy(x->msg3, x->io + 4, MSG3_LEN);
		if (open_(h->id, x->msg3, sizeof(x->msg3), h->th, h->k) != 0)
			/* A replayed recording ends here: eR is new. */
			return error_set(err, ERR_BADSIG, "handshake: cannot "
			    "authenticate msg3 (replayed or corrupted)");
		memcpy(l->peer, h->id, LINK_KEY_LEN);
		sig = h->id + LINK_KEY_LEN;
		if (check_peer(l, x->a, NULL, err) == -1)
			return -1;
		if (verify_th(l->peer, L_SIGI, sizeof(L_SIGI), h->th, sig) != 0)
			return error_set(err, ERR_BADSIG, "handshake: bad "
			    "signature from %s", l->name);
		th_mix(h->th, 0, x->msg3, sizeof(x->msg3), NULL, 0);
		session_keys(l, h, 0);
		x->phase = HS_DONE;
		return 0;
	}
	return error_set(err, ERR_FAIL, "handshake: out of step");
}

int
link_hs_new(int fd, int initiator, const struct link_auth *a,
    const unsigned char expect[LINK_KEY_LEN], struct link_hs **out,
    struct error *err)
{
	struct link_hs *x;
	int64_t now = link_now_ms();

	*out = NULL;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return error_errno(err, ERR_FAIL, "handshake");
	if ((x->l = link_new(fd)) == NULL) {
		error_errno(err, ERR_FAIL, "handshake");
		free(x);
		return -1;
	}
	x->a = a;
	if (expect != NULL) {
		memcpy(x->expect, expect, LINK_KEY_LEN);
		x->has_expect = 1;
	}
	x->deadline = now + LINK_HANDSHAKE_MS;
	/* A real initiator sends msg1 at once; a slot is not held for less. */
	x->msg1_deadline = now + LINK_MSG1_MS;
	if (initiator) {
		if (ephemeral(&x->h, err) == -1) {
			link_hs_free(x);
			return -1;
		}
		memcpy(x->msg1, MAGIC, MAGIC_LEN);
		memcpy(x->msg1 + MAGIC_LEN, x->h.epk, 32);
		hs_out(x, x->msg1, sizeof(x->msg1));
		x->phase = I_MSG1;
	} else {
		hs_in(x, MSG1_LEN, "msg1");
		x->phase = R_MSG1;
	}
	*out = x;
	return 0;
}

int
link_hs_step(struct link_hs *x, struct error *err)
{
	int rc;

	for (;;) {
		if (x->phase == HS_DONE)
			return LINK_HS_DONE;
		if (x->phase == I_SIGN || x->phase == R_SIGN)
			return LINK_HS_SIGN;
		if ((rc = hs_io(x, err)) == -1)
			return -1;
		if (rc == 0)
			return x->sending ? LINK_HS_WRITE : LINK_HS_READ;
		if (hs_next(x, err) == -1)
			return -1;
	}
}

const void *
link_hs_sign_input(const struct link_hs *x, size_t *len)
{
	*len = x->sign_len;
	return x->sign_in;
}

void
link_hs_signature(struct link_hs *x, const unsigned char sig[LINK_SIG_LEN])
{
	struct hs *h = &x->h;

	memcpy(h->id, x->a->pk, LINK_KEY_LEN);
	memcpy(h->id + LINK_KEY_LEN, sig, LINK_SIG_LEN);
	if (x->phase == I_SIGN) {
		seal(x->msg3, h->id, ID_LEN, h->th, h->k);
		hs_out(x, x->msg3, sizeof(x->msg3));
		x->phase = I_MSG3;
	} else if (x->phase == R_SIGN) {
		memcpy(h->msg, h->epk, 32);
		seal(h->msg + 32, h->id, ID_LEN, h->th, h->k);
		hs_out(x, h->msg, MSG2_LEN);
		x->phase = R_MSG2;
	}
}

int64_t
link_hs_deadline(const struct link_hs *x)
{
	return x->phase == R_MSG1 ? x->msg1_deadline : x->deadline;
}

int
link_hs_expire(struct link_hs *x, struct error *err)
{
	error_set(err, ERR_TIMEOUT, "timed out");
	return hs_wrap(x, err);
}

struct link *
link_hs_take(struct link_hs *x)
{
	struct link *l = x->l;

	x->l = NULL;
	return l;
}

void
link_hs_free(struct link_hs *x)
{
	if (x == NULL)
		return;
	if (x->l != NULL) {
		/* The descriptor stays the caller's. */
		sodium_memzero(x->l, sizeof(*x->l));
		free(x->l);
	}
	sodium_memzero(x, sizeof(*x));
	free(x);
}

/* Runs the state machine to its end, waiting on the socket. */
static int
handshake(int fd, int initiator, const struct link_auth *a,
    const unsigned char expect[LINK_KEY_LEN], struct link **out,
    struct error *err)
{
	struct link_hs *x;
	unsigned char sig[LINK_SIG_LEN];
	const void *m;
	size_t mlen;
	int rc;

	*out = NULL;
	if (link_hs_new(fd, initiator, a, expect, &x, err) == -1)
		return -1;
	while ((rc = link_hs_step(x, err)) != LINK_HS_DONE && rc != -1) {
		if (rc == LINK_HS_SIGN) {
			m = link_hs_sign_input(x, &mlen);
			a->sign(a->sign_arg, m, mlen, sig);
			link_hs_signature(x, sig);
			continue;
		}
		if (wait_fd(fd, rc == LINK_HS_READ ? POLLIN : POLLOUT,
		    link_hs_deadline(x), err) == -1) {
			rc = hs_wrap(x, err);
			break;
		}
	}
	if (rc == LINK_HS_DONE)
		*out = link_hs_take(x);
	sodium_memzero(sig, sizeof(sig));
	link_hs_free(x);
	return rc == LINK_HS_DONE ? 0 : -1;
}

int
link_connect(int fd, const struct link_auth *a,
    const unsigned char expect[LINK_KEY_LEN], struct link **out,
    struct error *err)
{
	return handshake(fd, 1, a, expect, out, err);
}

int
link_accept(int fd, const struct link_auth *a, struct link **out,
    struct error *err)
{
	return handshake(fd, 0, a, NULL, out, err);
}

/* The nonce is the frame counter, 8 bytes little-endian, then zeros. */
static void
nonce(unsigned char n[AEAD_NPUB], uint64_t ctr)
{
	int i;

	memset(n, 0, AEAD_NPUB);
	for (i = 0; i < 8; i++)
		n[i] = (unsigned char)(ctr >> (8 * i));
}

int
link_queue(struct link *l, const void *p, size_t len, struct error *err)
{
	unsigned char npub[AEAD_NPUB];
	unsigned char *c;

	if (len > LINK_PAYLOAD_MAX)
		return error_set(err, ERR_INPUT, "frame of %zu bytes exceeds "
		    "the limit of %u", len, LINK_PAYLOAD_MAX);
	if (l->txn == UINT64_MAX)
		return error_set(err, ERR_FAIL, "frame counter exhausted");
	if (buf_reserve(&l->out, 4 + len + AEAD_ABYTES) == -1)
		return error_errno(err, ERR_FAIL, "send");
	c = (unsigned char *)l->out.data + l->out.len;
	put32(c, (uint32_t)(len + AEAD_ABYTES));
	nonce(npub, l->txn++);
	/* The length prefix is authenticated as associated data. */
	crypto_aead_xchacha20poly1305_ietf_encrypt(c + 4, NULL, p, len,
	    c, 4, NULL, npub, l->tx);
	l->out.len += 4 + len + AEAD_ABYTES;
	return 0;
}

int
link_flush(struct link *l, struct error *err)
{
	int rc;

	rc = write_some(l->fd, (unsigned char *)l->out.data, l->out.len,
	    &l->outoff, err);
	if (rc == 1) {
		buf_reset(&l->out);
		l->outoff = 0;
		/* Big batches are rare: do not keep their memory around. */
		if (l->out.cap > (1u << 20))
			buf_free(&l->out);
	}
	return rc;
}

size_t
link_queued(const struct link *l)
{
	return l->out.len - l->outoff;
}

int
link_send(struct link *l, const void *p, size_t len, int timeout_ms,
    struct error *err)
{
	int64_t deadline = timeout_ms < 0 ? -1 : link_now_ms() + timeout_ms;
	int rc;

	if (link_queue(l, p, len, err) == -1)
		return -1;
	while ((rc = link_flush(l, err)) == 0)
		if (wait_fd(l->fd, POLLOUT, deadline, err) == -1)
			return -1;
	return rc == 1 ? 0 : -1;
}

int
link_recv_some(struct link *l, struct buf *out, struct error *err)
{
	unsigned char npub[AEAD_NPUB];
	size_t chunk;
	int rc;

	if (l->rhdr_got < 4) {
		buf_reset(out);
		if ((rc = read_some(l->fd, l->rhdr, 4, &l->rhdr_got,
		    err)) != 1)
			return rc;
		l->rlen = get32(l->rhdr);
		if (l->rlen < AEAD_ABYTES ||
		    l->rlen - AEAD_ABYTES > LINK_PAYLOAD_MAX)
			return error_set(err, ERR_FAIL, "frame length %lu out "
			    "of range", (unsigned long)l->rlen);
		l->rgot = 0;
		/* 10 s, plus one per MiB: enough for a slow link. */
		l->rdeadline = link_now_ms() + 10000 +
		    (int64_t)(l->rlen >> 20) * 1000;
	}
	/* The buffer grows only as bytes arrive. */
	while (l->rgot < l->rlen) {
		chunk = l->rlen - l->rgot < (256u << 10) ?
		    l->rlen - l->rgot : (256u << 10);
		if (buf_reserve(out, chunk) == -1)
			return error_errno(err, ERR_FAIL, "recv");
		rc = read_some(l->fd, (unsigned char *)out->data,
		    l->rgot + chunk, &l->rgot, err);
		out->len = l->rgot;
		if (rc == -1)
			return error_wrap(err, "frame of %lu bytes",
			    (unsigned long)l->rlen);
		if (rc == 0)
			return 0;
	}
	l->rhdr_got = 0;
	if (l->rxn == UINT64_MAX)
		return error_set(err, ERR_FAIL, "frame counter exhausted");
	nonce(npub, l->rxn);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)
	    out->data, NULL, NULL, (unsigned char *)out->data, l->rlen,
	    l->rhdr, 4, npub, l->rx) != 0) {
		buf_reset(out);
		return error_set(err, ERR_FAIL, "frame %llu fails "
		    "authentication", (unsigned long long)l->rxn);
	}
	l->rxn++;
	out->len = l->rlen - AEAD_ABYTES;
	out->data[out->len] = '\0';
	return 1;
}

int64_t
link_recv_deadline(const struct link *l)
{
	return l->rhdr_got == 4 ? l->rdeadline : -1;
}

int
link_recv_expire(struct link *l, struct error *err)
{
	error_set(err, ERR_TIMEOUT, "timed out");
	return error_wrap(err, "frame of %lu bytes", (unsigned long)l->rlen);
}

int
link_recv(struct link *l, struct buf *out, int timeout_ms, struct error *err)
{
	int64_t first = timeout_ms < 0 ? -1 : link_now_ms() + timeout_ms;
	int rc;

	while ((rc = link_recv_some(l, out, err)) == 0) {
		if (link_recv_deadline(l) == -1) {
			if (wait_fd(l->fd, POLLIN, first, err) == -1)
				return -1;
		} else if (wait_fd(l->fd, POLLIN, l->rdeadline, err) == -1)
			return error_wrap(err, "frame of %lu bytes",
			    (unsigned long)l->rlen);
	}
	return rc == 1 ? 0 : -1;
}

const unsigned char *
link_peer_key(const struct link *l)
{
	return l->peer;
}

const char *
link_peer_name(const struct link *l)
{
	return l->name;
}

int
link_fd(const struct link *l)
{
	return l->fd;
}

void
link_free(struct link *l)
{
	if (l == NULL)
		return;
	close(l->fd);
	buf_free(&l->out);
	sodium_memzero(l, sizeof(*l));
	free(l);
}
