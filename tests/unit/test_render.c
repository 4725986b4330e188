/*
 * test_render.c - the renderer's pieces: atomic install, the template
 * data, the manifest and its errors, and render_run's report, records and
 * recovery, on a real store in a scratch directory.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "install.h"
#include "manifest.h"
#include "render.h"
#include "run.h"
#include "state.h"
#include "store.h"

static char scratch[] = "/tmp/cfgstore-unit.XXXXXX";
static char owner[32], group[32];	/* ours: tests need not be root */

static void
spath(char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s/%s", scratch, rel);
}

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static char *
read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	buf[0] = '\0';
	if (f == NULL)
		return buf;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/*
 * fsync(2) of a directory fails while fail_dir_fsync is set: this
 * definition wins over libc's for the renderer linked in here.
 */
static int fail_dir_fsync;

int
fsync(int fd)
{
	static int (*real)(int);
	struct stat sb;

	if (fail_dir_fsync && fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		errno = EIO;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "fsync");
	return real(fd);
}

/* ---- child processes ----------------------------------------------------- */

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void
test_run_shell(void)
{
	struct run_result res;
	struct error err = { 0 };
	sigset_t set, old;
	double cpu;
	char how[64];

	CHECK(run_shell("echo hello; exit 3", 5000, &res, &err) == 0);
	CHECK(res.exited && res.status == 3 && !run_ok(&res));
	CHECK(res.output.data != NULL && strcmp(res.output.data, "hello\n") == 0);
	run_result_free(&res);

	/* Its output closed early, the command goes on: wait, do not spin. */
	cpu = cpu_seconds();
	CHECK(run_shell("exec >/dev/null 2>&1; sleep 1", 5000, &res,
	    &err) == 0);
	CHECK(run_ok(&res));
	run_result_free(&res);
	cpu = cpu_seconds() - cpu;
	if (cpu >= 0.2)
		printf("  %.2f s of CPU waiting for a silent command\n", cpu);
	CHECK(cpu < 0.2);

	/* A hung command is killed at the deadline. */
	CHECK(run_shell("sleep 30", 300, &res, &err) == 0);
	CHECK(res.timed_out && !run_ok(&res));
	CHECK_STR(run_describe(&res, how, sizeof(how)), "timed out, killed");
	run_result_free(&res);

	/* Our ignored SIGPIPE and blocked SIGUSR1 are not the child's. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	CHECK(run_shell("kill -PIPE $$; echo survived", 5000, &res,
	    &err) == 0);
	CHECK(!res.exited && res.status == SIGPIPE);
	run_result_free(&res);
	CHECK(run_shell("kill -USR1 $$; echo survived", 5000, &res,
	    &err) == 0);
	CHECK(!res.exited && res.status == SIGUSR1);
	run_result_free(&res);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGPIPE, SIG_DFL);

	/* No status to be had (children reaped for us): a failure, at once. */
	signal(SIGCHLD, SIG_IGN);
	CHECK(run_shell("true", 5000, &res, &err) == -1 &&
	    strstr(err.msg, "wait for 'true'") != NULL);
	signal(SIGCHLD, SIG_DFL);
}

/* ---- building stores ---------------------------------------------------- */

static struct store *
new_store(const char *name)
{
	struct store_init_opts o = { "fw1", 1, NULL };
	struct error err = { 0 };
	struct store *s = NULL;
	char dir[256];

	spath(dir, sizeof(dir), name);
	if (store_init(dir, &o, &err) == -1 ||
	    store_open(dir, 0, &s, &err) == -1)
		printf("not ok: store %s: %s\n", name, err.msg);
	return s;
}

/*
 * Commits "KEY=VALUE" lines: VALUE "[a|b]" is a list, "<text>" a blob,
 * anything else a string; "KEY=" alone deletes KEY.
 */
