/* tests/test_rtp.c: RTP/RTCP header checks (RFC 3550 §5.1, RFC 5761 §4), the port-pair pool,
 * and the relay's latching rules (no RTP Bleed: strangers never latch nor get through). */
#include <criterion/criterion.h>
#include <string.h>

#include "check.h"
#include "ports.h"
#include "stream.h"

static const uint8_t rtp_pcmu[12 + 160] = {0x80, 0x00, 0x12, 0x34, 0, 0, 0, 160, 1, 2, 3, 4};
static const uint8_t rtcp_rr[8] = {0x80, 201, 0, 1, 1, 2, 3, 4};

static struct rtp_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    struct rtp_addr x = {.family = 4, .port = port};
    x.ip[0] = a, x.ip[1] = b, x.ip[2] = c, x.ip[3] = d;
    return x;
}

Test(rtp_check, versions_lengths_and_kinds)
{
    cr_assert_eq(rtp_check(rtp_pcmu, sizeof(rtp_pcmu)), RTP_KIND_RTP);
    cr_assert_eq(rtp_check(rtcp_rr, sizeof(rtcp_rr)), RTP_KIND_RTCP);
    cr_assert_eq(rtp_check(rtp_pcmu, 11), RTP_KIND_BAD, "shorter than the fixed header");
    uint8_t v1[12];
    memcpy(v1, rtp_pcmu, 12);
    v1[0] = 0x40;
    cr_assert_eq(rtp_check(v1, 12), RTP_KIND_BAD, "version 1");
    uint8_t csrc[16];
    memcpy(csrc, rtp_pcmu, 12);
    csrc[0] = 0x82; /* two CSRCs: 20 bytes needed */
    cr_assert_eq(rtp_check(csrc, 16), RTP_KIND_BAD);
    uint8_t pad[20];
    memcpy(pad, rtp_pcmu, 20);
    pad[0] = 0xa0;
    pad[19] = 9; /* 9 bytes of padding but only 8 bytes of payload */
    cr_assert_eq(rtp_check(pad, 20), RTP_KIND_BAD);
    pad[19] = 8;
    cr_assert_eq(rtp_check(pad, 20), RTP_KIND_RTP);
    uint8_t rtcp_long[8];
    memcpy(rtcp_long, rtcp_rr, 8);
    rtcp_long[3] = 5; /* claims 24 bytes */
    cr_assert_eq(rtp_check(rtcp_long, 8), RTP_KIND_BAD);
}

Test(rtp_ports, pairs_are_even_odd_shared_out_and_reused_last)
{
    struct rtp_ports a, b;
    cr_assert_eq(rtp_ports_init(&a, 30001, 30011, 0, 2), 0);
    cr_assert_eq(rtp_ports_init(&b, 30001, 30011, 1, 2), 0);
    /* even ports 30002..30010: pairs 30002, 30004, 30006, 30008, 30010 (30011 is its RTCP) */
    cr_assert_eq(rtp_ports_available(&a) + rtp_ports_available(&b), 5);
    uint16_t seen[6] = {0}, p;
    size_t n = 0;
    while (rtp_ports_get(&a, &p) == 0) {
        seen[n++] = p;
    }
    while (rtp_ports_get(&b, &p) == 0) {
        seen[n++] = p;
    }
    cr_assert_eq(n, 5);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(seen[i] % 2, 0);
        cr_assert(seen[i] >= 30002 && seen[i] + 1 <= 30011);
        for (size_t j = 0; j < i; j++) {
            cr_assert_neq(seen[i], seen[j], "no pair is handed out twice");
        }
    }
    rtp_ports_put(&a, seen[0]);
    rtp_ports_put(&a, seen[1]);
    cr_assert_eq(rtp_ports_get(&a, &p), 0);
    cr_assert_eq(p, seen[0], "first freed, first reused");
    rtp_ports_free(&a);
    rtp_ports_free(&b);
    cr_assert_eq(rtp_ports_init(&a, 30001, 30001, 0, 1), -1, "no whole pair in the range");
}

