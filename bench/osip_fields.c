/* bench/osip_fields.c: the fields parse_bench reads, through libosip2. */
#include <stdlib.h>
#include <string.h>

#include <osipparser2/osip_parser.h>

extern volatile size_t sink;
int run_osip(const char *buf, size_t len);
void bench_osip_init(void);

void bench_osip_init(void)
{
    parser_init();
}

int run_osip(const char *buf, size_t len)
{
    osip_message_t *sip;
    osip_message_init(&sip);
    if (osip_message_parse(sip, buf, len) != 0) {
        osip_message_free(sip);
        return -1;
    }
    size_t acc = sip->req_uri ? strlen(sip->req_uri->host) : (size_t)sip->status_code;
    osip_via_t *via;
    for (int i = 0; osip_message_get_via(sip, i, &via) >= 0; i++) {
        osip_generic_param_t *br = NULL;
        osip_via_param_get_byname(via, "branch", &br);
        acc += strlen(via->host) + (via->port ? strlen(via->port) : 0) +
               (br && br->gvalue ? strlen(br->gvalue) : 0);
    }
    osip_generic_param_t *tag = NULL;
    osip_from_param_get_byname(sip->from, "tag", &tag);
    acc += strlen(sip->from->url->host) + (tag && tag->gvalue ? strlen(tag->gvalue) : 0);
    tag = NULL;
    osip_to_param_get_byname(sip->to, "tag", &tag);
    acc += tag && tag->gvalue ? strlen(tag->gvalue) : 0;
    acc += strlen(sip->call_id->number) + strlen(sip->cseq->number);
    osip_header_t *mf = NULL;
    osip_message_get_max_forwards(sip, 0, &mf);
    acc += mf ? strlen(mf->hvalue) : 0;
    osip_contact_t *c;
    for (int i = 0; osip_message_get_contact(sip, i, &c) >= 0; i++) {
        acc += c->url ? strlen(c->url->host) : 0;
    }
    osip_route_t *r;
    for (int i = 0; osip_message_get_route(sip, i, &r) >= 0; i++) {
        acc += strlen(r->url->host);
    }
    osip_record_route_t *rr;
    for (int i = 0; osip_message_get_record_route(sip, i, &rr) >= 0; i++) {
        acc += strlen(rr->url->host);
    }
    acc += sip->content_length ? strlen(sip->content_length->value) : 0;
    osip_body_t *body;
    if (osip_message_get_body(sip, 0, &body) >= 0) {
        acc += body->length;
    }
    sink += acc;
    osip_message_free(sip);
    return 0;
}
