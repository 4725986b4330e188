/*
 * cmd_serve.c - `serve`, the daemon, and `status`, how it is doing.
 */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "format.h"
#include "health.h"
#include "render.h"
#include "replicator.h"
#include "root.h"

/* The daemon leaves the working directory: paths must be absolute. */
static int
absolute(const char *in, char *out, size_t len)
{
	char cwd[PATH_MAX];

	if (in[0] == '/') {
		if ((size_t)snprintf(out, len, "%s", in) >= len)
			return cli_error(ERR_INPUT, "path too long: %s", in);
		return 0;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return cli_error(ERR_FAIL, "getcwd failed");
	if ((size_t)snprintf(out, len, "%s/%s", cwd, in) >= len)
		return cli_error(ERR_INPUT, "path too long: %s", in);
	return 0;
}

int
cmd_serve(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "user", required_argument, NULL, 'u' },
		{ "chroot", required_argument, NULL, 'c' },
		/* How the daemon starts its network process: not for users. */
		{ "network-process", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 }
	};
	struct repl_serve_opts o;
	struct error err = { 0 };
	struct store *s;
	char root[PATH_MAX], dir[PATH_MAX], chroot_dir[PATH_MAX];
	int ch, rc;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "+fv", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o.foreground = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'r':
			if ((rc = absolute(optarg, root, sizeof(root))) != 0)
				return rc;
			o.root = root;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'c':
			if ((rc = absolute(optarg, chroot_dir,
			    sizeof(chroot_dir))) != 0)
				return rc;
			o.chroot = chroot_dir;
			break;
		case 'N':
			repl_net_main();
		default:
			return cli_usage(cmd);
		}
	}
	if (optind != argc)
		return cli_usage(cmd);
	if ((rc = absolute(cli->dir, dir, sizeof(dir))) != 0)
		return rc;
	/* Fail here, on the terminal, when there is no store at all. */
	if ((rc = cli_open(cli, 0, &s)) != 0)
		return rc;
	rc = cli_node_root(cli, s, o.root, CLI_ROOT_SET, root, sizeof(root));
	store_close(s);
	if (rc != 0)
		return rc;
	o.root = root;
	if (repl_serve(dir, &o, &err) == -1)
		return cli_fail(&err);
	return 0;
}

/* ---- status -------------------------------------------------------------- */

static void
duration(char *out, size_t len, uint64_t ms)
{
	if (ms < 10000)
		snprintf(out, len, "%.1f s", (double)ms / 1000);
	else if (ms < 3600 * 1000)
		snprintf(out, len, "%" PRIu64 " s", ms / 1000);
	else
		snprintf(out, len, "%" PRIu64 " h %" PRIu64 " min",
		    ms / 3600000, ms / 60000 % 60);
}

static int
service_text(void *arg, const struct render_status *st)
{
	char when[32];

	(void)arg;
	format_time(when, sizeof(when), st->time_ms);
	printf("  %-10s r%-6" PRIu64 " %-14s %s%s%s\n", st->service, st->rev,
	    render_outcome_name(st->outcome), when,
	    st->message[0] != '\0' ? "  " : "", st->message);
	return 0;
}

/* Installed files that are no longer as cfgstore wrote them. */
struct files_count {
	size_t	n, off;
};

static int
file_count(void *arg, const struct render_file_status *st)
{
	struct files_count *fc = arg;

	fc->n++;
	fc->off += st->state != RENDER_FILE_OK;
	return 0;
}

static int
file_text(void *arg, const struct render_file_status *st)
{
	(void)arg;
	if (st->state == RENDER_FILE_DRIFTED)
		printf("  drifted     %s: edited since cfgstore installed it "
		    "at r%" PRIu64 "\n", st->path, st->rev);
	else if (st->state != RENDER_FILE_OK)
		printf("  %-11s %s%s%s\n", render_file_state_name(st->state),
		    st->path, st->why ? ": " : "", st->why ? st->why : "");
	return 0;
}

