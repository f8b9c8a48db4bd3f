# ucx-p2pmem: find the installed UCX and the matching UCX source tree.
#
# A UCT component is built against UCX's internal headers (uct/base/*.h),
# which distributions do not install, and the internal interface is not
# ABI-stable across releases: the source tree must be of exactly the
# installed version.

AC_DEFUN([P2PMEM_CHECK_UCX], [
    PKG_CHECK_MODULES([UCX], [ucx >= 1.13], [],
        [AC_MSG_ERROR([UCX development files not found ($UCX_PKG_ERRORS).
Install them with scripts/install-deps (Debian: libucx-dev).])])
    PKG_CHECK_MODULES([UCT], [ucx-uct])
    UCX_VERSION=`$PKG_CONFIG --modversion ucx`
    UCX_LIBDIR=`$PKG_CONFIG --variable=libdir ucx`
    AC_SUBST([UCX_VERSION])

    # Supported releases, one p2pmem_compat_<api>.c each (the internal
    # component interface differs between them).
    p2pmem_ucx_supported="1.13.x (Debian 12) and 1.18.x (Debian 13)"
    AC_MSG_CHECKING([whether UCX $UCX_VERSION is supported])
    case "$UCX_VERSION" in
    1.13.*) UCX_API=113 ;;
    1.18.*) UCX_API=118 ;;
    *) AC_MSG_RESULT([no])
       AC_MSG_ERROR([UCX $UCX_VERSION is not supported: this release of
ucx-p2pmem supports UCX $p2pmem_ucx_supported. The internal component
interface changes between UCX releases; install a supported UCX (Debian 12 or
13 packages) or port src/uct/p2pmem/p2pmem_compat_<api>.c]) ;;
    esac
    AC_MSG_RESULT([yes, component interface $UCX_API])
    AC_SUBST([UCX_API])
    AM_CONDITIONAL([UCX_API_113], [test "$UCX_API" = 113])
    AM_CONDITIONAL([UCX_API_118], [test "$UCX_API" = 118])

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

    # Match the structure layouts of the distribution's build of UCX
    # (Debian: --enable-mt, no debug data, no parameter checks).
    UCX_INTERNAL_CFLAGS="-I$with_ucx_src/src -DENABLE_DEBUG_DATA=0 dnl
-DENABLE_PARAMS_CHECK=0 -DENABLE_MT=1 dnl
-DUCS_MAX_LOG_LEVEL=UCS_LOG_LEVEL_DEBUG"
    AC_SUBST([UCX_INTERNAL_CFLAGS])

    AC_ARG_WITH([ucx-moduledir],
        [AS_HELP_STRING([--with-ucx-moduledir=DIR],
            [where to install libuct_p2pmem.so (default: UCX's module
             directory, LIBDIR/ucx)])],
        [ucxmoduledir=$withval], [ucxmoduledir=$UCX_LIBDIR/ucx])
    AC_SUBST([ucxmoduledir])
])
