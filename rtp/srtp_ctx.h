/* rtp/srtp_ctx.h: libsrtp2 set-up. SRTP sessions per relay leg arrive with issue 6. */
#ifndef SIPRING_RTP_SRTP_CTX_H
#define SIPRING_RTP_SRTP_CTX_H

/* rtp_srtp_lib_init: srtp_init() once; returns 0 or -1. */
int rtp_srtp_lib_init(void);

/* rtp_srtp_lib_version: libsrtp2's version string. */
const char *rtp_srtp_lib_version(void);

#endif
