/*
 * store.c - the LMDB environment: opening, transactions, the plumbing.
 *
 * One environment in the store directory holds every table (docs/STORE.md):
 * meta, commits, state, history (the per-revision index), peers, local.
 * Every write is one LMDB transaction, so a commit, its index entries and
 * the new head land together or not at all.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sodium.h>

#include "compat.h"
#include "db.h"
#include "lockfile.h"

#define MAP_SIZE_MIN	(64ull << 20)	/* grows by doubling */
/* With MDB_WRITEMAP every byte of the map is reserved on disk: start small. */
#define MAP_SIZE_MIN_WRITEMAP	(1ull << 20)
#define MAP_STEP_MIN	(64u << 10)	/* the least a full disk may grow it by */
#define FORMAT_VERSION	"1"

/*
 * Whether the store's file system is (all but) full.  LMDB reports a
 * write cut short by a full disk as EIO, which is also what a failing
 * disk says; less than a megabyte left tells the two apart.
 */
static int
disk_full(const struct store *s, int rc)
{
	struct statvfs sv;
	unsigned long long left;

	if (rc == ENOSPC || rc == EDQUOT)
		return 1;
	if (rc != EIO || s->dir == NULL || statvfs(s->dir, &sv) == -1)
		return 0;
	left = (unsigned long long)(geteuid() == 0 ? sv.f_bfree :
	    sv.f_bavail) * sv.f_frsize;
	return left < (1u << 20);
}

int
db_fail(struct store *s, struct error *err, int rc, const char *what)
{
	if (rc == MDB_MAP_FULL)
		s->map_full = 1;
	if (disk_full(s, rc))
		return error_set(err, ERR_DISKFULL, "%s: the disk of %s is full "
		    "(%s); nothing was written", what, s->dir, strerror(ENOSPC));
	return error_set(err, ERR_FAIL, "%s: %s", what, mdb_strerror(rc));
}

/* An flock(2) on the store's write.lock: a descriptor, or -1 with err. */
static int
lock_file(struct store *s, int excl, struct error *err)
{
	return lockfile_take(s->lockpath, excl, err);
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
	if ((tx->lockfd = lock_file(s, write, err)) == -1)
		return -1;
	return 0;
}

/*
 * With MDB_WRITEMAP, LMDB truncates data.mdb to the map size of every
 * process that maps it.  A process mapping it smaller than another one's
 * map would cut off pages that one is writing (SIGBUS), so a map never
 * shrinks the file: an existing file is mapped at its own size, and
 * growing it (exclusive) and mapping it (shared) take turns on write.lock.
 * Without MDB_WRITEMAP the file only grows as pages are used; no lock.
 */
static int
map_lock(struct store *s, int excl, struct error *err)
{
	if (!s->writemap)
		return -2;
	return lock_file(s, excl, err);
}

static void
map_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* The data file's size, 0 when unknown. */
static size_t
data_size(struct store *s)
{
	struct stat st;
	int fd;

	if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &st) == -1)
		return 0;
	return (size_t)st.st_size;
}

void
db_txn_end(struct store *s, struct txn *tx)
{
	if (tx->t != NULL)
		mdb_txn_abort(tx->t);
	tx->t = NULL;
	if (tx->lockfd != -1)
		close(tx->lockfd);
	tx->lockfd = -1;
	pthread_rwlock_unlock(&s->resize);
}

/*
 * The size another process grew the map to: the one in LMDB's meta page,
 * or with MDB_WRITEMAP the data file's, which is at least that (and
 * larger while the grower has not committed yet).
 */
