/*
 * health.c - whether this node is healthy, for `cfgstore status`.
 *
 * Degraded: a service whose last render failed; on the primary a peer
 * behind or unreachable; on a replica the primary unreachable or this
 * node behind; the CARP demotion counter raised by this node, or its
 * command failing; the daemon not running while there are peers.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "health.h"
#include "render.h"

void
health_add(struct health *h, const char *token, const char *fmt, ...)
{
	struct health_reason *r;
	va_list ap;

	if (h->n++ >= HEALTH_MAX)
		return;
	r = &h->r[h->n - 1];
	snprintf(r->token, sizeof(r->token), "%s", token);
	va_start(ap, fmt);
	vsnprintf(r->line, sizeof(r->line), fmt, ap);
	va_end(ap);
}

static int
failed_service(void *arg, const struct render_status *st)
{
	if (render_outcome_failed(st->outcome))
		health_add(arg, "service", "%s: %s at r%" PRIu64 "%s%.400s",
		    st->service, render_outcome_name(st->outcome), st->rev,
		    st->message[0] != '\0' ? ": " : "", st->message);
	return 0;
}

void
health_verdict(struct store *s, const struct repl_status *st,
    struct health *h)
{
	const struct repl_peer_status *p;
	struct error err = { 0 };
	char when[32];
	size_t i;

	memset(h, 0, sizeof(*h));
	if (render_status_each(s, failed_service, h, &err) == -1)
		health_add(h, "service", "cannot read the render records: %s",
		    err.msg);
	if (!st->daemon && st->npeers > 0)
		health_add(h, "daemon", "the daemon is not running");
	for (i = 0; st->primary && i < st->npeers; i++) {
		p = &st->peers[i];
		if (st->daemon && !p->connected)
			health_add(h, "peer-unreachable", "%s (%s) is not "
			    "connected%s%s", p->name, p->addr,
			    p->error[0] != '\0' ? ": " : "", p->error);
		if (p->lag > 0)
			health_add(h, "peer-behind", "%s lacks %" PRIu64
			    " commit%s", p->name, p->lag,
			    p->lag == 1 ? "" : "s");
	}
	if (!st->primary && st->npeers > 0) {
		if (st->primary_connected == 0)
			health_add(h, "primary-unreachable", "%s is not "
			    "connected", st->primary_name[0] != '\0' ?
			    st->primary_name : "the primary (not known yet)");
		for (i = 0; i < st->npeers; i++)
			if (st->peers[i].lag > 0)
				health_add(h, "behind", "%" PRIu64 " commit%s "
				    "behind %s", st->peers[i].lag,
				    st->peers[i].lag == 1 ? "" : "s",
				    st->peers[i].name);
	}
	if (st->fenced)
		health_add(h, "fenced", "%s is the primary of epoch %" PRIu64
		    ", above this node's %" PRIu64 ": writes refused",
		    st->primary_name[0] != '\0' ? st->primary_name :
		    "another node", st->fenced_epoch, st->epoch);
	if (st->ndiverged > st->nexported)
		health_add(h, "diverged", "%zu commit%s moved to the diverged "
		    "branch and not exported (cfgstore export --diverged)",
		    st->ndiverged - st->nexported,
		    st->ndiverged - st->nexported == 1 ? "" : "s");
	if (st->demoted) {
		format_time(when, sizeof(when), st->demoted_ms);
		health_add(h, "demoted", "CARP demotion raised since %s: %s",
		    when, st->demote_why);
	}
	if (st->demote_error[0] != '\0') {
		format_time(when, sizeof(when), st->demote_error_ms);
		health_add(h, "demote-failed", "at %s: %s", when,
		    st->demote_error);
	}
}
