#!/bin/bash
# Build-time step (Dockerfile RUN) of the element-harness PostgreSQL image:
# run initdb once, into /var/lib/postgresql/seed, so that a container start
# only copies it (see docker-entrypoint.sh).
set -euo pipefail

SEED=/var/lib/postgresql/seed

mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
chmod 2775 /var/run/postgresql
rm -rf "$SEED"
install -d -o postgres -g postgres -m 700 "$SEED"

# UTF8 + C.UTF-8: a minbase rootfs has no locale set, and initdb's default
# (SQL_ASCII) makes DataJoint fail on non-ASCII table comments.
# The bootstrap superuser is "postgres"; the entrypoint renames it when
# POSTGRES_USER asks for another name.
setpriv --reuid=postgres --regid=postgres --init-groups \
    initdb -D "$SEED" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 --no-instructions >/dev/null

# Throwaway test server on tmpfs: durability buys nothing here.
cat >> "$SEED/postgresql.conf" <<'CONF'

# element-harness
listen_addresses = '*'
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
