/*-------------------------------------------------------------------------
 *
 * ck_addr.c
 *		  Whether a network address is the machine we run on.
 *
 * Deciding on the resolved address rather than on the URL's spelling is
 * the point: inet_aton alone reads 127.1, 2130706433, 0x7f000001 and
 * 0177.0.0.1 as 127.0.0.1, resolvers map "localhost" and its subdomains
 * and the host's own name to local addresses, and Linux connects 0.0.0.0
 * and :: to the local machine.  The interface list is read at every check
 * (one netlink round trip) so that an address added since is seen.
 *
 * src/ck/ck_addr.c
 *
 *-------------------------------------------------------------------------
 */
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "ck/ck_addr.h"

/* 127.0.0.0/8 and 0.0.0.0/8, in network byte order */
static bool
ck_ipv4_is_local(const struct in_addr *a)
{
	uint8_t		first = ((const uint8_t *) &a->s_addr)[0];

	return first == 127 || first == 0;
}

/* An IPv4 address inside an IPv6 one (::ffff:a.b.c.d, ::a.b.c.d), if any. */
static bool
ck_ipv6_embedded_ipv4(const struct in6_addr *a6, struct in_addr *a4)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t compat[12] = {0};

	if (memcmp(a6->s6_addr, mapped, 12) != 0 &&
		memcmp(a6->s6_addr, compat, 12) != 0)
		return false;
	memcpy(&a4->s_addr, a6->s6_addr + 12, 4);
	return true;
}

/* Whether an interface in ifs has this IPv4 or IPv6 address. */
static bool
ck_addr_on_interface(int family, const void *addr, const struct ifaddrs *ifs)
{
	const struct ifaddrs *ifa;

	for (ifa = ifs; ifa != NULL; ifa = ifa->ifa_next)
	{
		const struct sockaddr *sa = ifa->ifa_addr;

		if (sa == NULL || sa->sa_family != family)
			continue;
		if (family == AF_INET &&
			memcmp(&((const struct sockaddr_in *) sa)->sin_addr, addr,
				   sizeof(struct in_addr)) == 0)
			return true;
		if (family == AF_INET6 &&
			memcmp(&((const struct sockaddr_in6 *) sa)->sin6_addr, addr,
				   sizeof(struct in6_addr)) == 0)
			return true;
	}
	return false;
}

bool
ck_addr_is_local_among(const struct sockaddr *addr, socklen_t len,
					   const struct ifaddrs *ifs)
{
	struct in_addr a4;

	if (addr == NULL)
		return true;
	if (addr->sa_family == AF_INET && len >= (socklen_t) sizeof(struct sockaddr_in))
	{
		a4 = ((const struct sockaddr_in *) addr)->sin_addr;
		return ck_ipv4_is_local(&a4) || ck_addr_on_interface(AF_INET, &a4, ifs);
	}
	if (addr->sa_family == AF_INET6 && len >= (socklen_t) sizeof(struct sockaddr_in6))
	{
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *) addr)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a6) || IN6_IS_ADDR_UNSPECIFIED(a6))
			return true;
		if (ck_ipv6_embedded_ipv4(a6, &a4) &&
			(ck_ipv4_is_local(&a4) || ck_addr_on_interface(AF_INET, &a4, ifs)))
			return true;
		return ck_addr_on_interface(AF_INET6, a6, ifs);
	}
	/* Unix sockets and whatever else: never a way out of this machine */
	return true;
}

bool
ck_addr_is_local(const struct sockaddr *addr, socklen_t len)
{
	struct ifaddrs *ifs = NULL;
	bool		local;

	/* without the list we cannot tell: refuse rather than guess */
	if (getifaddrs(&ifs) != 0)
		return true;
	local = ck_addr_is_local_among(addr, len, ifs);
	freeifaddrs(ifs);
	return local;
}
