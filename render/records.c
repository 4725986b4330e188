/*
 * records.c - what this node remembers of its renders, in the store's
 * local records (never replicated):
 *
 *	render.file:PATH	"REV HASH [HASH]"	see struct frec
 *	render.pending:NAME	"REV"	NAME's files are in place but it has
 *					not restarted: a render killed then
 *					restarts NAME the next time
 *	render.service:NAME	"REV MS OUTCOME MESSAGE"	its last render
 *	render.unchecked:PATH	"HASH"	PATH did not exist and was put there
 *					for a checker to read, before the
 *					check passed: a render killed then
 *					leaves it, and the next removes it
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compat.h"
#include "manifest.h"
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

/* "REV HASH [HASH]" into *r; n = 0 when it does not read so. */
static void
frec_parse(const char *text, struct frec *r)
{
	unsigned long long rev = 0;
	int n;

	memset(r, 0, sizeof(*r));
	n = text == NULL ? 0 : sscanf(text, "%llu %64s %64s", &rev,
	    r->hash[0], r->hash[1]);
	r->rev = rev;
	r->n = n - 1;
	if (r->n < 1 || strlen(r->hash[0]) != INSTALL_HASH_HEX - 1 ||
	    (r->n == 2 && strlen(r->hash[1]) != INSTALL_HASH_HEX - 1))
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
	frec_parse(b.data, r);
	buf_free(&b);
}

int
rec_file_add(struct rec_batch *b, const char *dest, const struct frec *r,
    struct error *err)
{
	char name[PATH_MAX + 32], val[2 * INSTALL_HASH_HEX + 32];

	if (rec_name(name, sizeof(name), REC_FILE, dest) == -1)
		return error_set(err, ERR_FAIL, "path too long: %s", dest);
	if (r->n == 0)
		return batch_push(b, name, NULL, 0, err);
	snprintf(val, sizeof(val), "%llu %s%s%s", (unsigned long long)r->rev,
	    r->hash[0], r->n == 2 ? " " : "", r->n == 2 ? r->hash[1] : "");
	return batch_push(b, name, val, strlen(val), err);
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
	char name[STORE_KEY_MAX + 32], val[32];

	rec_name(name, sizeof(name), REC_PENDING, service);
	if (!on)
		return batch_push(b, name, NULL, 0, err);
	snprintf(val, sizeof(val), "%llu", (unsigned long long)rev);
	return batch_push(b, name, val, strlen(val), err);
}

int
rec_unchecked_add(struct rec_batch *b, const char *dest, const char *hash,
    struct error *err)
{
	char name[PATH_MAX + 32];

	if (rec_name(name, sizeof(name), REC_UNCHECKED, dest) == -1)
		return error_set(err, ERR_FAIL, "path too long: %s", dest);
	return batch_push(b, name, hash, hash != NULL ? strlen(hash) : 0, err);
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
unchecked_visit(void *arg, const char *name, const void *p, size_t len)
{
	struct unchecked *u = arg;
	const char *path = name + strlen(REC_UNCHECKED);
	char **v, *item;

	if ((v = reallocarray(u->v, u->n + 1, sizeof(*v))) == NULL ||
	    asprintf(&item, "%s%c%.*s", path, '\0', (int)len,
	    (const char *)p) == -1) {
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

/* What the record says after its time stamp: "OUTCOME MESSAGE". */
static const char *
rec_service_tail(const char *rec)
{
	const char *p = strchr(rec, ' ');

	return p != NULL && (p = strchr(p + 1, ' ')) != NULL ? p + 1 : "";
}

static int outcome_parse(const char *s, enum render_outcome *o);

/*
 * 1 when the record says a check or restart failed: such a failure stays
 * in status until a render of the service succeeds, so a later render
 * that finds nothing to do ("unchanged") does not hide it.
 */
static int
rec_says_failed(const char *rec)
{
	enum render_outcome o;
	char word[32];
	const char *tail = rec_service_tail(rec);

	if (sscanf(tail, "%31s", word) != 1 || outcome_parse(word, &o) == -1)
		return 0;
	return o == RENDER_CHECK_FAILED || o == RENDER_RESTART_FAILED;
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
	unsigned long long was;
	int rc = 0;

	if (msg == NULL)
		msg = "";
	if (rec_name(name, sizeof(name), REC_SERVICE, service) == -1)
		return error_set(err, ERR_FAIL, "service name too long: %s",
		    service);
	if (store_local_get(s, name, &old, &e) == 0 && old.data != NULL &&
	    outcome == RENDER_UNCHANGED && rec_says_failed(old.data))
		goto done;
	if (old.data != NULL &&
	    sscanf(old.data, "%llu", &was) == 1 && was == rev &&
	    buf_printf(&v, "%s %s", render_outcome_name(outcome), msg) == 0 &&
	    strcmp(rec_service_tail(old.data), v.data) == 0)
		goto done;
	buf_reset(&v);
	clock_gettime(CLOCK_REALTIME, &ts);
	if (buf_printf(&v, "%llu %llu %s %s", (unsigned long long)rev,
	    (unsigned long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
	    render_outcome_name(outcome), msg) == -1)
		rc = error_set(err, ERR_FAIL, "out of memory");
	else
		rc = batch_push(b, name, v.data, v.len, err);
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
		free((char *)b->r[i].name);
		free((void *)b->r[i].p);
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
	unsigned long long rev, ms;
	char text[2048], outcome[32];
	int off = 0;

	snprintf(text, sizeof(text), "%.*s", (int)len, (const char *)p);
	if (sscanf(text, "%llu %llu %31s %n", &rev, &ms, outcome, &off) < 3 ||
	    outcome_parse(outcome, &st.outcome) == -1)
		return 0;	/* not ours to judge: skip */
	st.service = name + strlen(REC_SERVICE);
	st.rev = rev;
	st.time_ms = ms;
	st.message = off > 0 ? text + off : "";
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
	char text[2 * INSTALL_HASH_HEX + 32], now[INSTALL_HASH_HEX];

	snprintf(text, sizeof(text), "%.*s", (int)len, (const char *)p);
	frec_parse(text, &r);
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
