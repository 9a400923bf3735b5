/* libFuzzer target: the CC event log parser, RTMR replay and claims. */
#include <stdlib.h>
#include <string.h>

#include "coffer/tdx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	coffer_tdx_eventlog log;
	uint8_t rtmr[4][48];
	json_t *claims = NULL;

	if (coffer_tdx_eventlog_parse(&log, data, size) != 0)
		return 0;
	for (size_t i = 0; i < log.count; i++)
		if (log.events[i].data < data ||
		    log.events[i].data + log.events[i].data_len > data + size)
			abort();
	(void)coffer_tdx_eventlog_replay(rtmr, &log);
	if (coffer_tdx_eventlog_claims(&claims, &log) == 0)
		json_decref(claims);
	coffer_tdx_eventlog_clear(&log);
	return 0;
}
