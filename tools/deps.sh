#!/bin/sh
# Installs the build dependencies (Debian packages) when they are missing.
# Called by `make`; safe to run by hand. Nothing else is ever downloaded.
set -e
# libopenblas0-openmp: the OpenBLAS build that shares the OpenMP thread pool.
PKGS="libopenblas-dev libopenblas0-openmp libcjson-dev"
missing=""
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq $missing >&2
else
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: install them with: sudo apt-get install$missing" >&2
    exit 1
fi
