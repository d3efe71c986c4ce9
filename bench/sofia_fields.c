/* bench/sofia_fields.c: the fields parse_bench reads, through sofia-sip. */
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_parser.h>

extern volatile size_t sink;
int run_sofia(const char *buf, size_t len);

int run_sofia(const char *buf, size_t len)
{
    msg_t *msg = msg_make(sip_default_mclass(), 0, buf, (isize_t)len);
    sip_t *sip = msg ? sip_object(msg) : NULL;
    if (sip == NULL || sip->sip_error != NULL || sip->sip_via == NULL) {
        msg_destroy(msg);
        return -1;
    }
    size_t acc = sip->sip_request ? strlen(sip->sip_request->rq_url->url_host)
                                  : (size_t)sip->sip_status->st_status;
    for (sip_via_t *v = sip->sip_via; v; v = v->v_next) {
        acc += strlen(v->v_host) + (v->v_port ? strlen(v->v_port) : 0) +
               (v->v_branch ? strlen(v->v_branch) : 0);
    }
    acc += strlen(sip->sip_from->a_url->url_host) +
           (sip->sip_from->a_tag ? strlen(sip->sip_from->a_tag) : 0) +
           (sip->sip_to->a_tag ? strlen(sip->sip_to->a_tag) : 0);
    acc += strlen(sip->sip_call_id->i_id) + sip->sip_cseq->cs_seq;
    acc += sip->sip_max_forwards ? sip->sip_max_forwards->mf_count : 0;
    for (sip_contact_t *c = sip->sip_contact; c; c = c->m_next) {
        acc += c->m_url->url_host ? strlen(c->m_url->url_host) : 0;
    }
    for (sip_route_t *r = sip->sip_route; r; r = r->r_next) {
        acc += strlen(r->r_url->url_host);
    }
    for (sip_record_route_t *r = sip->sip_record_route; r; r = r->r_next) {
        acc += strlen(r->r_url->url_host);
    }
    acc += sip->sip_content_length ? sip->sip_content_length->l_length : 0;
    acc += sip->sip_payload ? sip->sip_payload->pl_len : 0;
    sink += acc;
    msg_destroy(msg);
    return 0;
}
