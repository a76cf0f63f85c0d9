/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * config: parse the agent's `key = value` file into a struct tg_config.
 *
 * A parse works on a deep copy of the caller's config and swaps it in only
 * when the whole file was valid, so a bad file on reload leaves the running
 * settings untouched instead of half-applied. All state lives in a struct
 * parser on the stack: two threads may parse two files at once.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <twinguard/events.h>

#include "config.h"
#include "diag.h"

#define LINE_MAX_BYTES 4096          /* longer lines are an error, not cut */
#define PORT_BITS 65536

/* K_ENUM: one of choices; K_URL: "scheme://rest" with a scheme from
 * choices (the sink checks the rest when it opens); K_ADDR: HOST:PORT. */
enum key_kind { K_EVENTS, K_BOOL, K_UINT, K_PREFIX, K_PORTS, K_OUTPUT, K_PATH, K_ENUM, K_URL,
		K_ADDR, K_SOCKET };

struct key_def {
	const char *name;
	enum key_kind kind;
	size_t off;           /* K_BOOL / K_UINT: offsetof the field */
	unsigned min, max;    /* K_UINT: inclusive range */
	unsigned access;      /* K_PREFIX: TG_ACC_* bits the key grants */
	bool pow2;            /* K_UINT: ring buffers must be a power of two */
	const char *const *choices; /* K_ENUM values, K_URL schemes; NULL-terminated */
};

static const char *const syslog_schemes[] = { "unix", "udp", "tcp", "relp", NULL };
static const char *const http_schemes[] = { "http", "https", NULL };
static const char *const syslog_formats[] = { "json", "cef", NULL };
static const char *const http_formats[] = { "ndjson", "splunk_hec", "elastic_bulk", NULL };
static const char *const facilities[] = { "kern", "user", "mail", "daemon", "auth", "syslog",
	"lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7", NULL };

#define FIELD(f) offsetof(struct tg_config, f)

