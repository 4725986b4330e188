/*
 * peers.c - this node's peers and local records: never replicated.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "compat.h"
#include "db.h"

#define LOCAL_NAME_MAX	STORE_LOCAL_NAME_MAX

struct peer_arg {
	const struct peer_info	*p;
	const char		*name;
};

static int
write_peer_add(struct store *s, MDB_txn *t, void *arg, struct error *err)
{
	const struct peer_info *p = ((struct peer_arg *)arg)->p;
	unsigned char v[sizeof(p->addr) + STORE_PUBKEY_LEN];
	char other[STORE_NODE_MAX + 1];
	size_t alen = strlen(p->addr);

	if (strcmp(p->name, s->node) == 0)
		return error_set(err, ERR_INPUT, "%s is this node's own name",
		    p->name);
	if (db_trusted(s, t, p->pubkey, other, sizeof(other)) &&
	    strcmp(other, p->name) != 0)
		return error_set(err, ERR_INPUT, "that key is already %s's",
		    other);
	memcpy(v, p->addr, alen + 1);
	memcpy(v + alen + 1, p->pubkey, STORE_PUBKEY_LEN);
	return db_put(s, t, s->peers, p->name, strlen(p->name), v,
	    alen + 1 + STORE_PUBKEY_LEN, 0, err);
}

int
store_peer_add(struct store *s, const struct peer_info *p, struct error *err)
{
	struct peer_arg pa = { p, NULL };
	size_t alen = strnlen(p->addr, sizeof(p->addr));

	if (node_name_check(p->name, err) == -1)
		return -1;
	if (alen == 0 || alen == sizeof(p->addr))
		return error_set(err, ERR_INPUT, "invalid peer address");
	return db_write(s, write_peer_add, &pa, err);
}

static int
write_peer_del(struct store *s, MDB_txn *t, void *arg, struct error *err)
{
	const char *name = ((struct peer_arg *)arg)->name;
	MDB_val v;
	int rc;

	if ((rc = db_get(s, t, s->peers, name, strlen(name), &v, err)) != 0)
		return rc == 1 ? error_set(err, ERR_NOTFOUND, "no peer %s", name) :
		    -1;
	return db_del(s, t, s->peers, name, strlen(name), err);
}

int
store_peer_del(struct store *s, const char *name, struct error *err)
{
	struct peer_arg pa = { NULL, name };

	if (node_name_check(name, err) == -1)
		return -1;
	return db_write(s, write_peer_del, &pa, err);
}

/* 1 when host is this node or one of its peers. */
int
db_host_known(struct store *s, MDB_txn *t, const char *host)
{
	MDB_val v;

	if (strcmp(host, s->node) == 0)
		return 1;
	return db_get(s, t, s->peers, host, strlen(host), &v, NULL) == 0;
}

/* "this node, peer, peer..." for an error message. */
void
db_host_list(struct store *s, MDB_txn *t, char *out, size_t len)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	snprintf(out, len, "%s", s->node);
	if (mdb_cursor_open(t, s->peers, &c) != 0)
		return;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		size_t n = strlen(out);

		snprintf(out + n, len - n, ", %.*s", (int)k.mv_size,
		    (char *)k.mv_data);
	}
	mdb_cursor_close(c);
}

int
store_peers(struct store *s, struct peer_info **out, size_t *n,
    struct error *err)
{
	struct peer_info *list = NULL, *p;
	MDB_cursor *c;
	MDB_val k, v;
	struct txn tx;
	size_t count = 0;
	int rc;

	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	if ((rc = mdb_cursor_open(tx.t, s->peers, &c)) != 0) {
		db_txn_end(s, &tx);
		return db_fail(s, err, rc, "cursor");
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if ((p = reallocarray(list, count + 1, sizeof(*list))) == NULL) {
			rc = ENOMEM;
			break;
		}
		list = p;
		p = &list[count++];
		memset(p, 0, sizeof(*p));
		snprintf(p->name, sizeof(p->name), "%.*s", (int)k.mv_size,
		    (char *)k.mv_data);
		if (v.mv_size > STORE_PUBKEY_LEN) {
			snprintf(p->addr, sizeof(p->addr), "%.*s",
			    (int)(v.mv_size - STORE_PUBKEY_LEN - 1),
			    (char *)v.mv_data);
			memcpy(p->pubkey, (unsigned char *)v.mv_data +
			    v.mv_size - STORE_PUBKEY_LEN, STORE_PUBKEY_LEN);
		}
	}
	mdb_cursor_close(c);
	db_txn_end(s, &tx);
	if (rc != MDB_NOTFOUND) {
		free(list);
		return db_fail(s, err, rc, "read peers");
	}
	*out = list;
	*n = count;
	return 0;
}

