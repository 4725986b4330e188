/*
 * history.c - diff between revisions, a key's revisions, and verify.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "db.h"

struct diff_arg {
	struct store	*s;
	MDB_txn		*t;
	uint64_t	 a, b;
	store_diff_fn	 fn;
	void		*arg;
	struct error	*err;
	int		 failed;
};

static int
diff_key(void *arg, const char *key, const MDB_val *unused)
{
	struct diff_arg *da = arg;
	struct value *old = NULL, *new = NULL;
	MDB_val va, vb;
	int ra, rb, rc = 0;

	(void)unused;
	if ((ra = db_get_at(da->s, da->t, key, da->a, &va, da->err)) == -1 ||
	    (rb = db_get_at(da->s, da->t, key, da->b, &vb, da->err)) == -1)
		return da->failed = 1, -1;
	if (ra == rb && (ra == 1 || (va.mv_size == vb.mv_size &&
	    memcmp(va.mv_data, vb.mv_data, va.mv_size) == 0)))
		return 0;
	if ((ra == 0 && db_value(&va, &old, da->err) == -1) ||
	    (rb == 0 && db_value(&vb, &new, da->err) == -1))
		rc = -1, da->failed = 1;
	else
		rc = da->fn(da->arg, key, old, new);
	value_free(old);
	value_free(new);
	return rc;
}

/*
 * Every key that ever had a value is in the history index; walking its
 * distinct keys at a revision older than both ends visits them all.
 */
int
db_diff(struct store *s, MDB_txn *t, uint64_t a, uint64_t b,
    store_diff_fn fn, void *arg, struct error *err)
{
	struct diff_arg da = { s, t, a, b, fn, arg, err, 0 };
	MDB_cursor *c;
	MDB_val k, v;
	char key[STORE_KEY_MAX + 2];
	int rc, stop = 0;

	if (db_rev_check(s, t, a, err) == -1 || db_rev_check(s, t, b, err) == -1)
		return -1;
	if ((rc = mdb_cursor_open(t, s->history, &c)) != 0)
		return db_fail(s, err, rc, "cursor");
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0 && !stop) {
		size_t klen = strnlen(k.mv_data, k.mv_size);

		if (klen > STORE_KEY_MAX)
			break;
		memcpy(key, k.mv_data, klen);
		key[klen] = '\0';
		stop = diff_key(&da, key, NULL);
		key[klen] = '\x01';
		k.mv_data = key;
		k.mv_size = klen + 1;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	}
	mdb_cursor_close(c);
	if (da.failed)
		return -1;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_fail(s, err, rc, "read history");
	return stop;
}

int
store_diff(struct store *s, uint64_t a, uint64_t b, store_diff_fn fn,
    void *arg, struct error *err)
{
	struct txn tx;
	int rc;

	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = db_diff(s, tx.t, a, b, fn, arg, err);
	db_txn_end(s, &tx);
	return rc;
}

int
store_key_revisions(struct store *s, const char *key, store_rev_fn fn,
    void *arg, struct error *err)
{
	unsigned char k[STORE_KEY_MAX + 2];
	size_t klen = strlen(key);
	MDB_cursor *c;
	MDB_val ck, cv;
	struct txn tx;
	int rc, stop = 0;

	if (key_check(key, err) == -1)
		return -1;
	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	if ((rc = mdb_cursor_open(tx.t, s->history, &c)) != 0) {
		db_txn_end(s, &tx);
		return db_fail(s, err, rc, "cursor");
	}
	/* Start just past the key's last entry and walk back. */
	memcpy(k, key, klen);
	k[klen] = '\x01';
	ck.mv_data = k;
	ck.mv_size = klen + 1;
	rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
	rc = mdb_cursor_get(c, &ck, &cv, rc == 0 ? MDB_PREV : MDB_LAST);
	while (rc == 0 && !stop && ck.mv_size == klen + 9 &&
	    memcmp(ck.mv_data, key, klen) == 0 &&
	    ((unsigned char *)ck.mv_data)[klen] == '\0') {
		stop = fn(arg, get_be64((unsigned char *)ck.mv_data + klen + 1));
		rc = mdb_cursor_get(c, &ck, &cv, MDB_PREV);
	}
	mdb_cursor_close(c);
	db_txn_end(s, &tx);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_fail(s, err, rc, "read history");
	return stop;
}

/*
 * verify: pass one walks the commits: envelope, trusted signer, hash
 * chain, and that each operation's old value is the key's previous
 * history entry and its new value the entry at this revision.  Pass two
 * walks the history index and the state: no entry that no commit made,
 * and each key's last entry is its current value.  Together: the state
 * is exactly what replaying the history gives.
 */
