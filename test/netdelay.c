/*-------------------------------------------------------------------------
 *
 * netdelay.c
 *		A TCP proxy that adds a network round trip: what the benchmark puts
 *		between ckfdw and ckemu to model a wide-area network, since this
 *		kernel has no tc netem.
 *
 *	netdelay --listen 127.0.0.1:PORT --to 127.0.0.1:PORT --rtt-ms N
 *			 [--port-file FILE] [--quiet]
 *
 * Every chunk read from one side is written to the other rtt/2 later.  The
 * chunks of a direction wait in a queue, each with its own release time, so
 * the delay adds latency but never limits throughput: a stream of chunks
 * arrives rtt/2 late and as fast as it was sent (no chunk waits for the
 * delay of the one before it).  Order is kept.
 *
 * Connection set-up: a real connect() costs one round trip (SYN, SYN-ACK)
 * before the client can send.  Here the local connect is instant, so the
 * client's bytes are held until one round trip after the connection was
 * accepted, then delayed rtt/2 as any others: a new connection's first
 * request costs an extra RTT.  A TLS handshake passes through like any other
 * bytes and so costs its real round trips.
 *
 * End of stream is forwarded the same way (shutdown after the data before
 * it), so half-closed connections work; a reset or error on either side
 * closes both at once.  One thread, epoll; a direction stops reading while
 * it holds more than QUEUE_LIMIT bytes, so memory stays bounded.
 *
 * Listens on loopback addresses only.
 *
 * test/netdelay.c
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE				/* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_SIZE		(64 * 1024)
#define QUEUE_LIMIT		(8 * 1024 * 1024)

typedef struct Chunk
{
	struct Chunk *next;
	double		release_ms;		/* when it may be written */
	size_t		len;
	size_t		off;			/* bytes already written */
	bool		eof;			/* end of stream: shut the write side */
	char		data[];
} Chunk;

struct Conn;

/* One socket of a connection, as epoll knows it. */
typedef struct Endpoint
{
	struct Conn *conn;
	int			fd;
	bool		registered;		/* in epoll */
	uint32_t	events;			/* what epoll reports for it */
} Endpoint;

/* One direction: bytes read from "from", queued, written to "to". */
typedef struct Direction
{
	Endpoint   *from;
	Endpoint   *to;
	Chunk	   *head;
	Chunk	   *tail;
	size_t		queued;
	double		last_release;
	bool		read_eof;
	bool		write_shut;
	bool		blocked;		/* "to" would block: wait for EPOLLOUT */
} Direction;

typedef struct Conn
{
	struct Conn *next;
	Endpoint	client;
	Endpoint	server;
	Direction	up;				/* client -> server */
	Direction	down;			/* server -> client */
	double		accepted_ms;
	bool		connecting;		/* connect() to the server in progress */
	bool		dead;
} Conn;

static double rtt_ms;
static double timer_late_ms = 0.25;	/* how late a timed wait ends, on average */
static bool quiet;
static int	epfd;
static Conn *conns;
static struct sockaddr_in to_addr;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "netdelay: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

static void
note(const char *what, int err)
{
	if (!quiet)
		fprintf(stderr, "netdelay: %s: %s\n", what, strerror(err));
}

/* "127.0.0.1:8642" into addr; loopback only when must_be_loopback. */
static void
parse_addr(const char *opt, const char *s, struct sockaddr_in *addr, bool must_be_loopback)
{
	const char *colon = strrchr(s, ':');
	char		host[64];
	char	   *end;
	long		port;

	if (colon == NULL || colon == s || (size_t) (colon - s) >= sizeof(host))
		die("%s needs HOST:PORT", opt);
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || port < 0 || port > 65535)
		die("bad port in \"%s\"", s);
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_port = htons((uint16_t) port);
	if (inet_pton(AF_INET, host, &addr->sin_addr) != 1)
		die("\"%s\" is not an IPv4 address", host);
	if (must_be_loopback && (ntohl(addr->sin_addr.s_addr) >> 24) != 127)
		die("refusing to listen on \"%s\": only loopback addresses (127.x.x.x) are allowed", host);
}

