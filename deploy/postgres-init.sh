#!/bin/sh
# One database and one role per service. Each role owns its database and
# can connect to nothing else: no service reads another's tables.
set -eu
for service in identity team entitlement notification; do
  var="ALLOT_$(echo "$service" | tr a-z A-Z)_DB_PASSWORD"
  password=$(printenv "$var")
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v role="$service" -v password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
done