static int
adopt_map(struct store *s, struct error *err)
{
	MDB_envinfo info;
	size_t size = 0;
	int fd, rc;

	pthread_rwlock_wrlock(&s->resize);
	if ((fd = map_lock(s, 0, err)) == -1) {
		pthread_rwlock_unlock(&s->resize);
		return -1;
	}
	mdb_env_info(s->env, &info);
	if (s->writemap && data_size(s) > info.me_mapsize)
		size = data_size(s);
	rc = mdb_env_set_mapsize(s->env, size);
	map_unlock(fd);
	pthread_rwlock_unlock(&s->resize);
	if (rc != 0)
		return db_fail(s, err, rc, "adopt map size");
	return 0;
}

int
db_txn_begin(struct store *s, int write, struct txn *tx, struct error *err)
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
		db_txn_end(s, tx);
		if (rc != MDB_MAP_RESIZED)
			return db_fail(s, err, rc, "begin transaction");
		/* Another process grew the map: adopt its size. */
		if (adopt_map(s, err) == -1)
			return -1;
	}
}

static int
db_txn_commit(struct store *s, struct txn *tx, struct error *err)
{
	int rc = mdb_txn_commit(tx->t);

	tx->t = NULL;
	db_txn_end(s, tx);
	if (rc != 0)
		return db_fail(s, err, rc, "commit");
	return 0;
}

/*
 * With MDB_WRITEMAP, pages are written through the map, where a full
 * disk is SIGBUS rather than an error: so the file's every byte gets its
 * disk blocks before the map covers it.  Grows the file from size to
 * want, or by as much less as the disk still holds (halving the step down
 * to MAP_STEP_MIN); returns the new size, or 0 when nothing fits.
 */
static size_t
reserve_map(struct store *s, size_t size, size_t want)
{
	size_t step = want - size;
	int fd;

	if (mdb_env_get_fd(s->env, &fd) != 0)
		return 0;
	for (; step >= MAP_STEP_MIN; step /= 2)
		if (reserve_space(fd, (off_t)size, (off_t)step) == 0)
			return size + step;
	return 0;
}

/*
 * The same for a file with holes in it (made before reservations, or
 * by a grower that died): under the write lock, the pages after the last
 * one in use are free, so they get their blocks (written, where that is
 * the only way) before a transaction writes into them.
 */
static int
reserve_holes(struct store *s, struct error *err)
{
	MDB_envinfo info;
	MDB_stat st;
	struct stat fs;
	off_t used;
	int fd, rc;

	if (!s->writemap || mdb_env_get_fd(s->env, &fd) != 0 ||
	    fstat(fd, &fs) == -1 || (off_t)fs.st_blocks * 512 >= fs.st_size)
		return 0;
	mdb_env_info(s->env, &info);
	mdb_env_stat(s->env, &st);
	used = (off_t)(info.me_last_pgno + 1) * st.ms_psize;
	if (used < fs.st_size &&
	    (rc = reserve_space(fd, used, fs.st_size - used)) != 0)
		return db_fail(s, err, rc, "reserve the map");
	return 0;
}

static int
grow_map(struct store *s, struct error *err)
{
	MDB_envinfo info;
	size_t size;
	int rc, fd;

	pthread_rwlock_wrlock(&s->resize);
	if ((fd = map_lock(s, 1, err)) == -1) {
		pthread_rwlock_unlock(&s->resize);
		return -1;
	}
	mdb_env_info(s->env, &info);
	size = info.me_mapsize * 2;
	/* Another process may have grown the file further already. */
	if (s->writemap && data_size(s) > size)
		size = data_size(s);
	else if (s->writemap)
		size = reserve_map(s, info.me_mapsize, size);
	rc = size == 0 ? ENOSPC : mdb_env_set_mapsize(s->env, size);
	map_unlock(fd);
	pthread_rwlock_unlock(&s->resize);
	if (rc != 0)
		return db_fail(s, err, rc, "grow map");
	return 0;
}

/*
 * Runs fn inside one write transaction and commits it.  When the map is
 * full the whole transaction is thrown away, the map doubled and fn run
 * again from scratch, so fn must only touch the transaction.
 */