static void
commit(struct store *s, ...)
{
	struct error err = { 0 };
	struct change *c = change_new();
	struct value *v;
	const char *line, *eq, *items[16];
	char key[256], val[1024], *p;
	uint64_t rev;
	va_list ap;
	size_t n;
	int rc;

	va_start(ap, s);
	while ((line = va_arg(ap, const char *)) != NULL) {
		eq = strchr(line, '=');
		snprintf(key, sizeof(key), "%.*s", (int)(eq - line), line);
		snprintf(val, sizeof(val), "%s", eq + 1);
		n = strlen(val);
		v = NULL;
		if (n == 0)
			rc = change_del(c, key, &err);
		else if (val[0] == '[' && val[n - 1] == ']') {
			val[n - 1] = '\0';
			for (n = 0, p = strtok(val + 1, "|"); p != NULL && n < 16;
			    p = strtok(NULL, "|"))
				items[n++] = p;
			rc = value_list(items, n, &v, &err);
		} else if (val[0] == '<' && val[n - 1] == '>')
			rc = value_blob(val + 1, n - 2, &v, &err);
		else
			rc = value_string(val, n, &v, &err);
		if (rc == 0 && v != NULL)
			rc = change_set(c, key, v, &err);
		if (rc == -1)
			printf("not ok: %s: %s\n", line, err.msg);
		value_free(v);
	}
	va_end(ap);
	if (store_commit(s, c, "test", &rev, &err) == -1)
		printf("not ok: commit: %s\n", err.msg);
	change_free(c);
}

/* A one-file service: NAME renders template t to /NAME.conf, ours. */
static void
simple_service(struct store *s, const char *name, const char *restart)
{
	char k[6][128], v[6][512];

	snprintf(k[0], 128, "service.%s.files=conf", name);
	snprintf(k[1], 128, "service.%s.file.conf.path=/%s.conf", name, name);
	snprintf(k[2], 128, "service.%s.file.conf.template=t", name);
	snprintf(k[3], 128, "service.%s.file.conf.owner=%s", name, owner);
	snprintf(k[4], 128, "service.%s.file.conf.group=%s", name, group);
	snprintf(v[0], 512, "service.%s.restart=%s", name, restart);
	commit(s, k[0], k[1], k[2], k[3], k[4], v[0], (char *)NULL);
}

/* ---- install ------------------------------------------------------------- */

static void
test_install(void)
{
	char path[256], dir[256], other[256], text[64], hex[INSTALL_HASH_HEX];
	struct fstate st, none = { 0 };
	struct error err = { 0 };
	struct stat sb;
	char *cand = NULL;

	spath(dir, sizeof(dir), "inst/a/b");
	spath(path, sizeof(path), "inst/a/b/f.conf");

	/* Parents are made; the candidate sits beside the file, hidden. */
	CHECK(install_candidate(path, "hello\n", 6, 0640, getuid(), getgid(),
	    &cand, &err) == 0);
	CHECK(cand != NULL && strncmp(cand, dir, strlen(dir)) == 0 &&
	    strncmp(cand + strlen(dir), "/.f.conf.cfgstore-new.", 22) == 0);
	CHECK(cand != NULL && stat(cand, &sb) == 0 &&
	    (sb.st_mode & 07777) == 0640 && sb.st_size == 6);
	CHECK(stat(path, &sb) == -1);
	CHECK(install_rename(cand, path, &err) == 0);
	CHECK(stat(cand, &sb) == -1);
	free(cand);
	CHECK_STR(read_text(path, text, sizeof(text)), "hello\n");

	CHECK(install_stat(path, 1024, &st, &err) == 0);
	CHECK(st.exists && st.mode == 0640 && st.bytes.len == 6 &&
	    st.uid == getuid());
	install_stat_clear(&st);
	CHECK(install_stat(path, 3, &st, &err) == -1);
	install_stat_clear(&st);

	/* Renamed, but the directory not synced: says so, and it is there. */
	fail_dir_fsync = 1;
	CHECK(install_candidate(path, "synced?\n", 8, 0640, getuid(),
	    getgid(), &cand, &err) == 0);
	CHECK(install_rename(cand, path, &err) == 1 &&
	    strstr(err.msg, "fsync") != NULL);
	free(cand);
	CHECK_STR(read_text(path, text, sizeof(text)), "synced?\n");
	CHECK(install_stat(path, 1024, &st, &err) == 0);
	fail_dir_fsync = 0;
	CHECK(install_restore(path, &st, &err) == 0);
	install_stat_clear(&st);

	/* A file that is not there; something that is not a file. */
	spath(other, sizeof(other), "inst/a/b/nothing");
	CHECK(install_stat(other, 1024, &st, &err) == 0 && !st.exists);
	spath(other, sizeof(other), "inst/a/b/link");
	CHECK(symlink(path, other) == 0);
	CHECK(install_stat(other, 1024, &st, &err) == -1 &&
	    strstr(err.msg, "not a regular file") != NULL);
	install_stat_clear(&st);

	/* Restoring "no file" removes it. */
	CHECK(install_restore(path, &none, &err) == 0);
	CHECK(stat(path, &sb) == -1);

	/* The sweep takes candidates only. */
	spath(other, sizeof(other), "inst/a/b/.g.cfgstore-new.AbCdEf");
	write_file(other, "left");
	spath(text, sizeof(text), "inst/a/b/.keep");
	write_file(text, "mine");
	CHECK(install_sweep(dir, &err) == 0);
	CHECK(stat(other, &sb) == -1);
	CHECK(stat(text, &sb) == 0);
	CHECK(install_sweep("/nonexistent/dir", &err) == 0);

	install_hash("", 0, hex);
	CHECK_STR(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cd"
	    "f12fe3a8");
}

