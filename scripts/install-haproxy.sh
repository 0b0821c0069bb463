#!/usr/bin/env bash
# Installs Debian's haproxy (2.6) for the replicas test and `make replicas`.
# Only as root with apt-get; does nothing when haproxy is already there.
set -u
if command -v haproxy >/dev/null; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-haproxy: not root or no apt-get; skipping"
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
timeout 900 apt-get install -y -qq haproxy >/dev/null 2>&1 || { timeout 600 apt-get update -qq && timeout 900 apt-get install -y -qq haproxy >/dev/null; }