int
db_write(struct store *s, db_write_fn fn, void *arg, struct error *err)
{
	struct txn tx;

	for (;;) {
		s->map_full = 0;
		if (db_txn_begin(s, 1, &tx, err) == -1)
			return -1;
		if (reserve_holes(s, err) == -1) {
			db_txn_end(s, &tx);
			return -1;
		}
		if (fn(s, tx.t, arg, err) == -1) {
			db_txn_end(s, &tx);
			if (!s->map_full)
				return -1;
		} else if (db_txn_commit(s, &tx, err) == 0)
			return 0;
		else if (!s->map_full)
			return -1;
		if (grow_map(s, err) == -1)
			return -1;
	}
}

int
db_put(struct store *s, MDB_txn *t, MDB_dbi db, const void *k, size_t klen,
    const void *v, size_t vlen, unsigned flags, struct error *err)
{
	MDB_val key = { klen, UNCONST(k) }, val = { vlen, UNCONST(v) };
	int rc = mdb_put(t, db, &key, &val, flags);

	if (rc != 0)
		return db_fail(s, err, rc, "write");
	return 0;
}

/* 0 found, 1 not found, -1 error. */
int
db_get(struct store *s, MDB_txn *t, MDB_dbi db, const void *k, size_t klen,
    MDB_val *out, struct error *err)
{
	MDB_val key = { klen, UNCONST(k) };
	int rc = mdb_get(t, db, &key, out);

	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc != 0)
		return db_fail(s, err, rc, "read");
	return 0;
}

int
db_del(struct store *s, MDB_txn *t, MDB_dbi db, const void *k, size_t klen,
    struct error *err)
{
	MDB_val key = { klen, UNCONST(k) };
	int rc = mdb_del(t, db, &key, NULL);

	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_fail(s, err, rc, "delete");
	return 0;
}

static int
meta_text(struct store *s, MDB_txn *t, const char *name, char *out,
    size_t len, struct error *err)
{
	MDB_val v;
	int rc = db_get(s, t, s->meta, name, strlen(name), &v, err);

	if (rc == -1)
		return -1;
	out[0] = '\0';
	if (rc == 0)
		snprintf(out, len, "%.*s", (int)v.mv_size, (char *)v.mv_data);
	return 0;
}

int
db_read_head(struct store *s, MDB_txn *t, uint64_t *rev,
    unsigned char hash[STORE_HASH_LEN], struct error *err)
{
	MDB_val v;
	int rc = db_get(s, t, s->meta, "head", 4, &v, err);

	if (rc == -1)
		return -1;
	if (rc == 1) {
		*rev = 0;
		if (hash != NULL)
			memset(hash, 0, STORE_HASH_LEN);
		return 0;
	}
	if (v.mv_size != 8 + STORE_HASH_LEN)
		return error_set(err, ERR_CORRUPT, "corrupt head record");
	*rev = get_be64(v.mv_data);
	if (hash != NULL)
		memcpy(hash, (unsigned char *)v.mv_data + 8, STORE_HASH_LEN);
	return 0;
}

int
db_write_head(struct store *s, MDB_txn *t, uint64_t rev,
    const unsigned char hash[STORE_HASH_LEN], struct error *err)
{
	unsigned char v[8 + STORE_HASH_LEN];

	be64(v, rev);
	memcpy(v + 8, hash, STORE_HASH_LEN);
	return db_put(s, t, s->meta, "head", 4, v, sizeof(v), 0, err);
}

