/*
 * JSON-lines logging on stderr, one object per line. Callers pass ids,
 * paths, statuses and digests only: never a secret value, a nonce, a
 * nonce-bound key or a token (STYLE.md, "From curl").
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cofferd.h"

static _Atomic enum cofferd_log_level min_level = LOG_INFO_;

bool cofferd_log_enabled(enum cofferd_log_level lvl)
{
	return lvl >= min_level;
}

void cofferd_log_set_level(const char *level)
{
	if (level == NULL)
		return;
	if (strcmp(level, "debug") == 0)
		min_level = LOG_DEBUG_;
	else if (strcmp(level, "warn") == 0)
		min_level = LOG_WARN_;
	else if (strcmp(level, "error") == 0)
		min_level = LOG_ERROR_;
	else
		min_level = LOG_INFO_;
}

void cofferd_log(enum cofferd_log_level lvl, const char *msg, json_t *fields)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	struct timespec ts;
	struct tm tm;
	char when[96];
	json_t *line;
	char *text;

	if (lvl < min_level) {
		json_decref(fields);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	line = json_pack("{s:s,s:s,s:s}", "ts", when, "level", names[lvl], "msg", msg ? msg : "");
	if (line == NULL) {
		json_decref(fields);
		return;
	}
	if (json_is_object(fields))
		json_object_update(line, fields);
	json_decref(fields);
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(line);
	if (text == NULL)
		return;
	{
		size_t n = strlen(text);
		text[n] = '\n'; /* one write(2) per line keeps lines whole across threads */
		(void)!write(STDERR_FILENO, text, n + 1);
		text[n] = '\0';
	}
	free(text);
}
