/* src/net.c: socket set-up and addresses; see net.h. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

void net_share_port(int fd, int family)
{
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)); /* [::] is not 0.0.0.0 */
    }
}

int net_udp_listener(const struct listen_addr *l)
{
    int fd = socket(l->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error("listen %s: socket: %s", l->text, strerror(errno));
        return -1;
    }
    net_share_port(fd, l->addr.ss_family);
    int rcvbuf = 4 << 20, one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    /* ICMP errors for what we send (a next hop with nothing listening) are queued on the
     * socket, so that its branches fail at once instead of after timer B (issue 17) */
    if (l->addr.ss_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
    } else {
        setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
    }
    if (bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) != 0) {
        log_error("listen %s: bind: %s", l->text, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void net_peer_of(const void *sockaddr, struct sip_peer *p)
{
    const struct sockaddr *sa = sockaddr;
    memset(p, 0, sizeof(*p));
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        p->family = 6;
        memcpy(p->ip, &s6->sin6_addr, 16);
        p->port = ntohs(s6->sin6_port);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        p->family = 4;
        memcpy(p->ip, &s4->sin_addr, 4);
        p->port = ntohs(s4->sin_port);
    }
}

socklen_t net_sockaddr_of(const struct sip_peer *p, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (p->family == 6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, p->ip, 16);
        s6->sin6_port = htons(p->port);
        return sizeof(*s6);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    memcpy(&s4->sin_addr, p->ip, 4);
    s4->sin_port = htons(p->port);
    return sizeof(*s4);
}

size_t net_read_icmp(int fd, void (*unreachable)(void *ctx, const struct sip_peer *to), void *ctx)
{
    size_t n = 0;
    for (int i = 0; i < 64; i++) {
        char ctrl[512], data[64];
        struct sockaddr_storage dst;
        struct iovec iov = {data, sizeof(data)};
        struct msghdr mh = {.msg_name = &dst,
                            .msg_namelen = sizeof(dst),
                            .msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctrl,
                            .msg_controllen = sizeof(ctrl)};
        if (recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
            return n;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
            bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
            bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
            if (!v4 && !v6) {
                continue;
            }
            struct sock_extended_err ee;
            memcpy(&ee, CMSG_DATA(c), sizeof(ee));
            bool icmp = ee.ee_origin == SO_EE_ORIGIN_ICMP || ee.ee_origin == SO_EE_ORIGIN_ICMP6;
            if (icmp && (ee.ee_errno == ECONNREFUSED || ee.ee_errno == EHOSTUNREACH ||
                         ee.ee_errno == ENETUNREACH)) {
                struct sip_peer to;
                net_peer_of(&dst, &to);
                to.transport = SIP_TP_UDP;
                n++;
                unreachable(ctx, &to);
            }
        }
    }
    return n;
}