/* ---- the template data --------------------------------------------------- */

static void
test_data(void)
{
	struct store *s = new_store("data");
	struct error err = { 0 };
	struct tree *data = NULL;
	char *warning = NULL;

	commit(s, "a.b=x", "a.c=[1|2]", "k=<bytes>", "a.d=base",
	    "a.d@fw1=mine", "node=shadowed", (char *)NULL);
	CHECK(manifest_data(s, "fw1", 0, &data, &warning, &err) == 0);
	CHECK_STR(tree_string(tree_get_path(data, "a.b"), NULL), "x");
	CHECK(tree_type(tree_get_path(data, "a.c")) == TREE_LIST &&
	    tree_len(tree_get_path(data, "a.c")) == 2);
	CHECK(tree_get_path(data, "k") == NULL);	/* blobs are files */
	CHECK_STR(tree_string(tree_get_path(data, "a.d"), NULL), "mine");
	CHECK_STR(tree_string(tree_get_path(data, "node"), NULL), "fw1");
	CHECK(warning == NULL);
	tree_free(data);

	/* a.b holds a value: a.b.c has no place, and is named. */
	commit(s, "a.b.c=y", (char *)NULL);
	CHECK(manifest_data(s, "fw1", 0, &data, &warning, &err) == 0);
	CHECK(warning != NULL && strstr(warning, "'a.b.c'") != NULL);
	CHECK_STR(tree_string(tree_get_path(data, "a.b"), NULL), "x");
	tree_free(data);
	free(warning);
	store_close(s);
}

/* ---- the manifest -------------------------------------------------------- */

/* manifest_service(name) fails and says what. */
static int
fails_with(struct store *s, const char *name, const char *what)
{
	struct error err = { 0 };
	struct tree *data = NULL;
	struct mservice m;
	char *warning = NULL;
	int ok;

	manifest_data(s, "fw1", 0, &data, &warning, &err);
	ok = manifest_service(s, "fw1", 0, data, name, &m, &err) == -1 &&
	    strstr(err.msg, what) != NULL;
	if (!ok)
		printf("  %s: got [%s], want [%s]\n", name, err.msg, what);
	CHECK(m.nfiles == 0 && m.name == NULL);
	tree_free(data);
	free(warning);
	return ok;
}

