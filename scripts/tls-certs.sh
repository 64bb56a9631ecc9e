#!/usr/bin/env bash
# Throw-away certificates for the TLS tests, the tls_echo example and the TLS benchmarks
# (EC P-256, made fresh each time; never commit the keys). rustls ignores the CN, so every
# leaf carries a subjectAltName.
#
# Usage: scripts/tls-certs.sh DIR
#   ca.pem ca.key                trusted test CA
#   server.pem server.key        CN=localhost, SAN DNS:localhost IP:127.0.0.1 IP:::1 (serverAuth)
#   server-chain.pem             server.pem + ca.pem
#   client.pem client.key        clientAuth, signed by the CA (mutual TLS)
#   other-host.pem other-host.key   valid, but for DNS:other.example only (name mismatch)
#   expired.pem expired.key      localhost, valid 2020-01-01 .. 2020-02-01 (expired)
#   rogue-ca.pem rogue.pem rogue.key  localhost, signed by a CA nobody trusts (unknown issuer)
set -euo pipefail
D=${1:?usage: tls-certs.sh DIR}
mkdir -p "$D"
cd "$D"
command -v openssl >/dev/null || { echo "tls-certs.sh: openssl not found" >&2; exit 127; }

ca() { # ca NAME CN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -keyout "$1.key" -out "$1.pem" -subj "/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
csr() { # csr NAME CN
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
    -out "$1.csr" -subj "/CN=$2" 2>/dev/null
}
leaf() { # leaf NAME CN CA EXTS
  csr "$1" "$2"
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days 3650 \
    -out "$1.pem" -extfile <(printf '%s\n' "$4") 2>/dev/null
  rm -f "$1.csr"
}
SERVER_EXT="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"

ca ca "torsion test CA"
leaf server localhost ca "$SERVER_EXT"
cat server.pem ca.pem > server-chain.pem
leaf client test-client ca "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
leaf other-host other.example ca "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:other.example"
ca rogue-ca "rogue CA"
leaf rogue localhost rogue-ca "$SERVER_EXT"

# An expired leaf: `openssl x509` cannot backdate, `openssl ca` can.
csr expired localhost
printf '%s\n' "$SERVER_EXT" > expired.ext
: > index.txt
printf '1000\n' > serial
cat > ca.cnf <<'CNF'
[ca]
default_ca = test
[test]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
[any]
commonName = supplied
CNF
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
  -startdate 20200101000000Z -enddate 20200201000000Z -extfile expired.ext -notext 2>/dev/null
rm -f expired.csr expired.ext index.txt* serial* ca.cnf ./*.srl 1000.pem
echo "$D"
