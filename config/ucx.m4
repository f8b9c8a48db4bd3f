# Copyright (c) 2026 ucx-p2pmem developers
# SPDX-License-Identifier: BSD-3-Clause
#
# ucx-p2pmem: find the installed UCX, the matching UCX source tree, the
# build options that shape UCX's structures, and the few interface
# differences between the supported releases.
#
# A UCT component is built against UCX's internal headers (uct/base/*.h),
# which UCX does not install, and the internal interface is not ABI-stable
# across releases: the source tree must be of exactly the installed version.
# What differs between releases is found by compiling against that tree
# (P2PMEM_UCX_FEATURES), never by the version number, so a new release needs
# a new feature test at most.

# P2PMEM_UCX_CHECK_TYPE(DEFINE, DESCRIPTION, TYPE, EXPECTED-TYPE)
# Define DEFINE when UCX's TYPE (a hook's function type) is EXPECTED-TYPE.
AC_DEFUN([P2PMEM_UCX_CHECK_TYPE], [
    AC_MSG_CHECKING([whether UCX $2])
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[
#include <uct/base/uct_md.h>
#include <uct/base/uct_iface.h>
#include <uct/base/uct_component.h>
]], [[static int same[__builtin_types_compatible_p($3, $4) ? 1 : -1];
      (void)same;]])],
        [AC_MSG_RESULT([yes])
         AC_DEFINE([$1], [1], [UCX $2])],
        [AC_MSG_RESULT([no])])
])

