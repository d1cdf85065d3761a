#!/bin/sh
# dev-cert.sh - a self-signed certificate for the compose stack's TLS
# (HAProxy), for localhost and 127.0.0.1, valid 825 days. Writes
# docker/certs/dev.pem (certificate + key, what HAProxy's "crt" reads) and
# docker/certs/dev-ca.crt (the certificate alone, for clients to trust).
# docker/certs/ is git-ignored. An existing certificate is kept unless
# --force; SYNCGATE_CERT_DIR writes elsewhere. For production, put your own PEM (chain + key) there instead, or
# point SYNCGATE_CERT_DIR (compose.yml) at a folder holding it as dev.pem.
set -eu
cd "$(dirname "$0")"
dir=${SYNCGATE_CERT_DIR:-certs}
if [ -f "$dir/dev.pem" ] && [ "${1:-}" != --force ]; then
	echo "dev-cert: $dir/dev.pem exists (--force makes a new one)"
	exit 0
fi
command -v openssl >/dev/null 2>&1 || { echo "dev-cert: needs openssl (apt-get install openssl)"; exit 1; }
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 825 \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
	-subj "/CN=syncgate dev (localhost)" \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
	-addext "extendedKeyUsage=serverAuth" 2>/dev/null
cat "$tmp/cert.pem" "$tmp/key.pem" >"$dir/dev.pem"
cp "$tmp/cert.pem" "$dir/dev-ca.crt"
# readable by the load balancer's non-root user inside its container; a
# development key only, never one that protects anything
chmod 0644 "$dir/dev.pem" "$dir/dev-ca.crt"
echo "dev-cert: wrote $dir/dev.pem and $dir/dev-ca.crt (trust dev-ca.crt, or curl -k)"
