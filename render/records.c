/*
 * records.c - what this node remembers of its renders, in the store's
 * local records (never replicated):
 *
 *	render.file:PATH	{rev, hash: [HASH, HASH?]}  see struct frec
 *	render.pending:NAME	{rev}	NAME's files are in place but it has
 *					not restarted: a render killed then
 *					restarts NAME the next time
 *	render.service:NAME	{rev, time_ms, outcome, message}  its last
 *					render
 *	render.unchecked:PATH	{hash}	PATH did not exist and was put there
 *					for a checker to read, before the
 *					check passed: a render killed then
 *					leaves it, and the next removes it
 *
 * Each value is a local record as docs/FORMAT.md defines them: a
 * msgpack map from field names to unsigned integers, strings or arrays
 * of strings, read with the bounded reader; fields a reader does not
 * know are skipped.  Records of the older text form ("REV HASH [HASH]",
 * "HASH") are still read; old render.service records are skipped by
 * status until the next render of the service rewrites them.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "compat.h"
#include "manifest.h"
#include "mpread.h"
#include "records.h"

#define REC_FILE	"render.file:"
#define REC_PENDING	"render.pending:"
#define REC_SERVICE	"render.service:"
#define REC_UNCHECKED	"render.unchecked:"

/*
 * The record's name, checked against the store's limit here: a batch
 * with one bad name would be refused whole when written.
 */
static int
rec_name(char *name, size_t len, const char *prefix, const char *what)
{
	size_t n = (size_t)snprintf(name, len, "%s%s", prefix, what);

	return n < len && n <= STORE_LOCAL_NAME_MAX ? 0 : -1;
}

/* Adds "name = p" (p NULL: delete name) to b; the batch copies both. */
static int
batch_push(struct rec_batch *b, const char *name, const void *p, size_t len,
    struct error *err)
{
	struct store_local_rec *r;
	char *n = NULL;
	void *v = NULL;

	if ((r = reallocarray(b->r, b->n + 1, sizeof(*r))) == NULL)
		return error_set(err, ERR_FAIL, "out of memory");
	b->r = r;
	if ((n = strdup(name)) == NULL ||
	    (p != NULL && (v = malloc(len ? len : 1)) == NULL)) {
		free(n);
		return error_set(err, ERR_FAIL, "out of memory");
	}
	if (p != NULL && len > 0)
		memcpy(v, p, len);
	r[b->n].name = n;
	r[b->n].p = v;
	r[b->n].len = len;
	b->n++;
	return 0;
}

/* Writes the one record b holds now. */
static int
write_one(struct store *s, struct rec_batch *b, int rc, struct error *err)
{
	if (rc == 0)
		rc = rec_batch_write(s, b, err);
	rec_batch_free(b);
	return rc;
}

/* ---- the encoding: a msgpack map of named fields -------------------- */

static int
pack_write(void *data, const char *p, size_t len)
{
	return buf_append(data, p, len);
}

static void
pack_key(msgpack_packer *pk, const char *key)
{
	msgpack_pack_str_with_body(pk, key, strlen(key));
}

static void
pack_uint(msgpack_packer *pk, const char *key, uint64_t v)
{
	pack_key(pk, key);
	msgpack_pack_uint64(pk, v);
}

static void
pack_str(msgpack_packer *pk, const char *key, const char *v)
{
	pack_key(pk, key);
	msgpack_pack_str_with_body(pk, v, strlen(v));
}

/* Adds b's bytes under name to the batch; b is freed. */
static int
push_packed(struct rec_batch *batch, const char *name, struct buf *b,
    struct error *err)
{
	int rc;

	if (b->data == NULL)
		rc = error_set(err, ERR_FAIL, "out of memory");
	else
		rc = batch_push(batch, name, b->data, b->len, err);
	buf_free(b);
	return rc;
}

/*
 * Calls fn for each field of the record at p: fn reads the value (or
 * leaves it, for mpr_skip).  -1 when p is not such a map.
 */
typedef int (*field_fn)(void *arg, const char *key, uint32_t klen,
	    struct mpr *m);

