/* tests/test_txn.c: the transaction state machines of RFC 3261 §17 and RFC 6026, driven by
 * events and a fake clock. T1 = 500, T2 = 4000, T4 = 5000 unless said otherwise. */
#include <criterion/criterion.h>

#include "txn.h"

static const struct sip_timers T = {500, 4000, 5000};

/* Runs the clock from *now to `until` in 1 ms steps, counting actions of kind `what`. */
static int run_until(struct sip_txn *x, uint64_t *now, uint64_t until, unsigned what, unsigned *all)
{
    int n = 0;
    for (; *now <= until; (*now)++) {
        uint64_t next = sip_txn_next_timer(x);
        if (next != 0 && next <= *now) {
            unsigned a = sip_txn_on_timer(x, *now);
            *all |= a;
            n += (a & what) != 0;
        }
    }
    return n;
}

/* §17.1.1.2: timer A doubles from T1 (0.5, 1, 2, 4, 8, 16 s) until timer B at 64*T1 = 32 s:
 * 6 retransmissions, then a timeout. */
Test(txn, client_invite_timer_a_and_b)
{
    struct sip_txn x;
    uint64_t now = 1000;
    cr_assert_eq(sip_txn_client_start(&x, true, false, &T, now), SIP_TXN_SEND_REQUEST);
    unsigned all = 0;
    int retx = run_until(&x, &now, 1000 + 32000, SIP_TXN_SEND_REQUEST, &all);
    cr_expect_eq(retx, 6);
    cr_expect(all & SIP_TXN_TIMEOUT);
    cr_expect(all & SIP_TXN_DONE);
    cr_expect_eq(x.state, SIP_TXN_TERMINATED);
}

/* §17.1.1.2: a provisional response stops A and B: Proceeding waits for the final response. */
Test(txn, client_invite_provisional_stops_timers)
{
    struct sip_txn x;
    uint64_t now = 0;
    sip_txn_client_start(&x, true, false, &T, now);
    cr_expect_eq(sip_txn_client_on_response(&x, 180, 100), SIP_TXN_PASS_UP);
    cr_expect_eq(x.state, SIP_TXN_PROCEEDING);
    cr_expect_eq(sip_txn_next_timer(&x), 0);
    /* 486: ACK, pass up, Completed with timer D (32 s); a retransmitted 486 only re-ACKs. */
    unsigned a = sip_txn_client_on_response(&x, 486, 200);
    cr_expect_eq(a, SIP_TXN_PASS_UP | SIP_TXN_SEND_ACK);
    cr_expect_eq(x.state, SIP_TXN_COMPLETED);
    cr_expect_eq(sip_txn_client_on_response(&x, 486, 300), SIP_TXN_SEND_ACK | SIP_TXN_ABSORB);
    cr_expect_eq(sip_txn_next_timer(&x), 200 + 32000);
    cr_expect_eq(sip_txn_on_timer(&x, 200 + 32000), SIP_TXN_DONE);
}

/* RFC 6026 §8.4: 2xx → Accepted, timer M = 64*T1; retransmitted 2xx pass up to the TU (the
 * proxy forwards them), other responses are absorbed. */
Test(txn, client_invite_accepted)
{
    struct sip_txn x;
    sip_txn_client_start(&x, true, false, &T, 0);
    cr_expect_eq(sip_txn_client_on_response(&x, 200, 50), SIP_TXN_PASS_UP);
    cr_expect_eq(x.state, SIP_TXN_ACCEPTED);
    cr_expect_eq(sip_txn_client_on_response(&x, 200, 60), SIP_TXN_PASS_UP);
    cr_expect_eq(sip_txn_client_on_response(&x, 180, 70), SIP_TXN_ABSORB);
    cr_expect_eq(sip_txn_next_timer(&x), 50 + 32000);
    cr_expect_eq(sip_txn_on_timer(&x, 50 + 32000), SIP_TXN_DONE);
}

/* §17.1.2.2: E doubles from T1 capped at T2 (0.5, 1, 2, 4, 4, 4, ...) until F at 32 s:
 * retransmissions at 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5 = 10. */
Test(txn, client_non_invite_timer_e_and_f)
{
    struct sip_txn x;
    uint64_t now = 0;
    sip_txn_client_start(&x, false, false, &T, now);
    unsigned all = 0;
    int retx = run_until(&x, &now, 32000, SIP_TXN_SEND_REQUEST, &all);
    cr_expect_eq(retx, 10);
    cr_expect(all & SIP_TXN_TIMEOUT);
}

/* §17.1.2.2: in Proceeding, E fires every T2; the final response → Completed, K = T4. */
Test(txn, client_non_invite_proceeding_and_k)
{
    struct sip_txn x;
    sip_txn_client_start(&x, false, false, &T, 0);
    cr_expect_eq(sip_txn_client_on_response(&x, 100, 10), SIP_TXN_PASS_UP);
    cr_expect_eq(sip_txn_on_timer(&x, 500), SIP_TXN_SEND_REQUEST);
    cr_expect_eq(sip_txn_next_timer(&x), 500 + 4000);
    cr_expect_eq(sip_txn_client_on_response(&x, 200, 600), SIP_TXN_PASS_UP);
    cr_expect_eq(sip_txn_client_on_response(&x, 200, 700), SIP_TXN_ABSORB);
    cr_expect_eq(sip_txn_next_timer(&x), 600 + 5000);
}