static void
files_text(struct store *s)
{
	struct files_count fc = { 0, 0 };
	struct error err = { 0 };

	if (render_files_each(s, file_count, &fc, &err) == -1) {
		printf("files:   (cannot read: %s)\n", err.msg);
		return;
	}
	if (fc.off == 0) {
		printf("files:   %zu, all as installed\n", fc.n);
		return;
	}
	printf("files:   %zu of %zu not as installed:\n", fc.off, fc.n);
	render_files_each(s, file_text, NULL, &err);
}

/*
 * Role, primary and epoch as this node sees them: a primary it cannot
 * reach is said to be so, not guessed at; a newer epoch it has heard
 * of, and the diverged branch, are told.
 */
static void
failover_text(const struct repl_status *st)
{
	const char *name = st->primary_name[0] ? st->primary_name :
	    "not known yet";
	char when[32];

	printf("node:    %s (%s)\n", st->node, st->primary ? "primary" :
	    "replica");
	printf("epoch:   %" PRIu64 "\n", st->epoch);
	if (st->fenced)
		printf("primary: %s, epoch %" PRIu64 " (fenced: this node's "
		    "history is at epoch %" PRIu64 "; writes refused until it "
		    "follows)\n", name, st->fenced_epoch, st->epoch);
	else if (!st->primary)
		printf("primary: %s, epoch %" PRIu64 ", %s\n", name, st->epoch,
		    st->primary_connected == 1 ? "connected" :
		    st->primary_connected == 0 ? "not reachable" :
		    "reachability unknown (daemon not running)");
	if (st->ndiverged > 0) {
		printf("diverged: %zu commit%s moved out of the history "
		    "(cfgstore log --diverged)", st->ndiverged,
		    st->ndiverged == 1 ? "" : "s");
		if (st->nexported > 0) {
			format_time(when, sizeof(when), st->exported_ms);
			printf(", %zu exported at %s", st->nexported, when);
		}
		putchar('\n');
	}
}

/* The same, as fields of the JSON status; -1 when one cannot be set. */
static int
failover_json(json_t *j, const struct repl_status *st)
{
	if (format_json_set(j, "epoch",
	    json_integer((json_int_t)st->epoch)) == -1 ||
	    format_json_set(j, "fenced", st->fenced ?
	    json_integer((json_int_t)st->fenced_epoch) : json_false()) == -1 ||
	    format_json_set(j, "primary_connected",
	    st->primary_connected < 0 ? json_null() :
	    json_boolean(st->primary_connected)) == -1 ||
	    format_json_set(j, "diverged",
	    json_integer((json_int_t)st->ndiverged)) == -1 ||
	    format_json_set(j, "diverged_exported",
	    json_integer((json_int_t)st->nexported)) == -1)
		return -1;
	return 0;
}

/* A confirmed commit waiting, and whether this node reverted it. */
static void
confirm_text(struct store *s)
{
	struct repl_confirm c;
	struct error err = { 0 };
	char when[32], left[32];

	if (repl_confirm_get(s, &c, &err) == -1) {
		printf("confirm: (cannot read: %s)\n", err.msg);
		return;
	}
	if (!c.pending)
		return;
	format_time(when, sizeof(when), c.deadline_ms);
	duration(left, sizeof(left), c.left_ms);
	printf("confirm: r%" PRIu64 " awaits confirmation until %s (%s left), "
	    "else back to r%" PRIu64 "\n", c.rev, when, left, c.base);
	if (c.reverted_ms != 0) {
		format_time(when, sizeof(when), c.reverted_ms);
		printf("         reverted r%" PRIu64 " locally at %s: "
		    "back to the files of r%" PRIu64 "\n", c.rev, when, c.base);
	}
}

