# Copyright (c) 2026 ucx-p2pmem developers
# SPDX-License-Identifier: BSD-3-Clause
#
# ucx-p2pmem: the names UCP gives its own allocations, read from the UCP
# sources of the UCX release configure builds against (config/ucx.m4).
#
# UCP reaches a memory domain's mem_alloc only through ucp_mem_do_alloc
# (and ucp_memh_alloc, which calls it); the alloc_name it passes is what
# the module sees. Collected here:
#  - string literals passed as that name to ucp_mem_do_alloc,
#    ucp_memh_alloc or any function that forwards its own name parameter
#    to one of them, directly or through a local variable assigned a
#    literal in the same function;
#  - the names of memory pools (ucs_mpool_init with .name, or its last
#    argument) whose ucs_mpool_ops_t allocates chunks with a function that
#    is not UCS's own (ucs_mpool_*: malloc, hugetlb): those pools call
#    ucp_memh_alloc with ucs_mpool_name().
# Prints one name per line, sorted by first appearance, "user memory"
# included (the caller checks it is there and leaves it out).
#
# Usage: awk -f ucp-alloc-names.awk FILE.c...   (mawk or gawk)

FNR == 1 {
    nfiles++
}

{
    text[nfiles] = text[nfiles] $0 "\n"
}

# Comments, preprocessor lines and character literals become blanks;
# string literals are kept.
function clean(s,    out, i, n, c, d, instr, line_start) {
    out = ""
    n = length(s)
    line_start = 1
    for (i = 1; i <= n; i++) {
        c = substr(s, i, 1)
        d = substr(s, i + 1, 1)
        if (instr) {
            out = out c
            if (c == "\\") {
                out = out d
                i++
            } else if (c == "\"") {
                instr = 0
            }
            continue
        }
        if ((c == "/") && (d == "*")) {
            for (i += 2; (i < n) && (substr(s, i, 2) != "*/"); i++) {
            }
            i++
            out = out " "
            continue
        }
        if ((c == "/") && (d == "/")) {
            while ((i <= n) && (substr(s, i, 1) != "\n")) {
                i++
            }
            out = out "\n"
            continue
        }
        if (line_start && (c == "#")) {
            # a preprocessor line and its continuations
            while (i <= n) {
                c = substr(s, i, 1)
                if ((c == "\n") && (substr(s, i - 1, 1) != "\\")) {
                    break
                }
                i++
            }
            out = out "\n"
            continue
        }
        if (c == "'") {
            for (i++; (i <= n) && (substr(s, i, 1) != "'"); i++) {
                if (substr(s, i, 1) == "\\") {
                    i++
                }
            }
            out = out " "
            continue
        }
        if (c == "\n") {
            line_start = 1
        } else if ((c != " ") && (c != "\t")) {
            line_start = 0
        }
        if (c == "\"") {
            instr = 1
        }
        out = out c
    }
    return out
}

function trim(s) {
    sub(/^[ \t\n]+/, "", s)
    sub(/[ \t\n]+$/, "", s)
    return s
}

# Top-level definitions: hdr[k] (text before the body) and body[k].
function split_top(s,    i, n, c, depth, inq, start, h) {
    n = length(s)
    h = ""
    depth = 0
    for (i = 1; i <= n; i++) {
        c = substr(s, i, 1)
        if (inq) {
            if (c == "\\") {
                i++
            } else if (c == "\"") {
                inq = 0
            }
            if (depth == 0) {
                h = h c
            }
            continue
        }
        if (c == "\"") {
            inq = 1
        }
        if (c == "{") {
            if (depth == 0) {
                start = i + 1
            }
            depth++
            continue
        }
        if (c == "}") {
            depth--
            if (depth == 0) {
                ndefs++
                hdr[ndefs]  = trim(h)
                body[ndefs] = substr(s, start, i - start)
                h = ""
            }
            continue
        }
        if (depth == 0) {
            if (c == ";") {
                h = ""
            } else {
                h = h c
            }
        }
    }
}

# The arguments of the call whose "(" is at position p of s: nargs, arg[].
function call_args(s, p,    i, n, c, depth, inq, cur) {
    nargs = 0
    cur = ""
    depth = 0
    n = length(s)
    for (i = p + 1; i <= n; i++) {
        c = substr(s, i, 1)
        if (inq) {
            cur = cur c
            if (c == "\\") {
                cur = cur substr(s, i + 1, 1)
                i++
            } else if (c == "\"") {
                inq = 0
            }
            continue
        }
        if (c == "\"") {
            inq = 1
        } else if ((c == "(") || (c == "[") || (c == "{")) {
            depth++
        } else if ((c == ")") || (c == "]") || (c == "}")) {
            if (depth == 0) {
                arg[++nargs] = trim(cur)
                return i
            }
            depth--
        } else if ((c == ",") && (depth == 0)) {
            arg[++nargs] = trim(cur)
            cur = ""
            continue
        }
        cur = cur c
    }
    return n
}

