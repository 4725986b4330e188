/*
 * write.c - where a commit is made: changes, rollback, signing.
 *
 * Only the primary writes.  Everything a user typed is checked before the
 * transaction starts; inside it, old values are read, no-op sets dropped,
 * and the record signed and stored with its index entries and the head.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "compat.h"
#include "db.h"

struct change_op {
	char		*key;
	struct value	*value;		/* NULL: delete */
	size_t		 seq;
	unsigned long	 line;		/* where it came from; 0: nowhere */
};

struct change {
	struct change_op	*ops;
	size_t			 n, cap;
	char			*origin;	/* a batch's name, for errors */
	unsigned long		 line;		/* of the ops added next */
	uint64_t		 flags;		/* COMMIT_*, recorded */
	uint32_t		 confirm;	/* COMMIT_CONFIRM's window */
	uint64_t		 expect;	/* the head it was made for */
	int			 expecting;
	int			 restores;	/* a rollback's: hosts may be gone */
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
	op->line = c->line;
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

int
change_origin(struct change *c, const char *name, unsigned long line,
    struct error *err)
{
	if (c->origin == NULL || strcmp(c->origin, name) != 0) {
		free(c->origin);
		if ((c->origin = strdup(name)) == NULL)
			return error_errno(err, ERR_FAIL, "change");
	}
	c->line = line;
	return 0;
}

/* An error about op, prefixed with where the op came from when known. */
static int
op_error(const struct change *c, const struct change_op *op,
    struct error *err)
{
	if (c->origin != NULL && op->line != 0)
		return error_wrap(err, "%s:%lu", c->origin, op->line);
	return -1;
}

void
change_set_flags(struct change *c, uint64_t flags)
{
	c->flags = flags;
}

void
change_set_confirm(struct change *c, uint32_t secs)
{
	c->confirm = secs;
	if (secs != 0)
		c->flags |= COMMIT_CONFIRM;
	else
		c->flags &= ~(uint64_t)COMMIT_CONFIRM;
}

void
change_expect_head(struct change *c, uint64_t rev)
{
	c->expect = rev;
	c->expecting = 1;
}

int
change_expected_head(const struct change *c, uint64_t *rev)
{
	*rev = c->expect;
	return c->expecting;
}

size_t
change_count(const struct change *c)
{
	return c->n;
}

void
change_op_at(const struct change *c, size_t i, const char **key,
    const struct value **v)
{
	*key = c->ops[i].key;
	*v = c->ops[i].value;
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
	free(c->origin);
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

/*
 * Who commits.  SUDO_USER and DOAS_USER are whatever the environment
 * says, so the name is made one line of text: a control character or a
 * byte that is not UTF-8 (also one cut in two by the length limit)
 * becomes '?', and `log` cannot be made to print lines of its own.
 */
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
	if (text_check(out, strlen(out), TEXT_MESSAGE, NULL) == -1)
		for (unsigned char *p = (unsigned char *)out; *p != '\0'; p++)
			if (*p < 0x20 || *p >= 0x7f)
				*p = '?';
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
db_commit_write(struct store *s, MDB_txn *t, struct commit_out *co,
    const struct commit_op_in *ops, size_t n, struct error *err)
{
	struct commit_in in;
	struct buf raw = { 0 };
	unsigned char parent[STORE_HASH_LEN], k[8];
	char author[64];
	uint64_t head;
	int primary, rc = -1;

	/*
	 * Fenced by the daemon since this process opened the store: the
	 * caller says so, outside the transaction (writable reads the store).
	 */
	if (db_is_primary(s, t, &primary, err) == -1)
		return -1;
	if (!primary) {
		s->primary = 0;
		return error_set(err, ERR_NOTPRIMARY, "%s is no longer the "
		    "primary", s->node);
	}
	if (db_read_head(s, t, &head, parent, err) == -1)
		return -1;
	author_name(author, sizeof(author));
	in.rev = head + 1;
	in.parent = parent;
	in.author = author;
	in.node = s->node;
	in.time_ms = now_ms();
	in.message = co->message ? co->message : "";
	in.flags = co->flags;
	in.confirm = co->confirm;
	in.epoch = co->epoch;
	in.ops = ops;
	in.nops = n;
	if (commit_make(&in, co->id, &raw, co->hash, err) == -1)
		goto done;
	be64(k, in.rev);
	if (db_put(s, t, s->commits, k, 8, raw.data, raw.len, MDB_APPEND,
	    err) == -1)
		goto done;
	for (size_t i = 0; i < n; i++)
		if (db_apply_op(s, t, in.rev, ops[i].key, ops[i].new, err) == -1)
			goto done;
	if (db_write_head(s, t, in.rev, co->hash, err) == -1)
		goto done;
	co->rev = in.rev;
	rc = 0;
done:
	buf_free(&raw);
	return rc;
}

struct commit_arg {
	const struct change	*c;
	const char		*message;
	const struct identity	*id;
	int			 check_only;	/* stop before the commit */
	uint64_t		 rev;		/* out */
	unsigned char		 hash[STORE_HASH_LEN];
};

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
	struct change_op **sorted = NULL;
	const struct change_op **from = NULL;	/* ops[i] came from from[i] */
	struct commit_op_in *ops = NULL;
	struct value **olds = NULL;
	struct commit_out co;
	unsigned char parent[STORE_HASH_LEN];
	char hosts[512];
	size_t n = 0, i;
	uint64_t head = 0;
	int rc = -1;

	ca->rev = 0;
	if ((c->flags & ~(uint64_t)COMMIT_FLAGS_KNOWN) != 0 ||
	    ((c->flags & COMMIT_CONFIRM) != 0) != (c->confirm != 0) ||
	    c->confirm > STORE_CONFIRM_MAX ||
	    ((c->flags & COMMIT_CONFIRMS) &&
	    (c->n != 0 || (c->flags & COMMIT_CONFIRM))))
		return error_set(err, ERR_INPUT, "commit flags 0x%llx not "
		    "valid here", (unsigned long long)c->flags);
	if (db_read_head(s, t, &head, parent, err) == -1)
		return -1;
	if (c->expecting && c->expect != head)
		return error_set(err, ERR_STALE, "the head moved from r%llu to "
		    "r%llu since the change was made",
		    (unsigned long long)c->expect, (unsigned long long)head);
	if ((sorted = calloc(c->n + 1, sizeof(*sorted))) == NULL ||
	    (ops = calloc(c->n + 1, sizeof(*ops))) == NULL ||
	    (olds = calloc(c->n + 1, sizeof(*olds))) == NULL ||
	    (from = calloc(c->n + 1, sizeof(*from))) == NULL) {
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
		if (host != NULL && !c->restores &&
		    !db_host_known(s, t, host)) {
			db_host_list(s, t, hosts, sizeof(hosts));
			/* Say how to make it known, not just that it is not. */
			error_set(err, ERR_BADHOST,
			    "unknown host '%s' in key '%s' (known: %s; add it "
			    "first: cfgstore peer add %s ADDR:PORT KEY)", host,
			    op->key, hosts, host);
			op_error(c, op, err);
			goto done;
		}
		if ((found = db_get(s, t, s->state, op->key, strlen(op->key), &v,
		    err)) == -1)
			goto done;
		if (found == 0 && db_value(&v, &olds[n], err) == -1)
			goto done;
		if (op->value == NULL && found == 1) {
			error_set(err, ERR_NOTFOUND, "%s: not found", op->key);
			op_error(c, op, err);
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
		from[n] = op;
		n++;
	}
	/* Nothing changed: no commit, unless it is a confirmation. */
	if (n == 0 && !(c->flags & COMMIT_CONFIRMS)) {
		rc = 0;
		goto done;
	}
	/* Before anything is written: the values against the schema. */
	if (schema_check_commit(s, t, ops, n, &i, err) == -1) {
		if (i < n)
			op_error(c, from[i], err);
		goto done;
	}
	if (ca->check_only) {
		rc = 0;
		goto done;
	}

	co.id = ca->id;
	co.message = ca->message;
	co.flags = c->flags;
	co.confirm = c->confirm;
	co.epoch = 0;
	if (db_commit_write(s, t, &co, ops, n, err) == -1)
		goto done;
	memcpy(ca->hash, co.hash, STORE_HASH_LEN);
	ca->rev = co.rev;
	rc = 0;
done:
	if (olds != NULL)
		for (i = 0; i < c->n; i++)
			value_free(olds[i]);
	free(olds);
	free(from);
	free(ops);
	free(sorted);
	return rc;
}

/*
 * What store_commit checks, in a read transaction: the same code up to
 * the point where the commit would be signed, so that nothing can pass
 * here and be refused there.
 */
int
store_check_change(struct store *s, const struct change *c, struct error *err)
{
	struct commit_arg ca = { .c = c, .check_only = 1 };
	struct txn tx;
	int rc;

	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = write_commit(s, tx.t, &ca, err);
	db_txn_end(s, &tx);
	return rc;
}

/* Only the primary writes; a replica's refusal names the primary. */
static int
writable(struct store *s, struct error *err)
{
	char primary[STORE_NODE_MAX + 1];
	uint64_t epoch;

	if (s->primary)
		return 0;
	if (store_fenced(s, &epoch, primary, sizeof(primary)))
		return error_set(err, ERR_FENCED, "%s is not the primary: "
		    "write on the primary of epoch %llu, %s", s->node,
		    (unsigned long long)epoch, primary[0] ? primary :
		    "not known yet");
	if (store_primary_name(s, primary, sizeof(primary), NULL) == 0)
		return error_set(err, ERR_NOTPRIMARY,
		    "%s is a replica: write on the primary, %s", s->node,
		    primary);
	return error_set(err, ERR_NOTPRIMARY,
	    "%s is a replica: write on the primary (no primary known)",
	    s->node);
}

int
db_signer_load(struct store *s, struct identity **out, struct error *err)
{
	if (identity_load(s, out, err) == -1)
		return -1;
	if (sodium_memcmp(identity_public(*out), s->pk,
	    STORE_PUBKEY_LEN) != 0) {
		identity_free(*out);
		*out = NULL;
		return error_set(err, ERR_FAIL, "%s/%s does not match %s",
		    s->dir, PUB_FILE, KEY_FILE);
	}
	return 0;
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
	if (ca->message != NULL && text_check(ca->message, strlen(ca->message),
	    TEXT_MESSAGE, err) == -1)
		return -1;
	if (db_signer_load(s, &id, err) == -1)
		return -1;
	ca->id = id;
	rc = db_write(s, write_commit, ca, err);
	identity_free(id);
	if (rc == -1 && !s->primary)
		writable(s, err);	/* fenced meanwhile: name the primary */
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

/* A revision a rollback may go to, with head the store's head. */
static int
rollback_target(uint64_t to_rev, uint64_t head, struct error *err)
{
	if (to_rev == 0)
		return error_set(err, ERR_INPUT, "cannot roll back to r0");
	/* As for show and diff: no such revision is a failure, not input. */
	if (to_rev > head)
		return error_set(err, ERR_NOREV, "no revision %llu (head is r%llu)",
		    (unsigned long long)to_rev, (unsigned long long)head);
	return 0;
}

int
store_rollback_change(struct store *s, uint64_t to_rev, struct change **out,
    struct error *err)
{
	struct change *c;
	struct txn tx;
	uint64_t head = 0;
	int rc;

	*out = NULL;
	if (writable(s, err) == -1)
		return -1;	/* a replica names its primary first */
	if ((c = change_new()) == NULL)
		return error_errno(err, ERR_FAIL, "change");
	if (db_txn_begin(s, 0, &tx, err) == -1) {
		change_free(c);
		return -1;
	}
	if ((rc = db_read_head(s, tx.t, &head, NULL, err)) == 0 &&
	    (rc = rollback_target(to_rev, head, err)) == 0 &&
	    (rc = db_diff(s, tx.t, head, to_rev, rollback_op, c, err)) != 0 &&
	    err != NULL && err->msg[0] == '\0')
		error_set(err, ERR_FAIL, "out of memory");
	db_txn_end(s, &tx);
	if (rc != 0) {
		change_free(c);
		return -1;
	}
	c->restores = 1;
	change_expect_head(c, head);
	*out = c;
	return 0;
}

int
store_rollback(struct store *s, uint64_t to_rev, const char *message,
    uint64_t *rev, struct error *err)
{
	struct change *c;
	char msg[64];
	int rc;

	/* The change is made for the head it reads: ERR_STALE if it moves. */
	if (store_rollback_change(s, to_rev, &c, err) == -1)
		return -1;
	if (message == NULL) {
		snprintf(msg, sizeof(msg), "rollback to r%llu",
		    (unsigned long long)to_rev);
		message = msg;
	}
	rc = store_commit(s, c, message, rev, err);
	change_free(c);
	return rc;
}
