#!/bin/sh
# Example installer: runs once per role with the role as $1, in the node's
# install directory, with config.json and the copied files beside it.
# Lines starting with "clusterdeck:progress" move the progress gauge.
set -eu
role="${1:-}"
# The node's directory on every backend (on local it is also $HOME).
NODE_DIR="${CLUSTERDECK_NODE_DIR:-$HOME}"
export NODE_DIR
mkdir -p "$NODE_DIR/run" "$NODE_DIR/log"
echo "clusterdeck:progress 10 preparing $role on $CLUSTERDECK_NODE"
test -f config.json
test -x genconf/ip-detect
echo "clusterdeck:progress 50 starting the $role service"
case "$role" in
  master)
    # A stand-in service: a heartbeat file touched every second.
    nohup sh -c 'while :; do date > "$NODE_DIR/run/heartbeat"; sleep 1; done' >"$NODE_DIR/log/master.log" 2>&1 &
    echo $! > "$NODE_DIR/run/master.pid"
    ;;
  agent)
    nohup sh -c 'while :; do sleep 1; done' >"$NODE_DIR/log/agent.log" 2>&1 &
    echo $! > "$NODE_DIR/run/agent.pid"
    ;;
  *)
    echo "unknown role: $role" >&2
    exit 2
    ;;
esac
echo "installed $role on $CLUSTERDECK_NODE (cluster nodes: $CLUSTERDECK_NODES)"
echo "clusterdeck:progress 100 done"
