/*
 * cofferd: the Coffer key broker (KBS protocol 0.4.0, PROTOCOL.md).
 *
 *   cofferd --config cofferd.toml            the broker
 *   cofferd --config cofferd.toml --check-config
 *   cofferd --dev --listen 127.0.0.1:PORT --data-dir DIR
 *
 * Signals: SIGTERM/SIGINT stop accepting, finish in-flight requests, close
 * the store; SIGHUP reloads the settings that are safe to change live.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coffer/file.h"
#include "coffer/json.h"
#include "cofferd.h"
#include "server.h"

#define DRAIN_SECONDS  10
#define DEFAULT_CONFIG "/etc/cofferd/cofferd.toml"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: cofferd [--config FILE] [--check-config]\n"
	        "       cofferd --dev --listen 127.0.0.1:PORT --data-dir DIR\n"
	        "options:\n"
	        "  --config FILE     TOML configuration (docs/cofferd.toml.md); default\n"
	        "                    $COFFERD_CONFIG, else " DEFAULT_CONFIG "\n"
	        "  --check-config    validate the configuration and exit (0 valid, 2 invalid)\n"
	        "  --dev             development broker: SQLite in --data-dir, plain HTTP on\n"
	        "                    loopback, `sample` evidence accepted, a bootstrap\n"
	        "                    workload-provider key in DIR/admin.jwk. Not for production.\n"
	        "  --listen ADDR     host:port (overrides server.listen; port 0 picks one)\n"
	        "  --data-dir DIR    overrides storage.data_dir\n"
	        "  --port-file FILE  write the bound port to FILE once listening\n"
	        "  --version, --help\n");
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : coffer_error_set(COFFER_ENOMEM, "out of memory");
}

static bool is_loopback(const char *listen)
{
	return strncmp(listen, "127.", 4) == 0 || strncmp(listen, "[::1]:", 6) == 0 ||
	       strncmp(listen, "localhost:", 10) == 0;
}

static int read_pem(char **out, const char *path)
{
	uint8_t *p = NULL;
	size_t n = 0;
	int error = coffer_file_read(&p, &n, path, 1024 * 1024);

	if (error < 0)
		return coffer_error_wrap(error, "%s", path);
	*out = (char *)p;
	return 0;
}

static int write_port_file(const char *path, unsigned port)
{
	char text[16];
	int n = snprintf(text, sizeof(text), "%u\n", port);

	return coffer_file_write(path, text, (size_t)n, 0644);
}

/* SIGHUP: re-read the file and apply what is safe to change live. */
static void reload(struct cofferd *d, const char *config_path)
{
	struct cofferd_config nc;
	int error;

	if (config_path == NULL) {
		cofferd_log(LOG_INFO_, "SIGHUP: no configuration file to reload", NULL);
		return;
	}
	cofferd_config_init(&nc);
	if ((error = cofferd_config_load(&nc, config_path)) < 0 ||
	    (error = cofferd_config_finish(&nc)) < 0) {
		cofferd_log(LOG_ERROR_, "SIGHUP: configuration rejected, keeping the old one",
		            json_pack("{s:s}", "error", coffer_error_last()));
		cofferd_config_free(&nc);
		return;
	}
	pthread_rwlock_wrlock(&d->cfg_lock);
	if (!d->cfg.dev)
		d->cfg.allow_sample = nc.allow_sample;
	d->cfg.session_lifetime = nc.session_lifetime;
	d->cfg.token_lifetime = nc.token_lifetime;
	d->cfg.admin_max_lifetime = nc.admin_max_lifetime;
	{
		char **t = d->cfg.trusted_jwks;
		size_t tn = d->cfg.n_trusted_jwks;
		d->cfg.trusted_jwks = nc.trusted_jwks;
		d->cfg.n_trusted_jwks = nc.n_trusted_jwks;
		nc.trusted_jwks = t;
		nc.n_trusted_jwks = tn;
	}
	error = cofferd_load_trusted_keys(d);
	cofferd_log_set_level(nc.log_level);
	pthread_rwlock_unlock(&d->cfg_lock);
	/* tokens verified under the old trusted keys are checked again */
	cofferd_tokcache_flush();
	if (error < 0)
		cofferd_log(LOG_ERROR_, "SIGHUP: trusted_jwks not loaded",
		            json_pack("{s:s}", "error", coffer_error_last()));
	else
		cofferd_log(LOG_INFO_, "configuration reloaded", NULL);
	cofferd_config_free(&nc);
}

