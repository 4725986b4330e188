#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
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

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char msg[1024];
	struct timespec ts;
	struct tm tm;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!log_foreground) {
		syslog(pri, "%s%s", msg, suffix ? suffix : "");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s: %s%s\n", tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_ident, msg,
	    suffix ? suffix : "");
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
