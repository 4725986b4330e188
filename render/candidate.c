/*
 * candidate.c - checks of a state not yet committed, on every host the
 * store knows, by this node's checkers, in private scratch directories.
 *
 * A service's files are written under the scratch directory at their own
 * paths, so a checker finds the files it reads beside the candidate
 * (unbound's root.hints).  A config names those by absolute path, so in
 * the copy the checker reads, the directories of the service's files
 * (and their parents below the top level: /var/unbound, not /var) point
 * into the scratch directory; what the checker says has the scratch
 * prefix taken out again.  Hosts are checked at the same time, one
 * thread each, every checker a child process of its own.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "render.h"
#include "render_int.h"

/* One host's checks, run by a thread of its own. */
struct job {
	const char		*host;
	const char		*root;		/* the node's render root */
	struct render_host	*cand;
	const char		**svc;		/* services to check */
	size_t			 nsvc;
	struct buf		 lines;		/* refusals */
	size_t			 nrefused, nchecked;
	struct error		 err;
	int			 failed;	/* err says why */
	pthread_t		 tid;
	int			 started;
};

static int
path_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	    c == '/';
}

/* The directories to redirect for svc's files, longest first. */
static int
svc_dirs(const struct render_host *h, const char *svc, char ***out,
    size_t *n)
{
	const struct render_file *f;
	char **v = NULL, **nv, *d, *slash;
	size_t i, j, k;

	*n = 0;
	for (i = 0; i < render_host_count(h); i++) {
		f = render_host_file(h, i);
		if (strcmp(f->service, svc) != 0)
			continue;
		if ((d = strdup(f->path)) == NULL)
			goto nomem;
		/* Each parent with at least two components. */
		while ((slash = strrchr(d, '/')) != NULL && slash != d) {
			*slash = '\0';
			if (strchr(d + 1, '/') == NULL)
				break;
			for (j = 0; j < *n && strcmp(v[j], d) != 0; j++)
				;
			if (j < *n)
				continue;
			if ((nv = reallocarray(v, *n + 1, sizeof(*v))) == NULL)
				goto nomem_d;
			v = nv;
			if ((v[*n] = strdup(d)) == NULL)
				goto nomem_d;
			(*n)++;
		}
		free(d);
	}
	/* Longest first, so /var/unbound/etc wins over /var/unbound. */
	for (i = 1; i < *n; i++)
		for (k = i; k > 0 && strlen(v[k]) > strlen(v[k - 1]); k--) {
			d = v[k];
			v[k] = v[k - 1];
			v[k - 1] = d;
		}
	*out = v;
	return 0;
nomem_d:
	free(d);
nomem:
	for (i = 0; i < *n; i++)
		free(v[i]);
	free(v);
	*n = 0;
	return -1;
}

/*
 * f's bytes with every dirs[i] (as a whole path prefix) under scratch.
 * The node renders under root (its render root, "" for "/"), so a path
 * there is the same directory: root/var/unbound is /var/unbound too.
 */
static int
redirect(const struct render_file *f, char **dirs, size_t ndirs,
    const char *root, const char *scratch, struct buf *out)
{
	const char *p = f->data;
	size_t i = 0, j, dl, at, rl = strlen(root);

	while (i < f->len) {
		if (p[i] == '/' && (i == 0 || !path_char(p[i - 1]))) {
			at = i;
			if (rl > 0 && f->len - i > rl &&
			    memcmp(p + i, root, rl) == 0 && p[i + rl] == '/')
				at = i + rl;
			for (j = 0; j < ndirs; j++) {
				dl = strlen(dirs[j]);
				if (f->len - at >= dl &&
				    memcmp(p + at, dirs[j], dl) == 0 &&
				    (at + dl == f->len || p[at + dl] == '/' ||
				    !path_char(p[at + dl])))
					break;
			}
			if (j < ndirs) {
				if (buf_puts(out, scratch) == -1)
					return -1;
				i = at;
			}
		}
		if (buf_append(out, p + i, 1) == -1)
			return -1;
		i++;
	}
	return 0;
}

