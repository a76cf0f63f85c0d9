/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ecs: raw records -> JSON with Elastic Common Schema field names. The same
 * names are the vocabulary of rule conditions (docs/events.md).
 */
#ifndef TG_ECS_H
#define TG_ECS_H

#include <stdint.h>
#include <cjson/cJSON.h>
#include <twinguard/events.h>

struct tg_proctable;

struct tg_ecs {
	struct tg_proctable *pt;
	char hostname[256];
	int64_t boot_to_real_ns;  /* CLOCK_REALTIME - CLOCK_BOOTTIME at start */
	uint64_t seq;             /* event.sequence */
	unsigned max_ancestors;
	uint32_t host_mnt_ns;     /* the agent's mount namespace inode */
};

void ecs_init(struct tg_ecs *e, struct tg_proctable *pt);
/* JSON for one record; NULL only on allocation failure. Caller frees. */
cJSON *ecs_event(struct tg_ecs *e, const struct tg_event *ev);
/* JSON for one drained flow-map entry. */
cJSON *ecs_flow(struct tg_ecs *e, const struct tg_flow_key *k, const struct tg_flow_val *v);
/* "2026-11-26T01:48:41.123456789Z" from a boot-time timestamp. */
void ecs_timestamp(const struct tg_ecs *e, uint64_t boot_ns, char *out, size_t len);
/* Boot-time ns -> clock ticks, the unit of /proc/<pid>/stat start time. */
uint64_t ecs_ticks(uint64_t boot_ns);

#endif