/* Reliable transports: no A/E/G, and D/I/J/K are zero, so Completed ends at once. */
Test(txn, reliable_transport_has_no_retransmissions)
{
    struct sip_txn x;
    sip_txn_client_start(&x, false, true, &T, 0);
    cr_expect_eq(sip_txn_next_timer(&x), 64 * 500);
    cr_expect_eq(sip_txn_client_on_response(&x, 200, 10), SIP_TXN_PASS_UP | SIP_TXN_DONE);
    sip_txn_client_start(&x, true, true, &T, 0);
    cr_expect_eq(sip_txn_client_on_response(&x, 404, 10),
                 SIP_TXN_PASS_UP | SIP_TXN_SEND_ACK | SIP_TXN_DONE);
}

/* §17.2.1: a retransmitted INVITE resends the last provisional; a non-2xx final starts G (T1
 * doubling, capped at T2) and H (64*T1); the ACK → Confirmed, I = T4; ACK copies absorbed. */
Test(txn, server_invite_completed_g_h_ack_i)
{
    struct sip_txn x;
    uint64_t now = 0;
    sip_txn_server_start(&x, true, false, &T, now);
    cr_expect_eq(sip_txn_server_on_request(&x, false, 10), SIP_TXN_ABSORB);
    cr_expect_eq(sip_txn_server_on_send(&x, 100, 20), SIP_TXN_SEND_RESPONSE);
    cr_expect_eq(sip_txn_server_on_request(&x, false, 30), SIP_TXN_SEND_RESPONSE | SIP_TXN_ABSORB);
    cr_expect_eq(sip_txn_server_on_send(&x, 487, 1000), SIP_TXN_SEND_RESPONSE);
    cr_expect_eq(sip_txn_server_on_send(&x, 200, 1001), 0, "no second final response");
    cr_expect_eq(sip_txn_on_timer(&x, 1500), SIP_TXN_SEND_RESPONSE);
    cr_expect_eq(sip_txn_next_timer(&x), 1500 + 1000);
    cr_expect_eq(sip_txn_server_on_request(&x, true, 1600), SIP_TXN_ABSORB);
    cr_expect_eq(x.state, SIP_TXN_CONFIRMED);
    cr_expect_eq(sip_txn_server_on_request(&x, true, 1700), SIP_TXN_ABSORB);
    cr_expect_eq(sip_txn_next_timer(&x), 1600 + 5000);
    cr_expect_eq(sip_txn_on_timer(&x, 6600), SIP_TXN_DONE);
}

/* §17.2.1: without an ACK, H fires at 64*T1 and the transaction reports it. */
Test(txn, server_invite_timer_h)
{
    struct sip_txn x;
    uint64_t now = 0;
    sip_txn_server_start(&x, true, false, &T, now);
    sip_txn_server_on_send(&x, 486, 0);
    unsigned all = 0;
    int retx = run_until(&x, &now, 32000, SIP_TXN_SEND_RESPONSE, &all);
    /* G at 0.5, 1.5, 3.5, 7.5, 11.5, ..., 31.5 = 10 retransmissions before H. */
    cr_expect_eq(retx, 10);
    cr_expect(all & SIP_TXN_NO_ACK);
    cr_expect_eq(x.state, SIP_TXN_TERMINATED);
}

/* RFC 6026 §8.7: a 2xx → Accepted for timer L; the INVITE's retransmissions are absorbed. */
Test(txn, server_invite_accepted_l)
{
    struct sip_txn x;
    sip_txn_server_start(&x, true, false, &T, 0);
    cr_expect_eq(sip_txn_server_on_send(&x, 200, 100), SIP_TXN_SEND_RESPONSE);
    cr_expect_eq(x.state, SIP_TXN_ACCEPTED);
    cr_expect_eq(sip_txn_server_on_request(&x, false, 200), SIP_TXN_ABSORB);
    cr_expect_eq(sip_txn_on_timer(&x, 100 + 32000), SIP_TXN_DONE);
}

/* §17.2.2: Trying absorbs retransmissions, Proceeding/Completed resend the last response;
 * J = 64*T1 after the final response. */
Test(txn, server_non_invite_j)
{
    struct sip_txn x;
    sip_txn_server_start(&x, false, false, &T, 0);
    cr_expect_eq(sip_txn_server_on_request(&x, false, 5), SIP_TXN_ABSORB);
    cr_expect_eq(sip_txn_server_on_send(&x, 200, 10), SIP_TXN_SEND_RESPONSE);
    cr_expect_eq(sip_txn_server_on_request(&x, false, 20), SIP_TXN_SEND_RESPONSE | SIP_TXN_ABSORB);
    cr_expect_eq(sip_txn_next_timer(&x), 10 + 32000);
    cr_expect_eq(sip_txn_on_timer(&x, 10 + 32000), SIP_TXN_DONE);
}

/* T1 is configurable: with T1 = 100 ms timer B fires at 6.4 s. */
Test(txn, short_t1)
{
    struct sip_timers t = {100, 4000, 5000};
    struct sip_txn x;
    sip_txn_client_start(&x, true, false, &t, 0);
    cr_expect_eq(x.timeout_at, 6400);
}
