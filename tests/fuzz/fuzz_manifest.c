/*
 * fuzz_manifest.c - the service manifest (render/manifest.c): service.*
 * keys, which anyone who may commit writes, read by every node to decide
 * which files it writes as root, with which modes, owners, checks and
 * restarts.
 *
 * The data is the guide's site for fw1 (the shipped manifest included);
 * each input line, "set [--list] KEY VALUE..." as `cfgstore export`
 * prints and `apply` reads (format_split), then sets KEY in it as a
 * commit of those keys would, and every service is read from the result
 * with the store's real templates and blobs.  See fuzz.h for how harnesses are built and run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "fuzz.h"
#include "manifest.h"

#define TOKENS	64

static struct store *st;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	st = fuzz_guide_store();
	return 0;
}

/* A "set" line into data; lines that do not fit are skipped. */
static void
set_line(struct tree *data, char *line)
{
	struct error err;
	struct tree *leaf;
	const char *why;
	char *tok[TOKENS];
	int n, i = 1, list = 0;

	if ((n = format_split(line, tok, TOKENS, &why)) < 3 ||
	    strcmp(tok[0], "set") != 0)
		return;
	if (strcmp(tok[1], "--list") == 0)
		list = 1, i++;
	if (n - i == 2 && !list)
		leaf = tree_new_string(tok[i + 1], strlen(tok[i + 1]));
	else if ((leaf = tree_new_list()) != NULL)
		for (int k = i + 1; k < n; k++)
			if (tree_list_append(leaf, tree_new_string(tok[k],
			    strlen(tok[k])), &err) == -1)
				return;
	(void)tree_set_path(data, tok[i], leaf, &err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	struct error err = { 0 };
	struct mservice m;
	struct tree *data;
	const struct tree *svcs;
	char *text, *line, *next, *warning = NULL, *name;
	size_t i;

	if (manifest_data(st, "fw1", 0, &data, &warning, &err) == -1) {
		fprintf(stderr, "manifest_data: %s\n", err.msg);
		abort();
	}
	free(warning);
	if ((text = malloc(size + 1)) == NULL)
		abort();
	memcpy(text, d, size);
	text[size] = '\0';
	for (line = strtok_r(text, "\n", &next); line != NULL;
	    line = strtok_r(NULL, "\n", &next))
		set_line(data, line);
	svcs = tree_map_get(data, "service");
	for (i = 0; i < tree_len(svcs); i++) {
		if ((name = strdup(tree_key_at(svcs, i, NULL))) == NULL)
			abort();
		err.msg[0] = '\0';
		if (!manifest_has_service(data, name))
			;
		else if (manifest_service(st, "fw1", 0, data, name, &m,
		    &err) == 0) {
			for (size_t f = 0; f < m.nfiles; f++)
				if (m.files[f].path[0] != '/')
					abort();	/* paths are absolute */
			manifest_service_clear(&m);
		} else if (err.msg[0] == '\0')
			abort();	/* a refusal says why */
		else if (getenv("FUZZ_VERBOSE") != NULL)
			fprintf(stderr, "%s: %s\n", name, err.msg);
		free(name);
	}
	tree_free(data);
	free(text);
	return 0;
}
