/*
 * Per-client rate limit of new RCAR sessions (PROTOCOL.md section 3: 429).
 * Every POST /kbs/v0/auth writes a session row before anyone is
 * authenticated, so an unthrottled client could fill the store; a token
 * bucket per client address (IPv4, or the IPv6 /64) bounds that. The table
 * is direct-mapped and fixed in size: clients that collide share a bucket,
 * which can only make the limit stricter for them.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cofferd.h"

#define BUCKETS 4096

struct bucket {
	uint8_t key[8];
	double tokens;
	double last;
};

static struct bucket table[BUCKETS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t client_key(uint8_t key[8], const struct sockaddr *sa)
{
	memset(key, 0, 8);
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family == AF_INET6) {
		/* one IPv6 client usually owns a whole /64 */
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 8);
		return 8;
	}
	return 0;
}

bool cofferd_ratelimit_allow(const struct sockaddr *client, double rate, double burst)
{
	uint8_t key[8];
	size_t h = 2166136261u;
	struct bucket *b;
	double now;
	bool ok;

	if (rate <= 0)
		return true;
	client_key(key, client);
	for (size_t i = 0; i < sizeof(key); i++)
		h = (h ^ key[i]) * 16777619u;
	b = &table[h % BUCKETS];
	now = mono();
	pthread_mutex_lock(&lock);
	if (memcmp(b->key, key, sizeof(key)) != 0 || b->last == 0) {
		memcpy(b->key, key, sizeof(key));
		b->tokens = burst;
		b->last = now;
	}
	b->tokens += (now - b->last) * rate;
	if (b->tokens > burst)
		b->tokens = burst;
	b->last = now;
	ok = b->tokens >= 1.0;
	if (ok)
		b->tokens -= 1.0;
	pthread_mutex_unlock(&lock);
	return ok;
}
