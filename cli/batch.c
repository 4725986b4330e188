/*
 * batch.c - the batch files of `cfgstore apply` (docs/FORMAT.md): one
 * "set KEY VALUE...", "set --list|--blob|--file KEY ...", or "del KEY"
 * per line, read whole into a change before the store is touched; and
 * the values of `set`, which the lines share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "batch.h"
#include "format.h"

#define APPLY_LINE_MAX	(STORE_VALUE_MAX * 2)
#define APPLY_TOKENS	(STORE_LIST_MAX + 4)

int
value_from_file(const char *path, struct value **v, struct error *err)
{
	struct buf b = { 0 };
	struct stat st;
	int rc;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size > STORE_VALUE_MAX)
		return error_set(err, ERR_BADVALUE, "value too large: %lld bytes "
		    "(limit %u) in %s", (long long)st.st_size, STORE_VALUE_MAX,
		    path);
	if (buf_read_file(&b, path, STORE_VALUE_MAX) == -1)
		return error_errno(err, ERR_INPUT, "%s", path);
	rc = value_blob(b.data, b.len, v, err);
	buf_free_secret(&b);	/* it may be a key */
	return rc;
}

/* The value of `set` arguments: one string, else a list. */
int
value_from_args(char **args, int n, int list, struct value **v,
    struct error *err)
{
	if (n == 1 && !list)
		return value_string(args[0], strlen(args[0]), v, err);
	return value_list((const char *const *)args, (size_t)n, v, err);
}

/* One line of a batch into c; 0, or -1 with err saying why. */
static int
apply_line(struct change *c, char *line, char **tok, struct error *err)
{
	const char *why = NULL;
	struct value *v = NULL;
	int n, rc, i = 1, list = 0, blob = 0, file = 0;

	if ((n = format_split(line, tok, APPLY_TOKENS, &why)) == -1)
		return error_set(err, ERR_INPUT, "%s", why);
	if (n == 0)
		return 0;
	if (strcmp(tok[0], "del") == 0) {
		if (n != 2)
			return error_set(err, ERR_INPUT, "want: del KEY");
		return change_del(c, tok[1], err);
	}
	if (strcmp(tok[0], "set") != 0)
		return error_set(err, ERR_INPUT, "unknown operation '%.40s' "
		    "(want set or del)", tok[0]);
	if (i < n && strcmp(tok[i], "--list") == 0)
		list = 1, i++;
	else if (i < n && strcmp(tok[i], "--blob") == 0)
		blob = 1, i++;
	else if (i < n && strcmp(tok[i], "--file") == 0)
		file = 1, i++;
	if (n - i < (list ? 1 : 2) || ((blob || file) && n - i != 2))
		return error_set(err, ERR_INPUT, "want: set KEY VALUE...");
	if (key_check(tok[i], err) == -1)
		return -1;
	if (blob) {
		unsigned char *bin;
		size_t len, cap = strlen(tok[i + 1]);

		/* libsodium 1.0.18 would read bytes from 0x80 up as '/'. */
		if (strspn(tok[i + 1], "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789+/=") != cap)
			return error_set(err, ERR_INPUT, "invalid base64");
		if ((bin = malloc(cap + 1)) == NULL)
			return error_errno(err, ERR_FAIL, "apply");
		if (sodium_base642bin(bin, cap + 1, tok[i + 1], cap, NULL, &len,
		    NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
			free(bin);
			return error_set(err, ERR_INPUT, "invalid base64");
		}
		rc = value_blob(bin, len, &v, err);
		sodium_memzero(bin, cap + 1);
		free(bin);
	} else if (file)
		rc = value_from_file(tok[i + 1], &v, err);
	else
		rc = value_from_args(tok + i + 1, n - i - 1, list, &v, err);
	if (rc == 0)
		rc = change_set(c, tok[i], v, err);
	value_free(v);
	return rc;
}

/*
 * The whole batch is read and checked before the store is touched, so a
 * bad line anywhere writes nothing.
 */
int
read_batch(FILE *f, const char *name, struct change *c, struct error *err)
{
	char *line = NULL, **tok;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	int rc = 0;

	if ((tok = calloc(APPLY_TOKENS, sizeof(*tok))) == NULL)
		return error_errno(err, ERR_FAIL, "apply");
	while (rc == 0 && (len = getline(&line, &cap, f)) != -1) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		/* What the commit finds wrong names the line too. */
		if ((size_t)len > APPLY_LINE_MAX || strlen(line) != (size_t)len)
			rc = error_set(err, ERR_INPUT, "line too long or binary");
		else if ((rc = change_origin(c, name, lineno, err)) == 0)
			rc = apply_line(c, line, tok, err);
		if (rc == -1)
			error_wrap(err, "%s:%lu", name, lineno);
	}
	if (rc == 0 && ferror(f))
		rc = error_errno(err, ERR_FAIL, "%s", name);
	free(line);
	free(tok);
	return rc;
}