static void
test_manifest(void)
{
	struct store *s = new_store("manifest");
	struct error err = { 0 };
	struct tree *data = NULL;
	struct mservice m;
	char *warning = NULL;

	commit(s, "template.t=<{{name}} on {{node}}\n>",
	    "template.lines=<{{#xs}}{{.}}\n{{/xs}}{{missing}}>",
	    "items=[one|two]", "items2=[../evil|ok]",
	    "item.one.name=first", "item.two.name=second",
	    "service.each.files=[f|g]",
	    "service.each.check=test -s {}",
	    "service.each.restart=true",
	    "service.each.timeout=5",
	    "service.each.file.f.each=items",
	    "service.each.file.f.path=/out/{}.conf",
	    "service.each.file.f.template=t",
	    "service.each.file.f.data=item.{}",
	    "service.each.file.f.mode=0600",
	    "service.each.file.g.path=/out/blob",
	    "service.each.file.g.blob=blob.g",
	    "blob.g=<\001raw\377>",
	    (char *)NULL);

	/* each: one file per item, {} in path and data; check on the first. */
	CHECK(manifest_data(s, "fw1", 0, &data, &warning, &err) == 0);
	CHECK(manifest_has_service(data, "each"));
	CHECK(!manifest_has_service(data, "nosuch"));
	CHECK(manifest_service(s, "fw1", 0, data, "each", &m, &err) == 0);
	CHECK(m.nfiles == 3 && m.timeout_ms == 5000);
	if (m.nfiles == 3) {
		CHECK_STR(m.files[0].path, "/out/one.conf");
		CHECK_STR(m.files[0].content.data, "first on fw1\n");
		CHECK(m.files[0].mode == 0600);
		CHECK_STR(m.files[0].check, "test -s {}");
		CHECK_STR(m.files[1].path, "/out/two.conf");
		CHECK_STR(m.files[1].content.data, "second on fw1\n");
		CHECK_STR(m.files[2].path, "/out/blob");
		CHECK(m.files[2].check == NULL && m.files[2].mode == 0644);
		CHECK(m.files[2].content.len == 5 &&
		    memcmp(m.files[2].content.data, "\001raw\377", 5) == 0);
	}
	CHECK_STR(m.restart, "true");
	manifest_service_clear(&m);
	tree_free(data);

	/* A file's own check, with its item: one command for each zone. */
	commit(s, "service.each.file.f.check=check-zone {item} {} {item}",
	    "service.plain.files=f", "service.plain.file.f.path=/p",
	    "service.plain.file.f.template=t", "name=n",
	    "service.plain.file.f.check=check {item} {}", (char *)NULL);
	CHECK(manifest_data(s, "fw1", 0, &data, &warning, &err) == 0);
	CHECK(manifest_service(s, "fw1", 0, data, "each", &m, &err) == 0);
	CHECK(m.nfiles == 3);
	if (m.nfiles == 3) {
		CHECK_STR(m.files[0].check, "check-zone one {} one");
		CHECK_STR(m.files[1].check, "check-zone two {} two");
		CHECK(m.files[2].check == NULL);
	}
	manifest_service_clear(&m);
	CHECK(manifest_service(s, "fw1", 0, data, "plain", &m, &err) == -1 &&
	    strstr(err.msg, "{item} needs 'each'") != NULL);
	tree_free(data);
	commit(s, "service.each.file.f.check=", "service.plain.files=",
	    (char *)NULL);

	/* Owners by name or number. */
	commit(s, "service.named.files=f", "service.named.file.f.path=/x",
	    "service.named.file.f.template=t", "name=n",
	    "service.named.file.f.owner=root", "service.named.file.f.group=7",
	    (char *)NULL);
	CHECK(manifest_data(s, "fw1", 0, &data, &warning, &err) == 0);
	CHECK(manifest_service(s, "fw1", 0, data, "named", &m, &err) == 0);
	CHECK(m.nfiles == 1 && m.files[0].uid == 0 && m.files[0].gid == 7);
	manifest_service_clear(&m);
	tree_free(data);

	/* Each mistake fails its service only, and says which file and why. */
	commit(s,
	    "service.rel.files=f", "service.rel.file.f.path=etc/x",
	    "service.rel.file.f.template=t",
	    "service.dots.files=f", "service.dots.file.f.path=/etc/../x",
	    "service.dots.file.f.template=t",
	    "service.both.files=f", "service.both.file.f.path=/x",
	    "service.both.file.f.template=t", "service.both.file.f.blob=blob.g",
	    "service.mode.files=f", "service.mode.file.f.path=/x",
	    "service.mode.file.f.template=t", "service.mode.file.f.mode=0999",
	    "service.user.files=f", "service.user.file.f.path=/x",
	    "service.user.file.f.template=t",
	    "service.user.file.f.owner=no-such-user-here",
	    "service.evil.files=f", "service.evil.file.f.path=/z/{}",
	    "service.evil.file.f.template=t", "service.evil.file.f.each=items2",
	    "service.nodata.files=f", "service.nodata.file.f.path=/x",
	    "service.nodata.file.f.template=t",
	    "service.nodata.file.f.data=item.three",
	    "service.time.files=f", "service.time.timeout=0",
	    "service.strict.files=f", "service.strict.file.f.path=/x",
	    "service.strict.file.f.template=lines",
	    "service.strict.file.f.data=item.one",
	    "service.nofile.files=f",
	    "service.notmpl.files=f", "service.notmpl.file.f.path=/x",
	    "service.notmpl.file.f.template=nosuch",
	    "service.textblob.files=f", "service.textblob.file.f.path=/x",
	    "service.textblob.file.f.blob=items",
	    (char *)NULL);
	CHECK(fails_with(s, "rel", "path 'etc/x' is not absolute"));
	CHECK(fails_with(s, "dots", "/etc/../x: path '/etc/../x' has an "
	    "empty, '.' or '..' component"));
	CHECK(fails_with(s, "both", "/x: needs either a template or a blob"));
	CHECK(fails_with(s, "mode", "mode '0999' is not an octal mode"));
	CHECK(fails_with(s, "user", "no user 'no-such-user-here'"));
	CHECK(fails_with(s, "evil", "items2: '../evil' cannot name a file"));
	CHECK(fails_with(s, "nodata", "context 'item.three' is missing, not a "
	    "set of keys"));
	CHECK(fails_with(s, "time", "timeout '0' is not a number of seconds"));
	CHECK(fails_with(s, "strict", "/x: lines:2: missing value for "
	    "'missing'"));
	CHECK(fails_with(s, "nofile", "no keys for file 'f'"));
	CHECK(fails_with(s, "notmpl", "/x: template.nosuch: not found"));
	CHECK(fails_with(s, "textblob", "items is a list, not a blob"));
	free(warning);
	store_close(s);
}

