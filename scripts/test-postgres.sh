#!/usr/bin/env bash
# A PostgreSQL server for the tests, in a folder of its own on a loopback port: the machine's PostgreSQL 15
# binaries (Debian's postgresql package), trust authentication on 127.0.0.1 only, no fsync (test data).
#
#   scripts/test-postgres.sh start DIR PORT [PID]   prints the server's URL; with PID, the server stops by
#                                                   itself once that process has ended
#   scripts/test-postgres.sh stop DIR
#
# initdb refuses to run as root: as root, the server runs as the `postgres` user.
set -euo pipefail
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
action=$1
dir=$2
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$action" in
start)
    port=$3
    watch=${4:-}
    if [ ! -x "$bin/initdb" ]; then
        echo "PostgreSQL's binaries are not in $bin: install Debian's postgresql package, or set PG_BIN" >&2
        exit 1
    fi
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300" \
        start >/dev/null
    if [ -n "$watch" ]; then
        # Stops the server once the process that asked for it has ended (a test run without .ci/run).
        nohup bash -c "while kill -0 $watch 2>/dev/null; do sleep 1; done; $(declare -f as_owner); as_owner $bin/pg_ctl -D $dir/data -m immediate stop" \
            >/dev/null 2>&1 &
    fi
    echo "postgres://postgres@127.0.0.1:$port"
    ;;
stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    ;;
*)
    echo "usage: $0 start DIR PORT [PID] | stop DIR" >&2
    exit 2
    ;;
esac
