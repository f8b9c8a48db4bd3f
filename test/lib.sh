# shellcheck shell=bash
# Copyright (c) 2026 ucx-p2pmem developers
# SPDX-License-Identifier: BSD-3-Clause
#
# Shared by the shell test suites (host, and the guests of test/system):
# source it after `set -u`. Defines functions and sets
#   src     this source tree
#   build   the configured build tree: $BUILDDIR (make check sets it),
#           else build/default of the source tree
#   module  what the suites preload into UCX: $P2PMEM_TEST_MODULE (empty
#           when UCX loads the installed module itself), else the build's
#   pool    the emulated pool accounting (libp2pmem_emu_pool.so)
#   pre     $LD_PRELOAD_PREFIX and a space: a sanitizer runtime that must
#           be loaded first (the asan suite), else empty
# and, for the result lines every runner counts ("N passed, N failed"):
#   pass WHAT / fail WHAT [WHY] / skip WHAT [WHY]
#   check WHAT COMMAND...   pass or fail by the command's status (kept in
#                           check_status; check itself returns 0)
#   summary                 the "N passed, N failed" line; status: no failure
#   finish                  summary, then exit with its status
#   need FILE...            a missing built file fails the suite at once
#   workdir NAME [DIR]      work=<new temporary directory>, removed at exit
#   at_exit COMMAND         run COMMAND (a string) at exit, last added first
#   emu_tree DIR [ARG...]   an EMULATED provider tree (test/emu/p2pmem-emu);
#                           prints its PCI device directory
#   unexplained_errors FILE...  UCX errors but the fallbacks the module
#                           explained first; status 0 when none
# result_tag, when set, prefixes every result ("ucx-1.22.0: ...").

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILDDIR:-$src/build/default}
module=${P2PMEM_TEST_MODULE-$build/lib/libuct_p2pmem.so}
pool=$build/.libs/libp2pmem_emu_pool.so
pre=${LD_PRELOAD_PREFIX:+$LD_PRELOAD_PREFIX }

passed=0 failed=0 skipped=0
pass() { passed=$((passed + 1)); echo "PASS: ${result_tag:+$result_tag: }$1"; }
fail() { failed=$((failed + 1)); echo "FAIL: ${result_tag:+$result_tag: }$1${2:+ ($2)}"; }
skip() { skipped=$((skipped + 1)); echo "SKIP: ${result_tag:+$result_tag: }$1${2:+ ($2)}"; }
check() { # check WHAT COMMAND...
	local what=$1 st
	shift
	"$@"
	st=$?
	check_status=$st
	if [ $st -eq 0 ]; then
		pass "$what"
	else
		why_failed $st "$@"
		fail "$what"
	fi
}
# why_failed STATUS COMMAND...: what a failed check looked at, for the log
# (and CI's output): the command, its status, and the last lines of every
# existing file it names (also inside a bash -c string), usually the output
# of the program under test.
why_failed() {
	local st=$1 f files=() seen=" "
	shift
	echo "    check failed (status $st): $(printf '%q ' "$@")"
	for f in $(printf '%s\n' "$@" | grep -oE "/[^ '\"]+" | sort -u); do
		[ -f "$f" ] && [ -r "$f" ] || continue
		case $seen in *" $f "*) continue ;; esac
		seen="$seen$f "
		files+=("$f")
	done
	for f in ${files[@]+"${files[@]}"}; do
		echo "    last lines of $f:"
		tail -n 25 "$f" | sed 's/^/      /'
	done
}
summary() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
finish() {
	summary
	exit
}
need() { # need FILE...: each must exist (built by make check)
	local f
	for f in "$@"; do
		[ -e "$f" ] || { fail "$f not built (run make check)"; finish; }
	done
}

