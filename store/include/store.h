/*
 * store.h - the versioned configuration store (LMDB underneath).
 *
 * The whole public API of store/.  Types are opaque; no LMDB, msgpack or
 * libsodium type appears here.  Every function that can fail returns 0 on
 * success and -1 with *err filled (err->code is an enum error_code, which
 * is also the command line's exit status).  Objects handed out through an
 * output parameter belong to the caller and are released with the matching
 * _free function, which accepts NULL.
 *
 * Revisions count from 1; revision 0 is the empty store before any commit.
 * A `rev` argument of 0 means "the head".
 */
#ifndef CFGSTORE_STORE_H
#define CFGSTORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

#define STORE_KEY_MAX		255		/* bytes in a key, "@HOST" included */
#define STORE_NODE_MAX		63		/* bytes in a node (host) name */
#define STORE_VALUE_MAX		(8u << 20)	/* bytes in one value */
#define STORE_LIST_MAX		65535		/* items in one list */
#define STORE_MESSAGE_MAX	4096		/* bytes in a commit message */
#define STORE_COMMIT_MAX	(64u << 20)	/* bytes of one signed commit */
#define STORE_HASH_LEN		32
#define STORE_PUBKEY_LEN	32
#define STORE_SIG_LEN		64
#define STORE_KEYTEXT_LEN	45		/* base64 public key + NUL */

/* ---- values ---------------------------------------------------------- */

/*
 * A value is a string (UTF-8 text, one line: no NUL, CR or LF), a list of
 * such strings, or a blob of arbitrary bytes.  It is kept in its canonical
 * msgpack encoding (str, array of str, bin), the bytes that are hashed.
 */
struct value;
enum value_type { VALUE_STRING = 1, VALUE_LIST, VALUE_BLOB };

int	value_string(const char *s, size_t len, struct value **out,
	    struct error *err);
int	value_list(const char *const *items, size_t n, struct value **out,
	    struct error *err);
int	value_blob(const void *p, size_t len, struct value **out,
	    struct error *err);
/* Parses a canonical encoding (as value_encoded gives it). */
int	value_decode(const void *p, size_t len, struct value **out,
	    struct error *err);
enum value_type value_type(const struct value *v);
/* String or blob payload; valid as long as v.  Not NUL-terminated for blobs. */
const void *value_bytes(const struct value *v, size_t *len);
size_t	value_count(const struct value *v);		/* list items */
const char *value_item(const struct value *v, size_t i, size_t *len);
const void *value_encoded(const struct value *v, size_t *len);
int	value_equal(const struct value *a, const struct value *b);
struct value *value_dup(const struct value *v);	/* NULL on ENOMEM */
const char *value_type_name(enum value_type t);	/* "string", "list", "blob" */
void	value_free(struct value *v);

/* ---- keys ------------------------------------------------------------ */

/*
 * KEY is dot-separated components of [A-Za-z0-9_-], each starting with a
 * letter or digit, optionally followed by
 * "@HOST", a per-host override.  Returns 0, or -1 with ERR_INPUT.
 */
int	key_check(const char *key, struct error *err);
int	node_name_check(const char *name, struct error *err);
/* Splits "K@H": *host points into key (NULL when none); returns base length. */
size_t	key_base(const char *key, const char **host);

/* Public keys as one line of text (base64, 44 characters). */
void	pubkey_to_text(const unsigned char pk[STORE_PUBKEY_LEN],
	    char text[STORE_KEYTEXT_LEN]);
int	pubkey_from_text(const char *text, unsigned char pk[STORE_PUBKEY_LEN],
	    struct error *err);

/* ---- schema (docs/SCHEMA.md) ------------------------------------------ */

/*
 * The schema is records like any other: "schema.PATTERN" = "TYPE | WHAT",
 * PATTERN a key whose components may be "*" (any one component).  Every
 * commit on the primary is checked against the schema of the state it
 * makes; a value that does not fit, or a malformed schema record, is
 * ERR_SCHEMA and nothing is written.
 */
