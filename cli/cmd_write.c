/*
 * cmd_write.c - the commands that make a commit: set, del, apply, rollback.
 *
 * Each builds one change, checks all of it before anything is written
 * (bad input: exit 2, nothing changed), commits it, and hands over to
 * cli_after_commit, which tells the daemon and reports per node.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <limits.h>

#include "batch.h"
#include "format.h"
#include "lockfile.h"
#include "peercheck.h"
#include "render.h"
#include "replicator.h"
#include "root.h"

#define CHECK_TRIES	3	/* checks made again when the head moved */

enum { OPT_NOWAIT = 256, OPT_LIST, OPT_FILE, OPT_REPLACE, OPT_FORCE,
    OPT_CONFIRM };

static const struct option write_opts[] = {
	{ "no-wait", no_argument, NULL, OPT_NOWAIT },
	{ "list", no_argument, NULL, OPT_LIST },
	{ "file", no_argument, NULL, OPT_FILE },
	{ "replace", required_argument, NULL, OPT_REPLACE },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "confirm", required_argument, NULL, OPT_CONFIRM },
	{ NULL, 0, NULL, 0 }
};

/*
 * A confirmation window: minutes ("10"), or a number with s, m or h
 * ("30s", "5m", "1h"), 1 s to STORE_CONFIRM_MAX.  0, or -1 when text is
 * not one.
 */
static int
parse_duration(const char *text, uint32_t *secs)
{
	unsigned long long n = 0, unit = 60;
	const char *p;

	for (p = text; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (unsigned long long)(*p - '0');
		if (n > STORE_CONFIRM_MAX)
			return -1;
	}
	if (p == text)
		return -1;
	if (*p == 's')
		unit = 1;
	else if (*p == 'h')
		unit = 3600;
	else if (*p != 'm' && *p != '\0')
		return -1;
	if (*p != '\0' && p[1] != '\0')
		return -1;
	if (n == 0 || n * unit > STORE_CONFIRM_MAX)
		return -1;
	*secs = (uint32_t)(n * unit);
	return 0;
}

/*
 * Parses the options of a write command; `allowed` lists the letters of
 * those it takes besides -m and --no-wait (l --list, f --file, y -y,
 * N -N, R --replace).  Options end at the first operand, and main has
 * dropped a "--" after it.  0, or the exit status for bad usage.
 */
int
cli_write_opts(const struct command *cmd, int argc, char **argv,
    const char *allowed, struct write_args *w)
{
	char *end;
	int ch;

	memset(w, 0, sizeof(*w));
	while ((ch = getopt_long(argc, argv, "+m:yN:", write_opts, NULL)) !=
	    -1) {
		int letter = ch == OPT_LIST ? 'l' : ch == OPT_FILE ? 'f' :
		    ch == OPT_REPLACE ? 'R' : ch == OPT_FORCE ? 'F' : ch;

		if (letter != 'm' && letter != OPT_NOWAIT && letter != 'F' &&
		    letter != OPT_CONFIRM &&
		    (letter == '?' || letter == ':' ||
		    strchr(allowed, letter) == NULL))
			return cli_usage(cmd);
		switch (letter) {
		case 'm':
			w->message = optarg;
			break;
		case OPT_NOWAIT:
			w->nowait = 1;
			break;
		case 'l':
			w->list = 1;
			break;
		case 'f':
			w->file = 1;
			break;
		case 'y':
			w->yes = 1;
			break;
		case 'N':
			w->back = strtol(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' ||
			    *end != '\0' || w->back < 1)
				return cli_error(ERR_INPUT, "invalid count '%s' "
				    "(-N N: N commits back, from 1)", optarg);
			break;
		case 'R':
			w->replace = optarg;
			break;
		case 'F':
			w->force = 1;
			break;
		case OPT_CONFIRM:
			if (parse_duration(optarg, &w->confirm) == -1)
				return cli_error(ERR_INPUT, "invalid duration "
				    "'%s' (--confirm N: minutes, or Ns, Nm, Nh; "
				    "at most %us)", optarg, STORE_CONFIRM_MAX);
			break;
		}
	}
	return 0;
}

/* Each line of text on stderr as "cfgstore: LINE". */
static void
print_refusals(char *text)
{
	char *line, *next;

	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		fprintf(stderr, "cfgstore: %s\n", line);
	}
}

/*
 * Every host's files as c makes them, by this node's checkers: 0, or the
 * exit status when the checks could not be made.  *refusals gets one
 * line per refusal (NULL: none), *nchecked the checkers run.
 */
