#!/usr/bin/env bash
# Unpacks the Enron mbox set from ../shared/data/enron into $1 (default target/enron) once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${RAPPORT_SHARED:-$root/../shared}
dest=${1:-$root/target/enron}
if [ -f "$dest/.complete" ]; then echo "$dest/enron_mbox"; exit 0; fi
mkdir -p "$dest"
zstd -q -d --long=30 -c "$shared/data/enron/enron_mbox_325k.tar.zst" | tar -x -C "$dest"
touch "$dest/.complete"
echo "$dest/enron_mbox"
