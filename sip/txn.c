/* sip/txn.c: RFC 3261 §17 transactions, RFC 6026 Accepted state.
 *
 * Timer table (RFC 3261 Table 4, RFC 6026 §8.4):
 *   A  INVITE request retransmit   initially T1, doubling              client INVITE, unreliable
 *   B  INVITE transaction timeout  64*T1                               client INVITE
 *   D  wait for response retransm. >32 s unreliable, 0 reliable        client INVITE
 *   E  non-INVITE retransmit       T1 doubling up to T2 (T2 once 1xx)  client non-INVITE, unrel.
 *   F  non-INVITE timeout          64*T1                               client non-INVITE
 *   G  INVITE response retransmit  T1 doubling up to T2                server INVITE, unreliable
 *   H  wait for ACK receipt        64*T1                               server INVITE
 *   I  wait for ACK retransmits    T4 unreliable, 0 reliable           server INVITE
 *   J  wait for non-INVITE retx    64*T1 unreliable, 0 reliable        server non-INVITE
 *   K  wait for response retransm. T4 unreliable, 0 reliable           client non-INVITE
 *   L  wait for INVITE retransmits 64*T1 (accepted)                    server INVITE
 *   M  wait for 2xx retransmits    64*T1 (accepted)                    client INVITE
 */
#include "txn.h"

#include <string.h>

const struct sip_timers sip_timers_default = {500, 4000, 5000};

#define D_TIMER_MS 32000u

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

static unsigned terminate(struct sip_txn *x)
{
    x->state = SIP_TXN_TERMINATED;
    x->retx_at = x->timeout_at = x->wait_at = 0;
    return SIP_TXN_DONE;
}

/* Enters a waiting state whose timer may be zero (reliable transports): zero terminates now. */
static unsigned wait_or_end(struct sip_txn *x, enum sip_txn_state st, uint32_t wait_ms,
                            uint64_t now)
{
    x->state = st;
    x->retx_at = 0;
    x->timeout_at = 0;
    if (wait_ms == 0) {
        return terminate(x);
    }
    x->wait_at = now + wait_ms;
    return 0;
}

unsigned sip_txn_client_start(struct sip_txn *x, bool invite, bool reliable,
                              const struct sip_timers *t, uint64_t now)
{
    memset(x, 0, sizeof(*x));
    x->t = *t;
    x->reliable = reliable;
    x->kind = invite ? SIP_TXN_CLIENT_INVITE : SIP_TXN_CLIENT_NON_INVITE;
    x->state = invite ? SIP_TXN_CALLING : SIP_TXN_TRYING;
    x->retx_ms = t->t1_ms;
    x->retx_at = reliable ? 0 : now + t->t1_ms;
    x->timeout_at = now + 64ull * t->t1_ms;
    return SIP_TXN_SEND_REQUEST;
}

static unsigned client_invite_response(struct sip_txn *x, unsigned status, uint64_t now)
{
    switch (x->state) {
    case SIP_TXN_CALLING:
    case SIP_TXN_PROCEEDING:
        x->last_status = (uint16_t)status;
        if (status < 200) {
            /* §17.1.1.2: a provisional response stops A; B only runs in Calling. */
            x->state = SIP_TXN_PROCEEDING;
            x->retx_at = 0;
            x->timeout_at = 0;
            return SIP_TXN_PASS_UP;
        }
        if (status < 300) {
            /* RFC 6026 §8.4: 2xx moves to Accepted, timer M; 2xx retransmissions pass up. */
            x->state = SIP_TXN_ACCEPTED;
            x->retx_at = 0;
            x->timeout_at = now + 64ull * x->t.t1_ms;
            return SIP_TXN_PASS_UP;
        }
        return SIP_TXN_PASS_UP | SIP_TXN_SEND_ACK |
               wait_or_end(x, SIP_TXN_COMPLETED, x->reliable ? 0 : D_TIMER_MS, now);
    case SIP_TXN_COMPLETED:
        /* "Any retransmissions of the final response ... MUST cause the ACK to be re-passed to
         * the transport layer for retransmission, but the newly received response MUST NOT be
         * passed up to the TU." */
        return status >= 300 ? SIP_TXN_SEND_ACK | SIP_TXN_ABSORB : SIP_TXN_ABSORB;
    case SIP_TXN_ACCEPTED:
        return status >= 200 && status < 300 ? SIP_TXN_PASS_UP : SIP_TXN_ABSORB;
    default:
        return 0;
    }
}

static unsigned client_non_invite_response(struct sip_txn *x, unsigned status, uint64_t now)
{
    if (x->state != SIP_TXN_TRYING && x->state != SIP_TXN_PROCEEDING) {
        return x->state == SIP_TXN_COMPLETED ? SIP_TXN_ABSORB : 0;
    }
    x->last_status = (uint16_t)status;
    if (status < 200) {
        x->state = SIP_TXN_PROCEEDING;
        return SIP_TXN_PASS_UP;
    }
    return SIP_TXN_PASS_UP | wait_or_end(x, SIP_TXN_COMPLETED, x->reliable ? 0 : x->t.t4_ms, now);
}

unsigned sip_txn_client_on_response(struct sip_txn *x, unsigned status, uint64_t now)
{
    return x->kind == SIP_TXN_CLIENT_INVITE ? client_invite_response(x, status, now)
                                            : client_non_invite_response(x, status, now);
}

