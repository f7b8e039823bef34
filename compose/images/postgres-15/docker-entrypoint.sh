#!/bin/bash
# Entrypoint of the element-harness PostgreSQL image.
#
# It honours the environment of the official postgres image (POSTGRES_PASSWORD,
# POSTGRES_USER, POSTGRES_DB, POSTGRES_HOST_AUTH_METHOD) so the harness can
# drive both the same way, but it is built for speed: the cluster was created
# with initdb when the image was built (/var/lib/postgresql/seed), so a start
# copies the seed into the (usually tmpfs) PGDATA, applies the settings in
# single-user mode (no temporary server) and execs the real server.
set -euo pipefail

SEED=/var/lib/postgresql/seed

log() { echo "[element-harness entrypoint] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
[ "$1" = postgres ] || exec "$@"

# The server refuses to run as root; setpriv execs (no extra process), so the
# server stays PID 1 and receives `docker stop`'s signal itself.
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

# file_env NAME [DEFAULT]: NAME's value, or the contents of the file named by
# NAME_FILE (Docker secrets), or DEFAULT.
file_env() {
    local name=$1 file="${1}_FILE"
    if [ -n "${!name:-}" ]; then printf '%s' "${!name}"
    elif [ -n "${!file:-}" ]; then cat -- "${!file}"
    else printf '%s' "${2:-}"; fi
}
sql_string() { printf "'%s'" "${1//\'/\'\'}"; }
sql_ident() { printf '"%s"' "${1//\"/\"\"}"; }

mkdir -p /var/run/postgresql "$PGDATA"
chown postgres:postgres /var/run/postgresql

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    password=$(file_env POSTGRES_PASSWORD)
    user=$(file_env POSTGRES_USER postgres)
    db=$(file_env POSTGRES_DB "$user")
    auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    if [ -z "$password" ] && [ "$auth" != trust ]; then
        die "Database is uninitialized and superuser password is not specified.
    You must specify POSTGRES_PASSWORD to a non-empty value for the
    superuser. For example, \"-e POSTGRES_PASSWORD=password\" on \"docker run\".
    You may also use \"POSTGRES_HOST_AUTH_METHOD=trust\" to allow all
    connections without a password. This is *not* recommended."
    fi

    # A tmpfs mount point is root-owned with mode 1777: copy, then fix it.
    cp -a "$SEED/." "$PGDATA/"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"

    cat > "$PGDATA/pg_hba.conf" <<HBA
# Written by the element-harness entrypoint (as the official image does).
local all all trust
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
host all all 0.0.0.0/0 $auth
host all all ::/0 $auth
HBA
    chown postgres:postgres "$PGDATA/pg_hba.conf"

    # Single-user mode reads one statement per line. The bootstrap superuser
    # (OID 10) cannot be renamed with ALTER ROLE while it is the session
    # user, so a POSTGRES_USER other than "postgres" is set in the catalogue.
    {
        if [ -n "$password" ]; then
            echo "ALTER ROLE postgres PASSWORD $(sql_string "$password");"
        fi
        if [ "$user" != postgres ]; then
            echo "UPDATE pg_authid SET rolname = $(sql_string "$user") WHERE oid = 10;"
        fi
        if [ "$db" != postgres ]; then
            echo "CREATE DATABASE $(sql_ident "$db");"
        fi
    } > /tmp/element-harness-init.sql
    # Single-user mode reports a failed statement but still exits 0: check
    # its output too.
    if ! as_postgres postgres --single -D "$PGDATA" postgres \
        < /tmp/element-harness-init.sql > /tmp/element-harness-init.log 2>&1 \
        || grep -qE '(ERROR|FATAL):  ' /tmp/element-harness-init.log; then
        cat /tmp/element-harness-init.log >&2
        die "applying POSTGRES_* settings failed"
    fi
    rm -f /tmp/element-harness-init.sql
fi

exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"
