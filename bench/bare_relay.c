/* bench/bare_relay.c: the floor to compare a relay with: K sockets on consecutive ports, each
 * forwarding what it receives to one destination, with epoll, recvmmsg and sendmmsg, no checks
 * and no sessions. usage: bare_relay FIRST_PORT K DEST_PORT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bare_relay FIRST_PORT K DEST_PORT\n");
        return 2;
    }
    int first = atoi(argv[1]), k = atoi(argv[2]);
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ep = epoll_create1(0);
    for (int i = 0; i < k; i++) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(first + i))};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
            perror("bind");
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    printf("ready\n");
    fflush(stdout);
    static char buf[32][2048];
    struct mmsghdr m[32];
    struct iovec iov[32];
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int e = 0; e < n; e++) {
            int fd = evs[e].data.fd;
            for (int i = 0; i < 32; i++) {
                iov[i] = (struct iovec){buf[i], sizeof(buf[i])};
                m[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
            }
            int r = recvmmsg(fd, m, 32, MSG_DONTWAIT, NULL);
            for (int i = 0; i < r; i++) {
                iov[i].iov_len = m[i].msg_len;
                m[i].msg_hdr.msg_name = &dst;
                m[i].msg_hdr.msg_namelen = sizeof(dst);
            }
            if (r > 0) {
                sendmmsg(fd, m, (unsigned)r, 0);
            }
        }
    }
}
