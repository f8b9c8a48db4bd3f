/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: internals shared by the files of the sysfs/PCI library.
 */

#ifndef UCS_P2PMEM_SYS_INT_H_
#define UCS_P2PMEM_SYS_INT_H_

#include "p2pmem_sys.h"

/* Format a message and hand it to the caller's report callback, if any. */
void ucs_p2pmem_report(ucs_p2pmem_report_cb_t cb, void *arg,
                       ucs_p2pmem_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
