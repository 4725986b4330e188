/*
 * store.c - the versioned store on LMDB.
 *
 * One LMDB environment in the store directory, with these tables:
 *
 *	meta	 node name, role, listen address, head (rev + hash)
 *	commits	 rev (8 bytes, big-endian) -> the commit's signed bytes
 *	state	 key -> current value (canonical encoding)
 *	history	 key NUL rev -> value set at rev, or nil where deleted
 *	peers	 name -> address NUL public key	  (local, never replicated)
 *	local	 name -> bytes			  (local bookkeeping)
 *
 * history is the index that makes a read at an old revision one B-tree
 * seek instead of a replay: the value of K at R is the last entry of K at
 * or before R.  Every write is one LMDB transaction, so a commit and its
 * index entries and the new head land together or not at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "compat.h"
#include "store_int.h"

#define MAP_SIZE_MIN	(64ull << 20)
#define REV_HEAD	UINT64_MAX	/* internal "at the head"; 0 is the empty store */
#define LOCAL_NAME_MAX	400
#define FORMAT_VERSION	"1"

struct store {
	char			*dir;
	MDB_env			*env;
	MDB_dbi			 meta, commits, state, history, peers, local;
	char			 node[STORE_NODE_MAX + 1];
	char			 listen[128];
	int			 primary;
	unsigned char		 pk[STORE_PUBKEY_LEN];
	int			 own_locks;	/* flock(2) instead of LMDB's */
	char			 lockpath[1024];
	int			 map_full;	/* the last write ran out of map */
	pthread_rwlock_t	 resize;	/* exclusive while the map grows */
};

struct txn {
	MDB_txn	*t;
	int	 lockfd;
};

/* ---- keys and names ------------------------------------------------- */

static int
name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int
node_name_check(const char *name, struct error *err)
{
	size_t len = strlen(name);

	if (len == 0 || len > STORE_NODE_MAX)
		return error_set(err, ERR_INPUT,
		    "invalid node name '%.80s' (1 to %d characters)", name,
		    STORE_NODE_MAX);
	for (size_t i = 0; i < len; i++)
		if (!name_char((unsigned char)name[i]) &&
		    !(name[i] == '.' && i > 0 && i + 1 < len &&
		    name[i + 1] != '.'))
			return error_set(err, ERR_INPUT,
			    "invalid node name '%.80s' (letters, digits, "
			    "'_', '-' and inner dots)", name);
	return 0;
}

size_t
key_base(const char *key, const char **host)
{
	const char *at = strchr(key, '@');

	if (host != NULL)
		*host = at ? at + 1 : NULL;
	return at ? (size_t)(at - key) : strlen(key);
}

int
key_check(const char *key, struct error *err)
{
	const char *host;
	size_t len = strlen(key), base = key_base(key, &host);
	int component = 0;

	if (len > STORE_KEY_MAX)
		return error_set(err, ERR_INPUT,
		    "key too long: %zu bytes (limit %d)", len, STORE_KEY_MAX);
	for (size_t i = 0; i < base; i++) {
		if (key[i] == '.') {
			if (component == 0)
				goto bad;
			component = 0;
		} else if (name_char((unsigned char)key[i]))
			component++;
		else
			goto bad;
	}
	if (component == 0)
		goto bad;
	if (host != NULL && node_name_check(host, NULL) == -1)
		return error_set(err, ERR_INPUT,
		    "invalid host in key '%.300s'", key);
	return 0;
bad:
	return error_set(err, ERR_INPUT,
	    "invalid key '%.300s' (dot-separated names of letters, digits, "
	    "'_' and '-', optionally @HOST)", key);
}

/* ---- LMDB plumbing --------------------------------------------------- */

static int
lmdb_fail(struct store *s, struct error *err, int rc, const char *what)
{
	if (rc == MDB_MAP_FULL)
		s->map_full = 1;
	return error_set(err, ERR_FAIL, "%s: %s", what, mdb_strerror(rc));
}

static void
be64(unsigned char out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (unsigned char)v;
}

static uint64_t
get_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Where LMDB's locks do not survive a killed process (OpenBSD), readers
 * take a shared and writers an exclusive flock(2) on a file of our own:
 * the kernel drops it when the holder dies.  A descriptor per transaction
 * keeps threads of one process apart too.
 */
static int
own_lock(struct store *s, int write, struct txn *tx, struct error *err)
{
	tx->lockfd = -1;
	if (!s->own_locks)
		return 0;
	if ((tx->lockfd = open(s->lockpath, O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) == -1)
		return error_errno(err, ERR_FAIL, "%s", s->lockpath);
	while (flock(tx->lockfd, write ? LOCK_EX : LOCK_SH) == -1) {
		if (errno != EINTR) {
			close(tx->lockfd);
			tx->lockfd = -1;
			return error_errno(err, ERR_FAIL, "lock");
		}
	}
	return 0;
}

static void
txn_end(struct store *s, struct txn *tx)
{
	if (tx->t != NULL)
		mdb_txn_abort(tx->t);
	tx->t = NULL;
	if (tx->lockfd != -1)
		close(tx->lockfd);
	tx->lockfd = -1;
	pthread_rwlock_unlock(&s->resize);
}

static int
txn_begin(struct store *s, int write, struct txn *tx, struct error *err)
{
	int rc;

	for (;;) {
		pthread_rwlock_rdlock(&s->resize);
		if (own_lock(s, write, tx, err) == -1) {
			pthread_rwlock_unlock(&s->resize);
			return -1;
		}
		rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &tx->t);
		if (rc == 0)
			return 0;
		tx->t = NULL;
		txn_end(s, tx);
		if (rc != MDB_MAP_RESIZED)
			return lmdb_fail(s, err, rc, "begin transaction");
		/* Another process grew the map: adopt its size. */
		pthread_rwlock_wrlock(&s->resize);
		mdb_env_set_mapsize(s->env, 0);
		pthread_rwlock_unlock(&s->resize);
	}
}

static int
txn_commit(struct store *s, struct txn *tx, struct error *err)
{
	int rc = mdb_txn_commit(tx->t);

	tx->t = NULL;
	txn_end(s, tx);
	if (rc != 0)
		return lmdb_fail(s, err, rc, "commit");
	return 0;
}

