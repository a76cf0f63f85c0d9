/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* config: the agent's key = value configuration file. */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tg_prefix {
	char *prefix;         /* absolute path prefix, e.g. "/etc/" */
	unsigned access;      /* TG_ACC_READ | TG_ACC_WRITE */
};

struct tg_config {
	char *source;         /* file it came from, for messages; NULL = defaults */
	unsigned classes;     /* TG_CLASS_* mask ("events =") */
	bool threads;         /* thread fork/exit events */
	bool flows;           /* per-flow byte counters */
	bool unix_connect;    /* AF_UNIX connect events */
	unsigned ringbuf_kb;  /* power of two, >= 4 */
	unsigned proc_table_max;
	unsigned flow_map_max;
	unsigned flow_flush_ms;
	unsigned stats_interval_s;
	struct tg_prefix *prefixes;
	size_t n_prefixes;
	bool opens_off;       /* no open is wanted: filter even with no prefixes */
	uint16_t *ports;      /* empty = every port is interesting */
	size_t n_ports;
	char *output;         /* "-" = stdout, else a file appended to */
	char *rules_dir;      /* shipped packs; NULL = /usr/share/twinguard/rules */
	char *rules_local_dir;/* operator rules; NULL = /etc/twinguard/rules.d */
	char *profile;        /* twin profile; NULL = /etc/twinguard/twin-profile.json */
	bool integrity;       /* model/config integrity checks (needs a manifest) */
	char *manifest;       /* NULL = /var/lib/twinguard/manifest.json */
	unsigned integrity_queue_max;   /* files waiting for a re-hash */
	unsigned integrity_rate_mb;     /* MiB/s the hasher may read */
	unsigned integrity_rescan_s;    /* full re-check period, 0 = never */
	/* Delivery (docs/delivery.md): each sink is on when its key is set. */
	char *alerts_file;              /* JSON lines, 0600, rotated */
	unsigned alerts_file_max_mb;    /* rotate past this size, 0 = never */
	unsigned alerts_file_keep;      /* rotated .gz files kept */
	char *syslog;                   /* unix:///dev/log, udp://, tcp://, relp://HOST:PORT */
	char *syslog_format;            /* json (default) or cef */
	char *syslog_facility;          /* RFC 5424 facility name, default local0 */
	char *http_url;                 /* http:// or https:// collector */
	char *http_format;              /* ndjson (default), splunk_hec, elastic_bulk */
	char *http_token_file;          /* the token, never in this file */
	char *http_ca_file;             /* extra CA bundle for TLS */
	char *http_index;               /* elastic_bulk _index / HEC index */
	bool http_insecure;             /* skip TLS verification (default false) */
	unsigned http_batch_max;        /* alerts per POST */
	unsigned http_timeout_ms;       /* per request */
	char *spool_dir;                /* on-disk spool of the reliable sinks */
	unsigned spool_max_mb;          /* per sink; past it the oldest go, counted */
	unsigned sink_queue_max;        /* records each sink's memory queue holds */
	unsigned loss_report_s;         /* agent-loss records at most this often */
	/* Noise control: defaults for rules without their own "rate". */
	unsigned alert_rate_max;        /* alerts per rule and key per window, 0 = off */
	unsigned alert_rate_per_s;      /* the window */
	unsigned alert_dedup_s;         /* identical (rule, key) within it: one, 0 = off */
	unsigned suppress_report_s;     /* alert-suppressed summaries this often */
	/* Query socket and metrics. */
	char *control_socket;           /* unix socket, "off" = none */
	char *metrics_listen;           /* HOST:PORT for Prometheus, NULL = off */
	unsigned alerts_ring_max;       /* recent alerts kept for `twinguard alerts` */
	/* Derived, not a key: the kernel reports closes of write fds. */
	bool close_writes;
};

#define TG_DEFAULT_CONTROL_SOCKET "/run/twinguard/twinguard.sock"

void config_defaults(struct tg_config *cfg);
/* Returns 0, or -1 with a "file:line: what was expected" message in err. */
int config_load(const char *path, struct tg_config *cfg, char *err, size_t errlen);
int config_parse_string(const char *name, const char *text, struct tg_config *cfg,
			char *err, size_t errlen);
void config_free(struct tg_config *cfg);
/* Deep copy into dst (overwritten); -1 on allocation failure, dst freeable. */
int config_clone(struct tg_config *dst, const struct tg_config *src);

#endif
