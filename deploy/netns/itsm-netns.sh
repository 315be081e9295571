#!/usr/bin/env bash
# A small cluster of test hosts on one Linux machine, built from network namespaces and veth
# pairs (no Docker needed): hosts db, db-b, coord, coord-b, plugin-a and plugin-b on a private bridge, plus an
# "operator" link from the machine itself so tests and people can reach the coordinator's API.
# Each host finds the others by name (its own /etc/hosts, which `ip netns exec` puts in place),
# and the name "coordinators" has both coordinator hosts' addresses, as a headless Service would.
#
#   itsm-netns.sh check               exit 0 if namespaces can be made here, 77 (and why) if not
#   itsm-netns.sh up                  create the hosts (replacing any left from an earlier run)
#   itsm-netns.sh down                kill everything in them and remove them
#   itsm-netns.sh addr HOST           print HOST's address
#   itsm-netns.sh exec HOST CMD...    run CMD on HOST
#   itsm-netns.sh kill HOST           kill -9 every process on HOST: the host "dies"
#   itsm-netns.sh cut HOST            unplug HOST's cable (no FIN, no RST: packets just vanish)
#   itsm-netns.sh restore HOST        plug it back in
#   itsm-netns.sh postgres DIR        start a throwaway PostgreSQL on host db; prints its conninfo
#   itsm-netns.sh pgstart DIR         start that PostgreSQL again (after its postmaster was killed)
#   itsm-netns.sh replica DIR RDIR    a synchronous streaming replica of DIR's PostgreSQL on host db-b;
#                                     prints a conninfo naming both hosts (target_session_attrs=read-write)
#   itsm-netns.sh promote RDIR        promote that replica to primary
#
# Needs root (network namespaces) and iproute2. Names start with $ITSM_NETNS_PREFIX (default
# itsm) and addresses with $ITSM_NETNS_SUBNET (default 10.77.0), so two runs can coexist.
set -euo pipefail

prefix=${ITSM_NETNS_PREFIX:-itsm}
subnet=${ITSM_NETNS_SUBNET:-10.77.0}
hosts=(db db-b coord coord-b plugin-a plugin-b)
switch="$prefix-switch"

host_number() {
    case "$1" in
        db) echo 10 ;; db-b) echo 11 ;; coord) echo 20 ;; coord-b) echo 21 ;; plugin-a) echo 31 ;; plugin-b) echo 32 ;;
        *) echo "unknown host '$1' (hosts: ${hosts[*]})" >&2; exit 2 ;;
    esac
}
namespace() { host_number "$1" >/dev/null; echo "$prefix-$1"; }
address() { echo "$subnet.$(host_number "$1")"; }
# Interface names are limited to 15 bytes.
port_name() { echo "${prefix:0:4}-$(host_number "$1")-sw"; }

check() {
    if [[ $(id -u) -ne 0 ]]; then echo "network namespaces need root; skipping the multi-host test" >&2; exit 77; fi
    if ! command -v ip >/dev/null; then echo "iproute2 (ip) is not installed" >&2; exit 77; fi
    local probe="$prefix-probe-$$"
    if ! ip netns add "$probe" 2>/dev/null; then
        echo "this machine does not permit network namespaces (ip netns add failed); skipping" >&2
        exit 77
    fi
    ip netns delete "$probe"
}

down() {
    for host in "${hosts[@]}"; do
        local ns; ns=$(namespace "$host")
        if ip netns list | grep -qw "$ns"; then
            ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
            ip netns delete "$ns"
        fi
        rm -rf "/etc/netns/$ns"
    done
    ip netns list | grep -qw "$switch" && ip netns delete "$switch"
    ip link show "$prefix-ops" >/dev/null 2>&1 && ip link delete "$prefix-ops"
    return 0
}

up() {
    down
    ip netns add "$switch"
    ip -n "$switch" link add br0 type bridge
    ip -n "$switch" link set br0 up
    for host in "${hosts[@]}"; do
        local ns; ns=$(namespace "$host")
        local port; port=$(port_name "$host")
        ip netns add "$ns"
        ip link add eth0 netns "$ns" type veth peer name "$port" netns "$switch"
        ip -n "$ns" addr add "$(address "$host")/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$ns" link set lo up
        ip -n "$switch" link set "$port" master br0 up
    done
    for host in "${hosts[@]}"; do
        local ns; ns=$(namespace "$host")
        mkdir -p "/etc/netns/$ns"
        {
            echo "127.0.0.1 localhost"
            for other in "${hosts[@]}"; do echo "$(address "$other") $other"; done
            echo "$(address coord) coordinators"
            echo "$(address coord-b) coordinators"
        } > "/etc/netns/$ns/hosts"
    done
    # The operator's workstation: this machine itself, at .1.
    ip link add "$prefix-ops" type veth peer name ops-sw netns "$switch"
    ip addr add "$subnet.1/24" dev "$prefix-ops"
    ip link set "$prefix-ops" up
    ip -n "$switch" link set ops-sw master br0 up
}

# PostgreSQL's programs (the newest installed), run as its own user: they refuse root.
postgres_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1; }
as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups --)

