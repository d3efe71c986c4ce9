/* tests/test_frame.c: stream framing (sip/frame.c), RFC 3261 §18.3 and RFC 5626 §3.5.1. */
#include <criterion/criterion.h>
#include <string.h>

#include "frame.h"

static struct sip_frame fr(const char *s)
{
    return sip_frame_next(s, strlen(s), 65535);
}

#define INV "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"

Test(frame, whole_message_with_body)
{
    const char *s = INV "Content-Length: 4\r\n\r\nabcdNEXT";
    struct sip_frame f = fr(s);
    cr_assert_eq(f.kind, SIP_FRAME_MESSAGE);
    cr_expect_eq(f.skip, 0);
    cr_expect_eq(f.len, strlen(s) - 4, "the body ends after Content-Length bytes");
}

Test(frame, compact_and_spaced_content_length)
{
    cr_expect_eq(fr(INV "l : 2\r\n\r\nxy").kind, SIP_FRAME_MESSAGE);
    cr_expect_eq(fr(INV "content-LENGTH:  2 \r\n\r\nxy").len,
                 strlen(INV "content-LENGTH:  2 \r\n\r\nxy"));
}

Test(frame, incomplete_headers_or_body_wait)
{
    cr_expect_eq(fr(INV "Content-Len").kind, SIP_FRAME_AGAIN);
    cr_expect_eq(fr(INV "Content-Length: 10\r\n\r\nabc").kind, SIP_FRAME_AGAIN);
}

Test(frame, missing_or_bad_content_length_is_fatal)
{
    cr_expect_eq(fr(INV "\r\n").kind, SIP_FRAME_BAD, "a stream message needs Content-Length");
    cr_expect_eq(fr(INV "Content-Length: x\r\n\r\n").kind, SIP_FRAME_BAD);
    cr_expect_eq(fr(INV "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab").kind, SIP_FRAME_BAD);
    cr_expect_eq(fr(INV "Content-Length: 99999999999\r\n\r\n").kind, SIP_FRAME_BAD);
}

Test(frame, over_max_is_fatal)
{
    const char *s = INV "Content-Length: 100\r\n\r\n";
    cr_expect_eq(sip_frame_next(s, strlen(s), 120).kind, SIP_FRAME_BAD);
    char big[300];
    memset(big, 'a', sizeof(big));
    cr_expect_eq(sip_frame_next(big, sizeof(big), 200).kind, SIP_FRAME_BAD,
                 "headers that never end are not buffered forever");
}

Test(frame, ping_and_pong)
{
    struct sip_frame f = fr("\r\n\r\n");
    cr_expect_eq(f.kind, SIP_FRAME_PING);
    cr_expect_eq(f.skip, 4);
    f = fr("\r\n");
    cr_expect_eq(f.kind, SIP_FRAME_AGAIN, "a lone CRLF (pong) is skipped, not answered");
    cr_expect_eq(f.skip, 2);
    f = fr("\r\n" INV "Content-Length: 0\r\n\r\n");
    cr_expect_eq(f.kind, SIP_FRAME_MESSAGE);
    cr_expect_eq(f.skip, 2);
}

Test(frame, content_length_on_the_request_line_is_not_a_header)
{
    const char *s = "OPTIONS sip:content-length:5@h SIP/2.0\r\nContent-Length: 0\r\n\r\n";
    struct sip_frame f = fr(s);
    cr_assert_eq(f.kind, SIP_FRAME_MESSAGE);
    cr_expect_eq(f.len, strlen(s));
}
