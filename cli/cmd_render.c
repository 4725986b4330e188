/*
 * cmd_render.c - render: this host's files, now, at the head revision.
 *
 * stdout: the dry run's diff, then one summary line ("restarted unbound",
 * "would restart ntpd", "no change").  stderr: one line per service that
 * failed.  -v (--verbose) adds, on stdout, everything a refusing
 * checker said.  Exit 0 when every service is as it should be, 1 when
 * any failed, 2 on bad usage or an unknown service.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "render.h"
#include "replicator.h"
#include "root.h"

/* A checker's whole output, each line indented under the service. */
static void
print_output(const char *service, const char *out)
{
	size_t n;

	if (*out == '\0')
		return;
	printf("%s: the checker said:\n", service);
	for (; *out != '\0'; out += n + (out[n] != '\0')) {
		n = strcspn(out, "\n");
		printf("\t%.*s\n", (int)n, out);
	}
}

int
cmd_render(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "root", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct render_opts o = { 0 };
	struct render_report *r = NULL;
	struct store *s = NULL;
	struct error err = { 0 };
	struct buf diff = { 0 };
	struct repl_confirm cf;
	uint64_t at = 0;
	char root[PATH_MAX], line[1024];
	const char *warning;
	size_t i;
	int ch, rc, verbose = 0;

	while ((ch = getopt_long(argc, argv, "+v", opts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			verbose = 1;
			break;
		case 'n':
			o.dry_run = 1;
			break;
		case 'f':
			o.force = 1;
			break;
		case 'r':
			if ((rc = cli_root_path(optarg, root,
			    sizeof(root))) != 0)
				return rc;
			o.root = root;
			break;
		default:
			return cli_usage(cmd);
		}
	}
	o.services = (const char *const *)argv + optind;
	o.nservices = (size_t)(argc - optind);
	if (o.dry_run)
		o.diff = &diff;

	if ((rc = cli_open(cli, 0, &s)) != 0)
		return rc;
	if ((rc = cli_node_root(cli, s, o.root, o.force ? CLI_ROOT_FORCE : 0,
	    root, sizeof(root))) != 0)
		goto done;
	o.root = root;
	/* A node that reverted a confirmed commit stays on what it put back. */
	if (repl_confirm_get(s, &cf, &err) == 0 && cf.reverted_ms != 0) {
		at = cf.base;
		printf("r%llu was reverted here: rendering r%llu\n",
		    (unsigned long long)cf.rev, (unsigned long long)at);
	}
	if (render_run(s, at, &o, &r, &err) == -1) {
		rc = cli_fail(&err);
		goto done;
	}
	fwrite(diff.data != NULL ? diff.data : "", 1, diff.len, stdout);
	printf("%s\n", render_report_summary(r, line, sizeof(line)));
	for (i = 0; verbose && i < render_report_count(r); i++)
		print_output(render_report_service(r, i),
		    render_report_output(r, i));
	fflush(stdout);
	if ((warning = render_report_warning(r)) != NULL)
		cli_error(ERR_FAIL, "warning: %s", warning);
	for (i = 0; i < render_report_count(r); i++)
		if (render_outcome_failed(render_report_outcome(r, i)))
			cli_error(ERR_FAIL, "%s: %s", render_report_service(r, i),
			    render_report_message(r, i));
	rc = render_report_failures(r) > 0 ? ERR_FAIL : 0;
done:
	render_report_free(r);
	buf_free(&diff);
	store_close(s);
	return rc;
}
