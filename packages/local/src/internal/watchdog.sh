#!/bin/sh
# Runs DynamoDB Local ("$@") and kills it as soon as our standard input closes:
# the Node process that started us holds the other end, so the JVM dies with it
# however it ends (stop(), crash, SIGKILL, Ctrl-C). No orphan java, ever.
"$@" </dev/null &
pid=$!
trap 'kill -9 "$pid" 2>/dev/null; exit 0' TERM INT HUP
read -r _line || true
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exit 0
