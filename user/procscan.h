/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* procscan: facts about one process from /proc/<pid>; container ids. */
#ifndef TG_PROCSCAN_H
#define TG_PROCSCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "proctable.h"

/* Container id from a cgroup path or leaf name: 64 hex chars after docker-,
 * cri-containerd-, crio-, libpod-, or a bare 64-hex name; "" if none. */
void procscan_container_id(const char *cgroup, char out[TG_CONTAINER_ID_LEN]);

/* dfd is an open /proc/<pid> directory. read_text NUL-terminates. */
ssize_t procscan_read_text(int dfd, const char *name, char *buf, size_t size);
/* stat: ppid (field 4), start ticks (field 22), comm; 0 or -1. */
int procscan_parse_stat(char *buf, uint32_t *ppid, uint64_t *ticks, char comm[16]);
/* status: real and effective uid/gid into p. */
void procscan_parse_status(const char *buf, struct tg_proc *p);
void procscan_cmdline(int dfd, struct tg_proc *p);
void procscan_exe(int dfd, struct tg_proc *p);
void procscan_cwd(int dfd, struct tg_proc *p);
void procscan_loginuid(int dfd, struct tg_proc *p);
void procscan_cgroup(int dfd, struct tg_proc *p);
bool procscan_parse_pid(const char *s, uint32_t *pid);

#endif
