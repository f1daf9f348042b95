/*-------------------------------------------------------------------------
 *
 * main.c
 *		ckemu's command line: options, keys, schema and seed files, then the
 *		HTTP server until SIGTERM or SIGINT.
 *
 *	ckemu --listen 127.0.0.1:8642 [--port-file FILE]
 *		  [--s2s-key KEYID=PUBLIC_KEY.pem]... [--api-token TOKEN]...
 *		  [--web-auth-token TOKEN=USER]... [--rotate-web-auth-tokens]
 *		  [--schema FILE.ckdb] [--data FILE.json]... [--latency-ms N]
 *		  [--results-limit-max N] [--max-body-bytes N]
 *		  [--string-equals case-insensitive|case-sensitive]
 *		  [--container ID]... [--no-auth] [--index-lag] [--quiet]
 *		  [--tls-cert CERT.pem --tls-key KEY.pem]
 *
 * test/ckemu/main.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "ckemu.h"

EmuConfig	emu_config;

static void
usage(FILE *out)
{
	fprintf(out,
			"Usage: ckemu [OPTION]...\n"
			"A CloudKit Web Services emulator for tests and offline work.\n\n"
			"  --listen HOST:PORT            loopback address to listen on (default 127.0.0.1:8642;\n"
			"                                port 0 picks a free port)\n"
			"  --port-file FILE              write the port number to FILE once listening\n"
			"  --s2s-key KEYID=PEM           accept server-to-server signatures of this key\n"
			"                                (public key PEM file; repeatable)\n"
			"  --api-token TOKEN             accept this ckAPIToken (repeatable)\n"
			"  --web-auth-token TOKEN=USER   a signed-in user's ckWebAuthToken (repeatable)\n"
			"  --rotate-web-auth-tokens      web-auth tokens are good for one round trip\n"
			"  --schema FILE.ckdb            enforce this schema (indexes, types, grants)\n"
			"  --data FILE.json              seed records (repeatable)\n"
			"  --latency-ms N                add N ms to every request\n"
			"  --results-limit-max N         records per page at most (default 200)\n"
			"  --max-body-bytes N            largest request body (default 16 MiB)\n"
			"  --string-equals MODE          case-insensitive (default) or case-sensitive\n"
			"  --container ID                only this container exists (repeatable)\n"
			"  --no-auth                     skip authentication: every request is one user\n"
			"  --index-lag                   queries see writes only once /_ckemu/index catches up\n"
			"  --quiet                       no log output\n"
			"  --tls-cert FILE, --tls-key FILE  serve HTTPS with this PEM certificate (chain)\n"
			"                                and its private key (default: plain HTTP)\n");
}

static bool
is_loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0;
}

static long
parse_long(const char *opt, const char *s, long min, long max)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min || v > max)
	{
		fprintf(stderr, "ckemu: %s needs an integer from %ld to %ld, not \"%s\"\n",
				opt, min, max, s);
		exit(2);
	}
	return v;
}

static char *
read_text_file(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	CkBuf		buf;
	char		chunk[8192];
	size_t		n;

	if (f == NULL)
		return NULL;
	ck_buf_init(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ck_buf_append(&buf, chunk, n);
	fclose(f);
	return buf.data ? buf.data : emu_strdup("");
}

/* A PEM file's text for --tls-cert/--tls-key, or exit. */
static char *
read_pem_file(const char *opt, const char *path)
{
	char	   *pem = read_text_file(path);

	if (pem == NULL || strstr(pem, "-----BEGIN ") == NULL)
	{
		fprintf(stderr, "ckemu: %s: \"%s\" is not a readable PEM file\n", opt, path);
		exit(2);
	}
	return pem;
}

