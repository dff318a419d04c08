#!/bin/sh
# Entrypoint of the Haven Gateway image.
#
#   serve (default)   apply migrations (`haven migrate`) unless MIGRATE_ON_START=0,
#                     then replace this shell with `haven serve`
#   migrate, create-user, demo, bot, purge ...   run that haven subcommand and nothing else
#   anything else     run it as a command (sh, python ...), for debugging
#
# In deploy/compose.yaml a one-shot `migrate` service applies migrations once and the
# gateways start with MIGRATE_ON_START=0, so two processes never migrate at the same time.
set -eu

MIGRATE_ON_START="${MIGRATE_ON_START:-1}"
# The database may still be starting when a lone container comes up: retry a while.
MIGRATE_ATTEMPTS="${MIGRATE_ATTEMPTS:-10}"

migrate() {
  attempt=1
  until haven migrate; do
    if [ "$attempt" -ge "$MIGRATE_ATTEMPTS" ]; then
      echo "haven-entrypoint: migrations failed $attempt times; giving up" >&2
      exit 1
    fi
    echo "haven-entrypoint: migrations failed (attempt $attempt of $MIGRATE_ATTEMPTS); retrying in 3 s" >&2
    attempt=$((attempt + 1))
    sleep 3
  done
}

if [ "$#" -eq 0 ]; then
  set -- serve
fi

case "$1" in
  serve)
    shift
    if [ "$MIGRATE_ON_START" = "1" ]; then
      migrate
    fi
    exec haven serve "$@"
    ;;
  migrate)
    shift
    migrate
    ;;
  create-user|demo|bot|purge|--help|-h)
    exec haven "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
