#!/usr/bin/env bash
# tests/tls_certs.sh DIR: the certificates of the TLS tests and benchmark, made fresh in DIR
# (EC P-256, valid 2 days): rootca; interca (signed by rootca); sipring.pem (IP 127.0.0.1,
# sipring.test; signed by interca) and sipring-chain.pem (leaf + intermediate); provider.pem
# (IP 127.0.0.1, provider.test; rootca); wrongname.pem (only wrong.test; rootca); rogue.pem
# (IP 127.0.0.1, signed by rogueca, which nobody trusts). Keys beside them as NAME.key.
set -eu
cd "$1"
mkcert() { # name subject-alt-name signer(stem or "self") [ca]
    local n=$1 san=$2 signer=$3 ext
    ext="subjectAltName=$san"
    [ "${4:-}" = ca ] && ext="basicConstraints=critical,CA:true"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$n.key" \
        -subj "/CN=$n" -out "$n.csr" 2>/dev/null
    if [ "$signer" = self ]; then
        openssl x509 -req -in "$n.csr" -signkey "$n.key" -days 2 -extfile <(echo "$ext") \
            -out "$n.pem" 2>/dev/null
    else
        openssl x509 -req -in "$n.csr" -CA "$signer.pem" -CAkey "$signer.key" -CAcreateserial \
            -days 2 -extfile <(echo "$ext") -out "$n.pem" 2>/dev/null
    fi
}
mkcert rootca "" self ca
mkcert interca "" rootca ca
mkcert sipring "IP:127.0.0.1,DNS:sipring.test" interca
cat sipring.pem interca.pem > sipring-chain.pem
mkcert provider "IP:127.0.0.1,DNS:provider.test" rootca
mkcert wrongname "DNS:wrong.test" rootca
mkcert rogueca "" self ca
mkcert rogue "IP:127.0.0.1" rogueca
