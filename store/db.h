/*
 * db.h - the store's LMDB layer, shared by the files of store/ alone.
 *
 * store.c opens the environment and owns the plumbing below; read.c,
 * write.c (commits on the primary), apply.c (commits from peers),
 * history.c (diff, verify) and peers.c (peers, local records) build on
 * it.  See docs/STORE.md for the tables.
 */
#ifndef CFGSTORE_DB_H
#define CFGSTORE_DB_H

#include <pthread.h>

#include <lmdb.h>

#include "store_int.h"

#define REV_HEAD	UINT64_MAX	/* "at the head"; 0 is the empty store */

struct store {
	char			*dir;
	MDB_env			*env;
	MDB_dbi			 meta, commits, state, history, peers, local;
	MDB_dbi			 epochs, diverged;
	char			 node[STORE_NODE_MAX + 1];
	char			 listen[128];
	int			 primary;
	unsigned char		 pk[STORE_PUBKEY_LEN];
	int			 own_locks;	/* flock(2) instead of LMDB's */
	int			 writemap;	/* MDB_WRITEMAP: map size is file size */
	char			 lockpath[1024];
	int			 map_full;	/* the last write ran out of map */
	pthread_rwlock_t	 resize;	/* exclusive while the map grows */
};

struct txn {
	MDB_txn	*t;
	int	 lockfd;
};

/* Revisions as keys: 8 bytes, big-endian, so they sort by number. */
static inline void
be64(unsigned char out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (unsigned char)v;
}

static inline uint64_t
get_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* An LMDB failure as an error; notes MDB_MAP_FULL for db_write. */
int	db_fail(struct store *s, struct error *err, int rc, const char *what);

/*
 * Transactions.  Every one holds the resize lock shared (and, in the
 * flock(2) mode, the store's lock file) until db_txn_end.
 */
int	db_txn_begin(struct store *s, int write, struct txn *tx,
	    struct error *err);
void	db_txn_end(struct store *s, struct txn *tx);

/*
 * Runs fn in one write transaction and commits it; when the map is full,
 * throws it all away, doubles the map and runs fn again, so fn must only
 * touch the transaction.
 */
typedef int (*db_write_fn)(struct store *, MDB_txn *, void *, struct error *);
int	db_write(struct store *s, db_write_fn fn, void *arg,
	    struct error *err);

/* Single records; db_get returns 0 found, 1 absent, -1 error. */
int	db_put(struct store *s, MDB_txn *t, MDB_dbi db, const void *k,
	    size_t klen, const void *v, size_t vlen, unsigned flags,
	    struct error *err);
int	db_get(struct store *s, MDB_txn *t, MDB_dbi db, const void *k,
	    size_t klen, MDB_val *out, struct error *err);
int	db_del(struct store *s, MDB_txn *t, MDB_dbi db, const void *k,
	    size_t klen, struct error *err);

/* The head: revision and hash (zeros and 0 for the empty store). */
int	db_read_head(struct store *s, MDB_txn *t, uint64_t *rev,
	    unsigned char hash[STORE_HASH_LEN], struct error *err);
int	db_write_head(struct store *s, MDB_txn *t, uint64_t rev,
	    const unsigned char hash[STORE_HASH_LEN], struct error *err);
/* ERR_FAIL unless rev is at most the head. */
int	db_rev_check(struct store *s, MDB_txn *t, uint64_t rev,
	    struct error *err);

/* key NUL rev: the history index's key for (key, rev). */
size_t	db_history_key(unsigned char *out, const char *key, uint64_t rev);
/*
 * The value of key at rev (REV_HEAD: the state table), from the index:
 * 0 found, 1 absent then, -1 error.
 */
int	db_get_at(struct store *s, MDB_txn *t, const char *key, uint64_t rev,
	    MDB_val *out, struct error *err);
int	db_value(const MDB_val *v, struct value **out, struct error *err);

/* A commit's index and state updates, the same for made and received. */
int	db_apply_op(struct store *s, MDB_txn *t, uint64_t rev, const char *key,
	    const struct value *new, struct error *err);
/* The signed bytes of commit rev. */
int	db_commit_raw(struct store *s, MDB_txn *t, uint64_t rev, MDB_val *v,
	    struct error *err);

/*
 * Calls fn for every key starting with prefix (NULL: all) that has a value
 * at rev (REV_HEAD: the state table), in key order; fn's non-zero return
 * stops the walk and is returned.
 */
typedef int (*raw_visit_fn)(void *arg, const char *key, const MDB_val *v);
int	db_walk(struct store *s, MDB_txn *t, const char *prefix, uint64_t rev,
	    raw_visit_fn fn, void *arg, struct error *err);

/* 1 when host is this node or a peer; the list of those, for errors. */
int	db_host_known(struct store *s, MDB_txn *t, const char *host);
void	db_host_list(struct store *s, MDB_txn *t, char *out, size_t len);

/* 1 when pk is this node's or a peer's key (name filled). */
int	db_trusted(struct store *s, MDB_txn *t, const unsigned char *pk,
	    char *name, size_t len);
/* Envelope, trusted signer, signature; only then the body. */
int	db_open_trusted(struct store *s, MDB_txn *t, const void *raw,
	    size_t len, struct commit **out, struct error *err);
/* store_diff inside a transaction (rollback builds on it). */
int	db_diff(struct store *s, MDB_txn *t, uint64_t a, uint64_t b,
	    store_diff_fn fn, void *arg, struct error *err);

/*
 * epoch.c: the epoch of the history in t and its primary's key (zeros
 * before r1); *start the revision of its promote (0 for epoch 1).
 */
int	db_epoch(struct store *s, MDB_txn *t, uint64_t *epoch,
	    unsigned char pk[STORE_PUBKEY_LEN], uint64_t *start,
	    struct error *err);
/* Records that commit c at rev starts its epoch. */
int	db_epoch_put(struct store *s, MDB_txn *t, const struct commit *c,
	    uint64_t rev, struct error *err);
/*
 * Moves the commits after rev to the diverged branch (under epoch), and
 * puts state, index, epochs and head back as they were at rev.
 */
int	db_truncate(struct store *s, MDB_txn *t, uint64_t rev, uint64_t epoch,
	    struct error *err);
/* The role in meta, for a write to check again inside its transaction. */
int	db_is_primary(struct store *s, MDB_txn *t, int *primary,
	    struct error *err);

/*
 * write.c: the node's key, to sign with, once checked against the public
 * key the store was opened with (node.pub); identity_free it.
 */
int	db_signer_load(struct store *s, struct identity **out,
	    struct error *err);
/* write.c: signs and stores the commit of ops at head + 1. */
struct commit_out {
	const struct identity	*id;
	const char		*message;
	uint64_t		 flags, epoch;
	uint32_t		 confirm;		/* COMMIT_CONFIRM's window */
	uint64_t		 rev;			/* out */
	unsigned char		 hash[STORE_HASH_LEN];	/* out */
};
int	db_commit_write(struct store *s, MDB_txn *t, struct commit_out *co,
	    const struct commit_op_in *ops, size_t n, struct error *err);

/*
 * schema.c: checks a commit's operations (sorted by key, one per key)
 * against the schema of the state they make, inside the write
 * transaction t before anything is written.  On ERR_SCHEMA *bad is the
 * index of the operation at fault, or n when it is a value already there
 * that a changed schema no longer admits.
 */
int	schema_check_commit(struct store *s, MDB_txn *t,
	    const struct commit_op_in *ops, size_t n, size_t *bad,
	    struct error *err);

#endif