/*
 * Each commit is signed by the primary of its epoch (r1's signer, then
 * each promote's), epochs grow, and the epochs index is the promotes'.
 */
static int
verify_epoch(struct store *s, MDB_txn *t, const struct commit *c,
    uint64_t rev, uint64_t *epoch, unsigned char primary[STORE_PUBKEY_LEN],
    struct error *err)
{
	unsigned char k[8];
	MDB_val v;
	int rc;

	if (rev == 1)
		memcpy(primary, commit_signer(c), STORE_PUBKEY_LEN);
	if (commit_flags(c) & COMMIT_PROMOTE) {
		if (commit_epoch(c) <= *epoch)
			return error_set(err, ERR_CORRUPT, "r%llu: promotes to "
			    "epoch %llu after epoch %llu",
			    (unsigned long long)rev,
			    (unsigned long long)commit_epoch(c),
			    (unsigned long long)*epoch);
		*epoch = commit_epoch(c);
		memcpy(primary, commit_signer(c), STORE_PUBKEY_LEN);
		be64(k, *epoch);
		if ((rc = db_get(s, t, s->epochs, k, 8, &v, err)) == -1)
			return -1;
		if (rc == 1 || v.mv_size != 8 + STORE_PUBKEY_LEN ||
		    get_be64(v.mv_data) != rev ||
		    memcmp((unsigned char *)v.mv_data + 8, primary,
		    STORE_PUBKEY_LEN) != 0)
			return error_set(err, ERR_CORRUPT, "r%llu: the epochs "
			    "index does not match its promote",
			    (unsigned long long)rev);
	}
	if (sodium_memcmp(commit_signer(c), primary, STORE_PUBKEY_LEN) != 0)
		return error_set(err, ERR_CORRUPT, "r%llu: not signed by the "
		    "primary of epoch %llu", (unsigned long long)rev,
		    (unsigned long long)*epoch);
	return 0;
}

static int
verify_commits(struct store *s, MDB_txn *t, uint64_t head,
    const unsigned char head_hash[STORE_HASH_LEN], size_t *nops,
    uint64_t *bad, struct error *err)
{
	unsigned char prev[STORE_HASH_LEN] = { 0 }, hk[STORE_KEY_MAX + 9];
	unsigned char primary[STORE_PUBKEY_LEN];
	struct commit *c = NULL;
	MDB_val raw, v;
	MDB_stat st;
	uint64_t rev, epoch = 1;
	size_t npromotes = 0;

	*nops = 0;
	for (rev = 1; rev <= head; rev++) {
		*bad = rev;
		if (db_commit_raw(s, t, rev, &raw, err) == -1)
			return -1;
		if (db_open_trusted(s, t, raw.mv_data, raw.mv_size, &c, err) == -1)
			return error_wrap(err, "r%llu", (unsigned long long)rev);
		if (commit_rev(c) != rev) {
			error_set(err, ERR_CORRUPT, "r%llu: record says r%llu",
			    (unsigned long long)rev,
			    (unsigned long long)commit_rev(c));
			goto fail;
		}
		if (sodium_memcmp(commit_parent(c), prev, STORE_HASH_LEN)) {
			error_set(err, ERR_CORRUPT, "r%llu: parent hash does not "
			    "match r%llu", (unsigned long long)rev,
			    (unsigned long long)rev - 1);
			goto fail;
		}
		if (verify_epoch(s, t, c, rev, &epoch, primary, err) == -1)
			goto fail;
		if (commit_flags(c) & COMMIT_PROMOTE)
			npromotes++;
		for (size_t i = 0; i < commit_op_count(c); i++) {
			const struct value *old, *new;
			const void *enc = "\xc0";
			const char *key;
			size_t len = 1;
			int found;

			commit_op(c, i, NULL, &key, &old, &new);
			found = db_get_at(s, t, key, rev - 1, &v, err);
			if (found == -1)
				goto fail;
			if (old != NULL)
				enc = value_encoded(old, &len);
			if (old == NULL ? found == 0 : (found == 1 ||
			    len != v.mv_size || memcmp(enc, v.mv_data, len))) {
				error_set(err, ERR_CORRUPT, "r%llu: old value of "
				    "%s does not match the history",
				    (unsigned long long)rev, key);
				goto fail;
			}
			enc = "\xc0";
			len = 1;
			if (new != NULL)
				enc = value_encoded(new, &len);
			if (db_get(s, t, s->history, hk, db_history_key(hk, key, rev), &v,
			    err) != 0 || v.mv_size != len ||
			    memcmp(v.mv_data, enc, len) != 0) {
				error_set(err, ERR_CORRUPT, "r%llu: index entry "
				    "for %s does not match the commit",
				    (unsigned long long)rev, key);
				goto fail;
			}
			(*nops)++;
		}
		memcpy(prev, commit_hash(c), STORE_HASH_LEN);
		commit_free(c);
		c = NULL;
	}
	*bad = head;
	if (sodium_memcmp(prev, head_hash, STORE_HASH_LEN) != 0)
		return error_set(err, ERR_CORRUPT, "head hash does not match r%llu",
		    (unsigned long long)head);
	/* Each entry was checked against its promote: none may be left. */
	if (mdb_stat(t, s->epochs, &st) != 0 || st.ms_entries != npromotes)
		return error_set(err, ERR_CORRUPT, "the epochs index holds an "
		    "epoch no promote in the history started");
	*bad = 0;
	return 0;
fail:
	commit_free(c);
	return -1;
}

