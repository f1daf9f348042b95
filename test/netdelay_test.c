/*-------------------------------------------------------------------------
 *
 * netdelay_test.c
 *		Protocol checks of test/netdelay: bytes arrive intact and in order
 *		both ways, ends of stream are forwarded, connections are closed, a
 *		server that refuses is passed on, and the delay is at least what was
 *		asked for.
 *
 *	netdelay_test --netdelay test/netdelay
 *
 * The only timing asserted is a lower bound (an echo through --rtt-ms 200
 * takes at least a round trip, and a new connection's first one two): load
 * can only make things slower, so it cannot make the check fail.  Ends with
 * "N passed, M failed".
 *
 * test/netdelay_test.c
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RTT_MS		200

static int	passed;
static int	failed;
static const struct timeval read_timeout = {20, 0};

#define CHECK(cond, ...) \
	do { \
		if (cond) \
			passed++; \
		else \
		{ \
			failed++; \
			printf("FAILED %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
		} \
	} while (0)

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int
listen_any(int *port)
{
	struct sockaddr_in a;
	socklen_t	len = sizeof(a);
	int			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) != 0 || listen(fd, 64) != 0 ||
		getsockname(fd, (struct sockaddr *) &a, &len) != 0)
	{
		perror("listen");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int
connect_to(int port)
{
	struct sockaddr_in a;
	int			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t) port);
	if (fd < 0 || connect(fd, (struct sockaddr *) &a, sizeof(a)) != 0)
	{
		perror("connect");
		exit(1);
	}
	/* a proxy that loses an end of stream fails a check instead of hanging */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &read_timeout, sizeof(read_timeout));
	return fd;
}

/*
 * The upstream server, in a child process: each connection is served by a
 * grandchild.  A connection whose first byte is 'E' is echoed until end of
 * stream, then closed; one whose first byte is 'S' gets "server speaks
 * first" written back and is closed by the server at once.
 */
static pid_t
start_server(int lfd)
{
	pid_t		pid = fork();

	if (pid != 0)
		return pid;
	signal(SIGCHLD, SIG_IGN);
	for (;;)
	{
		int			fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (fork() == 0)
		{
			char		buf[65536];
			ssize_t		n = read(fd, buf, 1);

			if (n == 1 && buf[0] == 'S')
			{
				const char *msg = "server speaks first";

				if (write(fd, msg, strlen(msg)) < 0)
					_exit(1);
				close(fd);
				_exit(0);
			}
			if (n == 1 && write(fd, buf, 1) != 1)
				_exit(1);
			while ((n = read(fd, buf, sizeof(buf))) > 0)
			{
				ssize_t		off = 0;

				while (off < n)
				{
					ssize_t		w = write(fd, buf + off, n - off);

					if (w <= 0)
						_exit(1);
					off += w;
				}
			}
			close(fd);
			_exit(0);
		}
		close(fd);
	}
}

static pid_t
start_netdelay(const char *bin, int to_port, int *port)
{
	char		portfile[] = "/tmp/netdelay-test-XXXXXX";
	char		to[64];
	char		rtt[16];
	int			tmp = mkstemp(portfile);
	pid_t		pid;
	int			i;

	close(tmp);
	unlink(portfile);
	snprintf(to, sizeof(to), "127.0.0.1:%d", to_port);
	snprintf(rtt, sizeof(rtt), "%d", RTT_MS);
	pid = fork();
	if (pid == 0)
	{
		execl(bin, bin, "--listen", "127.0.0.1:0", "--to", to, "--rtt-ms", rtt,
			  "--port-file", portfile, "--quiet", (char *) NULL);
		perror(bin);
		_exit(127);
	}
	for (i = 0; i < 100; i++)
	{
		FILE	   *f = fopen(portfile, "r");

		if (f != NULL && fscanf(f, "%d", port) == 1)
		{
			fclose(f);
			unlink(portfile);
			return pid;
		}
		if (f)
			fclose(f);
		usleep(50000);
	}
	fprintf(stderr, "netdelay did not start\n");
	exit(1);
}

/* Open descriptors of a process that are sockets. */
static int
count_sockets(pid_t pid)
{
	char		path[64];
	DIR		   *d;
	struct dirent *e;
	int			n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
	{
		char		link[400];
		char		target[64];
		ssize_t		len;

		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len > 0)
		{
			target[len] = '\0';
			if (strncmp(target, "socket:", 7) == 0)
				n++;
		}
	}
	closedir(d);
	return n;
}

/*
 * Send len pseudo-random bytes through an echo connection while reading the
 * echo, then half-close; true when exactly the same bytes came back followed
 * by end of stream.
 */
static bool
echo_bulk(int fd, size_t len, unsigned seed)
{
	char	   *out = malloc(len);
	char	   *in = malloc(len + 1);
	size_t		sent = 0;
	size_t		got = 0;
	bool		eof = false;
	bool		ok;
	size_t		i;

	out[0] = 'E';
	for (i = 1; i < len; i++)
		out[i] = (char) (rand_r(&seed) >> 7);
	while (!eof)
	{
		struct pollfd p = {fd, POLLIN | (sent < len ? POLLOUT : 0), 0};

		if (poll(&p, 1, 30000) <= 0)
			break;
		if ((p.revents & POLLOUT) && sent < len)
		{
			ssize_t		n = write(fd, out + sent, len - sent > 8192 ? 8192 : len - sent);

			if (n > 0)
				sent += n;
			if (sent == len)
				shutdown(fd, SHUT_WR);
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR))
		{
			ssize_t		n = read(fd, in + got, len + 1 - got);

			if (n <= 0)
				eof = true;
			else
				got += n;
		}
	}
	ok = eof && got == len && memcmp(in, out, len) == 0;
	free(out);
	free(in);
	return ok;
}

