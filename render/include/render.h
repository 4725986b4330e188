/*
 * render.h - turning the store into this host's files.
 *
 * For each service of the manifest kept in the store (docs/SERVICES.md),
 * render_run renders every file of the service in memory, from a template
 * blob and the host's resolved values or from a blob verbatim, and
 * installs the ones that differ from what is on disk: candidate file in
 * the destination's directory, mode and owner set before any byte is
 * written, fsync; then every checker of the service, and only when all
 * passed, rename and directory fsync of each.  A service whose files
 * changed is restarted once, after all of them are in place; if the
 * restart fails its previous files are put back and it is restarted on
 * them.  One service failing never stops the others.
 *
 * What was installed is remembered in the store's local records (never
 * replicated): a hash per file, so a file edited by hand is reported and
 * kept unless forced, and the last outcome per service, for `status`.
 *
 * Renders are serialised by a lock in the store directory, so the daemon
 * and `cfgstore render` never install the same file at once.
 *
 * Errors follow store.h: -1 with *err filled; err->code is the exit status.
 */
#ifndef CFGSTORE_RENDER_H
#define CFGSTORE_RENDER_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "store.h"

struct render_opts {
	const char	*root;		/* prefixed to every path; NULL: "/" */
	int		 dry_run;	/* change nothing; fill diff */
	int		 force;		/* overwrite files edited by hand */
	const char *const *services;	/* render only these ... */
	size_t		 nservices;	/* ... or all when 0 */
	/*
	 * Dry run: a unified diff of every file that would change is
	 * appended here (NULL: not wanted).  Files not readable by others
	 * (a key, a secret) and binary files are named, not shown.
	 */
	struct buf	*diff;
};

enum render_outcome {
	RENDER_UNCHANGED = 0,	/* every file already as it should be */
	RENDER_INSTALLED,	/* files installed, service restarted */
	RENDER_WOULD_INSTALL,	/* dry run: files differ */
	RENDER_DRIFT,		/* a file was edited by hand: kept, nothing done */
	RENDER_CHECK_FAILED,	/* the checker refused: nothing installed */
	RENDER_RESTART_FAILED,	/* old files put back and restarted on */
	RENDER_ERROR,		/* could not render or install */
};

/* "unchanged", "installed", ... */
const char *render_outcome_name(enum render_outcome o);
/* 1 for the outcomes that make `cfgstore render` exit 1. */
int	render_outcome_failed(enum render_outcome o);

struct render_report;

/*
 * Renders this node's services at revision rev (0: head) and installs
 * them as o says (o may be NULL: everything, for real, at "/").  Returns
 * -1 only when nothing could be attempted: the store could not be read,
 * another render could not be waited for, or o names a service the
 * manifest lacks (ERR_INPUT).  Otherwise 0 and *out, which the caller
 * frees with render_report_free, says what happened to each service.
 */
int	render_run(struct store *s, uint64_t rev, const struct render_opts *o,
	    struct render_report **out, struct error *err);

/* The revision rendered. */
uint64_t render_report_rev(const struct render_report *r);
/* Services in name order.  Strings live as long as r. */
size_t	render_report_count(const struct render_report *r);
const char *render_report_service(const struct render_report *r, size_t i);
enum render_outcome render_report_outcome(const struct render_report *r,
	    size_t i);
/*
 * One line: why it failed (the checker's first line of output, the file
 * concerned), or what was done ("installed /etc/ntpd.conf").  "" if none.
 */
const char *render_report_message(const struct render_report *r, size_t i);
/*
 * Everything a checker that refused said, with the candidate's name
 * replaced by the file's, for `render -v`; "" if none.
 */
const char *render_report_output(const struct render_report *r, size_t i);
/*
 * A problem with the data as a whole that failed no service by itself
 * (a key left out of the template data), or NULL.
 */
const char *render_report_warning(const struct render_report *r);
/* The number of services whose outcome render_outcome_failed. */
size_t	render_report_failures(const struct render_report *r);
/*
 * One line for a log or a terminal: "restarted unbound, ntpd",
 * "would restart nsd", "no change", followed by "; 1 failed: dhcpd" when
 * some failed.  Truncated to fit len; returns buf.
 */
const char *render_report_summary(const struct render_report *r, char *buf,
	    size_t len);
void	render_report_free(struct render_report *r);

/*
 * The last render of each service on this node, from the local records,
 * in name order: for `cfgstore status`.  fn returns 0 to go on; anything
 * else stops the walk and is returned.  The struct lives during the call.
 */
struct render_status {
	const char		*service;
	uint64_t		 rev;		/* revision rendered */
	uint64_t		 time_ms;	/* UTC, ms since 1970 */
	enum render_outcome	 outcome;
	const char		*message;
};
typedef int (*render_status_fn)(void *arg, const struct render_status *st);
int	render_status_each(struct store *s, render_status_fn fn, void *arg,
	    struct error *err);

/*
 * Every file cfgstore installed on this node, from the local records, in
 * path order, each compared with what is on disk now: for `cfgstore
 * status`, which so shows hand edits before the next render does.  fn
 * as for render_status_each.
 */