/*
 * Register what a socket waits for.  A socket that waits for nothing is
 * taken out of epoll: one whose peer is gone would report EPOLLHUP on every
 * wait otherwise.
 */
static void
set_events(Endpoint *ep, uint32_t events)
{
	struct epoll_event ev;
	int			op;

	if (ep->fd < 0 || (ep->registered && events == ep->events) ||
		(!ep->registered && events == 0))
		return;
	op = events == 0 ? EPOLL_CTL_DEL : ep->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = ep;
	if (epoll_ctl(epfd, op, ep->fd, &ev) != 0)
		note("epoll_ctl", errno);
	ep->registered = events != 0;
	ep->events = events;
}

/* What each socket waits for, from the state of the two directions. */
static void
update_events(Conn *c)
{
	uint32_t	ce = 0;
	uint32_t	se = 0;

	if (c->dead)
		return;
	if (c->connecting)
	{
		set_events(&c->server, EPOLLOUT);
		if (!c->up.read_eof && c->up.queued < QUEUE_LIMIT)
			ce |= EPOLLIN;
		set_events(&c->client, ce);
		return;
	}
	if (!c->up.read_eof && c->up.queued < QUEUE_LIMIT)
		ce |= EPOLLIN;
	if (!c->down.read_eof && c->down.queued < QUEUE_LIMIT)
		se |= EPOLLIN;
	if (c->up.blocked)
		se |= EPOLLOUT;
	if (c->down.blocked)
		ce |= EPOLLOUT;
	set_events(&c->client, ce);
	set_events(&c->server, se);
}

static void
free_queue(Direction *d)
{
	while (d->head)
	{
		Chunk	   *next = d->head->next;

		free(d->head);
		d->head = next;
	}
	d->tail = NULL;
	d->queued = 0;
}

/* Close both sockets at once (an error, or both directions are done). */
static void
kill_conn(Conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	close(c->client.fd);
	close(c->server.fd);
	c->client.fd = c->server.fd = -1;
	free_queue(&c->up);
	free_queue(&c->down);
}

static void
enqueue(Direction *d, Chunk *ch, double release_ms)
{
	/* never before the chunk ahead of it: order is kept */
	if (release_ms < d->last_release)
		release_ms = d->last_release;
	d->last_release = release_ms;
	ch->release_ms = release_ms;
	ch->next = NULL;
	if (d->tail)
		d->tail->next = ch;
	else
		d->head = ch;
	d->tail = ch;
	d->queued += ch->len;
}

/*
 * When bytes read now in direction d may be written: rtt/2 from now, and a
 * client's bytes not before one round trip after the connection began (the
 * TCP handshake a local connect skipped).
 */
static double
release_time(Conn *c, Direction *d, double now)
{
	double		sent = now;

	if (d == &c->up && sent < c->accepted_ms + rtt_ms)
		sent = c->accepted_ms + rtt_ms;
	return sent + rtt_ms / 2;
}

/* A timed wait ended late_ms late: into the average. */
static void
learn_timer_lateness(double late_ms)
{
	if (late_ms < 0)
		late_ms = 0;
	if (late_ms > 2)
		late_ms = 2;
	timer_late_ms = 0.9 * timer_late_ms + 0.1 * late_ms;
}

/* Read what the socket has into d's queue. */
static void
read_side(Conn *c, Direction *d)
{
	double		now = now_ms();

	while (!c->dead && !d->read_eof && d->queued < QUEUE_LIMIT)
	{
		Chunk	   *ch = malloc(sizeof(Chunk) + CHUNK_SIZE);
		ssize_t		n;

		if (ch == NULL)
		{
			note("out of memory", ENOMEM);
			kill_conn(c);
			return;
		}
		n = read(d->from->fd, ch->data, CHUNK_SIZE);
		if (n > 0)
		{
			Chunk	   *fit = realloc(ch, sizeof(Chunk) + n);

			ch = fit ? fit : ch;
			ch->len = n;
			ch->off = 0;
			ch->eof = false;
			enqueue(d, ch, release_time(c, d, now));
			continue;
		}
		if (n == 0)
		{
			ch->len = ch->off = 0;
			ch->eof = true;
			d->read_eof = true;
			enqueue(d, ch, release_time(c, d, now));
			return;
		}
		free(ch);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
		{
			if (errno != ECONNRESET)
				note("read", errno);
			kill_conn(c);
		}
		return;
	}
}