/* 1 when commit rev has an operation on key; 0 when not; -1 on error. */
static int
commit_touches(struct store *s, MDB_txn *t, uint64_t rev, const char *key,
    struct error *err)
{
	struct commit *c;
	MDB_val raw;
	int found = 0;

	if (db_commit_raw(s, t, rev, &raw, err) == -1 ||
	    commit_parse(raw.mv_data, raw.mv_size, &c, err) == -1)
		return -1;
	for (size_t i = 0; i < commit_op_count(c) && !found; i++) {
		const char *k;

		commit_op(c, i, NULL, &k, NULL, NULL);
		found = strcmp(k, key) == 0;
	}
	commit_free(c);
	return found;
}

/*
 * The index holds more entries than the commits made (pass one found
 * every one they made): the first revision with an entry no commit made,
 * or the head for one with a revision no commit has.
 */
static int
find_extra_entry(struct store *s, MDB_txn *t, uint64_t head, uint64_t *bad,
    struct error *err)
{
	char key[STORE_KEY_MAX + 1], first[STORE_KEY_MAX + 1] = "";
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t rev;
	int rc;

	*bad = UINT64_MAX;
	if ((rc = mdb_cursor_open(t, s->history, &c)) != 0)
		return db_fail(s, err, rc, "cursor");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		size_t klen = strnlen(k.mv_data, k.mv_size);
		int touched;

		if (klen > STORE_KEY_MAX || k.mv_size != klen + 9)
			continue;	/* verify_index reports those */
		memcpy(key, k.mv_data, klen);
		key[klen] = '\0';
		rev = get_be64((unsigned char *)k.mv_data + klen + 1);
		if (rev >= *bad)
			continue;
		if (rev == 0 || rev > head)
			touched = 0;
		else if ((touched = commit_touches(s, t, rev, key, err)) == -1) {
			mdb_cursor_close(c);
			return -1;
		}
		if (touched)
			continue;
		if (rev == 0 || rev > head)
			rev = head;	/* no revision at all */
		if (rev < *bad) {
			*bad = rev;
			memcpy(first, key, sizeof(first));
		}
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return db_fail(s, err, rc, "read history");
	if (*bad == UINT64_MAX) {
		*bad = head;
		return error_set(err, ERR_CORRUPT, "history index does not match "
		    "the commits");
	}
	return error_set(err, ERR_CORRUPT, "r%llu: history index has an entry "
	    "for %s that no commit made", (unsigned long long)*bad, first);
}

/* 1 when key has an entry in the history index, 0 when not, -1 error. */
static int
has_history(struct store *s, MDB_txn *t, const char *key, struct error *err)
{
	unsigned char hk[STORE_KEY_MAX + 9];
	MDB_cursor *c;
	MDB_val k, v;
	size_t klen = strlen(key);
	int rc;

	if ((rc = mdb_cursor_open(t, s->history, &c)) != 0)
		return db_fail(s, err, rc, "cursor");
	k.mv_size = db_history_key(hk, key, 0);
	k.mv_data = hk;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_fail(s, err, rc, "read history");
	return rc == 0 && k.mv_size == klen + 9 &&
	    memcmp(k.mv_data, key, klen + 1) == 0;
}

/*
 * The state holds more keys than the history gives values (each of those
 * was checked against the state): one no commit ever set.  That is wrong
 * as of the head.
 */