enum render_file_state {
	RENDER_FILE_OK = 0,	/* as cfgstore installed it */
	RENDER_FILE_DRIFTED,	/* edited since: the next render keeps it */
	RENDER_FILE_MISSING,	/* removed since */
	RENDER_FILE_UNREADABLE,	/* cannot be read (not root?): why says */
};
struct render_file_status {
	const char		*path;
	uint64_t		 rev;		/* revision installed */
	enum render_file_state	 state;
	const char		*why;		/* UNREADABLE: the error */
};
typedef int (*render_file_fn)(void *arg, const struct render_file_status *st);
int	render_files_each(struct store *s, render_file_fn fn, void *arg,
	    struct error *err);
/* "ok", "drifted", "missing", "unreadable" */
const char *render_file_state_name(enum render_file_state st);

/* ---- a host's files in memory: preview and checks ------------------- */

/*
 * Every file host gets at rev (0: the head), with c's operations on top
 * when c is not NULL (a batch not yet committed), overrides for host
 * resolved, rendered in memory: nothing on disk is read or written, so
 * it works on any node for any host (this node, a peer, the host of an
 * override).  services as in render_opts (all when nservices is 0).  A
 * service that cannot be rendered is left out and named among the
 * errors; -1 only when the state could not be read.
 */
struct render_file {
	const char	*service;
	const char	*path;		/* as the manifest gives it */
	const void	*data;
	size_t		 len;
	mode_t		 mode;
	uid_t		 uid;
	gid_t		 gid;
	const char	*check;		/* command ({} = the file), or NULL */
	int		 timeout_ms;	/* the service's, for the check */
};
struct render_host;
int	render_host_files(struct store *s, uint64_t rev, const struct change *c,
	    const char *host, const char *const *services, size_t nservices,
	    struct render_host **out, struct error *err);
const char *render_host_name(const struct render_host *h);
/* Files in service order, then the manifest's order.  Live as long as h. */
size_t	render_host_count(const struct render_host *h);
const struct render_file *render_host_file(const struct render_host *h,
	    size_t i);
const struct render_file *render_host_find(const struct render_host *h,
	    const char *path);		/* NULL: the host gets no such file */
/* "SERVICE: why" for each service that could not be rendered. */
size_t	render_host_errors(const struct render_host *h);
const char *render_host_error(const struct render_host *h, size_t i);
const char *render_host_warning(const struct render_host *h);	/* or NULL */
void	render_host_free(struct render_host *h);

/* This node's name, then each peer's, sorted: the hosts the store knows. */
int	render_hosts_known(struct store *s, char ***out, size_t *n,
	    struct error *err);
void	render_hosts_free(char **v, size_t n);

/*
 * Preview: what host's files become from state A to state B, as a
 * unified diff per file that changes (labels "HOST/PATH<TAB>rN"), a line
 * "HOST/PATH: mode 0644 owner 0:0 -> ..." when only those change.  A is
 * revision a, or what is installed on this host under root; B is
 * revision b, with batch on top when batch is not NULL.  Files that
 * others may not read (mode without o+r on either side) are shown only
 * when show_secrets (the caller is root, who could read them anyway);
 * else named with "changed (not readable by others; contents not
 * shown)".  Binary files are named with their sizes.  Nothing is written.
 */
struct render_preview {
	const char	*host;		/* NULL: this node */
	uint64_t	 a, b;		/* revisions; b 0: the head */
	const struct change *batch;	/* on top of b, or NULL */
	int		 installed;	/* A is this host's files under root */
	const char	*root;		/* NULL: "/" */
	int		 show_secrets;
};
/* Appends the diff to out; *nchanged counts files that differ. */
int	render_preview_diff(struct store *s, const struct render_preview *p,
	    struct buf *out, size_t *nchanged, struct error *err);

/*
 * Checks of a candidate state, before it is committed: rev (0: the
 * head) with c on top (NULL: rev itself, every file of every service).
 * For every host the store knows (this node and each peer), the files
 * that host would get are rendered in memory; for each service whose
 * bytes change for that host against the head (every service when c is
 * NULL), its files are written to a private scratch directory (mkdtemp,
 * 0700) at their paths under it, beside each other, and the service's
 * checker that this node has runs on the candidate.  Hosts are checked
 * at the same time, one child per host.  Installed files, the store and
 * running services are never touched; the scratch directory is removed.
 *
 * Returns -1 when the checks could not be made (err); else 0 and
 * *refusals lines (caller frees; NULL when every check passed), one per
 * refusal: "HOST: SERVICE: PATH: the checker's line", including services
 * that cannot be rendered ("HOST: SERVICE: why").  *nrefused counts them.
 * *nchecked counts the checkers run.
 *
 * root is the node's render root (NULL or "/": none): a path in a file
 * under root names the same place as without it, so it is redirected
 * into the scratch directory too.
 *
 * This is what a write calls with the change it is about to commit: a
 * refusal means nothing may be written (exit status 2).
 */
int	render_check_candidate(struct store *s, uint64_t rev,
	    const struct change *c, const char *root, char **refusals,
	    size_t *nrefused, size_t *nchecked, struct error *err);
/*
 * The same for one host only: what a peer asked to prepare a commit
 * runs on its own files, with its own checkers.
 */
int	render_check_host(struct store *s, uint64_t rev,
	    const struct change *c, const char *host, const char *root,
	    char **refusals, size_t *nrefused, size_t *nchecked,
	    struct error *err);

/*
 * Adds the shipped templates (template.NAME blobs) and the shipped
 * service manifest (service.* keys) to c: what `init --primary` commits
 * first.  Values are the admin's and are not shipped.
 */
int	render_shipped_defaults(struct change *c, struct error *err);

#endif