/* Order is the order of the "expected one of" list in messages. */
static const struct key_def keys[] = {
	{ "events", K_EVENTS, 0, 0, 0, 0, false, NULL },
	{ "threads", K_BOOL, FIELD(threads), 0, 0, 0, false, NULL },
	{ "flows", K_BOOL, FIELD(flows), 0, 0, 0, false, NULL },
	{ "unix_connect", K_BOOL, FIELD(unix_connect), 0, 0, 0, false, NULL },
	{ "ringbuf_kb", K_UINT, FIELD(ringbuf_kb), 4, 1048576, 0, true, NULL },
	{ "proc_table_max", K_UINT, FIELD(proc_table_max), 16, 10000000, 0, false, NULL },
	{ "flow_map_max", K_UINT, FIELD(flow_map_max), 16, 1048576, 0, false, NULL },
	{ "flow_flush_ms", K_UINT, FIELD(flow_flush_ms), 50, 60000, 0, false, NULL },
	{ "stats_interval_s", K_UINT, FIELD(stats_interval_s), 0, 86400, 0, false, NULL },
	{ "watch_read", K_PREFIX, 0, 0, 0, TG_ACC_READ, false, NULL },
	{ "watch_write", K_PREFIX, 0, 0, 0, TG_ACC_WRITE, false, NULL },
	{ "watch_rw", K_PREFIX, 0, 0, 0, TG_ACC_READ | TG_ACC_WRITE, false, NULL },
	{ "net_ports", K_PORTS, 0, 0, 0, 0, false, NULL },
	{ "output", K_OUTPUT, 0, 0, 0, 0, false, NULL },
	{ "rules_dir", K_PATH, FIELD(rules_dir), 0, 0, 0, false, NULL },
	{ "rules_local_dir", K_PATH, FIELD(rules_local_dir), 0, 0, 0, false, NULL },
	{ "profile", K_PATH, FIELD(profile), 0, 0, 0, false, NULL },
	{ "integrity", K_BOOL, FIELD(integrity), 0, 0, 0, false, NULL },
	{ "manifest", K_PATH, FIELD(manifest), 0, 0, 0, false, NULL },
	{ "integrity_queue_max", K_UINT, FIELD(integrity_queue_max), 16, 1048576, 0, false, NULL },
	{ "integrity_rate_mb", K_UINT, FIELD(integrity_rate_mb), 1, 100000, 0, false, NULL },
	{ "integrity_rescan_s", K_UINT, FIELD(integrity_rescan_s), 0, 31536000, 0, false, NULL },
	{ "alerts_file", K_PATH, FIELD(alerts_file), 0, 0, 0, false, NULL },
	{ "alerts_file_max_mb", K_UINT, FIELD(alerts_file_max_mb), 0, 1048576, 0, false, NULL },
	{ "alerts_file_keep", K_UINT, FIELD(alerts_file_keep), 0, 1000, 0, false, NULL },
	{ "syslog", K_URL, FIELD(syslog), 0, 0, 0, false, syslog_schemes },
	{ "syslog_format", K_ENUM, FIELD(syslog_format), 0, 0, 0, false, syslog_formats },
	{ "syslog_facility", K_ENUM, FIELD(syslog_facility), 0, 0, 0, false, facilities },
	{ "http_url", K_URL, FIELD(http_url), 0, 0, 0, false, http_schemes },
	{ "http_format", K_ENUM, FIELD(http_format), 0, 0, 0, false, http_formats },
	{ "http_token_file", K_PATH, FIELD(http_token_file), 0, 0, 0, false, NULL },
	{ "http_ca_file", K_PATH, FIELD(http_ca_file), 0, 0, 0, false, NULL },
	{ "http_index", K_ADDR, FIELD(http_index), 0, 0, 0, false, NULL },
	{ "http_insecure", K_BOOL, FIELD(http_insecure), 0, 0, 0, false, NULL },
	{ "http_batch_max", K_UINT, FIELD(http_batch_max), 1, 100000, 0, false, NULL },
	{ "http_timeout_ms", K_UINT, FIELD(http_timeout_ms), 100, 600000, 0, false, NULL },
	{ "spool_dir", K_PATH, FIELD(spool_dir), 0, 0, 0, false, NULL },
	{ "spool_max_mb", K_UINT, FIELD(spool_max_mb), 1, 1048576, 0, false, NULL },
	{ "sink_queue_max", K_UINT, FIELD(sink_queue_max), 16, 10000000, 0, false, NULL },
	{ "loss_report_s", K_UINT, FIELD(loss_report_s), 1, 3600, 0, false, NULL },
	{ "alert_rate_max", K_UINT, FIELD(alert_rate_max), 0, 1000000, 0, false, NULL },
	{ "alert_rate_per_s", K_UINT, FIELD(alert_rate_per_s), 1, 86400, 0, false, NULL },
	{ "alert_dedup_s", K_UINT, FIELD(alert_dedup_s), 0, 86400, 0, false, NULL },
	{ "suppress_report_s", K_UINT, FIELD(suppress_report_s), 1, 86400, 0, false, NULL },
	{ "control_socket", K_SOCKET, FIELD(control_socket), 0, 0, 0, false, NULL },
	{ "metrics_listen", K_ADDR, FIELD(metrics_listen), 0, 0, 0, false, NULL },
	{ "alerts_ring_max", K_UINT, FIELD(alerts_ring_max), 16, 1000000, 0, false, NULL },
};

/* Every heap string of struct tg_config, for free and clone. */
static const size_t str_fields[] = {
	FIELD(source), FIELD(output), FIELD(rules_dir), FIELD(rules_local_dir), FIELD(profile),
	FIELD(manifest), FIELD(alerts_file), FIELD(syslog), FIELD(syslog_format),
	FIELD(syslog_facility), FIELD(http_url), FIELD(http_format), FIELD(http_token_file),
	FIELD(http_ca_file), FIELD(http_index), FIELD(spool_dir), FIELD(control_socket),
	FIELD(metrics_listen),
};

#define N_STR_FIELDS (sizeof(str_fields) / sizeof(str_fields[0]))
#define STR_AT(cfg, off) ((char **)((char *)(cfg) + (off)))

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const struct {
	const char *name;
	unsigned mask;
} classes[] = {
	{ "process", TG_CLASS_PROCESS },
	{ "file", TG_CLASS_FILE },
	{ "network", TG_CLASS_NETWORK },
	{ "privilege", TG_CLASS_PRIVILEGE },
	{ "all", TG_CLASS_ALL },
};

struct parser {
	const char *name;     /* file name for messages */
	unsigned line;        /* 1-based line being parsed, 0 = whole file */
	struct tg_config *cfg;
	char *err;
	size_t errlen;
	unsigned seen[N_KEYS];                /* line a scalar key was set on */
	unsigned char port_seen[PORT_BITS / 8]; /* O(1) dedupe of net_ports */
};

