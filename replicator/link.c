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
	struct buf	 out;			/* reused for sending */
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

static int64_t
now_ms(void)
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
	d = deadline - now_ms();
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

static int
write_until(int fd, const void *p, size_t len, int64_t deadline,
    struct error *err)
{
	const unsigned char *c = p;
	ssize_t n;
	int flags = 0;

#ifdef MSG_NOSIGNAL
	flags = MSG_NOSIGNAL;
#endif
	while (len > 0) {
		n = send(fd, c, len, flags);
		if (n > 0) {
			c += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			return error_errno(err, ERR_FAIL, "send");
		if (wait_fd(fd, POLLOUT, deadline, err) == -1)
			return -1;
	}
	return 0;
}

static int
read_until(int fd, void *p, size_t len, int64_t deadline, struct error *err)
{
	unsigned char *c = p;
	ssize_t n;

	while (len > 0) {
		n = recv(fd, c, len, 0);
		if (n > 0) {
			c += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return error_set(err, ERR_FAIL, "connection closed");
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return error_errno(err, ERR_FAIL, "recv");
		if (wait_fd(fd, POLLIN, deadline, err) == -1)
			return -1;
	}
	return 0;
}

int
link_write_all(int fd, const void *p, size_t len, int timeout_ms,
    struct error *err)
{
	return write_until(fd, p, len,
	    timeout_ms < 0 ? -1 : now_ms() + timeout_ms, err);
}

int
link_read_all(int fd, void *p, size_t len, int timeout_ms, struct error *err)
{
	return read_until(fd, p, len,
	    timeout_ms < 0 ? -1 : now_ms() + timeout_ms, err);
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

/* Handshake messages are frames of one exact length each. */
static int
hs_send(int fd, const void *p, size_t len, int64_t deadline,
    struct error *err)
{
	unsigned char hdr[4];

	put32(hdr, (uint32_t)len);
	if (write_until(fd, hdr, 4, deadline, err) == -1 ||
	    write_until(fd, p, len, deadline, err) == -1)
		return error_wrap(err, "handshake");
	return 0;
}

static int
hs_recv(int fd, void *p, size_t len, int64_t deadline, const char *what,
    struct error *err)
{
	unsigned char hdr[4];
	uint32_t n;

	if (read_until(fd, hdr, 4, deadline, err) == -1)
		return error_wrap(err, "handshake: waiting for %s", what);
	if ((n = get32(hdr)) != len)
		return error_set(err, ERR_MALFORMED, "handshake: %s has length %lu,"
		    " expected %zu", what, (unsigned long)n, len);
	if (read_until(fd, p, len, deadline, err) == -1)
		return error_wrap(err, "handshake: reading %s", what);
	return 0;
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

/* Signs label || th with the long-term key. */
static void
sign_th(const struct link_auth *a, const char *label, size_t lablen,
    const unsigned char th[HASH_LEN], unsigned char sig[LINK_SIG_LEN])
{
	unsigned char m[64];

	memcpy(m, label, lablen);
	memcpy(m + lablen, th, HASH_LEN);
	a->sign(a->sign_arg, m, lablen + HASH_LEN, sig);
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

int
link_connect(int fd, const struct link_auth *a,
    const unsigned char expect[LINK_KEY_LEN], struct link **out,
    struct error *err)
{
	struct link *l;
	struct hs h;
	int64_t deadline = now_ms() + LINK_HANDSHAKE_MS;
	unsigned char msg1[MSG1_LEN], msg3[MSG3_LEN];
	const unsigned char *sig;

	*out = NULL;
	if ((l = link_new(fd)) == NULL)
		return error_errno(err, ERR_FAIL, "handshake");
	memset(&h, 0, sizeof(h));
	if (ephemeral(&h, err) == -1)
		goto fail;
	memcpy(msg1, MAGIC, MAGIC_LEN);
	memcpy(msg1 + MAGIC_LEN, h.epk, 32);
	if (hs_send(fd, msg1, sizeof(msg1), deadline, err) == -1)
		goto fail;

	/* msg2: the responder's ephemeral key, then its sealed identity. */
	if (hs_recv(fd, h.msg, MSG2_LEN, deadline, "msg2", err) == -1)
		goto fail;
	if (crypto_scalarmult(h.dh, h.esk, h.msg) != 0) {
		error_set(err, ERR_MALFORMED, "handshake: bad ephemeral key");
		goto fail;
	}
	th_mix(h.th, 1, msg1, sizeof(msg1), h.msg, 32);
	kdf(h.k, h.dh, L_KEYR, sizeof(L_KEYR), h.th);
	if (open_(h.id, h.msg + 32, MSG2_LEN - 32, h.th, h.k) != 0) {
		error_set(err, ERR_BADSIG, "handshake: cannot authenticate msg2");
		goto fail;
	}
	memcpy(l->peer, h.id, LINK_KEY_LEN);
	sig = h.id + LINK_KEY_LEN;
	if (check_peer(l, a, expect, err) == -1)
		goto fail;
	if (verify_th(l->peer, L_SIGR, sizeof(L_SIGR), h.th, sig) != 0) {
		error_set(err, ERR_BADSIG, "handshake: bad signature from %s",
		    l->name);
		goto fail;
	}

	/* msg3: our sealed identity over everything so far. */
	th_mix(h.th, 0, h.msg, MSG2_LEN, NULL, 0);
	kdf(h.k, h.dh, L_KEYI, sizeof(L_KEYI), h.th);
	memcpy(h.id, a->pk, LINK_KEY_LEN);
	sign_th(a, L_SIGI, sizeof(L_SIGI), h.th, h.id + LINK_KEY_LEN);
	seal(msg3, h.id, ID_LEN, h.th, h.k);
	if (hs_send(fd, msg3, sizeof(msg3), deadline, err) == -1)
		goto fail;
	th_mix(h.th, 0, msg3, sizeof(msg3), NULL, 0);
	session_keys(l, &h, 1);
	sodium_memzero(&h, sizeof(h));
	*out = l;
	return 0;
fail:
	sodium_memzero(&h, sizeof(h));
	sodium_memzero(l, sizeof(*l));
	free(l);
	return -1;
}

int
link_accept(int fd, const struct link_auth *a, struct link **out,
    struct error *err)
{
	struct link *l;
	struct hs h;
	int64_t deadline = now_ms() + LINK_HANDSHAKE_MS;
	unsigned char msg1[MSG1_LEN], msg3[MSG3_LEN];
	const unsigned char *sig;

	*out = NULL;
	if ((l = link_new(fd)) == NULL)
		return error_errno(err, ERR_FAIL, "handshake");
	memset(&h, 0, sizeof(h));
	/* A real initiator sends msg1 at once; a slot is not held for less. */
	if (hs_recv(fd, msg1, sizeof(msg1), now_ms() + LINK_MSG1_MS, "msg1",
	    err) == -1)
		goto fail;
	if (memcmp(msg1, MAGIC, MAGIC_LEN) != 0) {
		error_set(err, ERR_MALFORMED, "handshake: not a cfgstore link v1 "
		    "client");
		goto fail;
	}
	if (ephemeral(&h, err) == -1)
		goto fail;
	if (crypto_scalarmult(h.dh, h.esk, msg1 + MAGIC_LEN) != 0) {
		error_set(err, ERR_MALFORMED, "handshake: bad ephemeral key");
		goto fail;
	}

	/* msg2: our ephemeral key and our identity, sealed and signed. */
	th_mix(h.th, 1, msg1, sizeof(msg1), h.epk, 32);
	kdf(h.k, h.dh, L_KEYR, sizeof(L_KEYR), h.th);
	memcpy(h.id, a->pk, LINK_KEY_LEN);
	sign_th(a, L_SIGR, sizeof(L_SIGR), h.th, h.id + LINK_KEY_LEN);
	memcpy(h.msg, h.epk, 32);
	seal(h.msg + 32, h.id, ID_LEN, h.th, h.k);
	if (hs_send(fd, h.msg, MSG2_LEN, deadline, err) == -1)
		goto fail;

	/* msg3: the initiator's identity, bound to this very exchange. */
	th_mix(h.th, 0, h.msg, MSG2_LEN, NULL, 0);
	kdf(h.k, h.dh, L_KEYI, sizeof(L_KEYI), h.th);
	if (hs_recv(fd, msg3, sizeof(msg3), deadline, "msg3", err) == -1)
		goto fail;
	if (open_(h.id, msg3, sizeof(msg3), h.th, h.k) != 0) {
		/* A replayed recording ends here: eR is new every time. */
		error_set(err, ERR_BADSIG, "handshake: cannot authenticate "
		    "msg3 (replayed or corrupted)");
		goto fail;
	}
	memcpy(l->peer, h.id, LINK_KEY_LEN);
	sig = h.id + LINK_KEY_LEN;
	if (check_peer(l, a, NULL, err) == -1)
		goto fail;
	if (verify_th(l->peer, L_SIGI, sizeof(L_SIGI), h.th, sig) != 0) {
		error_set(err, ERR_BADSIG, "handshake: bad signature from %s",
		    l->name);
		goto fail;
	}
	th_mix(h.th, 0, msg3, sizeof(msg3), NULL, 0);
	session_keys(l, &h, 0);
	sodium_memzero(&h, sizeof(h));
	*out = l;
	return 0;
fail:
	sodium_memzero(&h, sizeof(h));
	sodium_memzero(l, sizeof(*l));
	free(l);
	return -1;
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
link_send(struct link *l, const void *p, size_t len, int timeout_ms,
    struct error *err)
{
	unsigned char npub[AEAD_NPUB];
	unsigned char *c;
	int rc;

	if (len > LINK_PAYLOAD_MAX)
		return error_set(err, ERR_INPUT, "frame of %zu bytes exceeds "
		    "the limit of %u", len, LINK_PAYLOAD_MAX);
	if (l->txn == UINT64_MAX)
		return error_set(err, ERR_FAIL, "frame counter exhausted");
	buf_reset(&l->out);
	if (buf_reserve(&l->out, 4 + len + AEAD_ABYTES) == -1)
		return error_errno(err, ERR_FAIL, "send");
	c = (unsigned char *)l->out.data;
	put32(c, (uint32_t)(len + AEAD_ABYTES));
	nonce(npub, l->txn++);
	/* The length prefix is authenticated as associated data. */
	crypto_aead_xchacha20poly1305_ietf_encrypt(c + 4, NULL, p, len,
	    c, 4, NULL, npub, l->tx);
	rc = write_until(l->fd, c, 4 + len + AEAD_ABYTES,
	    timeout_ms < 0 ? -1 : now_ms() + timeout_ms, err);
	/* Big batches are rare: do not keep their memory around. */
	if (l->out.cap > (1u << 20))
		buf_free_secret(&l->out);
	return rc;
}

int
link_recv(struct link *l, struct buf *out, int timeout_ms, struct error *err)
{
	unsigned char hdr[4], npub[AEAD_NPUB];
	uint32_t n;
	size_t got, chunk;
	int64_t deadline;

	buf_reset(out);
	if (read_until(l->fd, hdr, 4,
	    timeout_ms < 0 ? -1 : now_ms() + timeout_ms, err) == -1)
		return -1;
	n = get32(hdr);
	if (n < AEAD_ABYTES || n - AEAD_ABYTES > LINK_PAYLOAD_MAX)
		return error_set(err, ERR_FAIL, "frame length %lu out of "
		    "range", (unsigned long)n);
	/* 10 s, plus one per MiB: enough for a slow link, not forever. */
	deadline = now_ms() + 10000 + (int64_t)(n >> 20) * 1000;
	for (got = 0; got < n; got += chunk) {
		chunk = n - got < (256u << 10) ? n - got : (256u << 10);
		if (buf_reserve(out, chunk) == -1)
			return error_errno(err, ERR_FAIL, "recv");
		if (read_until(l->fd, out->data + got, chunk, deadline,
		    err) == -1)
			return error_wrap(err, "frame of %lu bytes",
			    (unsigned long)n);
		out->len = got + chunk;
	}
	if (l->rxn == UINT64_MAX)
		return error_set(err, ERR_FAIL, "frame counter exhausted");
	nonce(npub, l->rxn);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)
	    out->data, NULL, NULL, (unsigned char *)out->data, n, hdr, 4,
	    npub, l->rx) != 0) {
		buf_reset(out);
		return error_set(err, ERR_FAIL, "frame %llu fails "
		    "authentication", (unsigned long long)l->rxn);
	}
	l->rxn++;
	out->len = n - AEAD_ABYTES;
	out->data[out->len] = '\0';
	return 0;
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
