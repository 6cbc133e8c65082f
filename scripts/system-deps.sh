#!/usr/bin/env bash
# Installs the system packages trace needs when they are missing: libzbar0 (barcode
# decoding through pyzbar) and, for the browser tests of the consumer pages, Debian's
# chromium (driven by Playwright; Playwright's own browser downloads are never used).
# Uses apt-get when run as root; otherwise says what to run. A missing chromium is not
# fatal: the browser tests then skip with a loud message.
set -euo pipefail

missing=()
optional=()
if ! ldconfig -p 2>/dev/null | grep -q 'libzbar\.so\.0'; then
  missing+=(libzbar0)
fi
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  optional+=(chromium)
fi

if [ ${#missing[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing system packages: ${missing[*]}"
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if [ ${#optional[@]} -gt 0 ]; then
    echo "installing system packages for the browser tests: ${optional[*]}"
    apt-get install -y -qq "${optional[@]}" >/dev/null \
      || echo "!!! could not install ${optional[*]}: browser tests will be SKIPPED" >&2
  fi
  exit 0
fi

if [ ${#optional[@]} -gt 0 ]; then
  echo "!!! ${optional[*]} is not installed: the browser tests will be SKIPPED" >&2
  echo "    install it with: sudo apt-get install ${optional[*]}" >&2
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "trace needs these system packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