/* Writes p to path, creating its directories (0700). */
static int
write_file(const char *path, const void *p, size_t len, struct error *err)
{
	char *dir, *s;
	int fd;

	if ((dir = strdup(path)) == NULL)
		return error_set(err, ERR_FAIL, "out of memory");
	for (s = strchr(dir + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
			error_errno(err, ERR_FAIL, "mkdir %s", dir);
			free(dir);
			return -1;
		}
		*s = '/';
	}
	free(dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return error_errno(err, ERR_FAIL, "open %s", path);
	if ((len > 0 && write(fd, p, len) != (ssize_t)len) || close(fd) == -1) {
		error_errno(err, ERR_FAIL, "write %s", path);
		close(fd);
		return -1;
	}
	return 0;
}

/* Appends text with every scratch prefix taken out. */
static int
unscratch(struct buf *out, const char *text, const char *scratch)
{
	const char *p;
	size_t sl = strlen(scratch);

	while ((p = strstr(text, scratch)) != NULL) {
		if (buf_append(out, text, (size_t)(p - text)) == -1)
			return -1;
		text = p + sl;
	}
	return buf_puts(out, text);
}

/* Checks svc's files in scratch; refusals go to j->lines. */
static int
check_service(struct job *j, const char *svc, const char *scratch)
{
	const struct render_file *f;
	struct buf b = { 0 };
	char **dirs = NULL, *path = NULL, line[512], *output;
	size_t i, ndirs = 0;
	int rc = -1, r;

	if (svc_dirs(j->cand, svc, &dirs, &ndirs) == -1) {
		error_set(&j->err, ERR_FAIL, "out of memory");
		return -1;
	}
	for (i = 0; i < render_host_count(j->cand); i++) {
		f = render_host_file(j->cand, i);
		if (strcmp(f->service, svc) != 0)
			continue;
		buf_reset(&b);
		free(path);
		if (asprintf(&path, "%s%s", scratch, f->path) == -1 ||
		    redirect(f, dirs, ndirs, j->root, scratch, &b) == -1) {
			path = NULL;
			error_set(&j->err, ERR_FAIL, "out of memory");
			goto done;
		}
		if (write_file(path, b.data, b.len, &j->err) == -1)
			goto done;
	}
	for (i = 0; i < render_host_count(j->cand); i++) {
		f = render_host_file(j->cand, i);
		if (strcmp(f->service, svc) != 0 || f->check == NULL)
			continue;
		free(path);
		if (asprintf(&path, "%s%s", scratch, f->path) == -1) {
			path = NULL;
			error_set(&j->err, ERR_FAIL, "out of memory");
			goto done;
		}
		j->nchecked++;
		r = checker_run(f->check, path, f->path, f->timeout_ms, line,
		    sizeof(line), &output, &j->err);
		if (r == -1) {
			/* A checker this node lacks refuses nothing here. */
			snprintf(line, sizeof(line), "cannot run the checker: "
			    "%.400s", j->err.msg);
			output = NULL;
		}
		if (r != 0) {
			j->nrefused++;
			buf_printf(&j->lines, "%s: %s: %s: ", j->host, svc,
			    f->path);
			unscratch(&j->lines, line, scratch);
			buf_puts(&j->lines, "\n");
		}
		free(output);
	}
	rc = 0;
done:
	for (i = 0; i < ndirs; i++)
		free(dirs[i]);
	free(dirs);
	free(path);
	buf_free(&b);
	return rc;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) == -1 &&
	    errno != ENOENT ? -1 : 0;
}

static void *
job_run(void *arg)
{
	struct job *j = arg;
	const char *tmp = getenv("TMPDIR");
	char scratch[4096];
	size_t i;

	snprintf(scratch, sizeof(scratch), "%s/cfgstore-check.XXXXXX",
	    tmp != NULL && *tmp == '/' ? tmp : "/tmp");
	/* mkdtemp makes it 0700: nobody else reads a candidate's secrets. */
	if (mkdtemp(scratch) == NULL) {
		error_errno(&j->err, ERR_FAIL, "mkdtemp %s", scratch);
		j->failed = 1;
		return NULL;
	}
	for (i = 0; i < j->nsvc && !j->failed; i++)
		if (check_service(j, j->svc[i], scratch) == -1)
			j->failed = 1;
	if (nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS) == -1 &&
	    !j->failed) {
		error_errno(&j->err, ERR_FAIL, "removing %s", scratch);
		j->failed = 1;
	}
	return NULL;
}

/* 1 when svc's files differ between a and b (bytes, set of files). */
static int
svc_changed(const struct render_host *a, const struct render_host *b,
    const char *svc)
{
	const struct render_file *f, *g;
	size_t i, na = 0, nb = 0;

	for (i = 0; i < render_host_count(b); i++) {
		f = render_host_file(b, i);
		if (strcmp(f->service, svc) != 0)
			continue;
		nb++;
		g = render_host_find(a, f->path);
		if (g == NULL || g->len != f->len || (f->len > 0 &&
		    memcmp(g->data, f->data, f->len) != 0))
			return 1;
	}
	for (i = 0; i < render_host_count(a); i++)
		na += strcmp(render_host_file(a, i)->service, svc) == 0;
	return na != nb;
}

/* Picks the services to check for j's host; refusals for unrendered. */
static int
job_plan(struct store *s, uint64_t rev, const struct change *c,
    struct job *j, struct error *err)
{
	struct render_host *head = NULL;
	const char *svc, *e;
	size_t i, k, len;
	int rc = -1;

