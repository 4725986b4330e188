/*
 * identity.c - this node's Ed25519 key pair.
 *
 * The secret key lives in a file of its own, created 0600 with O_EXCL so
 * it is never readable by others, and in guarded memory (sodium_malloc)
 * while loaded.  A key file that others can read, or that is missing or
 * short, is an error: fail closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "store_int.h"

struct identity {
	unsigned char	*sk;		/* crypto_sign_SECRETKEYBYTES, guarded */
	unsigned char	 pk[STORE_PUBKEY_LEN];
};

static int
write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len > 0) {
		ssize_t n = write(fd, c, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

int
identity_create(const char *dir, unsigned char pk[STORE_PUBKEY_LEN],
    struct error *err)
{
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	char path[1024], text[STORE_KEYTEXT_LEN + 1];
	int fd, rc = -1;

	crypto_sign_keypair(pk, sk);
	snprintf(path, sizeof(path), "%s/%s", dir, KEY_FILE);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		error_errno(err, ERR_FAIL, "%s", path);
		goto done;
	}
	if (write_all(fd, sk, sizeof(sk)) == -1 || fsync(fd) == -1) {
		error_errno(err, ERR_FAIL, "%s", path);
		close(fd);
		goto done;
	}
	close(fd);

	/* Not secret, but every file of the store is 0600 (docs/STORE.md). */
	snprintf(path, sizeof(path), "%s/%s", dir, PUB_FILE);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	pubkey_to_text(pk, text);
	strcat(text, "\n");
	if (fd == -1 || write_all(fd, text, strlen(text)) == -1 ||
	    fsync(fd) == -1) {
		error_errno(err, ERR_FAIL, "%s", path);
		if (fd != -1)
			close(fd);
		goto done;
	}
	close(fd);
	rc = 0;
done:
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

int
identity_load_dir(const char *dir, struct identity **out, struct error *err)
{
	struct identity *id;
	struct stat st;
	char path[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, KEY_FILE);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return error_errno(err, ERR_FAIL, "node key %s", path);
	if (fstat(fd, &st) == -1 || (st.st_mode & 077) != 0 ||
	    st.st_size != crypto_sign_SECRETKEYBYTES) {
		close(fd);
		return error_set(err, ERR_FAIL,
		    "node key %s: must be %d bytes, mode 0600", path,
		    crypto_sign_SECRETKEYBYTES);
	}
	if ((id = calloc(1, sizeof(*id))) == NULL ||
	    (id->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL) {
		free(id);
		close(fd);
		return error_errno(err, ERR_FAIL, "node key");
	}
	n = read(fd, id->sk, crypto_sign_SECRETKEYBYTES);
	close(fd);
	if (n != crypto_sign_SECRETKEYBYTES) {
		identity_free(id);
		return error_set(err, ERR_FAIL, "node key %s: short read", path);
	}
	crypto_sign_ed25519_sk_to_pk(id->pk, id->sk);
	sodium_mprotect_readonly(id->sk);
	*out = id;
	return 0;
}

const unsigned char *
identity_public(const struct identity *id)
{
	return id->pk;
}

void
identity_sign(const struct identity *id, const void *msg, size_t len,
    unsigned char sig[STORE_SIG_LEN])
{
	crypto_sign_detached(sig, NULL, msg, len, id->sk);
}

int
identity_x25519(const struct identity *id, unsigned char sk[32],
    unsigned char pk[32])
{
	if (crypto_sign_ed25519_sk_to_curve25519(sk, id->sk) != 0 ||
	    crypto_sign_ed25519_pk_to_curve25519(pk, id->pk) != 0)
		return -1;
	return 0;
}

void
identity_free(struct identity *id)
{
	if (id == NULL)
		return;
	sodium_free(id->sk);	/* wipes before freeing */
	free(id);
}

void
pubkey_to_text(const unsigned char pk[STORE_PUBKEY_LEN],
    char text[STORE_KEYTEXT_LEN])
{
	sodium_bin2base64(text, STORE_KEYTEXT_LEN, pk, STORE_PUBKEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
}

int
pubkey_from_text(const char *text, unsigned char pk[STORE_PUBKEY_LEN],
    struct error *err)
{
	char back[STORE_KEYTEXT_LEN];
	size_t len;

	if (strlen(text) == STORE_KEYTEXT_LEN - 1 &&
	    sodium_base642bin(pk, STORE_PUBKEY_LEN, text, strlen(text), NULL,
	    &len, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    len == STORE_PUBKEY_LEN) {
		/*
		 * Only as it is written back: libsodium 1.0.18 reads bytes
		 * from 0x80 up as '/', so a mangled key would name another.
		 */
		pubkey_to_text(pk, back);
		if (strcmp(back, text) == 0)
			return 0;
	}
	/* Quote it only when it is plain text: never a terminal's escape. */
	for (len = 0; text[len] != '\0'; len++)
		if ((unsigned char)text[len] < 0x20 ||
		    (unsigned char)text[len] > 0x7e)
			return error_set(err, ERR_INPUT, "invalid public key: "
			    "not plain text (want 44 characters of base64)");
	return error_set(err, ERR_INPUT,
	    "invalid public key '%.60s' (want 44 characters of base64)", text);
}
