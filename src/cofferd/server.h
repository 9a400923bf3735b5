/* The HTTP server (server.c). */
#ifndef COFFERD_SERVER_H
#define COFFERD_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "cofferd.h"

/* Start listening on d->cfg.listen; TLS when tls_cert/tls_key (PEM text)
 * are given. The bound port goes to *port_out. */
int cofferd_server_start(struct MHD_Daemon **out, struct cofferd *d, char *tls_cert, char *tls_key,
                         unsigned *port_out);

#endif