p2pmem_at_exit=()
p2pmem_run_at_exit() {
	local i
	for ((i = ${#p2pmem_at_exit[@]} - 1; i >= 0; i--)); do
		eval "${p2pmem_at_exit[i]}"
	done
}
at_exit() {
	p2pmem_at_exit+=("$1")
	trap p2pmem_run_at_exit EXIT
}
workdir() { # workdir NAME [PARENT]: not in a $(...) subshell (sets work)
	work=$(mktemp -d "${2:-${TMPDIR:-/tmp}}/p2pmem-$1.XXXXXX") ||
		{ fail "$1: cannot create a temporary directory"; finish; }
	at_exit 'rm -rf "$work"'
}
emu_tree() { # emu_tree DIR [p2pmem-emu options]
	local dir=$1
	shift
	"$src/test/emu/p2pmem-emu" -o "$dir" "$@"
}

# host_env: what every host suite (test/suites/*.test) starts with.
host_env() {
	# The scripts' own UCX_P2PMEM_* settings (SOURCES, CACHE, PREPARE,
	# QEMU, ...) are not UCX's: UCX warns about every UCX_* variable it
	# does not use ("unused env variable") in every test process, and the
	# checks count warnings. Only the module's settings stay, and
	# IMB_BIN, which the mpi suite takes and unsets itself. The osu suite
	# takes the archives folder back (p2pmem_sources) to build the
	# benchmarks.
	p2pmem_sources=${UCX_P2PMEM_SOURCES:-}
	local v
	for v in $(compgen -e); do
		case $v in
		UCX_P2PMEM_SYSFS_ROOT | UCX_P2PMEM_DEVICES | UCX_P2PMEM_ALLOC_INTERNAL | \
		UCX_P2PMEM_REG_CHECK | UCX_P2PMEM_SCRUB | UCX_P2PMEM_VERBOSE | \
		UCX_P2PMEM_IMB_BIN) ;;
		UCX_P2PMEM_*) unset "$v" ;;
		esac
	done
	export BUILDDIR=$build
	# An abort in any UCX process (an assertion, glibc, a library UCX
	# loads) prints UCX's backtrace before it exits with 134, as SIGSEGV
	# does by default: a crash under load leaves its stack in the log.
	export UCX_ERROR_SIGNALS=${UCX_ERROR_SIGNALS:-ILL,SEGV,BUS,FPE,ABRT}
	# How the tests get the module into UCX: UCX from 1.22 loads an
	# installed libuct_p2pmem.so.0 from its module directory itself
	# (test/ucx-release/run checks that), older releases need it preloaded.
	# P2PMEM_TEST_MODULE is what the suites preload; empty when UCX loads
	# the module on its own.
	if [ -z "${P2PMEM_TEST_MODULE+set}" ]; then
		if env -u LD_PRELOAD ucx_info -d 2>/dev/null | grep -q '^# *Component: p2pmem$'; then
			export P2PMEM_TEST_MODULE=
			echo "UCX $(ucx_info -v | sed -n -E 's/^# (Library version:|Version) *//p') loads the installed p2pmem module itself: no LD_PRELOAD"
		else
			export P2PMEM_TEST_MODULE=$build/lib/libuct_p2pmem.so
		fi
	fi
	module=$P2PMEM_TEST_MODULE
}

# unexplained_errors FILE...: UCX's error lines in FILE other than its
# "failed to allocate N bytes using md p2pmem for NAME" after a fallback the
# module explained first (an earlier line of the module naming 'NAME');
# prints them, status 0 when there is none.
unexplained_errors() {
	awk '
	FNR == 1 { delete said }
	/UCX  ERROR/ && / using md p2pmem for / {
		name = $0
		sub(/^.* using md p2pmem for /, "", name)
		sub(/: [^:]*$/, "", name)
		if (("\047" name "\047") in said) next
		print FILENAME ": " $0; bad = 1; next
	}
	/UCX  ERROR/ { print FILENAME ": " $0; bad = 1 }
	{
		rest = $0
		while (match(rest, /\047[^\047]*\047/)) {
			said[substr(rest, RSTART, RLENGTH)] = 1
			rest = substr(rest, RSTART + RLENGTH)
		}
	}
	END { exit bad }' "$@"
}

# wait_listen PORT PID: wait (at most 60 s) until a TCP socket listens on
# PORT, or the process PID has ended; status 0 when listening. A server
# started in the background is not ready after a fixed sleep on a loaded
# machine.
wait_listen() {
	local i
	for ((i = 0; i < 600; i++)); do
		ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# free_port: a TCP port nothing listens on (from a random start)
free_port() {
	local p=$((20000 + RANDOM % 30000)) i
	for ((i = 0; i < 100; i++, p++)); do
		ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo $p; return 0; }
	done
	echo $p
}

# cunit LABEL COMMAND...: a CUnit program's run as one result, from its
# "tests <total> <ran> <passed> <failed>" row and its exit status
cunit() {
	local label=$1 out rc ran p f asserts
	shift
	out=$(mktemp)
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	read -r _ _ ran p f _ < <(grep -E '^ +tests ' "$out")
	asserts=$(awk '$1 == "asserts" {print $4}' "$out")
	rm -f "$out"
	if [ "$rc" -eq 0 ] && [ "${f:-1}" -eq 0 ] && [ "${ran:-0}" -gt 0 ]; then
		pass "$label: $p of $ran CUnit tests passed ($asserts asserts)"
	else
		fail "$label: ${f:-?} of ${ran:-?} CUnit tests failed" "exit status $rc"
	fi
}
