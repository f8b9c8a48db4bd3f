#!/bin/sh
# Generate configure and Makefile.in.
set -e
cd "$(dirname "$0")"
mkdir -p config/m4 config/aux
autoreconf -fi "$@"
