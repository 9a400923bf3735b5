/* Internal pieces of the attester module. */
#ifndef COFFER_ATTESTER_INTERNAL_H
#define COFFER_ATTESTER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "coffer/attester.h"

/* SEV-SNP ABI: an attestation report is 1184 bytes (0x4A0). */
#define SNP_REPORT_SIZE 1184
/* Upper bounds on what the kernel hands back (a TDX quote with its PCK chain
 * is a few KiB; the SNP certificate table a few KiB per certificate). */
#define TSM_OUTBLOB_MAX ((size_t)256 * 1024)
#define TSM_AUXBLOB_MAX ((size_t)256 * 1024)
#define CCEL_MAX        ((size_t)8 * 1024 * 1024)
#define SNP_CERTS_MAX   ((size_t)1024 * 1024)

/* /dev/sev-guest SNP_GET_EXT_REPORT: the raw report and the certificate
 * table (NULL when the host supplies none). */
int attester_sev_guest_report(uint8_t **report, size_t *report_len, uint8_t **certs,
                              size_t *certs_len, const char *dev, const uint8_t user_data[64],
                              unsigned vmpl);

/* The upstream JSON object form of a raw SNP report. */
int attester_snp_report_json(json_t **out, const uint8_t *report, size_t len);

/* Probe the configfs-tsm provider: creates and removes one entry. */
int attester_tsm_probe(char provider[32], const char *root, unsigned wait_ms);

#endif