# Throwaway test data only: fsync off for speed. The keepalive and idle-in-transaction limits are
# what docs/operations.md asks of production too: a plugin host that vanishes mid-transaction must
# not hold its row locks for the kernel's two-hour default.
postgres_start() {
    local dir=$1 host=${2:-db}
    local bin; bin=$(postgres_bin)
    ip netns exec "$(namespace "$host")" "${as_postgres[@]}" "$bin/pg_ctl" -D "$dir/data" \
        -l "$dir/postgres.log" -w \
        -o "-c listen_addresses=$(address "$host") -c unix_socket_directories=$dir -c fsync=off -c max_connections=200 \
            -c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3 \
            -c idle_in_transaction_session_timeout=10s" start >/dev/null
}

postgres_up() {
    local dir=$1
    local bin; bin=$(postgres_bin)
    rm -rf "$dir"
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
    local password; password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    echo "$password" > "$dir/.pw"
    chown postgres "$dir/.pw"
    "${as_postgres[@]}" "$bin/initdb" -D "$dir/data" -U itsm --pwfile="$dir/.pw" -A scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1
    rm -f "$dir/.pw"
    # Kept for a replica's connection to this primary (libpq's password file format).
    echo "*:*:*:itsm:$password" > "$dir/pgpass"
    chown postgres "$dir/pgpass"
    chmod 600 "$dir/pgpass"
    echo "host all all $subnet.0/24 scram-sha-256" >> "$dir/data/pg_hba.conf"
    echo "host replication itsm $subnet.0/24 scram-sha-256" >> "$dir/data/pg_hba.conf"
    postgres_start "$dir"
    PGPASSWORD=$password "${as_postgres[@]}" "$bin/psql" -h "$dir" -U itsm -d postgres -qc "CREATE DATABASE itsm" >/dev/null
    echo "host=$(address db) port=5432 user=itsm password=$password dbname=itsm connect_timeout=5"
}

# A streaming replica of the primary in $1 on host db-b, made synchronous: a commit the primary
# acknowledges is on the replica too, so promoting it loses nothing acknowledged. The replica's
# copy of the configuration names no synchronous standby, so once promoted it commits alone.
replica_up() {
    local primary=$1 dir=$2
    local bin; bin=$(postgres_bin)
    local psql=(env PGPASSFILE="$primary/pgpass" "${as_postgres[@]}" "$bin/psql" -h "$primary" -U itsm -d postgres -qAt)
    rm -rf "$dir"
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
    ip netns exec "$(namespace db-b)" env PGPASSFILE="$primary/pgpass" "${as_postgres[@]}" "$bin/pg_basebackup" \
        -h "$(address db)" -U itsm -D "$dir/data" -X stream --checkpoint=fast --no-sync >"$dir/basebackup.log" 2>&1
    "${as_postgres[@]}" touch "$dir/data/standby.signal"
    echo "primary_conninfo = 'host=$(address db) port=5432 user=itsm passfile=$primary/pgpass application_name=replica'" \
        >> "$dir/data/postgresql.auto.conf"
    postgres_start "$dir" db-b
    "${psql[@]}" -c "ALTER SYSTEM SET synchronous_standby_names = 'replica'" -c "SELECT pg_reload_conf()" >/dev/null
    local state=""
    for _ in $(seq 100); do
        state=$("${psql[@]}" -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'replica'")
        [[ $state == sync ]] && break
        sleep 0.1
    done
    [[ $state == sync ]] || { echo "the replica did not become a synchronous standby (${state:-not streaming})" >&2; exit 1; }
    local password; password=$(cut -d: -f5 "$primary/pgpass")
    echo "host=$(address db),$(address db-b) port=5432,5432 user=itsm password=$password dbname=itsm connect_timeout=5 target_session_attrs=read-write"
}

promote() {
    local bin; bin=$(postgres_bin)
    ip netns exec "$(namespace db-b)" "${as_postgres[@]}" "$bin/pg_ctl" -D "$1/data" -w promote >/dev/null
}

# Every process on the host, SIGKILLed until none is left. One may exit between the listing and
# the kill (a backend ending its session): that is no failure, a process still there is.
kill_host() {
    local ns; ns=$(namespace "$1")
    for _ in $(seq 50); do
        local pids; pids=$(ip netns pids "$ns")
        [[ -z $pids ]] && return 0
        kill -9 $pids 2>/dev/null || true
        sleep 0.1
    done
    echo "processes left on $1: $(ip netns pids "$ns" | tr '\n' ' ')" >&2
    return 1
}

command=${1:-}
shift || true
case "$command" in
    check) check ;;
    up) up ;;
    down) down ;;
    addr) address "$1" ;;
    exec) host=$1; shift; exec ip netns exec "$(namespace "$host")" "$@" ;;
    kill) kill_host "$1" ;;
    cut) ip -n "$switch" link set "$(port_name "$1")" down ;;
    restore) ip -n "$switch" link set "$(port_name "$1")" up ;;
    postgres) postgres_up "$1" ;;
    pgstart) postgres_start "$1" ;;
    replica) replica_up "$1" "$2" ;;
    promote) promote "$1" ;;
    *) sed -n '2,21p' "$0" >&2; exit 2 ;;
esac
