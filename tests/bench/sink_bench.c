// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sink_bench: one sink's throughput, alerts/s, through the real delivery
 * path (deliver_submit -> queue -> worker -> transport). Run it under
 * `taskset -c 0` for "one core": the producer and the sink thread share it.
 *
 *   sink_bench CONFIG N    CONFIG: a twinguard.conf naming one sink;
 *                          prints "delivered D of N in S s: R alerts/s"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "deliver/deliver.h"

/* A shipped-pack alert's size and shape (about 1.5 KB). */
static const char alert_json[] =
	"{\"@timestamp\":\"2026-12-07T05:00:00.000000000Z\",\"schema_version\":\"1\","
	"\"event\":{\"kind\":\"alert\",\"action\":\"exec\",\"category\":[\"process\"],"
	"\"severity\":2,\"created\":\"2026-12-07T05:00:00.000100000Z\"},"
	"\"rule\":{\"id\":\"Shell spawned by a twin service\",\"name\":\"Shell spawned by a twin "
	"service\",\"ruleset\":\"/usr/share/twinguard/rules/twin.json\"},"
	"\"message\":\"shell /usr/bin/bash spawned by twin service /opt/twin/bin/twin-engine "
	"(pid 4242, user twin)\",\"tags\":[\"twin\",\"control_plane\",\"mitre:T1059.004\"],"
	"\"process\":{\"pid\":4243,\"entity_id\":\"a1b2c3d4-10a3-5f3e2\",\"executable\":"
	"\"/usr/bin/bash\",\"args\":[\"bash\",\"-c\",\"id; uname -a\"],\"working_directory\":"
	"\"/opt/twin\",\"parent\":{\"pid\":4242,\"executable\":\"/opt/twin/bin/twin-engine\"},"
	"\"ancestors\":[{\"pid\":4242,\"executable\":\"/opt/twin/bin/twin-engine\"},{\"pid\":1,"
	"\"executable\":\"/usr/lib/systemd/systemd\"}]},\"user\":{\"id\":\"998\",\"name\":\"twin\"},"
	"\"host\":{\"hostname\":\"twin-01\"},\"twinguard\":{\"alert\":{\"priority\":\"critical\","
	"\"action\":\"alert\",\"kind\":\"single\"},\"twin\":{\"service\":true}}}";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct tg_sink_stats st[TG_SINK_MAX];
	struct tg_deliver_opts o = { 0 };
	struct tg_config cfg;
	struct tg_deliver *d;
	struct tg_record *r;
	char err[512];
	long n;
	double t0, t1;
	uint64_t delivered = 0;
	cJSON *j;

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: sink_bench CONFIG N\n");
		return 64;
	}
	config_defaults(&cfg);
	if (config_load(argv[1], &cfg, err, sizeof(err))) {
		fprintf(stderr, "sink_bench: %s\n", err);
		return 2;
	}
	o.cfg = &cfg;
	/* measured: the last sink (the stream itself when it is the only one) */
	if (cfg.alerts_file || cfg.syslog || cfg.http_url)
		o.output = "/dev/null";
	d = deliver_new(&o, err, sizeof(err));
	if (!d) {
		fprintf(stderr, "sink_bench: %s\n", err);
		return 2;
	}
	j = cJSON_Parse(alert_json);
	r = record_new(TG_REC_ALERT, j);
	cJSON_Delete(j);
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		deliver_submit(d, r);
		/* keep within the queue: the producer may not outrun it forever */
		if (i % 1024 == 1023) {
			for (;;) {
				size_t k = deliver_stats(d, st, TG_SINK_MAX);

				if (st[k - 1].queued < 32768)
					break;
				usleep(200);
			}
		}
	}
	for (int w = 0; w < 600000; w++) {
		size_t k = deliver_stats(d, st, TG_SINK_MAX);

		delivered = st[k - 1].delivered;
		if (delivered + st[k - 1].dropped >= (uint64_t)n)
			break;
		usleep(100);
	}
	t1 = now_s();
	deliver_stats(d, st, TG_SINK_MAX);
	printf("delivered %llu of %ld in %.3f s: %.0f alerts/s\n", (unsigned long long)delivered, n,
	       t1 - t0, (double)delivered / (t1 - t0));
	record_put(r);
	deliver_free(d, 2000);
	config_free(&cfg);
	return 0;
}
