/*
 * lib.c - the harnesses' shared helpers (fuzz.h) and, unless built
 * for libFuzzer, the main that replays a corpus.
 */
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "buf.h"
#include "fuzz.h"
#include "render.h"
#include "store.h"

static char tmpdir[1024];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

int
fuzz_rmtree(const char *dir)
{
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
rm_tmpdir(void)
{
	if (tmpdir[0] != '\0' && fuzz_rmtree(tmpdir) == -1)
		perror(tmpdir);
}

const char *
fuzz_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	if (tmpdir[0] != '\0')
		return tmpdir;
	snprintf(tmpdir, sizeof(tmpdir), "%s/cfgstore-fuzz.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		abort();
	}
	atexit(rm_tmpdir);
	return tmpdir;
}

struct store *
fuzz_store(const char *name, int primary)
{
	struct store_init_opts o = { name, primary, NULL };
	struct error err = { 0 };
	struct change *c = NULL;
	struct store *s;
	char dir[1200];
	uint64_t rev;

	snprintf(dir, sizeof(dir), "%s/%s", fuzz_tmpdir(), name);
	if (store_init(dir, &o, &err) == -1 ||
	    store_open(dir, 0, &s, &err) == -1) {
		fprintf(stderr, "%s: %s\n", dir, err.msg);
		abort();
	}
	/* As `cfgstore init --primary`: r1 is the shipped manifest. */
	if (primary && ((c = change_new()) == NULL ||
	    render_shipped_defaults(c, &err) == -1 ||
	    store_commit(s, c, "shipped", &rev, &err) == -1)) {
		fprintf(stderr, "%s: %s\n", dir, err.msg);
		abort();
	}
	change_free(c);
	return s;
}

struct store *
fuzz_guide_store(void)
{
	const char *src = getenv("SRCDIR");
	struct error err = { 0 };
	struct peer_info p;
	struct change *c;
	struct store *s = fuzz_store("fw1", 1);
	char golden[4096], here[4096];
	uint64_t rev;
	FILE *f;

	if (src == NULL) {
		fprintf(stderr, "SRCDIR must name the source directory\n");
		abort();
	}
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "fw2");
	snprintf(p.addr, sizeof(p.addr), "127.0.0.1:9");
	memset(p.pubkey, 7, sizeof(p.pubkey));
	snprintf(golden, sizeof(golden), "%s/tests/golden", src);
	/* The batch's --file paths are relative to its directory. */
	if (getcwd(here, sizeof(here)) == NULL || chdir(golden) == -1 ||
	    (f = fopen("guide.apply", "r")) == NULL) {
		perror(golden);
		abort();
	}
	if (store_peer_add(s, &p, &err) == -1 ||
	    (c = change_new()) == NULL ||
	    read_batch(f, "guide.apply", c, &err) == -1 ||
	    store_commit(s, c, "the guide", &rev, &err) == -1) {
		fprintf(stderr, "guide: %s\n", err.msg);
		abort();
	}
	fclose(f);
	change_free(c);
	if (chdir(here) == -1)
		abort();
	return s;
}

const uint8_t *
fuzz_chunk(struct fuzz_in *in, size_t *len)
{
	const uint8_t *p;
	size_t n;

	if (in->len < 2) {
		*len = 0;
		return NULL;
	}
	n = (size_t)in->p[0] << 8 | in->p[1];
	in->p += 2;
	in->len -= 2;
	if (n > in->len)
		n = in->len;
	p = in->p;
	in->p += n;
	in->len -= n;
	*len = n;
	return p;
}

#ifndef CFGSTORE_LIBFUZZER
/* Harnesses without a set-up of their own. */
__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int
run_file(const char *path)
{
	struct buf b = { 0 };

	if (buf_read_file(&b, path, 64u << 20) == -1) {
		perror(path);
		return 1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)b.data, b.len);
	buf_free(&b);
	return 0;
}

int
main(int argc, char **argv)
{
	int n = 0, failed = 0;

	/* Absolute paths: a harness's set-up may change directory. */
	for (int i = 1; i < argc; i++)
		if ((argv[i] = realpath(argv[i], NULL)) == NULL) {
			perror("corpus");
			return 1;
		}
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;
		char path[4096];

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) &&
		    (d = opendir(argv[i])) != NULL) {
			while ((e = readdir(d)) != NULL) {
				if (e->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", argv[i],
				    e->d_name);
				failed += run_file(path);
				n++;
			}
			closedir(d);
		} else {
			failed += run_file(argv[i]);
			n++;
		}
	}
	printf("%d passed, %d failed\n", n - failed, failed);
	return failed != 0 || n == 0;
}
#endif
