/*
 * report.c - what a render did to each service, as render.h hands it
 * to callers: outcomes, one-line messages, the summary line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "render_int.h"

static const char *const outcome_names[] = {
	[RENDER_UNCHANGED] = "unchanged",
	[RENDER_INSTALLED] = "installed",
	[RENDER_WOULD_INSTALL] = "would-install",
	[RENDER_DRIFT] = "drift",
	[RENDER_CHECK_FAILED] = "check-failed",
	[RENDER_RESTART_FAILED] = "restart-failed",
	[RENDER_ERROR] = "error",
};

const char *
render_outcome_name(enum render_outcome o)
{
	if ((size_t)o < sizeof(outcome_names) / sizeof(outcome_names[0]))
		return outcome_names[o];
	return "?";
}

int
render_outcome_failed(enum render_outcome o)
{
	return o == RENDER_DRIFT || o == RENDER_CHECK_FAILED ||
	    o == RENDER_RESTART_FAILED || o == RENDER_ERROR;
}

struct entry *
report_add(struct render_report *r, const char *service)
{
	struct entry *en;

	en = reallocarray(r->v, r->n + 1, sizeof(*en));
	if (en == NULL)
		return NULL;
	r->v = en;
	en = &r->v[r->n];
	memset(en, 0, sizeof(*en));
	if ((en->service = strdup(service)) == NULL)
		return NULL;
	r->n++;
	return en;
}

/* Sets the outcome and its one-line message (a copy of what buf says). */
void
entry_set(struct entry *en, enum render_outcome o, const char *fmt, ...)
{
	va_list ap;
	char *p, *msg;

	en->outcome = o;
	/* Formatted before the old one is freed: it may be an argument. */
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	free(en->message);
	en->message = msg;
	/* Messages are one line: a checker's output is cut at its first. */
	if (en->message != NULL && (p = strchr(en->message, '\n')) != NULL)
		*p = '\0';
}

/* Adds a warning to the report's; the first few are kept. */
void
report_warn(struct render_report *r, const char *fmt, ...)
{
	va_list ap;
	char *msg, *w;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	if (r->warning == NULL) {
		r->warning = msg;
		return;
	}
	if (strlen(r->warning) < 1024 &&
	    asprintf(&w, "%s; %s", r->warning, msg) != -1) {
		free(r->warning);
		r->warning = w;
	}
	free(msg);
}

uint64_t
render_report_rev(const struct render_report *r)
{
	return r->rev;
}

size_t
render_report_count(const struct render_report *r)
{
	return r->n;
}

const char *
render_report_service(const struct render_report *r, size_t i)
{
	return r->v[i].service;
}

enum render_outcome
render_report_outcome(const struct render_report *r, size_t i)
{
	return r->v[i].outcome;
}

const char *
render_report_message(const struct render_report *r, size_t i)
{
	return r->v[i].message != NULL ? r->v[i].message : "";
}

const char *
render_report_output(const struct render_report *r, size_t i)
{
	return r->v[i].output != NULL ? r->v[i].output : "";
}

const char *
render_report_warning(const struct render_report *r)
{
	return r->warning;
}

size_t
render_report_failures(const struct render_report *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		n += render_outcome_failed(r->v[i].outcome);
	return n;
}

/* Appends "LABEL a, b" for the entries that match; returns how many. */
static size_t
summary_part(const struct render_report *r, struct buf *b, const char *label,
    int (*match)(const struct entry *))
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++) {
		if (!match(&r->v[i]))
			continue;
		buf_printf(b, "%s%s", n == 0 ? label : ", ", r->v[i].service);
		n++;
	}
	return n;
}

static int
is_restarted(const struct entry *en)
{
	return en->outcome == RENDER_INSTALLED && en->restarts;
}

static int
is_installed(const struct entry *en)
{
	return en->outcome == RENDER_INSTALLED && !en->restarts;
}

static int
is_would_restart(const struct entry *en)
{
	return en->outcome == RENDER_WOULD_INSTALL && en->restarts;
}

static int
is_would_install(const struct entry *en)
{
	return en->outcome == RENDER_WOULD_INSTALL && !en->restarts;
}

static int
is_failed(const struct entry *en)
{
	return render_outcome_failed(en->outcome);
}

const char *
render_report_summary(const struct render_report *r, char *out, size_t len)
{
	static const struct {
		const char	*label;
		int		(*match)(const struct entry *);
	} parts[] = {
		{ "restarted ", is_restarted },
		{ "installed ", is_installed },
		{ "would restart ", is_would_restart },
		{ "would install ", is_would_install },
		{ "failed: ", is_failed },
	};
	struct buf b = { 0 };
	size_t i, mark;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		mark = b.len;
		if (b.len > 0)
			buf_puts(&b, "; ");
		if (summary_part(r, &b, parts[i].label, parts[i].match) == 0 &&
		    b.data != NULL)
			b.data[b.len = mark] = '\0';
	}
	snprintf(out, len, "%s", b.len > 0 ? b.data : "no change");
	buf_free(&b);
	return out;
}

void
render_report_free(struct render_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->v[i].service);
		free(r->v[i].message);
		free(r->v[i].output);
	}
	free(r->v);
	free(r->warning);
	free(r);
}
