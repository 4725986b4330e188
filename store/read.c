/*
 * read.c - reads at the head and at any past revision.
 *
 * The history index makes a read at an old revision one B-tree seek: the
 * value of K at R is the last entry of K at or before R.  Nothing here
 * replays commits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "db.h"

int
store_get(struct store *s, const char *key, uint64_t rev, struct value **out,
    struct error *err)
{
	struct txn tx;
	MDB_val v;
	int rc;

	if (key_check(key, err) == -1)
		return -1;
	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	/* Beyond the head is no revision, not the head. */
	if ((rc = db_rev_check(s, tx.t, rev, err)) == 0)
		rc = db_get_at(s, tx.t, key, rev ? rev : REV_HEAD, &v, err);
	if (rc == 0)
		rc = db_value(&v, out, err);
	else if (rc == 1)
		rc = error_set(err, ERR_NOTFOUND, "%s: not found", key);
	db_txn_end(s, &tx);
	return rc;
}

int
store_get_for_host(struct store *s, const char *key, const char *host,
    uint64_t rev, struct value **out, struct error *err)
{
	char k[STORE_KEY_MAX + STORE_NODE_MAX + 2];

	if (key_check(key, err) == -1)
		return -1;
	if (host != NULL && strchr(key, '@') == NULL) {
		snprintf(k, sizeof(k), "%s@%s", key, host);
		if (strlen(k) <= STORE_KEY_MAX &&
		    store_get(s, k, rev, out, NULL) == 0)
			return 0;
	}
	return store_get(s, key, rev, out, err);
}

/*
 * Calls fn for every key that starts with prefix and has a value at rev,
 * in key order.  At the head that is a walk of the state table; before it,
 * a walk of the distinct keys of the history index, one seek each.
 */
int
db_walk(struct store *s, MDB_txn *t, const char *prefix, uint64_t rev,
    raw_visit_fn fn, void *arg, struct error *err)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	char key[STORE_KEY_MAX + 2];
	MDB_cursor *c;
	MDB_val k = { plen, UNCONST(prefix) }, v;
	uint64_t head = 0;
	int rc, stop = 0, at_head;

	if (db_read_head(s, t, &head, NULL, err) == -1)
		return -1;
	at_head = rev >= head;
	if ((rc = mdb_cursor_open(t, at_head ? s->state : s->history, &c)) != 0)
		return db_fail(s, err, rc, "cursor");
	rc = mdb_cursor_get(c, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
	while (rc == 0 && !stop) {
		size_t klen = at_head ? k.mv_size : strnlen(k.mv_data, k.mv_size);

		if (klen > STORE_KEY_MAX || klen < plen ||
		    (plen > 0 && memcmp(k.mv_data, prefix, plen) != 0))
			break;
		memcpy(key, k.mv_data, klen);
		key[klen] = '\0';
		if (at_head) {
			stop = fn(arg, key, &v);
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
			continue;
		}
		rc = db_get_at(s, t, key, rev, &v, err);
		if (rc == -1)
			break;
		if (rc == 0)
			stop = fn(arg, key, &v);
		/* "K\x01" sorts after every "K\0rev" and before "K.x". */
		key[klen] = '\x01';
		k.mv_data = key;
		k.mv_size = klen + 1;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	}
	mdb_cursor_close(c);
	if (rc == -1)
		return -1;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_fail(s, err, rc, "read");
	return stop;
}

struct visit_arg {
	store_visit_fn	 fn;
	void		*arg;
	struct error	*err;
	int		 failed;
};

static int
visit_value(void *arg, const char *key, const MDB_val *v)
{
	struct visit_arg *va = arg;
	struct value *val;
	int rc;

	if (db_value(v, &val, va->err) == -1) {
		va->failed = 1;
		return -1;
	}
	rc = va->fn(va->arg, key, val);
	value_free(val);
	return rc;
}

int
store_list(struct store *s, const char *prefix, uint64_t rev,
    store_visit_fn fn, void *arg, struct error *err)
{
	struct visit_arg va = { fn, arg, err, 0 };
	struct txn tx;
	int rc;

	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = db_rev_check(s, tx.t, rev, err);
	if (rc == 0)
		rc = db_walk(s, tx.t, prefix, rev ? rev : REV_HEAD, visit_value,
		    &va, err);
	db_txn_end(s, &tx);
	return va.failed ? -1 : rc;
}

