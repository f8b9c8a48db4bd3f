# Copyright (c) 2026 ucx-p2pmem developers
# SPDX-License-Identifier: BSD-3-Clause
#
# Shared by the autopkgtests: PASS/FAIL lines (the source tree's
# test/lib.sh), and an EMULATED P2PDMA tree made by the source tree's
# test/emu/p2pmem-emu (autopkgtest runs the tests from the unpacked
# source). Each test ends with "N passed, N failed" and exits non-zero on
# any failure.
set -u
. test/lib.sh # pass, fail, check, finish
tmp=${AUTOPKGTEST_TMP:-$(mktemp -d)}

# emu_tree DIR [regular]: the default emulated layout (3 providers, the
# first beside the RDMA device); with "regular", each allocate is a sparse
# 1 TiB regular file instead of a link to /dev/zero, so that /proc/PID/maps
# names the provider's file, as it names the kernel's sysfs attribute
emu_tree() {
	local root a
	root=$(test/emu/p2pmem-emu -o "$1") || return 1
	if [ "${2:-}" = regular ]; then
		for a in "$1"/sys/devices/pci0000:00/*/*/p2pmem/allocate; do
			rm "$a" && truncate -s 1T "$a" || return 1
		done
	fi
	echo "$root"
}

# the installed file of a package, by name
pkg_file() { dpkg -L "$1" | grep -m1 "/$2\$"; }
