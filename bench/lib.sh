# Copyright (c) 2026 ucx-p2pmem developers
# SPDX-License-Identifier: BSD-3-Clause
# Shared helpers of bench/run and bench/guest-bench (sourced, bash).
#
# Every figure is a ratio of two things measured in the same run on the same
# machine. Results are rows of one CSV format:
#   item,figure,parameter,a_label,a_value,b_label,b_value,unit,ratio,target,result
# ratio = a_value / b_value; target is "<=X", ">=X" or empty (informational);
# result is MET, MISSED or info. csv_to_md renders such a file as Markdown.

CSV_HEADER=item,figure,parameter,a_label,a_value,b_label,b_value,unit,ratio,target,result

# median of the numbers given as arguments (the upper one of an even count)
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int(NR / 2) + 1] }'
}

# ratio A B with 3 decimals ("" when B is 0 or empty)
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 != 0) printf "%.3f\n", a / b }'
}

# verdict RATIO TARGET: MET, MISSED, or info without a target
verdict() {
	awk -v r="$1" -v t="$2" 'BEGIN {
		if (t == "") { print "info"; exit }
		if (r == "") { print "MISSED"; exit }
		op = substr(t, 1, 2); v = substr(t, 3) + 0
		ok = (op == "<=") ? (r + 0 <= v) : (r + 0 >= v)
		print ok ? "MET" : "MISSED"
	}'
}

# row FILE ITEM FIGURE PARAM A_LABEL A_VALUE B_LABEL B_VALUE UNIT TARGET [RATIO]
# appends one result row; the ratio is A/B unless RATIO is given (e.g. a
# median of paired ratios), the verdict is computed here
row() {
	local f=$1 r
	shift
	r=${10:-$(ratio "$5" "$7")}
	# commas inside a field would shift the columns: they become ';'
	printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$1" "${2//,/;}" "${3//,/;}" \
		"${4//,/;}" "$5" "${6//,/;}" "$7" "$8" "$r" "$9" \
		"$(verdict "$r" "$9")" >>"$f"
}

# csv_to_md CSV: the Markdown table of a result file
csv_to_md() {
	awk -F, 'NR == 1 { next }
	BEGIN {
		print "| # | figure | parameter | A | B | A/B | target | result |"
		print "|---|---|---|---|---|---|---|---|"
	}
	{
		res = ($11 == "MISSED") ? "**MISSED**" : $11
		printf "| %s | %s | %s | %s: %s %s | %s: %s %s | %s | %s | %s |\n",
			$1, $2, $3, $4, $5, $8, $6, $7, $8, $9,
			($10 == "" ? "-" : $10), res
	}' "$1"
}

# the machine, for the results header
machine() {
	local model cores
	model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
	cores=$(nproc 2>/dev/null)
	echo "${model:-unknown CPU}, $cores cores, $(uname -sr), $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-}"), UCX $(ucx_info -v 2>/dev/null | sed -n 's/^# Version //p' | head -1)"
}
