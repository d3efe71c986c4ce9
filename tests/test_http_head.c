/* tests/test_http_head.c: the metrics listener's request head (src/http_head.c): a GET with
 * and without a query, a head not yet complete, other methods, targets that are empty, not a
 * path, too long or hold a NUL, and a request line cut by the buffer's end. */
#include <criterion/criterion.h>
#include <string.h>

#include "../src/http_head.h"

static enum http_head_result parse(const char *req, char *path, char *query)
{
    return http_head_parse(req, strlen(req), path, query);
}

Test(http_head, get_with_and_without_query)
{
    char path[HTTP_PATH_MAX], query[HTTP_PATH_MAX];
    cr_assert_eq(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", path, query), HTTP_HEAD_GET);
    cr_expect_str_eq(path, "/metrics");
    cr_expect_str_eq(query, "");
    cr_assert_eq(parse("GET /registrations?limit=2&offset=4 HTTP/1.1\r\n\r\n", path, query),
                 HTTP_HEAD_GET);
    cr_expect_str_eq(path, "/registrations");
    cr_expect_str_eq(query, "limit=2&offset=4");
}

Test(http_head, incomplete_other_methods_and_bad_targets)
{
    char path[HTTP_PATH_MAX], query[HTTP_PATH_MAX];
    cr_expect_eq(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", path, query), HTTP_HEAD_INCOMPLETE);
    cr_expect_eq(parse("POST /metrics HTTP/1.1\r\n\r\n", path, query), HTTP_HEAD_BAD_METHOD);
    cr_expect_eq(parse("GET  HTTP/1.1\r\n\r\n", path, query), HTTP_HEAD_BAD);
    cr_expect_eq(parse("GET metrics HTTP/1.1\r\n\r\n", path, query), HTTP_HEAD_BAD);
    cr_expect_eq(parse("GET /metrics\r\n\r\n", path, query), HTTP_HEAD_BAD, "no version");
    char longer[600] = "GET /";
    memset(longer + 5, 'a', 300);
    strcpy(longer + 305, " HTTP/1.1\r\n\r\n");
    cr_expect_eq(parse(longer, path, query), HTTP_HEAD_BAD, "a target over 255 bytes");
    static const char nul[] = "GET /me\0trics HTTP/1.1\r\n\r\n";
    cr_expect_eq(http_head_parse(nul, sizeof(nul) - 1, path, query), HTTP_HEAD_BAD);
}
