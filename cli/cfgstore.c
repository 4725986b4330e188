/*
 * cfgstore.c - the command table and what every command shares.
 *
 * `cfgstore help` and `cfgstore CMD --help` are generated from the table,
 * so a command's synopsis is written once.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compat_priv.h"
#include "replicator.h"

#define DEFAULT_DIR "/var/db/cfgstore"

static const struct command commands[] = {
	{ "init", cmd_init,
	  "--node NAME [--primary] [--listen ADDR:PORT] [--root DIR]",
	  "create the store and this node's keys",
	  "--node NAME        this node's name (e.g. fw1)\n"
	  "--primary          this node takes writes and pushes them to peers;\n"
	  "                   loads the shipped templates as the first commit\n"
	  "--listen ADDR:PORT where the daemon listens for peers\n"
	  "--root DIR         where render and serve write (default /)",
	  "--node --listen --root", 0 },
	{ "key", cmd_key, "",
	  "print this node's public key", "",
	  "", 0 },
	{ "peer", cmd_peer, "add NAME ADDR:PORT PUBKEY | list [--json] | del NAME",
	  "the nodes this one pushes to and trusts", "",
	  "", 1 },
	{ "set", cmd_set,
	  "[-m MSG] [--no-wait] [--force] [--confirm DURATION] [--list] KEY VALUE [VALUE...]\n"
	  "       set [-m MSG] [--no-wait] [--force] [--confirm DURATION] --file KEY PATH",
	  "set a key in one commit",
	  "-m MSG      the commit message\n"
	  "--no-wait   return after the local commit, do not wait for peers\n"
	  "--list      store a list even for a single VALUE\n"
	  "--file      store the bytes of PATH as a blob\n"
	  "--confirm DURATION  reverted on every node unless confirmed within\n"
	  "            DURATION (minutes, or 30s, 5m, 1h): see confirm\n"
	  "--force     commit what the checks of the files refuse (recorded)\n"
	  "--          ends the options: a VALUE may begin with '-'",
	  "-m --confirm", 0 },
	{ "del", cmd_del, "[-m MSG] [--no-wait] [--force] [--confirm DURATION] KEY...",
	  "delete keys in one commit",
	  "-m MSG      the commit message\n"
	  "--no-wait   return after the local commit\n"
	  "--confirm DURATION  reverted on every node unless confirmed within\n"
	  "            DURATION (minutes, or 30s, 5m, 1h): see confirm\n"
	  "--force     commit what the checks of the files refuse (recorded)",
	  "-m --confirm", 0 },
	{ "get", cmd_get, "[--rev N] [--host H] [--json] KEY",
	  "print a value",
	  "--rev N     as of revision N\n"
	  "--host H    resolved for host H (KEY@H wins over KEY)\n"
	  "--json      print JSON",
	  "--rev --host", 1 },
	{ "list", cmd_list, "[--rev N] [--host H] [--json] [PREFIX]",
	  "print keys and values",
	  "--rev N     as of revision N\n"
	  "--host H    as host H sees them (overrides resolved)\n"
	  "--json      print JSON",
	  "--rev --host", 1 },
	{ "describe", cmd_describe, "[--rev N] [--json] KEY",
	  "what a key is: type, description, readers, value per host",
	  "--rev N     as of revision N\n"
	  "--json      print JSON",
	  "--rev", 1 },
	{ "apply", cmd_apply,
	  "[-m MSG] [--no-wait] [--force] [--confirm DURATION] [--replace PREFIX] [FILE|-]",
	  "apply a batch of set/del lines as one commit",
	  "-m MSG      the commit message\n"
	  "--no-wait   return after the local commit\n"
	  "--confirm DURATION  reverted on every node unless confirmed within\n"
	  "            DURATION (minutes, or 30s, 5m, 1h): see confirm\n"
	  "--force     commit what the checks of the files refuse (recorded)\n"
	  "--replace PREFIX  the keys starting with PREFIX become exactly\n"
	  "            the batch's: those it leaves out are deleted\n"
	  "Lines: set KEY VALUE | set KEY V1 V2... | set --list KEY [V...] |\n"
	  "       set --blob KEY BASE64 | set --file KEY PATH | del KEY | # comment",
	  "-m --replace --confirm", 0 },
	{ "edit", cmd_edit, "[-y] [-m MSG] [--no-wait] [--force] [--confirm DURATION] [PREFIX]",
	  "edit the keys starting with PREFIX in $EDITOR, as one commit",
	  "-y          commit without asking\n"
	  "-m MSG      the commit message\n"
	  "--no-wait   return after the local commit\n"
	  "--confirm DURATION  reverted on every node unless confirmed within\n"
	  "            DURATION (minutes, or 30s, 5m, 1h): see confirm\n"
	  "--force     commit what the checks of the files refuse (recorded)",
	  "-m --confirm", 0 },
	{ "export", cmd_export, "[--rev N | --diverged]",
	  "print the state as lines that apply takes",
	  "--rev N     as of revision N\n"
	  "--diverged  the diverged branch's changes instead, in order, as a\n"
	  "            batch to apply on the primary",
	  "--rev", 1 },
	{ "log", cmd_log, "[-n N] [-p | --json] [--diverged] [PREFIX]",
	  "audit history, newest first",
	  "-n N        at most N commits\n"
	  "-p          each change in full, text as a line diff\n"
	  "--json      print JSON\n"
	  "--diverged  the commits moved out of the history when this node\n"
	  "            followed a newer primary, as diverged:EPOCH:REV\n"
	  "PREFIX      only commits that changed keys starting with it",
	  "-n", 1 },
	{ "show", cmd_show, "[--raw] [--json] REV | diverged:EPOCH:REV",
	  "one commit in full",
	  "--raw       write its exact signed bytes, as they travel\n"
	  "--json      print JSON",
	  "", 1 },
	{ "diff", cmd_diff, "[--json] [REV [REV]]",
	  "what changed between two revisions (default: the last commit)",
	  "--json      print JSON",
	  "", 1 },
	{ "rollback", cmd_rollback,
	  "[-y] [-m MSG] [--no-wait] [--force] [--confirm DURATION] [-N N | REV]",
	  "a new commit whose state equals REV's (default: the one before head)",
	  "-N N        the state of N commits before the head\n"
	  "-y          do not ask (only a terminal is asked)\n"
	  "-m MSG      the commit message\n"
	  "--no-wait   return after the local commit\n"
	  "--confirm DURATION  reverted on every node unless confirmed within\n"
	  "            DURATION (minutes, or 30s, 5m, 1h): see confirm\n"
	  "--force     commit what the checks of the files refuse (recorded)",
	  "-m -N --confirm", 0 },
	{ "confirm", cmd_confirm, "[-m MSG] [--no-wait]",
	  "make the confirmed commits waiting final, on every node",
	  "-m MSG      the commit message (default: confirm rN)\n"
	  "--no-wait   return after the local commit",
	  "-m", 0 },
	{ "render", cmd_render,
	  "[-v] [--dry-run] [--force] [--root DIR] [SERVICE...]",
	  "render this host's files now",
	  "-v          print a refusing checker's whole output\n"
	  "--dry-run   show a unified diff, change nothing\n"
	  "--force     overwrite files edited by hand; render into a --root\n"
	  "            that is not the node's\n"
	  "--root DIR  prefix every output path with DIR (default: the\n"
	  "            node's, from init --root or serve --root)",
	  "--root", 0 },
	{ "preview", cmd_preview,
	  "[--host H | --all] [--installed [--root DIR]] [--batch FILE|-] "
	  "[A [B]]",
	  "a host's files at revision B against A, as diffs (default: the "
	  "last commit)",
	  "--host H    the files host H gets (default: this node)\n"
	  "--all       this node's and every peer's\n"
	  "--installed against what is installed here, not revision A\n"
	  "--root DIR  where the installed files are (as for render)\n"
	  "--batch F   B is the head (or the revision given) with batch F on "
	  "top",
	  "--host --batch --root", 0 },
	{ "check", cmd_check, "[BATCH|-]",
	  "check every host's files with BATCH on top of the head, here "
	  "and on each peer, commit nothing",
	  "",
	  "", 0 },
	{ "serve", cmd_serve, "[-f] [-v] [--root DIR] [--user USER] [--chroot DIR]",
	  "the daemon: replication and rendering",
	  "-f            stay in the foreground, log to stderr\n"
	  "-v            log debug messages too\n"
	  "--root DIR    prefix every output path with DIR, and make it the\n"
	  "              node's render root\n"
	  "--user USER   the network process's user (default " PRIV_USER_DEFAULT ")\n"
	  "--chroot DIR  the network process's root (default " REPL_CHROOT ")",
	  "--root --user --chroot", 0 },
	{ "promote", cmd_promote, "[--force]",
	  "make this replica the primary of a new epoch; the old primary "
	  "follows it when it returns",
	  "--force     also on the primary, or while the primary is\n"
	  "            reachable and ahead of this node",
	  "", 0 },
	{ "status", cmd_status, "[--json]",
	  "role, head, peers, last render per service, health",
	  "--json      print JSON\n"
	  "Exit status 0 when healthy, 4 when degraded (the reasons are\n"
	  "printed: service, daemon, peer-unreachable, peer-behind,\n"
	  "primary-unreachable, behind, demoted, demote-failed).",
	  "", 0 },
	{ "verify", cmd_verify, "",
	  "check the whole history's hash chain and signatures", "",
	  "", 0 },
	{ "help", cmd_help, "[COMMAND]",
	  "list the commands, or show one command's options", "",
	  "", 0 },
};

static void
usage_line(FILE *f, const struct command *cmd)
{
	fprintf(f, "usage: cfgstore [-d DIR] %s %s\n", cmd->name, cmd->args);
}

/* Bad usage is one error line like any other; --help has the rest. */
int
cli_usage(const struct command *cmd)
{
	size_t len = strcspn(cmd->args, "\n");

	fprintf(stderr, "cfgstore: usage: cfgstore %s %.*s (see 'cfgstore %s "
	    "--help')\n", cmd->name, (int)len, cmd->args, cmd->name);
	return ERR_INPUT;
}

