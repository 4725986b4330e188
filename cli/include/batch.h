/*
 * batch.h - what the commands that write share: their options, the batch
 * format read into a list of operations, replacing the keys under a
 * prefix, showing a change before it is made, and asking.
 */
#ifndef CFGSTORE_BATCH_H
#define CFGSTORE_BATCH_H

#include <stdint.h>
#include <stdio.h>

#include "cli.h"

struct write_args {
	const char	*message;
	int		 nowait;
	int		 list;		/* --list */
	int		 file;		/* --file */
	int		 yes;		/* -y: do not ask */
	long		 back;		/* -N N: N commits back */
	const char	*replace;	/* --replace PREFIX */
	int		 force;		/* --force: commit what checks refuse */
	uint32_t	 confirm;	/* --confirm: window in seconds; 0 none */
	int		 confirms;	/* the commit confirms (`confirm`) */
};

/*
 * Parses -m, --no-wait and those of the other options whose letters are
 * in allowed (l --list, f --file, y -y, N -N, R --replace; every write
 * takes F --force and --confirm DURATION).  0, or the
 * exit status of bad usage.  Operands start at optind.
 */
int	cli_write_opts(const struct command *cmd, int argc, char **argv,
	    const char *allowed, struct write_args *w);

/*
 * Checks c, commits it, tells the daemon and reports per node; the exit
 * status.  The checks come first and a refusal writes nothing (exit 2):
 * the store's own (keys, hosts, schema), then every host's files as c
 * would make them, by this node's checkers (render_check_candidate),
 * then each peer's by the peer itself (cli_check_peers), whose verdict
 * decides for its files; a peer not checked makes the status 3.
 * With w->force the files are not checked and the commit records it.
 * c is made for the head it was checked against, and checked again if
 * another commit lands in between.
 */
int	cli_commit_report(struct cli *cli, struct store *s, struct change *c,
	    const struct write_args *w);

/* A blob of the bytes of path (at most STORE_VALUE_MAX). */
int	value_from_file(const char *path, struct value **v, struct error *err);
/* The value of `set` arguments: one string, else (or with list) a list. */
int	value_from_args(char **args, int n, int list, struct value **v,
	    struct error *err);

/* A batch's operations in the order of its lines; v NULL for del. */
struct batch_op {
	char		*key;
	struct value	*v;
	unsigned long	 line;
};

struct batch {
	const char	*name;		/* file name, for errors */
	struct batch_op	*ops;
	size_t		 n, cap;
};

/*
 * Reads every line of f (the format of cfgstore(8) BATCH FORMAT) into b.
 * 0, or -1 with err naming the line.  Nothing is written anywhere.
 */
int	batch_read(FILE *f, const char *name, struct batch *b,
	    struct error *err);
/* batch_read of the file at path ("-": stdin). */
int	batch_load(const char *path, struct batch *b, struct error *err);
void	batch_free(struct batch *b);
/* The batch's operations, in order, into c (each naming its line). */
int	batch_change(const struct batch *b, struct change *c,
	    struct error *err);
/* batch_read and batch_change at once: a whole batch into c. */
int	read_batch(FILE *f, const char *name, struct change *c,
	    struct error *err);

/*
 * The change that makes the keys starting with prefix ("" or NULL: every
 * key) exactly those b sets, as of the head: sets that change something
 * and deletions of the keys b leaves out.  A key of b outside prefix is
 * ERR_INPUT naming its line.  With show, prints each change key by key
 * (format_change).  *count is the number of keys changed.
 */
int	batch_replace(struct store *s, const char *prefix,
	    const struct batch *b, int show, struct change *c, size_t *count,
	    struct error *err);

/*
 * Prints question and " [y/N] " on stdout, reads one line from stdin: 1
 * for an answer starting with y or Y, else 0 (end of input too).
 */
int	cli_confirm(const char *question);

#endif