static int
check_files(struct store *s, uint64_t head, const struct change *c,
    size_t *nchecked, char **refusals)
{
	struct error err = { 0 };
	char root[PATH_MAX];
	size_t nrefused = 0;

	cli_node_root_get(s, root, sizeof(root));
	if (render_check_candidate(s, head, c, root, refusals, &nrefused,
	    nchecked, &err) == -1) {
		/* Fail closed: what cannot be checked is not committed. */
		error_wrap(&err, "cannot check the files (--force commits "
		    "without checks)");
		return cli_fail(&err);
	}
	return 0;
}

/* Whether a line of refusals is about host's files. */
static int
about(const char *refusals, const char *host)
{
	const char *line = refusals;
	size_t len = strlen(host);

	while (line != NULL && *line != '\0') {
		if (strncmp(line, host, len) == 0 && line[len] == ':')
			return 1;
		if ((line = strchr(line, '\n')) != NULL)
			line++;
	}
	return 0;
}

/*
 * c checked here, then by every peer on its own host: 0 when nothing
 * refused (peers not checked are in pc, for the result), else the exit
 * status after one line per refusal.  A peer's files that this node's
 * checkers refuse are refused only when the peer does not check them
 * itself; its own checkers are those its render runs.  A write that
 * runs no checker here asks no peer: none would run there either.
 */
static int
check_everywhere(struct store *s, uint64_t head, const struct change *c,
    struct peer_checks *pc)
{
	struct buf standing = { 0 };
	char *refusals = NULL;
	size_t nchecked = 0, n;
	int rc;

	if ((rc = check_files(s, head, c, &nchecked, &refusals)) != 0)
		return rc;
	if (nchecked > 0 && !about(refusals, store_node(s)))
		cli_check_peers(s, head, c, pc);
	n = peer_checks_filter(pc, refusals, &standing);
	free(refusals);
	if (n + pc->nrefused == 0) {
		buf_free(&standing);
		return 0;
	}
	print_refusals(pc->refusals.data);
	print_refusals(standing.data);
	buf_free(&standing);
	return cli_error(ERR_CHECK, "refused by %zu check%s%s: nothing written "
	    "(--force commits it anyway)", n + pc->nrefused,
	    n + pc->nrefused == 1 ? "" : "s", n == 0 ? " on peers" : "");
}

int
cli_commit_report(struct cli *cli, struct store *s, struct change *c,
    const struct write_args *w)
{
	struct error err = { 0 };
	struct peer_checks pc = { 0 };
	char path[PATH_MAX];
	uint64_t rev = 0, head;
	int rc = 0, tries, made_for, lockfd;

	/*
	 * Writers take turns from their checks to their commit, so each is
	 * checked on the state it lands on; the lock goes before the wait
	 * for the peers.
	 */
	/* A replica takes no write; store_commit says so, naming the primary. */
	if (!store_is_primary(s)) {
		if (store_commit(s, c, w->message, &rev, &err) == -1)
			return cli_fail(&err);
		return cli_error(ERR_FAIL, "%s is not the primary",
		    store_node(s));
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/commit.lock",
	    store_dir(s)) >= sizeof(path))
		return cli_error(ERR_FAIL, "store path too long");
	if ((lockfd = lockfile_take(path, 1, &err)) == -1)
		return cli_fail(&err);
	/*
	 * A change made from the state at one head (rollback, replace,
	 * edit) is refused if the head moved; plain sets and deletes are
	 * checked again on the new head (a writer that does not take the
	 * lock moved it).
	 */
	made_for = change_expected_head(c, &head);
	for (tries = 1;; tries++) {
		if (!made_for && store_head(s, &head, NULL, &err) == -1) {
			rc = cli_fail(&err);
			break;
		}
		change_expect_head(c, head);
		change_set_flags(c, (w->force ? COMMIT_FORCED : 0) |
		    (w->confirms ? COMMIT_CONFIRMS : 0));
		change_set_confirm(c, w->confirm);
		/* What the store refuses is said before any checker runs. */
		if (store_check_change(s, c, &err) == -1) {
			rc = cli_fail(&err);
			break;
		}
		peer_checks_free(&pc);	/* of a try on another head */
		if (!w->force && change_count(c) > 0 &&
		    (rc = check_everywhere(s, head, c, &pc)) != 0)
			break;
		if (store_commit(s, c, w->message, &rev, &err) == 0)
			break;
		if (err.code != ERR_STALE || made_for || tries == CHECK_TRIES) {
			rc = cli_fail(&err);
			break;
		}
	}
	close(lockfd);
	if (rc == 0 && rev == 0)
		printf("%s: unchanged, head r%llu\n", store_node(s),
		    (unsigned long long)head);
	else if (rc == 0) {
		/* Committed: a peer not checked is one not yet in step. */
		if (pc.unchecked.len > 0)
			fwrite(pc.unchecked.data, 1, pc.unchecked.len, stdout);
		rc = cli_after_commit(cli, s, rev, w->nowait);
		if (rc == 0 && pc.nunchecked > 0)
			rc = ERR_PENDING;
	}
	peer_checks_free(&pc);
	return rc;
}

