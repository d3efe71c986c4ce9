/* bench/sipring_fields.c: the fields parse_bench reads, taken from sipring's parse. */
#include <stddef.h>

#include "msg.h"

extern volatile size_t sink;
int run_sipring(const char *buf, size_t len);

static struct sip_msg m;

int run_sipring(const char *buf, size_t len)
{
    if (sip_msg_parse(&m, buf, len, SIP_PARSE_DGRAM, NULL) <= 0) {
        return -1;
    }
    size_t acc = m.is_request ? m.ruri.host.len : m.status;
    for (unsigned i = 0; i < m.via_count; i++) {
        acc += m.via[i].host.len + m.via[i].port + m.via[i].branch.len;
    }
    acc += m.addr[m.from].uri.host.len + m.addr[m.from].tag.len + m.addr[m.to].tag.len;
    acc += m.call_id.len + m.cseq + (size_t)m.max_forwards + m.content_length + m.body.len;
    for (const struct sip_hdr *h = sip_msg_first(&m, SIP_HDR_CONTACT); h; h = sip_msg_next(&m, h)) {
        acc += m.addr[h->item].uri.host.len;
    }
    for (const struct sip_hdr *h = sip_msg_first(&m, SIP_HDR_ROUTE); h; h = sip_msg_next(&m, h)) {
        acc += m.addr[h->item].uri.host.len;
    }
    for (const struct sip_hdr *h = sip_msg_first(&m, SIP_HDR_RECORD_ROUTE); h;
         h = sip_msg_next(&m, h)) {
        acc += m.addr[h->item].uri.host.len;
    }
    sink += acc;
    return 0;
}