struct store;
struct change;

#define SCHEMA_PREFIX		"schema."

/* 0 when spec ("int 0..254 | what it is") is a type; else ERR_SCHEMA. */
int	schema_spec_check(const char *spec, struct error *err);
/*
 * 0 when v fits spec; else ERR_SCHEMA with one line naming key, value and
 * rule: `carp.carp1.advskew: "12x" is not an integer 0..254`.
 */
int	schema_value_check(const char *spec, const char *key,
	    const struct value *v, struct error *err);
/* The rule spec states, in words ("an integer 0..254"); "" if malformed. */
void	schema_spec_rule(const char *spec, char *out, size_t len);
/* The description after "|", or "" (a pointer into spec). */
const char *schema_spec_description(const char *spec);

/*
 * The schema record that types key (an "@HOST" is ignored) at rev (0: the
 * head): pattern gets its key without "schema.", *spec its value.  The most
 * specific pattern wins (a name beats "*", the leftmost difference first).
 * ERR_NOTFOUND when no record types key.
 */
int	store_schema_find(struct store *s, const char *key, uint64_t rev,
	    char *pattern, size_t plen, struct value **spec,
	    struct error *err);

/* ---- opening --------------------------------------------------------- */

struct store;

struct store_init_opts {
	const char	*node;		/* this node's name */
	int		 primary;	/* accepts writes and pushes to peers */
	const char	*listen;	/* ADDR:PORT the daemon listens on, or NULL */
};

/*
 * Creates the store directory (0700), or takes an empty one, the LMDB
 * environment and this node's Ed25519 key pair, every file 0600 from its
 * creation, and syncs the directory.
 * Fails with ERR_EXISTS if a store already exists there, ERR_INPUT if dir
 * is not a directory or holds something else (then nothing is changed).
 * All or nothing: when any step fails (ERR_DISKFULL on a full disk), the
 * files it made are removed, and the directory if it made that, so init
 * can be run again.
 */
int	store_init(const char *dir, const struct store_init_opts *o,
	    struct error *err);
/* store_init with a primary's first commit, c, as part of the all or none. */
int	store_init_commit(const char *dir, const struct store_init_opts *o,
	    const struct change *c, const char *message, struct error *err);

#define STORE_RDONLY	0x01
int	store_open(const char *dir, int flags, struct store **out,
	    struct error *err);
void	store_close(struct store *s);

const char *store_dir(const struct store *s);
const char *store_node(const struct store *s);
int	store_is_primary(const struct store *s);
const char *store_listen(const struct store *s);	/* "" when unset */
void	store_public_key(const struct store *s, unsigned char pk[STORE_PUBKEY_LEN]);
/* The primary's name as far as this node knows; ERR_FAIL "no primary known". */
int	store_primary_name(struct store *s, char *name, size_t len,
	    struct error *err);

int	store_head(struct store *s, uint64_t *rev,
	    unsigned char hash[STORE_HASH_LEN], struct error *err);

/* ---- reading --------------------------------------------------------- */

/*
 * The value of key at revision rev (0: head).  ERR_FAIL "not found" when
 * the key has no value then, ERR_FAIL "no revision" when rev is beyond
 * the head.  Cost does not depend on the history length.
 */
int	store_get(struct store *s, const char *key, uint64_t rev,
	    struct value **out, struct error *err);
/* As store_get, resolved for host: KEY@host wins over KEY. */
int	store_get_for_host(struct store *s, const char *key, const char *host,
	    uint64_t rev, struct value **out, struct error *err);

/*
 * 0 when host is one to resolve reads for: this node, a peer, or the host
 * of an override at rev; else ERR_INPUT naming the known hosts.
 */
int	store_host_check(struct store *s, const char *host, uint64_t rev,
	    struct error *err);

/* Visitors return 0 to go on, anything else to stop (then returned). */
typedef int (*store_visit_fn)(void *arg, const char *key,
	    const struct value *v);

