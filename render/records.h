/*
 * records.h - what this node remembers of its renders (records.c):
 * installed hashes, interrupted restarts, the last outcome per service.
 */
#ifndef CFGSTORE_RECORDS_H
#define CFGSTORE_RECORDS_H

#include <stdint.h>

#include "error.h"
#include "install.h"
#include "render.h"
#include "store.h"

/*
 * What render.file:PATH says: the contents the file may have without
 * having been edited by hand.  One hash normally; two while an install
 * is under way (the new and the old), so that a render killed just before
 * or just after the rename leaves no false drift behind.
 */
struct frec {
	uint64_t	 rev;
	int		 n;			/* 0: no record */
	char		 hash[2][INSTALL_HASH_HEX];
};

/*
 * Records are written in batches, one transaction and one fsync each:
 * a render writes one batch per phase (before its first rename, and at
 * its end), not one per record.  The rec_*_add functions add to a batch;
 * a later record of the same name in a batch wins.
 */
struct rec_batch {
	struct store_local_rec	*r;
	size_t			 n;
};
int	rec_batch_write(struct store *s, struct rec_batch *b,
	    struct error *err);
void	rec_batch_free(struct rec_batch *b);

/* Fills *r; n = 0 when there is no (readable) record. */
void	rec_file_get(struct store *s, const char *path, struct frec *r);
/* Adds *r; n = 0 removes the record. */
int	rec_file_add(struct rec_batch *b, const char *path,
	    const struct frec *r, struct error *err);
/* A record saying the file holds the bytes whose hash is given. */
void	frec_one(struct frec *r, uint64_t rev, const char *hash);

/* 1 when service has files in place that it has not restarted on. */
int	rec_pending(struct store *s, const char *service);
int	rec_pending_add(struct rec_batch *b, const char *service,
	    uint64_t rev, int on, struct error *err);

/*
 * A file that was not there is put in place before its service's checks
 * (the checker may read it: unbound-checkconf wants root.hints to
 * exist), under a record saying so; hash NULL removes the record.  If
 * the render is killed before the check passes, rec_unchecked_recover,
 * at the start of the next, removes every such file that is still as it
 * was put there, and the records.
 */
int	rec_unchecked_add(struct rec_batch *b, const char *path,
	    const char *hash, struct error *err);
int	rec_unchecked_set(struct store *s, const char *path, const char *hash,
	    struct error *err);
int	rec_unchecked_recover(struct store *s, struct error *err);

/*
 * The services' last renders, for render_status_each, added to the
 * batch a render writes at its end.  A service whose render ends as the
 * one before, at the same revision, adds nothing, so a no-op render
 * costs no fsync.
 */
int	rec_service_add(struct rec_batch *b, struct store *s,
	    const char *service, uint64_t rev, enum render_outcome outcome,
	    const char *msg, struct error *err);

#endif