/* The history key of (key, rev): key NUL rev. */
size_t
db_history_key(unsigned char *out, const char *key, uint64_t rev)
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
int
db_get_at(struct store *s, MDB_txn *t, const char *key, uint64_t rev,
    MDB_val *out, struct error *err)
{
	unsigned char k[STORE_KEY_MAX + 9];
	size_t klen = strlen(key);
	MDB_cursor *c;
	MDB_val ck, cv;
	uint64_t head = 0;
	int rc;

	if (db_read_head(s, t, &head, NULL, err) == -1)
		return -1;
	if (rev >= head)
		return db_get(s, t, s->state, key, klen, out, err);
	if (klen > STORE_KEY_MAX)
		return 1;
	ck.mv_size = db_history_key(k, key, rev + 1);
	ck.mv_data = k;
	if ((rc = mdb_cursor_open(t, s->history, &c)) != 0)
		return db_fail(s, err, rc, "cursor");
	rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
	if (rc == 0)
		rc = mdb_cursor_get(c, &ck, &cv, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(c, &ck, &cv, MDB_LAST);
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc != 0)
		return db_fail(s, err, rc, "read history");
	if (ck.mv_size != klen + 9 || memcmp(ck.mv_data, key, klen) != 0 ||
	    ((unsigned char *)ck.mv_data)[klen] != '\0')
		return 1;
	if (cv.mv_size == 1 && *(unsigned char *)cv.mv_data == 0xc0)
		return 1;	/* deleted as of then */
	*out = cv;
	return 0;
}

int
db_value(const MDB_val *v, struct value **out, struct error *err)
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
	    (rc = mdb_dbi_open(t, "local", create, &s->local)) != 0 ||
	    (rc = mdb_dbi_open(t, "epochs", create, &s->epochs)) != 0 ||
	    (rc = mdb_dbi_open(t, "diverged", create, &s->diverged)) != 0) {
		mdb_txn_abort(t);
		goto done;
	}
	rc = mdb_txn_commit(t);
done:
	if (tx.lockfd != -1)
		close(tx.lockfd);
	return rc;
}

/*
 * Only a new environment gets a map size from here.  An existing one
 * keeps the size LMDB recorded in it (mdb_env_open takes the meta page's
 * when none is set), or with MDB_WRITEMAP its file's size: anything else
 * would change the file on every open, which with MDB_WRITEMAP LMDB
 * truncates or extends to the map size.
 */