/* Every key starting with prefix (NULL: all), sorted, as of rev. */
int	store_list(struct store *s, const char *prefix, uint64_t rev,
	    store_visit_fn fn, void *arg, struct error *err);
/*
 * The state as host sees it at rev: keys without "@", where KEY@host, if
 * set, gives KEY's value.  Overrides for other hosts are left out.
 */
int	store_list_for_host(struct store *s, const char *host, uint64_t rev,
	    store_visit_fn fn, void *arg, struct error *err);
/* The same, only keys starting with prefix (NULL: all; no "@" in it). */
int	store_list_prefix_for_host(struct store *s, const char *host,
	    const char *prefix, uint64_t rev, store_visit_fn fn, void *arg,
	    struct error *err);

/* ---- writing --------------------------------------------------------- */

/* A batch of operations that store_commit turns into one commit. */
struct change;

struct change *change_new(void);		/* NULL on ENOMEM */
/* Adds "set key = v" (v is copied).  A later op on the same key wins. */
int	change_set(struct change *c, const char *key, const struct value *v,
	    struct error *err);
int	change_del(struct change *c, const char *key, struct error *err);
/*
 * Where the operations added next come from (a batch's name and line):
 * an error store_commit finds in one of them then starts "NAME:LINE: ".
 */
int	change_origin(struct change *c, const char *name, unsigned long line,
	    struct error *err);
/* What the commit of c records besides its operations (COMMIT_* flags). */
void	change_set_flags(struct change *c, uint64_t flags);
/*
 * Makes c a confirmed commit (COMMIT_CONFIRM) with a window of secs
 * seconds (1 to STORE_CONFIRM_MAX); 0 makes it a plain one again.
 */
void	change_set_confirm(struct change *c, uint32_t secs);
/*
 * Makes store_commit refuse c with ERR_STALE, writing nothing, when the
 * head is no longer rev: what was checked against rev is what commits.
 */
void	change_expect_head(struct change *c, uint64_t rev);
/* 1 and *rev when c was made for a head (change_expect_head), else 0. */
int	change_expected_head(const struct change *c, uint64_t *rev);
size_t	change_count(const struct change *c);
/* Operation i (< change_count) in the order added: *v NULL is a delete. */
void	change_op_at(const struct change *c, size_t i, const char **key,
	    const struct value **v);
void	change_free(struct change *c);

/*
 * A change as bytes, to hand it to another node (docs/PROTOCOL.md,
 * "prepare"): its operations in order, each key with its value's
 * canonical encoding or nil for a delete.  change_encode replaces out's
 * contents; change_decode checks every key and value as change_set
 * would (ERR_MALFORMED when the bytes are not one).  Flags, origin and
 * the head a change was made for do not travel.
 */
#define STORE_CHANGE_MAX	STORE_COMMIT_MAX
int	change_encode(const struct change *c, struct buf *out,
	    struct error *err);
int	change_decode(const void *p, size_t len, struct change **out,
	    struct error *err);

/*
 * Makes one signed commit of c on a primary: validates every key (unknown
 * override hosts are ERR_INPUT), refuses to delete what is not there
 * (ERR_FAIL), drops sets that change nothing, and commits the rest in one
 * LMDB transaction with the next revision.  *rev is the new revision, or 0
 * when nothing changed (no commit made).  c is not consumed.
 */
int	store_commit(struct store *s, const struct change *c,
	    const char *message, uint64_t *rev, struct error *err);

/*
 * Checks c as store_commit would, writing nothing, on any node: keys,
 * override hosts, deletes of what is not set, the head it was made for,
 * and the schema of the state it would make (ERR_SCHEMA).  0 when
 * store_commit would take it (as long as the head does not move).
 */
int	store_check_change(struct store *s, const struct change *c,
	    struct error *err);