int
cmd_set(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct write_args w;
	struct error err = { 0 };
	struct value *v = NULL;
	struct change *c = NULL;
	struct store *s = NULL;
	int rc;

	if ((rc = cli_write_opts(cmd, argc, argv, "lfF", &w)) != 0)
		return rc;
	argc -= optind;
	argv += optind;
	if (argc < (w.list ? 1 : 2) || (w.file && (argc != 2 || w.list)))
		return cli_usage(cmd);
	if (key_check(argv[0], &err) == -1 ||
	    (w.file ? value_from_file(argv[1], &v, &err) :
	    value_from_args(argv + 1, argc - 1, w.list, &v, &err)) == -1)
		return cli_fail(&err);
	if ((c = change_new()) == NULL || change_set(c, argv[0], v, &err) == -1) {
		rc = cli_fail(&err);
		goto done;
	}
	if ((rc = cli_open(cli, 0, &s)) != 0)
		goto done;
	rc = cli_commit_report(cli, s, c, &w);
done:
	value_free(v);
	change_free(c);
	store_close(s);
	return rc;
}

int
cmd_del(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct write_args w;
	struct error err = { 0 };
	struct change *c;
	struct store *s = NULL;
	int rc;

	if ((rc = cli_write_opts(cmd, argc, argv, "F", &w)) != 0)
		return rc;
	if (optind == argc)
		return cli_usage(cmd);
	if ((c = change_new()) == NULL)
		return cli_error(ERR_FAIL, "out of memory");
	for (int i = optind; i < argc; i++)
		if (change_del(c, argv[i], &err) == -1) {
			rc = cli_fail(&err);
			goto done;
		}
	if ((rc = cli_open(cli, 0, &s)) != 0)
		goto done;
	rc = cli_commit_report(cli, s, c, &w);
done:
	change_free(c);
	store_close(s);
	return rc;
}

/* What --replace makes of b, for the head it read. */
static int
replace_change(struct store *s, const char *prefix, const struct batch *b,
    struct change *c, struct error *err)
{
	uint64_t head;
	size_t n;

	if (store_head(s, &head, NULL, err) == -1 ||
	    batch_replace(s, prefix, b, 0, c, &n, err) == -1)
		return -1;
	change_expect_head(c, head);
	return 0;
}

/*
 * The whole batch is read and checked before the store is touched, so a
 * bad line anywhere writes nothing.
 */
int
cmd_apply(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct write_args w;
	struct error err = { 0 };
	struct batch b = { 0 };
	struct change *c = NULL;
	struct store *s = NULL;
	const char *path = "-";
	int rc;

	if ((rc = cli_write_opts(cmd, argc, argv, "RF", &w)) != 0)
		return rc;
	if (argc - optind > 1)
		return cli_usage(cmd);
	if (optind < argc)
		path = argv[optind];
	if ((c = change_new()) == NULL)
		rc = cli_error(ERR_FAIL, "out of memory");
	else if (batch_load(path, &b, &err) == -1)
		rc = cli_fail(&err);
	else if (w.replace == NULL && b.n == 0)
		rc = cli_error(ERR_INPUT, "%s: no set or del lines", path);
	else if ((rc = cli_open(cli, 0, &s)) == 0) {
		if ((w.replace != NULL ? replace_change(s, w.replace, &b, c,
		    &err) : batch_change(&b, c, &err)) == -1)
			rc = cli_fail(&err);
		else
			rc = cli_commit_report(cli, s, c, &w);
	}
	batch_free(&b);
	change_free(c);
	store_close(s);
	return rc;
}

static int
show_one(void *arg, const char *key, const struct value *old,
    const struct value *new)
{
	(void)arg;
	return format_change(stdout, key, old, new) == -1 ? -1 : 0;
}

/* cli_commit_report with "WHAT rREV" as the message unless -m gave one. */
static int
commit_named(struct cli *cli, struct store *s, struct change *c,
    const struct write_args *w, const char *what, uint64_t rev)
{
	struct write_args named = *w;
	char msg[64];

	if (named.message == NULL) {
		snprintf(msg, sizeof(msg), "%s r%llu", what,
		    (unsigned long long)rev);
		named.message = msg;
	}
	return cli_commit_report(cli, s, c, &named);
}