int
store_primary_name(struct store *s, char *name, size_t len, struct error *err)
{
	struct peer_info *peers = NULL;
	struct commit *c = NULL;
	uint64_t head = 0;
	size_t n = 0;

	if (s->primary) {
		snprintf(name, len, "%s", s->node);
		return 0;
	}
	/* Fenced: the primary of the newer epoch, heard of in a hello. */
	if (store_fenced(s, NULL, name, len))
		return 0;
	/* The node that made the newest commit held here, else the only peer. */
	if (store_head(s, &head, NULL, err) == -1)
		return -1;
	if (head > 0 && store_commit_load(s, head, &c, NULL) == 0) {
		snprintf(name, len, "%s", commit_node(c));
		commit_free(c);
		return 0;
	}
	if (store_peers(s, &peers, &n, err) == -1)
		return -1;
	if (n == 1)
		snprintf(name, len, "%s", peers[0].name);
	free(peers);
	if (n != 1)
		return error_set(err, ERR_NOTFOUND, "no primary known");
	return 0;
}

/* ---- local records ----------------------------------------------------- */

static int
local_name_check(const char *name, struct error *err)
{
	size_t len = strlen(name);

	if (len == 0 || len > LOCAL_NAME_MAX)
		return error_set(err, ERR_INPUT, "local record name too long");
	return 0;
}

struct local_batch {
	const struct store_local_rec *r;
	size_t		 n;
};

static int
write_local(struct store *s, MDB_txn *t, void *arg, struct error *err)
{
	struct local_batch *b = arg;
	const struct store_local_rec *r;
	int rc = 0;

	for (r = b->r; rc == 0 && r < b->r + b->n; r++)
		rc = r->p == NULL ?
		    db_del(s, t, s->local, r->name, strlen(r->name), err) :
		    db_put(s, t, s->local, r->name, strlen(r->name), r->p,
		    r->len, 0, err);
	return rc;
}

int
store_local_put_many(struct store *s, const struct store_local_rec *r,
    size_t n, struct error *err)
{
	struct local_batch b = { r, n };
	size_t i;

	for (i = 0; i < n; i++)
		if (local_name_check(r[i].name, err) == -1)
			return -1;
	return n == 0 ? 0 : db_write(s, write_local, &b, err);
}

int
store_local_put(struct store *s, const char *name, const void *p, size_t len,
    struct error *err)
{
	struct store_local_rec r = { name, p ? p : "", len };

	return store_local_put_many(s, &r, 1, err);
}

int
store_local_del(struct store *s, const char *name, struct error *err)
{
	struct store_local_rec r = { name, NULL, 0 };

	return store_local_put_many(s, &r, 1, err);
}

int
store_local_get(struct store *s, const char *name, struct buf *out,
    struct error *err)
{
	struct txn tx;
	MDB_val v;
	int rc;

	if (local_name_check(name, err) == -1)
		return -1;
	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = db_get(s, tx.t, s->local, name, strlen(name), &v, err);
	if (rc == 1)
		rc = error_set(err, ERR_NOTFOUND, "%s: not found", name);
	else if (rc == 0 && buf_append(out, v.mv_data, v.mv_size) == -1)
		rc = error_errno(err, ERR_FAIL, "local record");
	db_txn_end(s, &tx);
	return rc;
}

int
store_local_each(struct store *s, const char *prefix, store_local_fn fn,
    void *arg, struct error *err)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	char name[LOCAL_NAME_MAX + 1];
	MDB_val k = { plen, UNCONST(prefix) }, v;
	MDB_cursor *c;
	struct txn tx;
	int rc, stop = 0;

	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	if ((rc = mdb_cursor_open(tx.t, s->local, &c)) != 0) {
		db_txn_end(s, &tx);
		return db_fail(s, err, rc, "cursor");
	}
	rc = mdb_cursor_get(c, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
	for (; rc == 0 && !stop; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size < plen || k.mv_size > LOCAL_NAME_MAX ||
		    (plen > 0 && memcmp(k.mv_data, prefix, plen) != 0))
			break;
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		stop = fn(arg, name, v.mv_data, v.mv_size);
	}
	mdb_cursor_close(c);
	db_txn_end(s, &tx);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_fail(s, err, rc, "read local records");
	return stop;
}

int
db_trusted(struct store *s, MDB_txn *t, const unsigned char *pk,
    char *name, size_t len)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc, found = 0;

	if (sodium_memcmp(pk, s->pk, STORE_PUBKEY_LEN) == 0) {
		if (name != NULL)
			snprintf(name, len, "%s", s->node);
		return 1;
	}
	if (mdb_cursor_open(t, s->peers, &c) != 0)
		return 0;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && !found;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (v.mv_size < STORE_PUBKEY_LEN ||
		    sodium_memcmp((unsigned char *)v.mv_data + v.mv_size -
		    STORE_PUBKEY_LEN, pk, STORE_PUBKEY_LEN) != 0)
			continue;
		found = 1;
		if (name != NULL)
			snprintf(name, len, "%.*s", (int)k.mv_size,
			    (char *)k.mv_data);
	}
	mdb_cursor_close(c);
	return found;
}
