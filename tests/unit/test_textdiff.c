/*
 * test_textdiff.c - the in-memory unified diff: known answers that
 * diff(1) -u gives too, and random pairs whose diff patch(1) applies back.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "run.h"
#include "textdiff.h"

static char *
diff_of(const char *a, const char *b)
{
	struct buf out = { 0 };
	struct error err = { 0 };

	if (text_diff("a", a, strlen(a), "b", b, strlen(b), &out, &err) == -1)
		return NULL;
	buf_puts(&out, "");
	return buf_detach(&out, NULL);
}

static void
known(const char *a, const char *b, const char *want)
{
	char *got = diff_of(a, b);

	CHECK_STR(got, want);
	free(got);
}

static int
write_file(const char *path, const char *p, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	if (len > 0 && fwrite(p, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/* Lines from a small alphabet, so pairs share lines and differ too. */
static void
random_text(struct buf *b, unsigned *seed)
{
	int i, n = rand_r(seed) % 40;

	buf_reset(b);
	for (i = 0; i < n; i++)
		buf_printf(b, "line %c\n", 'a' + rand_r(seed) % 6);
	if (n > 0 && rand_r(seed) % 5 == 0)
		b->len--;		/* no newline at the end */
	buf_puts(b, "");
}

/* patch(1) turns a into b with our diff: the diff is right. */
static void
random_pairs(const char *dir)
{
	struct buf a = { 0 }, b = { 0 }, got = { 0 };
	char pa[512], pd[512], po[512], *cmd, *d;
	unsigned seed = 20261202;
	int i, good = 0;
	struct run_result res;
	struct error err;

	snprintf(pa, sizeof(pa), "%s/a", dir);
	snprintf(pd, sizeof(pd), "%s/d", dir);
	snprintf(po, sizeof(po), "%s/o", dir);
	for (i = 0; i < 300; i++) {
		random_text(&a, &seed);
		random_text(&b, &seed);
		if ((d = diff_of(a.data, b.data)) == NULL ||
		    write_file(pa, a.data, a.len) == -1 ||
		    write_file(pd, d, strlen(d)) == -1) {
			free(d);
			break;
		}
		free(d);
		if (asprintf(&cmd, "patch -s -o %s %s < %s", po, pa, pd) == -1)
			break;
		buf_reset(&got);
		if (run_shell(cmd, 10000, &res, &err) == 0 && run_ok(&res) &&
		    buf_read_file(&got, po, 1 << 20) == 0 &&
		    got.len == b.len &&
		    (b.len == 0 || memcmp(got.data, b.data, b.len) == 0))
			good++;
		else
			printf("pair %d differs:\n--a\n%s--b\n%s\n", i,
			    a.data, b.data);
		run_result_free(&res);
		free(cmd);
		unlink(po);
	}
	CHECK(good == 300);
	buf_free(&a);
	buf_free(&b);
	buf_free(&got);
}

int
main(void)
{
	char dir[] = "/tmp/test_textdiff.XXXXXX";
	char *cmd;

	known("x\n", "x\n", "");
	known("a\nb\nc\n", "a\nB\nc\n",
	    "--- a\n+++ b\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
	known("", "new\n", "--- a\n+++ b\n@@ -0,0 +1 @@\n+new\n");
	known("old\n", "", "--- a\n+++ b\n@@ -1 +0,0 @@\n-old\n");
	known("a\nb", "a\nb\n",
	    "--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\n-b\n"
	    "\\ No newline at end of file\n+b\n");
	/* Changes more than six lines apart make two hunks. */
	known("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "X\n2\n3\n4\n5\n6\n7\n8\n9\nY\n",
	    "--- a\n+++ b\n@@ -1,4 +1,4 @@\n-1\n+X\n 2\n 3\n 4\n"
	    "@@ -7,4 +7,4 @@\n 7\n 8\n 9\n-10\n+Y\n");
	known("1\n2\n3\n4\n5\n6\n7\n8\n", "X\n2\n3\n4\n5\n6\n7\nY\n",
	    "--- a\n+++ b\n@@ -1,8 +1,8 @@\n-1\n+X\n 2\n 3\n 4\n 5\n 6\n"
	    " 7\n-8\n+Y\n");

	CHECK(text_is_text("", 0));
	CHECK(text_is_text("caf\xc3\xa9\n", 6));
	CHECK(!text_is_text("a\0b", 3));
	CHECK(!text_is_text("\xc0\x80", 2));
	CHECK(!text_is_text("\xff", 1));

	if (mkdtemp(dir) == NULL) {
		CHECK(!"mkdtemp");
		return check_done();
	}
	random_pairs(dir);
	if (asprintf(&cmd, "rm -rf %s", dir) != -1) {
		struct run_result res;
		struct error err;

		if (run_shell(cmd, 10000, &res, &err) == 0)
			run_result_free(&res);
		free(cmd);
	}
	return check_done();
}