static int
grow_map(struct store *s, struct error *err)
{
	MDB_envinfo info;
	int rc;

	pthread_rwlock_wrlock(&s->resize);
	mdb_env_info(s->env, &info);
	rc = mdb_env_set_mapsize(s->env, info.me_mapsize * 2);
	pthread_rwlock_unlock(&s->resize);
	if (rc != 0)
		return lmdb_fail(s, err, rc, "grow map");
	return 0;
}

/*
 * Runs fn inside one write transaction and commits it.  When the map is
 * full the whole transaction is thrown away, the map doubled and fn run
 * again from scratch, so fn must only touch the transaction.
 */
typedef int (*write_fn)(struct store *, MDB_txn *, void *, struct error *);

static int
with_write(struct store *s, write_fn fn, void *arg, struct error *err)
{
	struct txn tx;

	for (;;) {
		s->map_full = 0;
		if (txn_begin(s, 1, &tx, err) == -1)
			return -1;
		if (fn(s, tx.t, arg, err) == -1) {
			txn_end(s, &tx);
			if (!s->map_full)
				return -1;
		} else if (txn_commit(s, &tx, err) == 0)
			return 0;
		else if (!s->map_full)
			return -1;
		if (grow_map(s, err) == -1)
			return -1;
	}
}

static int
put(struct store *s, MDB_txn *t, MDB_dbi db, const void *k, size_t klen,
    const void *v, size_t vlen, unsigned flags, struct error *err)
{
	MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };
	int rc = mdb_put(t, db, &key, &val, flags);

	if (rc != 0)
		return lmdb_fail(s, err, rc, "write");
	return 0;
}

/* 0 found, 1 not found, -1 error. */
static int
get(struct store *s, MDB_txn *t, MDB_dbi db, const void *k, size_t klen,
    MDB_val *out, struct error *err)
{
	MDB_val key = { klen, (void *)k };
	int rc = mdb_get(t, db, &key, out);

	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc != 0)
		return lmdb_fail(s, err, rc, "read");
	return 0;
}

static int
del(struct store *s, MDB_txn *t, MDB_dbi db, const void *k, size_t klen,
    struct error *err)
{
	MDB_val key = { klen, (void *)k };
	int rc = mdb_del(t, db, &key, NULL);

	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_fail(s, err, rc, "delete");
	return 0;
}

static int
meta_text(struct store *s, MDB_txn *t, const char *name, char *out,
    size_t len, struct error *err)
{
	MDB_val v;
	int rc = get(s, t, s->meta, name, strlen(name), &v, err);

	if (rc == -1)
		return -1;
	out[0] = '\0';
	if (rc == 0)
		snprintf(out, len, "%.*s", (int)v.mv_size, (char *)v.mv_data);
	return 0;
}

static int
read_head(struct store *s, MDB_txn *t, uint64_t *rev,
    unsigned char hash[STORE_HASH_LEN], struct error *err)
{
	MDB_val v;
	int rc = get(s, t, s->meta, "head", 4, &v, err);

	if (rc == -1)
		return -1;
	if (rc == 1) {
		*rev = 0;
		if (hash != NULL)
			memset(hash, 0, STORE_HASH_LEN);
		return 0;
	}
	if (v.mv_size != 8 + STORE_HASH_LEN)
		return error_set(err, ERR_FAIL, "corrupt head record");
	*rev = get_be64(v.mv_data);
	if (hash != NULL)
		memcpy(hash, (unsigned char *)v.mv_data + 8, STORE_HASH_LEN);
	return 0;
}

static int
write_head(struct store *s, MDB_txn *t, uint64_t rev,
    const unsigned char hash[STORE_HASH_LEN], struct error *err)
{
	unsigned char v[8 + STORE_HASH_LEN];

	be64(v, rev);
	memcpy(v + 8, hash, STORE_HASH_LEN);
	return put(s, t, s->meta, "head", 4, v, sizeof(v), 0, err);
}

/* The history key of (key, rev): key NUL rev. */
static size_t
hkey(unsigned char *out, const char *key, uint64_t rev)
{
	size_t len = strlen(key);

	memcpy(out, key, len);
	out[len] = '\0';
	be64(out + len + 1, rev);
	return len + 9;
}

/*
 * The value of key as of rev (0: head) into *out: the state table for
 * the head, else the last history entry at or before rev.  0 found,
 * 1 absent, -1 error.
 */
static int
get_at(struct store *s, MDB_txn *t, const char *key, uint64_t rev,
    MDB_val *out, struct error *err)
{
	unsigned char k[STORE_KEY_MAX + 9];
	size_t klen = strlen(key);
	MDB_cursor *c;
	MDB_val ck, cv;
	uint64_t head;
	int rc;

	if (read_head(s, t, &head, NULL, err) == -1)
		return -1;
	if (rev >= head)
		return get(s, t, s->state, key, klen, out, err);
	if (klen > STORE_KEY_MAX)
		return 1;
	ck.mv_size = hkey(k, key, rev + 1);
	ck.mv_data = k;
	if ((rc = mdb_cursor_open(t, s->history, &c)) != 0)
		return lmdb_fail(s, err, rc, "cursor");
	rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
	if (rc == 0)
		rc = mdb_cursor_get(c, &ck, &cv, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(c, &ck, &cv, MDB_LAST);
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc != 0)
		return lmdb_fail(s, err, rc, "read history");
	if (ck.mv_size != klen + 9 || memcmp(ck.mv_data, key, klen) != 0 ||
	    ((unsigned char *)ck.mv_data)[klen] != '\0')
		return 1;
	if (cv.mv_size == 1 && *(unsigned char *)cv.mv_data == 0xc0)
		return 1;	/* deleted as of then */
	*out = cv;
	return 0;
}

static int
to_value(const MDB_val *v, struct value **out, struct error *err)
{
	if (value_decode(v->mv_data, v->mv_size, out, err) == -1)
		return error_wrap(err, "stored value");
	return 0;
}

/* ---- opening ---------------------------------------------------------- */

