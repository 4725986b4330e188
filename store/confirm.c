/*
 * confirm.c - what the history says is waiting for a confirmation.
 *
 * No record of its own: the commits at the top of the history that carry
 * COMMIT_CONFIRM are the pending ones, and the first commit below them
 * that does not is where a revert goes back to.  Any commit without the
 * flag ends the wait: a confirmation, the automatic rollback, or a plain
 * write (as the writer could reach the primary, the change did no harm).
 */
#include <string.h>

#include "store_int.h"

int
store_confirm_pending(struct store *s, const struct store_confirm *known,
    struct store_confirm *out, struct error *err)
{
	struct commit *c;
	uint64_t head, rev, flags;

	memset(out, 0, sizeof(*out));
	if (store_head(s, &head, NULL, err) == -1)
		return -1;
	for (rev = head; rev > 0; rev--) {
		if (store_commit_load(s, rev, &c, err) == -1)
			return -1;
		flags = commit_flags(c);
		if ((flags & COMMIT_CONFIRM) && rev == head) {
			out->pending = 1;
			out->rev = rev;
			out->window = commit_confirm_window(c);
			out->time_ms = commit_time_ms(c);
		}
		commit_free(c);
		if (!(flags & COMMIT_CONFIRM))
			break;
		/* Known to wait, back to its base: no need to read on. */
		if (known != NULL && known->pending && known->rev == rev &&
		    known->base < rev) {
			out->base = known->base;
			return 0;
		}
	}
	if (out->pending)
		out->base = rev;
	return 0;
}
