/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* ecs_names: symbolic names for numbers in events (errno, signals, flags). */
#ifndef TG_ECS_NAMES_H
#define TG_ECS_NAMES_H

#include <stdint.h>
#include <cjson/cJSON.h>
#include <twinguard/events.h>

const char *ecs_errno_name(long err);
const char *ecs_signal_name(unsigned sig);
const char *ecs_ptrace_name(unsigned req);
const char *ecs_bpf_prog_type(unsigned type);
/* twinguard.open_flags: ["O_WRONLY","O_CREAT",...] */
void ecs_open_flags(cJSON *tg, uint32_t flags);
/* twinguard.setid: {call, ruid/euid/suid or rgid/...} */
void ecs_setid(cJSON *tg, const struct tg_event *ev);

#endif
