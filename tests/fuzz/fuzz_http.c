/* tests/fuzz/fuzz_http.c: the metrics listener's request head (src/http_head.c) on any bytes.
 * The oracle: a GET gives a path that starts with '/', holds no '?' or space and fits, and a
 * query that fits; nothing else fills them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/http_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[HTTP_PATH_MAX], query[HTTP_PATH_MAX];
    enum http_head_result r = http_head_parse((const char *)data, size, path, query);
    size_t pl = strnlen(path, HTTP_PATH_MAX), ql = strnlen(query, HTTP_PATH_MAX);
    if (pl == HTTP_PATH_MAX || ql == HTTP_PATH_MAX) {
        abort(); /* not terminated */
    }
    if (r == HTTP_HEAD_GET) {
        if (path[0] != '/' || strchr(path, '?') != NULL || strchr(path, ' ') != NULL ||
            strchr(query, ' ') != NULL) {
            abort();
        }
    } else if (pl != 0 || ql != 0) {
        abort();
    }
    return 0;
}
