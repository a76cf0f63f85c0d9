// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* integrity_event: see integrity_event.h. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "integrity_event.h"

static void ie_file(cJSON *root, const char *path, const struct tg_hash_result *h)
{
	cJSON *file = cJSON_AddObjectToObject(root, "file");
	const char *slash = strrchr(path, '/');
	char hex[TG_SHA256_HEX], mode[8], dir[PATH_MAX];

	cJSON_AddStringToObject(file, "path", path);
	if (slash) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash == path ? 1 : slash - path), path);
		cJSON_AddStringToObject(file, "directory", dir);
		cJSON_AddStringToObject(file, "name", slash + 1);
	}
	if (h->status != TG_HASH_OK)
		return;
	manifest_hex(h->sha256, hex);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(file, "hash"), "sha256", hex);
	cJSON_AddNumberToObject(file, "size", (double)h->size);
	snprintf(mode, sizeof(mode), "%04o", (unsigned)h->mode);
	cJSON_AddStringToObject(file, "mode", mode);
}

/* The file as found, the manifest's view, and the writer's process and
 * user as they were at the write. */
cJSON *integrity_event_new(const struct tg_integrity_verdict *v)
{
	cJSON *root = cJSON_CreateObject(), *ev, *in;
	const char *typ = !strcmp(v->action, "integrity-missing") ? "deletion" :
			  !strcmp(v->action, "integrity-unknown") ? "creation" : "change";
	const char *cat = "file";
	char ts[64], hex[TG_SHA256_HEX], mode[8];
	struct timespec now;

	if (!root)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &now);
	alert_timestamp((uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec, ts, sizeof(ts));
	cJSON_AddStringToObject(root, "@timestamp", ts);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "host"), "hostname", v->hostname);
	ev = cJSON_AddObjectToObject(root, "event");
	cJSON_AddStringToObject(ev, "kind", "event");
	cJSON_AddItemToObject(ev, "category", cJSON_CreateStringArray(&cat, 1));
	cJSON_AddItemToObject(ev, "type", cJSON_CreateStringArray(&typ, 1));
	cJSON_AddStringToObject(ev, "action", v->action);
	cJSON_AddStringToObject(ev, "dataset", "twinguard.integrity");
	ie_file(root, v->path, v->found);
	in = cJSON_AddObjectToObject(cJSON_AddObjectToObject(root, "twinguard"), "integrity");
	cJSON_AddStringToObject(in, "trigger", v->trigger ? v->trigger : "rescan");
	cJSON_AddStringToObject(in, "manifest", v->manifest);
	if (v->expected) {
		manifest_hex(v->expected->sha256, hex);
		snprintf(mode, sizeof(mode), "%04o", (unsigned)v->expected->mode);
		cJSON_AddStringToObject(in, "expected_sha256", hex);
		cJSON_AddNumberToObject(in, "expected_size", (double)v->expected->size);
		cJSON_AddStringToObject(in, "expected_mode", mode);
	}
	if (v->writer) {
		const cJSON *w;

		cJSON_ArrayForEach(w, v->writer)
			cJSON_AddItemToObject(root, w->string, cJSON_Duplicate(w, true));
	}
	return root;
}