/* Every message is "FILE:LINE: what; expected what" so editors can jump. */
__attribute__((format(printf, 2, 3)))
static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || !p->errlen)
		return -1;
	if (p->line)
		n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, p->line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int fail_oom(struct parser *p)
{
	return fail(p, "out of memory; expected to allocate the configuration");
}

/* What a key accepts, in the words every message for that key ends with. */
static void describe_expected(const struct key_def *k, char *buf, size_t len)
{
	switch (k->kind) {
	case K_EVENTS:
		snprintf(buf, len, "a comma list of process, file, network, privilege or all");
		break;
	case K_BOOL:
		snprintf(buf, len, "true or false (also yes/no, on/off, 1/0)");
		break;
	case K_UINT:
		snprintf(buf, len, "%u..%u%s", k->min, k->max,
			 k->pow2 ? ", a power of two" : "");
		break;
	case K_PREFIX:
		snprintf(buf, len, "an absolute path prefix shorter than %d bytes",
			 TG_PREFIX_MAX);
		break;
	case K_PORTS:
		snprintf(buf, len, "a comma list of ports 1..65535");
		break;
	case K_OUTPUT:
		snprintf(buf, len, "- (stdout) or an absolute file path");
		break;
	case K_PATH:
		snprintf(buf, len, "an absolute path");
		break;
	case K_ENUM:
	case K_URL: {
		size_t n = (size_t)snprintf(buf, len, k->kind == K_URL ? "a URL scheme://... with "
					    "scheme one of:" : "one of:");

		for (size_t i = 0; k->choices[i] && n < len; i++)
			n += (size_t)snprintf(buf + n, len - n, " %s", k->choices[i]);
		break;
	}
	case K_ADDR:
		snprintf(buf, len, "printable text without blanks (metrics_listen: HOST:PORT)");
		break;
	case K_SOCKET:
		snprintf(buf, len, "an absolute path or off");
		break;
	}
}

__attribute__((format(printf, 3, 4)))
static int fail_key(struct parser *p, const struct key_def *k, const char *fmt, ...)
{
	char what[LINE_MAX_BYTES + 128];
	char expected[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	describe_expected(k, expected, sizeof(expected));
	return fail(p, "%s; expected %s", what, expected);
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	return s;
}

/* '#' inside a value ("/srv/a#b") is data; only "#" after blank starts a comment. */
static void strip_comment(char *line)
{
	for (char *c = line; *c; c++) {
		if (*c == '#' && (c == line || isspace((unsigned char)c[-1]))) {
			*c = '\0';
			return;
		}
	}
}

/* Decimal digits only: strtoul would take "-1", " 7", "0x10" and "12abc". */
static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		/* Saturate so a huge number reads as out of range, not garbage. */
		if (v > (UINT64_MAX - 9) / 10)
			v = UINT64_MAX;
		else
			v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int parse_uint_key(struct parser *p, const struct key_def *k, const char *val)
{
	uint64_t v;

	if (parse_u64(val, &v))
		return fail_key(p, k, "'%s = %s' is not a number", k->name, val);
	if (v < k->min || v > k->max)
		return fail_key(p, k, "'%s = %s' is out of range", k->name, val);
	if (k->pow2 && (v & (v - 1)))
		return fail_key(p, k, "'%s = %s' is not a power of two", k->name, val);
	*(unsigned *)((char *)p->cfg + k->off) = (unsigned)v;
	return 0;
}

static int parse_bool_key(struct parser *p, const struct key_def *k, const char *val)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	bool *field = (bool *)((char *)p->cfg + k->off);

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(val, yes[i])) {
			*field = true;
			return 0;
		}
		if (!strcmp(val, no[i])) {
			*field = false;
			return 0;
		}
	}
	return fail_key(p, k, "'%s = %s' is not a boolean", k->name, val);
}

/*
 * Split a comma list in place and hand each trimmed item to fn. An empty
 * item ("22,,23" or a trailing comma) is an error: it is almost always a
 * typo, and silently skipping it would hide the value that was meant.
 */
static int for_each_item(struct parser *p, const struct key_def *k, char *val,
			 int (*fn)(struct parser *, const struct key_def *, const char *))
{
	char *item = val;

	for (;;) {
		char *comma = strchr(item, ',');
		char *t;

		if (comma)
			*comma = '\0';
		t = trim(item);
		if (!*t)
			return fail_key(p, k, "empty item in the '%s' list", k->name);
		if (fn(p, k, t))
			return -1;
		if (!comma)
			return 0;
		item = comma + 1;
	}
}

