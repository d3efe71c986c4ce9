#!/usr/bin/env bash
# scripts/deps.sh: installs what sipring needs on Debian bookworm, from Debian's archive only.
#   - apt packages (build tools, liburing, Criterion, SIPp, peers for tests and benchmarks);
#   - static BoringSSL (libcrypto.a, libssl.a) and static libsrtp2 (libsrtp2.a), built from
#     Debian's source packages into .deps/ (git-ignored), once; rebuilt only when missing.
# Debian's libsrtp2 binary is built against NSS and its BoringSSL ships no static archive,
# hence the source builds. Run as root. Idempotent.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
deps=${SIPRING_DEPS:-$top/.deps}
prefix=$deps/prefix
BORINGSSL_VERSION=13.0.0+r24-2
SRTP_VERSION=2.5.0-3

log() { printf 'deps: %s\n' "$*" >&2; }

apt_pkgs=(build-essential meson ninja-build pkg-config clang libclang-rt-14-dev llvm
          liburing-dev libcriterion-dev sip-tester dpkg-dev python3 iproute2 procps nftables
          libosip2-dev libsofia-sip-ua-dev openssl ca-certificates kamailio kamailio-tls-modules dnsmasq-base
          rtpengine-daemon tcpdump baresip-core linphone-cli clang-format systemd
          libsqlite3-dev sqlite3 prometheus curl sngrep libbpf-dev libelf-dev zlib1g-dev)

missing=()
for p in "${apt_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# deb-src entries: derived from the machine's own deb sources, so no mirror is named here.
ensure_deb_src() {
    if grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        return 0
    fi
    log "adding deb-src entries mirroring the configured deb sources"
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -e "$f" ] || continue
        sed 's/^Types: deb$/Types: deb-src/' "$f" > "/etc/apt/sources.list.d/sipring-src-$(basename "$f")"
    done
    if [ -f /etc/apt/sources.list ]; then
        grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
            > /etc/apt/sources.list.d/sipring-src.list || true
    fi
    apt_updated=0
}

apt_updated=0
apt_update_once() {
    if [ "$apt_updated" = 0 ]; then
        apt-get update -q >&2
        apt_updated=1
    fi
}

need_src=0
[ -f "$prefix/lib/libssl.a" ] && [ -f "$prefix/lib/libcrypto.a" ] && [ -f "$prefix/lib/libsrtp2.a" ] || need_src=1

if [ "$need_src" = 1 ]; then
    ensure_deb_src
fi
if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
[ "$need_src" = 1 ] || exit 0

mkdir -p "$deps/src" "$prefix/lib/pkgconfig" "$prefix/include"
cd "$deps/src"
if ! ls android-platform-external-boringssl_*.dsc >/dev/null 2>&1 || ! ls libsrtp2_*.dsc >/dev/null 2>&1; then
    apt_update_once
    apt-get source -q --download-only \
        "android-platform-external-boringssl=$BORINGSSL_VERSION" "libsrtp2=$SRTP_VERSION" >&2
fi

if [ ! -f "$prefix/lib/libssl.a" ] || [ ! -f "$prefix/lib/libcrypto.a" ]; then
    log "building static BoringSSL $BORINGSSL_VERSION"
    rm -rf boringssl
    dpkg-source -x "android-platform-external-boringssl_${BORINGSSL_VERSION}.dsc" boringssl >&2
    make -s -C boringssl -f "$top/scripts/boringssl.mk" -j"$(nproc)" OUT="$prefix" \
        CC=gcc CXX=g++ >&2
    rm -rf "$prefix/include/openssl"
    cp -r boringssl/src/include/openssl "$prefix/include/"
fi

# pkg-config files so libsrtp2's meson finds this BoringSSL, not the system OpenSSL 3.
cat > "$prefix/lib/pkgconfig/libcrypto.pc" <<PC
prefix=$prefix
Name: libcrypto
Description: BoringSSL libcrypto (static, Debian source package)
Version: 1.1.1
Libs: -L\${prefix}/lib -lcrypto -lpthread
Cflags: -I\${prefix}/include
PC
cat > "$prefix/lib/pkgconfig/openssl.pc" <<PC
prefix=$prefix
Name: openssl
Description: BoringSSL (static, Debian source package)
Version: 1.1.1
Libs: -L\${prefix}/lib -lssl -lcrypto -lpthread
Cflags: -I\${prefix}/include
PC

if [ ! -f "$prefix/lib/libsrtp2.a" ]; then
    log "building static libsrtp2 $SRTP_VERSION against BoringSSL"
    rm -rf libsrtp2
    dpkg-source -x "libsrtp2_${SRTP_VERSION}.dsc" libsrtp2 >&2
    PKG_CONFIG_PATH="$prefix/lib/pkgconfig" PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" \
        meson setup libsrtp2/build libsrtp2 --prefix="$prefix" --libdir=lib \
        --default-library=static --buildtype=release -Dcrypto-library=openssl \
        -Dcrypto-library-kdf=disabled -Dtests=disabled -Ddoc=disabled -Dpcap-tests=disabled \
        -Dc_args='-ffunction-sections -fdata-sections' >&2
    ninja -C libsrtp2/build install >&2
    grep -q '#define GCM' libsrtp2/build/config.h || { log "libsrtp2 built without AES-GCM"; exit 1; }
fi
log "static libraries ready in $prefix/lib"
