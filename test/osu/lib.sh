# shellcheck shell=bash
# Copyright (c) 2026 ucx-p2pmem developers
# SPDX-License-Identifier: BSD-3-Clause
#
# Shared by test/osu/run (host, emulated provider) and the two-node guests
# (test/system/two-node): run one OSU micro-benchmark under
# scripts/p2pmem-mpirun and judge its output. Source it; it defines
# functions only. The caller sets:
#   OSU_BIN       <omb prefix>/libexec/osu-micro-benchmarks/mpi
#   OSU_MPIRUN    array: scripts/p2pmem-mpirun and options before -np
#                 (e.g. ("$src/scripts/p2pmem-mpirun" --oversubscribe));
#                 --preload is put right after the first word
#   OSU_PROVIDER  ERE of the provider name the libraries print
#                 (e.g. '0000:01:00\.0 \(emulated'), or a real BDF
#   OSU_TIMEOUT   seconds per run (default 300)
#   OSU_LOGDIR    optional: UCX logs go to OSU_LOGDIR/ucx.<host>.<pid>, one
#                 file per process, instead of through mpirun's forwarding,
#                 which can split a long line between two tags
#
# Placements (PLACE):
#   preload  unmodified benchmark under --preload: its buffers of at least
#            P2PMEM_THRESHOLD from p2pmem; libp2pmem reports every block
#            (P2PMEM_VERBOSE) and the preload its totals (P2PMEM_STATS)
#   win      -w allocate windows through osc ucx -> ucp_mem_map -> the
#            module, which reports every mapping at UCX_LOG_LEVEL=debug
#   host     no preload: malloc() buffers (baseline)
#   hostwin  -w allocate with UCX's default UCX_ALLOC_PRIO order (sysv
#            first): host windows (baseline)

osu_host_prio=md:sysv,md:posix,huge,thp,mmap,heap

# osu_exec OUT PLACE NP PROGRAM ARGS...: run it; status in osu_status.
# Every rank's lines carry Open MPI's "[job,rank]<stream>:" tag.
osu_exec() {
	local out=$1 place=$2 np=$3 pre=() envs=()
	shift 3
	case $place in
	preload)
		pre=(--preload)
		envs=(P2PMEM_STATS=1 P2PMEM_VERBOSE=1)
		;;
	win) envs=(UCX_LOG_LEVEL=debug) ;;
	hostwin) envs=(UCX_LOG_LEVEL=debug "UCX_ALLOC_PRIO=$osu_host_prio") ;;
	host) ;;
	*) echo "osu_exec: unknown placement $place" >&2; return 2 ;;
	esac
	if [ -n "${OSU_LOGDIR:-}" ]; then
		rm -f "$OSU_LOGDIR"/ucx.*
		case $place in
		win | hostwin) envs+=("UCX_LOG_FILE=$OSU_LOGDIR/ucx.%h.%p") ;;
		esac
	fi
	env "${envs[@]}" timeout -k 10 "${OSU_TIMEOUT:-300}" \
		"${OSU_MPIRUN[0]}" "${pre[@]}" "${OSU_MPIRUN[@]:1}" -np "$np" --tag-output "$@" \
		>"$out" 2>&1
	osu_status=$?
}

# The benchmark's own lines (tags removed, UCX log lines dropped).
osu_lines() {
	sed -E 's/^\[[0-9]+,[0-9]+\]<std(out|err)>://' "$1" | grep -v ' UCX  \(DEBUG\|TRACE\|DIAG\) '
}

# osu_judge OUT VALIDATE: why the run failed, or nothing when it did not.
# A result row is "SIZE VALUE..."; with validation every row must say Pass
# and no rank may print a failed validation.
osu_judge() {
	local out=$1 validate=$2 rows bad
	if [ "$osu_status" = 124 ] || [ "$osu_status" = 137 ]; then
		echo "timeout after ${OSU_TIMEOUT:-300}s"
		return
	fi
	rows=$(osu_lines "$out" | grep -cE '^[0-9]+ +[0-9]+\.[0-9]+')
	# OMB's words: a row ending in Fail/failed, "FAILED: ..." summaries
	# of the atomics, "DATA VALIDATION ERROR" when a rank stops
	bad=$(osu_lines "$out" | grep -E '^[0-9]+ +[0-9.]+ +(Fail|failed)|^FAILED:|DATA VALIDATION ERROR' | head -1)
	if [ -n "$bad" ]; then
		echo "validation failed: $bad"
	elif [ "$osu_status" != 0 ]; then
		echo "exit status $osu_status"
	elif [ "$rows" = 0 ]; then
		echo "no result rows"
	elif [ "$validate" = 1 ] &&
		[ "$(osu_lines "$out" | grep -ciE '^[0-9]+ +[0-9]+\.[0-9]+ +pass')" != "$rows" ]; then
		echo "not every row validated Pass"
	fi
}

