#!/usr/bin/env bash
# tests/test_layers.sh LIBSIP LIBRTP LIBTLS: the layering the README promises, checked on the
# objects themselves: sip/, rtp/ and tls/ do no I/O and read no clock. Every symbol a library
# takes from outside itself must be on its allowlist (libc's memory and string functions; for
# rtp/ libsrtp2, for tls/ BoringSSL); socket calls, io_uring, file I/O and clocks never are.
set -u
fail=0
check() { if eval "$2"; then echo "ok   - $1"; else echo "FAIL - $1"; fail=1; fi; }
libc='calloc|malloc|realloc|free|mem(chr|cmp|cpy|move|set|mem)|explicit_bzero|str(chr|rchr|cmp|ncmp|casecmp|ncasecmp|len|nlen|tol|toul|toull|str|spn|cspn)|v?snprintf|__isoc99_sscanf|qsort|inet_ntop|inet_pton|atoi|abort|__stack_chk_fail|_GLOBAL_OFFSET_TABLE_|__assert_fail'
sanitizers='__(ubsan|asan|sanitizer|sancov|lsan)_.*|__sanitizer_cov_.*'
forbidden='socket|bind|connect|listen|accept4?|send|sendto|sendmsg|recv|recvfrom|recvmsg|io_uring_.*|__io_uring_.*|time|clock_gettime|gettimeofday|read|write|open|openat|close|fopen|fread|fwrite|epoll_.*|poll|select|syscall|usleep|nanosleep'
outside() { # the symbols lib takes from outside itself
    comm -23 <(nm -u "$1" 2>/dev/null | awk '$1 == "U" {print $2}' | sort -u) \
             <(nm --defined-only "$1" 2>/dev/null | awk 'NF >= 3 {print $3}' | sort -u)
}
judge() { # name lib extra-allowed-regex
    local bad forb
    outside "$2" > "$2.outside.txt"
    check "$1 references something (nm reads it: $(wc -l < "$2.outside.txt") symbols)" "[ -s '$2.outside.txt' ]"
    forb=$(grep -xE "$forbidden" "$2.outside.txt" | tr '\n' ' ')
    check "$1 calls no socket, io_uring, file or clock function (${forb:-none})" "[ -z '$forb' ]"
    bad=$(grep -vxE "($libc|$sanitizers${3:+|$3})" "$2.outside.txt" | tr '\n' ' ')
    check "$1 uses nothing outside its allowlist (${bad:-nothing else})" "[ -z '$bad' ]"
    rm -f "$2.outside.txt"
}
judge "sip/ ($(basename "$1"))" "$1" ""
judge "rtp/ ($(basename "$2"))" "$2" "srtp_.*"
judge "tls/ ($(basename "$3"))" "$3" "(SSL|BIO|ERR|EVP|HMAC|RAND|X509|CRYPTO|OPENSSL|OpenSSL|TLS|SHA256)_.*|SHA256|TLS_method|pthread_mutex_(init|destroy|lock|unlock)"
exit $fail
