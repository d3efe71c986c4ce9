/* sip/dns.h: DNS messages (RFC 1035) for locating SIP servers (RFC 3263): building a query and
 * reading the A, AAAA, SRV (RFC 2782) and NAPTR (RFC 3403) records of an answer. Sans-I/O:
 * src/ sends and receives. The reader checks every length against the message and follows
 * compression pointers only backwards, so any input is safe. */
#ifndef SIPRING_SIP_DNS_H
#define SIPRING_SIP_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sip_dns_type {
    SIP_DNS_A = 1,
    SIP_DNS_CNAME = 5,
    SIP_DNS_AAAA = 28,
    SIP_DNS_SRV = 33,
    SIP_DNS_NAPTR = 35,
};

#define SIP_DNS_NAME_MAX 256
#define SIP_DNS_MAX_RR 16

struct sip_dns_rr {
    uint16_t type;
    uint32_t ttl;
    char owner[SIP_DNS_NAME_MAX]; /* lower case, no trailing dot */
    union {
        uint8_t ip[16]; /* A: 4 bytes, AAAA: 16 */
        struct {
            uint16_t priority, weight, port;
            char target[SIP_DNS_NAME_MAX];
        } srv;
        struct {
            uint16_t order, preference;
            char flags[16], service[32];
            char replacement[SIP_DNS_NAME_MAX];
        } naptr;
    } u;
};

struct sip_dns_answer {
    uint16_t id;
    uint8_t rcode; /* 0 ok, 3 NXDOMAIN, ... */
    bool truncated;
    size_t count; /* records kept, from the answer and additional sections */
    struct sip_dns_rr rr[SIP_DNS_MAX_RR];
};

/* sip_dns_query: a recursive query for (name, type) with this id into out. Returns its length,
 * or -1 if the name is not a valid domain name or out is too small. */
long sip_dns_query(uint8_t *out, size_t cap, uint16_t id, const char *name, enum sip_dns_type type);

/* sip_dns_parse: reads a response. Returns 0, or -1 if it is not a well-formed response. */
int sip_dns_parse(const uint8_t *msg, size_t len, struct sip_dns_answer *out);

#endif
