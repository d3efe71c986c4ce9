# tests/netns.sh: helpers the namespace test beds share (test_edge_netns.sh, test_field.sh);
# source it. Every address lives inside namespaces the caller made and removes.
#   nsx NS CMD...                        run CMD in namespace NS
#   link NS1 IF1 ADDR1 NS2 IF2 ADDR2     a veth pair between two namespaces, both ends up
#   masquerade NS OUT_IF                 an nftables NAT box: masquerade what leaves OUT_IF
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
link() {
    ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
    nsx "$1" ip addr add "$3" dev "$2"; nsx "$1" ip link set "$2" up
    nsx "$4" ip addr add "$6" dev "$5"; nsx "$4" ip link set "$5" up
}
masquerade() {
    nsx "$1" nft -f - <<NFT
table ip srnat {
    chain post {
        type nat hook postrouting priority 100;
        oifname "$2" masquerade
    }
}
NFT
}
# kamailio_tls_cfg DIR: Kamailio's tls module configuration for a provider presenting
# DIR/provider.pem (from tls_certs.sh) and verifying nobody
kamailio_tls_cfg() {
    cat <<TLSCFG
[server:default]
method = TLSv1.2+
certificate = $1/provider.pem
private_key = $1/provider.key
verify_certificate = no
require_certificate = no
[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
TLSCFG
}