# A function header: its name (fname) and parameter names (np, pname[]),
# nameparam: the index of its "const char *" parameter, 0 if none.
function parse_header(h,    p, q, inner, k, decl, m) {
    fname = ""
    np = 0
    nameparam = 0
    if (h !~ /\)$/) {
        return 0
    }
    # the "(" matching the last ")"
    k = 0
    for (p = length(h); p > 0; p--) {
        if (substr(h, p, 1) == ")") {
            k++
        } else if (substr(h, p, 1) == "(") {
            if (--k == 0) {
                break
            }
        }
    }
    if (p <= 1) {
        return 0
    }
    q = substr(h, 1, p - 1)
    if (!match(q, /[A-Za-z_][A-Za-z_0-9]*[ \t\n]*$/)) {
        return 0
    }
    fname = trim(substr(q, RSTART, RLENGTH))
    if (fname ~ /^(if|while|for|switch|return|sizeof)$/) {
        fname = ""
        return 0
    }
    inner = substr(h, p, length(h) - p + 1)
    call_args(inner, 1)
    np = nargs
    for (k = 1; k <= nargs; k++) {
        decl = arg[k]
        m = match(decl, /[A-Za-z_][A-Za-z_0-9]*$/)
        pname[k] = m ? substr(decl, RSTART, RLENGTH) : ""
        if ((nameparam == 0) && (decl ~ /^const[ \t\n]+char[ \t\n]*\*/)) {
            nameparam = k
        }
    }
    return 1
}

function add_name(lit) {
    lit = substr(lit, 2, length(lit) - 2)
    if (!(lit in seen)) {
        seen[lit] = 1
        names[++nnames] = lit
    }
}

# Literals assigned to variable v in body b ("v = \"...\"").
function local_literals(b, v,    rest, lit) {
    rest = b
    while (match(rest, "(^|[^A-Za-z_0-9.>])" v "[ \t\n]*=[ \t\n]*\"[^\"]*\"")) {
        lit = substr(rest, RSTART, RLENGTH)
        rest = substr(rest, RSTART + RLENGTH)
        sub(/^[^"]*/, "", lit)
        add_name(lit)
    }
}

# Calls in definition d to functions of the alloc set: collect names,
# and return 1 if d forwards one of its own parameters as the name.
function scan_calls(d,    b, f, rest, off, p, a, k, changed) {
    b = body[d]
    changed = 0
    parse_header(hdr[d])
    for (f in nameidx) {
        rest = b
        off = 0
        while (match(rest, "(^|[^A-Za-z_0-9])" f "[ \t\n]*\\(")) {
            p = off + RSTART + RLENGTH - 1
            off = p
            rest = substr(b, p + 1)
            call_args(b, p)
            if ((f == fname) || (nargs < nameidx[f])) {
                continue
            }
            a = arg[nameidx[f]]
            if (a ~ /^"/) {
                add_name(a)
                continue
            }
            if (a !~ /^[A-Za-z_][A-Za-z_0-9]*$/) {
                continue   # ucs_mpool_name(mp), a structure member: below
            }
            for (k = 1; k <= np; k++) {
                if (pname[k] == a) {
                    break
                }
            }
            if (k <= np) {
                if (!(fname in nameidx)) {
                    nameidx[fname] = k
                    changed = 1
                }
            } else {
                local_literals(b, a)
            }
        }
    }
    return changed
}

# Pools whose chunks UCP allocates: the name of each ucs_mpool_init call
# (and the .name set before it) whose parameters name such ops.
function scan_pools(d,    b, rest, seg, p, k, o, lit, off) {
    b = body[d]
    off = 0
    rest = b
    while (match(rest, /ucs_mpool_init[ \t\n]*\(/)) {
        p = off + RSTART + RLENGTH - 1
        seg = substr(b, off + 1, call_args(b, p) - off)
        off = p
        rest = substr(b, p + 1)
        for (o in pool_ops) {
            if (match(seg, "&[ \t\n]*" o "([^A-Za-z_0-9]|$)")) {
                for (k = 1; k <= nargs; k++) {
                    if (arg[k] ~ /^"[^"]*"$/) {
                        add_name(arg[k])
                    }
                }
                while (match(seg, /\.name[ \t\n]*=[ \t\n]*"[^"]*"/)) {
                    lit = substr(seg, RSTART, RLENGTH)
                    seg = substr(seg, RSTART + RLENGTH)
                    sub(/^[^"]*/, "", lit)
                    add_name(lit)
                }
                break
            }
        }
    }
}

END {
    for (i = 1; i <= nfiles; i++) {
        split_top(clean(text[i]))
    }

    # ops tables and the definitions of the two allocation functions
    for (d = 1; d <= ndefs; d++) {
        if (match(hdr[d], /ucs_mpool_ops_t[ \t\n]+[A-Za-z_0-9]+[ \t\n]*=$/)) {
            o = hdr[d]
            sub(/^.*ucs_mpool_ops_t[ \t\n]+/, "", o)
            sub(/[ \t\n]*=$/, "", o)
            if (match(body[d], /\.chunk_alloc[ \t\n]*=[ \t\n]*[A-Za-z_0-9]+/)) {
                f = substr(body[d], RSTART, RLENGTH)
                sub(/^.*=[ \t\n]*/, "", f)
                if (f !~ /^ucs_/) {
                    pool_ops[o] = f
                }
            }
        } else if (parse_header(hdr[d]) &&
                   ((fname == "ucp_mem_do_alloc") ||
                    (fname == "ucp_memh_alloc")) && (nameparam > 0)) {
            nameidx[fname] = nameparam
        }
    }

    # forwarders, until none is added
    do {
        changed = 0
        for (d = 1; d <= ndefs; d++) {
            if (parse_header(hdr[d]) && scan_calls(d)) {
                changed = 1
            }
        }
    } while (changed)

    for (d = 1; d <= ndefs; d++) {
        if (parse_header(hdr[d])) {
            scan_pools(d)
        }
    }

    for (i = 1; i <= nnames; i++) {
        print names[i]
    }
}