static int
open_env(struct store *s, int create, struct error *err)
{
	unsigned flags = MDB_NOTLS;
	char path[1024];
	struct stat st;
	size_t mapsize = 0;
	int rc, fd;

	s->own_locks = !lmdb_locks_are_robust();
	s->writemap = lmdb_needs_writemap();
	snprintf(s->lockpath, sizeof(s->lockpath), "%s/write.lock", s->dir);
	if (s->own_locks)
		flags |= MDB_NOLOCK;
	if (s->writemap)
		flags |= MDB_WRITEMAP;
	snprintf(path, sizeof(path), "%s/data.mdb", s->dir);
	if (!create && stat(path, &st) == -1)
		return error_set(err, ERR_NOSTORE,
		    "no store in %s (run 'cfgstore init' first)", s->dir);
	if ((fd = map_lock(s, 0, err)) == -1)
		return -1;
	if (stat(path, &st) == -1)
		mapsize = s->writemap ? MAP_SIZE_MIN_WRITEMAP : MAP_SIZE_MIN;
	else if (s->writemap)
		mapsize = (size_t)st.st_size;

	if ((rc = mdb_env_create(&s->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(s->env, 12)) != 0 ||
	    (mapsize != 0 &&
	    (rc = mdb_env_set_mapsize(s->env, mapsize)) != 0) ||
	    (rc = mdb_env_open(s->env, s->dir, flags, 0600)) != 0) {
		map_unlock(fd);
		return db_fail(s, err, rc, s->dir);
	}
	map_unlock(fd);
	/*
	 * LMDB opens the data file without O_CLOEXEC: a restarted service
	 * would inherit it.  The daemon opens the store before it starts
	 * any thread, so no spawn can come between.
	 */
	if (mdb_env_get_fd(s->env, &fd) == 0 && fd != -1)
		(void)fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
	if (!s->own_locks)
		mdb_reader_check(s->env, NULL);	/* slots of dead readers */

	/*
	 * A read transaction will do unless the tables are still to be made.
	 * A writer may have grown the map since mdb_env_open read its size.
	 */
	while ((rc = open_tables(s, create ? 0 : MDB_RDONLY)) ==
	    MDB_MAP_RESIZED)
		if (adopt_map(s, err) == -1)
			return -1;
	if (rc == MDB_NOTFOUND)
		rc = open_tables(s, 0);
	if (rc != 0)
		return db_fail(s, err, rc, "open tables");
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

	if (db_put(s, t, s->meta, "format", 6, FORMAT_VERSION, 1, 0, err) == -1 ||
	    db_put(s, t, s->meta, "node", 4, o->node, strlen(o->node), 0,
	    err) == -1 ||
	    db_put(s, t, s->meta, "primary", 7, o->primary ? "1" : "0", 1, 0,
	    err) == -1 ||
	    db_put(s, t, s->meta, "listen", 6, listen, strlen(listen), 0,
	    err) == -1)
		return -1;
	return 0;
}

/*
 * The files' contents are synced as they are written; their names, in
 * the directory, only when the directory is: else a crash after init
 * could lose node.key although init said it was made.
 */
static int
sync_dir(const char *dir, struct error *err)
{
	int fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return error_errno(err, ERR_FAIL, "%s", dir);
	rc = fsync(fd);
	if (rc == -1)
		error_errno(err, ERR_FAIL, "fsync %s", dir);
	close(fd);
	return rc;
}

/* 1 when dir is an empty directory; else -1 with err saying what it is. */
static int
dir_empty(const char *dir, struct error *err)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int empty = 1;

	if (stat(dir, &st) == -1)
		return error_errno(err, ERR_FAIL, "%s", dir);
	if (!S_ISDIR(st.st_mode))
		return error_set(err, ERR_INPUT, "%s is not a directory", dir);
	if ((d = opendir(dir)) == NULL)
		return error_errno(err, ERR_FAIL, "%s", dir);
	while (empty && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	if (!empty)
		return error_set(err, ERR_INPUT, "%s is not empty and holds no "
		    "store (init makes a new directory or takes an empty one)",
		    dir);
	return 1;
}

/*
 * What a failed init leaves: the files it makes in a directory that was
 * empty (or that it made, then removed too).  Nothing else was there.
 */
static void
init_undo(const char *dir, int made)
{
	static const char *const files[] = { "data.mdb", "lock.mdb",
	    "write.lock", KEY_FILE, PUB_FILE };
	char path[1024];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		(void)unlink(path);
	}
	if (made)
		(void)rmdir(dir);
}

int
store_init(const char *dir, const struct store_init_opts *o,
    struct error *err)
{
	return store_init_commit(dir, o, NULL, NULL, err);
}