/* Read until end of stream (at most cap bytes); the count, or -1. */
static ssize_t
read_all(int fd, char *buf, size_t cap)
{
	size_t		got = 0;

	for (;;)
	{
		ssize_t		n = read(fd, buf + got, cap - got);

		if (n < 0)
			return -1;
		if (n == 0)
			return got;
		got += n;
		if (got == cap)
			return got;
	}
}

int
main(int argc, char **argv)
{
	const char *bin = NULL;
	int			lfd;
	int			server_port;
	int			nd_port;
	int			nd2_port;
	int			base_sockets;
	pid_t		server;
	pid_t		nd;
	pid_t		nd2;
	int			i;

	for (i = 1; i + 1 < argc; i += 2)
	{
		if (strcmp(argv[i], "--netdelay") == 0)
			bin = argv[i + 1];
	}
	if (bin == NULL)
	{
		fprintf(stderr, "usage: netdelay_test --netdelay PATH\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	lfd = listen_any(&server_port);
	server = start_server(lfd);
	close(lfd);
	nd = start_netdelay(bin, server_port, &nd_port);
	base_sockets = count_sockets(nd);

	/* a new connection: the first echo costs the set-up round trip too */
	{
		int			fd = connect_to(nd_port);
		double		t0 = now_ms();
		char		c = 0;
		double		first;
		double		second;

		CHECK(write(fd, "E", 1) == 1 && read(fd, &c, 1) == 1 && c == 'E',
			  "the first byte came back");
		first = now_ms() - t0;
		t0 = now_ms();
		CHECK(write(fd, "x", 1) == 1 && read(fd, &c, 1) == 1 && c == 'x',
			  "the second byte came back");
		second = now_ms() - t0;
		CHECK(first >= 2 * RTT_MS, "first echo on a new connection took %.1f ms, less than 2 x %d",
			  first, RTT_MS);
		CHECK(second >= RTT_MS, "an echo took %.1f ms, less than the round trip %d", second, RTT_MS);
		shutdown(fd, SHUT_WR);
		CHECK(read(fd, &c, 1) == 0, "end of stream came back after the half-close");
		close(fd);
		printf("echo: first %.0f ms (new connection), then %.0f ms, at --rtt-ms %d\n",
			   first, second, RTT_MS);
	}

	/* 4 MB each way, on 8 connections at once, intact */
	{
		pid_t		kids[8];
		int			ok = 0;

		for (i = 0; i < 8; i++)
		{
			kids[i] = fork();
			if (kids[i] == 0)
			{
				int			fd = connect_to(nd_port);

				_exit(echo_bulk(fd, 4 * 1024 * 1024, 1234 + i) ? 0 : 1);
			}
		}
		for (i = 0; i < 8; i++)
		{
			int			st;

			if (waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
				ok++;
		}
		CHECK(ok == 8, "%d of 8 bulk echoes came back intact", ok);
	}

	/* the server writes and closes first: the client gets it all, then EOF */
	{
		int			fd = connect_to(nd_port);
		char		buf[256];
		ssize_t		n;

		CHECK(write(fd, "S", 1) == 1, "sent");
		n = read_all(fd, buf, sizeof(buf) - 1);
		CHECK(n == (ssize_t) strlen("server speaks first") &&
			  memcmp(buf, "server speaks first", n) == 0,
			  "got %zd bytes before end of stream from a server that closed first", n);
		close(fd);
	}

	/* a client that goes away mid-stream: the server side is closed too */
	{
		int			fd = connect_to(nd_port);
		char		big[100000];

		memset(big, 'E', sizeof(big));
		CHECK(write(fd, big, sizeof(big)) == (ssize_t) sizeof(big), "sent");
		close(fd);
	}

	/* nothing left open: every connection's two sockets were closed */
	{
		int			n = -1;

		for (i = 0; i < 50; i++)
		{
			n = count_sockets(nd);
			if (n == base_sockets)
				break;
			usleep(100000);
		}
		CHECK(n == base_sockets, "netdelay holds %d sockets, %d when idle", n, base_sockets);
	}

	/* a server that refuses: the client's connection is closed, no hang */
	{
		int			dead_port;
		int			dfd = listen_any(&dead_port);
		int			fd;
		char		c;

		close(dfd);				/* nothing listens there now */
		nd2 = start_netdelay(bin, dead_port, &nd2_port);
		fd = connect_to(nd2_port);
		{
			struct pollfd p = {fd, POLLIN, 0};

			CHECK(poll(&p, 1, 10000) == 1 && read(fd, &c, 1) <= 0,
				  "a refused upstream connection closes the client's");
		}
		close(fd);
		CHECK(kill(nd2, 0) == 0, "netdelay is still running after a refused connection");
		kill(nd2, SIGTERM);
		waitpid(nd2, NULL, 0);
	}

	/* it still serves, and stops on SIGTERM */
	{
		int			fd = connect_to(nd_port);
		int			st = 0;

		CHECK(echo_bulk(fd, 1000, 99), "echo after all of the above");
		close(fd);
		kill(nd, SIGTERM);
		CHECK(waitpid(nd, &st, 0) == nd && WIFEXITED(st) && WEXITSTATUS(st) == 0,
			  "netdelay exits cleanly on SIGTERM");
	}

	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	printf("netdelay: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
