/*
 * epoch.c - primaries' terms: promote, fencing, the diverged branch.
 *
 * The epochs table indexes the promote commits of the history held (an
 * index of commits, like state and history): epoch -> the revision of its
 * promote and its primary's key.  Epoch 1, r1's signer's, has no entry.
 * meta "seen" is the highest epoch this node has heard of and who is its
 * primary; when it is above the history's, this node is fenced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

#define SEEN_KEY	"seen"

int
db_epoch(struct store *s, MDB_txn *t, uint64_t *epoch,
    unsigned char pk[STORE_PUBKEY_LEN], uint64_t *start, struct error *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t head;
	int rc;

	if ((rc = mdb_cursor_open(t, s->epochs, &cur)) != 0)
		return db_fail(s, err, rc, "epochs");
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == 0) {
		if (k.mv_size != 8 || v.mv_size != 8 + STORE_PUBKEY_LEN)
			return error_set(err, ERR_CORRUPT, "corrupt epoch record");
		*epoch = get_be64(k.mv_data);
		if (start != NULL)
			*start = get_be64(v.mv_data);
		if (pk != NULL)
			memcpy(pk, (unsigned char *)v.mv_data + 8,
			    STORE_PUBKEY_LEN);
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return db_fail(s, err, rc, "epochs");
	*epoch = 1;
	if (start != NULL)
		*start = 0;
	if (pk == NULL)
		return 0;
	memset(pk, 0, STORE_PUBKEY_LEN);
	if (db_read_head(s, t, &head, NULL, err) == -1)
		return -1;
	if (head > 0) {
		if (db_commit_raw(s, t, 1, &v, err) == -1 ||
		    commit_envelope(v.mv_data, v.mv_size, pk, NULL, err) == -1)
			return -1;
	}
	return 0;
}

int
db_epoch_put(struct store *s, MDB_txn *t, const struct commit *c,
    uint64_t rev, struct error *err)
{
	unsigned char k[8], v[8 + STORE_PUBKEY_LEN];

	be64(k, commit_epoch(c));
	be64(v, rev);
	memcpy(v + 8, commit_signer(c), STORE_PUBKEY_LEN);
	return db_put(s, t, s->epochs, k, 8, v, sizeof(v), 0, err);
}

/* The diverged branch's key: epoch, then revision, both big-endian. */
static void
diverged_key(unsigned char k[16], uint64_t epoch, uint64_t rev)
{
	be64(k, epoch);
	be64(k + 8, rev);
}

/* Commit rev's operations undone in state and index, its record moved. */
static int
truncate_one(struct store *s, MDB_txn *t, uint64_t rev, uint64_t epoch,
    unsigned char parent[STORE_HASH_LEN], struct error *err)
{
	unsigned char k[16], hk[STORE_KEY_MAX + 9];
	struct buf raw = { 0 };
	struct commit *c = NULL;
	MDB_val v;
	int rc = -1;

	buf_secret(&raw);
	if (db_commit_raw(s, t, rev, &v, err) == -1)
		return -1;
	if (buf_append(&raw, v.mv_data, v.mv_size) == -1) {
		error_errno(err, ERR_FAIL, "diverged");
		goto done;
	}
	if (commit_parse(raw.data, raw.len, &c, err) == -1)
		goto done;
	diverged_key(k, epoch, rev);
	if (db_put(s, t, s->diverged, k, 16, raw.data, raw.len, 0, err) == -1)
		goto done;
	for (size_t i = 0; i < commit_op_count(c); i++) {
		const struct value *old;
		const char *key;
		const void *enc;
		size_t len;

		commit_op(c, i, NULL, &key, &old, NULL);
		if (db_del(s, t, s->history, hk, db_history_key(hk, key, rev),
		    err) == -1)
			goto done;
		if (old == NULL) {
			if (db_del(s, t, s->state, key, strlen(key), err) == -1)
				goto done;
			continue;
		}
		enc = value_encoded(old, &len);
		if (db_put(s, t, s->state, key, strlen(key), enc, len, 0,
		    err) == -1)
			goto done;
	}
	be64(k, rev);
	if (db_del(s, t, s->commits, k, 8, err) == -1)
		goto done;
	memcpy(parent, commit_parent(c), STORE_HASH_LEN);
	rc = 0;
done:
	commit_free(c);
	buf_free_secret(&raw);
	return rc;
}

int
db_truncate(struct store *s, MDB_txn *t, uint64_t to, uint64_t epoch,
    struct error *err)
{
	unsigned char hash[STORE_HASH_LEN];
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t head, rev;
	int rc;

