/*
 * bench_store.c - the store's figures, with their floors measured in the
 * same run:
 *
 *   floor: a trivial process (fork + exec + wait of bench_trivial)
 *   floor: 4 KiB write + fdatasync
 *   floor: one synced LMDB commit of one key, in process
 *   cfgstore set, one key, whole process: median, p99
 *   cfgstore get, whole process: median, p99
 *   cfgstore apply of 100,000 keys in one commit
 *   store bytes per commit after 10,000 one-key commits
 *
 * Usage: bench_store CFGSTORE_BINARY TRIVIAL_BINARY [SCRATCH_DIR]
 */
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "store.h"

#define RUNS 200

/* Runs argv, output to /dev/null; returns seconds, exits on failure. */
static double
run(char *const argv[])
{
	double t0 = bench_now();
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench: %s %s failed\n", argv[0],
		    argv[1] ? argv[1] : "");
		exit(1);
	}
	return bench_now() - t0;
}

static void
report(const char *what, double *t, int n, double *median_out)
{
	double median, p99;

	bench_percentiles(t, n, &median, &p99);
	printf("%-44s median %8.3f ms   p99 %8.3f ms\n", what, median * 1e3,
	    p99 * 1e3);
	if (median_out != NULL)
		*median_out = median;
}

static double
fsync_floor(const char *dir)
{
	char path[512], block[4096];
	double t[RUNS], median;
	int fd;

	snprintf(path, sizeof(path), "%s/fsync.bin", dir);
	memset(block, 'x', sizeof(block));
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		exit(1);
	for (int i = 0; i < RUNS; i++) {
		double t0 = bench_now();

		if (pwrite(fd, block, sizeof(block), 0) != sizeof(block) ||
		    fdatasync(fd) == -1)
			exit(1);
		t[i] = bench_now() - t0;
	}
	close(fd);
	report("floor: 4 KiB write + fdatasync", t, RUNS, &median);
	return median;
}

static double
lmdb_floor(const char *dir)
{
	char path[512], val[32];
	double t[RUNS], median;
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *txn;

	snprintf(path, sizeof(path), "%s/lmdb", dir);
	mkdir(path, 0700);
	mdb_env_create(&env);
	mdb_env_set_mapsize(env, 64 << 20);
	if (mdb_env_open(env, path, 0, 0600) != 0)
		exit(1);
	for (int i = 0; i < RUNS; i++) {
		MDB_val k = { 8, "key.name" }, v;
		double t0 = bench_now();

		snprintf(val, sizeof(val), "value %d", i);
		v.mv_size = strlen(val);
		v.mv_data = val;
		mdb_txn_begin(env, NULL, 0, &txn);
		mdb_dbi_open(txn, NULL, 0, &dbi);
		mdb_put(txn, dbi, &k, &v, 0);
		if (mdb_txn_commit(txn) != 0)
			exit(1);
		t[i] = bench_now() - t0;
	}
	mdb_env_close(env);
	report("floor: one synced LMDB commit (in process)", t, RUNS, &median);
	return median;
}

int
main(int argc, char **argv)
{
	char scratch[] = "/tmp/cfgstore-bench.XXXXXX", dir[600], big[600];
	char val[32], cmd[1400];
	double t[RUNS], trivial, lmdb, set_median, get_median, t0, apply_s;
	struct error err = { 0 };
	struct store *s;
	struct stat st;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_store CFGSTORE TRIVIAL\n");
		return 2;
	}
	if (mkdtemp(scratch) == NULL)
		return 1;
	snprintf(dir, sizeof(dir), "%s/store", scratch);

	{
		char *argv_t[] = { argv[2], NULL };

		for (int i = 0; i < RUNS; i++)
			t[i] = run(argv_t);
		report("floor: trivial process (fork+exec+wait)", t, RUNS,
		    &trivial);
	}
	fsync_floor(scratch);
	lmdb = lmdb_floor(scratch);

	{
		char *init[] = { argv[1], "-d", dir, "init", "--node", "fw1",
		    "--primary", NULL };
		char *set[] = { argv[1], "-d", dir, "set", "--no-wait",
		    "bench.key", val, NULL };
		char *get[] = { argv[1], "-d", dir, "get", "bench.key", NULL };

		run(init);
		for (int i = 0; i < RUNS; i++) {
			snprintf(val, sizeof(val), "value-%d", i);
			t[i] = run(set);
		}
		report("cfgstore set (one key, whole process)", t, RUNS,
		    &set_median);
		for (int i = 0; i < RUNS; i++)
			t[i] = run(get);
		report("cfgstore get (whole process)", t, RUNS, &get_median);
	}
	printf("  set: %.2f x (trivial process + LMDB commit)   target <= 1.5\n",
	    set_median / (trivial + lmdb));
	printf("  get: %.2f x trivial process                   target <= 1.3\n",
	    get_median / trivial);

	snprintf(big, sizeof(big), "%s/batch", scratch);
	if ((f = fopen(big, "w")) == NULL)
		return 1;
	for (int i = 0; i < 100000; i++)
		fprintf(f, "set bench.apply.k%06d value-%d\n", i, i);
	fclose(f);
	{
		char *apply[] = { argv[1], "-d", dir, "apply", "--no-wait", big,
		    NULL };

		apply_s = run(apply);
		printf("%-44s %8.3f s      target <= 0.5 s\n",
		    "cfgstore apply, 100,000 keys, one commit", apply_s);
	}

	/* History per commit: a fresh store, 10,000 one-key commits. */
	snprintf(dir, sizeof(dir), "%s/history", scratch);
	{
		struct store_init_opts o = { "fw1", 1, NULL };

		if (store_init(dir, &o, &err) == -1 ||
		    store_open(dir, 0, &s, &err) == -1) {
			fprintf(stderr, "bench: %s\n", err.msg);
			return 1;
		}
	}
	{
		char path[700];
		off_t before;

		snprintf(path, sizeof(path), "%s/data.mdb", dir);
		stat(path, &st);
		before = st.st_size;
		t0 = bench_now();
		for (int i = 0; i < 10000; i++) {
			struct change *c = change_new();
			struct value *v = NULL;
			uint64_t rev;

			snprintf(val, sizeof(val), "10.0.%d.%d", i / 250, i % 250);
			value_string(val, strlen(val), &v, &err);
			change_set(c, "unbound.interface", v, &err);
			if (store_commit(s, c, "", &rev, &err) == -1) {
				fprintf(stderr, "bench: %s\n", err.msg);
				return 1;
			}
			value_free(v);
			change_free(c);
		}
		t0 = bench_now() - t0;
		stat(path, &st);
		printf("%-44s %8.0f bytes   target <= 512\n",
		    "store bytes per one-key commit (10,000)",
		    (double)(st.st_size - before) / 10000);
		printf("  (10,000 commits in process took %.2f s)\n", t0);
	}
	store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	return system(cmd) == 0 ? 0 : 1;
}