/* Write d's chunks that are due. */
static void
flush_side(Conn *c, Direction *d, double now)
{
	while (!c->dead && d->head && d->head->release_ms <= now)
	{
		Chunk	   *ch = d->head;

		if (ch->eof)
		{
			shutdown(d->to->fd, SHUT_WR);
			d->write_shut = true;
		}
		else
		{
			while (ch->off < ch->len)
			{
				ssize_t		n = write(d->to->fd, ch->data + ch->off, ch->len - ch->off);

				if (n > 0)
				{
					ch->off += n;
					continue;
				}
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				{
					d->blocked = true;
					return;
				}
				if (errno != EPIPE && errno != ECONNRESET)
					note("write", errno);
				kill_conn(c);
				return;
			}
		}
		d->queued -= ch->len;
		d->head = ch->next;
		if (d->head == NULL)
			d->tail = NULL;
		free(ch);
	}
	d->blocked = false;
}

static void
accept_conns(int lfd)
{
	for (;;)
	{
		int			cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int			sfd;
		int			one = 1;
		Conn	   *c;

		if (cfd < 0)
		{
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				note("accept", errno);
			return;
		}
		sfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		c = calloc(1, sizeof(Conn));
		if (sfd < 0 || c == NULL)
		{
			note("socket", sfd < 0 ? errno : ENOMEM);
			close(cfd);
			if (sfd >= 0)
				close(sfd);
			free(c);
			continue;
		}
		/* the delay is ours: no Nagle on top of it */
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->client.conn = c->server.conn = c;
		c->client.fd = cfd;
		c->server.fd = sfd;
		c->up.from = &c->client;
		c->up.to = &c->server;
		c->down.from = &c->server;
		c->down.to = &c->client;
		c->accepted_ms = now_ms();
		c->connecting = true;
		if (connect(sfd, (struct sockaddr *) &to_addr, sizeof(to_addr)) != 0 &&
			errno != EINPROGRESS)
		{
			note("connect", errno);
			close(cfd);
			close(sfd);
			free(c);
			continue;
		}
		c->next = conns;
		conns = c;
		update_events(c);
	}
}

