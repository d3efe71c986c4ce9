/* tests/fuzz/fuzz_dns.c: the DNS response reader on arbitrary bytes: never reads outside the
 * message, never loops (compression pointers), and every name it returns is a terminated
 * string within its field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

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
    return 0;
}
