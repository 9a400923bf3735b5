/*
 * bench_store: the SQLite store's session writes as the broker makes them
 * per handshake: create (auth), attest with a sealed token (attest), get
 * (a cookie request on another broker), in a temporary directory. Session
 * ids are time-ordered like cofferd's (48-bit milliseconds + 80 random
 * bits); the token is 1,500 bytes, the size of a `sample` EAR token. It
 * reports thread CPU time per operation (the machine may be shared) and the
 * wall-clock rate, for one thread and for four threads at once.
 *
 * Between phases the store is checkpointed (cofferd does it once a second,
 * off the request path), so the WAL stays the size it has in the broker.
 *
 * Usage: bench_store [--sessions N]   (default 3000 per thread and phase)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "coffer/codec.h"
#include "coffer/store.h"
#include "bench_util.h"

static coffer_store *g_store;
static char g_token[1501];
static size_t g_n = 3000;
static pthread_barrier_t g_bar;

static void session_id(char out[33])
{
	uint8_t raw[16];
	struct timespec ts;
	uint64_t ms;
	char *hex = NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	for (int i = 0; i < 6; i++)
		raw[i] = (uint8_t)(ms >> (40 - 8 * i));
	if (RAND_bytes(raw + 6, 10) != 1 || coffer_hex_encode(&hex, raw, sizeof(raw)) < 0) {
		fprintf(stderr, "bench_store: no randomness\n");
		exit(1);
	}
	memcpy(out, hex, 33);
	free(hex);
}

/* all threads done with a phase: one checkpoints, untimed */
static void phase_end(void)
{
	if (pthread_barrier_wait(&g_bar) == PTHREAD_BARRIER_SERIAL_THREAD)
		coffer_store_checkpoint(g_store);
	pthread_barrier_wait(&g_bar);
}

struct result {
	double create_cpu, attest_cpu, get_cpu, wall;
};

static void *run(void *arg)
{
	struct result *r = arg;
	char(*ids)[33] = calloc(g_n, 33);
	int64_t now = (int64_t)time(NULL);
	double c0, w0 = now_s();

	if (ids == NULL)
		exit(1);
	c0 = cpu_s();
	for (size_t i = 0; i < g_n; i++) {
		coffer_store_session s;
		memset(&s, 0, sizeof(s));
		session_id(ids[i]);
		memcpy(s.id, ids[i], 33);
		snprintf(s.nonce, sizeof(s.nonce), "bm9uY2Vub25jZW5vbmNlbm9uY2Vub25jZW5vbmNlbm8=");
		snprintf(s.tee, sizeof(s.tee), "sample");
		s.created = now;
		s.expires = now + 300;
		if (coffer_store_session_create(g_store, &s) < 0) {
			fprintf(stderr, "create: %s\n", coffer_error_last());
			exit(1);
		}
	}
	r->create_cpu = (cpu_s() - c0) / (double)g_n;
	phase_end();
	c0 = cpu_s();
	for (size_t i = 0; i < g_n; i++)
		if (coffer_store_session_attest(g_store, ids[i], g_token, now + 300, now) < 0) {
			fprintf(stderr, "attest: %s\n", coffer_error_last());
			exit(1);
		}
	r->attest_cpu = (cpu_s() - c0) / (double)g_n;
	phase_end();
	c0 = cpu_s();
	for (size_t i = 0; i < g_n; i++) {
		coffer_store_session g;
		memset(&g, 0, sizeof(g));
		if (coffer_store_session_get(&g, g_store, ids[i]) < 0 || g.token == NULL ||
		    strcmp(g.token, g_token) != 0) {
			fprintf(stderr, "get: %s\n", coffer_error_last());
			exit(1);
		}
		coffer_store_session_clear(&g);
	}
	r->get_cpu = (cpu_s() - c0) / (double)g_n;
	r->wall = now_s() - w0;
	phase_end();
	free(ids);
	return NULL;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/bench-store-XXXXXX", db[96], key[96], cmd[160];
	coffer_store_options o = COFFER_STORE_OPTIONS_INIT;
	struct result one, four[4];
	pthread_t th[4];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--sessions") == 0 && i + 1 < argc)
			g_n = (size_t)strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: bench_store [--sessions N]\n");
			return 2;
		}
	}
	if (g_n == 0 || mkdtemp(dir) == NULL)
		return 2;
	snprintf(db, sizeof(db), "%s/cofferd.db", dir);
	snprintf(key, sizeof(key), "%s/master.key", dir);
	o.master_key_path = key;
	o.create_master_key = true;
	if (coffer_store_open(&g_store, db, &o) < 0) {
		fprintf(stderr, "bench_store: %s\n", coffer_error_last());
		return 1;
	}
	for (size_t i = 0; i < sizeof(g_token) - 1; i++)
		g_token[i] =
		        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."[i % 65];

	pthread_barrier_init(&g_bar, NULL, 1);
	run(&one);
	pthread_barrier_destroy(&g_bar);
	pthread_barrier_init(&g_bar, NULL, 4);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, run, &four[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	coffer_store_checkpoint(g_store);
	printf("sessions, SQLite store, %zu per thread, 1,500-byte token (thread CPU us per "
	       "operation)\n",
	       g_n);
	printf("1 thread : create %.1f us, attest %.1f us, get %.1f us; %.0f handshakes' "
	       "writes/s\n",
	       one.create_cpu * 1e6, one.attest_cpu * 1e6, one.get_cpu * 1e6,
	       (double)g_n / one.wall);
	{
		double c = 0, a = 0, g = 0, w = 0;
		for (int i = 0; i < 4; i++) {
			c += four[i].create_cpu / 4;
			a += four[i].attest_cpu / 4;
			g += four[i].get_cpu / 4;
			w = four[i].wall > w ? four[i].wall : w;
		}
		printf("4 threads: create %.1f us, attest %.1f us, get %.1f us; %.0f handshakes' "
		       "writes/s\n",
		       c * 1e6, a * 1e6, g * 1e6, 4.0 * (double)g_n / w);
	}
	coffer_store_close(g_store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
