#!/bin/sh
# Container entrypoint: optional one-time start-up work, then exec the command (so that it is
# PID 1's child-free replacement and receives SIGTERM directly).
#   DJANGO_MIGRATE_ON_START=1   run `manage.py migrate` first (docker-compose sets it on `web`
#                               only; scale-out deployments should run migrations as a release
#                               step instead, since concurrent migrate runs are not locked).
set -eu
if [ "${DJANGO_MIGRATE_ON_START:-0}" = "1" ]; then
  python manage.py migrate --noinput
fi
exec "$@"