	if (db_read_head(s, t, &head, hash, err) == -1)
		return -1;
	for (rev = head; rev > to; rev--)
		if (truncate_one(s, t, rev, epoch, hash, err) == -1)
			return -1;
	/* Epochs begun after `to` are no longer this history's. */
	if ((rc = mdb_cursor_open(t, s->epochs, &cur)) != 0)
		return db_fail(s, err, rc, "epochs");
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_LAST)) == 0 &&
	    v.mv_size >= 8 && get_be64(v.mv_data) > to)
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_fail(s, err, rc, "epochs");
	return db_write_head(s, t, to, hash, err);
}

/* ---- what the daemon and the command line ask ------------------------- */

int
store_epoch(struct store *s, uint64_t *epoch,
    unsigned char pk[STORE_PUBKEY_LEN], struct error *err)
{
	struct txn tx;
	int rc;

	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = db_epoch(s, tx.t, epoch, pk, NULL, err);
	db_txn_end(s, &tx);
	return rc;
}

int
store_epoch_start(struct store *s, uint64_t above, uint64_t *rev,
    struct error *err)
{
	unsigned char key[8];
	MDB_cursor *cur;
	MDB_val k = { 8, key }, v;
	struct txn tx;
	int rc;

	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	be64(key, above + 1);
	if ((rc = mdb_cursor_open(tx.t, s->epochs, &cur)) == 0) {
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		mdb_cursor_close(cur);
	}
	if (rc == 0 && v.mv_size >= 8)
		*rev = get_be64(v.mv_data);
	db_txn_end(s, &tx);
	if (rc == MDB_NOTFOUND)
		return error_set(err, ERR_NOTFOUND, "no epoch above %llu here",
		    (unsigned long long)above);
	if (rc != 0)
		return db_fail(s, err, rc, "epochs");
	return 0;
}

/* meta "seen": 0 when nothing was heard of. */
static int
seen_get(struct store *s, MDB_txn *t, uint64_t *epoch, char *node,
    size_t len, struct error *err)
{
	MDB_val v;
	int rc;

	*epoch = 0;
	if (node != NULL && len > 0)
		node[0] = '\0';
	if ((rc = db_get(s, t, s->meta, SEEN_KEY, strlen(SEEN_KEY), &v,
	    err)) != 0)
		return rc == 1 ? 0 : -1;
	if (v.mv_size < 8 || v.mv_size > 8 + STORE_NODE_MAX)
		return 0;
	*epoch = get_be64(v.mv_data);
	if (node != NULL)
		snprintf(node, len, "%.*s", (int)(v.mv_size - 8),
		    (char *)v.mv_data + 8);
	return 0;
}

struct fence_arg {
	uint64_t	 epoch;
	const char	*node;
	int		 fenced;
};

static int
write_fence(struct store *s, MDB_txn *t, void *arg, struct error *err)
{
	struct fence_arg *fa = arg;
	unsigned char v[8 + STORE_NODE_MAX];
	char name[STORE_NODE_MAX + 1];
	uint64_t epoch, seen;
	size_t len = strlen(fa->node);
	int primary;

	fa->fenced = 0;
	if (len > STORE_NODE_MAX)
		len = STORE_NODE_MAX;
	if (db_epoch(s, t, &epoch, NULL, NULL, err) == -1 ||
	    seen_get(s, t, &seen, name, sizeof(name), err) == -1 ||
	    db_is_primary(s, t, &primary, err) == -1)
		return -1;
	if (fa->epoch <= epoch)
		return 0;
	/* A replica's hello tells the epoch; its primary's, the name too. */
	if (fa->epoch > seen || (fa->epoch == seen && name[0] == '\0' &&
	    len > 0)) {
		be64(v, fa->epoch);
		memcpy(v + 8, fa->node, len);
		if (db_put(s, t, s->meta, SEEN_KEY, strlen(SEEN_KEY), v,
		    8 + len, 0, err) == -1)
			return -1;
	}
	if (primary) {
		if (db_put(s, t, s->meta, "primary", 7, "0", 1, 0, err) == -1)
			return -1;
		fa->fenced = 1;
	}
	return 0;
}

int
store_fence(struct store *s, uint64_t epoch, const char *node, int *fenced,
    struct error *err)
{
	struct fence_arg fa = { epoch, node, 0 };

	if (db_write(s, write_fence, &fa, err) == -1)
		return -1;
	if (fa.fenced)
		s->primary = 0;
	*fenced = fa.fenced;
	return 0;
}

