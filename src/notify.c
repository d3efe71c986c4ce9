/* src/notify.c: see notify.h. */
#include "notify.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

void notify_state(const char *state)
{
    static atomic_bool warned;
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == '\0') {
        return;
    }
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sun.sun_path)) {
        if (!atomic_exchange(&warned, true)) {
            log_warn("NOTIFY_SOCKET %s: not a socket path sipring can use", path);
        }
        return;
    }
    memcpy(sun.sun_path, path, n);
    if (path[0] == '@') {
        sun.sun_path[0] = '\0'; /* the abstract namespace */
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (fd < 0 ||
        sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) < 0) {
        if (!atomic_exchange(&warned, true)) {
            log_warn("NOTIFY_SOCKET %s: %s", path, strerror(errno));
        }
    }
    if (fd >= 0) {
        close(fd);
    }
}

void notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char state[96];
    snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
    notify_state(state);
}