/* ---- render_run ---------------------------------------------------------- */

struct seen {
	char	 text[1024];
};

static int
status_fn(void *arg, const struct render_status *st)
{
	struct seen *sn = arg;
	size_t n = strlen(sn->text);

	snprintf(sn->text + n, sizeof(sn->text) - n, "%s r%llu %s [%s]\n",
	    st->service, (unsigned long long)st->rev,
	    render_outcome_name(st->outcome), st->message);
	return 0;
}

static int
report_has(const struct render_report *r, const char *svc,
    enum render_outcome o, const char *msg)
{
	size_t i;

	for (i = 0; i < render_report_count(r); i++) {
		if (strcmp(render_report_service(r, i), svc) != 0)
			continue;
		if (render_report_outcome(r, i) == o &&
		    strstr(render_report_message(r, i), msg) != NULL)
			return 1;
		printf("  %s: got %s [%s]\n", svc, render_outcome_name(
		    render_report_outcome(r, i)), render_report_message(r, i));
		return 0;
	}
	printf("  %s: not in the report\n", svc);
	return 0;
}

static void
test_run(void)
{
	struct store *s = new_store("run");
	struct render_opts o = { 0 };
	struct render_report *r = NULL;
	struct error err = { 0 };
	struct seen sn = { "" };
	struct buf diff = { 0 };
	char root[256], log[256], cmd[800], file[300], text[256], sum[256];
	const char *only[] = { "b", "nosuch" };

	spath(root, sizeof(root), "root");
	spath(log, sizeof(log), "restarts");
	snprintf(file, sizeof(file), "%s/a.conf", root);
	o.root = root;

	snprintf(cmd, sizeof(cmd), "echo a >> %s", log);
	simple_service(s, "a", cmd);
	snprintf(cmd, sizeof(cmd), "echo b >> %s", log);
	simple_service(s, "b", cmd);
	commit(s, "template.t=<name {{name}}\n>", "name=one", (char *)NULL);

	/* First render: both installed and restarted. */
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	CHECK(report_has(r, "a", RENDER_INSTALLED, "installed"));
	CHECK_STR(render_report_summary(r, sum, sizeof(sum)),
	    "restarted a, b");
	CHECK(render_report_failures(r) == 0 && render_report_rev(r) > 0);
	render_report_free(r);
	CHECK_STR(read_text(log, text, sizeof(text)), "a\nb\n");
	CHECK_STR(read_text(file, text, sizeof(text)), "name one\n");

	/* Nothing changed. */
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	CHECK(report_has(r, "a", RENDER_UNCHANGED, ""));
	CHECK_STR(render_report_summary(r, sum, sizeof(sum)), "no change");
	render_report_free(r);

	/* An unknown service: nothing done, bad input. */
	o.services = only;
	o.nservices = 2;
	CHECK(render_run(s, 0, &o, &r, &err) == -1 && r == NULL &&
	    err.code == ERR_INPUT && strstr(err.msg, "'nosuch'") != NULL);
	o.nservices = 0;

	/* Dry run: the diff, and nothing changes. */
	commit(s, "name=two", (char *)NULL);
	o.dry_run = 1;
	o.diff = &diff;
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	CHECK_STR(render_report_summary(r, sum, sizeof(sum)),
	    "would restart a, b");
	render_report_free(r);
	CHECK(diff.data != NULL && strstr(diff.data, "\n-name one\n+name two\n")
	    != NULL && strstr(diff.data, "--- ") != NULL);
	CHECK_STR(read_text(file, text, sizeof(text)), "name one\n");
	o.dry_run = 0;
	o.diff = NULL;
	buf_free(&diff);

	/* A checker's banner is skipped for the line about the file. */
	commit(s, "service.a.check=echo checker 1.0; echo {}:1: bad name; "
	    "exit 1", (char *)NULL);
	write_file(log, "");
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	snprintf(cmd, sizeof(cmd), "check failed for %s: %s:1: bad name",
	    file, file);
	CHECK(report_has(r, "a", RENDER_CHECK_FAILED, cmd));
	CHECK(report_has(r, "b", RENDER_INSTALLED, ""));
	CHECK_STR(render_report_summary(r, sum, sizeof(sum)),
	    "restarted b; failed: a");
	CHECK(render_report_failures(r) == 1);
	render_report_free(r);
	CHECK_STR(read_text(log, text, sizeof(text)), "b\n");
	CHECK_STR(read_text(file, text, sizeof(text)), "name one\n");

	/* The last render per service, for status. */
	CHECK(render_status_each(s, status_fn, &sn, &err) == 0);
	CHECK(strstr(sn.text, "a r") != NULL &&
	    strstr(sn.text, " check-failed [check failed for ") != NULL);
	CHECK(strstr(sn.text, " installed [installed ") != NULL);

	/*
	 * Error in any case, and whatever line is picked, the candidate's
	 * name becomes the file's; all the output is kept.
	 */
	commit(s, "service.a.check=echo checker 1.0; echo ERROR: cannot "
	    "parse {}; exit 1", (char *)NULL);
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	snprintf(cmd, sizeof(cmd), "check failed for %s: ERROR: cannot "
	    "parse %s", file, file);
	CHECK(report_has(r, "a", RENDER_CHECK_FAILED, cmd));
	snprintf(cmd, sizeof(cmd), "checker 1.0\nERROR: cannot parse %s\n",
	    file);
	CHECK_STR(render_report_output(r, 0), cmd);
	CHECK_STR(render_report_output(r, 1), "");
	render_report_free(r);
	commit(s, "service.a.check=echo $(basename {}) is bad; exit 1",
	    (char *)NULL);
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	CHECK(report_has(r, "a", RENDER_CHECK_FAILED, "check failed for "));
	CHECK(strstr(render_report_message(r, 0), ": a.conf is bad") != NULL);
	CHECK(strstr(render_report_message(r, 0), "cfgstore-new") == NULL);
	render_report_free(r);

	/* Hand edit: drift, kept; force overwrites. */
	commit(s, "service.a.check=", (char *)NULL);
	write_file(file, "edited\n");
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	CHECK(report_has(r, "a", RENDER_DRIFT, "was edited by hand since r"));
	render_report_free(r);
	CHECK_STR(read_text(file, text, sizeof(text)), "edited\n");
	o.force = 1;
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	CHECK(report_has(r, "a", RENDER_INSTALLED, "installed"));
	render_report_free(r);
	o.force = 0;
	CHECK_STR(read_text(file, text, sizeof(text)), "name two\n");

	/* A render killed after installing: the next one restarts. */
	write_file(log, "");
	CHECK(store_local_put(s, "render.pending:a", "9", 1, &err) == 0);
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	CHECK(report_has(r, "a", RENDER_INSTALLED, "interrupted render"));
	CHECK(report_has(r, "b", RENDER_UNCHANGED, ""));
	render_report_free(r);
	CHECK_STR(read_text(log, text, sizeof(text)), "a\n");
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	CHECK_STR(render_report_summary(r, sum, sizeof(sum)), "no change");
	render_report_free(r);

	/* An empty file is a file like any other. */
	commit(s, "template.t=<>", (char *)NULL);
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	CHECK_STR(render_report_summary(r, sum, sizeof(sum)),
	    "restarted a, b");
	render_report_free(r);
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	CHECK_STR(render_report_summary(r, sum, sizeof(sum)), "no change");
	render_report_free(r);
	CHECK_STR(read_text(file, text, sizeof(text)), "");

	render_report_free(NULL);
	store_close(s);
}

