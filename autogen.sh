#!/bin/sh
# Copyright (c) 2026 ucx-p2pmem developers
# SPDX-License-Identifier: BSD-3-Clause
# Generate configure and Makefile.in.
set -e
cd "$(dirname "$0")"
mkdir -p config/m4 config/aux
autoreconf -fi "$@"