/* A call: side 0 a phone behind NAT (private SDP address, signaling from the NAT's public IP),
 * side 1 a provider with a public, reachable SDP address. */
static void setup_call(struct rtp_stream *s)
{
    memset(s, 0, sizeof(*s));
    struct rtp_addr phone_sdp = v4(192, 168, 1, 10, 4000), nat_sig = v4(203, 0, 113, 5, 5060);
    struct rtp_addr prov_sdp = v4(198, 51, 100, 7, 20000), prov_sig = v4(198, 51, 100, 1, 5060);
    rtp_leg_announce(&s->leg[0], &phone_sdp, 0, false, true, &nat_sig);
    rtp_leg_announce(&s->leg[1], &prov_sdp, 0, false, false, &prov_sig);
}

Test(rtp_stream, nat_side_latches_from_its_signaling_ip_and_relays_both_ways)
{
    struct rtp_stream s;
    setup_call(&s);
    struct rtp_addr to, nat_media = v4(203, 0, 113, 5, 61000);
    enum rtp_comp c;
    /* Before the phone sent anything, the provider's audio has nowhere to go (private SDP). */
    struct rtp_addr prov_media = v4(198, 51, 100, 7, 20000);
    cr_assert_eq(rtp_stream_on_packet(&s, 1, RTP_COMP_RTP, &prov_media, rtp_pcmu, sizeof(rtp_pcmu),
                                      1, &to, &c),
                 RTP_DROP_NO_DEST);
    cr_assert_eq(rtp_stream_on_packet(&s, 0, RTP_COMP_RTP, &nat_media, rtp_pcmu, sizeof(rtp_pcmu),
                                      2, &to, &c),
                 RTP_RELAY);
    cr_assert(rtp_addr_eq(&to, &prov_media), "to the provider's announced address");
    cr_assert_eq(c, RTP_COMP_RTP);
    cr_assert_eq(rtp_stream_on_packet(&s, 1, RTP_COMP_RTP, &prov_media, rtp_pcmu, sizeof(rtp_pcmu),
                                      3, &to, &c),
                 RTP_RELAY);
    cr_assert(rtp_addr_eq(&to, &nat_media), "back through the phone's NAT binding");
    /* RTCP from the phone's NAT on the RTCP port goes to the provider's port + 1 */
    struct rtp_addr nat_rtcp = v4(203, 0, 113, 5, 61001);
    cr_assert_eq(
        rtp_stream_on_packet(&s, 0, RTP_COMP_RTCP, &nat_rtcp, rtcp_rr, sizeof(rtcp_rr), 4, &to, &c),
        RTP_RELAY);
    cr_assert_eq(to.port, 20001);
    cr_assert_eq(c, RTP_COMP_RTCP);
}

Test(rtp_stream, strangers_never_latch_nor_pass_rtp_bleed)
{
    struct rtp_stream s;
    setup_call(&s);
    struct rtp_addr to, attacker = v4(192, 0, 2, 66, 40000), nat_media = v4(203, 0, 113, 5, 61000);
    enum rtp_comp c;
    /* The attacker sprays both legs' ports before and after the real sources latch. */
    cr_assert_eq(rtp_stream_on_packet(&s, 0, RTP_COMP_RTP, &attacker, rtp_pcmu, sizeof(rtp_pcmu), 1,
                                      &to, &c),
                 RTP_DROP_STRANGER);
    cr_assert_eq(rtp_stream_on_packet(&s, 1, RTP_COMP_RTP, &attacker, rtp_pcmu, sizeof(rtp_pcmu), 1,
                                      &to, &c),
                 RTP_DROP_STRANGER);
    cr_assert_eq(rtp_stream_on_packet(&s, 0, RTP_COMP_RTP, &nat_media, rtp_pcmu, sizeof(rtp_pcmu),
                                      2, &to, &c),
                 RTP_RELAY);
    cr_assert_eq(rtp_stream_on_packet(&s, 0, RTP_COMP_RTP, &attacker, rtp_pcmu, sizeof(rtp_pcmu), 3,
                                      &to, &c),
                 RTP_DROP_STRANGER);
    /* Same IP as the phone's NAT but another port, after latching: a stranger too. */
    struct rtp_addr other_port = v4(203, 0, 113, 5, 61002);
    cr_assert_eq(rtp_stream_on_packet(&s, 0, RTP_COMP_RTP, &other_port, rtp_pcmu, sizeof(rtp_pcmu),
                                      4, &to, &c),
                 RTP_DROP_STRANGER);
    cr_assert_eq(s.leg[0].dropped_stranger, 3);
    cr_assert_eq(s.leg[1].dropped_stranger, 1);
    /* Garbage from the right source is dropped as bad and latches nothing. */
    uint8_t junk[20] = {0x13, 0x37};
    cr_assert_eq(rtp_stream_on_packet(&s, 1, RTP_COMP_RTP, &(struct rtp_addr){0}, junk,
                                      sizeof(junk), 5, &to, &c),
                 RTP_DROP_BAD);
}

