/*
 * cmd_edit.c - edit: the keys under a prefix as a batch in $EDITOR,
 * reviewed key by key and committed as one commit.
 *
 * The batch holds secrets (dhcpd.key as base64), so it lives in a
 * directory of its own, mode 0700, as a file of mode 0600, and both are
 * removed whatever happens.  What the editor saves replaces the keys under
 * the prefix (apply --replace): a line taken out deletes its key.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "batch.h"
#include "format.h"

struct edit {
	struct store	*s;
	const char	*prefix;	/* "" for every key */
	char		 dir[PATH_MAX];
	char		 path[PATH_MAX];
	struct buf	 orig;		/* the batch as first written */
};

/* For the signal handler: what to remove if we are killed mid-edit. */
static const char *volatile gone_path, *volatile gone_dir;

static void
on_signal(int sig)
{
	(void)sig;
	if (gone_path != NULL)
		unlink(gone_path);
	if (gone_dir != NULL)
		rmdir(gone_dir);
	_exit(ERR_FAIL);
}

static int
export_one(void *arg, const char *key, const struct value *v)
{
	format_set_line(arg, key, v);
	return 0;
}

/* Writes text to e->path, replacing it; 0 or -1 with err. */
static int
write_file(const struct edit *e, const char *text, size_t len,
    struct error *err)
{
	int fd;