# What kind of failure (for comparing with the host-buffer run).
osu_kind() {
	case $1 in
	"") echo ok ;;
	validation*) echo validation ;;
	timeout*) echo timeout ;;
	*) echo error ;;
	esac
}

# osu_where_preload OUT NP MIN NBUF: every rank got at least NBUF blocks of
# at least MIN bytes from the provider (libp2pmem's own line per block) and
# its preload counted p2pmem allocations and no host fallback. Prints what
# is missing in osu_why ("" when all is there), what was found in osu_where.
osu_where_preload() {
	local out=$1 np=$2 min=$3 nbuf=$4 r n a f why= blocks=0
	for ((r = 0; r < np; r++)); do
		# "libp2pmem: rank R, pid P: SIZE bytes at ..." (P2PMEM_VERBOSE)
		n=$(sed -nE "s/^\[[0-9]+,$r\]<std(out|err)>:libp2pmem: (rank [0-9]+, )?pid [0-9]+: ([0-9]+) bytes at 0x[0-9a-f]+ from ${OSU_PROVIDER}.*/\3/p" "$out" |
			awk -v m="$min" '$1 >= m' | wc -l)
		blocks=$((blocks + n))
		a=$(sed -nE "s/^\[[0-9]+,$r\]<std(out|err)>:libp2pmem_preload: stats: .*p2pmem: ([0-9]+) allocations.*/\2/p" "$out" | tail -1)
		f=$(sed -nE "s/^\[[0-9]+,$r\]<std(out|err)>:libp2pmem_preload: stats: .*host fallback: ([0-9]+) allocations.*/\2/p" "$out" | tail -1)
		[ "$n" -ge "$nbuf" ] || why="$why rank $r: $n block(s) of >= $min bytes from the provider (want $nbuf);"
		[ -n "$a" ] && [ "$a" -ge "$nbuf" ] || why="$why rank $r: preload statistics count ${a:-no} p2pmem allocations;"
		[ "${f:-x}" = 0 ] || why="$why rank $r: ${f:-no statistics for} host fallback(s);"
	done
	osu_where="$blocks blocks >= $min bytes from the provider on $np ranks, no host fallback"
	osu_why=${why%;}
}

# osu_where_win OUT NP MIN: every rank's process mapped a 'user memory'
# block of at least MIN bytes from the provider (the module's debug line,
# "[host:pid:thread]" prefixed), i.e. its MPI_Win_allocate window; the
# window's process is the rank's. Sets osu_why and osu_where likewise.
osu_where_win() {
	local out=$1 np=$2 min=$3 r n why= pids f
	if [ -n "${OSU_LOGDIR:-}" ]; then
		# one log per process: count the processes that mapped a window
		pids=0
		for f in "$OSU_LOGDIR"/ucx.*; do
			[ -e "$f" ] || continue
			n=$(sed -nE "s/.* DEBUG *mapped ([0-9]+) bytes at 0x[0-9a-f]+ from ${OSU_PROVIDER}.* for 'user memory'.*/\1/p" "$f" |
				awk -v m="$min" '$1 >= m' | wc -l)
			[ "$n" -ge 1 ] && pids=$((pids + 1))
		done
		[ "$pids" -ge "$np" ] || why=" $pids of $np processes have a window mapping of >= $min bytes from the provider in their UCX log;"
		if cat "$OSU_LOGDIR"/ucx.* 2>/dev/null | grep -q 'p2pmem.*\(warning\|fall\)'; then
			why="$why the module warned: $(cat "$OSU_LOGDIR"/ucx.* | grep -m1 'p2pmem.*\(warning\|fall\)' | cut -c1-200);"
		fi
		osu_where="windows of >= $min bytes mapped from the provider by $pids processes (their UCX logs)"
		osu_why=${why%;}
		return
	fi
	for ((r = 0; r < np; r++)); do
		n=$(sed -nE "s/^\[[0-9]+,$r\]<std(out|err)>:.* DEBUG *mapped ([0-9]+) bytes at 0x[0-9a-f]+ from ${OSU_PROVIDER}.* for 'user memory'.*/\2/p" "$out" |
			awk -v m="$min" '$1 >= m' | wc -l)
		[ "$n" -ge 1 ] || why="$why rank $r: no window mapping of >= $min bytes from the provider in the module's log;"
	done
	# one process per rank: the pids in the mapping lines differ
	pids=$(sed -nE "s/^\[[0-9]+,[0-9]+\]<std(out|err)>:\[[0-9.]+\] \[[^:]+:([0-9]+) *:[0-9]+\].* DEBUG *mapped .* for 'user memory'.*/\2/p" "$out" | sort -u | wc -l)
	[ "$pids" -ge "$np" ] || why="$why window mappings from $pids process(es), want $np;"
	if grep -q 'p2pmem.*\(warning\|fall\)' "$out"; then
		why="$why the module warned: $(grep -m1 'p2pmem.*\(warning\|fall\)' "$out" | cut -c1-200);"
	fi
	osu_where="windows of >= $min bytes mapped from the provider by $pids processes"
	osu_why=${why%;}
}
