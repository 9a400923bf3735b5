/* Internal limits of the KBS client. */
#ifndef COFFER_KBSCLIENT_INTERNAL_H
#define COFFER_KBSCLIENT_INTERNAL_H

/* Largest broker answer the parsers look at (resource answers are bounded
 * separately by coffer_kbs_client_opts.max_response). */
#define KBSC_ANSWER_MAX ((size_t)16 * 1024 * 1024)
#define KBSC_NONCE_MAX  1024
#define KBSC_TOKEN_MAX  ((size_t)64 * 1024)

#endif
