/*
 * render_int.h - what the renderer's own files share; not for callers
 * outside render/ (they have render.h).
 */
#ifndef CFGSTORE_RENDER_INT_H
#define CFGSTORE_RENDER_INT_H

#include <stddef.h>

#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "install.h"
#include "manifest.h"
#include "records.h"
#include "render.h"
#include "tree.h"

struct entry {
	char			*service;
	enum render_outcome	 outcome;
	int			 restarts;	/* has a restart command */
	char			*message;
	char			*output;	/* a refusing checker's, or NULL */
};

struct render_report {
	uint64_t	 rev;
	struct entry	*v;
	size_t		 n;
	char		*warning;
};

/* One render in progress. */
struct ctx {
	struct store		*s;
	const char		*node;
	uint64_t		 rev;
	const struct render_opts *o;
	const struct tree	*data;
	char			**swept;	/* directories already swept */
	size_t			 nswept;
	struct rec_batch	*end;		/* written when the render ends */
};

/* One file of the service being rendered. */
struct work {
	const struct mfile	*f;
	char			*dest;		/* root + path */
	struct fstate		 old;		/* what was there */
	char			 hash[INSTALL_HASH_HEX];
	struct frec		 rec;		/* the record before this render */
	int			 changed;
	char			*cand;		/* candidate, while there is one */
	int			 placed;	/* renamed into place */
	int			 early;		/* placed before the checks */
};

/* report.c */
struct entry *report_add(struct render_report *r, const char *service);
/* Sets the outcome and its one-line message (cut at the first newline). */
void	entry_set(struct entry *en, enum render_outcome o, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
/* Adds a warning to the report's; the first few are kept. */
void	report_warn(struct render_report *r, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* transaction.c */
/* Reads what is installed for each file; decides what changed. */
int	tx_compare(struct ctx *x, struct work *w, size_t n, struct entry *en);
/*
 * Installs what tx_compare found changed; the entry says how it ended.
 * pending: an earlier render was killed between installing and
 * restarting, so restart even if nothing differs now.
 */
void	tx_install(struct ctx *x, const struct mservice *m, struct work *w,
	    size_t n, int pending, struct entry *en);
/* The list of changed files, for a message: "/a, /b". */
void	changed_list(const struct work *w, size_t n, char *buf, size_t len);
/* Unlinks the candidates still there. */
void	drop_candidates(struct work *w, size_t n);

/*
 * The services to render, sorted: want[0..nwant) after checking each is
 * in data's manifest, or all of them.  Names point into want or data.
 */
int	services_pick(const struct tree *data, const char *const *want,
	    size_t nwant, const char ***out, size_t *n, struct error *err);

/*
 * How file name changes from a to b (either may not exist), appended to
 * out: a line for a new mode or owner, then the bytes as diff -u shows
 * them under labels la and lb.  A secret (not readable by others on
 * either side, unless show_secrets) or a binary file is only named:
 * "NAME: VERB (not readable by others; contents not shown)".  0, or -1
 * with err (out of memory).
 */
int	diff_file(const char *name, const char *verb, const char *la,
	    const struct fstate *a, const char *lb, const struct fstate *b,
	    int show_secrets, struct buf *out, struct error *err);
/* 1 when a and b hold the same bytes (both missing counts as same). */
int	fstate_same_bytes(const struct fstate *a, const struct fstate *b);

struct run_result;
/* The first line of what a command printed, or how it ended. */
const char *checker_first_line(const struct run_result *res, char *buf,
	    size_t len);
/*
 * Runs check ("{}" = cand) within timeout_ms.  0: it passed.  1: it
 * refused; line holds its one line about it and *output (caller frees)
 * everything it said, with cand's name replaced by dest's.  -1: it
 * could not be run (err).
 */
int	checker_run(const char *check, const char *cand, const char *dest,
	    int timeout_ms, char *line, size_t len, char **output,
	    struct error *err);

#endif
