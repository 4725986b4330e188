/*
 * keys.c - what a key and a node name may be.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "store.h"

static int
name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int
node_name_check(const char *name, struct error *err)
{
	size_t len = strlen(name);

	if (len == 0 || len > STORE_NODE_MAX)
		return error_set(err, ERR_BADKEY,
		    "invalid node name '%.80s' (1 to %d characters)", name,
		    STORE_NODE_MAX);
	/* As a host name: never an option's "-", never a hidden ".". */
	if (!isalnum((unsigned char)name[0]))
		return error_set(err, ERR_BADKEY, "invalid node name '%.80s' "
		    "(it starts with a letter or digit)", name);
	for (size_t i = 0; i < len; i++)
		if (!name_char((unsigned char)name[i]) &&
		    !(name[i] == '.' && i > 0 && i + 1 < len &&
		    name[i + 1] != '.'))
			return error_set(err, ERR_BADKEY,
			    "invalid node name '%.80s' (letters, digits, "
			    "'_', '-' and inner dots)", name);
	return 0;
}

size_t
key_base(const char *key, const char **host)
{
	const char *at = strchr(key, '@');

	if (host != NULL)
		*host = at ? at + 1 : NULL;
	return at ? (size_t)(at - key) : strlen(key);
}

int
key_check(const char *key, struct error *err)
{
	const char *host;
	size_t len = strlen(key), base = key_base(key, &host);
	int component = 0;
	/* "schema.PATTERN" names a schema record (docs/SCHEMA.md). */
	int schema = strncmp(key, SCHEMA_PREFIX, strlen(SCHEMA_PREFIX)) == 0 &&
	    base > strlen(SCHEMA_PREFIX);

	if (len > STORE_KEY_MAX)
		return error_set(err, ERR_BADKEY,
		    "key too long: %zu bytes (limit %d)", len, STORE_KEY_MAX);
	for (size_t i = 0; i < base; i++) {
		if (key[i] == '.') {
			if (component == 0)
				goto bad;
			component = 0;
		} else if (name_char((unsigned char)key[i]) &&
		    (component > 0 || isalnum((unsigned char)key[i])))
			component++;	/* never "-x": no key reads as an option */
		else if (key[i] == '*' && component == 0 && schema &&
		    (i + 1 == base || key[i + 1] == '.'))
			component++;	/* a schema pattern's "any component" */
		else if (key[i] == '*' && component == 0 && schema &&
		    i + 2 == base && key[i + 1] == '*')
			component++, i++;	/* "**": all the rest */
		else
			goto bad;
	}
	if (component == 0)
		goto bad;
	if (schema && host != NULL)
		return error_set(err, ERR_BADKEY, "invalid key '%.300s' (a "
		    "schema record is for every host: no @HOST)", key);
	if (host != NULL && node_name_check(host, NULL) == -1)
		return error_set(err, ERR_BADKEY,
		    "invalid host in key '%.300s'", key);
	return 0;
bad:
	return error_set(err, ERR_BADKEY,
	    "invalid key '%.300s' (dot-separated names of letters, digits, "
	    "'_' and '-', each starting with a letter or digit, optionally "
	    "@HOST; '*' only in a schema pattern)", key);
}