/* Items are OR-ed into classes, which parse_events cleared first. */
static int add_event_class(struct parser *p, const struct key_def *k, const char *item)
{
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (!strcmp(item, classes[i].name)) {
			p->cfg->classes |= classes[i].mask;
			return 0;
		}
	}
	return fail_key(p, k, "unknown event class '%s'", item);
}

static int add_port(struct parser *p, const struct key_def *k, const char *item)
{
	struct tg_config *cfg = p->cfg;
	uint16_t *ports;
	uint64_t v;

	if (parse_u64(item, &v))
		return fail_key(p, k, "port '%s' is not a number", item);
	if (v < 1 || v > 65535)
		return fail_key(p, k, "port '%s' is out of range", item);
	if (p->port_seen[v / 8] & (1u << (v % 8)))
		return 0;
	ports = realloc(cfg->ports, (cfg->n_ports + 1) * sizeof(*ports));
	if (!ports)
		return fail_oom(p);
	cfg->ports = ports;
	cfg->ports[cfg->n_ports++] = (uint16_t)v;
	p->port_seen[v / 8] |= (unsigned char)(1u << (v % 8));
	return 0;
}

/*
 * The kernel keeps one LPM entry per prefix with one access mask, so the
 * same prefix under watch_read and watch_write must become one entry with
 * both bits rather than two entries where the later would win.
 */
static int add_prefix(struct parser *p, const struct key_def *k, const char *val)
{
	struct tg_config *cfg = p->cfg;
	struct tg_prefix *pfx;
	char *copy;

	if (val[0] != '/')
		return fail_key(p, k, "'%s = %s' is not an absolute path", k->name, val);
	if (strlen(val) >= TG_PREFIX_MAX)
		return fail_key(p, k, "'%s' prefix is %zu bytes long", k->name, strlen(val));
	for (size_t i = 0; i < cfg->n_prefixes; i++) {
		if (!strcmp(cfg->prefixes[i].prefix, val)) {
			cfg->prefixes[i].access |= k->access;
			return 0;
		}
	}
	copy = strdup(val);
	pfx = copy ? realloc(cfg->prefixes, (cfg->n_prefixes + 1) * sizeof(*pfx)) : NULL;
	if (!pfx) {
		free(copy);
		return fail_oom(p);
	}
	cfg->prefixes = pfx;
	cfg->prefixes[cfg->n_prefixes].prefix = copy;
	cfg->prefixes[cfg->n_prefixes].access = k->access;
	cfg->n_prefixes++;
	return 0;
}

static int set_output(struct parser *p, const struct key_def *k, const char *val)
{
	char *copy;

	if (strcmp(val, "-") && val[0] != '/')
		return fail_key(p, k, "'output = %s' is neither '-' nor an absolute path", val);
	copy = strdup(val);
	if (!copy)
		return fail_oom(p);
	free(p->cfg->output);
	p->cfg->output = copy;
	return 0;
}

/* Absolute path into the char * at k->off. */
static int set_path(struct parser *p, const struct key_def *k, const char *val)
{
	char **dst = (char **)((char *)p->cfg + k->off);
	char *copy;

	if (val[0] != '/')
		return fail_key(p, k, "'%s = %s' is not an absolute path", k->name, val);
	copy = strdup(val);
	if (!copy)
		return fail_oom(p);
	free(*dst);
	*dst = copy;
	return 0;
}

static int set_str(struct parser *p, const struct key_def *k, const char *val)
{
	char **dst = STR_AT(p->cfg, k->off);
	char *copy = strdup(val);

	if (!copy)
		return fail_oom(p);
	free(*dst);
	*dst = copy;
	return 0;
}

static bool in_choices(const char *const *choices, const char *s, size_t len)
{
	for (size_t i = 0; choices[i]; i++)
		if (strlen(choices[i]) == len && !strncmp(choices[i], s, len))
			return true;
	return false;
}

/* Values that reach sockets, URLs and messages: printable ASCII only, so a
 * control byte can never be echoed to a terminal or a log. */
static int check_printable(struct parser *p, const struct key_def *k, const char *val)
{
	for (const unsigned char *c = (const unsigned char *)val; *c; c++)
		if (*c <= ' ' || *c >= 0x7f)
			return fail_key(p, k, "'%s' holds byte 0x%02x at offset %zu", k->name, *c,
					(size_t)(c - (const unsigned char *)val));
	return 0;
}

