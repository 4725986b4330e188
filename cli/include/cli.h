/*
 * cli.h - what every command implementation of cfgstore(8) shares.
 *
 * A command is a function in a cmd_*.c file with an entry in the table in
 * cfgstore.c, from which `cfgstore help` and `cfgstore CMD --help` are
 * generated.  It gets its own argv (argv[0] is the command name), parses
 * its options with getopt_long, and returns the exit status.
 */
#ifndef CFGSTORE_CLI_H
#define CFGSTORE_CLI_H

#include <stdio.h>

#include "error.h"
#include "store.h"

struct cli {
	const char	*dir;		/* the store directory */
};

struct command {
	const char	*name;
	int		(*fn)(struct cli *, const struct command *, int, char **);
	const char	*args;		/* synopsis after the name */
	const char	*summary;	/* one line, for `cfgstore help` */
	const char	*help;		/* the options, one per line */
	const char	*argopts;	/* options that take an argument */
	int		 permutes;	/* unused: options always come first */
};

/* The exit status of an error code (exit.c: the one table of them). */
int	cli_exit_status(int code);
/* Prints "cfgstore: MSG" on stderr and returns its exit status (never 0). */
int	cli_fail(const struct error *err);
/* Printf-style one-line error; returns code's exit status. */
int	cli_error(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Prints the command's usage to stderr and returns 2. */
int	cli_usage(const struct command *cmd);
/* Opens the store, reporting failure; returns 0 or the exit status. */
int	cli_open(struct cli *cli, int flags, struct store **out);
/* Parses a revision argument ("42", "r42"); 0 or exit status 2. */
int	cli_parse_rev(const char *arg, uint64_t *rev);
/* The same, where 0 is a revision too: the empty store before r1. */
int	cli_parse_rev_or_empty(const char *arg, uint64_t *rev);
/*
 * After a commit on the primary: tells the local daemon and, unless
 * nowait, waits for every peer and prints one line per node.  Returns the
 * exit status: 0, or 3 when some peer has not applied it yet.
 */
int	cli_after_commit(struct cli *cli, struct store *s, uint64_t rev,
	    int nowait);

/* A batch from path ("-": stdin) into *out; 0 or the exit status. */
int	cli_load_batch(const char *path, struct change **out);

/* The commands, one function each. */
#define CMD(name) int name(struct cli *, const struct command *, int, char **)
CMD(cmd_init); CMD(cmd_key); CMD(cmd_peer); CMD(cmd_set); CMD(cmd_del);
CMD(cmd_get); CMD(cmd_list); CMD(cmd_apply); CMD(cmd_export); CMD(cmd_log);
CMD(cmd_show); CMD(cmd_diff); CMD(cmd_rollback); CMD(cmd_verify);
CMD(cmd_render); CMD(cmd_serve); CMD(cmd_status); CMD(cmd_preview);
CMD(cmd_check); CMD(cmd_describe); CMD(cmd_help); CMD(cmd_edit);
CMD(cmd_confirm);
CMD(cmd_promote);
#undef CMD

#endif
