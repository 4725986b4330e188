#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "format.h"
#include "textdiff.h"

static int
plain_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("._:/@,+=-%[]", c) != NULL;
}

void
format_token(FILE *f, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && plain_char((unsigned char)s[i]); i++)
		;
	/* "--x" would read as an option of set; quote it. */
	if (i == len && len > 0 && s[0] != '-') {
		fwrite(s, 1, len, f);
		return;
	}
	fputc('"', f);
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			fputc('\\', f);
		if (s[i] == '\t')
			fputs("\\t", f);
		else
			fputc(s[i], f);
	}
	fputc('"', f);
}

void
format_text(FILE *f, const char *s)
{
	struct value *v = NULL;
	int text = value_string(s, strlen(s), &v, NULL) == 0;

	value_free(v);
	if (text) {
		fputs(s, f);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p < 0x20 && *p != '\t') || *p >= 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

void
format_set_line(FILE *f, const char *key, const struct value *v)
{
	const void *p;
	size_t len, n;

	switch (value_type(v)) {
	case VALUE_STRING:
		p = value_bytes(v, &len);
		fprintf(f, "set %s ", key);
		format_token(f, p, len);
		break;
	case VALUE_LIST:
		fprintf(f, "set --list %s", key);
		for (size_t i = 0; i < value_count(v); i++) {
			const char *item = value_item(v, i, &len);

			fputc(' ', f);
			format_token(f, item, len);
		}
		break;
	case VALUE_BLOB: {
		char *b64;

		p = value_bytes(v, &len);
		n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
		if ((b64 = malloc(n)) == NULL)
			return;
		sodium_bin2base64(b64, n, p, len, sodium_base64_VARIANT_ORIGINAL);
		fprintf(f, "set --blob %s %s", key, len ? b64 : "\"\"");
		free(b64);
		break;
	}
	}
	fputc('\n', f);
}

void
format_value(FILE *f, const struct value *v)
{
	unsigned char hash[8];
	const void *p;
	size_t len;

	switch (value_type(v)) {
	case VALUE_STRING:
		p = value_bytes(v, &len);
		fwrite(p, 1, len, f);
		break;
	case VALUE_LIST:
		fputc('[', f);
		for (size_t i = 0; i < value_count(v); i++) {
			const char *item = value_item(v, i, &len);

			fprintf(f, "%s%.*s", i ? ", " : "", (int)len, item);
		}
		fputc(']', f);
		break;
	case VALUE_BLOB:
		p = value_bytes(v, &len);
		crypto_generichash(hash, sizeof(hash), p, len, NULL, 0);
		fprintf(f, "<blob %zu bytes b2:", len);
		for (size_t i = 0; i < sizeof(hash); i++)
			fprintf(f, "%02x", hash[i]);
		fputc('>', f);
		break;
	}
}

json_t *
format_json(const struct value *v)
{
	const void *p;
	size_t len, n;
	json_t *j;
	char *b64;

	switch (value_type(v)) {
	case VALUE_STRING:
		p = value_bytes(v, &len);
		return json_stringn(p, len);
	case VALUE_LIST:
		if ((j = json_array()) == NULL)
			return NULL;
		for (size_t i = 0; i < value_count(v); i++) {
			const char *item = value_item(v, i, &len);

			if (format_json_append(j, json_stringn(item, len)) == -1) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	case VALUE_BLOB:
		p = value_bytes(v, &len);
		n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
		if ((b64 = malloc(n)) == NULL)
			return NULL;
		sodium_bin2base64(b64, n, p, len, sodium_base64_VARIANT_ORIGINAL);
		j = json_pack("{s:s}", "blob", b64);
		free(b64);
		return j;
	}
	return NULL;
}

int
format_json_append(json_t *array, json_t *item)
{
	if (array == NULL || item == NULL) {
		json_decref(item);
		return -1;
	}
	return json_array_append_new(array, item);
}

int
format_json_set(json_t *object, const char *key, json_t *item)
{
	if (object == NULL || item == NULL) {
		json_decref(item);
		return -1;
	}
	return json_object_set_new(object, key, item);
}

void
format_time(char *out, size_t len, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
format_hash(char *out, size_t len, const unsigned char *hash, int full)
{
	size_t n = full ? STORE_HASH_LEN : 6;

	if (len < 2 * n + 1) {
		out[0] = '\0';
		return;
	}
	sodium_bin2hex(out, len, hash, n);
}

/*
 * JSON_ENCODE_ANY: a lone string is a document too (get --json of a
 * string value).  Nothing is printed unless all of it can be.
 */
int
format_json_print(json_t *j)
{
	char *text = NULL;

	if (j != NULL)
		text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
		    JSON_ENCODE_ANY);
	json_decref(j);
	if (text == NULL) {
		fprintf(stderr, "cfgstore: cannot encode the output as JSON\n");
		return ERR_FAIL;
	}
	fputs(text, stdout);
	fputc('\n', stdout);
	free(text);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "cfgstore: cannot write the output\n");
		return ERR_FAIL;
	}
	return 0;
}

