/*
 * test_log.c - the daemon's log holds back a flood of one line: a burst,
 * then a few a second, and says how many it held back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

static int
count(const char *path, const char *what)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

/* The sum of the counts of lines held back, as log.c says them. */
static long
held_back(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[2048], *p;
	long n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if ((p = strstr(line, "(and ")) != NULL)
			n += strtol(p + 5, NULL, 10);
	fclose(f);
	return n;
}

int
main(void)
{
	char path[] = "/tmp/cfgstore-test-log.XXXXXX";
	struct timespec pause = { 0, 300 * 1000000L }, t0, t1;
	double secs;
	long held;
	int fd, i, n;

	if ((fd = mkstemp(path)) == -1 || dup2(fd, 2) == -1)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	log_init(1, 1, "test");
	/* 5,000 refusals at once, as a flood of connections makes them. */
	for (i = 0; i < 5000; i++)
		log_warnx("connection from 127.0.0.%d:%d refused: too many "
		    "unfinished handshakes", 2 + i % 24, 40000 + i);
	/* Another line is not held back by the first one's flood. */
	log_info("something else");
	/* Nor is a debug line. */
	for (i = 0; i < 300; i++)
		log_debug("debug %d", i);
	/* A while later, the next one says how many were held back. */
	nanosleep(&pause, NULL);
	log_warnx("connection from 127.0.0.%d:%d refused: too many "
	    "unfinished handshakes", 2, 1);
	fflush(stderr);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	n = count(path, "too many unfinished handshakes");
	held = held_back(path);
	printf("%d of 5001 lines written, %ld held back, in %.2f s\n", n,
	    held, secs);
	/* A burst of 100, then 20 a second however slow the machine. */
	CHECK(n >= 100 && n <= 100 + (int)(20 * secs) + 2);
	CHECK(count(path, "more like it, not logged") >= 1);
	CHECK(n + held == 5001);
	CHECK(count(path, "something else") == 1);
	CHECK(count(path, "debug ") == 300);
	unlink(path);
	return check_done();
}
