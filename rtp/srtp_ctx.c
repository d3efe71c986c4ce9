/* rtp/srtp_ctx.c: libsrtp2 set-up. */
#include "srtp_ctx.h"

#include <srtp2/srtp.h>

int rtp_srtp_lib_init(void)
{
    return srtp_init() == srtp_err_status_ok ? 0 : -1;
}

const char *rtp_srtp_lib_version(void)
{
    return srtp_get_version_string();
}
