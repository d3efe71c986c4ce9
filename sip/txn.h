/* sip/txn.h: the four transaction state machines of RFC 3261 §17, with RFC 6026's Accepted
 * state, sans-I/O. A transaction takes events (a message seen, a response sent, the clock) and
 * returns the actions to take as bit flags; it never sends or stores messages itself: the caller
 * keeps the request and the last response and acts on the flags.
 *
 * Time is a caller-supplied monotonic millisecond count. An all-zero struct sip_txn is an unused
 * transaction (state SIP_TXN_IDLE). */
#ifndef SIPRING_SIP_TXN_H
#define SIPRING_SIP_TXN_H

#include <stdbool.h>
#include <stdint.h>

enum sip_txn_kind {
    SIP_TXN_CLIENT_INVITE = 0,
    SIP_TXN_CLIENT_NON_INVITE,
    SIP_TXN_SERVER_INVITE,
    SIP_TXN_SERVER_NON_INVITE,
};

enum sip_txn_state {
    SIP_TXN_IDLE = 0,
    SIP_TXN_CALLING,    /* client INVITE, request sent */
    SIP_TXN_TRYING,     /* non-INVITE, request sent or received */
    SIP_TXN_PROCEEDING, /* a provisional response seen or sent */
    SIP_TXN_COMPLETED,  /* a final (non-2xx for INVITE) response seen or sent */
    SIP_TXN_CONFIRMED,  /* server INVITE: ACK received */
    SIP_TXN_ACCEPTED,   /* INVITE with 2xx (RFC 6026 §7.1, §7.2) */
    SIP_TXN_TERMINATED,
};

/* T1, T2, T4 of RFC 3261 §17.1.1.1 and Table 4; defaults 500, 4000, 5000 ms. */
struct sip_timers {
    uint32_t t1_ms;
    uint32_t t2_ms;
    uint32_t t4_ms;
};

extern const struct sip_timers sip_timers_default;

/* Actions, OR-ed together in the return value of every event function. */
enum {
    SIP_TXN_SEND_REQUEST = 1 << 0,  /* (re)send the transaction's request */
    SIP_TXN_SEND_RESPONSE = 1 << 1, /* (re)send the last response sent */
    SIP_TXN_PASS_UP = 1 << 2,       /* give the message just seen to the transaction user */
    SIP_TXN_SEND_ACK = 1 << 3,      /* client INVITE: send ACK for the non-2xx just seen */
    SIP_TXN_TIMEOUT = 1 << 4,       /* tell the transaction user: timer B/F fired (408) */
    SIP_TXN_NO_ACK = 1 << 5,        /* server INVITE: timer H fired, no ACK came */
    SIP_TXN_DONE = 1 << 6,          /* terminated: free it */
    SIP_TXN_ABSORB = 1 << 7,        /* a retransmission was absorbed (for counters) */
};

struct sip_txn {
    uint8_t kind;  /* enum sip_txn_kind */
    uint8_t state; /* enum sip_txn_state */
    bool reliable; /* TCP/TLS: no retransmissions, zero wait timers */
    uint16_t last_status;
    uint32_t retx_ms;    /* current interval of timer A, E or G */
    uint64_t retx_at;    /* timer A/E/G deadline, 0 if off */
    uint64_t timeout_at; /* timer B/F/H/L/M deadline, 0 if off */
    uint64_t wait_at;    /* timer D/I/J/K deadline, 0 if off */
    struct sip_timers t;
};

/* sip_txn_client_start: a client transaction whose request is about to be sent for the first
 * time. Returns SIP_TXN_SEND_REQUEST. */
unsigned sip_txn_client_start(struct sip_txn *x, bool invite, bool reliable,
                              const struct sip_timers *t, uint64_t now_ms);

/* sip_txn_client_on_response: a response matched this client transaction. */
unsigned sip_txn_client_on_response(struct sip_txn *x, unsigned status, uint64_t now_ms);

/* sip_txn_server_start: a server transaction for a request just received (the first copy). */
void sip_txn_server_start(struct sip_txn *x, bool invite, bool reliable, const struct sip_timers *t,
                          uint64_t now_ms);

/* sip_txn_server_on_request: a retransmission of the request (is_ack false), or the ACK of a
 * non-2xx final response (is_ack true), matched this server transaction. */
unsigned sip_txn_server_on_request(struct sip_txn *x, bool is_ack, uint64_t now_ms);

/* sip_txn_server_on_send: the transaction user sends a response with this status through the
 * transaction. Returns SIP_TXN_SEND_RESPONSE, or 0 if the response must not be sent (a final
 * response was already sent). */
unsigned sip_txn_server_on_send(struct sip_txn *x, unsigned status, uint64_t now_ms);

/* sip_txn_on_timer: the clock reached now_ms; fires every timer due. */
unsigned sip_txn_on_timer(struct sip_txn *x, uint64_t now_ms);

/* sip_txn_next_timer: the earliest armed deadline, or 0 if none. */
uint64_t sip_txn_next_timer(const struct sip_txn *x);

#endif