static void
health_text(const struct health *h)
{
	size_t i;

	printf("health:  %s\n", h->n == 0 ? "ok" : "degraded");
	for (i = 0; i < h->n && i < HEALTH_MAX; i++)
		printf("  %-19s %s\n", h->r[i].token, h->r[i].line);
	if (h->n > HEALTH_MAX)
		printf("  (and %zu more)\n", h->n - HEALTH_MAX);
}

static void
status_text(struct store *s, const struct repl_status *st,
    const struct health *h)
{
	struct error err = { 0 };
	char hash[2 * STORE_HASH_LEN + 1], when[32], lag[32], root[PATH_MAX];
	size_t i;

	format_hash(hash, sizeof(hash), st->hash, 1);
	failover_text(st);
	if (st->head > 0) {
		format_time(when, sizeof(when), st->head_ms);
		printf("head:    r%" PRIu64 " %s %s\n", st->head, hash, when);
	} else
		printf("head:    r0 (empty)\n");
	printf("daemon:  %s\n", st->daemon ? "running" :
	    "not running (peer state as last recorded)");
	confirm_text(s);
	if (st->listen[0] != '\0')
		printf("listen:  %s\n", st->listen);
	cli_node_root_get(s, root, sizeof(root));
	printf("root:    %s\n", root[0] ? root : "/");
	printf("peers:%s\n", st->npeers == 0 ? " none" : "");
	for (i = 0; i < st->npeers; i++) {
		const struct repl_peer_status *p = &st->peers[i];

		printf("  %s %s: %s", p->name, p->addr, !st->daemon ? "unknown" :
		    p->connected ? "connected" : "not connected");
		if (p->acked_ms == 0)
			printf(", nothing acknowledged yet");
		else {
			format_time(when, sizeof(when), p->acked_ms);
			printf(", %s r%" PRIu64 " at %s", st->primary ?
			    "acknowledged" : "we acknowledged", p->acked, when);
		}
		if (p->lag > 0) {
			duration(lag, sizeof(lag), p->lag_ms);
			printf(", %s %" PRIu64 " commit%s (%s)", st->primary ?
			    "lag" : "behind by", p->lag, p->lag == 1 ? "" : "s",
			    lag);
		} else if (p->acked_ms != 0)
			printf(", lag 0");
		printf("\n");
		if (p->error[0] != '\0') {
			format_time(when, sizeof(when), p->error_ms);
			printf("    last error at %s: %s\n", when, p->error);
		}
	}
	printf("services:\n");
	if (render_status_each(s, service_text, NULL, &err) == -1)
		printf("  (cannot read: %s)\n", err.msg);
	files_text(s);
	health_text(h);
}

static json_t *
time_json(uint64_t ms)
{
	char when[32];

	if (ms == 0)
		return json_null();
	format_time(when, sizeof(when), ms);
	return json_string(when);
}

static int
service_json(void *arg, const struct render_status *st)
{
	json_array_append_new(arg, json_pack("{s:s, s:I, s:o, s:s, s:s}",
	    "name", st->service, "rev", (json_int_t)st->rev,
	    "time", time_json(st->time_ms),
	    "result", render_outcome_name(st->outcome),
	    "message", st->message));
	return 0;
}

static int
file_json(void *arg, const struct render_file_status *st)
{
	json_array_append_new(arg, json_pack("{s:s, s:I, s:s, s:o}",
	    "path", st->path, "rev", (json_int_t)st->rev,
	    "state", render_file_state_name(st->state),
	    "error", st->why ? json_string(st->why) : json_null()));
	return 0;
}

static json_t *
confirm_json(struct store *s, struct error *err)
{
	struct repl_confirm c;

	if (repl_confirm_get(s, &c, err) == -1)
		return NULL;
	if (!c.pending)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:o, s:f, s:o}",
	    "rev", (json_int_t)c.rev, "base", (json_int_t)c.base,
	    "window", (json_int_t)c.window,
	    "deadline", time_json(c.deadline_ms),
	    "seconds_left", (double)c.left_ms / 1000,
	    "reverted_locally", time_json(c.reverted_ms));
}