void sip_txn_server_start(struct sip_txn *x, bool invite, bool reliable, const struct sip_timers *t,
                          uint64_t now)
{
    (void)now;
    memset(x, 0, sizeof(*x));
    x->t = *t;
    x->reliable = reliable;
    x->kind = invite ? SIP_TXN_SERVER_INVITE : SIP_TXN_SERVER_NON_INVITE;
    x->state = invite ? SIP_TXN_PROCEEDING : SIP_TXN_TRYING;
}

unsigned sip_txn_server_on_request(struct sip_txn *x, bool is_ack, uint64_t now)
{
    if (x->kind == SIP_TXN_SERVER_INVITE) {
        if (is_ack) {
            if (x->state == SIP_TXN_COMPLETED) {
                return SIP_TXN_ABSORB |
                       wait_or_end(x, SIP_TXN_CONFIRMED, x->reliable ? 0 : x->t.t4_ms, now);
            }
            return SIP_TXN_ABSORB; /* Confirmed: ACK retransmissions are absorbed */
        }
        /* A retransmitted INVITE: resend the last provisional or final response. */
        if ((x->state == SIP_TXN_PROCEEDING && x->last_status != 0) ||
            x->state == SIP_TXN_COMPLETED) {
            return SIP_TXN_SEND_RESPONSE | SIP_TXN_ABSORB;
        }
        return SIP_TXN_ABSORB;
    }
    if (is_ack) {
        return 0;
    }
    /* §17.2.2: Trying absorbs; Proceeding and Completed resend the last response. */
    if (x->state == SIP_TXN_PROCEEDING || x->state == SIP_TXN_COMPLETED) {
        return SIP_TXN_SEND_RESPONSE | SIP_TXN_ABSORB;
    }
    return SIP_TXN_ABSORB;
}

unsigned sip_txn_server_on_send(struct sip_txn *x, unsigned status, uint64_t now)
{
    if (x->state != SIP_TXN_PROCEEDING && x->state != SIP_TXN_TRYING) {
        return 0;
    }
    x->last_status = (uint16_t)status;
    if (status < 200) {
        x->state = SIP_TXN_PROCEEDING;
        return SIP_TXN_SEND_RESPONSE;
    }
    if (x->kind == SIP_TXN_SERVER_NON_INVITE) {
        return SIP_TXN_SEND_RESPONSE |
               wait_or_end(x, SIP_TXN_COMPLETED, x->reliable ? 0 : 64 * x->t.t1_ms, now);
    }
    if (status < 300) {
        /* RFC 6026 §8.7: Accepted, timer L; the TU retransmits 2xx, not the transaction. */
        x->state = SIP_TXN_ACCEPTED;
        x->timeout_at = now + 64ull * x->t.t1_ms;
        return SIP_TXN_SEND_RESPONSE;
    }
    x->state = SIP_TXN_COMPLETED;
    x->retx_ms = x->t.t1_ms;
    x->retx_at = x->reliable ? 0 : now + x->t.t1_ms;
    x->timeout_at = now + 64ull * x->t.t1_ms;
    return SIP_TXN_SEND_RESPONSE;
}

/* A retransmission timer fired: double the interval (capped at T2 where the RFC caps it). */
static void backoff(struct sip_txn *x, uint64_t now, bool cap_t2)
{
    x->retx_ms = cap_t2 ? min_u32(x->retx_ms * 2, x->t.t2_ms) : x->retx_ms * 2;
    x->retx_at = now + x->retx_ms;
}

static unsigned fire(struct sip_txn *x, uint64_t now)
{
    if (x->wait_at != 0 && now >= x->wait_at) {
        return terminate(x); /* D, I, J, K */
    }
    if (x->timeout_at != 0 && now >= x->timeout_at) {
        switch (x->state) {
        case SIP_TXN_CALLING: /* B */
        case SIP_TXN_TRYING:  /* F */
        case SIP_TXN_PROCEEDING:
            return SIP_TXN_TIMEOUT | terminate(x);
        case SIP_TXN_COMPLETED: /* H */
            return SIP_TXN_NO_ACK | terminate(x);
        default: /* L, M */
            return terminate(x);
        }
    }
    if (x->retx_at != 0 && now >= x->retx_at) {
        switch (x->state) {
        case SIP_TXN_CALLING: /* A */
            backoff(x, now, false);
            return SIP_TXN_SEND_REQUEST;
        case SIP_TXN_TRYING: /* E */
            backoff(x, now, true);
            return SIP_TXN_SEND_REQUEST;
        case SIP_TXN_PROCEEDING: /* E in Proceeding: always T2 */
            x->retx_ms = x->t.t2_ms;
            x->retx_at = now + x->retx_ms;
            return SIP_TXN_SEND_REQUEST;
        case SIP_TXN_COMPLETED: /* G */
            backoff(x, now, true);
            return SIP_TXN_SEND_RESPONSE;
        default:
            x->retx_at = 0;
            return 0;
        }
    }
    return 0;
}

unsigned sip_txn_on_timer(struct sip_txn *x, uint64_t now)
{
    unsigned acts = 0;
    /* Several timers may be due after a long pause; fire them in deadline order. */
    for (int i = 0; i < 8 && x->state != SIP_TXN_TERMINATED; i++) {
        uint64_t next = sip_txn_next_timer(x);
        if (next == 0 || next > now) {
            break;
        }
        acts |= fire(x, next);
    }
    return acts;
}

uint64_t sip_txn_next_timer(const struct sip_txn *x)
{
    uint64_t best = 0;
    const uint64_t all[3] = {x->retx_at, x->timeout_at, x->wait_at};
    for (int i = 0; i < 3; i++) {
        if (all[i] != 0 && (best == 0 || all[i] < best)) {
            best = all[i];
        }
    }
    return best;
}
