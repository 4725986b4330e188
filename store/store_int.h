/*
 * store_int.h - what the files of store/ share and nobody else sees.
 */
#ifndef CFGSTORE_STORE_INT_H
#define CFGSTORE_STORE_INT_H

#include "store.h"

#define KEY_FILE	"node.key"	/* Ed25519 secret key, 64 bytes, 0600 */
#define PUB_FILE	"node.pub"	/* public key, base64, one line */

/* Context prefixed to a commit's hash before it is signed. */
#define COMMIT_SIG_CONTEXT	"cfgstore commit v1"

/* value.c: valid UTF-8 with no control character but TAB; ERR_INPUT. */
enum text_kind { TEXT_VALUE, TEXT_MESSAGE };
int	text_check(const char *s, size_t len, enum text_kind kind,
	    struct error *err);

/* identity.c */
int	identity_create(const char *dir, unsigned char pk[STORE_PUBKEY_LEN],
	    struct error *err);
int	identity_load_dir(const char *dir, struct identity **out,
	    struct error *err);

/* commit.c: the fields of a commit being made. */
struct commit_op_in {
	enum commit_op		 op;
	const char		*key;
	const struct value	*old;	/* NULL: absent */
	const struct value	*new;	/* NULL: absent */
};

struct commit_in {
	uint64_t			 rev;
	const unsigned char		*parent;
	const char			*author;
	const char			*node;
	uint64_t			 time_ms;
	const char			*message;
	uint64_t			 flags;		/* COMMIT_*; 0: none */
	uint32_t			 confirm;	/* COMMIT_CONFIRM's window */
	uint64_t			 epoch;		/* with COMMIT_PROMOTE */
	const struct commit_op_in	*ops;
	size_t				 nops;
};

/* Encodes, hashes and signs: out gets the signed bytes. */
int	commit_make(const struct commit_in *in, const struct identity *id,
	    struct buf *out, unsigned char hash[STORE_HASH_LEN],
	    struct error *err);

/* 0 when the signer may sign; -1 with err (ERR_UNTRUSTED) when not. */
typedef int (*commit_trust_fn)(void *arg, const unsigned char *signer,
	    struct error *err);
/*
 * commit_parse, asking trust (when not NULL) about the signer before the
 * signature is checked or anything of the body decoded.
 */
int	commit_parse_trusted(const void *raw, size_t len, commit_trust_fn trust,
	    void *arg, struct commit **out, struct error *err);

#endif