static int
find_extra_state(struct store *s, MDB_txn *t, uint64_t head, uint64_t *bad,
    struct error *err)
{
	char key[STORE_KEY_MAX + 1];
	MDB_cursor *c;
	MDB_val k, v;
	int rc, found = 0;

	*bad = head;
	if ((rc = mdb_cursor_open(t, s->state, &c)) != 0)
		return db_fail(s, err, rc, "cursor");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && found == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		snprintf(key, sizeof(key), "%.*s", (int)k.mv_size,
		    (char *)k.mv_data);
		if (k.mv_size > STORE_KEY_MAX || strlen(key) != k.mv_size)
			found = 1;
		else if ((rc = has_history(s, t, key, err)) == -1)
			found = -1;
		else
			found = rc == 0;
	}
	mdb_cursor_close(c);
	if (found == -1)
		return -1;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_fail(s, err, rc, "read state");
	if (found == 1)
		return error_set(err, ERR_CORRUPT, "r%llu: state has %s, which "
		    "no commit set", (unsigned long long)head, key);
	return error_set(err, ERR_CORRUPT, "r%llu: state does not match the "
	    "history", (unsigned long long)head);
}

static int
verify_index(struct store *s, MDB_txn *t, uint64_t head, size_t nops,
    uint64_t *bad, struct error *err)
{
	MDB_cursor *c;
	MDB_val k, v, sv;
	size_t entries = 0, live = 0;
	MDB_stat st;
	int rc;

	if ((rc = mdb_cursor_open(t, s->history, &c)) != 0)
		return db_fail(s, err, rc, "cursor");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		size_t klen = strnlen(k.mv_data, k.mv_size);
		MDB_val nk, nv;
		int last, found;
		char key[STORE_KEY_MAX + 1];

		entries++;
		if (klen > STORE_KEY_MAX || k.mv_size != klen + 9) {
			/* No (key, revision) at all: wrong as of the head. */
			mdb_cursor_close(c);
			*bad = head;
			return error_set(err, ERR_CORRUPT, "r%llu: history index "
			    "has a malformed entry for %.*s",
			    (unsigned long long)head, (int)klen,
			    (char *)k.mv_data);
		}
		/* Is this the key's last entry? */
		rc = mdb_cursor_get(c, &nk, &nv, MDB_NEXT);
		last = rc != 0 || nk.mv_size < klen + 1 ||
		    memcmp(nk.mv_data, k.mv_data, klen + 1) != 0;
		mdb_cursor_get(c, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
		if (!last)
			continue;
		memcpy(key, k.mv_data, klen);
		key[klen] = '\0';
		found = db_get(s, t, s->state, key, klen, &sv, err);
		if (found == -1)
			break;
		if (v.mv_size == 1 && *(unsigned char *)v.mv_data == 0xc0) {
			if (found == 0)
				goto mismatch;
			continue;
		}
		if (found == 1 || sv.mv_size != v.mv_size ||
		    memcmp(sv.mv_data, v.mv_data, v.mv_size) != 0)
			goto mismatch;
		live++;
		continue;
mismatch:
		/* Named by the key's last change: the state is wrong since. */
		*bad = get_be64((unsigned char *)k.mv_data + klen + 1);
		if (*bad == 0 || *bad > head)
			*bad = head;	/* an entry no commit can have made */
		mdb_cursor_close(c);
		return error_set(err, ERR_CORRUPT, "r%llu: current value of %s "
		    "does not match the history", (unsigned long long)*bad,
		    key);
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_fail(s, err, rc, "read history");
	/* Pass one found each entry the commits made; so some are extra. */
	if (entries != nops)
		return find_extra_entry(s, t, head, bad, err);
	if ((rc = mdb_stat(t, s->state, &st)) != 0)
		return db_fail(s, err, rc, "stat");
	if (st.ms_entries != live)
		return find_extra_state(s, t, head, bad, err);
	return 0;
}

int
store_verify(struct store *s, uint64_t *bad_rev, struct error *err)
{
	unsigned char hash[STORE_HASH_LEN];
	struct txn tx;
	uint64_t head = 0;
	size_t nops;
	int rc;

	*bad_rev = 0;
	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = db_read_head(s, tx.t, &head, hash, err);
	if (rc == 0)
		rc = verify_commits(s, tx.t, head, hash, &nops, bad_rev, err);
	if (rc == 0)
		rc = verify_index(s, tx.t, head, nops, bad_rev, err);
	db_txn_end(s, &tx);
	if (rc == -1 && err != NULL)
		err->code = ERR_CORRUPT;
	return rc;
}
