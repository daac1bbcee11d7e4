#!/usr/bin/env bash
# Issues the certificates of the secured compose stack (compose.secured.yaml), with openssl:
#
#   ca/ca.key, ca/ca.crt        an example CA, made once (kept here, never mounted)
#   web/tls.crt, web/tls.key    the exporter's serving certificate: DNS exporter (the service
#                               name Prometheus scrapes), DNS localhost, IP 127.0.0.1
#   web/ca.crt                  the CA the exporter checks client certificates against
#   prometheus/client.crt, prometheus/client.key
#                               Prometheus' client certificate (CN prometheus)
#   prometheus/ca.crt           the CA Prometheus checks the exporter's certificate against
#   prometheus/password         the basic-auth password Prometheus sends: the EXAMPLE password
#                               whose bcrypt hash web/web-config.yml holds for user prometheus
#
# Run it again to renew both certificates with the same CA: the running exporter serves the
# new one from its next TLS connection, without a restart. Delete ca/ to start over with a
# new CA (both sides get it from the same run, so that works without a restart too).
#
# FOR A LOCAL DEMO ONLY. The stack's containers run as other users than you (the exporter
# as 10001, Prometheus as nobody) and read these files through bind mounts, so the keys are
# made readable by every local user (mode 0644), and the password is an example committed
# in this repository. For anything else, issue real certificates, keep keys 0600 and owned
# by the reading user, and hash a password of your own (README: Security).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
days="${DAYS:-365}"
mkdir -p "$here/ca" "$here/web" "$here/prometheus"
# On the same file system as the targets, so that each mv below is an atomic rename.
work="$(mktemp -d "$here/.work.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if [[ ! -s "$here/ca/ca.key" || ! -s "$here/ca/ca.crt" ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$work/ca.key" -out "$work/ca.crt" -days 3650 \
    -subj "/CN=livesession-exporter compose example CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 0600 "$work/ca.key"
  mv "$work/ca.key" "$here/ca/ca.key"
  mv "$work/ca.crt" "$here/ca/ca.crt"
fi

# issue NAME CN EXTENSIONS: a P-256 key and a certificate signed by the CA, in $work.
issue() {
  local name="$1" cn="$2" extensions="$3"
  printf '%s\n' "$extensions" >"$work/$name.ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$work/$name.key" -out "$work/$name.csr" -subj "/CN=$cn" 2>/dev/null
  openssl x509 -req -in "$work/$name.csr" -CA "$here/ca/ca.crt" -CAkey "$here/ca/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days" -sha256 \
    -extfile "$work/$name.ext" -out "$work/$name.crt" 2>/dev/null
  chmod 0644 "$work/$name.key" "$work/$name.crt"
}

issue server exporter "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:exporter,DNS:localhost,IP:127.0.0.1"

issue client prometheus "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

cp "$here/ca/ca.crt" "$work/ca-web.crt"
cp "$here/ca/ca.crt" "$work/ca-prometheus.crt"
printf '%s' 'example-password-change-me' >"$work/password"
chmod 0644 "$work/ca-web.crt" "$work/ca-prometheus.crt" "$work/password"

# Each file is replaced by a rename, so a reader sees the old file or the new one, whole.
# The key and the certificate are two renames: a TLS connection opened between the two can
# fail its handshake once; the next one gets the new pair.
mv "$work/ca-web.crt" "$here/web/ca.crt"
mv "$work/server.key" "$here/web/tls.key"
mv "$work/server.crt" "$here/web/tls.crt"
mv "$work/ca-prometheus.crt" "$here/prometheus/ca.crt"
mv "$work/client.key" "$here/prometheus/client.key"
mv "$work/client.crt" "$here/prometheus/client.crt"
mv "$work/password" "$here/prometheus/password"
chmod 0755 "$here/web" "$here/prometheus"

echo "issued web/tls.crt (exporter, localhost, 127.0.0.1) and prometheus/client.crt (prometheus)," \
  "valid $days days, signed by ca/ca.crt"