static int set_checked_str(struct parser *p, const struct key_def *k, const char *val)
{
	const char *sep;

	if (check_printable(p, k, val))
		return -1;
	switch (k->kind) {
	case K_ENUM:
		if (!in_choices(k->choices, val, strlen(val)))
			return fail_key(p, k, "'%s = %s' is not a known value", k->name, val);
		break;
	case K_URL:
		sep = strstr(val, "://");
		if (!sep || !in_choices(k->choices, val, (size_t)(sep - val)) || !sep[3])
			return fail_key(p, k, "'%s = %s' is not a URL with a known scheme", k->name,
					val);
		break;
	case K_SOCKET:
		if (strcmp(val, "off") && val[0] != '/')
			return fail_key(p, k, "'%s = %s' is neither off nor an absolute path",
					k->name, val);
		if (strlen(val) >= 108)
			return fail_key(p, k, "'%s' is %zu bytes long, more than a unix socket path "
					"holds (107)", k->name, strlen(val));
		break;
	default:
		break;
	}
	return set_str(p, k, val);
}

static int apply_key(struct parser *p, const struct key_def *k, char *val)
{
	switch (k->kind) {
	case K_EVENTS:
		p->cfg->classes = 0;
		return for_each_item(p, k, val, add_event_class);
	case K_BOOL:
		return parse_bool_key(p, k, val);
	case K_UINT:
		return parse_uint_key(p, k, val);
	case K_PREFIX:
		return add_prefix(p, k, val);
	case K_PORTS:
		return for_each_item(p, k, val, add_port);
	case K_OUTPUT:
		return set_output(p, k, val);
	case K_PATH:
		return set_path(p, k, val);
	case K_ENUM:
	case K_URL:
	case K_ADDR:
	case K_SOCKET:
		return set_checked_str(p, k, val);
	}
	return fail_key(p, k, "internal error: key kind %d", (int)k->kind);
}

static int fail_unknown_key(struct parser *p, const char *key)
{
	char list[512];

	diag_names(list, sizeof(list), &keys[0].name, N_KEYS, sizeof(keys[0]));
	return fail(p, "unknown key '%s'; expected one of: %s", key, list);
}

/* Lists (prefixes, ports) may repeat and append; every other key is set once. */
static bool key_repeats(const struct key_def *k)
{
	return k->kind == K_PREFIX || k->kind == K_PORTS;
}

static int parse_line(struct parser *p, char *line)
{
	const struct key_def *k = NULL;
	char *eq, *key, *val;
	size_t i;

	strip_comment(line);
	line = trim(line);
	if (!*line)
		return 0;
	eq = strchr(line, '=');
	if (!eq)
		return fail(p, "missing '='; expected key = value");
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	if (!*key)
		return fail(p, "missing key before '='; expected key = value");
	for (i = 0; i < N_KEYS && !k; i++)
		if (!strcmp(key, keys[i].name))
			k = &keys[i];
	if (!k)
		return fail_unknown_key(p, key);
	i = (size_t)(k - keys);
	if (p->seen[i] && !key_repeats(k))
		return fail(p, "duplicate key '%s' (first set on line %u); expected each key at most once",
			    key, p->seen[i]);
	if (!*val)
		return fail_key(p, k, "empty value for '%s'", key);
	p->seen[i] = p->line;
	return apply_key(p, k, val);
}

/* Copy line by line into a bounded buffer: text is const and lines are edited. */
static int parse_text(struct parser *p, const char *text)
{
	char buf[LINE_MAX_BYTES + 1];
	const char *s = text;

	for (p->line = 1; *s; p->line++) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		if (len > LINE_MAX_BYTES)
			return fail(p, "line is %zu bytes long; expected at most %d bytes per line",
				    len, LINE_MAX_BYTES);
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (parse_line(p, buf))
			return -1;
		if (!nl)
			break;
		s = nl + 1;
	}
	return 0;
}