AC_DEFUN([P2PMEM_UCX_FEATURES], [
    p2pmem_save_CPPFLAGS=$CPPFLAGS
    CPPFLAGS="$CPPFLAGS $UCX_CFLAGS $UCX_INTERNAL_CFLAGS"

    AC_CHECK_HEADER([uct/base/uct_md.h], [],
        [AC_MSG_ERROR([cannot compile UCX's uct/base/uct_md.h from
$with_ucx_src with the installed UCX's headers; see config.log])])

    # 1.17 moved the alignment helpers out of ucs/sys/math.h
    AC_CHECK_HEADERS([ucs/sys/ptr_arith.h])

    AC_CHECK_MEMBERS([uct_md_ops_t.is_sockaddr_accessible,
                      uct_md_ops_t.mem_attach,
                      uct_md_ops_t.mem_elem_pack,
                      uct_component_t.rkey_compare,
                      uct_iface_internal_ops_t.iface_query_v2,
                      uct_iface_internal_ops_t.ep_connect_to_ep_v2,
                      uct_iface_internal_ops_t.iface_is_reachable_v2,
                      uct_iface_internal_ops_t.ep_is_connected,
                      uct_iface_internal_ops_t.ep_get_device_ep,
                      uct_iface_internal_ops_t.ep_put_sgl_zcopy], [], [], [[
#include <uct/base/uct_md.h>
#include <uct/base/uct_iface.h>
#include <uct/base/uct_component.h>
]])

    P2PMEM_UCX_CHECK_TYPE([P2PMEM_UCT_MD_QUERY_V2],
        [queries memory domains with uct_md_attr_v2_t],
        [uct_md_query_func_t],
        [ucs_status_t (*)(uct_md_h, uct_md_attr_v2_t*)])
    P2PMEM_UCX_CHECK_TYPE([P2PMEM_UCT_MEM_ALLOC_SYS_DEV],
        [passes a system device to mem_alloc],
        [uct_md_mem_alloc_func_t],
        [ucs_status_t (*)(uct_md_h, size_t*, void**, ucs_memory_type_t,
                          ucs_sys_device_t, unsigned, const char*,
                          uct_mem_h*)])

    # Behaviour, not a type, so read from the source: whether uct_mem_alloc
    # logs a domain's failed allocation below error level when the caller
    # passes UCT_MD_MEM_FLAG_HIDE_ERRORS (1.13 always logs an error)
    AC_MSG_CHECKING([whether UCX's uct_mem_alloc hides errors on request])
    if grep -q 'UCT_MD_MEM_FLAG_HIDE_ERRORS' \
           "$with_ucx_src/src/uct/base/uct_mem.c" 2>/dev/null; then
        AC_MSG_RESULT([yes])
        AC_DEFINE([P2PMEM_UCT_MEM_ALLOC_HIDE_ERRORS], [1],
            [UCX's uct_mem_alloc logs at debug level with
             UCT_MD_MEM_FLAG_HIDE_ERRORS])
    else
        AC_MSG_RESULT([no])
    fi

    # Other components' behaviour the domain adapts to, read from their
    # sources: whether UCP registers the memory types of
    # UCX_REG_NONBLOCK_MEM_TYPES with UCT_MD_MEM_FLAG_NONBLOCK (ODP), and
    # whether the IB domain registers a UCT_MD_MEM_FLAG_NONBLOCK region with
    # ODP only up to UCX_IB_ODP_MAX_SIZE
    AC_MSG_CHECKING([whether UCP registers UCX_REG_NONBLOCK_MEM_TYPES with ODP])
    if grep -q '"REG_NONBLOCK_MEM_TYPES"' \
           "$with_ucx_src/src/ucp/core/ucp_context.c" 2>/dev/null; then
        AC_MSG_RESULT([yes])
        AC_DEFINE([P2PMEM_UCP_REG_NONBLOCK_MEM_TYPES], [1],
            [UCP has UCX_REG_NONBLOCK_MEM_TYPES])
    else
        AC_MSG_RESULT([no])
    fi
    AC_MSG_CHECKING([whether UCX's IB domain limits ODP by UCX_IB_ODP_MAX_SIZE])
    if grep -q '"ODP_MAX_SIZE"' \
           "$with_ucx_src/src/uct/ib/base/ib_md.c" 2>/dev/null; then
        AC_MSG_RESULT([yes])
        AC_DEFINE([P2PMEM_UCT_IB_ODP_MAX_SIZE], [1],
            [UCX's IB domain registers NONBLOCK memory with ODP only up to
             UCX_IB_ODP_MAX_SIZE])
    else
        AC_MSG_RESULT([no])
    fi

    CPPFLAGS=$p2pmem_save_CPPFLAGS
])

# The names UCP gives its own allocations in this release: the domain
# refuses them by default (UCX_P2PMEM_ALLOC_INTERNAL), so that UCP's pools
# stay out of the small device pool. Read from the UCP sources by
# config/ucp-alloc-names.awk; ucp_mem_map's "user memory" must be among
# them (it is what the domain serves) and is left out of the list.
AC_DEFUN([P2PMEM_UCX_UCP_NAMES], [
    AC_REQUIRE([AC_PROG_AWK])
    AC_MSG_CHECKING([the names of UCP's internal allocations])
    p2pmem_ucp_files=`grep -rlE 'ucp_mem_do_alloc|ucp_memh_alloc|ucs_mpool_ops_t' \
        "$with_ucx_src/src/ucp" --include='*.c' --include='*.inl' \
        --include='*.h' 2>/dev/null`
    p2pmem_ucp_names=
    if test -n "$p2pmem_ucp_files"; then
        p2pmem_ucp_names=`$AWK -f "$srcdir/config/ucp-alloc-names.awk" \
            $p2pmem_ucp_files`
    fi
    if ! echo "$p2pmem_ucp_names" | grep -qx 'user memory'; then
        AC_MSG_RESULT([none])
        AC_MSG_ERROR([no ucp_mem_map allocation ("user memory") found in
$with_ucx_src/src/ucp: config/ucp-alloc-names.awk does not understand this
UCP release; see config.log])
    fi
    p2pmem_ucp_names=`echo "$p2pmem_ucp_names" | grep -vx 'user memory'`
    if test -z "$p2pmem_ucp_names"; then
        AC_MSG_RESULT([none])
        AC_MSG_ERROR([no internal allocation names found in
$with_ucx_src/src/ucp: config/ucp-alloc-names.awk does not understand this
UCP release])
    fi
    p2pmem_ucp_list=`echo "$p2pmem_ucp_names" | sed 's/.*/"&"/' | paste -sd, - | sed 's/,/, /g'`
    AC_MSG_RESULT([$p2pmem_ucp_list])
    AC_DEFINE_UNQUOTED([P2PMEM_UCP_ALLOC_NAMES], [$p2pmem_ucp_list],
        [names UCP gives its own allocations (not ucp_mem_map's)])
])

AC_DEFUN([P2PMEM_CHECK_UCX], [
    PKG_CHECK_MODULES([UCX], [ucx >= 1.13], [],
        [AC_MSG_ERROR([UCX development files not found ($UCX_PKG_ERRORS).
Install them with scripts/install-deps (Debian: libucx-dev), or point
PKG_CONFIG_PATH at the lib/pkgconfig of a UCX built from source
(scripts/build-ucx).])])
    PKG_CHECK_MODULES([UCT], [ucx-uct])
    # UCX's headers are not written for -Wextra: include them as system
    # headers so that the warnings seen are this project's
    UCX_CFLAGS=`echo "$UCX_CFLAGS" | sed 's/-I */-isystem /g'`
    UCX_VERSION=`$PKG_CONFIG --modversion ucx`
    UCX_PREFIX=`$PKG_CONFIG --variable=prefix ucx`
    UCX_LIBDIR=`$PKG_CONFIG --variable=libdir ucx`
    AC_SUBST([UCX_VERSION])
    AC_SUBST([UCX_LIBDIR])

    # Releases whose interface this source was checked against; the
    # differences between them are feature tests (P2PMEM_UCX_FEATURES).
    p2pmem_ucx_supported="1.13.x (Debian 12), 1.18.x (Debian 13) and 1.22.x"
    AC_MSG_CHECKING([whether UCX $UCX_VERSION is supported])
    case "$UCX_VERSION" in
    1.13.*|1.18.*|1.22.*) AC_MSG_RESULT([yes]) ;;
    *) AC_MSG_RESULT([no])
       AC_MSG_ERROR([UCX $UCX_VERSION is not supported: ucx-p2pmem supports
UCX $p2pmem_ucx_supported. UCX's internal component interface changes
between releases; install a supported UCX (Debian 12 or 13 packages, or
scripts/build-ucx 1.22.0) and point PKG_CONFIG_PATH at it]) ;;
    esac

    AC_ARG_WITH([ucx-src],
        [AS_HELP_STRING([--with-ucx-src=DIR],
            [unpacked UCX source tree of the installed version (default:
             the one scripts/fetch-ucx-src caches)])],
        [], [with_ucx_src=auto])

    if test "x$with_ucx_src" = xauto; then
        p2pmem_cache=${UCX_P2PMEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ucx-p2pmem}
        with_ucx_src=
        for d in "$p2pmem_cache"/ucx-src-*/ucx-$UCX_VERSION; do
            test -f "$d/src/uct/base/uct_md.h" && with_ucx_src=$d
        done
        if test -z "$with_ucx_src"; then
            AC_MSG_ERROR([no UCX $UCX_VERSION source tree found in
$p2pmem_cache. Fetch it with scripts/fetch-ucx-src, or pass
--with-ucx-src=DIR pointing to an unpacked ucx-$UCX_VERSION source tree.])
        fi
    fi

    AC_MSG_CHECKING([UCX source tree version])
    if test ! -f "$with_ucx_src/configure.ac" ||
       test ! -f "$with_ucx_src/src/uct/base/uct_md.h"; then
        AC_MSG_RESULT([none])
        AC_MSG_ERROR([$with_ucx_src is not a UCX source tree (no
src/uct/base/uct_md.h)])
    fi
    ucx_src_version=
    for part in major minor patch; do
        v=`sed -n "/ucx_ver_$part.,/{s/).*//;s/[[^0-9]]//g;p;q;}" \
            "$with_ucx_src/configure.ac"`
        ucx_src_version=$ucx_src_version${ucx_src_version:+.}$v
    done
    AC_MSG_RESULT([$ucx_src_version])
    if test "x$ucx_src_version" != "x$UCX_VERSION"; then
        AC_MSG_ERROR([UCX source tree $with_ucx_src is version
$ucx_src_version but the installed UCX is $UCX_VERSION; the component must be
built against the exact installed version (scripts/fetch-ucx-src fetches it)])
    fi
    UCX_SRC=$with_ucx_src
    AC_SUBST([UCX_SRC])

    # The options UCX was configured with decide its structure layouts
    # (thread safety, debug data, statistics) and the log levels compiled
    # in; take them from that UCX's own ucx_info, not from a guess.
    AC_ARG_VAR([UCX_INFO], [ucx_info of the UCX built against (default:
        PREFIX/bin/ucx_info of pkg-config's ucx)])
    if test -z "$UCX_INFO"; then
        UCX_INFO=$UCX_PREFIX/bin/ucx_info
    fi
    AC_MSG_CHECKING([how UCX $UCX_VERSION was built])
    p2pmem_defs_re='s/^@%:@define \(ENABLE_[[A-Z_]]*\|HAVE_PROFILING\|UCS_MAX_LOG_LEVEL\) *\(.*[[^ ]]\) *$/-D\1=\2/p'
    ucx_build_defs=`LD_LIBRARY_PATH=$UCX_LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} $UCX_INFO -b 2>/dev/null | sed -n "$p2pmem_defs_re" | tr '\n' ' '`
    case "$ucx_build_defs" in
    *-DENABLE_MT=*) AC_MSG_RESULT([$ucx_build_defs]) ;;
    *) AC_MSG_RESULT([unknown])
       AC_MSG_ERROR([could not read UCX's build options with '$UCX_INFO -b':
install ucx_info of the same UCX (Debian: ucx-utils) or set UCX_INFO]) ;;
    esac
    UCX_INTERNAL_CFLAGS="-isystem $with_ucx_src/src $ucx_build_defs"
    AC_SUBST([UCX_INTERNAL_CFLAGS])

    P2PMEM_UCX_FEATURES
    P2PMEM_UCX_UCP_NAMES

    # UCX from 1.22 scans its module directory (and UCX_PLUGIN_PATH) and
    # loads the files named with the extension libucs itself was loaded
    # under: .so.0 for every packaged or installed UCX
    AC_ARG_WITH([ucx-moduledir],
        [AS_HELP_STRING([--with-ucx-moduledir=DIR],
            [where to install libuct_p2pmem.so.0 (default: UCX's module
             directory, LIBDIR/ucx)])],
        [ucxmoduledir=$withval], [ucxmoduledir=$UCX_LIBDIR/ucx])
    AC_SUBST([ucxmoduledir])
])
