// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Start-up checks, each with the exit code and a one-line fix. tracefs is
 * only a note: every program attaches through BTF or raw tracepoints, which
 * need no tracefs (docs/design.md).
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "preflight.h"

#define TRACEFS_MAGIC 0x74726163

static int preflight_bpf_available(void)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	fd = syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

const struct tg_preflight_paths preflight_default_paths = {
	.btf = "/sys/kernel/btf/vmlinux",
	.tracefs = "/sys/kernel/tracing",
};

static int preflight_tracefs_mounted(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == TRACEFS_MAGIC;
}

int preflight_check(const struct tg_preflight_paths *paths, char *msg, size_t len, char *note,
		    size_t nlen)
{
	int err;

	note[0] = 0;
	if (geteuid() != 0) {
		snprintf(msg, len, "must run as root (euid is %u); fix: run with sudo or as root",
			 geteuid());
		return TG_EXIT_NOT_ROOT;
	}
	if (access(paths->btf, R_OK)) {
		snprintf(msg, len, "kernel has no BTF (%s: %s); fix: boot a kernel built with "
			 "CONFIG_DEBUG_INFO_BTF=y (Debian 11+ kernels have it)", paths->btf, strerror(errno));
		return TG_EXIT_NO_BTF;
	}
	err = preflight_bpf_available();
	if (err == -ENOSYS || err == -EPERM || err == -EACCES) {
		snprintf(msg, len, "BPF is disabled (bpf(): %s); fix: use a kernel with CONFIG_BPF_SYSCALL=y, "
			 "and check kernel lockdown and seccomp/container policy", strerror(-err));
		return TG_EXIT_NO_BPF;
	}
	if (!preflight_tracefs_mounted(paths->tracefs))
		snprintf(note, nlen, "tracefs is not mounted at %s; not needed: twinguard attaches "
			 "through BTF tracepoints", paths->tracefs);
	return TG_EXIT_OK;
}