Test(rtp_stream, reinvite_moves_the_stream_and_relatches)
{
    struct rtp_stream s;
    setup_call(&s);
    struct rtp_addr to, prov_media = v4(198, 51, 100, 7, 20000);
    enum rtp_comp c;
    cr_assert_eq(rtp_stream_on_packet(&s, 1, RTP_COMP_RTP, &prov_media, rtp_pcmu, sizeof(rtp_pcmu),
                                      1, &to, &c),
                 RTP_DROP_NO_DEST);
    cr_assert(rtp_addr_is_set(&s.leg[1].latched[0]));
    struct rtp_addr moved = v4(198, 51, 100, 8, 30000), sig = v4(198, 51, 100, 1, 5060);
    rtp_leg_announce(&s.leg[1], &moved, 0, false, false, &sig);
    cr_assert(!rtp_addr_is_set(&s.leg[1].latched[0]), "new SDP unlatches");
    cr_assert_eq(rtp_stream_on_packet(&s, 1, RTP_COMP_RTP, &prov_media, rtp_pcmu, sizeof(rtp_pcmu),
                                      2, &to, &c),
                 RTP_DROP_STRANGER, "the old address is now a stranger");
    struct rtp_addr moved_src = v4(198, 51, 100, 8, 30000);
    rtp_stream_on_packet(&s, 1, RTP_COMP_RTP, &moved_src, rtp_pcmu, sizeof(rtp_pcmu), 3, &to, &c);
    cr_assert(rtp_addr_eq(&s.leg[1].latched[0], &moved_src));
}

/* Issue 13, class 6: the RTCP port latches only from the latched RTP source (its port + 1, or
 * the a=rtcp port of RFC 3605): spoofed RTCP from the phone's IP on any other port, or before
 * any RTP, never reaches the other side. */