int
store_init_commit(const char *dir, const struct store_init_opts *o,
    const struct change *first, const char *message, struct error *err)
{
	struct init_arg arg = { o };
	struct store *s;
	char path[1024];
	unsigned char pk[STORE_PUBKEY_LEN];
	uint64_t rev;
	int rc = -1, made = 0;

	if (sodium_init() < 0)
		return error_set(err, ERR_FAIL, "libsodium failed to start");
	if (node_name_check(o->node, err) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (access(path, F_OK) == 0)
		return error_set(err, ERR_EXISTS, "a store exists already in %s",
		    dir);
	/*
	 * A directory init makes, or an empty one (mktemp -d), becomes the
	 * store, 0700; one with other things in it is not init's to take
	 * over or to chmod.
	 */
	if (mkdir(dir, 0700) == 0)
		made = 1;
	else if (errno != EEXIST)
		return error_errno(err, ERR_FAIL, "mkdir %s", dir);
	else if (dir_empty(dir, err) != 1)
		return -1;
	if (chmod(dir, 0700) == -1)
		return error_errno(err, ERR_FAIL, "chmod %s", dir);
	if ((s = store_alloc(dir)) == NULL) {
		error_errno(err, ERR_FAIL, "store");
		goto done;
	}
	if (open_env(s, 1, err) == -1 ||
	    identity_create(dir, pk, err) == -1 ||
	    db_write(s, write_init, &arg, err) == -1)
		goto done;
	if (first != NULL) {
		snprintf(s->node, sizeof(s->node), "%s", o->node);
		s->primary = o->primary;
		memcpy(s->pk, pk, sizeof(s->pk));
		if (store_commit(s, first, message, &rev, err) == -1)
			goto done;
	}
	if (sync_dir(dir, err) == -1)
		goto done;
	/* A directory init made is a new name in its parent. */
	if (made) {
		snprintf(path, sizeof(path), "%s", dir);
		if (sync_dir(dirname(path), err) == -1)
			goto done;
	}
	rc = 0;
done:
	store_close(s);
	if (rc == -1)
		init_undo(dir, made);
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
	if (db_txn_begin(s, 0, &tx, err) == -1)
		goto fail;
	if (meta_text(s, tx.t, "node", s->node, sizeof(s->node), err) == -1 ||
	    meta_text(s, tx.t, "listen", s->listen, sizeof(s->listen),
	    err) == -1 ||
	    meta_text(s, tx.t, "primary", text, sizeof(text), err) == -1) {
		db_txn_end(s, &tx);
		goto fail;
	}
	db_txn_end(s, &tx);
	s->primary = strcmp(text, "1") == 0;
	if (s->node[0] == '\0') {
		error_set(err, ERR_NOSTORE, "%s: store not initialised", dir);
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

int
db_is_primary(struct store *s, MDB_txn *t, int *primary, struct error *err)
{
	char text[8];

	if (meta_text(s, t, "primary", text, sizeof(text), err) == -1)
		return -1;
	*primary = strcmp(text, "1") == 0;
	return 0;
}

int
store_refresh(struct store *s, struct error *err)
{
	struct txn tx;
	int rc, primary;

	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	if ((rc = db_is_primary(s, tx.t, &primary, err)) == 0)
		s->primary = primary;
	db_txn_end(s, &tx);
	return rc;
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

	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = db_read_head(s, tx.t, rev, hash, err);
	db_txn_end(s, &tx);
	return rc;
}

int
db_rev_check(struct store *s, MDB_txn *t, uint64_t rev, struct error *err)
{
	uint64_t head = 0;

	if (db_read_head(s, t, &head, NULL, err) == -1)
		return -1;
	if (rev > head)
		return error_set(err, ERR_NOREV, "no revision %llu (head is r%llu)",
		    (unsigned long long)rev, (unsigned long long)head);
	return 0;
}

/* The new commit's index and state updates, shared by commit and apply. */
int
db_apply_op(struct store *s, MDB_txn *t, uint64_t rev, const char *key,
    const struct value *new, struct error *err)
{
	unsigned char hk[STORE_KEY_MAX + 9];
	const void *enc = "\xc0";
	size_t len = 1;

	if (new != NULL)
		enc = value_encoded(new, &len);
	if (db_put(s, t, s->history, hk, db_history_key(hk, key, rev), enc, len, 0,
	    err) == -1)
		return -1;
	if (new == NULL)
		return db_del(s, t, s->state, key, strlen(key), err);
	return db_put(s, t, s->state, key, strlen(key), enc, len, 0, err);
}

int
db_commit_raw(struct store *s, MDB_txn *t, uint64_t rev, MDB_val *v,
    struct error *err)
{
	unsigned char k[8];
	int rc;

	be64(k, rev);
	if ((rc = db_get(s, t, s->commits, k, 8, v, err)) == 1)
		return error_set(err, ERR_NOREV, "no revision %llu",
		    (unsigned long long)rev);
	return rc;
}
