#!/bin/sh
# Run once by the postgres image when it creates the database (docker-entrypoint-initdb.d):
# the verifiers' role, which may log in and, once `ketqua migrate --grant-reader
# ketqua_verifier` has run (compose.yaml's init step, after every migration), read the
# tables the public service answers from and nothing else (registry/roles.py).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v password="$KETQUA_VERIFIER_DB_PASSWORD" <<'SQL'
CREATE ROLE ketqua_verifier LOGIN PASSWORD :'password';
GRANT CONNECT ON DATABASE ketqua TO ketqua_verifier;
SQL