static int
fields_read(const void *p, size_t len, field_fn fn, void *arg)
{
	struct mpr m;
	const char *k;
	const unsigned char *at;
	uint32_t n, klen;

	mpr_init(&m, p, len);
	if (mpr_map(&m, &n) == -1)
		return -1;
	while (n-- > 0) {
		if (mpr_str(&m, &k, &klen) == -1)
			return -1;
		at = m.p;
		if (fn(arg, k, klen, &m) == -1)
			return -1;
		if (m.p == at && mpr_skip(&m) == -1)	/* not read: unknown */
			return -1;
	}
	return mpr_left(&m) == 0 ? 0 : -1;
}

static int
key_is(const char *k, uint32_t klen, const char *want)
{
	return klen == strlen(want) && memcmp(k, want, klen) == 0;
}

/* A string field into buf (NUL-terminated); -1 when it does not fit. */
static int
str_field(struct mpr *m, char *buf, size_t len)
{
	const char *s;
	uint32_t n;

	if (mpr_str(m, &s, &n) == -1 || n >= len)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

static int
hash_ok(const char *h)
{
	return strlen(h) == INSTALL_HASH_HEX - 1;
}

static int
frec_field(void *arg, const char *k, uint32_t klen, struct mpr *m)
{
	struct frec *r = arg;
	uint32_t n, i;

	if (key_is(k, klen, "rev"))
		return mpr_uint(m, &r->rev);
	if (!key_is(k, klen, "hash"))
		return 0;
	if (mpr_array(m, &n) == -1 || n < 1 || n > 2)
		return -1;
	for (i = 0; i < n; i++)
		if (str_field(m, r->hash[i], sizeof(r->hash[i])) == -1 ||
		    !hash_ok(r->hash[i]))
			return -1;
	r->n = (int)n;
	return 0;
}

/* A render.file record into *r; n = 0 when it does not read so. */
static void
frec_parse(const void *p, size_t len, struct frec *r)
{
	unsigned long long rev = 0;
	char text[2 * INSTALL_HASH_HEX + 32];
	int n;

	memset(r, 0, sizeof(*r));
	if (p == NULL)
		return;
	if (fields_read(p, len, frec_field, r) == 0) {
		if (r->n == 0)
			memset(r, 0, sizeof(*r));
		return;
	}
	/* The older text form: "REV HASH [HASH]". */
	memset(r, 0, sizeof(*r));
	snprintf(text, sizeof(text), "%.*s", (int)len, (const char *)p);
	n = sscanf(text, "%llu %64s %64s", &rev, r->hash[0], r->hash[1]);
	r->rev = rev;
	r->n = n - 1;
	if (r->n < 1 || !hash_ok(r->hash[0]) ||
	    (r->n == 2 && !hash_ok(r->hash[1])))
		memset(r, 0, sizeof(*r));	/* unreadable: as if none */
}

void
rec_file_get(struct store *s, const char *dest, struct frec *r)
{
	char name[PATH_MAX + 32];
	struct buf b = { 0 };
	struct error e;

	memset(r, 0, sizeof(*r));
	if (rec_name(name, sizeof(name), REC_FILE, dest) == -1 ||
	    store_local_get(s, name, &b, &e) == -1)
		return;
	frec_parse(b.data, b.len, r);
	buf_free(&b);
}

int
rec_file_add(struct rec_batch *b, const char *dest, const struct frec *r,
    struct error *err)
{
	char name[PATH_MAX + 32];
	struct buf v = { 0 };
	msgpack_packer pk;
	int i;

	if (rec_name(name, sizeof(name), REC_FILE, dest) == -1)
		return error_set(err, ERR_FAIL, "path too long: %s", dest);
	if (r->n == 0)
		return batch_push(b, name, NULL, 0, err);
	msgpack_packer_init(&pk, &v, pack_write);
	msgpack_pack_map(&pk, 2);
	pack_uint(&pk, "rev", r->rev);
	pack_key(&pk, "hash");
	msgpack_pack_array(&pk, (size_t)r->n);
	for (i = 0; i < r->n; i++)
		msgpack_pack_str_with_body(&pk, r->hash[i],
		    strlen(r->hash[i]));
	return push_packed(b, name, &v, err);
}

void
frec_one(struct frec *r, uint64_t rev, const char *hash)
{
	memset(r, 0, sizeof(*r));
	r->rev = rev;
	r->n = 1;
	strlcpy(r->hash[0], hash, sizeof(r->hash[0]));
}

int
rec_pending(struct store *s, const char *service)
{
	char name[STORE_KEY_MAX + 32];
	struct buf b = { 0 };
	struct error e;
	int rc;

	rec_name(name, sizeof(name), REC_PENDING, service);
	rc = store_local_get(s, name, &b, &e) == 0;
	buf_free(&b);
	return rc;
}

int
rec_pending_add(struct rec_batch *b, const char *service, uint64_t rev,
    int on, struct error *err)
{
	char name[STORE_KEY_MAX + 32];
	struct buf v = { 0 };
	msgpack_packer pk;

	rec_name(name, sizeof(name), REC_PENDING, service);
	if (!on)
		return batch_push(b, name, NULL, 0, err);
	msgpack_packer_init(&pk, &v, pack_write);
	msgpack_pack_map(&pk, 1);
	pack_uint(&pk, "rev", rev);
	return push_packed(b, name, &v, err);
}

int
rec_unchecked_add(struct rec_batch *b, const char *dest, const char *hash,
    struct error *err)
{
	char name[PATH_MAX + 32];
	struct buf v = { 0 };
	msgpack_packer pk;

	if (rec_name(name, sizeof(name), REC_UNCHECKED, dest) == -1)
		return error_set(err, ERR_FAIL, "path too long: %s", dest);
	if (hash == NULL)
		return batch_push(b, name, NULL, 0, err);
	msgpack_packer_init(&pk, &v, pack_write);
	msgpack_pack_map(&pk, 1);
	pack_str(&pk, "hash", hash);
	return push_packed(b, name, &v, err);
}

int
rec_unchecked_set(struct store *s, const char *dest, const char *hash,
    struct error *err)
{
	struct rec_batch b = { NULL, 0 };

	return write_one(s, &b, rec_unchecked_add(&b, dest, hash, err), err);
}

struct unchecked {
	char	**v;		/* "PATH\0HASH" */
	size_t	  n;
	int	  nomem;
};

static int
hash_field(void *arg, const char *k, uint32_t klen, struct mpr *m)
{
	if (!key_is(k, klen, "hash"))
		return 0;
	return str_field(m, arg, INSTALL_HASH_HEX);
}

static int
unchecked_visit(void *arg, const char *name, const void *p, size_t len)
{
	struct unchecked *u = arg;
	const char *path = name + strlen(REC_UNCHECKED);
	char **v, *item, hash[INSTALL_HASH_HEX] = "";

	/* The older form is the hash alone. */
	if (fields_read(p, len, hash_field, hash) == -1)
		snprintf(hash, sizeof(hash), "%.*s", (int)len,
		    (const char *)p);
	if ((v = reallocarray(u->v, u->n + 1, sizeof(*v))) == NULL ||
	    asprintf(&item, "%s%c%s", path, '\0', hash) == -1) {
		if (v != NULL)
			u->v = v;
		u->nomem = 1;
		return 1;
	}
	u->v = v;
	u->v[u->n++] = item;
	return 0;
}

int
rec_unchecked_recover(struct store *s, struct error *err)
{
	struct unchecked u = { NULL, 0, 0 };
	struct fstate st, none = { 0 };
	char now[INSTALL_HASH_HEX];
	const char *path, *hash;
	struct error e;
	size_t i;
	int rc = 0;

	/* Collected first: no writes while the walk holds its transaction. */
	if (store_local_each(s, REC_UNCHECKED, unchecked_visit, &u, err) == -1)
		return -1;
	if (u.nomem)
		rc = error_set(err, ERR_FAIL, "out of memory");
	for (i = 0; i < u.n; i++) {
		path = u.v[i];
		hash = path + strlen(path) + 1;
		if (install_stat(path, MANIFEST_FILE_MAX, &st, &e) == 0 &&
		    st.exists) {
			install_hash(st.bytes.data, st.bytes.len, now);
			/* Someone else's file now: not ours to remove. */
			if (strcmp(now, hash) == 0 &&
			    install_restore(path, &none, &e) == -1) {
				install_stat_clear(&st);
				if (rc == 0)
					*err = e;
				rc = -1;
				continue;	/* the record stays: next time */
			}
		}
		install_stat_clear(&st);
		if (rec_unchecked_set(s, path, NULL, &e) == -1 && rc == 0) {
			*err = e;
			rc = -1;
		}
	}
	for (i = 0; i < u.n; i++)
		free(u.v[i]);
	free(u.v);
	return rc;
}

/* A render.service record, decoded. */
struct srec {
	uint64_t		 rev;
	uint64_t		 time_ms;
	enum render_outcome	 outcome;
	int			 has_outcome;
	char			 message[1024];
};

static int outcome_parse(const char *s, enum render_outcome *o);

static int
srec_field(void *arg, const char *k, uint32_t klen, struct mpr *m)
{
	struct srec *r = arg;
	char word[32];
	const char *str;
	uint32_t n;

	if (key_is(k, klen, "rev"))
		return mpr_uint(m, &r->rev);
	if (key_is(k, klen, "time_ms"))
		return mpr_uint(m, &r->time_ms);
	if (key_is(k, klen, "outcome")) {
		if (str_field(m, word, sizeof(word)) == -1 ||
		    outcome_parse(word, &r->outcome) == -1)
			return -1;
		r->has_outcome = 1;
		return 0;
	}
	if (key_is(k, klen, "message")) {
		/* A long message is cut, not refused. */
		if (mpr_str(m, &str, &n) == -1)
			return -1;
		snprintf(r->message, sizeof(r->message), "%.*s", (int)n, str);
	}
	return 0;
}

/* 0 when p is a service record with an outcome. */
static int
srec_parse(const void *p, size_t len, struct srec *r)
{
	memset(r, 0, sizeof(*r));
	return p != NULL && fields_read(p, len, srec_field, r) == 0 &&
	    r->has_outcome ? 0 : -1;
}

int
rec_service_add(struct rec_batch *b, struct store *s, const char *service,
    uint64_t rev, enum render_outcome outcome, const char *msg,
    struct error *err)
{
	char name[STORE_KEY_MAX + 32];
	struct buf v = { 0 }, old = { 0 };
	struct timespec ts;
	struct error e;
	struct srec was;
	msgpack_packer pk;
	int rc = 0;

	if (msg == NULL)
		msg = "";
	if (rec_name(name, sizeof(name), REC_SERVICE, service) == -1)
		return error_set(err, ERR_FAIL, "service name too long: %s",
		    service);
	if (store_local_get(s, name, &old, &e) == 0 &&
	    srec_parse(old.data, old.len, &was) == 0) {
		/*
		 * A failed check or restart stays in status until a render
		 * of the service succeeds: a later render that finds nothing
		 * to do ("unchanged") does not hide it.
		 */
		if (outcome == RENDER_UNCHANGED &&
		    (was.outcome == RENDER_CHECK_FAILED ||
		    was.outcome == RENDER_RESTART_FAILED))
			goto done;
		if (was.rev == rev && was.outcome == outcome &&
		    strncmp(was.message, msg, sizeof(was.message) - 1) == 0)
			goto done;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	msgpack_packer_init(&pk, &v, pack_write);
	msgpack_pack_map(&pk, 4);
	pack_uint(&pk, "rev", rev);
	pack_uint(&pk, "time_ms", (uint64_t)ts.tv_sec * 1000 +
	    (uint64_t)ts.tv_nsec / 1000000);
	pack_str(&pk, "outcome", render_outcome_name(outcome));
	pack_str(&pk, "message", msg);
	rc = push_packed(b, name, &v, err);
done:
	buf_free(&old);
	buf_free(&v);
	return rc;
}

int
rec_batch_write(struct store *s, struct rec_batch *b, struct error *err)
{
	return store_local_put_many(s, b->r, b->n, err);
}

void
rec_batch_free(struct rec_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(UNCONST(b->r[i].name));
		free(UNCONST(b->r[i].p));
	}
	free(b->r);
	b->r = NULL;
	b->n = 0;
}

/* ---- status ---------------------------------------------------------- */

static int
outcome_parse(const char *s, enum render_outcome *o)
{
	int i;

	for (i = RENDER_UNCHANGED; i <= RENDER_ERROR; i++)
		if (strcmp(s, render_outcome_name(i)) == 0) {
			*o = (enum render_outcome)i;
			return 0;
		}
	return -1;
}

struct status_walk {
	render_status_fn fn;
	void		*arg;
	int		 rc;
};

static int
status_visit(void *arg, const char *name, const void *p, size_t len)
{
	struct status_walk *sw = arg;
	struct render_status st;
	struct srec r;

	if (srec_parse(p, len, &r) == -1)
		return 0;	/* not ours to judge, or older: skip */
	st.service = name + strlen(REC_SERVICE);
	st.rev = r.rev;
	st.time_ms = r.time_ms;
	st.outcome = r.outcome;
	st.message = r.message;
	sw->rc = sw->fn(sw->arg, &st);
	return sw->rc;
}

int
render_status_each(struct store *s, render_status_fn fn, void *arg,
    struct error *err)
{
	struct status_walk sw = { fn, arg, 0 };
	int rc;

	rc = store_local_each(s, REC_SERVICE, status_visit, &sw, err);
	if (rc == -1 && sw.rc == 0)
		return -1;
	return sw.rc;
}

/* ---- installed files, for status --------------------------------------- */

static const char *const file_state_names[] = {
	[RENDER_FILE_OK] = "ok",
	[RENDER_FILE_DRIFTED] = "drifted",
	[RENDER_FILE_MISSING] = "missing",
	[RENDER_FILE_UNREADABLE] = "unreadable",
};

const char *
render_file_state_name(enum render_file_state st)
{
	if ((size_t)st < sizeof(file_state_names) / sizeof(file_state_names[0]))
		return file_state_names[st];
	return "?";
}

struct files_walk {
	render_file_fn	 fn;
	void		*arg;
	int		 rc;
};

static int
files_visit(void *arg, const char *name, const void *p, size_t len)
{
	struct files_walk *fw = arg;
	struct render_file_status st;
	struct fstate fs;
	struct error e;
	struct frec r;
	char now[INSTALL_HASH_HEX];

	frec_parse(p, len, &r);
	if (r.n == 0)
		return 0;	/* not ours to judge: skip */
	memset(&st, 0, sizeof(st));
	st.path = name + strlen(REC_FILE);
	st.rev = r.rev;
	/* What is on disk now against what cfgstore wrote there. */
	if (install_stat(st.path, MANIFEST_FILE_MAX, &fs, &e) == -1) {
		st.state = RENDER_FILE_UNREADABLE;
		st.why = e.msg;
	} else if (!fs.exists)
		st.state = RENDER_FILE_MISSING;
	else {
		install_hash(fs.bytes.data, fs.bytes.len, now);
		st.state = strcmp(now, r.hash[0]) == 0 || (r.n == 2 &&
		    strcmp(now, r.hash[1]) == 0) ? RENDER_FILE_OK :
		    RENDER_FILE_DRIFTED;
	}
	install_stat_clear(&fs);
	fw->rc = fw->fn(fw->arg, &st);
	return fw->rc;
}

int
render_files_each(struct store *s, render_file_fn fn, void *arg,
    struct error *err)
{
	struct files_walk fw = { fn, arg, 0 };
	int rc;

	rc = store_local_each(s, REC_FILE, files_visit, &fw, err);
	if (rc == -1 && fw.rc == 0)
		return -1;
	return fw.rc;
}