/* A directory fsync fails after the rename: the file is put back. */
static void
test_run_fsync(void)
{
	struct store *s = new_store("fsync");
	struct render_opts o = { 0 };
	struct render_report *r = NULL;
	struct error err = { 0 };
	char root[256], log[256], cmd[800], file[300], text[256];

	spath(root, sizeof(root), "fsync-root");
	spath(log, sizeof(log), "fsync-restarts");
	snprintf(file, sizeof(file), "%s/a.conf", root);
	o.root = root;
	snprintf(cmd, sizeof(cmd), "echo a >> %s", log);
	simple_service(s, "a", cmd);
	commit(s, "template.t=<name {{name}}\n>", "name=one", (char *)NULL);
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	render_report_free(r);
	write_file(log, "");

	commit(s, "name=two", (char *)NULL);
	fail_dir_fsync = 1;
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	fail_dir_fsync = 0;
	CHECK(report_has(r, "a", RENDER_ERROR, "fsync "));
	render_report_free(r);
	CHECK_STR(read_text(file, text, sizeof(text)), "name one\n");
	CHECK_STR(read_text(log, text, sizeof(text)), "");

	/* And the next render, with the disk well again, installs it. */
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	CHECK(report_has(r, "a", RENDER_INSTALLED, "installed"));
	render_report_free(r);
	CHECK_STR(read_text(file, text, sizeof(text)), "name two\n");
	CHECK_STR(read_text(log, text, sizeof(text)), "a\n");
	store_close(s);
}

