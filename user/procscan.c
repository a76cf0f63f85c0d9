// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * procscan: reading one process's facts from /proc/<pid> (for the start-up
 * seed of the process table) and container ids from cgroup paths. Every
 * file is opened relative to the pid directory fd, so all of them describe
 * the same process even if the pid is reused during the scan.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "procscan.h"
#include "proctable.h"
#include "twinguard/events.h"

#define PT_AUID_UNSET 0xffffffffu
#define PT_CMDLINE_MAX TG_ARGV_MAX /* same bound as argv from exec events */
#define PT_CGROUP_BUF 8192       /* v1 hierarchies list one line each */

/* ---- container ids ------------------------------------------------------ */

static bool is_hex64(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* One cgroup path component: "<runtime>-<id>[.scope]" or a bare id. */
static bool container_component(const char *s, size_t len, char out[TG_CONTAINER_ID_LEN])
{
	static const char *const prefixes[] = { "docker-", "cri-containerd-", "crio-", "libpod-" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t plen = strlen(prefixes[i]);

		if (len > plen && memcmp(s, prefixes[i], plen) == 0) {
			s += plen;
			len -= plen;
			if (len > 6 && memcmp(s + len - 6, ".scope", 6) == 0)
				len -= 6;
			break;
		}
	}
	if (!is_hex64(s, len))
		return false;
	memcpy(out, s, 64);
	out[64] = '\0';
	return true;
}

void procscan_container_id(const char *cgroup, char out[TG_CONTAINER_ID_LEN])
{
	size_t end;

	out[0] = '\0';
	if (!cgroup)
		return;
	/* From the leaf up: runtimes may nest sub-cgroups (init.scope, a
	 * container's own children) below the one that names the container. */
	end = strcspn(cgroup, "\n");
	while (end > 0) {
		size_t start = end;

		while (start > 0 && cgroup[start - 1] != '/')
			start--;
		if (container_component(cgroup + start, end - start, out))
			return;
		end = start > 0 ? start - 1 : 0;
	}
}

/* ---- seeding from procfs ------------------------------------------------ */

/* Reads up to cap bytes. Files are opened relative to the pid directory fd
 * so that all of them describe the same process even if the pid is reused
 * during the scan: the kernel fails lookups under a dead pid's directory. */
static ssize_t read_at(int dfd, const char *name, char *buf, size_t cap)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -1;
	while (got < cap) {
		ssize_t r = read(fd, buf + got, cap - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	return (ssize_t)got;
}

ssize_t procscan_read_text(int dfd, const char *name, char *buf, size_t size)
{
	ssize_t n = read_at(dfd, name, buf, size - 1);

	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

/* comm may hold spaces and ')' itself, so fields start after the LAST ')'. */
int procscan_parse_stat(char *buf, uint32_t *ppid, uint64_t *ticks, char comm[16])
{
	char *lp = strchr(buf, '('), *rp = strrchr(buf, ')'), *save = NULL, *tok;
	size_t clen;
	int field = 3;
	bool got_ppid = false;

	if (!lp || !rp || rp < lp)
		return -1;
	clen = (size_t)(rp - lp - 1);
	if (clen > 15)
		clen = 15;
	memcpy(comm, lp + 1, clen);
	comm[clen] = '\0';
	for (tok = strtok_r(rp + 1, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), field++) {
		char *end;
		unsigned long long v;

		if (field != 4 && field != 22)
			continue;
		errno = 0;
		v = strtoull(tok, &end, 10);
		if (errno || *end)
			return -1;
		if (field == 4) {
			*ppid = (uint32_t)v;
			got_ppid = true;
		} else {
			*ticks = v;
			return got_ppid ? 0 : -1;
		}
	}
	return -1;
}

static const char *next_line(const char *line)
{
	const char *nl = strchr(line, '\n');

	return nl ? nl + 1 : NULL;
}

/* Uid:/Gid: lines read "real effective saved fs". */
void procscan_parse_status(const char *buf, struct tg_proc *p)
{
	for (const char *line = buf; line && *line; line = next_line(line)) {
		if (strncmp(line, "Uid:", 4) == 0)
			sscanf(line + 4, "%" SCNu32 " %" SCNu32, &p->uid, &p->euid);
		else if (strncmp(line, "Gid:", 4) == 0)
			sscanf(line + 4, "%" SCNu32 " %" SCNu32, &p->gid, &p->egid);
	}
}

void procscan_cmdline(int dfd, struct tg_proc *p)
{
	char buf[PT_CMDLINE_MAX + 1];
	ssize_t n = read_at(dfd, "cmdline", buf, sizeof(buf));

	if (n <= 0)
		return;  /* kernel threads and zombies have no argv */
	if ((size_t)n > PT_CMDLINE_MAX) {
		n = PT_CMDLINE_MAX;
		p->flags |= TG_P_ARGV_TRUNC;
	}
	proctable_set_str(&p->args, buf, (size_t)n);
	p->args_len = p->args ? (size_t)n : 0;
}

static ssize_t readlink_text_at(int dfd, const char *name, char *buf, size_t size)
{
	ssize_t n = readlinkat(dfd, name, buf, size - 1);

	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

/* The kernel appends " (deleted)" to an unlinked image; the flag carries
 * that fact so exe stays a path. A real file may end in " (deleted)" too,
 * so its link count decides when the image can still be stat'ed. */
void procscan_exe(int dfd, struct tg_proc *p)
{
	static const char sfx[] = " (deleted)";
	char buf[PATH_MAX];
	ssize_t n = readlink_text_at(dfd, "exe", buf, sizeof(buf));
	size_t slen = sizeof(sfx) - 1;
	struct stat st;

	if (n <= 0)
		return;
	if (strncmp(buf, "/memfd:", 7) == 0)
		p->flags |= TG_P_EXE_MEMFD;
	if ((size_t)n > slen && strcmp(buf + n - slen, sfx) == 0 &&
	    (fstatat(dfd, "exe", &st, 0) != 0 || st.st_nlink == 0)) {
		n -= (ssize_t)slen;
		p->flags |= TG_P_EXE_DELETED;
	}
	proctable_set_str(&p->exe, buf, (size_t)n);
}

void procscan_cwd(int dfd, struct tg_proc *p)
{
	char buf[PATH_MAX];
	ssize_t n = readlink_text_at(dfd, "cwd", buf, sizeof(buf));

	if (n > 0)
		proctable_set_str(&p->cwd, buf, (size_t)n);
}

void procscan_loginuid(int dfd, struct tg_proc *p)
{
	char buf[32], *end;
	unsigned long v;

	p->auid = PT_AUID_UNSET;
	if (procscan_read_text(dfd, "loginuid", buf, sizeof(buf)) <= 0)
		return;
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (!errno && end != buf && v <= UINT32_MAX)
		p->auid = (uint32_t)v;
}

/* The v2 line ("0::/path") decides; on hybrid hosts it may be "/" while a
 * v1 hierarchy still names the container, so those are tried next. */
void procscan_cgroup(int dfd, struct tg_proc *p)
{
	char buf[PT_CGROUP_BUF];
	const char *line, *path;

	if (procscan_read_text(dfd, "cgroup", buf, sizeof(buf)) <= 0)
		return;
	for (line = buf; line && *line; line = next_line(line))
		if (strncmp(line, "0::", 3) == 0) {
			procscan_container_id(line + 3, p->container_id);
			if (p->container_id[0])
				return;
		}
	for (line = buf; line && *line; line = next_line(line)) {
		path = strchr(line, ':');
		path = path ? strchr(path + 1, ':') : NULL;
		if (!path)
			continue;
		procscan_container_id(path + 1, p->container_id);
		if (p->container_id[0])
			return;
	}
}


bool procscan_parse_pid(const char *s, uint32_t *pid)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return false;
	*pid = (uint32_t)v;
	return true;
}