	if (render_host_files(s, rev, c, j->host, NULL, 0, &j->cand,
	    err) == -1)
		return -1;
	if (c != NULL && render_host_files(s, rev, NULL, j->host, NULL, 0,
	    &head, err) == -1)
		return -1;
	if ((j->svc = calloc(render_host_count(j->cand) + 1,
	    sizeof(*j->svc))) == NULL) {
		error_set(err, ERR_FAIL, "out of memory");
		goto done;
	}
	for (i = 0; i < render_host_count(j->cand); i++) {
		svc = render_host_file(j->cand, i)->service;
		if (j->nsvc > 0 && strcmp(j->svc[j->nsvc - 1], svc) == 0)
			continue;
		if (head == NULL || svc_changed(head, j->cand, svc))
			j->svc[j->nsvc++] = svc;
	}
	/*
	 * A service the change leaves unrenderable is refused only when it
	 * rendered before: one still being set up, key by key, fails to
	 * render at the head too (a missing value), and each of its keys
	 * must be writable on its own.
	 */
	for (i = 0; i < render_host_errors(j->cand); i++) {
		e = render_host_error(j->cand, i);
		len = strcspn(e, ":");
		for (k = 0; head != NULL && k < render_host_errors(head); k++)
			if (strncmp(render_host_error(head, k), e, len + 1) == 0)
				break;
		if (head != NULL && k < render_host_errors(head))
			continue;
		buf_printf(&j->lines, "%s: %.*s: cannot be rendered:%s\n",
		    j->host, (int)len, e, e + len + 1);
		j->nrefused++;
	}
	rc = 0;
done:
	render_host_free(head);
	return rc;
}

/* The checks of the hosts named, at the same time. */
static int
check_hosts(struct store *s, uint64_t rev, const struct change *c,
    const char *const *hosts, size_t nhosts, const char *root, char **refusals,
    size_t *nrefused, size_t *nchecked, struct error *err)
{
	unsigned char hash[STORE_HASH_LEN];
	struct buf all = { 0 };
	struct job *jobs = NULL;
	size_t i;
	int rc = -1;

	*refusals = NULL;
	*nrefused = *nchecked = 0;
	if (rev == 0 && store_head(s, &rev, hash, err) == -1)
		return -1;
	if ((jobs = calloc(nhosts, sizeof(*jobs))) == NULL) {
		error_set(err, ERR_FAIL, "out of memory");
		goto done;
	}
	/* Rendering reads the store: done here, before any thread. */
	for (i = 0; i < nhosts; i++) {
		jobs[i].host = hosts[i];
		jobs[i].root = root != NULL && strcmp(root, "/") != 0 ? root :
		    "";
		if (job_plan(s, rev, c, &jobs[i], err) == -1)
			goto done;
	}
	for (i = 0; i < nhosts; i++) {
		if (jobs[i].nsvc == 0)
			continue;
		if ((errno = pthread_create(&jobs[i].tid, NULL, job_run,
		    &jobs[i])) != 0) {
			error_errno(err, ERR_FAIL, "pthread_create");
			goto done;
		}
		jobs[i].started = 1;
	}
	rc = 0;
done:
	for (i = 0; jobs != NULL && i < nhosts; i++) {
		if (jobs[i].started)
			pthread_join(jobs[i].tid, NULL);
		if (rc == 0 && jobs[i].failed) {
			*err = jobs[i].err;
			rc = -1;
		}
		if (jobs[i].lines.len > 0)
			buf_append(&all, jobs[i].lines.data,
			    jobs[i].lines.len);
		*nrefused += jobs[i].nrefused;
		*nchecked += jobs[i].nchecked;
		buf_free(&jobs[i].lines);
		render_host_free(jobs[i].cand);
		free(jobs[i].svc);
	}
	free(jobs);
	if (rc == 0 && all.len > 0)
		*refusals = buf_detach(&all, NULL);
	buf_free(&all);
	return rc;
}

int
render_check_candidate(struct store *s, uint64_t rev, const struct change *c,
    const char *root, char **refusals, size_t *nrefused, size_t *nchecked,
    struct error *err)
{
	char **hosts = NULL;
	size_t nhosts = 0;
	int rc;

	*refusals = NULL;
	*nrefused = *nchecked = 0;
	if (render_hosts_known(s, &hosts, &nhosts, err) == -1)
		return -1;
	rc = check_hosts(s, rev, c, (const char *const *)hosts, nhosts, root,
	    refusals, nrefused,
	    nchecked, err);
	render_hosts_free(hosts, nhosts);
	return rc;
}

int
render_check_host(struct store *s, uint64_t rev, const struct change *c,
    const char *host, const char *root, char **refusals, size_t *nrefused,
    size_t *nchecked, struct error *err)
{
	return check_hosts(s, rev, c, &host, 1, root, refusals, nrefused,
	    nchecked, err);
}