/* A new commit whose state equals that of to_rev. *rev as for store_commit. */
/*
 * The change store_rollback would commit now, to look at or check before
 * committing it with store_commit: every key that differs set back to
 * its value at to_rev (overrides of hosts since removed included), made
 * for the head it was read at (change_expect_head).  Caller frees.
 */
int	store_rollback_change(struct store *s, uint64_t to_rev,
	    struct change **out, struct error *err);
int	store_rollback(struct store *s, uint64_t to_rev, const char *message,
	    uint64_t *rev, struct error *err);

/*
 * Adds "set schema.PATTERN = SPEC" to c for every line "PATTERN SPEC" of
 * text (the shipped templates/schema; '#' starts a comment line).
 */
int	schema_file_add(struct change *c, const void *text, size_t len,
	    struct error *err);

/* ---- commits --------------------------------------------------------- */

struct commit;

enum commit_op { COMMIT_SET = 0, COMMIT_DEL = 1 };

/* Flags a commit records (docs/FORMAT.md, "flags"). */
#define COMMIT_FORCED	0x1	/* committed over its checks' refusal */
#define COMMIT_CONFIRM	0x2	/* reverted unless confirmed in its window */
#define COMMIT_CONFIRMS	0x4	/* confirms: no operations */
#define COMMIT_PROMOTE	0x8	/* names its signer primary of a new epoch */
#define COMMIT_FLAGS_KNOWN	(COMMIT_FORCED | COMMIT_CONFIRM | \
			    COMMIT_CONFIRMS | COMMIT_PROMOTE)
					/* others are refused */
#define STORE_CONFIRM_MAX	86400u	/* seconds in a confirmation window */

int	store_commit_load(struct store *s, uint64_t rev, struct commit **out,
	    struct error *err);
/* The commit's exact signed bytes, as they are stored and as they travel. */
int	store_commit_raw(struct store *s, uint64_t rev, struct buf *out,
	    struct error *err);
/*
 * Decodes signed bytes.  Checks the structure, the hash and the signature
 * against the signer key the bytes name; whether that key is trusted is
 * the caller's question (store_trusts).
 */
int	commit_parse(const void *raw, size_t len, struct commit **out,
	    struct error *err);
/*
 * The envelope of signed bytes (docs/FORMAT.md), the one parser of it:
 * the signer's key and, when hash is not NULL, the body's hash, which is
 * the commit's.  Nothing is verified and the body is not decoded: for a
 * look at who signed or which commit it is before the store takes it.
 */
int	commit_envelope(const void *raw, size_t len,
	    unsigned char signer[STORE_PUBKEY_LEN],
	    unsigned char hash[STORE_HASH_LEN], struct error *err);
uint64_t commit_rev(const struct commit *c);
const unsigned char *commit_parent(const struct commit *c);
const unsigned char *commit_hash(const struct commit *c);
const unsigned char *commit_signer(const struct commit *c);
const char *commit_author(const struct commit *c);
const char *commit_node(const struct commit *c);
uint64_t commit_time_ms(const struct commit *c);	/* UTC, ms since 1970 */
const char *commit_message(const struct commit *c);
uint64_t commit_flags(const struct commit *c);		/* COMMIT_* */
/* COMMIT_CONFIRM: the window in seconds; else 0. */
uint32_t commit_confirm_window(const struct commit *c);
uint64_t commit_epoch(const struct commit *c);	/* a promote's, else 0 */
size_t	commit_op_count(const struct commit *c);
/* old or new is NULL where the key had / has no value. */
void	commit_op(const struct commit *c, size_t i, enum commit_op *op,
	    const char **key, const struct value **old, const struct value **new);
void	commit_free(struct commit *c);

/* ---- replication ------------------------------------------------------ */

enum store_apply_result {
	APPLY_OK,		/* applied as the new head */
	APPLY_DUPLICATE,	/* already held, byte for byte: no effect */
	APPLY_GAP,		/* revision beyond head + 1: send from head */
	APPLY_DIVERGED,		/* does not extend this history: refused */
	APPLY_REJECTED,		/* bad signature, untrusted signer, malformed */
};

