// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `twinguard ps`: the process table as a tree (children under their
 * parent, roots are entries whose parent is not in the table), or one
 * process with its ancestry, from the same table the rules read.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/agent_priv.h"

#define PS_ANCESTORS_MAX 64

struct ps_list {
	const struct tg_proc **v;
	size_t n, cap;
};

static void ps_collect(void *ctx, const struct tg_proc *p)
{
	struct ps_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		const struct tg_proc **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = p;
}

static cJSON *ps_proc_json(const struct tg_proc *p)
{
	cJSON *j = cJSON_CreateObject();
	char args[1024];
	size_t n = p->args_len < sizeof(args) ? p->args_len : sizeof(args) - 1;

	/* argv is NUL-separated: show it space-separated */
	for (size_t i = 0; i < n; i++)
		args[i] = p->args[i] ? p->args[i] : ' ';
	while (n && args[n - 1] == ' ')
		n--;
	args[n] = '\0';
	cJSON_AddNumberToObject(j, "pid", p->pid);
	cJSON_AddNumberToObject(j, "ppid", p->ppid);
	cJSON_AddStringToObject(j, "entity_id", p->entity_id);
	cJSON_AddStringToObject(j, "parent_entity_id", p->parent_entity_id);
	cJSON_AddStringToObject(j, "executable", p->exe ? p->exe : "");
	cJSON_AddStringToObject(j, "args", args);
	cJSON_AddStringToObject(j, "user", p->user ? p->user : "");
	cJSON_AddNumberToObject(j, "uid", p->uid);
	if (p->container_id[0])
		cJSON_AddStringToObject(j, "container_id", p->container_id);
	return j;
}

static int ps_cmp_ppid(const void *a, const void *b)
{
	const struct tg_proc *x = *(const struct tg_proc *const *)a;
	const struct tg_proc *y = *(const struct tg_proc *const *)b;

	if (x->ppid != y->ppid)
		return x->ppid < y->ppid ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* First index of ppid in the sorted list, or l->n. */
static size_t ps_first_child(const struct ps_list *l, uint32_t ppid)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (l->v[mid]->ppid < ppid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Iterative, with an explicit stack: a deep chain cannot blow ours. */
static cJSON *ps_tree(struct tg_agent *a, struct ps_list *l)
{
	cJSON *roots = cJSON_CreateArray();
	struct { uint32_t pid; cJSON *kids; } *stack = calloc(l->n + 1, sizeof(*stack));
	size_t sp = 0;

	qsort(l->v, l->n, sizeof(*l->v), ps_cmp_ppid);
	for (size_t i = 0; stack && i < l->n; i++) {
		const struct tg_proc *p = l->v[i];

		if (p->ppid && p->ppid != p->pid && proctable_lookup(a->pt, p->ppid))
			continue; /* not a root */
		cJSON *j = ps_proc_json(p);

		cJSON_AddItemToArray(roots, j);
		stack[sp].pid = p->pid;
		stack[sp++].kids = cJSON_AddArrayToObject(j, "children");
		while (sp) {
			uint32_t pid = stack[--sp].pid;
			cJSON *kids = stack[sp].kids;

			for (size_t c = ps_first_child(l, pid); c < l->n && l->v[c]->ppid == pid; c++) {
				cJSON *cj;

				if (l->v[c]->pid == pid || sp >= l->n)
					continue;
				cj = ps_proc_json(l->v[c]);
				cJSON_AddItemToArray(kids, cj);
				stack[sp].pid = l->v[c]->pid;
				stack[sp++].kids = cJSON_AddArrayToObject(cj, "children");
			}
		}
	}
	free(stack);
	return roots;
}

cJSON *agent_ps_json(struct tg_agent *a, uint32_t pid)
{
	cJSON *j = cJSON_CreateObject();

	if (pid) {
		struct tg_proc *p = proctable_lookup(a->pt, pid);
		const struct tg_proc *anc[PS_ANCESTORS_MAX];
		bool trunc = false;
		size_t n;
		cJSON *pj, *arr;

		if (!p) {
			cJSON_AddStringToObject(j, "error", "no such process in the table");
			return j;
		}
		pj = ps_proc_json(p);
		arr = cJSON_AddArrayToObject(pj, "ancestors");
		n = proctable_ancestors(a->pt, p, anc, PS_ANCESTORS_MAX, &trunc);
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, ps_proc_json(anc[i]));
		cJSON_AddBoolToObject(pj, "ancestors_truncated", trunc);
		cJSON_AddItemToObject(j, "process", pj);
		return j;
	}
	struct ps_list l = { 0 };

	proctable_foreach(a->pt, ps_collect, &l);
	cJSON_AddItemToObject(j, "processes", ps_tree(a, &l));
	free(l.v);
	return j;
}