static void
help_command(const struct command *cmd)
{
	usage_line(stdout, cmd);
	printf("%s\n", cmd->summary);
	if (cmd->help[0] != '\0')
		printf("\n%s\n", cmd->help);
}

static void
help_all(FILE *f)
{
	fprintf(f, "usage: cfgstore [-d DIR] COMMAND [ARGS]\n"
	    "       cfgstore --version | --help\n\n"
	    "The store is -d DIR, else $CFGSTORE_DIR, else " DEFAULT_DIR ".\n"
	    "Exit status: 0 success, 1 failure, 2 bad usage or input,\n"
	    "3 committed here but not yet applied on every peer,\n"
	    "4 status: this node is degraded, 5 nothing to confirm.\n\n"
	    "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'cfgstore COMMAND --help' shows a command's options.\n");
}

int
cli_fail(const struct error *err)
{
	fprintf(stderr, "cfgstore: %s\n", err->msg[0] ? err->msg : "failed");
	return err->code != ERR_OK ? cli_exit_status(err->code) : 1;
}

int
cli_error(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("cfgstore: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return cli_exit_status(code);
}

int
cli_open(struct cli *cli, int flags, struct store **out)
{
	struct error err = { 0 };

	if (store_open(cli->dir, flags, out, &err) == -1)
		return cli_fail(&err);
	return 0;
}

static int
parse_rev(const char *arg, uint64_t *rev, int zero)
{
	const char *p = arg[0] == 'r' ? arg + 1 : arg;
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(p, &end, 10);
	if (*p < '0' || *p > '9' || *end != '\0' || errno != 0 ||
	    (v == 0 && !zero))
		return cli_error(ERR_INPUT, "invalid revision '%s'", arg);
	*rev = v;
	return 0;
}

int
cli_parse_rev(const char *arg, uint64_t *rev)
{
	return parse_rev(arg, rev, 0);
}

int
cli_parse_rev_or_empty(const char *arg, uint64_t *rev)
{
	return parse_rev(arg, rev, 1);
}

/* 1 when option opt (its name, up to any "=") takes an argument in cmd. */
static int
takes_argument(const struct command *cmd, const char *opt)
{
	size_t len = strcspn(opt, "=");
	const char *p = cmd->argopts;

	if (opt[1] != '-')
		len = 2;	/* -mMSG: the letter */
	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (n == len && strncmp(p, opt, len) == 0)
			return 1;
		p += n;
		p += strspn(p, " ");
	}
	return 0;
}

