/* src/ring.c: the table of ring operations; see ring.h. */
#include "ring.h"

#include <errno.h>
#include <string.h>

#include "log.h"

struct op_info {
    const char *name;
    int expected[6]; /* errors of normal running besides -ECANCELED; 0 ends the list */
};

static const struct op_info ops[RING_OP_COUNT] = {
    /* -EMSGSIZE on recv and send: an ICMP "fragmentation needed" (path MTU) */
    [RING_OP_RECV] = {"udp recv",
                      {-ENOBUFS, -ECONNREFUSED, -EHOSTUNREACH, -ENETUNREACH, -EMSGSIZE}},
    [RING_OP_SEND] = {"udp send", {-ECONNREFUSED, -EHOSTUNREACH, -ENETUNREACH, -EMSGSIZE}},
    [RING_OP_SIGNAL] = {"signal read", {0}},
    [RING_OP_HANDOFF] = {"hand-over", {0}},
    [RING_OP_CTRL] = {"control", {0}},
    [RING_OP_RELOAD] = {"reload", {0}},
    [RING_OP_POST_FAILED] = {"post to another worker", {0}},
    [RING_OP_RTP] = {"relay recv", {-ENOBUFS, -ECONNREFUSED}},
    [RING_OP_ACCEPT] = {"accept", {-EMFILE, -ENFILE, -ECONNABORTED}},
    /* stream: a peer that resets or vanishes (conn.c logs it, with the peer); the cancel of a
     * closing connection's requests finding nothing left (-ENOENT) or its file closed first
     * (-EBADF) */
    [RING_OP_STREAM] = {"stream i/o",
                        {-ECONNRESET, -EPIPE, -ECONNREFUSED, -ETIMEDOUT, -ENOENT, -EBADF}},
    [RING_OP_SEND_HANDOFF] = {"send hand-over", {0}},
    [RING_OP_UNREACH] = {"unreachable notice", {0}},
    [RING_OP_DNS] = {"dns recv", {-ECONNREFUSED}},
    [RING_OP_AUTH_FAILED] = {"auth failure notice", {0}},
    /* http: a scraper that hangs up or is too slow (the linked time-out: -ETIME) */
    [RING_OP_HTTP] = {"http", {-ETIME, -ECONNRESET, -EPIPE, -EMFILE, -ENFILE, -ECONNABORTED}},
};

static _Thread_local uint64_t seen[RING_OP_COUNT];

const char *ring_op_name(enum ring_op op)
{
    return op > 0 && op < RING_OP_COUNT && ops[op].name != NULL ? ops[op].name : "?";
}

bool ring_error_expected(enum ring_op op, int res)
{
    if (res >= 0 || res == -ECANCELED) {
        return true;
    }
    if (op <= 0 || op >= RING_OP_COUNT) {
        return false;
    }
    for (unsigned i = 0; i < 6 && ops[op].expected[i] != 0; i++) {
        if (ops[op].expected[i] == res) {
            return true;
        }
    }
    return false;
}

void ring_report_error(unsigned worker, enum ring_op op, int res)
{
    if (ring_error_expected(op, res)) {
        return;
    }
    unsigned k = op > 0 && op < RING_OP_COUNT ? (unsigned)op : 0;
    if (seen[k]++ % 1000 == 0) {
        log_warn("worker %u: %s failed: %s (%llu so far)", worker, ring_op_name(op), strerror(-res),
                 (unsigned long long)seen[k]);
    }
}