struct store_raw {
	const void	*data;
	size_t		 len;
};

/*
 * Applies signed commits received from a peer, in order, in one LMDB
 * transaction: each signature is checked against a trusted key before its
 * contents are decoded; each must be head + 1 with the head's hash as
 * parent.  Stops at the first that is not APPLY_OK or APPLY_DUPLICATE and
 * reports it in *res with the reason in err->msg; those before it stay
 * applied.  *applied counts the commits that became new heads.  Returns
 * -1 only when the store itself failed.
 */
int	store_apply(struct store *s, const struct store_raw *raws, size_t n,
	    size_t *applied, enum store_apply_result *res, struct error *err);

/* ---- confirmed commits ------------------------------------------------ */

/*
 * What the history says is waiting for a confirmation: the commits at the
 * top of it that carry COMMIT_CONFIRM, back to the first commit that does
 * not (a confirmation, a rollback, a plain write).  pending 0: none; else
 * rev is the newest of them (whose window counts), base the revision
 * before the oldest (what a revert goes back to), window its window, and
 * time_ms the newest one's commit time.
 */
struct store_confirm {
	int		pending;
	uint64_t	rev;
	uint64_t	base;
	uint32_t	window;		/* seconds */
	uint64_t	time_ms;
};
/*
 * known, when not NULL and pending, is what an earlier call said: the
 * commits up to known->rev are then not read again (the history does
 * not change below the head), so the cost is that of the commits since.
 */
int	store_confirm_pending(struct store *s, const struct store_confirm *known,
	    struct store_confirm *out, struct error *err);
/* ---- epochs and failover (docs/STORE.md, "Failover") ----------------- */

/*
 * An epoch is a primary's term.  Epoch 1 is r1's signer's; each promote
 * commit (COMMIT_PROMOTE) starts a higher one whose primary is its
 * signer.  store_apply takes a commit signed by the current primary's
 * key, or a promote of a higher epoch signed by a trusted key that sits
 * on a revision held here: then the commits held after that revision
 * move to the diverged branch (kept, never rendered) and the history
 * goes on from the promote.
 */

/* The epoch of the history held and its primary's key (zeros: none yet). */
int	store_epoch(struct store *s, uint64_t *epoch,
	    unsigned char pk[STORE_PUBKEY_LEN], struct error *err);
/*
 * The revision of the promote commit of the lowest epoch above `above`
 * in the history held: where a follower of that epoch takes it from.
 * ERR_NOTFOUND when there is none.
 */
int	store_epoch_start(struct store *s, uint64_t above, uint64_t *rev,
	    struct error *err);
/*
 * Notes that node is primary of epoch (heard in a hello).  When that is
 * above the history's epoch and this node is the primary, it stops being
 * one (*fenced = 1): writes are refused, naming node.
 */
int	store_fence(struct store *s, uint64_t epoch, const char *node,
	    int *fenced, struct error *err);
/*
 * 1 when this node has heard of an epoch above its history's (it follows
 * no primary of it yet); *epoch and node name it.  0 otherwise.
 */
int	store_fenced(struct store *s, uint64_t *epoch, char *node, size_t len);
/*
 * On top of the head, a signed promote commit making this node the
 * primary of the epoch after every one it has seen; *rev and *epoch.
 * The store becomes the primary's in the same transaction.
 */
int	store_promote(struct store *s, uint64_t *rev, uint64_t *epoch,
	    struct error *err);
/* Re-reads the role (another process may have promoted or fenced). */
int	store_refresh(struct store *s, struct error *err);

/* The diverged branch: commits moved out of the history, by epoch, rev. */
typedef int (*store_diverged_fn)(void *arg, uint64_t epoch, uint64_t rev,
	    const void *raw, size_t len);
int	store_diverged_each(struct store *s, store_diverged_fn fn, void *arg,
	    struct error *err);