int main(int argc, char **argv)
{
	static struct cofferd d;
	const char *config_path = NULL, *listen = NULL, *data_dir = NULL, *port_file = NULL;
	bool check = false, dev = false;
	struct MHD_Daemon *daemon = NULL;
	char *tls_cert = NULL, *tls_key = NULL;
	sigset_t sigs;
	unsigned port = 0;
	int error, rc = 3;
	coffer_json_wipe_on_free(); /* before any JSON value exists */

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			printf("cofferd " COFFERD_VERSION "\n");
			return 0;
		} else if (strcmp(a, "--check-config") == 0) {
			check = true;
		} else if (strcmp(a, "--dev") == 0) {
			dev = true;
		} else if (i + 1 < argc && strcmp(a, "--config") == 0) {
			config_path = argv[++i];
		} else if (i + 1 < argc && strcmp(a, "--listen") == 0) {
			listen = argv[++i];
		} else if (i + 1 < argc && strcmp(a, "--data-dir") == 0) {
			data_dir = argv[++i];
		} else if (i + 1 < argc && strcmp(a, "--port-file") == 0) {
			port_file = argv[++i];
		} else {
			fprintf(stderr, "cofferd: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	/* CLI.md: `cofferd --check-config` alone checks the default file */
	if (!dev && config_path == NULL)
		config_path = getenv("COFFERD_CONFIG") ? getenv("COFFERD_CONFIG") : DEFAULT_CONFIG;
	/* the database, keys and port file are private to the broker user */
	umask(077);
	pthread_rwlock_init(&d.cfg_lock, NULL);
	cofferd_config_init(&d.cfg);
	if (config_path && (error = cofferd_config_load(&d.cfg, config_path)) < 0)
		goto bad_config;
	if (dev) {
		d.cfg.dev = true;
		d.cfg.allow_sample = true;
		if (config_path == NULL &&
		    ((error = set_str(&d.cfg.resource_policy, "allow_all")) < 0 ||
		     (error = set_str(&d.cfg.release_policy, "allow_all")) < 0))
			goto bad_config;
		if (data_dir == NULL && d.cfg.data_dir == NULL) {
			fprintf(stderr, "cofferd: --dev needs --data-dir DIR\n");
			return 2;
		}
	}
	if ((listen && (error = set_str(&d.cfg.listen, listen)) < 0) ||
	    (data_dir && (error = set_str(&d.cfg.data_dir, data_dir)) < 0) ||
	    (port_file && (error = set_str(&d.cfg.port_file, port_file)) < 0))
		goto bad_config;
	if ((error = cofferd_config_finish(&d.cfg)) < 0)
		goto bad_config;
	if (dev && (!is_loopback(d.cfg.listen) || d.cfg.tls_cert)) {
		fprintf(stderr, "cofferd: --dev listens on loopback only, plain HTTP\n");
		return 2;
	}
	if (check) {
		printf("cofferd: configuration OK\n");
		cofferd_config_free(&d.cfg);
		return 0;
	}
	cofferd_log_set_level(d.cfg.log_level);
	if (dev)
		fprintf(stderr,
		        "*********************************************************************\n"
		        "* cofferd DEVELOPMENT MODE - NOT FOR PRODUCTION                     *\n"
		        "* `sample` evidence (no hardware, no signature) is accepted, plain  *\n"
		        "* HTTP, and a bootstrap admin key is written to the data directory. *\n"
		        "*********************************************************************\n");

	if (d.cfg.data_dir && mkdir(d.cfg.data_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "cofferd: %s: %s\n", d.cfg.data_dir, strerror(errno));
		goto out;
	}
	if ((error = cofferd_open(&d)) < 0) {
		fprintf(stderr, "cofferd: %s\n", coffer_error_last());
		goto out;
	}
	if (d.cfg.tls_cert && ((error = read_pem(&tls_cert, d.cfg.tls_cert)) < 0 ||
	                       (error = read_pem(&tls_key, d.cfg.tls_key)) < 0)) {
		fprintf(stderr, "cofferd: TLS: %s\n", coffer_error_last());
		goto out;
	}

	/* signals are taken synchronously by this thread only */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if ((error = cofferd_server_start(&daemon, &d, tls_cert, tls_key, &port)) < 0) {
		fprintf(stderr, "cofferd: %s\n", coffer_error_last());
		goto out;
	}
	if (d.cfg.port_file && write_port_file(d.cfg.port_file, port) < 0) {
		fprintf(stderr, "cofferd: port file: %s\n", coffer_error_last());
		goto out;
	}
	cofferd_log(LOG_INFO_, "listening",
	            json_pack("{s:s,s:i,s:b,s:b,s:s,s:s}", "listen", d.cfg.listen, "port",
	                      (int)port, "tls", tls_cert != NULL, "dev", dev, "store", "sqlite",
	                      "policy", d.policy->name));
	for (int64_t last_sweep = cofferd_now();;) {
		/* once a second: WAL checkpoint off the request path; every
		 * sweep_interval: expired sessions and JWT ids */
		struct timespec to = { 1, 0 };
		int sig = sigtimedwait(&sigs, NULL, &to);
		if (sig < 0) {
			size_t removed = 0;
			if (errno != EAGAIN && errno != EINTR)
				break;
			if (errno != EAGAIN)
				continue;
			cofferd_tokcache_sweep(cofferd_now());
			if (coffer_store_checkpoint(d.store) < 0)
				cofferd_log(LOG_WARN_, "checkpoint failed",
				            json_pack("{s:s}", "error", coffer_error_last()));
			if (cofferd_now() - last_sweep < d.cfg.sweep_interval)
				continue;
			last_sweep = cofferd_now();
			if (coffer_store_sweep(d.store, last_sweep, &removed) == 0 && removed)
				cofferd_log(LOG_DEBUG_, "sweep",
				            json_pack("{s:i}", "removed", (int)removed));
			continue;
		}
		if (sig == SIGHUP) {
			reload(&d, config_path);
			continue;
		}
		break;
	}
	/* stop accepting, let in-flight requests finish, then close the store */
	cofferd_log(LOG_INFO_, "stopping", NULL);
	atomic_store(&d.stopping, true);
	{
		/* quiescing hands the listening socket back: closing it makes new
		 * connections fail at once instead of waiting in the backlog */
		MHD_socket ls = MHD_quiesce_daemon(daemon);
		if (ls != MHD_INVALID_SOCKET)
			close(ls);
	}
	for (int i = 0; i < DRAIN_SECONDS * 100 && atomic_load(&d.inflight) > 0; i++) {
		struct timespec ms10 = { 0, 10 * 1000 * 1000 };
		nanosleep(&ms10, NULL);
	}
	MHD_stop_daemon(daemon);
	daemon = NULL;
	rc = 0;
	goto out;
bad_config:
	fprintf(stderr, "cofferd: %s\n", coffer_error_last());
	cofferd_config_free(&d.cfg);
	return 2;
out:
	if (daemon)
		MHD_stop_daemon(daemon);
	if (tls_key)
		coffer_free_str_wiped(tls_key);
	free(tls_cert);
	cofferd_close(&d);
	if (rc == 0)
		cofferd_log(LOG_INFO_, "stopped", NULL);
	return rc;
}
