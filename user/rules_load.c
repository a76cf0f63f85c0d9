// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rules_load: rule files -> item definitions -> compiled rule set.
 *
 *   files (in order) --jsonsrc: read, blank // comments--> cJSON + position tree
 *        --rules_items.c: one item at a time--> lists, macros, rule defs
 *        (later items append to / replace / patch earlier ones by name)
 *   all files done --rules_compile.c--> struct tg_ruleset
 *
 * Compilation waits until every file is read so that a later file can
 * change a macro or list that an earlier rule uses.
 *
 * Positions: comments are blanked with spaces rather than removed, so a
 * byte offset in the parsed copy is the same offset in the file, and a
 * position tree (jsonsrc_scan) gives every value and key its offset
 * (cJSON keeps none). Condition texts remember which file string each
 * piece came from (rules_text.c), so an error offset inside a composed
 * condition ("(a) and not (b)") maps back to the exact file:line:col.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "diag.h"
#include "jsonsrc.h"
#include "profile.h"
#include "rules.h"
#include "rules_priv.h"

/* A rule file larger than this is a mistake, not a rule pack. */
#define RULES_FILE_MAX (16u << 20)

/* ---- memory: every failure becomes one "out of memory" error ---- */

void rl_oom(struct tg_rloader *L)
{
	if (!L->oom)
		diag_error(L->diag, NULL, 0, 0, NULL, "out of memory loading rules");
	L->oom = true;
}

void *rl_grow(struct tg_rloader *L, void *p, size_t n, size_t size)
{
	void *q = n && size <= (size_t)-1 / n ? realloc(p, n * size) : NULL;

	if (!q)
		rl_oom(L);
	return q;
}

char *rl_strdup(struct tg_rloader *L, const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		rl_oom(L);
	return d;
}

/* ---- diagnostics ---- */

struct tg_rwhere rl_string_where(const struct tg_rloader *L, int src, size_t value_off, size_t d)
{
	return (struct tg_rwhere){ src, jsonsrc_string_offset(L->src[src].text, value_off + 1, d) };
}

