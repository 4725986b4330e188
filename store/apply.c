/*
 * apply.c - where a received change set is verified and applied.
 *
 * A commit from a peer is checked in this order: envelope, trusted signer,
 * signature, and only then decoded; then it must extend this node's head
 * (revision and parent hash) and every old value must be what is held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "db.h"

int
store_commit_raw(struct store *s, uint64_t rev, struct buf *out,
    struct error *err)
{
	struct txn tx;
	MDB_val v;
	int rc;

	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = db_commit_raw(s, tx.t, rev, &v, err);
	if (rc == 0 && buf_append(out, v.mv_data, v.mv_size) == -1)
		rc = error_errno(err, ERR_FAIL, "commit");
	db_txn_end(s, &tx);
	return rc;
}

int
store_commit_load(struct store *s, uint64_t rev, struct commit **out,
    struct error *err)
{
	struct buf raw = { 0 };
	int rc;

	if ((rc = store_commit_raw(s, rev, &raw, err)) == 0)
		rc = commit_parse(raw.data, raw.len, out, err);
	buf_free(&raw);
	return rc;
}

int
store_trusts(struct store *s, const unsigned char pk[STORE_PUBKEY_LEN],
    char *name, size_t len)
{
	struct txn tx;
	int rc;

	if (db_txn_begin(s, 0, &tx, NULL) == -1)
		return 0;
	rc = db_trusted(s, tx.t, pk, name, len);
	db_txn_end(s, &tx);
	return rc;
}

/*
 * Signature first, against a key this node trusts, and only then the
 * contents: nothing of an unauthenticated commit is decoded.
 */
struct trust_arg {
	struct store	*s;
	MDB_txn		*t;
};

static int
trusted_signer(void *arg, const unsigned char *signer, struct error *err)
{
	struct trust_arg *ta = arg;
	char text[STORE_KEYTEXT_LEN];

	if (db_trusted(ta->s, ta->t, signer, NULL, 0))
		return 0;
	pubkey_to_text(signer, text);
	return error_set(err, ERR_UNTRUSTED, "signed by untrusted key %s", text);
}

int
db_open_trusted(struct store *s, MDB_txn *t, const void *raw, size_t len,
    struct commit **out, struct error *err)
{
	struct trust_arg ta = { s, t };

	return commit_parse_trusted(raw, len, trusted_signer, &ta, out, err);
}

/* ---- replication -------------------------------------------------------- */

struct apply_arg {
	const struct store_raw	*raws;
	size_t			 n;
	size_t			 applied;
	enum store_apply_result	 res;
};

/*
 * A commit held here at rev differs from the one received: a promote of
 * a higher epoch that sits on rev - 1 held here takes the history from
 * there (what follows rev - 1 moves to the diverged branch); anything
 * else is another history.
 */
static int
fork_at(struct store *s, MDB_txn *t, const struct commit *c, uint64_t epoch,
    enum store_apply_result *res, struct error *err)
{
	unsigned char hash[STORE_HASH_LEN], signer[STORE_PUBKEY_LEN];
	uint64_t rev = commit_rev(c);
	MDB_val v;

	if (!(commit_flags(c) & COMMIT_PROMOTE) || commit_epoch(c) <= epoch) {
		*res = APPLY_DIVERGED;
		error_set(err, ERR_DIVERGED, "r%llu differs from the r%llu "
		    "held here: histories diverged", (unsigned long long)rev,
		    (unsigned long long)rev);
		return 1;
	}
	memset(hash, 0, sizeof(hash));
	if (rev > 1) {
		if (db_commit_raw(s, t, rev - 1, &v, err) == -1 ||
		    commit_envelope(v.mv_data, v.mv_size, signer, hash, err) == -1)
			return -1;
	}
	if (sodium_memcmp(commit_parent(c), hash, STORE_HASH_LEN) != 0) {
		*res = APPLY_DIVERGED;
		error_set(err, ERR_DIVERGED, "r%llu promotes to epoch %llu on "
		    "a revision not held here: histories diverged",
		    (unsigned long long)rev,
		    (unsigned long long)commit_epoch(c));
		return 1;
	}
	return db_truncate(s, t, rev - 1, epoch, err);
}

/* Applies one received commit at the head, or says why not. */
static int
apply_one(struct store *s, MDB_txn *t, const struct store_raw *r,
    enum store_apply_result *res, struct error *err)
{
	struct commit *c = NULL;
	unsigned char head_hash[STORE_HASH_LEN], k[8], pk[STORE_PUBKEY_LEN];
	char text[STORE_KEYTEXT_LEN];
	uint64_t head, rev, epoch;
	MDB_val v;
	int rc = -1, promote;

