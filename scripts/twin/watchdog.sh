#!/bin/sh
# Runs a twin component and stops it when the Node.js process that started the twin is gone, even
# if that process was killed outright (SIGKILL leaves no chance to clean up): no orphaned etcd.
#   watchdog.sh PARENT_PID COMMAND [ARGS...]
parent="$1"
shift
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit $?' TERM INT HUP
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do
  sleep 1
done
kill -KILL "$child" 2>/dev/null
wait "$child"
