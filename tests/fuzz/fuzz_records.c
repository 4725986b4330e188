/*
 * fuzz_records.c - the local records a node reads back from its store:
 * the renderer's (render/records.c: render.file:, render.service:,
 * render.unchecked:) and the replicator's per-peer record
 * (replicator/records.c: repl.peer.NAME, read by repl_status_get).  They
 * are written by cfgstore itself, but a store carried over from an older
 * or damaged version holds whatever it holds.
 *
 * Every input is written as each of these records in a real store, then
 * read back through the public functions that parse them.  See fuzz.h
 * for how harnesses are built and run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "records.h"
#include "replicator.h"

static struct store *st;
static char missing[1200], filerec[1300], uncheckedrec[1300];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct error err = { 0 };
	struct peer_info p;

	(void)argc;
	(void)argv;
	st = fuzz_store("fw1", 1);
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "fw2");
	snprintf(p.addr, sizeof(p.addr), "127.0.0.1:9");
	memset(p.pubkey, 7, sizeof(p.pubkey));
	if (store_peer_add(st, &p, &err) == -1)
		abort();
	/* A path no file is at: recovery removes nothing but the record. */
	snprintf(missing, sizeof(missing), "%s/missing", fuzz_tmpdir());
	snprintf(filerec, sizeof(filerec), "render.file:%s", missing);
	snprintf(uncheckedrec, sizeof(uncheckedrec), "render.unchecked:%s",
	    missing);
	return 0;
}

static int
status_fn(void *arg, const struct render_status *s)
{
	(void)arg;
	if (s->message == NULL || strchr(s->service, ':') != NULL)
		abort();
	return 0;
}

static int
file_fn(void *arg, const struct render_file_status *f)
{
	(void)arg;
	if (f->state != RENDER_FILE_MISSING)
		abort();	/* nothing is there */
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_local_rec r[] = {
		{ filerec, data, size },
		{ "render.service:ntpd", data, size },
		{ "render.pending:ntpd", data, size },
		{ uncheckedrec, data, size },
		{ "repl.peer.fw2", data, size },
	};
	struct error err = { 0 };
	struct rec_batch b = { NULL, 0 };
	struct repl_status *rs;
	struct frec fr;

	if (store_local_put_many(st, r, sizeof(r) / sizeof(r[0]), &err) == -1)
		abort();
	rec_file_get(st, missing, &fr);
	if (fr.n < 0 || fr.n > 2)
		abort();
	(void)rec_pending(st, "ntpd");
	if (render_status_each(st, status_fn, NULL, &err) == -1 ||
	    render_files_each(st, file_fn, NULL, &err) == -1 ||
	    rec_service_add(&b, st, "ntpd", 1, RENDER_INSTALLED, "installed",
	    &err) == -1)
		abort();
	rec_batch_free(&b);
	if (rec_unchecked_recover(st, &err) == -1)
		abort();
	if (repl_status_get(st, &rs, &err) == -1)
		abort();
	if (rs->npeers != 1 || strlen(rs->peers[0].error) >=
	    sizeof(rs->peers[0].error))
		abort();
	repl_status_free(rs);
	return 0;
}
