#!/bin/sh
# Initialises the data folder on first start, then runs MariaDB with an init file that creates
# the database and its user when missing (idempotent, so a restart changes nothing).
set -eu
if [ ! -d /var/lib/mysql/mysql ]; then
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db >/dev/null
fi
chown -R mysql:mysql /var/lib/mysql /run/mysqld
cat > /run/mysqld/init.sql <<SQL
CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;
CREATE USER IF NOT EXISTS '$MARIADB_USER'@'%' IDENTIFIED BY '$MARIADB_PASSWORD';
GRANT ALL PRIVILEGES ON \`$MARIADB_DATABASE\`.* TO '$MARIADB_USER'@'%';
FLUSH PRIVILEGES;
SQL
chown mysql:mysql /run/mysqld/init.sql
set -- --user=mysql --datadir=/var/lib/mysql --bind-address=0.0.0.0 --port=3306 \
  --socket=/run/mysqld/mysqld.sock --init-file=/run/mysqld/init.sql \
  --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci
if [ -n "${GALERA_NODES:-}" ]; then
  # Synchronous replication: a commit is acknowledged once the cluster has certified it, so an
  # answered write survives the loss of the node that took it.
  set -- "$@" --wsrep-on=ON --wsrep-provider=/usr/lib/galera/libgalera_smm.so \
    --wsrep-cluster-name=arrowhead --wsrep-cluster-address="gcomm://$GALERA_NODES" \
    --wsrep-node-address="$(hostname)" --wsrep-sst-method=rsync \
    --binlog-format=ROW --default-storage-engine=InnoDB --innodb-autoinc-lock-mode=2
  if [ "${GALERA_BOOTSTRAP:-0}" = 1 ] && [ ! -f /var/lib/mysql/grastate.dat ]; then
    set -- "$@" --wsrep-new-cluster
  fi
fi
exec mariadbd "$@"
