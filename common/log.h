/*
 * log.h - the one logging path of the daemon (after OpenBSD's log.c).
 *
 * Foreground: lines on stderr.  Otherwise: syslog(3), facility LOG_DAEMON.
 * Warnings and information of one format are rate-limited (log.c).
 * Never pass a secret to these functions.
 */
#ifndef CFGSTORE_LOG_H
#define CFGSTORE_LOG_H

void	log_init(int foreground, int verbose, const char *ident);
void	log_setverbose(int verbose);
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