int
format_split(char *line, char **tokens, int max, const char **why)
{
	char *r = line, *w;
	int n = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '\0' || *r == '#')
			return n;
		if (n == max) {
			*why = "too many values";
			return -1;
		}
		tokens[n++] = w = r;
		if (*r != '"' && *r != '\'') {
			while (*r != '\0' && *r != ' ' && *r != '\t')
				r++;
			if (*r != '\0')
				*r++ = '\0';
			continue;
		}
		if (*r++ == '\'') {
			/* Single quotes: everything literal up to the next one. */
			while (*r != '\0' && *r != '\'')
				*w++ = *r++;
		} else {
			while (*r != '\0' && *r != '"') {
				if (*r == '\\') {
					r++;
					if (*r == 't')
						*w++ = '\t', r++;
					else if (*r == '"' || *r == '\\')
						*w++ = *r++;
					else {
						*why = "unknown escape (use \\\" \\\\ \\t)";
						return -1;
					}
				} else
					*w++ = *r++;
			}
		}
		if (*r == '\0') {
			*why = "unterminated quote";
			return -1;
		}
		r++;
		if (*r != '\0' && *r != ' ' && *r != '\t') {
			*why = "text right after a closing quote";
			return -1;
		}
		*w = '\0';
		if (*r != '\0')
			r++;
	}
}

/* A blob that is text, or nothing: what a line diff can show. */
static int
diffable(const struct value *v)
{
	const void *p;
	size_t len;

	if (v == NULL)
		return 1;
	if (value_type(v) != VALUE_BLOB)
		return 0;
	p = value_bytes(v, &len);
	return text_is_text(p, len);
}

int
format_change(FILE *f, const char *key, const struct value *old,
    const struct value *new)
{
	struct error err = { 0 };
	struct buf d = { 0 }, la = { 0 }, lb = { 0 };
	const void *a = "", *b = "";
	size_t alen = 0, blen = 0;
	int rc = 0;

	if ((old == NULL && new == NULL) || !diffable(old) || !diffable(new)) {
		for (int i = 0; i < 2; i++) {
			const struct value *v = i ? new : old;

			if (v == NULL)
				continue;
			fprintf(f, "%c %s = ", i ? '+' : '-', key);
			format_value(f, v);
			fputc('\n', f);
		}
		return 0;
	}
	buf_secret(&d);		/* it may be a key */
	if (old != NULL)
		a = value_bytes(old, &alen);
	if (new != NULL)
		b = value_bytes(new, &blen);
	if (buf_printf(&la, "%s%s", old ? "a/" : "/dev/null", old ? key : "")
	    == -1 || buf_printf(&lb, "%s%s", new ? "b/" : "/dev/null",
	    new ? key : "") == -1 ||
	    text_diff(la.data, a, alen, lb.data, b, blen, &d, &err) == -1)
		rc = -1;
	else {
		fprintf(f, "%c %s: text, %zu -> %zu bytes\n", old == NULL ? '+' :
		    new == NULL ? '-' : '~', key, alen, blen);
		fwrite(d.data != NULL ? d.data : "", 1, d.len, f);
	}
	buf_free(&la);
	buf_free(&lb);
	buf_free_secret(&d);
	return rc;
}