void config_defaults(struct tg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->classes = TG_CLASS_ALL;
	cfg->threads = true;
	cfg->flows = true;
	cfg->unix_connect = false;
	cfg->ringbuf_kb = 8192;
	cfg->proc_table_max = 65536;
	cfg->flow_map_max = 16384;
	cfg->flow_flush_ms = 1000;
	cfg->stats_interval_s = 60;
	cfg->integrity = true;
	cfg->integrity_queue_max = 1024;
	cfg->integrity_rate_mb = 64;
	cfg->integrity_rescan_s = 3600;
	cfg->alerts_file_max_mb = 100;
	cfg->alerts_file_keep = 5;
	cfg->http_batch_max = 500;
	cfg->http_timeout_ms = 10000;
	cfg->spool_max_mb = 256;
	cfg->sink_queue_max = 65536;
	cfg->loss_report_s = 5;
	cfg->alert_rate_max = 20;
	cfg->alert_rate_per_s = 60;
	cfg->alert_dedup_s = 0;
	cfg->suppress_report_s = 60;
	cfg->alerts_ring_max = 1024;
	cfg->control_socket = strdup(TG_DEFAULT_CONTROL_SOCKET);
	/*
	 * Heap, not a literal, so config_free and callers that override the
	 * output (free + strdup) treat it like any parsed value. If this tiny
	 * allocation fails output stays NULL, and config_parse_string retries.
	 */
	cfg->output = strdup("-");
}

void config_free(struct tg_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_prefixes; i++)
		free(cfg->prefixes[i].prefix);
	free(cfg->prefixes);
	free(cfg->ports);
	for (size_t i = 0; i < N_STR_FIELDS; i++)
		free(*STR_AT(cfg, str_fields[i]));
	/* Zeroed pointers and counts make a second call a no-op. */
	memset(cfg, 0, sizeof(*cfg));
}

static int copy_prefixes(struct tg_config *dst, const struct tg_config *src)
{
	if (!src->n_prefixes)
		return 0;
	dst->prefixes = calloc(src->n_prefixes, sizeof(*dst->prefixes));
	if (!dst->prefixes)
		return -1;
	for (size_t i = 0; i < src->n_prefixes; i++) {
		dst->prefixes[i].prefix = strdup(src->prefixes[i].prefix);
		if (!dst->prefixes[i].prefix)
			return -1;
		dst->prefixes[i].access = src->prefixes[i].access;
		dst->n_prefixes = i + 1;
	}
	return 0;
}

/* Deep copy; on failure dst holds only what was copied, so config_free works. */
int config_clone(struct tg_config *dst, const struct tg_config *src)
{
	*dst = *src;
	dst->prefixes = NULL;
	dst->n_prefixes = 0;
	dst->ports = NULL;
	dst->n_ports = 0;
	for (size_t i = 0; i < N_STR_FIELDS; i++)
		*STR_AT(dst, str_fields[i]) = NULL;
	for (size_t i = 0; i < N_STR_FIELDS; i++) {
		const char *s = *STR_AT(src, str_fields[i]);

		if (s && !(*STR_AT(dst, str_fields[i]) = strdup(s)))
			return -1;
	}
	if (copy_prefixes(dst, src))
		return -1;
	if (src->n_ports) {
		dst->ports = malloc(src->n_ports * sizeof(*dst->ports));
		if (!dst->ports)
			return -1;
		memcpy(dst->ports, src->ports, src->n_ports * sizeof(*dst->ports));
		dst->n_ports = src->n_ports;
	}
	return 0;
}

/* Source and a non-NULL output are set only once the text parsed cleanly. */
static int finish(struct parser *p, const char *name)
{
	struct tg_config *cfg = p->cfg;
	char *source = NULL;

	if (!cfg->output && !(cfg->output = strdup("-")))
		return fail_oom(p);
	if (name && !(source = strdup(name)))
		return fail_oom(p);
	free(cfg->source);
	cfg->source = source;
	return 0;
}

int config_parse_string(const char *name, const char *text, struct tg_config *cfg,
			char *err, size_t errlen)
{
	struct tg_config work;
	struct parser *p;
	int ret = -1;

	if (err && errlen)
		err[0] = '\0';
	/* ~8 KiB of port bitmap: heap, not the stack of whoever calls us. */
	p = calloc(1, sizeof(*p));
	if (!p) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory; expected to allocate the parser",
				 name ? name : "<config>");
		return -1;
	}
	p->name = name ? name : "<config>";
	p->err = err;
	p->errlen = errlen;
	p->cfg = &work;
	if (config_clone(&work, cfg)) {
		fail_oom(p);
		goto out;
	}
	for (size_t i = 0; i < work.n_ports; i++)
		p->port_seen[work.ports[i] / 8] |= (unsigned char)(1u << (work.ports[i] % 8));
	if (parse_text(p, text ? text : ""))
		goto out;
	p->line = 0; /* an allocation failure here belongs to no line */
	if (finish(p, name))
		goto out;
	config_free(cfg);
	*cfg = work;
	work = (struct tg_config){ 0 };
	ret = 0;
out:
	config_free(&work);
	free(p);
	return ret;
}