/* 1 when word names one of cmd's options: a line of its help starts so. */
static int
is_option(const struct command *cmd, const char *word)
{
	size_t len = word[1] == '-' ? strcspn(word, "=") : strlen(word);
	const char *p = cmd->help;

	if (len < 2)
		return 0;
	while (*p != '\0') {
		size_t n = strcspn(p, " \n");

		if (*p == '-' && n == len && strncmp(p, word, len) == 0)
			return 1;
		p += strcspn(p, "\n");
		p += *p == '\n';
	}
	return 0;
}

/* 1 when cmd has options: a line of its help starts with '-'. */
static int
has_options(const struct command *cmd)
{
	const char *p = cmd->help;

	for (; *p != '\0'; p += strcspn(p, "\n"), p += *p == '\n')
		if (*p == '-')
			return 1;
	return 0;
}

/*
 * Options come first, as getopt "+" reads them, and values may begin with
 * "-" (set dhcpd.flags -Y em2), so nothing is reordered.  Here, before the
 * command runs: -h or --help where an option or operand stands asks for
 * help (*help); "--" is dropped from argv after the first operand, where
 * getopt would keep it, and for a command without options, which has no
 * getopt to take it; and one of the command's options after the first
 * operand is an error, where it would silently become a value (set KEY
 * VALUE -m msg).  0, or the exit status.
 */
