/*
 * fuzz_value.c - values (store/value.c): their canonical encoding as it
 * arrives in commits and local records, and the constructors that take
 * what an admin types or a file holds.
 *
 * The first byte picks the way in: 0 value_decode, 1 value_string,
 * 2 value_list (items separated by NUL bytes), 3 value_blob.  Every value
 * made must read back the same through its encoding.  See fuzz.h for how
 * harnesses are built and run.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "store.h"

/* v encodes, decodes, duplicates and compares as one value. */
static void
roundtrip(const struct value *v)
{
	struct error err = { 0 };
	struct value *again = NULL, *dup;
	const void *enc, *p;
	size_t len, n, i, ilen;

	enc = value_encoded(v, &len);
	if (value_decode(enc, len, &again, &err) == -1 ||
	    !value_equal(v, again) || value_type(again) != value_type(v))
		abort();
	switch (value_type(v)) {
	case VALUE_STRING:
		p = value_bytes(v, &n);
		if (memchr(p, '\0', n) != NULL || memchr(p, '\n', n) != NULL ||
		    memchr(p, '\r', n) != NULL)
			abort();	/* one line of text, always */
		break;
	case VALUE_LIST:
		n = value_count(v);
		for (i = 0; i < n; i++) {
			p = value_item(v, i, &ilen);
			if (memchr(p, '\0', ilen) != NULL ||
			    memchr(p, '\n', ilen) != NULL)
				abort();
		}
		break;
	case VALUE_BLOB:
		value_bytes(v, &n);
		break;
	default:
		abort();
	}
	if ((dup = value_dup(v)) == NULL || !value_equal(dup, v))
		abort();
	value_free(dup);
	value_free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = { 0 };
	struct value *v = NULL;
	const char **items = NULL;
	char *text = NULL;
	size_t n = 0, i, len;
	int rc = -1;

	if (size < 1)
		return 0;
	len = size - 1;
	switch (data[0]) {
	case 0:
		rc = value_decode(data + 1, len, &v, &err);
		if (rc == 0) {
			const void *enc = value_encoded(v, &i);

			if (i != len || memcmp(enc, data + 1, len) != 0)
				abort();	/* accepted non-canonical bytes */
		}
		break;
	case 1:
		rc = value_string((const char *)data + 1, len, &v, &err);
		break;
	case 2:
		/* NUL-separated items, as C strings. */
		if ((text = malloc(len + 1)) == NULL)
			return 0;
		memcpy(text, data + 1, len);
		text[len] = '\0';
		for (i = 0; i <= len; i++)
			if (text[i] == '\0')
				n++;
		if ((items = calloc(n, sizeof(*items))) == NULL)
			break;
		items[0] = text;
		for (i = 0, n = 1; i < len; i++)
			if (text[i] == '\0')
				items[n++] = text + i + 1;
		rc = value_list(items, n, &v, &err);
		if (rc == 0 && value_count(v) != n)
			abort();
		break;
	case 3:
		rc = value_blob(data + 1, len, &v, &err);
		if (rc == -1)
			abort();	/* any bytes are a blob */
		break;
	default:
		return 0;
	}
	if (rc == 0)
		roundtrip(v);
	else if (err.code != ERR_INPUT || err.msg[0] == '\0')
		abort();
	value_free(v);
	free(items);
	free(text);
	return 0;
}
