// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rules_load: rule files -> item definitions -> compiled rule set.
 *
 *   files (in order) --read, blank // comments--> cJSON + position tree
 *        --rules_items.c: one item at a time--> lists, macros, rule defs
 *        (later items append to / replace / patch earlier ones by name)
 *   all files done --compile here--> struct tg_ruleset
 *
 * Compilation waits until every file is read so that a later file can
 * change a macro or list that an earlier rule uses.
 *
 * Positions: comments are blanked with spaces rather than removed, so a
 * byte offset in the parsed copy is the same offset in the file. A
 * position tree built by a small scanner parallel to cJSON's gives every
 * value and key its offset (cJSON keeps none). Condition texts remember
 * which file string each piece came from (struct tg_rtext), so an error
 * offset inside a composed condition ("(a) and not (b)") maps back to the
 * exact file:line:col, JSON escapes included.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "cond.h"
#include "diag.h"
#include "fields.h"
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

/* Byte offset, in the file text, of decoded byte d of the JSON string whose
 * contents start at raw (just after the opening quote). */
static size_t raw_offset(const char *text, size_t raw, size_t d)
{
	size_t k = 0;

	while (k < d && text[raw] && text[raw] != '"') {
		if (text[raw] != '\\') {
			raw++;
			k++;
		} else if (text[raw + 1] == 'u') {
			unsigned cp = (unsigned)strtoul((char[]){ text[raw + 2], text[raw + 3],
								   text[raw + 4], text[raw + 5], 0 },
							NULL, 16);

			if (cp >= 0xd800 && cp < 0xdc00 && text[raw + 6] == '\\' && text[raw + 7] == 'u') {
				raw += 12;
				k += 4;
			} else {
				raw += 6;
				k += cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
			}
		} else {
			raw += text[raw + 1] ? 2 : 1;
			k++;
		}
	}
	return raw;
}

struct tg_rwhere rl_string_where(const struct tg_rloader *L, int src, size_t value_off, size_t d)
{
	return (struct tg_rwhere){ src, raw_offset(L->src[src].text, value_off + 1, d) };
}

