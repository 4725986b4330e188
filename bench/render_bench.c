/*
 * render_bench.c - the renderer's figures, with their floor measured in
 * the same run:
 *
 *   unbound.conf with 10,000 local-data entries: the template data built
 *   from the store, then the file rendered in memory (target <= 50 ms)
 *   floor: a trivial process (fork + exec + wait)
 *   cfgstore render of every shipped service when nothing changed, whole
 *   process (target <= 2x the floor)
 *
 * Usage: render_bench CFGSTORE TRIVIAL GUIDE_DIR SCRATCH_DIR
 * GUIDE_DIR holds guide.apply (tests/golden); SCRATCH_DIR must not exist.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "manifest.h"
#include "render.h"
#include "store.h"

#define RUNS		200
#define ENTRIES		10000

static void
report(const char *what, double *t, int n)
{
	double median, p99;

	bench_percentiles(t, n, &median, &p99);
	printf("%-58s median %8.3f ms  p99 %8.3f ms\n", what, median * 1e3,
	    p99 * 1e3);
}

static void
die(const char *what, const struct error *err)
{
	fprintf(stderr, "render_bench: %s: %s\n", what, err ? err->msg : "");
	exit(1);
}

/*
 * Runs argv with output to /dev/null, in dir; seconds taken.  Exit 3
 * (committed, a peer not reached) is success: the peer here is made up.
 */
static double
run(const char *dir, char *const argv[])
{
	double t0;
	int status;
	pid_t pid;

	fflush(stdout);
	t0 = bench_now();
	if ((pid = fork()) == -1)
		die("fork", NULL);
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout) || chdir(dir) == -1)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 &&
	    WEXITSTATUS(status) != 3)) {
		fprintf(stderr, "render_bench: %s exited %d\n", argv[0],
		    WEXITSTATUS(status));
		exit(1);
	}
	return bench_now() - t0;
}

/* A store with the shipped manifest and unbound's keys, 10,000 entries. */
static struct store *
big_store(const char *dir)
{
	static const char *const iface[] = { "127.0.0.1", "10.0.0.53" };
	static const char *const acl[] = { "10.0.0.0/24 allow" };
	struct store_init_opts io = { "fw1", 1, NULL };
	struct error err = { 0 };
	struct change *c = change_new();
	struct store *s;
	struct value *v;
	char **items, name[64];
	uint64_t rev;
	size_t i;

	if (c == NULL || store_init(dir, &io, &err) == -1 ||
	    store_open(dir, 0, &s, &err) == -1 ||
	    render_shipped_defaults(c, &err) == -1)
		die("store", &err);
	if ((items = calloc(ENTRIES, sizeof(*items))) == NULL)
		die("calloc", NULL);
	for (i = 0; i < ENTRIES; i++) {
		snprintf(name, sizeof(name), "host%zu.home.example.com. A "
		    "10.%zu.%zu.%zu", i, i >> 16, (i >> 8) & 255, i & 255);
		if ((items[i] = strdup(name)) == NULL)
			die("strdup", NULL);
	}
#define SET(k, mk) do {							\
	if ((mk) == -1 || change_set(c, k, v, &err) == -1)		\
		die(k, &err);						\
	value_free(v);							\
} while (0)
	SET("unbound.local-data", value_list((const char *const *)items,
	    ENTRIES, &v, &err));
	SET("unbound.interface", value_list(iface, 2, &v, &err));
	SET("unbound.access-control", value_list(acl, 1, &v, &err));
	SET("unbound.chroot", value_string("/var/unbound", 12, &v, &err));
	SET("unbound.directory", value_string("/var/unbound", 12, &v, &err));
	SET("unbound.root-hints", value_blob(". 3600000 NS A.ROOT-SERVERS.NET.\n",
	    33, &v, &err));
#undef SET
	if (store_commit(s, c, "bench", &rev, &err) == -1)
		die("commit", &err);
	for (i = 0; i < ENTRIES; i++)
		free(items[i]);
	free(items);
	change_free(c);
	return s;
}