int	store_diverged_raw(struct store *s, uint64_t epoch, uint64_t rev,
	    struct buf *out, struct error *err);
int	store_diverged_count(struct store *s, size_t *n, struct error *err);

/* ---- history ---------------------------------------------------------- */

/*
 * Each key whose value differs between revisions a and b, in key order;
 * old/new NULL when absent.  Here 0 is the empty store, not the head.
 */
typedef int (*store_diff_fn)(void *arg, const char *key,
	    const struct value *old, const struct value *new);
int	store_diff(struct store *s, uint64_t a, uint64_t b, store_diff_fn fn,
	    void *arg, struct error *err);

/* The revisions that changed key, newest first. */
typedef int (*store_rev_fn)(void *arg, uint64_t rev);
int	store_key_revisions(struct store *s, const char *key, store_rev_fn fn,
	    void *arg, struct error *err);

/*
 * Re-hashes every commit, checks every signature against trusted keys, the
 * chain (consecutive revisions, parent hashes) and that the current state
 * and the per-revision index equal what the history builds.  On a mismatch
 * returns -1 with ERR_FAIL and *bad_rev the first bad revision: the commit
 * that fails, or for the state and index the revision since which they
 * are wrong (a key's last change, else the head; 0 only for an empty
 * history).
 */
int	store_verify(struct store *s, uint64_t *bad_rev, struct error *err);

/* ---- peers and trust (local to this node, never replicated) ----------- */

struct peer_info {
	char		name[STORE_NODE_MAX + 1];
	char		addr[128];		/* ADDR:PORT */
	unsigned char	pubkey[STORE_PUBKEY_LEN];
};

int	store_peer_add(struct store *s, const struct peer_info *p,
	    struct error *err);
int	store_peer_del(struct store *s, const char *name, struct error *err);
/* *out is an array of *n peers, sorted by name; the caller frees it. */
int	store_peers(struct store *s, struct peer_info **out, size_t *n,
	    struct error *err);
/* 1 when pk is this node's or a peer's key (name filled), else 0. */
int	store_trusts(struct store *s, const unsigned char pk[STORE_PUBKEY_LEN],
	    char *name, size_t len);

/* ---- local records (never replicated) ---------------------------------- */

/*
 * A small key-value table for this node's own bookkeeping: what the
 * renderer installed, what peers acknowledged.  Names are free text.
 */
int	store_local_get(struct store *s, const char *name, struct buf *out,
	    struct error *err);			/* ERR_FAIL when absent */
int	store_local_put(struct store *s, const char *name, const void *p,
	    size_t len, struct error *err);
int	store_local_del(struct store *s, const char *name, struct error *err);
#define STORE_LOCAL_NAME_MAX	400	/* bytes of a local record's name */
/* Several records written (p NULL: deleted) in one transaction, one fsync. */
struct store_local_rec {
	const char	*name;
	const void	*p;
	size_t		 len;
};
int	store_local_put_many(struct store *s, const struct store_local_rec *r,
	    size_t n, struct error *err);
typedef int (*store_local_fn)(void *arg, const char *name, const void *p,
	    size_t len);
int	store_local_each(struct store *s, const char *prefix,
	    store_local_fn fn, void *arg, struct error *err);

/* ---- identity ---------------------------------------------------------- */

/*
 * This node's long-term Ed25519 key, for the link handshake.  Loaded from
 * the store directory into guarded memory and wiped by identity_free.
 */
struct identity;

int	identity_load(struct store *s, struct identity **out,
	    struct error *err);
const unsigned char *identity_public(const struct identity *id);
/* Ed25519 signature of msg. */
void	identity_sign(const struct identity *id, const void *msg, size_t len,
	    unsigned char sig[STORE_SIG_LEN]);
/* The X25519 form of the key pair, for key exchange. */
int	identity_x25519(const struct identity *id, unsigned char sk[32],
	    unsigned char pk[32]);
void	identity_free(struct identity *id);

#endif
