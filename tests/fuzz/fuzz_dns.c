/* tests/fuzz/fuzz_dns.c: the DNS response reader on arbitrary bytes: never reads outside the
 * message, never loops (compression pointers), and every name it returns is a terminated
 * string within its field. Then the answer goes to a locator (sip/locate.c) as the answer to
 * each question a lookup of "example.test" asks in turn, until the lookup ends: it must end,
 * and what it returns is at most SIP_RESOLVE_MAX servers, each an IPv4 or IPv6 address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "locate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sip_dns_answer a;
    if (sip_dns_parse(data, size, &a) != 0) {
        return 0;
    }
    if (a.count > SIP_DNS_MAX_RR) {
        abort();
    }
    for (size_t i = 0; i < a.count; i++) {
        const struct sip_dns_rr *r = &a.rr[i];
        if (memchr(r->owner, 0, sizeof(r->owner)) == NULL) {
            abort();
        }
        if (r->type == SIP_DNS_SRV && memchr(r->u.srv.target, 0, sizeof(r->u.srv.target)) == NULL) {
            abort();
        }
        if (r->type == SIP_DNS_NAPTR &&
            (memchr(r->u.naptr.replacement, 0, sizeof(r->u.naptr.replacement)) == NULL ||
             memchr(r->u.naptr.service, 0, sizeof(r->u.naptr.service)) == NULL)) {
            abort();
        }
    }
    struct sip_locate *l = sip_locate_new(1);
    if (l == NULL) {
        return 0;
    }
    struct sip_peer out[SIP_RESOLVE_MAX];
    int n = 0;
    uint64_t now = 1000;
    for (int round = 0; round < 40 && (n = sip_locate_find(l, "example.test", -1, 0, out,
                                                           SIP_RESOLVE_MAX, now)) == 0;
         round++) {
        struct sip_locate_question q;
        while (sip_locate_next_question(l, now, &q)) {
            sip_locate_sent(l, q.slot, a.id, now);
            sip_locate_on_answer(l, &a, now); /* the same records answer every question */
        }
    }
    if (n == 0 || n > SIP_RESOLVE_MAX) {
        abort(); /* the lookup never ended, or wrote past its room */
    }
    for (int i = 0; i < n; i++) {
        if (out[i].family != 4 && out[i].family != 6) {
            abort();
        }
    }
    sip_locate_free(l);
    return 0;
}
