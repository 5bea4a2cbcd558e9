#!/bin/sh
# docker-compose's one-shot key job (see docker-compose.yml).
set -eu
# Token signing and invitation keys: once; identity's user alone reads them.
[ -f /keys/signing.pem ] || allot keygen --dir /keys
chown 10001:10001 /keys/*
chmod 0400 /keys/*
# The deployment's CA (once) and a certificate per container, issued again
# when it expires within 30 days.
set -- --host identity --host team --host entitlement --host notification --host front-door --host postgres
for san in ${ALLOT_TLS_SAN:-}; do set -- "$@" --san "$san"; done
allot certs --dir /ca "$@"
chmod 0400 /ca/ca.key
for host in identity team entitlement notification front-door postgres; do
  cp /ca/"$host"/cert.pem /ca/"$host"/key.pem /ca/ca.pem /tls/"$host"/
  owner=10001:10001
  # PostgreSQL's image runs as uid 999 and wants its key to itself.
  [ "$host" = postgres ] && owner=999:999
  chown "$owner" /tls/"$host"/*
  chmod 0444 /tls/"$host"/cert.pem /tls/"$host"/ca.pem
  chmod 0400 /tls/"$host"/key.pem
done
