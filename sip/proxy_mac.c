/* sip/proxy_mac.c: the proofs sipring writes into messages so that it can recognise, without
 * keeping state, what it made when a peer brings it back: the dialog proof in its Record-Route
 * URIs and its Via branches. A header from the outside is a claim; one of these verifies only
 * if sipring (or an instance sharing its --secret-file) wrote it for this dialog and hop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"

static const char hexdig[] = "0123456789abcdef";

void proxy_mac_hex(const struct sip_proxy *p, const struct sip_str *parts, size_t n, char *out,
                   size_t nhex)
{
    uint8_t mac[32];
    p->cfg.mac.sign(p->cfg.mac.self, parts, n, mac);
    for (size_t i = 0; i < nhex && i < 64; i++) {
        out[i] = hexdig[i % 2 ? mac[i / 2] & 15 : mac[i / 2] >> 4];
    }
    out[nhex] = '\0';
}

/* hex_eq: a and b (nhex characters each) are equal; every byte is compared, so that the time
 * taken tells an attacker nothing about how much of a guess was right. */
static bool hex_eq(const char *a, const char *b, size_t nhex)
{
    unsigned diff = 0;
    for (size_t i = 0; i < nhex; i++) {
        diff |= (unsigned)(a[i] ^ b[i]);
    }
    return diff == 0;
}

/* the IP of a hop, as bytes of its family's length: ports change along a dialog (a provider
 * answers from one port and is reached at another), the address does not */
static struct sip_str ip_part(const struct sip_peer *peer)
{
    return sip_str_make((const char *)peer->ip, peer->family == 6 ? 16 : 4);
}

/* RFC 3261 §16.6 step 4 leaves the Record-Route URI to the proxy: ours carries
 * ";sr=<to-callee>.<to-caller>", one MAC per direction of the dialog over its Call-ID, the
 * caller's tag (the From tag of the dialog-forming request, which is the From tag of the
 * caller's requests and the To tag of the callee's) and the address the requests of that
 * direction go to. A peer that got the proof for its own dialog can use it only towards the
 * other end of that dialog. */
static void rr_mac(const struct sip_proxy *p, struct sip_str call_id, struct sip_str tag,
                   const struct sip_peer *dest, char out[PROXY_RR_MAC_HEX + 1])
{
    struct sip_str parts[4] = {SIP_STR_LIT("rr"), call_id, tag, ip_part(dest)};
    proxy_mac_hex(p, parts, 4, out, PROXY_RR_MAC_HEX);
}

void proxy_rr_proof(const struct sip_proxy *p, const struct sip_msg *m,
                    const struct sip_peer *caller, const struct sip_peer *callee, char *out,
                    size_t cap)
{
    char a[PROXY_RR_MAC_HEX + 1], b[PROXY_RR_MAC_HEX + 1];
    struct sip_str tag = m->addr[m->from].tag;
    rr_mac(p, m->call_id, tag, callee, a);
    rr_mac(p, m->call_id, tag, caller, b);
    snprintf(out, cap, ";sr=%s.%s", a, b);
}

bool proxy_rr_has_proof(const struct sip_uri *route)
{
    struct sip_str v;
    return route != NULL && sip_uri_param(route, "sr", &v) && v.len == 2 * PROXY_RR_MAC_HEX + 1 &&
           v.p[PROXY_RR_MAC_HEX] == '.';
}

bool proxy_rr_allows(const struct sip_proxy *p, const struct sip_msg *m,
                     const struct sip_uri *route, const struct sip_peer *dest)
{
    struct sip_str v;
    if (!proxy_rr_has_proof(route) || !sip_uri_param(route, "sr", &v)) {
        return false;
    }
    struct sip_str tags[2] = {m->addr[m->from].tag, m->addr[m->to].tag};
    for (int t = 0; t < 2; t++) {
        if (tags[t].len == 0) {
            continue;
        }
        char want[PROXY_RR_MAC_HEX + 1];
        rr_mac(p, m->call_id, tags[t], dest, want);
        if (hex_eq(want, v.p, PROXY_RR_MAC_HEX) ||
            hex_eq(want, v.p + PROXY_RR_MAC_HEX + 1, PROXY_RR_MAC_HEX)) {
            return true;
        }
    }
    return false;
}

/* Our branch (RFC 3261 §8.1.1.7: unique, and ours to shape) is
 * "z9hG4bK<idx>.<gen>.<b>.<salt>.<mac>-<loop>": the transaction's slot and generation and the
 * branch number find it while it lives; the MAC, over the Call-ID, everything before it and
 * the address the response goes back to (the request's sender), lets a 2xx that outlived the
 * transaction (§16.7) be forwarded only where sipring itself would have sent it. */
static void branch_mac(const struct sip_proxy *p, struct sip_str call_id, struct sip_str prefix,
                       const struct sip_peer *back, char out[PROXY_BRANCH_MAC_HEX + 1])
{
    uint8_t port[2] = {(uint8_t)(back->port >> 8), (uint8_t)back->port};
    struct sip_str parts[5] = {SIP_STR_LIT("br"), call_id, prefix, ip_part(back),
                               sip_str_make((const char *)port, 2)};
    proxy_mac_hex(p, parts, 5, out, PROXY_BRANCH_MAC_HEX);
}

void proxy_branch_id(const struct sip_proxy *p, const struct sip_msg *m, uint32_t idx, uint32_t gen,
                     int b, uint32_t salt, const struct sip_peer *back, uint32_t loop, char *out,
                     size_t cap)
{
    char prefix[48], mac[PROXY_BRANCH_MAC_HEX + 1];
    int n = snprintf(prefix, sizeof(prefix), "z9hG4bK%x.%x.%d.%06x", idx, gen, b, salt & 0xffffffu);
    branch_mac(p, m->call_id, sip_str_make(prefix, (size_t)n), back, mac);
    snprintf(out, cap, "%s.%s-%08x", prefix, mac, loop);
}

bool proxy_branch_ours(const struct sip_proxy *p, const struct sip_msg *m,
                       const struct sip_peer *back)
{
    struct sip_str br = m->via[0].branch;
    /* <prefix>.<mac>-<8 hex> */
    size_t tail = 1 + PROXY_BRANCH_MAC_HEX + 1 + 8;
    if (br.len <= tail + 7 || memcmp(br.p, "z9hG4bK", 7) != 0 || br.p[br.len - tail] != '.' ||
        br.p[br.len - 9] != '-') {
        return false;
    }
    char want[PROXY_BRANCH_MAC_HEX + 1];
    branch_mac(p, m->call_id, sip_str_make(br.p, br.len - tail), back, want);
    return hex_eq(want, br.p + br.len - tail + 1, PROXY_BRANCH_MAC_HEX);
}

int proxy_via_back(const struct sip_via *v, const struct sip_peer *from, struct sip_peer *out)
{
    /* fix_top_via's rules (RFC 3261 §18.2.1, RFC 3581 §4): a Via we fill in names the source;
     * one that came with received is left as it is */
    bool ours = from != NULL && !v->has_received;
    uint16_t port = v->has_port ? v->port : 5060;
    if (v->has_rport && v->rport_value.len > 0) {
        port = (uint16_t)atoi(v->rport_value.p);
    } else if (ours && v->has_rport) {
        port = from->port;
    }
    if (ours) {
        *out = *from;
        out->port = port;
        return 0;
    }
    return sip_peer_from_text(v->has_received ? v->received : v->host, port, out);
}
