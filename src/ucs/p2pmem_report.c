/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: what the library says, and in which words: the report
 * callback helper and the one table of failures and their fixes that the
 * module, libp2pmem, the preload and p2pmem-info all print.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem_sys_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* errno of open()/mmap() of allocate -> the fix */
static const struct {
    int        err;
    const char *hint;
} ucs_p2pmem_map_hints[] = {
    {EACCES, "p2pmem/allocate is root-only (mode 0660) by default; install "
             "contrib/udev/70-p2pmem.rules and add the user to group "
             "'p2pmem', or run as root"},
    {EPERM,  "p2pmem/allocate is root-only (mode 0660) by default; install "
             "contrib/udev/70-p2pmem.rules and add the user to group "
             "'p2pmem', or run as root"},
    {ENOMEM, "the provider's pool is exhausted (see p2pmem/available); "
             "free device memory or use a smaller allocation"},
    {ENOENT, "the provider is gone; was the device removed or unbound?"},
    {ENODEV, "the provider is gone; was the device removed or unbound?"},
    {ENXIO,  "the provider is gone; was the device removed or unbound?"},
    {EINVAL, "the kernel refused the mapping; userspace P2PDMA allocation "
             "needs Linux 6.2 or later with CONFIG_PCI_P2PDMA"},
};

void ucs_p2pmem_report(ucs_p2pmem_report_cb_t cb, void *arg,
                       ucs_p2pmem_log_level_t level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (cb == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cb(arg, level, msg);
}

const char *ucs_p2pmem_map_hint(int err)
{
    unsigned i;

    for (i = 0; i < sizeof(ucs_p2pmem_map_hints) /
                    sizeof(ucs_p2pmem_map_hints[0]); ++i) {
        if (ucs_p2pmem_map_hints[i].err == err) {
            return ucs_p2pmem_map_hints[i].hint;
        }
    }
    return "see the kernel log (dmesg) for details";
}

const char *ucs_p2pmem_failure_text(const ucs_p2pmem_ctx_t *ctx, int err,
                                    size_t length,
                                    const ucs_p2pmem_provider_t *failed,
                                    char *buf, size_t len)
{
    const ucs_p2pmem_provider_t *largest;

    if ((err == EINVAL) && (failed == NULL)) {
        /* no mapping failed: the request itself is wrong */
        snprintf(buf, len, "size 0, too large, or alignment not a power of "
                 "two");
        return buf;
    }

    switch (err) {
    case ENODEV:
        snprintf(buf, len, "%s", ctx->nodev_reason[0] ? ctx->nodev_reason :
                 "no P2PDMA provider");
        break;
    case ENOMEM:
        snprintf(buf, len, "device memory exhausted%s%s%s; free device "
                 "memory or allocate less", failed ? " (see " : "",
                 failed ? failed->p2pmem_dir : "", failed ? "/available)" : "");
        break;
    case EFBIG:
        largest = ucs_p2pmem_ctx_largest(ctx);
        snprintf(buf, len, "%zu bytes are more than any selected P2PDMA "
                 "provider holds (the largest, %s, has %llu bytes); allocate "
                 "less or select a larger provider (UCX_P2PMEM_DEVICES)",
                 length, largest->name, (unsigned long long)largest->size);
        break;
    default:
        snprintf(buf, len, "cannot allocate from %s: %s; %s",
                 failed ? failed->allocate_path : "the providers",
                 strerror(err), ucs_p2pmem_map_hint(err));
        break;
    }
    return buf;
}