/*
 * Records that cannot be written are failures, never silently lost: here
 * the path is longer than a local record's name may be.
 */
static void
test_run_records_fail(void)
{
	struct store *s = new_store("ro");
	struct render_opts o = { 0 };
	struct render_report *r = NULL;
	struct error err = { 0 };
	char root[700], file[800], text[64], *cand = NULL;
	struct fstate st;

	spath(root, sizeof(root), "ro-root/");
	memset(root + strlen(root), 'x', 200);
	strcat(root, "/");
	memset(root + strlen(root), 'y', 200);
	snprintf(file, sizeof(file), "%s/a.conf", root);
	o.root = root;
	simple_service(s, "a", "true");
	commit(s, "template.t=<name {{name}}\n>", "name=one", (char *)NULL);

	/* Installing needs the records first: an error, nothing written. */
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	CHECK(report_has(r, "a", RENDER_ERROR, "too long"));
	render_report_free(r);
	CHECK(install_stat(file, 1024, &st, &err) == 0 && !st.exists);

	/* The file already right: unchanged, but its record cannot be. */
	CHECK(install_candidate(file, "name one\n", 9, 0644, getuid(),
	    getgid(), &cand, &err) == 0);
	CHECK(cand != NULL && install_rename(cand, file, &err) == 0);
	free(cand);
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	CHECK(report_has(r, "a", RENDER_ERROR, "recording it failed"));
	CHECK(render_report_failures(r) == 1);
	render_report_free(r);
	CHECK_STR(read_text(file, text, sizeof(text)), "name one\n");
	store_close(s);
}

/*
 * A file record in the older text form ("REV HASH") is still read: a
 * hand edit made before an upgrade is not overwritten after it.  The
 * record is written anew in the one encoding of local records.
 */
static void
test_old_text_records(void)
{
	struct store *s = new_store("oldrec");
	struct render_opts o = { 0 };
	struct render_report *r = NULL;
	struct error err = { 0 };
	struct buf b = { 0 };
	char root[256], file[300], name[400], rec[128], hash[INSTALL_HASH_HEX];
	char text[64];

	spath(root, sizeof(root), "oldrec-root");
	snprintf(file, sizeof(file), "%s/a.conf", root);
	snprintf(name, sizeof(name), "render.file:%s", file);
	o.root = root;
	simple_service(s, "a", "true");
	commit(s, "template.t=<name {{name}}\n>", "name=one", (char *)NULL);
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	CHECK(report_has(r, "a", RENDER_INSTALLED, "installed"));
	render_report_free(r);
	/* Written as a msgpack map (fixmap, first byte 0x8N). */
	CHECK(store_local_get(s, name, &b, &err) == 0 && b.len > 0 &&
	    ((unsigned char)b.data[0] & 0xf0) == 0x80);
	buf_free(&b);

	install_hash("name one\n", 9, hash);
	snprintf(rec, sizeof(rec), "7 %s", hash);
	CHECK(store_local_put(s, name, rec, strlen(rec), &err) == 0);
	CHECK(write_file(file, "edited by hand\n") == 0);
	commit(s, "name=two", (char *)NULL);
	CHECK(render_run(s, 0, &o, &r, &err) == 0);
	CHECK(report_has(r, "a", RENDER_DRIFT, "edited by hand since r7"));
	render_report_free(r);
	CHECK_STR(read_text(file, text, sizeof(text)), "edited by hand\n");
	store_close(s);
}