	(void)unlink(e->path);
	if ((fd = open(e->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1)
		return error_errno(err, ERR_FAIL, "%s", e->path);
	while (len > 0) {
		ssize_t n = write(fd, text, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			close(fd);
			return error_errno(err, ERR_FAIL, "%s", e->path);
		}
		text += n;
		len -= (size_t)n;
	}
	if (close(fd) == -1)
		return error_errno(err, ERR_FAIL, "%s", e->path);
	return 0;
}

/* The keys under the prefix as a batch, with a heading, in e->orig. */
static int
first_text(struct edit *e, uint64_t head, struct error *err)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if ((f = open_memstream(&text, &len)) == NULL)
		return error_errno(err, ERR_FAIL, "edit");
	fprintf(f, "# cfgstore edit: the keys starting with '%s' at r%llu, "
	    "as apply takes them.\n# Change, add or take out lines; a key "
	    "whose line is taken out is deleted.\n# Save and quit to review "
	    "the changes; an empty file commits nothing.\n", e->prefix,
	    (unsigned long long)head);
	rc = store_list(e->s, e->prefix[0] ? e->prefix : NULL, head,
	    export_one, f, err);
	if (fclose(f) == EOF && rc == 0)
		rc = error_errno(err, ERR_FAIL, "edit");
	if (rc == 0 && buf_append(&e->orig, text, len) == -1)
		rc = error_errno(err, ERR_FAIL, "edit");
	if (text != NULL)
		sodium_memzero(text, len);
	free(text);
	return rc;
}

/*
 * Runs $EDITOR (else vi) on the file, on this terminal, as sh -c does
 * with $EDITOR "$1" so EDITOR may carry arguments.  Not run_shell: the
 * editor needs the terminal, not a pipe.  Interrupts go to the editor.
 */
static int
run_editor(const char *path, struct error *err)
{
	const char *editor = getenv("EDITOR");
	struct sigaction ign, oint, oquit;
	pid_t pid;
	int st;

	/* The child runs "$EDITOR", so the default goes in the environment. */
	if (editor == NULL || *editor == '\0') {
		editor = "vi";
		if (setenv("EDITOR", editor, 1) == -1)
			return error_errno(err, ERR_FAIL, "setenv");
	}
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	if ((pid = fork()) == -1) {
		error_errno(err, ERR_FAIL, "fork");
		goto restore;
	}
	if (pid == 0) {
		sigaction(SIGINT, &oint, NULL);
		sigaction(SIGQUIT, &oquit, NULL);
		execl("/bin/sh", "sh", "-c", "$EDITOR \"$1\"", "sh", path,
		    (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1) {
		if (errno != EINTR) {
			error_errno(err, ERR_FAIL, "waitpid");
			goto restore;
		}
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		error_set(err, ERR_FAIL, "the editor (%s) failed; nothing "
		    "committed", editor);
restore:
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	return err->msg[0] != '\0' ? -1 : 0;
}

/* 1 when text holds nothing but comments and blank lines. */
static int
empty_batch(const char *text)
{
	while (*text != '\0') {
		text += strspn(text, " \t\r\n");
		if (*text == '#')
			text += strcspn(text, "\n");
		else if (*text != '\0')
			return 0;
	}
	return 1;
}

/* Puts the error at the top of the text as a comment, for the rerun. */
static int
with_error(const char *msg, struct buf *text, struct error *err)
{
	struct buf b = { 0 };
	const char *p = text->data ? text->data : "";

	buf_secret(&b);
	/* Drop the error of the previous round. */
	if (strncmp(p, "# error: ", 9) == 0)
		p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != '\0');
	if (buf_printf(&b, "# error: %s\n", msg) == -1 || buf_puts(&b, p) == -1) {
		buf_free_secret(&b);
		return error_errno(err, ERR_FAIL, "edit");
	}
	buf_free_secret(text);
	*text = b;
	return 0;
}

/*
 * Edits until the file parses (or is emptied): the batch in *b.  Returns
 * 1 when there is nothing to commit, 0 with a batch, -1 with err.
 */
static int
edit_loop(struct edit *e, struct batch *b, struct error *err)
{
	struct buf text = { 0 }, before = { 0 };
	struct error perr;
	FILE *f;
	int rc = -1;

	buf_secret(&text);
	buf_secret(&before);
	if (buf_append(&text, e->orig.data, e->orig.len) == -1) {
		error_errno(err, ERR_FAIL, "edit");
		goto done;
	}
	for (;;) {
		buf_reset(&before);
		if (buf_append(&before, text.data, text.len) == -1 ||
		    write_file(e, text.data, text.len, err) == -1 ||
		    run_editor(e->path, err) == -1)
			goto done;
		buf_reset(&text);
		if (buf_read_file(&text, e->path, SIZE_MAX / 2) == -1) {
			error_errno(err, ERR_FAIL, "%s", e->path);
			goto done;
		}
		if ((text.len == e->orig.len && memcmp(text.data, e->orig.data,
		    text.len) == 0) || empty_batch(text.data ? text.data : "")) {
			rc = 1;
			goto done;
		}
		if ((f = fmemopen(text.data, text.len, "r")) == NULL) {
			error_errno(err, ERR_FAIL, "edit");
			goto done;
		}
		memset(&perr, 0, sizeof(perr));
		batch_free(b);
		rc = batch_read(f, "edit", b, &perr);
		fclose(f);
		if (rc == 0)
			goto done;
		rc = -1;
		/*
		 * Left as it was, with its error: the editor gave up.  Without
		 * a terminal, a script is asked whether to go round again.
		 */
		if ((text.len == before.len && memcmp(text.data, before.data,
		    text.len) == 0) || (!isatty(STDIN_FILENO) &&
		    (fprintf(stderr, "cfgstore: %s\n", perr.msg),
		    !cli_confirm("edit again?")))) {
			*err = perr;
			error_wrap(err, "nothing committed");
			goto done;
		}
		if (isatty(STDIN_FILENO))
			fprintf(stderr, "cfgstore: %s (back to the editor)\n",
			    perr.msg);
		if (with_error(perr.msg, &text, err) == -1)
			goto done;
	}
done:
	buf_free_secret(&text);
	buf_free_secret(&before);
	return rc;
}

int
cmd_edit(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct write_args w;
	struct edit e;
	struct error err = { 0 };
	struct batch b = { 0 };
	struct change *c = NULL;
	const char *tmp = getenv("TMPDIR");
	uint64_t head, now;
	size_t n;
	int rc, r;

	if ((rc = cli_write_opts(cmd, argc, argv, "yF", &w)) != 0)
		return rc;
	if (argc - optind > 1)
		return cli_usage(cmd);
	memset(&e, 0, sizeof(e));
	buf_secret(&e.orig);
	e.prefix = optind < argc ? argv[optind] : "";
	if ((rc = cli_open(cli, 0, &e.s)) != 0)
		return rc;
	/* Before the editor, so no edit is made that cannot be committed. */
	if (!store_is_primary(e.s)) {
		char primary[STORE_NODE_MAX + 1];

		if (store_primary_name(e.s, primary, sizeof(primary),
		    NULL) == -1)
			snprintf(primary, sizeof(primary), "(no primary known)");
		rc = cli_error(ERR_NOTPRIMARY, "%s is a replica: edit on the "
		    "primary%s%s", store_node(e.s), primary[0] == '(' ? " " :
		    ", ", primary);
		goto done;
	}
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(e.dir, sizeof(e.dir), "%s/cfgstore-edit.XXXXXX",
	    tmp) >= sizeof(e.dir) || mkdtemp(e.dir) == NULL) {
		e.dir[0] = '\0';
		rc = cli_error(ERR_FAIL, "edit: cannot make a private "
		    "directory in %s: %s", tmp, strerror(errno));
		goto done;
	}
	if ((size_t)snprintf(e.path, sizeof(e.path), "%s/edit.cfgstore",
	    e.dir) >= sizeof(e.path)) {
		e.path[0] = '\0';
		rc = cli_error(ERR_FAIL, "edit: %s: path too long", e.dir);
		goto done;
	}
	gone_path = e.path;
	gone_dir = e.dir;
	signal(SIGHUP, on_signal);
	signal(SIGTERM, on_signal);
	if (store_head(e.s, &head, NULL, &err) == -1 ||
	    first_text(&e, head, &err) == -1 ||
	    (r = edit_loop(&e, &b, &err)) == -1) {
		rc = cli_fail(&err);
		goto done;
	}
	if (r == 1) {
		printf("no changes; nothing committed\n");
		goto done;
	}
	if ((c = change_new()) == NULL) {
		rc = cli_error(ERR_FAIL, "out of memory");
		goto done;
	}
	/*
	 * Someone else's commit meanwhile would be undone without a word:
	 * refused here, and by the commit should one come after this look.
	 */
	change_expect_head(c, head);
	if (store_head(e.s, &now, NULL, &err) == -1 ||
	    (now != head && error_set(&err, ERR_FAIL, "the store moved from "
	    "r%llu to r%llu during the edit; nothing committed, edit again",
	    (unsigned long long)head, (unsigned long long)now) == -1) ||
	    batch_replace(e.s, e.prefix, &b, 1, c, &n, &err) == -1) {
		rc = cli_fail(&err);
		goto done;
	}
	if (n == 0) {
		printf("no changes; nothing committed\n");
		goto done;
	}
	change_expect_head(c, head);	/* and while the question waits */
	if (!w.yes && !cli_confirm(n == 1 ? "commit this change?" :
	    "commit these changes?")) {
		printf("nothing committed\n");
		rc = ERR_FAIL;
		goto done;
	}
	rc = cli_commit_report(cli, e.s, c, &w);
done:
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (e.path[0] != '\0')
		(void)unlink(e.path);
	if (e.dir[0] != '\0')
		(void)rmdir(e.dir);
	buf_free_secret(&e.orig);
	batch_free(&b);
	change_free(c);
	store_close(e.s);
	return rc;
}