int
store_fenced(struct store *s, uint64_t *epoch, char *node, size_t len)
{
	struct txn tx;
	uint64_t held = 0, seen = 0;
	int rc;

	if (db_txn_begin(s, 0, &tx, NULL) == -1)
		return 0;
	rc = db_epoch(s, tx.t, &held, NULL, NULL, NULL) == 0 &&
	    seen_get(s, tx.t, &seen, node, len, NULL) == 0 && seen > held;
	db_txn_end(s, &tx);
	if (rc && epoch != NULL)
		*epoch = seen;
	return rc;
}

struct promote_arg {
	struct commit_out	 co;
	char			 message[STORE_NODE_MAX + 64];
};

static int
write_promote(struct store *s, MDB_txn *t, void *arg, struct error *err)
{
	struct promote_arg *pa = arg;
	unsigned char k[8], v[8 + STORE_PUBKEY_LEN];
	uint64_t epoch, seen, head;

	if (db_read_head(s, t, &head, NULL, err) == -1 ||
	    db_epoch(s, t, &epoch, NULL, NULL, err) == -1 ||
	    seen_get(s, t, &seen, NULL, 0, err) == -1)
		return -1;
	if (head == 0)
		return error_set(err, ERR_FAIL, "%s holds no history to be "
		    "the primary of", s->node);
	/* One more than any epoch this node has heard of: they only grow. */
	pa->co.epoch = (seen > epoch ? seen : epoch) + 1;
	snprintf(pa->message, sizeof(pa->message),
	    "promote %s to primary, epoch %llu", s->node,
	    (unsigned long long)pa->co.epoch);
	pa->co.message = pa->message;
	pa->co.flags = COMMIT_PROMOTE;
	if (db_put(s, t, s->meta, "primary", 7, "1", 1, 0, err) == -1 ||
	    db_commit_write(s, t, &pa->co, NULL, 0, err) == -1)
		return -1;
	be64(k, pa->co.epoch);
	be64(v, pa->co.rev);
	memcpy(v + 8, s->pk, STORE_PUBKEY_LEN);
	return db_put(s, t, s->epochs, k, 8, v, sizeof(v), 0, err);
}

int
store_promote(struct store *s, uint64_t *rev, uint64_t *epoch,
    struct error *err)
{
	struct promote_arg pa;
	struct identity *id = NULL;
	int rc;

	memset(&pa, 0, sizeof(pa));
	if (db_signer_load(s, &id, err) == -1)
		return -1;
	pa.co.id = id;
	rc = db_write(s, write_promote, &pa, err);
	identity_free(id);
	if (rc == -1)
		return -1;
	s->primary = 1;
	*rev = pa.co.rev;
	*epoch = pa.co.epoch;
	return 0;
}

/* ---- the diverged branch ----------------------------------------------- */

int
store_diverged_each(struct store *s, store_diverged_fn fn, void *arg,
    struct error *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	struct txn tx;
	int rc, op = MDB_FIRST, stop = 0;

	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	if ((rc = mdb_cursor_open(tx.t, s->diverged, &cur)) != 0) {
		db_txn_end(s, &tx);
		return db_fail(s, err, rc, "diverged");
	}
	while (stop == 0 && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size != 16)
			continue;
		stop = fn(arg, get_be64(k.mv_data),
		    get_be64((unsigned char *)k.mv_data + 8), v.mv_data,
		    v.mv_size);
	}
	mdb_cursor_close(cur);
	db_txn_end(s, &tx);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_fail(s, err, rc, "diverged");
	return stop;
}

int
store_diverged_raw(struct store *s, uint64_t epoch, uint64_t rev,
    struct buf *out, struct error *err)
{
	unsigned char k[16];
	struct txn tx;
	MDB_val v;
	int rc;

	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	diverged_key(k, epoch, rev);
	rc = db_get(s, tx.t, s->diverged, k, 16, &v, err);
	if (rc == 1)
		rc = error_set(err, ERR_NOREV, "no diverged commit %llu:%llu",
		    (unsigned long long)epoch, (unsigned long long)rev);
	else if (rc == 0 && buf_append(out, v.mv_data, v.mv_size) == -1)
		rc = error_errno(err, ERR_FAIL, "diverged");
	db_txn_end(s, &tx);
	return rc;
}

int
store_diverged_count(struct store *s, size_t *n, struct error *err)
{
	struct txn tx;
	MDB_stat st;
	int rc;

	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = mdb_stat(tx.t, s->diverged, &st);
	db_txn_end(s, &tx);
	if (rc != 0)
		return db_fail(s, err, rc, "diverged");
	*n = st.ms_entries;
	return 0;
}
