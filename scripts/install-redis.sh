#!/usr/bin/env bash
# Installs Debian's redis-server (7.0) for the class store's Redis tests.
# Only as root with apt-get; does nothing when redis-server is already there.
set -u
if command -v redis-server >/dev/null; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-redis-server: not root or no apt-get; skipping"
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
timeout 900 apt-get install -y -qq redis-server >/dev/null 2>&1 || { timeout 600 apt-get update -qq && timeout 900 apt-get install -y -qq redis-server >/dev/null; }
