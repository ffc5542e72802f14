#!/bin/sh
# Entrypoint of compose's `proxy` service (nginx:1.27): put the TLS certificate where
# deploy/nginx.conf reads it ($OMS_TLS_DIR/cert.pem and key.pem), then run the image's own
# entrypoint with the command ("$@").
#
# Where the certificate comes from, first match wins:
#   1. OMS_TLS_CERT and OMS_TLS_KEY: a certificate (with its chain) and its key, as paths inside
#      this container (compose mounts the host folder OMS_TLS_CERTS_DIR at /etc/oms/certs; an
#      ACME client's /etc/letsencrypt works as it is). They are linked, not copied, so a renewed
#      certificate is served after `nginx -s reload`.
#   2. fullchain.pem and privkey.pem in /etc/oms/certs.
#   3. None given: a self-signed certificate for OMS_TLS_HOSTNAME (default localhost), made at
#      the first start and kept in OMS_TLS_DIR (compose's `tls` volume). Every start says so
#      loudly: browsers warn about it, so it is for trying the stack, not for people.
set -eu

dir=${OMS_TLS_DIR:-/etc/nginx/tls}
mounted=/etc/oms/certs
cert=$dir/cert.pem
key=$dir/key.pem
marker=$dir/self-signed

say() { echo "oms-proxy: $*" >&2; }
loud() {
  say "########################################################################"
  for line in "$@"; do say "## $line"; done
  say "########################################################################"
}

source_cert=${OMS_TLS_CERT:-}
source_key=${OMS_TLS_KEY:-}
if [ -z "$source_cert$source_key" ] && [ -f "$mounted/fullchain.pem" ] && [ -f "$mounted/privkey.pem" ]; then
  source_cert=$mounted/fullchain.pem
  source_key=$mounted/privkey.pem
fi

mkdir -p "$dir"
if [ -n "$source_cert$source_key" ]; then
  if [ -z "$source_cert" ] || [ -z "$source_key" ]; then
    say "set both OMS_TLS_CERT and OMS_TLS_KEY (the certificate and its key), or neither"
    exit 1
  fi
  for file in "$source_cert" "$source_key"; do
    if [ ! -r "$file" ]; then
      say "cannot read $file: OMS_TLS_CERT and OMS_TLS_KEY are paths inside the proxy" \
        "container (the host folder OMS_TLS_CERTS_DIR is mounted at $mounted)"
      exit 1
    fi
  done
  ln -sfn "$source_cert" "$cert"
  ln -sfn "$source_key" "$key"
  rm -f "$marker"
  say "TLS certificate $source_cert, key $source_key"
else
  name=${OMS_TLS_HOSTNAME:-localhost}
  # a certificate of the settings (a link) or one for another name is replaced
  if [ -L "$cert" ] || [ ! -s "$cert" ] || [ ! -s "$key" ] || [ "$(cat "$marker" 2>/dev/null)" != "$name" ]; then
    case $name in
      *:*) san="IP:$name" ;;         # IPv6
      *[!0-9.]*) san="DNS:$name" ;;  # a name
      *) san="IP:$name" ;;           # IPv4
    esac
    rm -f "$cert" "$key"
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$name" \
      -addext "subjectAltName=$san,DNS:localhost,IP:127.0.0.1" \
      -keyout "$key" -out "$cert" 2>/dev/null
    chmod 600 "$key"
    echo "$name" > "$marker"
    say "made a self-signed TLS certificate for $name"
  fi
  loud "SELF-SIGNED TLS CERTIFICATE for $(cat "$marker") ($cert)." \
    "Browsers warn about it and people cannot tell it from an attacker's: it is for" \
    "trying the stack only. Give the proxy a real certificate: put fullchain.pem and" \
    "privkey.pem into OMS_TLS_CERTS_DIR (default deploy/certs), or set OMS_TLS_CERT and" \
    "OMS_TLS_KEY (README: Operations, Deploying)."
fi

exec "$@"