static void
add_s2s_key(const char *arg)
{
	const char *eq = strchr(arg, '=');
	char	   *pem;
	char		err[256];
	EmuS2SKey  *k;

	if (eq == NULL || eq == arg || eq[1] == '\0')
	{
		fprintf(stderr, "ckemu: --s2s-key needs KEYID=PUBLIC_KEY.pem\n");
		exit(2);
	}
	pem = read_text_file(eq + 1);
	if (pem == NULL)
	{
		fprintf(stderr, "ckemu: cannot read public key file \"%s\"\n", eq + 1);
		exit(2);
	}
	emu_config.s2s_keys = emu_realloc(emu_config.s2s_keys,
									  sizeof(EmuS2SKey) * (emu_config.ns2s_keys + 1));
	k = &emu_config.s2s_keys[emu_config.ns2s_keys];
	k->key_id = emu_malloc(eq - arg + 1);
	memcpy(k->key_id, arg, eq - arg);
	k->key_id[eq - arg] = '\0';
	k->key = ck_key_load_public_pem(pem, err, sizeof(err));
	free(pem);
	if (k->key == NULL)
	{
		fprintf(stderr, "ckemu: public key file \"%s\": %s\n", eq + 1, err);
		exit(2);
	}
	emu_user_from_seed("ckemu-developer:", k->key_id, k->user);
	emu_config.ns2s_keys++;
}

static void
add_string(char ***arr, int *n, const char *s)
{
	*arr = emu_realloc(*arr, sizeof(char *) * (*n + 1));
	(*arr)[(*n)++] = emu_strdup(s);
}

static void
parse_listen(const char *arg)
{
	const char *colon = strrchr(arg, ':');
	size_t		hostlen;

	if (colon == NULL || colon == arg)
	{
		fprintf(stderr, "ckemu: --listen needs HOST:PORT\n");
		exit(2);
	}
	hostlen = colon - arg;
	if (hostlen >= sizeof(emu_config.host))
	{
		fprintf(stderr, "ckemu: --listen host is too long\n");
		exit(2);
	}
	memcpy(emu_config.host, arg, hostlen);
	emu_config.host[hostlen] = '\0';
	if (strcmp(emu_config.host, "localhost") == 0)
		strcpy(emu_config.host, "127.0.0.1");
	emu_config.port = (int) parse_long("--listen", colon + 1, 0, 65535);
	if (!is_loopback(emu_config.host))
	{
		fprintf(stderr, "ckemu: refusing to listen on \"%s\": only loopback addresses (127.x.x.x) are allowed\n",
				emu_config.host);
		exit(2);
	}
}

