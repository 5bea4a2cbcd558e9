#!/bin/sh
# docker-compose's one-shot key job (see docker-compose.yml).
set -eu
# Token signing and invitation keys: once; identity's user alone reads them.
[ -f /keys/signing.pem ] || allot keygen --dir /keys
# The key that seals the console's cookies: once; the console alone reads it.
if [ ! -f /console-key/cookie.key ]; then
  rm -rf /tmp/fresh
  allot keygen --dir /tmp/fresh >/dev/null
  mv /tmp/fresh/console-cookie.key /console-key/cookie.key
  rm -rf /tmp/fresh
fi
rm -f /keys/console-cookie.key
chown 10001:10001 /keys/* /console-key/*
chmod 0400 /keys/* /console-key/*
# The deployment's CA (once) and a certificate per container, issued again
# when it expires within 30 days or its names change. The services' serve
# and call each other (the console's calls them); the front door's also
# carries its public names;
# PostgreSQL's only serves (it cannot pass the services' client check).
allot certs --dir /ca --host identity --host team --host entitlement --host notification --host console
set -- --host front-door
# Split on spaces without expanding a wildcard name (*.example.com).
set -f
for san in ${FRONT_DOOR_NAMES:-}; do set -- "$@" --san "$san"; done
set +f
allot certs --dir /ca "$@"
allot certs --dir /ca --host postgres --server-only
chmod 0400 /ca/ca.key
for host in identity team entitlement notification console front-door postgres; do
  cp /ca/"$host"/cert.pem /ca/"$host"/key.pem /tls/"$host"/
  # Trust what /ca/trust.pem holds when an operator put one there (old and
  # new CA during a CA change), else the CA.
  if [ -f /ca/trust.pem ]; then cp /ca/trust.pem /tls/"$host"/ca.pem; else cp /ca/ca.pem /tls/"$host"/ca.pem; fi
  owner=10001:10001
  # PostgreSQL's image runs as uid 999 and wants its key to itself.
  [ "$host" = postgres ] && owner=999:999
  chown "$owner" /tls/"$host"/*
  chmod 0444 /tls/"$host"/cert.pem /tls/"$host"/ca.pem
  chmod 0400 /tls/"$host"/key.pem
done
