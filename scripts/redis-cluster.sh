#!/usr/bin/env bash
# Private Redis topologies on free loopback ports, for tests (make test-redis-cluster, and the Go
# tests that need their own through internal/testutil/testenv):
#
#   scripts/redis-cluster.sh start DIR           a 3-master Redis Cluster (no replicas)
#   scripts/redis-cluster.sh start-sentinel DIR  a master, its replica and one sentinel monitoring
#                                                them as "ccb" (quorum 1: it fails over alone)
#   scripts/redis-cluster.sh stop DIR            stops what DIR's start started, removes DIR
#
# start prints the service's settings as `export …` lines (eval them); DIR holds the nodes'
# configuration, logs and pids. Nothing is persisted (--save "", no AOF).
set -euo pipefail

MASTERS=${CCB_REDIS_CLUSTER_MASTERS:-3}

die() { echo "redis-cluster: $*" >&2; exit 1; }

need() {
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
		die "redis-server and redis-cli are needed (scripts/ensure-tools.sh installs the Debian package redis-server)"
}

# free_port prints a loopback port that is free now, below the kernel's ephemeral range (so no
# outgoing connection takes it in the meantime) and not handed out before by this script.
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && ! grep -qx "$p" "$DIR/ports" 2>/dev/null; then
			echo "$p" >>"$DIR/ports"
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

# wait_for tries a command for up to 30 s.
wait_for() {
	local what=$1
	shift
	for _ in $(seq 300); do
		if "$@" >/dev/null 2>&1; then return; fi
		sleep 0.1
	done
	die "timed out waiting for $what (logs in $DIR)"
}

# server starts one redis-server on a free port in the background, records its pid and prints
# the port; a port taken in the meantime (the server exits) is retried with another.
server() {
	local port pid
	for _ in 1 2 3 4 5; do
		port=$(free_port)
		redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --dir "$DIR" \
			--logfile "$DIR/redis-$port.log" "${@//PORT/$port}" </dev/null >/dev/null 2>&1 &
		pid=$!
		for _ in $(seq 300); do
			if redis-cli -p "$port" ping >/dev/null 2>&1; then
				echo "$pid" >>"$DIR/pids"
				echo "$port"
				return
			fi
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$pid" 2>/dev/null || true
		echo "redis-cluster: redis on port $port did not start: $(tail -3 "$DIR/redis-$port.log" 2>/dev/null)" >&2
	done
	die "redis-server did not start (logs in $DIR)"
}

cluster_ok() {
	local port
	for port in "$@"; do
		redis-cli -p "$port" cluster info | grep -q '^cluster_state:ok' || return 1
	done
}

start_cluster() {
	local ports=() addrs=() p
	for _ in $(seq "$MASTERS"); do
		# The bus port is chosen too (not port+10000, which may lie in the ephemeral range).
		p=$(server --cluster-enabled yes --cluster-config-file "$DIR/nodes-PORT.conf" --cluster-node-timeout 5000 \
			--cluster-port "$(free_port)")
		ports+=("$p")
		addrs+=("127.0.0.1:$p")
	done
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$DIR/create.log" 2>&1 ||
		die "redis-cli --cluster create failed: $(cat "$DIR/create.log")"
	wait_for "cluster_state:ok on every node" cluster_ok "${ports[@]}"
	echo "export CCB_REDIS_MODE=cluster CCB_REDIS_ADDRS=$(IFS=,; echo "${addrs[*]}")"
}

start_sentinel() {
	local master replica sentinel
	master=$(server)
	replica=$(server --replicaof 127.0.0.1 "$master")
	sentinel=$(free_port)
	cat >"$DIR/sentinel.conf" <<EOF
port $sentinel
bind 127.0.0.1
dir $DIR
logfile $DIR/sentinel-$sentinel.log
sentinel monitor ccb 127.0.0.1 $master 1
sentinel down-after-milliseconds ccb 2000
sentinel failover-timeout ccb 10000
EOF
	redis-server "$DIR/sentinel.conf" --sentinel </dev/null >/dev/null 2>&1 &
	echo $! >>"$DIR/pids"
	wait_for "the sentinel to know master ccb" redis-cli -p "$sentinel" sentinel get-master-addr-by-name ccb
	wait_for "the replica to sync" sh -c "redis-cli -p $replica info replication | grep -q '^master_link_status:up'"
	echo "export CCB_REDIS_MODE=sentinel CCB_REDIS_ADDRS=127.0.0.1:$sentinel CCB_REDIS_MASTER=ccb REDIS_URL=redis://127.0.0.1:$master/0"
	echo "export CCB_TEST_REDIS_REPLICA=127.0.0.1:$replica # not a setting: the replica, for tests"
}

stop() {
	if [[ -f $DIR/pids ]]; then
		# shellcheck disable=SC2046
		kill $(cat "$DIR/pids") 2>/dev/null || true
		for pid in $(cat "$DIR/pids"); do
			while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
		done
	fi
	rm -rf "$DIR"
}

cmd=${1:-}
DIR=${2:-}
[[ -n $DIR ]] || die "usage: $0 start|start-sentinel|stop DIR"
case $cmd in
start | start-sentinel)
	need
	mkdir -p "$DIR"
	[[ ! -f $DIR/pids ]] || die "$DIR already holds a running topology (stop it first)"
	DIR=$(cd "$DIR" && pwd)
	if [[ $cmd == start ]]; then start_cluster; else start_sentinel; fi
	;;
stop) stop ;;
*) die "usage: $0 start|start-sentinel|stop DIR" ;;
esac