static void
parse_args(int argc, char **argv)
{
	enum
	{
		OPT_LISTEN = 256, OPT_PORT_FILE, OPT_S2S, OPT_API, OPT_WEB, OPT_ROTATE,
		OPT_SCHEMA, OPT_DATA, OPT_LATENCY, OPT_LIMIT, OPT_BODY, OPT_STREQ,
		OPT_CONTAINER, OPT_NOAUTH, OPT_QUIET, OPT_HELP, OPT_INDEX_LAG,
		OPT_TLS_CERT, OPT_TLS_KEY
	};
	static const struct option opts[] = {
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"port-file", required_argument, NULL, OPT_PORT_FILE},
		{"s2s-key", required_argument, NULL, OPT_S2S},
		{"api-token", required_argument, NULL, OPT_API},
		{"web-auth-token", required_argument, NULL, OPT_WEB},
		{"rotate-web-auth-tokens", no_argument, NULL, OPT_ROTATE},
		{"schema", required_argument, NULL, OPT_SCHEMA},
		{"data", required_argument, NULL, OPT_DATA},
		{"latency-ms", required_argument, NULL, OPT_LATENCY},
		{"results-limit-max", required_argument, NULL, OPT_LIMIT},
		{"max-body-bytes", required_argument, NULL, OPT_BODY},
		{"string-equals", required_argument, NULL, OPT_STREQ},
		{"container", required_argument, NULL, OPT_CONTAINER},
		{"no-auth", no_argument, NULL, OPT_NOAUTH},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"index-lag", no_argument, NULL, OPT_INDEX_LAG},
		{"tls-cert", required_argument, NULL, OPT_TLS_CERT},
		{"tls-key", required_argument, NULL, OPT_TLS_KEY},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0}
	};
	int			c;

	strcpy(emu_config.host, "127.0.0.1");
	emu_config.port = 8642;
	emu_config.results_limit_max = 200;
	emu_config.max_body_bytes = EMU_DEFAULT_BODY_LIMIT;
	emu_config.string_equals_ci = true;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
	{
		switch (c)
		{
			case OPT_LISTEN:
				parse_listen(optarg);
				break;
			case OPT_PORT_FILE:
				free(emu_config.port_file);
				emu_config.port_file = emu_strdup(optarg);
				break;
			case OPT_S2S:
				add_s2s_key(optarg);
				break;
			case OPT_API:
				if (*optarg == '\0')
				{
					fprintf(stderr, "ckemu: --api-token needs a token\n");
					exit(2);
				}
				add_string(&emu_config.api_tokens, &emu_config.napi_tokens, optarg);
				break;
			case OPT_WEB:
				{
					const char *eq = strchr(optarg, '=');
					EmuWebToken *w;

					if (eq == NULL || eq == optarg || eq[1] == '\0')
					{
						fprintf(stderr, "ckemu: --web-auth-token needs TOKEN=USER\n");
						exit(2);
					}
					emu_config.web_tokens = emu_realloc(emu_config.web_tokens,
														sizeof(EmuWebToken) * (emu_config.nweb_tokens + 1));
					w = &emu_config.web_tokens[emu_config.nweb_tokens++];
					w->token = emu_malloc(eq - optarg + 1);
					memcpy(w->token, optarg, eq - optarg);
					w->token[eq - optarg] = '\0';
					w->user_name = emu_strdup(eq + 1);
					break;
				}
			case OPT_ROTATE:
				emu_config.rotate_web_tokens = true;
				break;
			case OPT_SCHEMA:
				free(emu_config.schema_file);
				emu_config.schema_file = emu_strdup(optarg);
				break;
			case OPT_DATA:
				add_string(&emu_config.data_files, &emu_config.ndata_files, optarg);
				break;
			case OPT_LATENCY:
				emu_config.latency_ms = (int) parse_long("--latency-ms", optarg, 0, 600000);
				break;
			case OPT_LIMIT:
				emu_config.results_limit_max = (int) parse_long("--results-limit-max", optarg, 1, 200);
				break;
			case OPT_BODY:
				emu_config.max_body_bytes = (size_t) parse_long("--max-body-bytes", optarg,
																1024, 1L << 30);
				break;
			case OPT_STREQ:
				if (strcmp(optarg, "case-insensitive") == 0)
					emu_config.string_equals_ci = true;
				else if (strcmp(optarg, "case-sensitive") == 0)
					emu_config.string_equals_ci = false;
				else
				{
					fprintf(stderr, "ckemu: --string-equals is case-insensitive or case-sensitive\n");
					exit(2);
				}
				break;
			case OPT_CONTAINER:
				add_string(&emu_config.containers, &emu_config.ncontainers, optarg);
				break;
			case OPT_NOAUTH:
				emu_config.no_auth = true;
				break;
			case OPT_QUIET:
				emu_config.quiet = true;
				break;
			case OPT_INDEX_LAG:
				emu_config.index_lag = true;
				break;
			case OPT_TLS_CERT:
				free(emu_config.tls_cert_pem);
				emu_config.tls_cert_pem = read_pem_file("--tls-cert", optarg);
				break;
			case OPT_TLS_KEY:
				free(emu_config.tls_key_pem);
				emu_config.tls_key_pem = read_pem_file("--tls-key", optarg);
				break;
			case OPT_HELP:
				usage(stdout);
				exit(0);
			default:
				usage(stderr);
				exit(2);
		}
	}
	if (optind < argc)
	{
		fprintf(stderr, "ckemu: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
	if ((emu_config.tls_cert_pem == NULL) != (emu_config.tls_key_pem == NULL))
	{
		fprintf(stderr, "ckemu: --tls-cert and --tls-key go together\n");
		exit(2);
	}
	if (emu_config.tls_cert_pem && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
	{
		fprintf(stderr, "ckemu: this libmicrohttpd was built without TLS: --tls-cert cannot be used\n");
		exit(2);
	}
}

static void
free_config(void)
{
	int			i;

	for (i = 0; i < emu_config.ns2s_keys; i++)
	{
		free(emu_config.s2s_keys[i].key_id);
		ck_key_free(emu_config.s2s_keys[i].key);
	}
	free(emu_config.s2s_keys);
	for (i = 0; i < emu_config.napi_tokens; i++)
		free(emu_config.api_tokens[i]);
	free(emu_config.api_tokens);
	for (i = 0; i < emu_config.nweb_tokens; i++)
	{
		free(emu_config.web_tokens[i].token);
		free(emu_config.web_tokens[i].user_name);
	}
	free(emu_config.web_tokens);
	for (i = 0; i < emu_config.ncontainers; i++)
		free(emu_config.containers[i]);
	free(emu_config.containers);
	for (i = 0; i < emu_config.ndata_files; i++)
		free(emu_config.data_files[i]);
	free(emu_config.data_files);
	free(emu_config.schema_file);
	free(emu_config.port_file);
	if (emu_config.tls_key_pem)
		memset(emu_config.tls_key_pem, 0, strlen(emu_config.tls_key_pem));
	free(emu_config.tls_key_pem);
	free(emu_config.tls_cert_pem);
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon *daemon;
	sigset_t	sigs;
	int			sig = 0;
	char		err[1024];

	/*
	 * A store of gigabytes is faulted in page by page: with transparent
	 * huge pages for malloc's heap, loading a 1,000,000-record seed and
	 * every create cost about a quarter less CPU.  glibc reads its
	 * tunables only when a program starts, so ckemu starts itself again
	 * (same process) with them, unless the caller chose tunables itself.
	 */
	if (getenv("GLIBC_TUNABLES") == NULL &&
		setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1) == 0)
	{
		execv("/proc/self/exe", argv);
		unsetenv("GLIBC_TUNABLES");	/* could not: go on without */
	}

	/*
	 * Request bodies and answers of a few hundred kB are made and freed
	 * all the time: keep them on the heap and keep freed memory, instead
	 * of glibc's mmap/munmap and trimming that fault every page in anew.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
	mallopt(M_TOP_PAD, 16 * 1024 * 1024);

	parse_args(argc, argv);

	/* the schema is checked once here; each environment loads its own copy */
	if (emu_config.schema_file)
	{
		CkSchema   *s = emu_schema_load(err, sizeof(err));

		if (s == NULL)
		{
			fprintf(stderr, "ckemu: schema file \"%s\": %s\n", emu_config.schema_file, err);
			return 2;
		}
		ck_schema_free(s);
	}

	/* signals are taken by sigwait below, so no thread gets them */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	emu_store_init();
	emu_assets_init();
	emu_faults_init();
	emu_stats_init();

	daemon = emu_http_start(err, sizeof(err));
	if (daemon == NULL)
	{
		fprintf(stderr, "ckemu: %s\n", err);
		return 1;
	}
	/* seeds need the port: download URLs of assets name it */
	emu_auth_init();
	pthread_rwlock_wrlock(&emu_store_lock);
	if (!emu_seed_load_all(err, sizeof(err)))
	{
		pthread_rwlock_unlock(&emu_store_lock);
		fprintf(stderr, "ckemu: %s\n", err);
		MHD_stop_daemon(daemon);
		return 2;
	}
	pthread_rwlock_unlock(&emu_store_lock);

	if (emu_config.port_file)
	{
		FILE	   *f = fopen(emu_config.port_file, "w");

		if (f == NULL || fprintf(f, "%d\n", emu_config.port) < 0 || fclose(f) != 0)
		{
			fprintf(stderr, "ckemu: cannot write port file \"%s\"\n", emu_config.port_file);
			MHD_stop_daemon(daemon);
			return 1;
		}
	}
	printf("listening on %s:%d\n", emu_config.host, emu_config.port);
	fflush(stdout);

	while (sigwait(&sigs, &sig) != 0)
		;
	if (!emu_config.quiet)
		fprintf(stderr, "ckemu: signal %d, shutting down\n", sig);
	MHD_stop_daemon(daemon);

	pthread_rwlock_wrlock(&emu_store_lock);
	emu_store_clear();
	pthread_rwlock_unlock(&emu_store_lock);
	emu_query_cache_clear();
	emu_assets_clear();
	emu_faults_clear();
	emu_seed_free_texts();
	emu_auth_shutdown();
	free_config();
	return 0;
}
