#!/bin/bash
# Build-time step (Dockerfile RUN) of the element-harness MySQL and MariaDB
# images: initialise the data directory once, into /var/lib/mysql-seed, so
# that a container start only has to copy it (see mysql-entrypoint.sh).
set -euo pipefail

SEED=/var/lib/mysql-seed

# Our own my.cnf replaces Debian's (which binds to 127.0.0.1 and logs to a
# file); /etc/mysql/conf.d/ stays included for user overrides.
ln -sf element-harness.cnf /etc/mysql/my.cnf
mkdir -p /etc/mysql/conf.d /run/mysqld /var/lib/mysql /var/lib/mysql-files
chown mysql:mysql /run/mysqld /var/lib/mysql /var/lib/mysql-files
chmod 750 /var/lib/mysql /var/lib/mysql-files
rm -rf "$SEED"

if command -v mariadbd >/dev/null; then
    # --skip-name-resolve: no root@<build-container-id> account.
    mariadb-install-db --user=mysql --datadir="$SEED" --skip-test-db \
        --auth-root-authentication-method=normal --skip-name-resolve >/dev/null
    # Keep only root@localhost and the system accounts, as the official
    # image does (install-db also makes password-less root@127.0.0.1/::1).
    mariadbd --bootstrap --user=mysql --datadir="$SEED" --log-warnings=0 <<'SQL'
DELETE FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost';
DELETE FROM mysql.global_priv WHERE User = '';
DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost';
SQL
else
    mysqld --initialize-insecure --user=mysql --datadir="$SEED"
    # A fresh server UUID per container (cheap); TLS and RSA keys are kept
    # because generating them at every start costs time.
    rm -f "$SEED/auto.cnf"
fi
chown -R mysql:mysql "$SEED"
