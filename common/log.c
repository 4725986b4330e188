#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int log_foreground = 1;
static int log_verbose;
static const char *log_ident = "cfgstore";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Repeats of one line, told apart by its format (the call site, not the
 * arguments: a flood of "connection from ADDR refused" differs in ADDR),
 * are rate-limited per format: LOG_BURST lines at once, then LOG_RATE a
 * second.  What was held back is counted and said with the next line of
 * that format that passes, so a flood costs a few lines a second, not
 * megabytes, and the log still says it happened.  Debug lines (asked
 * for with -v) and fatal ones are never held back.
 */
#define LOG_SLOTS	64
#define LOG_BURST	100
#define LOG_RATE	20	/* lines a second, per format, after a burst */

static struct log_slot {
	const char	*fmt;
	uint64_t	 last_ms;	/* last refill */
	uint64_t	 used_ms;	/* last use, to pick a slot to reuse */
	unsigned	 tokens;
	unsigned long	 dropped;
} log_slots[LOG_SLOTS];

void
log_init(int foreground, int verbose, const char *ident)
{
	log_foreground = foreground;
	log_verbose = verbose;
	if (ident != NULL)
		log_ident = ident;
	if (!foreground)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

static uint64_t
log_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * 1 when a line of format fmt may be written now; *dropped is then the
 * number held back since the last one that was.
 */
static int
log_admit(const char *fmt, unsigned long *dropped)
{
	struct log_slot *sl = NULL, *old = &log_slots[0];
	uint64_t now, add;
	size_t i;
	int ok;

	*dropped = 0;
	now = log_mono_ms();
	pthread_mutex_lock(&log_lock);
	for (i = 0; i < LOG_SLOTS && sl == NULL; i++) {
		if (log_slots[i].fmt == fmt)
			sl = &log_slots[i];
		else if (log_slots[i].used_ms < old->used_ms)
			old = &log_slots[i];
	}
	if (sl == NULL) {
		/* The least recently used format gives up its count. */
		sl = old;
		sl->fmt = fmt;
		sl->tokens = LOG_BURST;
		sl->last_ms = now;
		sl->dropped = 0;
	}
	add = (now - sl->last_ms) * LOG_RATE / 1000;
	if (add > 0) {
		sl->tokens = sl->tokens + add > LOG_BURST ? LOG_BURST :
		    sl->tokens + (unsigned)add;
		sl->last_ms = now;
	}
	sl->used_ms = now;
	if ((ok = sl->tokens > 0)) {
		sl->tokens--;
		*dropped = sl->dropped;
		sl->dropped = 0;
	} else
		sl->dropped++;
	pthread_mutex_unlock(&log_lock);
	return ok;
}

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char msg[1024];
	struct timespec ts;
	struct tm tm;
	char note[64] = "";
	unsigned long dropped = 0;

	if ((pri == LOG_WARNING || pri == LOG_INFO) &&
	    !log_admit(fmt, &dropped))
		return;
	if (dropped > 0)
		snprintf(note, sizeof(note), " (and %lu more like it, not "
		    "logged)", dropped);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!log_foreground) {
		syslog(pri, "%s%s%s", msg, suffix ? suffix : "", note);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s: %s%s%s\n", tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_ident, msg,
	    suffix ? suffix : "", note);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

#define LOGFN(name, pri, cond, witherr)					\
void									\
name(const char *fmt, ...)						\
{									\
	char suffix[256] = "";						\
	va_list ap;							\
	int saved = errno;						\
									\
	if (!(cond))							\
		return;							\
	if (witherr)							\
		snprintf(suffix, sizeof(suffix), ": %s", strerror(saved)); \
	va_start(ap, fmt);						\
	vlog(pri, fmt, ap, suffix);					\
	va_end(ap);							\
	errno = saved;							\
}

LOGFN(log_warn, LOG_WARNING, 1, 1)
LOGFN(log_warnx, LOG_WARNING, 1, 0)
LOGFN(log_info, LOG_INFO, 1, 0)
LOGFN(log_debug, LOG_DEBUG, log_verbose, 0)

void
fatal(const char *fmt, ...)
{
	char suffix[256];
	va_list ap;

	snprintf(suffix, sizeof(suffix), ": %s", strerror(errno));
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, suffix);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