static void report(struct tg_rloader *L, bool warning, struct tg_rwhere w, const char *item,
		   const char *fmt, va_list ap)
{
	const char *file = w.src >= 0 ? L->src[w.src].path : L->profile_source;
	int line = 0, col = 0;
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (w.src >= 0)
		diag_position(L->src[w.src].text, w.off, &line, &col);
	if (warning)
		diag_warn(L->diag, file, line, col, item, "%s", msg);
	else
		diag_error(L->diag, file, line, col, item, "%s", msg);
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

/* ---- condition texts ---- */

void rl_text_free(struct tg_rtext *t)
{
	free(t->s);
	free(t->seg);
	memset(t, 0, sizeof(*t));
}

static int text_cat(struct tg_rloader *L, struct tg_rtext *t, const char *s, size_t len)
{
	size_t have = t->s ? strlen(t->s) : 0;
	char *n = rl_grow(L, t->s, have + len + 1, 1);

	if (!n)
		return -1;
	memcpy(n + have, s, len);
	n[have + len] = 0;
	t->s = n;
	return 0;
}

int rl_text_lit(struct tg_rloader *L, struct tg_rtext *t, const char *s)
{
	return text_cat(L, t, s, strlen(s));
}

int rl_text_add(struct tg_rloader *L, struct tg_rtext *t, const struct tg_rtext *part)
{
	size_t at = t->s ? strlen(t->s) : 0;
	struct tg_rseg *seg;

	if (!part->n)
		return text_cat(L, t, part->s ? part->s : "", part->s ? strlen(part->s) : 0);
	seg = rl_grow(L, t->seg, t->n + part->n, sizeof(*seg));
	if (!seg)
		return -1;
	t->seg = seg;
	for (size_t i = 0; i < part->n; i++) {
		seg[t->n + i] = part->seg[i];
		seg[t->n + i].at += at;
	}
	t->n += part->n;
	return text_cat(L, t, part->s, strlen(part->s));
}

int rl_text_set(struct tg_rloader *L, struct tg_rtext *t, const char *s, struct tg_rwhere w)
{
	struct tg_rseg one = { .at = 0, .len = strlen(s), .src = w.src, .raw = w.off + 1 };
	struct tg_rtext part = { .s = (char *)s, .seg = &one, .n = 1 };

	memset(t, 0, sizeof(*t));
	return rl_text_add(L, t, &part);
}

/* "(a) OP (b)", each part keeping its origin. */
int rl_text_join(struct tg_rloader *L, struct tg_rtext *out, const struct tg_rtext *a,
		 const char *op, const struct tg_rtext *b)
{
	char mid[32];

	memset(out, 0, sizeof(*out));
	snprintf(mid, sizeof(mid), ") %s (", op);
	if (rl_text_lit(L, out, "(") || rl_text_add(L, out, a) || rl_text_lit(L, out, mid) ||
	    rl_text_add(L, out, b) || rl_text_lit(L, out, ")")) {
		rl_text_free(out);
		return -1;
	}
	return 0;
}

/* Where offset off of a composed text came from. An offset in the glue
 * between pieces ("(", ") and not (") belongs to the piece before it. */
static struct tg_rwhere text_where(const struct tg_rloader *L, const struct tg_rtext *t, size_t off)
{
	const struct tg_rseg *best = NULL;

	for (size_t i = 0; i < t->n; i++)
		if (t->seg[i].at <= off && (!best || t->seg[i].at >= best->at))
			best = &t->seg[i];
	if (!best && t->n)
		best = &t->seg[0];
	if (!best || best->src < 0)
		return (struct tg_rwhere){ .src = -1 };
	if (off < best->at)
		off = best->at;
	if (off > best->at + best->len)
		off = best->at + best->len;
	return (struct tg_rwhere){ .src = best->src,
				   .off = raw_offset(L->src[best->src].text, best->raw,
						     off - best->at) };
}

/* ---- lookups and the condition environment ---- */

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

static const char *env_macro(void *ctx, const char *name)
{
	ssize_t i = rl_find_macro(ctx, name);

	return i < 0 ? NULL : ((struct tg_rloader *)ctx)->macros[i].cond.s;
}

static const char *const *env_list(void *ctx, const char *name, size_t *n)
{
	struct tg_rloader *L = ctx;
	ssize_t i = rl_find_list(L, name);
	/* An empty list is still a list: hand out a non-NULL, empty array. */
	static const char *const none[1] = { NULL };

	if (i < 0)
		return NULL;
	*n = L->lists[i].n;
	return L->lists[i].n ? (const char *const *)L->lists[i].items : none;
}

static void env_used(void *ctx, const char *name)
{
	struct tg_rloader *L = ctx;
	ssize_t i;

	if ((i = rl_find_macro(L, name)) >= 0)
		L->macros[i].used = true;
	if ((i = rl_find_list(L, name)) >= 0)
		L->lists[i].used = true;
}

/* ---- files ---- */

/* JSON with // line comments: blank each comment (not its newline) so that
 * offsets in the copy are offsets in the file. */
static void blank_comments(char *t)
{
	bool str = false;

	for (char *p = t; *p; p++) {
		if (str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				str = false;
		} else if (*p == '"') {
			str = true;
		} else if (p[0] == '/' && p[1] == '/') {
			while (*p && *p != '\n')
				*p++ = ' ';
			if (!*p)
				break;
		}
	}
}

static size_t skip_ws(const char *t, size_t i)
{
	while (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')
		i++;
	return i;
}

static size_t skip_string(const char *t, size_t i)
{
	for (i++; t[i] && t[i] != '"'; i++)
		if (t[i] == '\\' && t[i + 1])
			i++;
	return t[i] ? i + 1 : i;
}

void rl_pos_free(struct tg_rpos *p)
{
	for (size_t i = 0; i < p->n; i++)
		rl_pos_free(&p->kid[i]);
	free(p->kid);
	p->kid = NULL;
	p->n = 0;
}

/* Mirror of cJSON's tree with offsets. Runs only on text cJSON accepted. */
static int scan_value(struct tg_rloader *L, const char *t, size_t *i, struct tg_rpos *p)
{
	char close;

	*i = skip_ws(t, *i);
	p->off = *i;
	if (t[*i] == '"') {
		*i = skip_string(t, *i);
		return 0;
	}
	if (t[*i] != '{' && t[*i] != '[') {
		while (t[*i] && !strchr(",]} \t\r\n", t[*i]))
			(*i)++;
		return 0;
	}
	close = t[*i] == '{' ? '}' : ']';
	for ((*i)++;;) {
		struct tg_rpos *kid;

		*i = skip_ws(t, *i);
		if (!t[*i])
			return -1;
		if (t[*i] == close) {
			(*i)++;
			return 0;
		}
		if (t[*i] == ',') {
			(*i)++;
			continue;
		}
		kid = rl_grow(L, p->kid, p->n + 1, sizeof(*kid));
		if (!kid)
			return -1;
		p->kid = kid;
		kid = &p->kid[p->n++];
		memset(kid, 0, sizeof(*kid));
		if (close == '}') {
			kid->key_off = *i;
			*i = skip_ws(t, skip_string(t, *i));
			if (t[*i] == ':')
				(*i)++;
		}
		if (scan_value(L, t, i, kid))
			return -1;
	}
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n;
	int err;

	if (!f)
		return NULL;
	buf = malloc(RULES_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	n = fread(buf, 1, RULES_FILE_MAX + 1, f);
	err = ferror(f) ? EIO : n > RULES_FILE_MAX ? EFBIG : 0;
	fclose(f);
	if (err) {
		free(buf);
		errno = err;
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

static void load_file(struct tg_rloader *L, const char *path)
{
	struct tg_rsrc *src;
	struct tg_rpos pos = { 0 };
	char *text, *copy = NULL;
	const char *bad;
	cJSON *root = NULL;
	size_t len = 0, i = 0;
	int s;

	src = rl_grow(L, L->src, L->n_src + 1, sizeof(*src));
	if (!src)
		return;
	L->src = src;
	text = read_file(path, &len);
	if (!text) {
		diag_error(L->diag, path, 0, 0, NULL, "cannot read rule file: %s; expected a readable "
			   "file of at most %u MiB", strerror(errno), RULES_FILE_MAX >> 20);
		return;
	}
	s = (int)L->n_src;
	src[s].path = rl_strdup(L, path);
	src[s].text = text;
	if (!src[s].path) {
		free(text);
		return;
	}
	L->n_src++;
	if (strlen(text) != len) {
		rl_error(L, (struct tg_rwhere){ s, strlen(text) }, NULL,
			 "NUL byte in rule file; expected UTF-8 JSON text");
		return;
	}
	copy = rl_strdup(L, text);
	if (!copy)
		return;
	blank_comments(copy);
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
	i = 0;
	if (scan_value(L, copy, &i, &pos))
		goto out;
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
	rl_pos_free(&pos);
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

/* ---- compilation ---- */

/* True when offset off of a composed text is in the glue the loader added
 * ("(", ") and not (", ...), not in any text from a file. */
static bool in_glue(const struct tg_rtext *t, size_t off)
{
	if (!t->n || off >= strlen(t->s))
		return false;
	for (size_t i = 0; i < t->n; i++)
		if (off >= t->seg[i].at && off < t->seg[i].at + t->seg[i].len)
			return false;
	return true;
}

static void cond_error(struct tg_rloader *L, const struct tg_rrule *r, const struct tg_rtext *t,
		       const struct tg_cond_error *e)
{
	char item[TG_RLABEL_MAX], msg[sizeof(e->msg) + 64];
	ssize_t m = e->macro[0] ? rl_find_macro(L, e->macro) : -1;
	const struct tg_rtext *where = m < 0 ? t : &L->macros[m].cond;
	const char *expected = strstr(e->msg, "; expected");

	/* "unexpected ')'" about a parenthesis the user never wrote: to them,
	 * their text just ended too early. */
	if (in_glue(where, e->offset))
		snprintf(msg, sizeof(msg), "unexpected end of %s%s", m < 0 ? "condition" : "macro",
			 expected ? expected : "");
	else
		snprintf(msg, sizeof(msg), "%s", e->msg);
	if (m < 0) {
		snprintf(item, sizeof(item), "rule '%s'", r->name);
		rl_error(L, text_where(L, t, e->offset), item, "%s", msg);
		return;
	}
	/* One report per broken macro, however many rules use it. */
	if (L->macros[m].reported)
		return;
	L->macros[m].reported = true;
	snprintf(item, sizeof(item), "macro '%s'", L->macros[m].name);
	rl_error(L, text_where(L, where, e->offset), item, "%s (in macro '%s' used by rule '%s')",
		 msg, L->macros[m].name, r->name);
}

/* "(cond) and not (e1) and not (e2)": one text, so that the condition
 * compiler sees (and optimises, and indexes by action) the whole thing. */
static struct tg_cond *compile(struct tg_rloader *L, const struct tg_rrule *r,
			       const struct tg_rtext *cond)
{
	struct tg_cond_env env = { env_macro, env_list, env_used, L };
	struct tg_cond_error e;
	struct tg_rtext t = { 0 };
	struct tg_cond *c = NULL;

	if (!r->n_exc) {
		t = *cond;
	} else if (!rl_text_lit(L, &t, "(") && !rl_text_add(L, &t, cond) && !rl_text_lit(L, &t, ")")) {
		for (size_t i = 0; i < r->n_exc; i++)
			if (rl_text_lit(L, &t, " and not (") || rl_text_add(L, &t, &r->exc[i].cond) ||
			    rl_text_lit(L, &t, ")"))
				goto out;
	} else {
		goto out;
	}
	memset(&e, 0, sizeof(e));
	c = cond_compile(t.s, &env, &e);
	if (!c)
		cond_error(L, r, &t, &e);
out:
	if (r->n_exc)
		rl_text_free(&t);
	return c;
}

static void check_cond(struct tg_rloader *L, const struct tg_rrule *r, const struct tg_cond *c,
		       const char *what)
{
	char item[TG_RLABEL_MAX];
	size_t n = 0;

	snprintf(item, sizeof(item), "rule '%s'", r->name);
	if (cond_never_matches(c))
		rl_warn(L, r->at, item, "%scondition can never match", what);
	else if (!cond_actions(c, &n))
		rl_warn(L, r->at, item, "%scondition does not restrict event.action, so it is evaluated "
			"for every event; add e.g. 'event.action = exec' if it is meant for one kind",
			what);
}

static char **copy_strs(struct tg_rloader *L, char *const *v, size_t n)
{
	char **out = n ? calloc(n, sizeof(*out)) : NULL;

	if (n && !out) {
		rl_oom(L);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!(out[i] = rl_strdup(L, v[i])))
			break;
	return out;
}

static void rule_free(struct tg_rule *r)
{
	free(r->name);
	free(r->desc);
	free(r->output);
	for (size_t i = 0; i < r->n_tags; i++)
		free(r->tags[i]);
	free(r->tags);
	free(r->file);
	cond_free(r->cond);
	for (size_t i = 0; i < r->n_steps; i++)
		cond_free(r->steps[i]);
	free(r->out_fields);
	memset(r, 0, sizeof(*r));
}

/* Compile one definition into out; false (out freed) when it failed. */
static bool build_rule(struct tg_rloader *L, const struct tg_rrule *d, struct tg_rule *out)
{
	char what[32];
	bool ok = true;
	int line = 0;

	memset(out, 0, sizeof(*out));
	out->kind = d->kind;
	out->priority = d->priority;
	out->enabled = d->enabled;
	out->action = d->action;
	out->n_tags = d->n_tags;
	out->key = d->key;
	out->window_ns = d->window_ns;
	memcpy(out->group_by, d->group_by, sizeof(out->group_by));
	out->n_group_by = d->n_group_by;
	out->sum_field = d->sum_field;
	out->limit = d->limit;
	diag_position(L->src[d->at.src].text, d->at.off, &line, NULL);
	out->line = line;
	out->name = rl_strdup(L, d->name);
	out->desc = rl_strdup(L, d->desc);
	out->output = rl_strdup(L, d->output);
	out->file = rl_strdup(L, L->src[d->at.src].path);
	out->tags = copy_strs(L, d->tags, d->n_tags);
	out->out_fields = rl_output_fields(d->output);
	if (!out->out_fields)
		rl_oom(L);
	if (d->kind == TG_RULE_SEQUENCE) {
		for (size_t i = 0; i < d->n_steps; i++) {
			out->steps[i] = compile(L, d, &d->steps[i]);
			if (!out->steps[i])
				ok = false;
			out->n_steps = i + 1;
		}
	} else {
		out->cond = compile(L, d, &d->cond);
		ok = out->cond != NULL;
	}
	if (!ok || L->oom) {
		rule_free(out);
		return false;
	}
	if (!d->enabled)
		return true;
	if (d->kind != TG_RULE_SEQUENCE)
		check_cond(L, d, out->cond, "");
	for (size_t i = 0; i < out->n_steps; i++) {
		snprintf(what, sizeof(what), "step %zu: ", i + 1);
		check_cond(L, d, out->steps[i], what);
	}
	return true;
}

static void build(struct tg_rloader *L, struct tg_ruleset *rs)
{
	char item[TG_RLABEL_MAX];

	rs->rules = L->n_rules ? calloc(L->n_rules, sizeof(*rs->rules)) : NULL;
	if (L->n_rules && !rs->rules) {
		rl_oom(L);
		return;
	}
	for (size_t i = 0; i < L->n_rules && !L->oom; i++)
		if (!L->rules[i].broken && build_rule(L, &L->rules[i], &rs->rules[rs->n_rules]))
			rs->n_rules++;
	/* After an error, what was used is unreliable (a condition stops at
	 * its first error, a broken rule is not compiled): no "unused" noise. */
	if (L->diag->errors > L->errors_before)
		goto counts;
	for (size_t i = 0; i < L->n_lists; i++) {
		if (L->lists[i].used || L->lists[i].profile)
			continue;
		snprintf(item, sizeof(item), "list '%s'", L->lists[i].name);
		rl_warn(L, L->lists[i].at, item, "defined but never used by a rule or macro");
	}
	for (size_t i = 0; i < L->n_macros; i++) {
		if (L->macros[i].used)
			continue;
		snprintf(item, sizeof(item), "macro '%s'", L->macros[i].name);
		rl_warn(L, L->macros[i].at, item, "defined but never used by a rule or macro");
	}
counts:
	rs->n_lists = L->n_lists;
	rs->n_macros = L->n_macros;
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
		build(&L, rs);
	loader_free(&L);
	return diag->errors ? -1 : 0;
}

void rules_free(struct tg_ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n_rules; i++)
		rule_free(&rs->rules[i]);
	free(rs->rules);
	memset(rs, 0, sizeof(*rs));
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