static void
handle_event(Endpoint *ep, uint32_t events)
{
	Conn	   *c = ep->conn;

	if (c->dead)
		return;
	if (ep == &c->server && c->connecting)
	{
		int			err = 0;
		socklen_t	len = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		getsockopt(ep->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0)
		{
			note("connect", err);
			kill_conn(c);
			return;
		}
		c->connecting = false;
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		read_side(c, ep == &c->client ? &c->up : &c->down);
	/* writable, or broken: the next write says which */
	if (!c->dead && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		(ep == &c->client ? &c->down : &c->up)->blocked = false;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in listen_addr;
	const char *port_file = NULL;
	bool		have_listen = false;
	bool		have_to = false;
	bool		have_rtt = false;
	int			lfd;
	int			sfd;
	int			one = 1;
	socklen_t	alen = sizeof(listen_addr);
	sigset_t	sigs;
	struct epoll_event ev;
	int			i;

	for (i = 1; i < argc; i++)
	{
		const char *arg = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(arg, "--quiet") == 0)
		{
			quiet = true;
			continue;
		}
		if (val == NULL)
			die("usage: netdelay --listen 127.0.0.1:PORT --to HOST:PORT --rtt-ms N [--port-file FILE] [--quiet]%s", "");
		if (strcmp(arg, "--listen") == 0)
		{
			parse_addr(arg, val, &listen_addr, true);
			have_listen = true;
		}
		else if (strcmp(arg, "--to") == 0)
		{
			parse_addr(arg, val, &to_addr, false);
			have_to = true;
		}
		else if (strcmp(arg, "--rtt-ms") == 0)
		{
			char	   *end;

			errno = 0;
			rtt_ms = strtod(val, &end);
			if (errno != 0 || *end != '\0' || end == val || !(rtt_ms >= 0 && rtt_ms <= 60000))
				die("--rtt-ms needs a number of milliseconds from 0 to 60000, not \"%s\"", val);
			have_rtt = true;
		}
		else if (strcmp(arg, "--port-file") == 0)
			port_file = val;
		else
			die("unknown option \"%s\"", arg);
		i++;
	}
	if (!have_listen || !have_to || !have_rtt)
		die("usage: netdelay --listen 127.0.0.1:PORT --to HOST:PORT --rtt-ms N [--port-file FILE] [--quiet]%s", "");

	signal(SIGPIPE, SIG_IGN);
	/* timers to the nanosecond, not the default 50 us of slack */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *) &listen_addr, sizeof(listen_addr)) != 0 ||
		listen(lfd, 512) != 0 ||
		getsockname(lfd, (struct sockaddr *) &listen_addr, &alen) != 0)
		die("cannot listen: %s", strerror(errno));

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || sfd < 0)
		die("cannot create an epoll or signal descriptor: %s", strerror(errno));
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;			/* the listening socket */
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.ptr = &sfd;			/* a signal */
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);

	if (port_file)
	{
		FILE	   *f = fopen(port_file, "w");

		if (f == NULL || fprintf(f, "%d\n", ntohs(listen_addr.sin_port)) < 0 || fclose(f) != 0)
			die("cannot write port file \"%s\"", port_file);
	}

	for (;;)
	{
		struct epoll_event events[64];
		double		now = now_ms();
		double		next = -1;
		double		early_ms;
		double		wait_ms;
		struct timespec timeout;
		int			n;
		Conn	  **link;

		/* the earliest chunk due that is not waiting for its socket */
		for (Conn *c = conns; c; c = c->next)
		{
			Direction  *ds[2] = {&c->up, &c->down};

			for (int k = 0; k < 2; k++)
			{
				if (ds[k]->head && !ds[k]->blocked && !c->connecting &&
					(next < 0 || ds[k]->head->release_ms < next))
					next = ds[k]->head->release_ms;
			}
		}
		/*
		 * To the microsecond: a whole-millisecond timeout, rounded up, made
		 * every hop up to 1 ms late, and the model's round trip about 1 ms
		 * longer than it says.  Even a precise timer fires late (0.2 ms on
		 * average in a virtual machine, which added half a millisecond to
		 * every round trip), so the wait ends that much early and the rest
		 * is polled, yielding the processor between polls.
		 */
		early_ms = timer_late_ms + 0.05;
		wait_ms = next < 0 ? -1 : next > now + early_ms ? next - now - early_ms : 0;
		if (wait_ms == 0)
			sched_yield();
		if (wait_ms >= 0)
		{
			timeout.tv_sec = (time_t) (wait_ms / 1000);
			timeout.tv_nsec = (long) ((wait_ms - timeout.tv_sec * 1000.0) * 1e6);
		}
		n = epoll_pwait2(epfd, events, 64, wait_ms < 0 ? NULL : &timeout, NULL);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		if (n == 0 && wait_ms > 0)
			learn_timer_lateness(now_ms() - now - wait_ms);
		for (i = 0; i < n; i++)
		{
			if (events[i].data.ptr == NULL)
				accept_conns(lfd);
			else if (events[i].data.ptr == &sfd)
			{
				for (Conn *c = conns; c; c = c->next)
					kill_conn(c);
				return 0;
			}
			else
				handle_event(events[i].data.ptr, events[i].events);
		}

		/* write what is due; drop connections that are over */
		now = now_ms();
		link = &conns;
		while (*link)
		{
			Conn	   *c = *link;

			if (!c->dead && !c->connecting)
			{
				if (!c->up.blocked)
					flush_side(c, &c->up, now);
				if (!c->down.blocked)
					flush_side(c, &c->down, now);
				if (!c->dead && c->up.write_shut && c->down.write_shut)
					kill_conn(c);
			}
			if (c->dead)
			{
				*link = c->next;
				free(c);
				continue;
			}
			update_events(c);
			link = &c->next;
		}
	}
}
