#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/setup.d/*.apt (one per line, # comments).
set -euo pipefail
cd "$(dirname "$0")"
mapfile -t wanted < <(cat ./*.apt | sed 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "debian packages: ${#wanted[@]} wanted, ${#missing[@]} installed now"