static int
open_tables(struct store *s, unsigned txn_flags)
{
	unsigned create = txn_flags & MDB_RDONLY ? 0 : MDB_CREATE;
	struct txn tx;
	MDB_txn *t;
	int rc;

	if (own_lock(s, create != 0, &tx, NULL) == -1)
		return EIO;
	if ((rc = mdb_txn_begin(s->env, NULL, txn_flags, &t)) != 0)
		goto done;
	if ((rc = mdb_dbi_open(t, "meta", create, &s->meta)) != 0 ||
	    (rc = mdb_dbi_open(t, "commits", create, &s->commits)) != 0 ||
	    (rc = mdb_dbi_open(t, "state", create, &s->state)) != 0 ||
	    (rc = mdb_dbi_open(t, "history", create, &s->history)) != 0 ||
	    (rc = mdb_dbi_open(t, "peers", create, &s->peers)) != 0 ||
	    (rc = mdb_dbi_open(t, "local", create, &s->local)) != 0) {
		mdb_txn_abort(t);
		goto done;
	}
	rc = mdb_txn_commit(t);
done:
	if (tx.lockfd != -1)
		close(tx.lockfd);
	return rc;
}

static int
open_env(struct store *s, int create, struct error *err)
{
	unsigned flags = MDB_NOTLS;
	char path[1024];
	struct stat st;
	size_t mapsize = MAP_SIZE_MIN;
	int rc;

	s->own_locks = !lmdb_locks_are_robust();
	snprintf(s->lockpath, sizeof(s->lockpath), "%s/write.lock", s->dir);
	if (s->own_locks)
		flags |= MDB_NOLOCK;
	if (lmdb_needs_writemap())
		flags |= MDB_WRITEMAP;
	snprintf(path, sizeof(path), "%s/data.mdb", s->dir);
	if (stat(path, &st) == 0) {
		if ((size_t)st.st_size * 2 > mapsize)
			mapsize = (size_t)st.st_size * 2;
	} else if (!create)
		return error_set(err, ERR_FAIL,
		    "no store in %s (run 'cfgstore init' first)", s->dir);

	if ((rc = mdb_env_create(&s->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(s->env, 8)) != 0 ||
	    (rc = mdb_env_set_mapsize(s->env, mapsize)) != 0 ||
	    (rc = mdb_env_open(s->env, s->dir, flags, 0600)) != 0)
		return lmdb_fail(s, err, rc, s->dir);
	if (!s->own_locks)
		mdb_reader_check(s->env, NULL);	/* slots of dead readers */

	/* A read transaction will do unless the tables are still to be made. */
	if ((rc = open_tables(s, create ? 0 : MDB_RDONLY)) == MDB_NOTFOUND)
		rc = open_tables(s, 0);
	if (rc != 0)
		return lmdb_fail(s, err, rc, "open tables");
	return 0;
}

static struct store *
store_alloc(const char *dir)
{
	struct store *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	if ((s->dir = strdup(dir)) == NULL) {
		free(s);
		return NULL;
	}
	pthread_rwlock_init(&s->resize, NULL);
	return s;
}

struct init_arg {
	const struct store_init_opts	*o;
};

static int
write_init(struct store *s, MDB_txn *t, void *arg, struct error *err)
{
	const struct store_init_opts *o = ((struct init_arg *)arg)->o;
	const char *listen = o->listen ? o->listen : "";

	if (put(s, t, s->meta, "format", 6, FORMAT_VERSION, 1, 0, err) == -1 ||
	    put(s, t, s->meta, "node", 4, o->node, strlen(o->node), 0,
	    err) == -1 ||
	    put(s, t, s->meta, "primary", 7, o->primary ? "1" : "0", 1, 0,
	    err) == -1 ||
	    put(s, t, s->meta, "listen", 6, listen, strlen(listen), 0,
	    err) == -1)
		return -1;
	return 0;
}

int
store_init(const char *dir, const struct store_init_opts *o,
    struct error *err)
{
	struct init_arg arg = { o };
	struct store *s;
	char path[1024];
	unsigned char pk[STORE_PUBKEY_LEN];
	int rc = -1;

	if (sodium_init() < 0)
		return error_set(err, ERR_FAIL, "libsodium failed to start");
	if (node_name_check(o->node, err) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (access(path, F_OK) == 0)
		return error_set(err, ERR_FAIL, "a store exists already in %s",
		    dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return error_errno(err, ERR_FAIL, "mkdir %s", dir);
	if (chmod(dir, 0700) == -1)
		return error_errno(err, ERR_FAIL, "chmod %s", dir);
	if ((s = store_alloc(dir)) == NULL)
		return error_errno(err, ERR_FAIL, "store");
	snprintf(path, sizeof(path), "%s/%s", dir, KEY_FILE);
	if (access(path, F_OK) == 0) {
		error_set(err, ERR_FAIL, "%s exists already", path);
		goto done;
	}
	if (open_env(s, 1, err) == -1 ||
	    identity_create(dir, pk, err) == -1 ||
	    with_write(s, write_init, &arg, err) == -1)
		goto done;
	rc = 0;
done:
	store_close(s);
	return rc;
}

static int
read_public_key(const char *dir, unsigned char pk[STORE_PUBKEY_LEN],
    struct error *err)
{
	struct buf b = { 0 };
	char path[1024];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, PUB_FILE);
	if (buf_read_file(&b, path, 128) == -1)
		return error_errno(err, ERR_FAIL, "%s", path);
	if (b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	rc = pubkey_from_text(b.data, pk, err);
	buf_free(&b);
	if (rc == -1)
		return error_wrap(err, "%s", path);
	return 0;
}

int
store_open(const char *dir, int flags, struct store **out, struct error *err)
{
	char text[8];
	struct store *s;
	struct txn tx;

	(void)flags;	/* every open may write: LMDB needs its lock file */
	if (sodium_init() < 0)
		return error_set(err, ERR_FAIL, "libsodium failed to start");
	if ((s = store_alloc(dir)) == NULL)
		return error_errno(err, ERR_FAIL, "store");
	if (open_env(s, 0, err) == -1)
		goto fail;
	if (txn_begin(s, 0, &tx, err) == -1)
		goto fail;
	if (meta_text(s, tx.t, "node", s->node, sizeof(s->node), err) == -1 ||
	    meta_text(s, tx.t, "listen", s->listen, sizeof(s->listen),
	    err) == -1 ||
	    meta_text(s, tx.t, "primary", text, sizeof(text), err) == -1) {
		txn_end(s, &tx);
		goto fail;
	}
	txn_end(s, &tx);
	s->primary = strcmp(text, "1") == 0;
	if (s->node[0] == '\0') {
		error_set(err, ERR_FAIL, "%s: store not initialised", dir);
		goto fail;
	}
	/*
	 * The public key file, not the secret one: reading needs no secret,
	 * and commit_common checks the two agree before it signs.
	 */
	if (read_public_key(dir, s->pk, err) == -1)
		goto fail;
	*out = s;
	return 0;
fail:
	store_close(s);
	return -1;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->env != NULL)
		mdb_env_close(s->env);
	pthread_rwlock_destroy(&s->resize);
	free(s->dir);
	free(s);
}

const char *store_dir(const struct store *s) { return s->dir; }
const char *store_node(const struct store *s) { return s->node; }
int store_is_primary(const struct store *s) { return s->primary; }
const char *store_listen(const struct store *s) { return s->listen; }

void
store_public_key(const struct store *s, unsigned char pk[STORE_PUBKEY_LEN])
{
	memcpy(pk, s->pk, STORE_PUBKEY_LEN);
}

int
identity_load(struct store *s, struct identity **out, struct error *err)
{
	return identity_load_dir(s->dir, out, err);
}

int
store_head(struct store *s, uint64_t *rev, unsigned char hash[STORE_HASH_LEN],
    struct error *err)
{
	struct txn tx;
	int rc;

	if (txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = read_head(s, tx.t, rev, hash, err);
	txn_end(s, &tx);
	return rc;
}

/* ---- reading ---------------------------------------------------------- */

int
store_get(struct store *s, const char *key, uint64_t rev, struct value **out,
    struct error *err)
{
	struct txn tx;
	MDB_val v;
	int rc;

	if (key_check(key, err) == -1)
		return -1;
	if (txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = get_at(s, tx.t, key, rev ? rev : REV_HEAD, &v, err);
	if (rc == 0)
		rc = to_value(&v, out, err);
	else if (rc == 1)
		rc = error_set(err, ERR_FAIL, "%s: not found", key);
	txn_end(s, &tx);
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
typedef int (*raw_visit_fn)(void *arg, const char *key, const MDB_val *v);

static int
walk(struct store *s, MDB_txn *t, const char *prefix, uint64_t rev,
    raw_visit_fn fn, void *arg, struct error *err)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	char key[STORE_KEY_MAX + 2];
	MDB_cursor *c;
	MDB_val k = { plen, (void *)prefix }, v;
	uint64_t head;
	int rc, stop = 0, at_head;

	if (read_head(s, t, &head, NULL, err) == -1)
		return -1;
	at_head = rev >= head;
	if ((rc = mdb_cursor_open(t, at_head ? s->state : s->history, &c)) != 0)
		return lmdb_fail(s, err, rc, "cursor");
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
		rc = get_at(s, t, key, rev, &v, err);
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
		return lmdb_fail(s, err, rc, "read");
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

	if (to_value(v, &val, va->err) == -1) {
		va->failed = 1;
		return -1;
	}
	rc = va->fn(va->arg, key, val);
	value_free(val);
	return rc;
}

static int
rev_check(struct store *s, MDB_txn *t, uint64_t rev, struct error *err)
{
	uint64_t head;

	if (read_head(s, t, &head, NULL, err) == -1)
		return -1;
	if (rev > head)
		return error_set(err, ERR_FAIL, "no revision %llu (head is %llu)",
		    (unsigned long long)rev, (unsigned long long)head);
	return 0;
}

int
store_list(struct store *s, const char *prefix, uint64_t rev,
    store_visit_fn fn, void *arg, struct error *err)
{
	struct visit_arg va = { fn, arg, err, 0 };
	struct txn tx;
	int rc;

	if (txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = rev_check(s, tx.t, rev, err);
	if (rc == 0)
		rc = walk(s, tx.t, prefix, rev ? rev : REV_HEAD, visit_value,
		    &va, err);
	txn_end(s, &tx);
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
		    get_at(ha->s, ha->t, other, ha->rev, &ov, ha->va.err);
		if (rc == -1)
			return ha->va.failed = 1, -1;
		return visit_value(&ha->va, key, rc == 0 ? &ov : v);
	}
	if (strcmp(host, ha->host) != 0)
		return 0;
	snprintf(other, sizeof(other), "%.*s", (int)base, key);
	rc = get_at(ha->s, ha->t, other, ha->rev, &ov, ha->va.err);
	if (rc == -1)
		return ha->va.failed = 1, -1;
	return rc == 1 ? visit_value(&ha->va, other, v) : 0;
}

int
store_list_for_host(struct store *s, const char *host, uint64_t rev,
    store_visit_fn fn, void *arg, struct error *err)
{
	struct host_arg ha = { s, NULL, host, rev ? rev : REV_HEAD,
	    { fn, arg, err, 0 } };
	struct txn tx;
	int rc;

	if (txn_begin(s, 0, &tx, err) == -1)
		return -1;
	ha.t = tx.t;
	rc = rev_check(s, tx.t, rev, err);
	if (rc == 0)
		rc = walk(s, tx.t, NULL, ha.rev, visit_for_host, &ha, err);
	txn_end(s, &tx);
	return ha.va.failed ? -1 : rc;
}

/* ---- writing ------------------------------------------------------------ */

struct change_op {
	char		*key;
	struct value	*value;		/* NULL: delete */
	size_t		 seq;
};

struct change {
	struct change_op	*ops;
	size_t			 n, cap;
};

struct change *
change_new(void)
{
	return calloc(1, sizeof(struct change));
}

static int
change_add(struct change *c, const char *key, const struct value *v,
    struct error *err)
{
	struct change_op *op;

	if (key_check(key, err) == -1)
		return -1;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		void *p = reallocarray(c->ops, cap, sizeof(*c->ops));

		if (p == NULL)
			return error_errno(err, ERR_FAIL, "change");
		c->ops = p;
		c->cap = cap;
	}
	op = &c->ops[c->n];
	op->seq = c->n;
	op->value = NULL;
	if ((op->key = strdup(key)) == NULL ||
	    (v != NULL && (op->value = value_dup(v)) == NULL)) {
		free(op->key);
		return error_errno(err, ERR_FAIL, "change");
	}
	c->n++;
	return 0;
}

int
change_set(struct change *c, const char *key, const struct value *v,
    struct error *err)
{
	return change_add(c, key, v, err);
}

int
change_del(struct change *c, const char *key, struct error *err)
{
	return change_add(c, key, NULL, err);
}

size_t
change_count(const struct change *c)
{
	return c->n;
}

void
change_free(struct change *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->ops[i].key);
		value_free(c->ops[i].value);
	}
	free(c->ops);
	free(c);
}

static int
op_cmp(const void *a, const void *b)
{
	const struct change_op *x = *(const struct change_op *const *)a;
	const struct change_op *y = *(const struct change_op *const *)b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
author_name(char *out, size_t len)
{
	const char *who = getenv("SUDO_USER");
	struct passwd *pw;

	if (who == NULL || *who == '\0')
		who = getenv("DOAS_USER");
	if (who == NULL || *who == '\0')
		who = getlogin();
	if ((who == NULL || *who == '\0') && (pw = getpwuid(getuid())) != NULL)
		who = pw->pw_name;
	snprintf(out, len, "%s", who != NULL && *who != '\0' ? who : "unknown");
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* 1 when host is this node or one of its peers. */
static int
host_known(struct store *s, MDB_txn *t, const char *host)
{
	MDB_val v;

	if (strcmp(host, s->node) == 0)
		return 1;
	return get(s, t, s->peers, host, strlen(host), &v, NULL) == 0;
}

static int
host_list(struct store *s, MDB_txn *t, char *out, size_t len)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	snprintf(out, len, "%s", s->node);
	if (mdb_cursor_open(t, s->peers, &c) != 0)
		return -1;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		size_t n = strlen(out);

		snprintf(out + n, len - n, ", %.*s", (int)k.mv_size,
		    (char *)k.mv_data);
	}
	mdb_cursor_close(c);
	return 0;
}

struct commit_arg {
	const struct change	*c;
	const char		*message;
	const struct identity	*id;
	uint64_t		 rollback_to;	/* build c from this rev first */
	uint64_t		 rev;		/* out */
	unsigned char		 hash[STORE_HASH_LEN];
};

/* The new commit's index and state updates, shared by commit and apply. */
static int
apply_op(struct store *s, MDB_txn *t, uint64_t rev, const char *key,
    const struct value *new, struct error *err)
{
	unsigned char hk[STORE_KEY_MAX + 9];
	const void *enc = "\xc0";
	size_t len = 1;

	if (new != NULL)
		enc = value_encoded(new, &len);
	if (put(s, t, s->history, hk, hkey(hk, key, rev), enc, len, 0,
	    err) == -1)
		return -1;
	if (new == NULL)
		return del(s, t, s->state, key, strlen(key), err);
	return put(s, t, s->state, key, strlen(key), enc, len, 0, err);
}

static int diff_in_txn(struct store *, MDB_txn *, uint64_t, uint64_t,
    store_diff_fn, void *, struct error *);

static int
rollback_op(void *arg, const char *key, const struct value *old,
    const struct value *new)
{
	struct change *c = arg;

	(void)old;
	return new ? change_set(c, key, new, NULL) : change_del(c, key, NULL);
}

static int
write_commit(struct store *s, MDB_txn *t, void *arg, struct error *err)
{
	struct commit_arg *ca = arg;
	const struct change *c = ca->c;
	struct change *rb = NULL;
	struct change_op **sorted = NULL;
	struct commit_op_in *ops = NULL;
	struct value **olds = NULL;
	struct commit_in in;
	struct buf raw = { 0 };
	unsigned char parent[STORE_HASH_LEN], k[8];
	char author[64], hosts[512];
	size_t n = 0, i;
	uint64_t head;
	int rc = -1;

	ca->rev = 0;
	if (read_head(s, t, &head, parent, err) == -1)
		return -1;
	if (ca->rollback_to != 0) {
		/* State of rollback_to minus the head's, as operations. */
		if ((rb = change_new()) == NULL)
			return error_errno(err, ERR_FAIL, "change");
		if (diff_in_txn(s, t, head, ca->rollback_to, rollback_op, rb,
		    err) != 0) {
			if (err != NULL && err->msg[0] == '\0')
				error_set(err, ERR_FAIL, "out of memory");
			goto done;
		}
		c = rb;
	}
	if ((sorted = calloc(c->n + 1, sizeof(*sorted))) == NULL ||
	    (ops = calloc(c->n + 1, sizeof(*ops))) == NULL ||
	    (olds = calloc(c->n + 1, sizeof(*olds))) == NULL) {
		error_errno(err, ERR_FAIL, "commit");
		goto done;
	}
	for (i = 0; i < c->n; i++)
		sorted[i] = &c->ops[i];
	qsort(sorted, c->n, sizeof(*sorted), op_cmp);

	for (i = 0; i < c->n; i++) {
		const struct change_op *op = sorted[i];
		const char *host;
		MDB_val v;
		int found;

		/* The last operation on a key is the one that counts. */
		if (i + 1 < c->n && strcmp(op->key, sorted[i + 1]->key) == 0)
			continue;
		key_base(op->key, &host);
		/* A rollback restores overrides of hosts since removed. */
		if (host != NULL && ca->rollback_to == 0 &&
		    !host_known(s, t, host)) {
			host_list(s, t, hosts, sizeof(hosts));
			error_set(err, ERR_INPUT,
			    "unknown host '%s' in key '%s' (known: %s)", host,
			    op->key, hosts);
			goto done;
		}
		if ((found = get(s, t, s->state, op->key, strlen(op->key), &v,
		    err)) == -1)
			goto done;
		if (found == 0 && to_value(&v, &olds[n], err) == -1)
			goto done;
		if (op->value == NULL && found == 1) {
			error_set(err, ERR_FAIL, "%s: not found", op->key);
			goto done;
		}
		if (op->value != NULL && value_equal(olds[n], op->value)) {
			value_free(olds[n]);
			olds[n] = NULL;
			continue;	/* already so: nothing to record */
		}
		ops[n].op = op->value ? COMMIT_SET : COMMIT_DEL;
		ops[n].key = op->key;
		ops[n].old = olds[n];
		ops[n].new = op->value;
		n++;
	}
	if (n == 0) {
		rc = 0;		/* nothing changed: no commit */
		goto done;
	}

	author_name(author, sizeof(author));
	in.rev = head + 1;
	in.parent = parent;
	in.author = author;
	in.node = s->node;
	in.time_ms = now_ms();
	in.message = ca->message ? ca->message : "";
	in.ops = ops;
	in.nops = n;
	if (commit_make(&in, ca->id, &raw, ca->hash, err) == -1)
		goto done;
	be64(k, in.rev);
	if (put(s, t, s->commits, k, 8, raw.data, raw.len, MDB_APPEND,
	    err) == -1)
		goto done;
	for (i = 0; i < n; i++)
		if (apply_op(s, t, in.rev, ops[i].key, ops[i].new, err) == -1)
			goto done;
	if (write_head(s, t, in.rev, ca->hash, err) == -1)
		goto done;
	ca->rev = in.rev;
	rc = 0;
done:
	if (olds != NULL)
		for (i = 0; i < c->n; i++)
			value_free(olds[i]);
	free(olds);
	free(ops);
	free(sorted);
	buf_free(&raw);
	change_free(rb);
	return rc;
}

/* Only the primary writes; a replica's refusal names the primary. */
static int
writable(struct store *s, struct error *err)
{
	char primary[STORE_NODE_MAX + 1];

	if (s->primary)
		return 0;
	if (store_primary_name(s, primary, sizeof(primary), NULL) == 0)
		return error_set(err, ERR_FAIL,
		    "%s is a replica: write on the primary, %s", s->node,
		    primary);
	return error_set(err, ERR_FAIL,
	    "%s is a replica: write on the primary (no primary known)",
	    s->node);
}

static int
commit_common(struct store *s, struct commit_arg *ca, uint64_t *rev,
    struct error *err)
{
	struct identity *id = NULL;
	int rc;

	if (writable(s, err) == -1)
		return -1;
	if (ca->message != NULL && strlen(ca->message) > STORE_MESSAGE_MAX)
		return error_set(err, ERR_INPUT,
		    "message too long (limit %d bytes)", STORE_MESSAGE_MAX);
	if (identity_load(s, &id, err) == -1)
		return -1;
	if (sodium_memcmp(identity_public(id), s->pk, STORE_PUBKEY_LEN) != 0) {
		identity_free(id);
		return error_set(err, ERR_FAIL, "%s/%s does not match %s",
		    s->dir, PUB_FILE, KEY_FILE);
	}
	ca->id = id;
	rc = with_write(s, write_commit, ca, err);
	identity_free(id);
	if (rc == 0)
		*rev = ca->rev;
	return rc;
}

int
store_commit(struct store *s, const struct change *c, const char *message,
    uint64_t *rev, struct error *err)
{
	struct commit_arg ca = { .c = c, .message = message };

	return commit_common(s, &ca, rev, err);
}

int
store_rollback(struct store *s, uint64_t to_rev, const char *message,
    uint64_t *rev, struct error *err)
{
	struct change empty = { 0 };
	struct commit_arg ca = { .c = &empty, .message = message,
	    .rollback_to = to_rev };
	char msg[64];
	uint64_t head;

	if (writable(s, err) == -1 || store_head(s, &head, NULL, err) == -1)
		return -1;
	if (to_rev == 0 || to_rev > head)
		return error_set(err, ERR_INPUT,
		    "cannot roll back to r%llu (head is r%llu)",
		    (unsigned long long)to_rev, (unsigned long long)head);
	if (message == NULL) {
		snprintf(msg, sizeof(msg), "rollback to r%llu",
		    (unsigned long long)to_rev);
		ca.message = msg;
	}
	return commit_common(s, &ca, rev, err);
}

/* ---- commits ------------------------------------------------------------ */

static int
raw_in_txn(struct store *s, MDB_txn *t, uint64_t rev, MDB_val *v,
    struct error *err)
{
	unsigned char k[8];
	int rc;

	be64(k, rev);
	if ((rc = get(s, t, s->commits, k, 8, v, err)) == 1)
		return error_set(err, ERR_FAIL, "no revision %llu",
		    (unsigned long long)rev);
	return rc;
}

int
store_commit_raw(struct store *s, uint64_t rev, struct buf *out,
    struct error *err)
{
	struct txn tx;
	MDB_val v;
	int rc;

	if (txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = raw_in_txn(s, tx.t, rev, &v, err);
	if (rc == 0 && buf_append(out, v.mv_data, v.mv_size) == -1)
		rc = error_errno(err, ERR_FAIL, "commit");
	txn_end(s, &tx);
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

static int
trusted_in_txn(struct store *s, MDB_txn *t, const unsigned char *pk,
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

int
store_trusts(struct store *s, const unsigned char pk[STORE_PUBKEY_LEN],
    char *name, size_t len)
{
	struct txn tx;
	int rc;

	if (txn_begin(s, 0, &tx, NULL) == -1)
		return 0;
	rc = trusted_in_txn(s, tx.t, pk, name, len);
	txn_end(s, &tx);
	return rc;
}

/*
 * Signature first, against a key this node trusts, and only then the
 * contents: nothing of an unauthenticated commit is decoded.
 */
static int
open_trusted(struct store *s, MDB_txn *t, const void *raw, size_t len,
    struct commit **out, struct error *err)
{
	unsigned char signer[STORE_PUBKEY_LEN], hash[STORE_HASH_LEN];
	char text[STORE_KEYTEXT_LEN];

	if (commit_envelope(raw, len, signer, hash, err) == -1)
		return -1;
	if (!trusted_in_txn(s, t, signer, NULL, 0)) {
		pubkey_to_text(signer, text);
		return error_set(err, ERR_INPUT, "signed by untrusted key %s",
		    text);
	}
	return commit_parse(raw, len, out, err);
}

/* ---- replication -------------------------------------------------------- */

struct apply_arg {
	const struct store_raw	*raws;
	size_t			 n;
	size_t			 applied;
	enum store_apply_result	 res;
};

/* Applies one received commit at the head, or says why not. */
static int
apply_one(struct store *s, MDB_txn *t, const struct store_raw *r,
    enum store_apply_result *res, struct error *err)
{
	struct commit *c = NULL;
	unsigned char head_hash[STORE_HASH_LEN], k[8];
	uint64_t head, rev;
	MDB_val v;
	int rc = -1;

	*res = APPLY_REJECTED;
	if (read_head(s, t, &head, head_hash, err) == -1)
		return -1;
	if (open_trusted(s, t, r->data, r->len, &c, err) == -1)
		return 0;
	rev = commit_rev(c);
	if (rev <= head) {
		if (raw_in_txn(s, t, rev, &v, err) == -1)
			goto done;
		if (v.mv_size == r->len && memcmp(v.mv_data, r->data,
		    r->len) == 0)
			*res = APPLY_DUPLICATE;
		else {
			*res = APPLY_DIVERGED;
			error_set(err, ERR_FAIL, "r%llu differs from the r%llu "
			    "held here: histories diverged",
			    (unsigned long long)rev, (unsigned long long)rev);
		}
		rc = 0;
		goto done;
	}
	if (rev > head + 1) {
		*res = APPLY_GAP;
		error_set(err, ERR_FAIL, "got r%llu, head is r%llu",
		    (unsigned long long)rev, (unsigned long long)head);
		rc = 0;
		goto done;
	}
	if (sodium_memcmp(commit_parent(c), head_hash, STORE_HASH_LEN) != 0) {
		*res = APPLY_DIVERGED;
		error_set(err, ERR_FAIL, "r%llu does not extend r%llu "
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
		if ((found = get(s, t, s->state, key, strlen(key), &v,
		    err)) == -1 || (found == 0 && to_value(&v, &cur, err) == -1))
			goto done;
		same = value_equal(cur, old);
		value_free(cur);
		if (!same) {
			*res = APPLY_DIVERGED;
			error_set(err, ERR_FAIL, "r%llu: old value of %s "
			    "differs from this node's: histories diverged",
			    (unsigned long long)rev, key);
		rc = 0;
			goto done;
		}
		if (apply_op(s, t, rev, key, new, err) == -1)
			goto done;
	}
	be64(k, rev);
	if (put(s, t, s->commits, k, 8, r->data, r->len, MDB_APPEND,
	    err) == -1 || write_head(s, t, rev, commit_hash(c), err) == -1)
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

	aa->applied = 0;
	aa->res = APPLY_OK;
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

	if (s->primary)
		return error_set(err, ERR_FAIL,
		    "%s is the primary: it takes no commits from peers",
		    s->node);
	error_clear(err);
	if (with_write(s, write_apply, &aa, err) == -1)
		return -1;
	*applied = aa.applied;
	*res = aa.res;
	return 0;
}

/* ---- history ------------------------------------------------------------ */

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
	if ((ra = get_at(da->s, da->t, key, da->a, &va, da->err)) == -1 ||
	    (rb = get_at(da->s, da->t, key, da->b, &vb, da->err)) == -1)
		return da->failed = 1, -1;
	if (ra == rb && (ra == 1 || (va.mv_size == vb.mv_size &&
	    memcmp(va.mv_data, vb.mv_data, va.mv_size) == 0)))
		return 0;
	if ((ra == 0 && to_value(&va, &old, da->err) == -1) ||
	    (rb == 0 && to_value(&vb, &new, da->err) == -1))
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
static int
diff_in_txn(struct store *s, MDB_txn *t, uint64_t a, uint64_t b,
    store_diff_fn fn, void *arg, struct error *err)
{
	struct diff_arg da = { s, t, a, b, fn, arg, err, 0 };
	MDB_cursor *c;
	MDB_val k, v;
	char key[STORE_KEY_MAX + 2];
	int rc, stop = 0;

	if (rev_check(s, t, a, err) == -1 || rev_check(s, t, b, err) == -1)
		return -1;
	if ((rc = mdb_cursor_open(t, s->history, &c)) != 0)
		return lmdb_fail(s, err, rc, "cursor");
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
		return lmdb_fail(s, err, rc, "read history");
	return stop;
}

int
store_diff(struct store *s, uint64_t a, uint64_t b, store_diff_fn fn,
    void *arg, struct error *err)
{
	struct txn tx;
	int rc;

	if (txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = diff_in_txn(s, tx.t, a, b, fn, arg, err);
	txn_end(s, &tx);
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
	if (txn_begin(s, 0, &tx, err) == -1)
		return -1;
	if ((rc = mdb_cursor_open(tx.t, s->history, &c)) != 0) {
		txn_end(s, &tx);
		return lmdb_fail(s, err, rc, "cursor");
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
	txn_end(s, &tx);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_fail(s, err, rc, "read history");
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
static int
verify_commits(struct store *s, MDB_txn *t, uint64_t head,
    const unsigned char head_hash[STORE_HASH_LEN], size_t *nops,
    uint64_t *bad, struct error *err)
{
	unsigned char prev[STORE_HASH_LEN] = { 0 }, hk[STORE_KEY_MAX + 9];
	struct commit *c = NULL;
	MDB_val raw, v;
	uint64_t rev;

	*nops = 0;
	for (rev = 1; rev <= head; rev++) {
		*bad = rev;
		if (raw_in_txn(s, t, rev, &raw, err) == -1)
			return -1;
		if (open_trusted(s, t, raw.mv_data, raw.mv_size, &c, err) == -1)
			return error_wrap(err, "r%llu", (unsigned long long)rev);
		if (commit_rev(c) != rev) {
			error_set(err, ERR_FAIL, "r%llu: record says r%llu",
			    (unsigned long long)rev,
			    (unsigned long long)commit_rev(c));
			goto fail;
		}
		if (sodium_memcmp(commit_parent(c), prev, STORE_HASH_LEN)) {
			error_set(err, ERR_FAIL, "r%llu: parent hash does not "
			    "match r%llu", (unsigned long long)rev,
			    (unsigned long long)rev - 1);
			goto fail;
		}
		for (size_t i = 0; i < commit_op_count(c); i++) {
			const struct value *old, *new;
			const void *enc = "\xc0";
			const char *key;
			size_t len = 1;
			int found;

			commit_op(c, i, NULL, &key, &old, &new);
			found = get_at(s, t, key, rev - 1, &v, err);
			if (found == -1)
				goto fail;
			if (old != NULL)
				enc = value_encoded(old, &len);
			if (old == NULL ? found == 0 : (found == 1 ||
			    len != v.mv_size || memcmp(enc, v.mv_data, len))) {
				error_set(err, ERR_FAIL, "r%llu: old value of "
				    "%s does not match the history",
				    (unsigned long long)rev, key);
				goto fail;
			}
			enc = "\xc0";
			len = 1;
			if (new != NULL)
				enc = value_encoded(new, &len);
			if (get(s, t, s->history, hk, hkey(hk, key, rev), &v,
			    err) != 0 || v.mv_size != len ||
			    memcmp(v.mv_data, enc, len) != 0) {
				error_set(err, ERR_FAIL, "r%llu: index entry "
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
	*bad = 0;
	if (sodium_memcmp(prev, head_hash, STORE_HASH_LEN) != 0)
		return error_set(err, ERR_FAIL, "head hash does not match r%llu",
		    (unsigned long long)head);
	return 0;
fail:
	commit_free(c);
	return -1;
}

static int
verify_index(struct store *s, MDB_txn *t, size_t nops, struct error *err)
{
	MDB_cursor *c;
	MDB_val k, v, sv;
	size_t entries = 0, live = 0;
	MDB_stat st;
	int rc;

	if ((rc = mdb_cursor_open(t, s->history, &c)) != 0)
		return lmdb_fail(s, err, rc, "cursor");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		size_t klen = strnlen(k.mv_data, k.mv_size);
		MDB_val nk, nv;
		int last, found;
		char key[STORE_KEY_MAX + 1];

		entries++;
		if (klen > STORE_KEY_MAX || k.mv_size != klen + 9)
			break;
		/* Is this the key's last entry? */
		rc = mdb_cursor_get(c, &nk, &nv, MDB_NEXT);
		last = rc != 0 || nk.mv_size < klen + 1 ||
		    memcmp(nk.mv_data, k.mv_data, klen + 1) != 0;
		mdb_cursor_get(c, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
		if (!last)
			continue;
		memcpy(key, k.mv_data, klen);
		key[klen] = '\0';
		found = get(s, t, s->state, key, klen, &sv, err);
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
		mdb_cursor_close(c);
		return error_set(err, ERR_FAIL, "current value of %s does not "
		    "match the history", key);
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_fail(s, err, rc, "read history");
	if (entries != nops)
		return error_set(err, ERR_FAIL, "history index has %zu entries, "
		    "the commits make %zu", entries, nops);
	if ((rc = mdb_stat(t, s->state, &st)) != 0)
		return lmdb_fail(s, err, rc, "stat");
	if (st.ms_entries != live)
		return error_set(err, ERR_FAIL, "state has %zu keys, the history "
		    "makes %zu", (size_t)st.ms_entries, live);
	return 0;
}

int
store_verify(struct store *s, uint64_t *bad_rev, struct error *err)
{
	unsigned char hash[STORE_HASH_LEN];
	struct txn tx;
	uint64_t head;
	size_t nops;
	int rc;

	*bad_rev = 0;
	if (txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = read_head(s, tx.t, &head, hash, err);
	if (rc == 0)
		rc = verify_commits(s, tx.t, head, hash, &nops, bad_rev, err);
	if (rc == 0)
		rc = verify_index(s, tx.t, nops, err);
	txn_end(s, &tx);
	if (rc == -1 && err != NULL)
		err->code = ERR_FAIL;
	return rc;
}

/* ---- peers ---------------------------------------------------------------- */

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
	if (trusted_in_txn(s, t, p->pubkey, other, sizeof(other)) &&
	    strcmp(other, p->name) != 0)
		return error_set(err, ERR_INPUT, "that key is already %s's",
		    other);
	memcpy(v, p->addr, alen + 1);
	memcpy(v + alen + 1, p->pubkey, STORE_PUBKEY_LEN);
	return put(s, t, s->peers, p->name, strlen(p->name), v,
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
	return with_write(s, write_peer_add, &pa, err);
}

static int
write_peer_del(struct store *s, MDB_txn *t, void *arg, struct error *err)
{
	const char *name = ((struct peer_arg *)arg)->name;
	MDB_val v;
	int rc;

	if ((rc = get(s, t, s->peers, name, strlen(name), &v, err)) != 0)
		return rc == 1 ? error_set(err, ERR_FAIL, "no peer %s", name) :
		    -1;
	return del(s, t, s->peers, name, strlen(name), err);
}

int
store_peer_del(struct store *s, const char *name, struct error *err)
{
	struct peer_arg pa = { NULL, name };

	if (node_name_check(name, err) == -1)
		return -1;
	return with_write(s, write_peer_del, &pa, err);
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

	if (txn_begin(s, 0, &tx, err) == -1)
		return -1;
	if ((rc = mdb_cursor_open(tx.t, s->peers, &c)) != 0) {
		txn_end(s, &tx);
		return lmdb_fail(s, err, rc, "cursor");
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
	txn_end(s, &tx);
	if (rc != MDB_NOTFOUND) {
		free(list);
		return lmdb_fail(s, err, rc, "read peers");
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
	uint64_t head;
	size_t n = 0;

	if (s->primary) {
		snprintf(name, len, "%s", s->node);
		return 0;
	}
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
		return error_set(err, ERR_FAIL, "no primary known");
	return 0;
}

/* ---- local records ----------------------------------------------------- */

struct local_arg {
	const char	*name;
	const void	*p;
	size_t		 len;
};

static int
local_name_check(const char *name, struct error *err)
{
	size_t len = strlen(name);

	if (len == 0 || len > LOCAL_NAME_MAX)
		return error_set(err, ERR_INPUT, "local record name too long");
	return 0;
}

static int
write_local(struct store *s, MDB_txn *t, void *arg, struct error *err)
{
	struct local_arg *la = arg;

	if (la->p == NULL)
		return del(s, t, s->local, la->name, strlen(la->name), err);
	return put(s, t, s->local, la->name, strlen(la->name), la->p, la->len,
	    0, err);
}

int
store_local_put(struct store *s, const char *name, const void *p, size_t len,
    struct error *err)
{
	struct local_arg la = { name, p ? p : "", len };

	if (local_name_check(name, err) == -1)
		return -1;
	return with_write(s, write_local, &la, err);
}

int
store_local_del(struct store *s, const char *name, struct error *err)
{
	struct local_arg la = { name, NULL, 0 };

	if (local_name_check(name, err) == -1)
		return -1;
	return with_write(s, write_local, &la, err);
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
	if (txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = get(s, tx.t, s->local, name, strlen(name), &v, err);
	if (rc == 1)
		rc = error_set(err, ERR_FAIL, "%s: not found", name);
	else if (rc == 0 && buf_append(out, v.mv_data, v.mv_size) == -1)
		rc = error_errno(err, ERR_FAIL, "local record");
	txn_end(s, &tx);
	return rc;
}

int
store_local_each(struct store *s, const char *prefix, store_local_fn fn,
    void *arg, struct error *err)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	char name[LOCAL_NAME_MAX + 1];
	MDB_val k = { plen, (void *)prefix }, v;
	MDB_cursor *c;
	struct txn tx;
	int rc, stop = 0;

	if (txn_begin(s, 0, &tx, err) == -1)
		return -1;
	if ((rc = mdb_cursor_open(tx.t, s->local, &c)) != 0) {
		txn_end(s, &tx);
		return lmdb_fail(s, err, rc, "cursor");
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
	txn_end(s, &tx);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_fail(s, err, rc, "read local records");
	return stop;
}