Test(rtp_stream, rtcp_latches_only_from_the_rtp_source)
{
    struct rtp_stream s;
    setup_call(&s);
    struct rtp_addr to, spoof = v4(203, 0, 113, 5, 40000), nat_media = v4(203, 0, 113, 5, 61000);
    enum rtp_comp c;
    cr_assert_eq(
        rtp_stream_on_packet(&s, 0, RTP_COMP_RTCP, &spoof, rtcp_rr, sizeof(rtcp_rr), 1, &to, &c),
        RTP_DROP_STRANGER, "no RTP latched yet: no RTCP either");
    struct rtp_addr early = v4(203, 0, 113, 5, 61001);
    cr_assert_eq(
        rtp_stream_on_packet(&s, 0, RTP_COMP_RTCP, &early, rtcp_rr, sizeof(rtcp_rr), 2, &to, &c),
        RTP_DROP_STRANGER, "even on the right port, RTP comes first");
    cr_assert_eq(rtp_stream_on_packet(&s, 0, RTP_COMP_RTP, &nat_media, rtp_pcmu, sizeof(rtp_pcmu),
                                      3, &to, &c),
                 RTP_RELAY);
    cr_assert_eq(
        rtp_stream_on_packet(&s, 0, RTP_COMP_RTCP, &spoof, rtcp_rr, sizeof(rtcp_rr), 4, &to, &c),
        RTP_DROP_STRANGER, "the phone's IP on another port");
    cr_assert_eq(
        rtp_stream_on_packet(&s, 0, RTP_COMP_RTCP, &early, rtcp_rr, sizeof(rtcp_rr), 5, &to, &c),
        RTP_RELAY, "the RTP source's port + 1");
    cr_assert_eq(
        rtp_stream_on_packet(&s, 0, RTP_COMP_RTCP, &spoof, rtcp_rr, sizeof(rtcp_rr), 6, &to, &c),
        RTP_DROP_STRANGER, "latched: strangers stay out");
    /* the provider's side names its RTCP port (a=rtcp:20009): that port latches */
    struct rtp_addr prov_sdp = v4(198, 51, 100, 7, 20000), sig = v4(198, 51, 100, 1, 5060);
    rtp_leg_announce(&s.leg[1], &prov_sdp, 20009, false, false, &sig);
    cr_assert_eq(rtp_stream_on_packet(&s, 1, RTP_COMP_RTP, &prov_sdp, rtp_pcmu, sizeof(rtp_pcmu), 7,
                                      &to, &c),
                 RTP_RELAY);
    struct rtp_addr prov_rtcp = v4(198, 51, 100, 7, 20009);
    cr_assert_eq(rtp_stream_on_packet(&s, 1, RTP_COMP_RTCP, &prov_rtcp, rtcp_rr, sizeof(rtcp_rr), 8,
                                      &to, &c),
                 RTP_RELAY);
}

Test(rtp_stream, rtcp_mux_sends_rtcp_to_the_rtp_port)
{
    struct rtp_stream s;
    setup_call(&s);
    struct rtp_addr prov_sdp = v4(198, 51, 100, 7, 20000), sig = v4(198, 51, 100, 1, 5060);
    rtp_leg_announce(&s.leg[1], &prov_sdp, 0, true, false, &sig);
    struct rtp_addr to, nat_rtcp = v4(203, 0, 113, 5, 61001), nat_media = v4(203, 0, 113, 5, 61000);
    enum rtp_comp c;
    cr_assert_eq(rtp_stream_on_packet(&s, 0, RTP_COMP_RTP, &nat_media, rtp_pcmu, sizeof(rtp_pcmu),
                                      1, &to, &c),
                 RTP_RELAY);
    cr_assert_eq(
        rtp_stream_on_packet(&s, 0, RTP_COMP_RTCP, &nat_rtcp, rtcp_rr, sizeof(rtcp_rr), 1, &to, &c),
        RTP_RELAY);
    cr_assert_eq(to.port, 20000);
    cr_assert_eq(c, RTP_COMP_RTP, "sent from the muxed side's RTP port");
}

Test(rtp_addr, private_ranges_are_the_nat_ones)
{
    struct rtp_addr priv[] = {v4(10, 1, 2, 3, 0),     v4(172, 16, 0, 1, 0), v4(172, 31, 255, 1, 0),
                              v4(192, 168, 1, 10, 0), v4(100, 64, 0, 1, 0), v4(169, 254, 1, 1, 0)};
    struct rtp_addr pub[] = {v4(172, 32, 0, 1, 0), v4(203, 0, 113, 5, 0), v4(100, 128, 0, 1, 0),
                             v4(127, 0, 0, 7, 0), v4(192, 169, 1, 1, 0)};
    for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
        cr_assert(rtp_addr_is_private(&priv[i]), "%zu", i);
    }
    for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++) {
        cr_assert_not(rtp_addr_is_private(&pub[i]), "%zu", i);
    }
    struct rtp_addr ula = {.family = 6, .ip = {0xfd, 0x12}},
                    doc = {.family = 6, .ip = {0x20, 0x01, 0x0d, 0xb8}};
    cr_assert(rtp_addr_is_private(&ula));
    cr_assert_not(rtp_addr_is_private(&doc));
}