struct host_arg {
	struct store	*s;
	MDB_txn		*t;
	const char	*host;
	uint64_t	 rev;
	struct visit_arg va;
};

/*
 * For host H: K shows K@H's value when that is set; K@H shows as K when
 * K itself is unset; overrides for other hosts are not visible.
 */
static int
visit_for_host(void *arg, const char *key, const MDB_val *v)
{
	struct host_arg *ha = arg;
	char other[STORE_KEY_MAX + STORE_NODE_MAX + 2];
	const char *host;
	size_t base = key_base(key, &host);
	MDB_val ov;
	int rc;

	if (host == NULL) {
		snprintf(other, sizeof(other), "%s@%s", key, ha->host);
		rc = strlen(other) > STORE_KEY_MAX ? 1 :
		    db_get_at(ha->s, ha->t, other, ha->rev, &ov, ha->va.err);
		if (rc == -1)
			return ha->va.failed = 1, -1;
		return visit_value(&ha->va, key, rc == 0 ? &ov : v);
	}
	if (strcmp(host, ha->host) != 0)
		return 0;
	snprintf(other, sizeof(other), "%.*s", (int)base, key);
	rc = db_get_at(ha->s, ha->t, other, ha->rev, &ov, ha->va.err);
	if (rc == -1)
		return ha->va.failed = 1, -1;
	return rc == 1 ? visit_value(&ha->va, other, v) : 0;
}

/*
 * A prefix without "@" matches K@H exactly when it matches K, so one walk
 * with it finds both the keys and their overrides.
 */
int
store_list_prefix_for_host(struct store *s, const char *host,
    const char *prefix, uint64_t rev, store_visit_fn fn, void *arg,
    struct error *err)
{
	struct host_arg ha = { s, NULL, host, rev ? rev : REV_HEAD,
	    { fn, arg, err, 0 } };
	struct txn tx;
	int rc;

	if (prefix != NULL && strchr(prefix, '@') != NULL)
		return error_set(err, ERR_BADKEY, "invalid prefix '%.300s' "
		    "(resolved for a host, keys have no @HOST)", prefix);
	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	ha.t = tx.t;
	rc = db_rev_check(s, tx.t, rev, err);
	if (rc == 0)
		rc = db_walk(s, tx.t, prefix, ha.rev, visit_for_host, &ha, err);
	db_txn_end(s, &tx);
	return ha.va.failed ? -1 : rc;
}

int
store_list_for_host(struct store *s, const char *host, uint64_t rev,
    store_visit_fn fn, void *arg, struct error *err)
{
	return store_list_prefix_for_host(s, host, NULL, rev, fn, arg, err);
}

static int
names_host(void *arg, const char *key, const MDB_val *v)
{
	const char *host;

	(void)v;
	key_base(key, &host);
	return host != NULL && strcmp(host, arg) == 0;
}

/*
 * A host to read for is this node, a peer, or at least the host of some
 * override at rev: a replica need not know every peer of the primary.
 * The state is only walked for a host that is neither of the first two.
 */
int
store_host_check(struct store *s, const char *host, uint64_t rev,
    struct error *err)
{
	char hosts[512];
	struct txn tx;
	int rc;

	if (node_name_check(host, err) == -1)
		return -1;
	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	if (db_host_known(s, tx.t, host))
		rc = 1;
	else if ((rc = db_rev_check(s, tx.t, rev, err)) == 0)
		rc = db_walk(s, tx.t, NULL, rev ? rev : REV_HEAD, names_host,
		    UNCONST(host), err);
	if (rc == 0) {
		db_host_list(s, tx.t, hosts, sizeof(hosts));
		error_set(err, ERR_BADHOST, "unknown host '%s' (not this node, a "
		    "peer or the host of an override; known: %s)", host, hosts);
		rc = -1;
	}
	db_txn_end(s, &tx);
	return rc == -1 ? -1 : 0;
}
