/* sip/proxy_media.c: the proxy's side of media anchoring: find SDP in a message being
 * forwarded, let the media relay choose ports, and put the rewritten body into the builder.
 * The rewritten body lives in p->sdp_out until the message has been flattened or sent. */
#include <string.h>

#include "proxy_int.h"

static bool is_sdp(const struct sip_msg *m)
{
    static const char type[] = "application/sdp";
    struct sip_str ct = m->content_type;
    return m->body.len > 0 && ct.len >= sizeof(type) - 1 &&
           strncasecmp(ct.p, type, sizeof(type) - 1) == 0 &&
           (ct.len == sizeof(type) - 1 || ct.p[sizeof(type) - 1] == ';' ||
            ct.p[sizeof(type) - 1] == ' ');
}

int proxy_media_rewrite(struct sip_proxy *p, const struct sip_msg *m, struct sip_build *bd,
                        const struct sip_peer *sender, const struct sip_peer *receiver,
                        bool may_create)
{
    if (p->media == NULL || !is_sdp(m)) {
        return 0;
    }
    struct sdp sdp;
    if (sdp_parse(m->body, &sdp) != 0) {
        proxy_debug(p, "media: unparsable SDP in %.*s (Call-ID %.*s): forwarded unchanged",
                    (int)(m->is_request ? m->method.len : 3), m->is_request ? m->method.p : "rsp",
                    (int)m->call_id.len, m->call_id.p);
        return 0;
    }
    const struct sip_addr *to = &m->addr[m->to];
    struct sip_media_msg mm = {
        .call_id = m->call_id,
        .from_tag = m->addr[m->from].tag,
        .is_request = m->is_request,
        .is_initial = m->is_request && !to->has_tag,
        .is_ack_or_prack =
            m->is_request && (m->method_id == SIP_METHOD_ACK || m->method_id == SIP_METHOD_PRACK),
        .sender = sender,
        .receiver = receiver,
        .sender_inside = proxy_is_inside(p, sender),
        .receiver_inside = proxy_is_inside(p, receiver),
        .sender_capped = !proxy_is_inside(p, sender) && !proxy_is_upstream_hop(p, sender),
        .callee = m->is_request && !to->has_tag && m->ruri.host.len > 0
                      ? sip_str_make(m->ruri.user.len ? m->ruri.user.p : m->ruri.host.p,
                                     (size_t)(m->ruri.host.p + m->ruri.host.len -
                                              (m->ruri.user.len ? m->ruri.user.p : m->ruri.host.p)))
                      : SIP_STR_NULL,
        .may_create = may_create,
        .sdp = &sdp,
        .now_ms = p->now,
    };
    struct sdp_rewrite rw;
    memset(&rw, 0, sizeof(rw));
    int rc = p->media->ops->sdp(p->media->self, &mm, &rw);
    if (rc != 0) {
        return rc;
    }
    long n = sdp_rewrite(&sdp, m->body, &rw, p->sdp_out, sizeof(p->sdp_out));
    if (n < 0) {
        proxy_log(p, "media: rewritten SDP too large (Call-ID %.*s): forwarded unchanged",
                  (int)m->call_id.len, m->call_id.p);
        return 0;
    }
    sip_build_body(bd, (struct sip_str){p->sdp_out, (size_t)n});
    return 0;
}

void proxy_media_end(struct sip_proxy *p, struct sip_str call_id)
{
    if (p->media != NULL) {
        p->media->ops->end(p->media->self, call_id);
    }
}

void sip_proxy_set_media(struct sip_proxy *p, struct sip_media *media)
{
    p->media = media;
}
