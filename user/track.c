// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * track: keep the process table in step with the kernel's records, before
 * each record is rendered (so an exec's event shows the new image).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ecs.h"
#include "event.h"
#include "procscan.h"
#include "proctable.h"
#include "track.h"

/* A process we never saw exec (started before us and missed by the scan,
 * or its exec was dropped): fill what /proc still knows. */
static struct tg_proc *track_miss(struct tg_proctable *pt, const struct tg_hdr *h)
{
	struct tg_proc *p = proctable_upsert(pt, h->tgid, ecs_ticks(h->start_ns));
	struct tg_proc *parent;
	char link[64], buf[TG_PATH_MAX];
	ssize_t n;

	if (!p)
		return NULL;
	p->ppid = h->ppid;
	p->uid = h->uid;
	p->gid = h->gid;
	p->user = proctable_user_name(pt, h->uid);
	memcpy(p->comm, h->comm, sizeof(p->comm));
	parent = proctable_lookup(pt, h->ppid);
	if (parent)
		memcpy(p->parent_entity_id, parent->entity_id, sizeof(p->parent_entity_id));
	snprintf(link, sizeof(link), "/proc/%u/exe", h->tgid);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n > 0)
		proctable_set_str(&p->exe, buf, n);
	return p;
}

void track_exec(struct tg_proctable *pt, const struct tg_event *ev)
{
	const struct tg_hdr *h = &ev->hdr;
	struct tg_proc *p = proctable_upsert(pt, h->tgid, ecs_ticks(h->start_ns));
	struct tg_proc *parent;
	const char *s;

	if (!p)
		return;
	s = event_str(ev, 0);
	proctable_set_str(&p->exe, s, s ? strlen(s) : 0);
	s = event_str(ev, 1);
	/* keep the NUL after the last argument: args_len counts it */
	proctable_set_str(&p->args, s, s ? event_str_len(ev, 1) + 1 : 0);
	p->args_len = s ? event_str_len(ev, 1) + 1 : 0;
	s = event_str(ev, 2);
	proctable_set_str(&p->cwd, s, s ? strlen(s) : 0);
	procscan_container_id(event_str(ev, 3) ? event_str(ev, 3) : "", p->container_id);
	p->ppid = h->ppid;
	p->uid = h->uid;
	p->gid = h->gid;
	p->euid = ev->u.exec.euid;
	p->egid = ev->u.exec.egid;
	p->auid = ev->u.exec.auid;
	p->user = proctable_user_name(pt, h->uid);
	p->cgroup_id = h->cgroup_id;
	memcpy(p->comm, h->comm, sizeof(p->comm));
	p->flags &= ~(TG_P_FROM_SCAN | TG_P_EXE_MEMFD | TG_P_EXE_DELETED | TG_P_ARGV_TRUNC);
	if (h->flags & TG_F_EXE_MEMFD)
		p->flags |= TG_P_EXE_MEMFD;
	if (h->flags & TG_F_EXE_DELETED)
		p->flags |= TG_P_EXE_DELETED;
	if (h->flags & TG_F_ARGV_TRUNC)
		p->flags |= TG_P_ARGV_TRUNC;
	parent = proctable_lookup(pt, h->ppid);
	if (parent)
		memcpy(p->parent_entity_id, parent->entity_id, sizeof(p->parent_entity_id));
}

void track_event(struct tg_proctable *pt, const struct tg_event *ev)
{
	const struct tg_hdr *h = &ev->hdr;
	struct tg_proc *p;

	switch (h->type) {
	case TG_EV_EXEC:
		track_exec(pt, ev);
		return;
	case TG_EV_FORK:
		if (!(h->flags & TG_F_THREAD))
			proctable_fork(pt, h->tgid, ev->u.fork.child_tgid,
				       ecs_ticks(ev->u.fork.child_start_ns));
		break;
	case TG_EV_EXIT:
		return; /* marked after rendering, so the exit event has context */
	}
	p = proctable_lookup(pt, h->tgid);
	if (!p || p->start_ticks != ecs_ticks(h->start_ns))
		track_miss(pt, h);
}

void track_exit(struct tg_proctable *pt, const struct tg_event *ev)
{
	if (ev->hdr.type == TG_EV_EXIT && !(ev->hdr.flags & TG_F_THREAD))
		proctable_exit(pt, ev->hdr.tgid, ev->u.exit.exit_code, ev->hdr.ts_ns);
}