static void report(struct tg_rloader *L, bool warning, struct tg_rwhere w, const char *item,
		   const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void report(struct tg_rloader *L, bool warning, struct tg_rwhere w, const char *item,
		   const char *fmt, va_list ap)
{
	const char *file = w.src >= 0 ? L->src[w.src].path : L->profile_source;

	diag_vreport(L->diag, warning, file, w.src >= 0 ? L->src[w.src].text : NULL, w.off, item,
		     fmt, ap);
}

void rl_error(struct tg_rloader *L, struct tg_rwhere w, const char *item, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(L, false, w, item, fmt, ap);
	va_end(ap);
}

void rl_warn(struct tg_rloader *L, struct tg_rwhere w, const char *item, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(L, true, w, item, fmt, ap);
	va_end(ap);
}

/* ---- lookups ---- */

ssize_t rl_find_list(const struct tg_rloader *L, const char *name)
{
	for (size_t i = 0; i < L->n_lists; i++)
		if (!strcmp(L->lists[i].name, name))
			return (ssize_t)i;
	return -1;
}

ssize_t rl_find_macro(const struct tg_rloader *L, const char *name)
{
	for (size_t i = 0; i < L->n_macros; i++)
		if (!strcmp(L->macros[i].name, name))
			return (ssize_t)i;
	return -1;
}

ssize_t rl_find_rule(const struct tg_rloader *L, const char *name)
{
	for (size_t i = 0; i < L->n_rules; i++)
		if (!strcmp(L->rules[i].name, name))
			return (ssize_t)i;
	return -1;
}

/* ---- files ---- */

/* Reads path into a new L->src entry: its index, or -1 after reporting. */
static int add_source(struct tg_rloader *L, const char *path, size_t *len)
{
	struct tg_rsrc *src;
	enum jsonsrc_read_err err;
	char *text;
	int s;

	src = rl_grow(L, L->src, L->n_src + 1, sizeof(*src));
	if (!src)
		return -1;
	L->src = src;
	err = jsonsrc_read(path, RULES_FILE_MAX, &text, len);
	if (err) {
		/* Rule files have always said EIO for a failed read. */
		if (err == JSONSRC_EREAD)
			errno = EIO;
		diag_error(L->diag, path, 0, 0, NULL, "cannot read rule file: %s; expected a readable "
			   "file of at most %u MiB", strerror(errno), RULES_FILE_MAX >> 20);
		return -1;
	}
	s = (int)L->n_src;
	src[s].path = rl_strdup(L, path);
	src[s].text = text;
	if (!src[s].path) {
		free(text);
		return -1;
	}
	L->n_src++;
	return s;
}

static void load_file(struct tg_rloader *L, const char *path)
{
	struct jsonsrc_pos pos = { 0 };
	char *copy = NULL;
	const char *bad;
	cJSON *root = NULL;
	size_t len = 0, i = 0;
	int s = add_source(L, path, &len);

	if (s < 0)
		return;
	switch (jsonsrc_prepare(L->src[s].text, len, JSONSRC_LINE_COMMENTS, &copy, &i)) {
	case JSONSRC_READY:
		break;
	case JSONSRC_NOMEM:
		rl_oom(L);
		return;
	case JSONSRC_NUL:
	case JSONSRC_OPEN_COMMENT:     /* only block comments can be left open */
		rl_error(L, (struct tg_rwhere){ s, i }, NULL,
			 "NUL byte in rule file; expected UTF-8 JSON text");
		return;
	}
	root = cJSON_ParseWithOpts(copy, &bad, true);
	if (!root) {
		bad = cJSON_GetErrorPtr();
		i = bad && bad >= copy && bad <= copy + len ? (size_t)(bad - copy) : 0;
		rl_error(L, (struct tg_rwhere){ s, i }, NULL,
			 "invalid JSON near '%.12s'; expected a JSON array of objects (strings in double "
			 "quotes, commas between elements and none after the last, only // comments)",
			 copy + i);
		goto out;
	}
	if (jsonsrc_scan(copy, len, &pos)) {
		if (errno == ENOMEM)
			rl_oom(L);
		else
			rl_error(L, (struct tg_rwhere){ s, 0 }, NULL,
				 "a control character outside a string; expected JSON whitespace "
				 "(space, tab, newline)");
		goto out;
	}
	if (!cJSON_IsArray(root)) {
		rl_error(L, (struct tg_rwhere){ s, pos.off }, NULL,
			 "top-level value is not an array; expected [ {\"rule\": ...}, {\"macro\": ...}, "
			 "{\"list\": ...} ]%s", cJSON_IsObject(root) && cJSON_GetObjectItem(root, "services") ?
			 " (this looks like a twin profile: give it with --profile)" : "");
		goto out;
	}
	i = 0;
	for (cJSON *it = root->child; it && !L->oom; it = it->next, i++)
		rl_load_item(L, s, it, i < pos.n ? &pos.kid[i] : &pos, i + 1);
out:
	jsonsrc_pos_free(&pos);
	cJSON_Delete(root);
	free(copy);
}

/* ---- the twin profile's lists ---- */

static void add_profile_list(struct tg_rloader *L, const char *name, const struct tg_strs *strs,
			     const uint16_t *ports, size_t n_ports)
{
	struct tg_rlist *l = rl_grow(L, L->lists, L->n_lists + 1, sizeof(*l));
	size_t n = strs ? strs->n : n_ports;

	if (!l)
		return;
	L->lists = l;
	l = &l[L->n_lists];
	memset(l, 0, sizeof(*l));
	l->at.src = -1;
	l->profile = true;
	l->name = rl_strdup(L, name);
	l->items = n ? calloc(n, sizeof(*l->items)) : NULL;
	if (!l->name || (n && !l->items)) {
		free(l->name);
		free(l->items);
		rl_oom(L);
		return;
	}
	L->n_lists++;
	for (size_t i = 0; i < n; i++) {
		char port[8];

		if (!strs)
			snprintf(port, sizeof(port), "%u", ports[i]);
		if (!(l->items[i] = rl_strdup(L, strs ? strs->v[i] : port)))
			return;
		l->n++;
	}
}

static void add_profile_lists(struct tg_rloader *L, const struct tg_profile *p)
{
	add_profile_list(L, "twin_services", &p->services, NULL, 0);
	add_profile_list(L, "twin_model_dirs", &p->model_dirs, NULL, 0);
	add_profile_list(L, "twin_data_dirs", &p->data_dirs, NULL, 0);
	add_profile_list(L, "twin_config_dirs", &p->config_dirs, NULL, 0);
	add_profile_list(L, "twin_deployers", &p->deployers, NULL, 0);
	add_profile_list(L, "twin_clients", &p->clients, NULL, 0);
	add_profile_list(L, "twin_ingest_writers", &p->ingest_writers, NULL, 0);
	add_profile_list(L, "twin_control_ports", NULL, p->control_ports, p->n_control_ports);
	add_profile_list(L, "twin_data_ports", NULL, p->data_ports, p->n_data_ports);
}

static void loader_free(struct tg_rloader *L)
{
	for (size_t i = 0; i < L->n_src; i++) {
		free(L->src[i].path);
		free(L->src[i].text);
	}
	free(L->src);
	for (size_t i = 0; i < L->n_lists; i++)
		rl_list_free(&L->lists[i]);
	free(L->lists);
	for (size_t i = 0; i < L->n_macros; i++)
		rl_macro_free(&L->macros[i]);
	free(L->macros);
	for (size_t i = 0; i < L->n_rules; i++)
		rl_rule_free(&L->rules[i]);
	free(L->rules);
}

int rules_load(struct tg_ruleset *rs, const char *const *files, size_t n_files,
	       const struct tg_profile *prof, struct tg_diag *diag)
{
	struct tg_rloader L = { .diag = diag, .errors_before = diag->errors };
	struct tg_profile defaults;

	memset(rs, 0, sizeof(*rs));
	if (!prof) {
		profile_defaults(&defaults);
		add_profile_lists(&L, &defaults);
		profile_free(&defaults);
	} else {
		add_profile_lists(&L, prof);
	}
	L.profile_source = prof && prof->source ? prof->source : "<profile>";
	for (size_t i = 0; i < n_files && !L.oom; i++)
		load_file(&L, files[i]);
	if (!L.oom)
		rl_build(&L, rs);
	loader_free(&L);
	return diag->errors ? -1 : 0;
}

/* ---- default files ---- */

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_rule_file(const char *dir, const struct dirent *de)
{
	size_t len = strlen(de->d_name);
	char path[4096];
	struct stat st;

	if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json"))
		return false;
	if (de->d_type == DT_REG)
		return true;
	snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Appends dir's *.json, sorted, to files. A missing dir adds nothing. */
static int add_dir(const char *dir, char ***files, size_t *n)
{
	size_t first = *n;
	struct dirent *de;
	DIR *d;

	if (!dir)
		return 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	while ((errno = 0, de = readdir(d))) {
		char **v;
		char *path;

		if (!is_rule_file(dir, de))
			continue;
		v = realloc(*files, (*n + 1) * sizeof(*v));
		if (!v || asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			if (v)
				*files = v;
			closedir(d);
			errno = ENOMEM;
			return -1;
		}
		*files = v;
		v[(*n)++] = path;
	}
	if (errno) {
		int err = errno;

		closedir(d);
		errno = err;
		return -1;
	}
	closedir(d);
	if (*n > first)
		qsort(*files + first, *n - first, sizeof(**files), by_name);
	return 0;
}

int rules_default_files(const char *pack_dir, const char *local_dir, char ***files, size_t *n)
{
	*files = NULL;
	*n = 0;
	if (!add_dir(pack_dir, files, n) && !add_dir(local_dir, files, n))
		return 0;
	int err = errno;

	for (size_t i = 0; i < *n; i++)
		free((*files)[i]);
	free(*files);
	*files = NULL;
	*n = 0;
	errno = err;
	return -1;
}