static void
bench_unbound(const char *dir)
{
	double t_data[50], t_render[50], t_both[50];
	struct store *s = big_store(dir);
	struct error err = { 0 };
	struct mservice m;
	struct tree *data;
	char *warning;
	size_t bytes = 0;
	int i;

	for (i = 0; i < 50; i++) {
		double t0 = bench_now(), t1, t2;

		if (manifest_data(s, "fw1", 0, &data, &warning, &err) == -1)
			die("manifest_data", &err);
		t1 = bench_now();
		if (manifest_service(s, "fw1", 0, data, "unbound", &m,
		    &err) == -1)
			die("manifest_service", &err);
		t2 = bench_now();
		bytes = m.nfiles > 0 ? m.files[0].content.len : 0;
		manifest_service_clear(&m);
		tree_free(data);
		free(warning);
		t_data[i] = t1 - t0;
		t_render[i] = t2 - t1;
		t_both[i] = t2 - t0;
	}
	printf("unbound.conf, %d local-data entries (%zu bytes):\n", ENTRIES,
	    bytes);
	report("  template data from the store (all keys)", t_data, 50);
	report("  unbound.conf rendered in memory", t_render, 50);
	report("  both (target <= 50 ms)", t_both, 50);
	store_close(s);
}

int
main(int argc, char **argv)
{
	static double t_trivial[RUNS], t_render[RUNS];
	char store[4096], root[4096], batch[4096], path[4096];
	double floor, noop;
	FILE *f;
	int i;

	if (argc != 5) {
		fprintf(stderr, "usage: render_bench CFGSTORE TRIVIAL "
		    "GUIDE_DIR SCRATCH_DIR\n");
		return 2;
	}
	if (mkdir(argv[4], 0700) == -1)
		die(argv[4], NULL);
	/* The guide's values, commands that exist anywhere, one render. */
	snprintf(store, sizeof(store), "%s/store", argv[4]);
	snprintf(root, sizeof(root), "%s/root", argv[4]);
	snprintf(batch, sizeof(batch), "%s/batch", argv[4]);
	if ((f = fopen(batch, "w")) == NULL)
		die(batch, NULL);
	fprintf(f, "set unbound.chroot \"%s/var/unbound\"\n"
	    "set unbound.directory \"%s/var/unbound\"\n", root, root);
	for (i = 0; i < 5; i++) {
		static const char *const svc[] = { "ntpd", "nsd", "unbound",
		    "dhcpd", "carp" };

		fprintf(f, "set service.%s.check true\n"
		    "set service.%s.restart true\n", svc[i], svc[i]);
	}
	fclose(f);
	{
		char *init[] = { argv[1], "-d", store, "init", "--node", "fw1",
		    "--primary", NULL };
		/* guide.apply has overrides for fw2, so fw2 must be known. */
		char *peer[] = { argv[1], "-d", store, "peer", "add", "fw2",
		    "127.0.0.1:9", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		    NULL };
		char *guide[] = { argv[1], "-d", store, "apply", "--no-wait",
		    "guide.apply", NULL };
		char *local[] = { argv[1], "-d", store, "apply", "--no-wait",
		    batch, NULL };
		char *render[] = { argv[1], "-d", store, "render", "--root",
		    root, NULL };

		run(argv[3], init);
		run(argv[3], peer);
		run(argv[3], guide);
		run(argv[3], local);
		run(argv[3], render);
		for (i = 0; i < RUNS; i++) {
			char *trivial[] = { argv[2], NULL };

			t_trivial[i] = run(argv[4], trivial);
			t_render[i] = run(argv[4], render);
		}
	}
	report("floor: trivial process (fork+exec+wait)", t_trivial, RUNS);
	report("cfgstore render, every shipped service, no change",
	    t_render, RUNS);
	floor = t_trivial[RUNS / 2];
	noop = t_render[RUNS / 2];
	printf("%-58s %.1fx the floor (target <= 2x)\n", "  no-op render:",
	    noop / floor);

	/* In process, after the processes: a bigger heap slows fork(2). */
	snprintf(path, sizeof(path), "%s/big", argv[4]);
	bench_unbound(path);
	return 0;
}