static int
check_order(const struct command *cmd, int *argc, char **argv, int *help)
{
	const char *first = NULL;

	*help = 0;
	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			/* getopt takes it, where the command has options. */
			if (first == NULL && has_options(cmd))
				return 0;
			/* argv[argc] is NULL and moves down with the rest. */
			memmove(&argv[i], &argv[i + 1],
			    (size_t)(*argc - i) * sizeof(*argv));
			(*argc)--;
			return 0;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			*help = 1;
			return 0;
		}
		if (first != NULL) {
			if (a[0] == '-' && is_option(cmd, a))
				return cli_error(ERR_INPUT, "options come first: "
				    "'%.*s' after '%s' (see 'cfgstore %s --help'; "
				    "'--' before a value that begins with '-')",
				    (int)strcspn(a, "="), a, first, cmd->name);
			continue;
		}
		if (a[0] != '-' || a[1] == '\0') {
			first = a;
			continue;
		}
		/* Its argument is the next word unless it is attached. */
		if (takes_argument(cmd, a) && (a[1] == '-' ?
		    strchr(a, '=') == NULL : a[2] == '\0'))
			i++;
	}
	return 0;
}

static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
cmd_help(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	const struct command *c;

	(void)cli;
	if (argc > 2)
		return cli_usage(cmd);
	if (argc < 2) {
		help_all(stdout);
		return 0;
	}
	if ((c = find_command(argv[1])) == NULL)
		return cli_error(ERR_INPUT, "unknown command '%s' (see "
		    "'cfgstore help')", argv[1]);
	help_command(c);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct command *cmd;
	struct cli cli = { 0 };
	int ch, help;

	cli.dir = getenv("CFGSTORE_DIR");
	opterr = 0;	/* bad usage is one line of our own, as for commands */
	while ((ch = getopt_long(argc, argv, "+:d:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			cli.dir = optarg;
			break;
		case 'h':
			help_all(stdout);
			return 0;
		case 'V':
			printf("cfgstore %s\n", CFGSTORE_VERSION);
			return 0;
		case ':':
			return cli_error(ERR_INPUT, "option '-%c' needs an "
			    "argument (see 'cfgstore help')", optopt);
		default:
			/* A long option is the whole word, a short one a letter. */
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				return cli_error(ERR_INPUT, "unknown option '%.*s' "
				    "(see 'cfgstore help')",
				    (int)strcspn(argv[optind - 1], "="),
				    argv[optind - 1]);
			return cli_error(ERR_INPUT, "unknown option '-%c' (see "
			    "'cfgstore help')", optopt);
		}
	}
	argc -= optind;
	argv += optind;
	if (cli.dir == NULL || cli.dir[0] == '\0')
		cli.dir = DEFAULT_DIR;
	if (argc == 0)
		return cli_error(ERR_INPUT, "usage: cfgstore [-d DIR] COMMAND "
		    "[ARGS] (see 'cfgstore help')");
	if ((cmd = find_command(argv[0])) == NULL) {
		cli_error(ERR_INPUT, "unknown command '%s' (see 'cfgstore help')",
		    argv[0]);
		return ERR_INPUT;
	}
	if ((ch = check_order(cmd, &argc, argv, &help)) != 0)
		return ch;
	if (help) {
		help_command(cmd);
		return 0;
	}
	optind = 0;	/* the command parses its own options afresh */
	opterr = 0;	/* and reports bad usage in one line of its own */
	return cmd->fn(&cli, cmd, argc, argv);
}
