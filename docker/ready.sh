#!/bin/bash
# Readiness check without curl (the image has none): exits 0 if GET /health/ready on the admin
# port answers 200. For docker compose's healthcheck and any orchestrator that runs a command;
# Kubernetes can probe GET :8081/health/ready directly.
set -eu
exec 3<>"/dev/tcp/127.0.0.1/${ADMIN_PORT:-8081}"
printf 'GET /health/ready HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
status=""
IFS= read -r -t 5 status <&3 || true
case "$status" in
  "HTTP/1."?" 200 "*) exit 0 ;;
  *) echo "not ready: ${status:-no answer}" >&2; exit 1 ;;
esac
