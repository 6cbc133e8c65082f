#!/usr/bin/env bash
# Installs the system libraries trace needs when they are missing: libzbar0 (barcode
# decoding through pyzbar). Uses apt-get when run as root; otherwise says what to run.
set -euo pipefail

missing=()
if ! ldconfig -p 2>/dev/null | grep -q 'libzbar\.so\.0'; then
  missing+=(libzbar0)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "trace needs these system packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
