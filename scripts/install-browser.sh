#!/usr/bin/env bash
# Installs Debian's chromium and fonts-noto-cjk (Japanese glyphs) for the browser tests.
# Only as root with apt-get; does nothing when both are already there.
set -u
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-browser: not root or no apt-get; skipping Chromium install"
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
timeout 600 apt-get update -qq && timeout 900 apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