static int
collect(void *arg, const char *key, const struct value *v)
{
	size_t len;
	const char *p = value_type(v) == VALUE_STRING ? value_bytes(v, &len) :
	    "?";

	buf_printf(arg, "%s=%.*s ", key, value_type(v) == VALUE_STRING ?
	    (int)len : 1, p);
	return 0;
}

/* A revision with changes on top reads as the commit of them would. */
static void
test_state_overlay(void)
{
	struct store *s = new_store("overlay");
	struct change *c = change_new();
	struct value *v = NULL;
	struct rstate st;
	struct error err = { 0 };
	struct buf b = { 0 };

	commit(s, "x=1", "x@fw1=2", "y=3", "w@fw1=4", (char *)NULL);
	value_string("5", 1, &v, &err);
	change_set(c, "x", v, &err);
	value_free(v);
	value_string("9", 1, &v, &err);
	change_set(c, "z@fw1", v, &err);
	change_set(c, "a", v, &err);
	value_free(v);
	change_del(c, "y", &err);
	change_del(c, "a", &err);	/* a later op on a key wins */
	CHECK(state_with(&st, s, 0, c, &err) == 0);
	change_free(c);
	/* Another host sees no fw1 override. */
	CHECK(state_list_for_host(&st, "fw9", collect, &b, &err) == 0);
	CHECK_STR(b.data, "x=5 ");
	buf_reset(&b);
	CHECK(state_list_for_host(&st, "fw1", collect, &b, &err) == 0);
	CHECK_STR(b.data, "w=4 x=2 z=9 ");
	CHECK(state_get_for_host(&st, "z", "fw1", &v, &err) == 0);
	CHECK(value_type(v) == VALUE_STRING);
	value_free(v);
	CHECK(state_get_for_host(&st, "y", "fw1", &v, &err) == -1);
	CHECK(err.code == ERR_NOTFOUND);
	state_clear(&st);
	buf_free(&b);
	store_close(s);
}

/*
 * Preview: a file others may not read is shown to whoever could read it
 * anyway (root), and only named to anyone else.
 */
static void
test_preview_secrets(void)
{
	struct store *s = new_store("preview");
	struct render_preview p = { 0 };
	unsigned char hash[STORE_HASH_LEN];
	struct error err = { 0 };
	struct buf out = { 0 };
	uint64_t head;
	size_t n;

	simple_service(s, "a", "true");
	commit(s, "service.a.file.conf.mode=0600",
	    "template.t=<name {{name}}\n>", "name=one", (char *)NULL);
	commit(s, "name=two", (char *)NULL);
	CHECK(store_head(s, &head, hash, &err) == 0);
	p.a = head - 1;
	p.b = head;
	CHECK(render_preview_diff(s, &p, &out, &n, &err) == 0);
	CHECK(n == 1);
	CHECK_STR(out.data, "fw1/a.conf: changes (not readable by others; "
	    "contents not shown)\n");
	buf_reset(&out);
	p.show_secrets = 1;
	CHECK(render_preview_diff(s, &p, &out, &n, &err) == 0);
	CHECK(out.data != NULL && strstr(out.data, "\n-name one\n+name two\n")
	    != NULL);
	buf_free(&out);
	store_close(s);
}

static void
test_shipped(void)
{
	struct error err = { 0 };
	struct change *c = change_new();

	CHECK(render_shipped_defaults(c, &err) == 0);
	/* Six templates and the five services' keys, at least. */
	CHECK(change_count(c) > 40);
	change_free(c);
}

int
main(void)
{
	char cmd[300];

	if (mkdtemp(scratch) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(owner, sizeof(owner), "%u", (unsigned)getuid());
	snprintf(group, sizeof(group), "%u", (unsigned)getgid());
	test_run_shell();
	test_install();
	test_data();
	test_manifest();
	test_run();
	test_run_fsync();
	test_run_records_fail();
	test_old_text_records();
	test_state_overlay();
	test_preview_secrets();
	test_shipped();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
	if (system(cmd) != 0)
		printf("could not remove %s\n", scratch);
	return check_done();
}