	*res = APPLY_REJECTED;
	if (db_read_head(s, t, &head, head_hash, err) == -1)
		return -1;
	if (db_open_trusted(s, t, r->data, r->len, &c, err) == -1)
		return 0;
	rev = commit_rev(c);
	if (rev > head + 1) {
		*res = APPLY_GAP;
		error_set(err, ERR_GAP, "got r%llu, head is r%llu",
		    (unsigned long long)rev, (unsigned long long)head);
		rc = 0;
		goto done;
	}
	if (rev <= head) {
		if (db_commit_raw(s, t, rev, &v, err) == -1)
			goto done;
		if (v.mv_size == r->len && memcmp(v.mv_data, r->data,
		    r->len) == 0) {
			*res = APPLY_DUPLICATE;
			rc = 0;
			goto done;
		}
	}
	if (db_epoch(s, t, &epoch, pk, NULL, err) == -1)
		goto done;
	promote = (commit_flags(c) & COMMIT_PROMOTE) != 0;
	/* Epochs only grow; a primary's term is its signer's alone. */
	if (promote && commit_epoch(c) <= epoch) {
		error_set(err, ERR_EPOCH, "r%llu promotes to epoch %llu, not "
		    "above epoch %llu held here", (unsigned long long)rev,
		    (unsigned long long)commit_epoch(c),
		    (unsigned long long)epoch);
		rc = 0;
		goto done;
	}
	if (!promote && head > 0 && sodium_memcmp(commit_signer(c), pk,
	    STORE_PUBKEY_LEN) != 0) {
		pubkey_to_text(commit_signer(c), text);
		error_set(err, ERR_UNTRUSTED, "r%llu is signed by %s, not by "
		    "the primary of epoch %llu", (unsigned long long)rev, text,
		    (unsigned long long)epoch);
		rc = 0;
		goto done;
	}
	if (rev <= head) {
		if ((rc = fork_at(s, t, c, epoch, res, err)) != 0) {
			rc = rc == 1 ? 0 : -1;
			goto done;
		}
		rc = -1;
		memcpy(head_hash, commit_parent(c), STORE_HASH_LEN);
		head = rev - 1;
	}
	if (sodium_memcmp(commit_parent(c), head_hash, STORE_HASH_LEN) != 0) {
		*res = APPLY_DIVERGED;
		error_set(err, ERR_DIVERGED, "r%llu does not extend r%llu "
		    "held here: histories diverged", (unsigned long long)rev,
		    (unsigned long long)head);
		rc = 0;
		goto done;
	}
	/* Each operation's old value must be what this node holds. */
	for (size_t i = 0; i < commit_op_count(c); i++) {
		const struct value *old, *new;
		const char *key;
		struct value *cur = NULL;
		int found, same;

		commit_op(c, i, NULL, &key, &old, &new);
		if ((found = db_get(s, t, s->state, key, strlen(key), &v,
		    err)) == -1 || (found == 0 && db_value(&v, &cur, err) == -1))
			goto done;
		same = value_equal(cur, old);
		value_free(cur);
		if (!same) {
			*res = APPLY_DIVERGED;
			error_set(err, ERR_DIVERGED, "r%llu: old value of %s "
			    "differs from this node's: histories diverged",
			    (unsigned long long)rev, key);
			rc = 0;
			goto done;
		}
		if (db_apply_op(s, t, rev, key, new, err) == -1)
			goto done;
	}
	be64(k, rev);
	if (db_put(s, t, s->commits, k, 8, r->data, r->len, MDB_APPEND,
	    err) == -1 || db_write_head(s, t, rev, commit_hash(c), err) == -1)
		goto done;
	if (promote && db_epoch_put(s, t, c, rev, err) == -1)
		goto done;
	*res = APPLY_OK;
	rc = 0;
done:
	commit_free(c);
	return rc;
}

static int
write_apply(struct store *s, MDB_txn *t, void *arg, struct error *err)
{
	struct apply_arg *aa = arg;
	int primary;

	aa->applied = 0;
	aa->res = APPLY_OK;
	/* Read here, not at open: a promote may have made us primary since. */
	if (db_is_primary(s, t, &primary, err) == -1)
		return -1;
	if (primary)
		return error_set(err, ERR_FAIL,
		    "%s is the primary: it takes no commits from peers",
		    s->node);
	for (size_t i = 0; i < aa->n; i++) {
		if (apply_one(s, t, &aa->raws[i], &aa->res, err) == -1)
			return -1;
		if (aa->res == APPLY_OK)
			aa->applied++;
		else if (aa->res != APPLY_DUPLICATE)
			break;
	}
	return 0;
}

int
store_apply(struct store *s, const struct store_raw *raws, size_t n,
    size_t *applied, enum store_apply_result *res, struct error *err)
{
	struct apply_arg aa = { raws, n, 0, APPLY_OK };

	error_clear(err);
	if (db_write(s, write_apply, &aa, err) == -1)
		return -1;
	*applied = aa.applied;
	*res = aa.res;
	return 0;
}