static int
status_json(struct store *s, const struct repl_status *st,
    const struct health *h)
{
	struct error err = { 0 };
	char hash[2 * STORE_HASH_LEN + 1], root[PATH_MAX];
	json_t *j, *peers, *services, *files, *confirm, *reasons;
	size_t i;

	format_hash(hash, sizeof(hash), st->hash, 1);
	peers = json_array();
	for (i = 0; i < st->npeers; i++) {
		const struct repl_peer_status *p = &st->peers[i];

		json_array_append_new(peers, json_pack("{s:s, s:s, s:s, s:o,"
		    " s:I, s:o, s:I, s:I, s:f, s:o, s:o}",
		    "name", p->name, "address", p->addr, "key", p->key,
		    "connected", st->daemon ? json_boolean(p->connected) :
		    json_null(),
		    "acked", (json_int_t)p->acked,
		    "acked_time", time_json(p->acked_ms),
		    "peer_head", (json_int_t)p->peer_head,
		    "lag", (json_int_t)p->lag,
		    "lag_seconds", (double)p->lag_ms / 1000,
		    "last_error", p->error[0] ? json_string(p->error) :
		    json_null(),
		    "last_error_time", time_json(p->error[0] ? p->error_ms : 0)));
	}
	services = json_array();
	files = json_array();
	if (render_status_each(s, service_json, services, &err) == -1 ||
	    render_files_each(s, file_json, files, &err) == -1 ||
	    (confirm = confirm_json(s, &err)) == NULL) {
		json_decref(peers);
		json_decref(services);
		json_decref(files);
		return cli_fail(&err);
	}
	reasons = json_array();
	for (i = 0; i < h->n && i < HEALTH_MAX; i++)
		json_array_append_new(reasons, json_pack("{s:s, s:s}",
		    "reason", h->r[i].token, "text", h->r[i].line));
	cli_node_root_get(s, root, sizeof(root));
	j = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:{s:I, s:s, s:o}, s:b,"
	    " s:o, s:o, s:o, s:o, s:{s:b, s:o, s:s?, s:s?, s:o}, s:b, s:o}",
	    "node", st->node, "role", st->primary ? "primary" : "replica",
	    "primary", st->primary_name[0] ? st->primary_name : NULL,
	    "listen", st->listen[0] ? st->listen : NULL,
	    "root", root[0] ? root : "/",
	    "head", "rev", (json_int_t)st->head, "hash", hash,
	    "time", time_json(st->head_ms),
	    "daemon", st->daemon, "peers", peers, "services", services,
	    "files", files, "confirm", confirm,
	    "carp", "demoted", st->demoted,
	    "since", time_json(st->demoted ? st->demoted_ms : 0),
	    "why", st->demoted ? st->demote_why : NULL,
	    "error", st->demote_error[0] ? st->demote_error : NULL,
	    "error_time", time_json(st->demote_error[0] ?
	    st->demote_error_ms : 0),
	    "healthy", h->n == 0, "reasons", reasons);
	if (j != NULL && failover_json(j, st) == -1) {
		json_decref(j);
		j = NULL;
	}
	return format_json_print(j);
}

int
cmd_status(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct repl_status *st = NULL;
	struct health h;
	struct error err = { 0 };
	struct store *s;
	int ch, json = 0, rc;

	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (ch != 'j')
			return cli_usage(cmd);
		json = 1;
	}
	if (optind != argc)
		return cli_usage(cmd);
	if ((rc = cli_open(cli, STORE_RDONLY, &s)) != 0)
		return rc;
	if (repl_status_get(s, &st, &err) == -1)
		rc = cli_fail(&err);
	else {
		health_verdict(s, st, &h);
		if (json)
			rc = status_json(s, st, &h);
		else
			status_text(s, st, &h);
		if (rc == 0 && h.n > 0)
			rc = cli_exit_status(ERR_DEGRADED);
	}
	repl_status_free(st);
	store_close(s);
	return rc;
}
