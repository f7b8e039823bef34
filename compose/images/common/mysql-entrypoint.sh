#!/bin/bash
# Entrypoint of the element-harness MySQL and MariaDB images.
#
# It honours the environment of the official mysql/mariadb images so the
# harness can drive both the same way, but it is built for speed: the data
# directory was initialised when the image was built (/var/lib/mysql-seed), so
# a start only copies that seed into the (usually tmpfs) data directory and
# lets the one and only server process apply the passwords via --init-file.
# There is no temporary bootstrap server, hence "ready for connections" is
# printed once (testcontainers' MySqlContainer waits for it twice: use a SQL
# readiness probe instead).
set -euo pipefail

DATADIR=/var/lib/mysql
SEED=/var/lib/mysql-seed
RUNDIR=/run/mysqld
INIT_FILE=$RUNDIR/element-harness-init.sql

if command -v mariadbd >/dev/null; then SERVER=mariadbd; else SERVER=mysqld; fi

log() { echo "[element-harness entrypoint] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Same conventions as the official images: `docker run IMAGE --some-option`
# passes options to the server; any other command is run as is.
if [ "${1:0:1}" = '-' ]; then set -- "$SERVER" "$@"; fi
case "$1" in
    mysqld | mariadbd) shift; set -- "$SERVER" "$@" ;;
    *) exec "$@" ;;
esac

# first_env NAME...: the value of the first variable (or of NAME_FILE, as the
# official images support Docker secrets) that is set and non-empty.
first_env() {
    local name file
    for name in "$@"; do
        if [ -n "${!name:-}" ]; then printf '%s' "${!name}"; return; fi
        file="${name}_FILE"
        if [ -n "${!file:-}" ]; then cat -- "${!file}"; return; fi
    done
}
sql_string() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\'\'}"; }
# shellcheck disable=SC2016  # the backticks are MySQL's identifier quotes
sql_ident() { printf '`%s`' "${1//\`/\`\`}"; }

mkdir -p "$RUNDIR"
chown mysql:mysql "$RUNDIR"

if [ -d "$DATADIR/mysql" ]; then
    # Existing data (no tmpfs, or a restarted container): use it as is, like
    # the official images, and ignore the password variables.
    exec "$@"
fi

root_password=$(first_env MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD)
allow_empty=$(first_env MARIADB_ALLOW_EMPTY_ROOT_PASSWORD MYSQL_ALLOW_EMPTY_PASSWORD)
random_root=$(first_env MARIADB_RANDOM_ROOT_PASSWORD MYSQL_RANDOM_ROOT_PASSWORD)
root_host=$(first_env MARIADB_ROOT_HOST MYSQL_ROOT_HOST)
root_host=${root_host:-%}
database=$(first_env MARIADB_DATABASE MYSQL_DATABASE)
user=$(first_env MARIADB_USER MYSQL_USER)
password=$(first_env MARIADB_PASSWORD MYSQL_PASSWORD)

if [ -z "$root_password" ] && [ -z "$allow_empty" ] && [ -z "$random_root" ]; then
    die "Database is uninitialized and password option is not specified.
    You need to specify one of the following as an environment variable:
    - MYSQL_ROOT_PASSWORD (or MARIADB_ROOT_PASSWORD)
    - MYSQL_ALLOW_EMPTY_PASSWORD (or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD)
    - MYSQL_RANDOM_ROOT_PASSWORD (or MARIADB_RANDOM_ROOT_PASSWORD)"
fi
if [ "$user" = root ]; then
    die "MYSQL_USER=root is not allowed: use MYSQL_ROOT_PASSWORD for the root user."
fi
if [ -n "$user" ] && [ -z "$password" ]; then
    die "MYSQL_USER is set but MYSQL_PASSWORD (or MARIADB_PASSWORD) is empty."
fi
if [ -z "$root_password" ] && [ -n "$random_root" ]; then
    root_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    log "GENERATED ROOT PASSWORD: $root_password"
fi

# A tmpfs mount point is root-owned with mode 1777: copy, then fix the owner.
cp -a "$SEED/." "$DATADIR/"
chown mysql:mysql "$DATADIR"
chmod 750 "$DATADIR"

# One statement per line: older servers' --init-file parsers need that.
pw=$(sql_string "$root_password")
{
    if [ "$SERVER" = mysqld ]; then
        # A throwaway server on tmpfs has nothing to recover after a crash: without
        # the redo log (MySQL 8.0.21+) each DDL statement costs the server less.
        echo "ALTER INSTANCE DISABLE INNODB REDO_LOG;"
    fi
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $pw;"
    if [ "$root_host" != localhost ]; then
        echo "CREATE USER IF NOT EXISTS 'root'@$(sql_string "$root_host") IDENTIFIED BY $pw;"
        echo "GRANT ALL PRIVILEGES ON *.* TO 'root'@$(sql_string "$root_host") WITH GRANT OPTION;"
    fi
    if [ -n "$database" ]; then
        echo "CREATE DATABASE IF NOT EXISTS $(sql_ident "$database");"
    fi
    if [ -n "$user" ]; then
        echo "CREATE USER IF NOT EXISTS $(sql_string "$user")@'%' IDENTIFIED BY $(sql_string "$password");"
        if [ -n "$database" ]; then
            echo "GRANT ALL PRIVILEGES ON $(sql_ident "$database").* TO $(sql_string "$user")@'%';"
        fi
    fi
} > "$INIT_FILE"
# The file holds passwords that are also in the container's environment; keep
# it readable by the server only.
chown mysql:mysql "$INIT_FILE"
chmod 600 "$INIT_FILE"

exec "$@" --init-file="$INIT_FILE"