int
cmd_rollback(struct cli *cli, const struct command *cmd, int argc,
    char **argv)
{
	struct write_args w;
	struct error err = { 0 };
	struct change *c = NULL;
	struct store *s = NULL;
	uint64_t to = 0, head;
	int rc;

	if ((rc = cli_write_opts(cmd, argc, argv, "yNF", &w)) != 0)
		return rc;
	if (argc - optind > 1 || (w.back > 0 && optind < argc))
		return cli_usage(cmd);
	if (optind < argc && (rc = cli_parse_rev(argv[optind], &to)) != 0)
		return rc;
	if ((rc = cli_open(cli, 0, &s)) != 0)
		return rc;
	if (store_head(s, &head, NULL, &err) == -1) {
		rc = cli_fail(&err);
		goto done;
	}
	if (to == 0) {
		uint64_t back = w.back > 0 ? (uint64_t)w.back : 1;

		if (head <= back) {
			rc = cli_error(ERR_FAIL, "nothing to roll back to: "
			    "%llu commit%s back from r%llu", (unsigned long long)
			    back, back == 1 ? "" : "s",
			    (unsigned long long)head);
			goto done;
		}
		to = head - back;
	}
	/*
	 * An admin at a terminal sees what it undoes; scripts are not asked.
	 * What the commit refuses (a replica, no such revision) is not
	 * asked about either.  What was shown is what commits: the change is
	 * made for this head, and refused should another commit come first.
	 */
	if (!w.yes && isatty(STDIN_FILENO) && store_is_primary(s) &&
	    to <= head) {
		char q[64];

		if (store_rollback_change(s, to, &c, &err) == -1) {
			rc = cli_fail(&err);
			goto done;
		}
		printf("rollback to r%llu changes:\n", (unsigned long long)to);
		if (store_diff(s, head, to, show_one, NULL, &err) != 0) {
			rc = cli_fail(&err);
			goto done;
		}
		snprintf(q, sizeof(q), "make r%llu with the state of r%llu?",
		    (unsigned long long)head + 1, (unsigned long long)to);
		if (!cli_confirm(q)) {
			printf("nothing committed\n");
			rc = ERR_FAIL;
			goto done;
		}
	}
	/* Checked and committed as any write: the same checks, --force. */
	if (c == NULL && store_rollback_change(s, to, &c, &err) == -1)
		rc = cli_fail(&err);
	else if (change_count(c) == 0)
		printf("%s: state already equals r%llu\n", store_node(s),
		    (unsigned long long)to);
	else
		rc = commit_named(cli, s, c, &w, "rollback to", to);
done:
	change_free(c);
	store_close(s);
	return rc;
}

/*
 * A commit with no operations that makes the confirmed commits waiting
 * final (COMMIT_CONFIRMS): signed, replicated and in the history like
 * any other.  Made for the head it looked at, so it cannot land after
 * the daemon's automatic rollback.
 */
int
cmd_confirm(struct cli *cli, const struct command *cmd, int argc,
    char **argv)
{
	struct write_args w;
	struct error err = { 0 };
	struct repl_confirm p;
	struct change *c = NULL;
	struct store *s = NULL;
	int rc;

	if ((rc = cli_write_opts(cmd, argc, argv, "", &w)) != 0)
		return rc;
	if (optind != argc || w.force || w.confirm != 0)
		return cli_usage(cmd);
	if ((rc = cli_open(cli, 0, &s)) != 0)
		return rc;
	if (repl_confirm_get(s, &p, &err) == -1) {
		rc = cli_fail(&err);
		goto done;
	}
	if (!p.pending) {
		rc = cli_error(ERR_NOCONFIRM, "nothing to confirm: no "
		    "confirmed commit is waiting");
		goto done;
	}
	if (p.reverted_ms != 0 || p.left_ms == 0) {
		rc = cli_error(ERR_NOCONFIRM, "nothing to confirm: r%llu "
		    "was not confirmed by its deadline and is rolled back",
		    (unsigned long long)p.rev);
		goto done;
	}
	if ((c = change_new()) == NULL) {
		rc = cli_error(ERR_FAIL, "out of memory");
		goto done;
	}
	change_expect_head(c, p.rev);
	w.confirms = 1;
	rc = commit_named(cli, s, c, &w, "confirm", p.rev);
done:
	change_free(c);
	store_close(s);
	return rc;
}
