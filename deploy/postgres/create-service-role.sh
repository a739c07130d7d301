#!/bin/sh
# Run once by the postgres image when it creates the database (/docker-entrypoint-initdb.d): the service role every
# obank process connects as. It owns nothing; `obank migrate`, as the owner (POSTGRES_USER), grants it rows to
# read and write and no DDL (obank/db_roles.py).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v service_role="$OBANK_SERVICE_DB_USER" -v service_password="$OBANK_SERVICE_DB_PASSWORD" <<'SQL'
CREATE ROLE :"service_role" LOGIN PASSWORD :'service_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
SQL
