/* tests/fuzz/fuzz_sip.c: the SIP message parser, in datagram and stream mode, and what runs on a
 * parsed message right after it: the digest credential reader, the local reply and an edited
 * rebuild, which must parse again. */
#include <stdint.h>
#include <stdlib.h>

#include "auth.h"
#include "build.h"
#include "reply.h"

static struct sip_msg m, out;
static char buf[70000];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int mode = 0; mode < 2; mode++) {
        int rc = sip_msg_parse(&m, (const char *)data, size, (enum sip_parse_mode)mode, NULL);
        if (rc <= 0) {
            continue;
        }
        if (m.is_request) {
            struct sip_reply r = {.status = 200,
                                  .phrase = "OK",
                                  .to_tag = SIP_STR_LIT("t"),
                                  .received = SIP_STR_LIT("192.0.2.1"),
                                  .rport = 5060};
            long n = sip_reply_build(&m, &r, buf, sizeof(buf));
            if (n > 0 && sip_msg_parse(&out, buf, (size_t)n, SIP_PARSE_STREAM, NULL) != n) {
                abort(); /* a reply we build must always parse */
            }
        }
        /* digest credentials (sip/auth.c): every slice stays inside the header value */
        for (int t = SIP_HDR_AUTHORIZATION; t <= SIP_HDR_PROXY_AUTHORIZATION; t++) {
            for (const struct sip_hdr *h = sip_msg_first(&m, (enum sip_hdr_type)t); h;
                 h = sip_msg_next(&m, h)) {
                struct sip_digest d;
                if (sip_digest_parse(h->value, &d) == 0 && d.response.len > 0 &&
                    (d.response.p < h->value.p ||
                     d.response.p + d.response.len > h->value.p + h->value.len)) {
                    abort();
                }
            }
        }
        struct iovec iov[SIP_MAX_HEADERS * 2 + 16];
        char scratch[512];
        struct sip_build b;
        sip_build_init(&b, &m, iov, sizeof(iov) / sizeof(iov[0]), scratch, sizeof(scratch));
        sip_build_prepend(&b, SIP_STR_LIT("Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKf\r\n"));
        if (!m.is_request) {
            sip_build_pop_via(&b); /* ours again: what the message came with stays */
        }
        sip_build_body(&b, SIP_STR_LIT("v=0\r\n"));
        long n = sip_build_finish(&b);
        /* an edited message we send must parse, whole, as one message -- unless the header
         * we added took it over the parser's header limit */
        if (n > 0 && sip_build_flatten(b.iov, b.iov_n, buf, sizeof(buf)) == n &&
            sip_msg_parse(&out, buf, (size_t)n, SIP_PARSE_STREAM, NULL) != n &&
            !(out.err == SIP_ERR_TOO_MANY_HEADERS && m.hdr_count + 2 >= SIP_MAX_HEADERS) &&
            !(out.err == SIP_ERR_TOO_MANY_VIAS && m.via_count + 1 >= SIP_MAX_VIA)) {
            abort();
        }
    }
    return 0;
}
