/*-------------------------------------------------------------------------
 *
 * ck_addr.h
 *		Whether a network address is the machine we run on.
 *
 * The transport asks this of every address libcurl is about to connect to
 * (after name resolution), so that a server's base_url cannot reach the
 * database server's own machine however the host is spelled: 127.1,
 * 2130706433, 0x7f000001, 0177.0.0.1, 0.0.0.0, 0, [::ffff:127.0.0.1],
 * foo.localhost, the machine's host name.  No PostgreSQL headers.
 *
 * src/ck/ck_addr.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CK_ADDR_H
#define CK_ADDR_H

#include <stdbool.h>
#include <sys/socket.h>

struct ifaddrs;

/*
 * True for loopback (127.0.0.0/8, ::1), "this host" (0.0.0.0/8, ::), the
 * same as IPv4-mapped or IPv4-compatible IPv6 addresses (::ffff:127.0.0.1),
 * and any address of one of this machine's network interfaces (getifaddrs).
 * An address that cannot be classified (an unknown family) counts as local.
 */
extern bool ck_addr_is_local(const struct sockaddr *addr, socklen_t len);

/* The same against a given interface list (NULL: none), for tests. */
extern bool ck_addr_is_local_among(const struct sockaddr *addr, socklen_t len,
								   const struct ifaddrs *ifs);

#endif							/* CK_ADDR_H */
