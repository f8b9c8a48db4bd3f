/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * p2pmem-info: what its two halves (the listing in p2pmem_info.c, --check in
 * p2pmem_check.c) share.
 */

#ifndef P2PMEM_TOOLS_CHECK_H_
#define P2PMEM_TOOLS_CHECK_H_

#include <ucs/p2pmem_sys.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define PROG "p2pmem-info"

typedef struct {
    int    json;
    double timeout;   /* seconds each completion may take */
} p2pmem_check_opts_t;

/* Print s as a JSON string on stdout. */
void json_string(const char *s);

/* "1.5 MiB" */
void format_bytes(uint64_t v, char *buf, size_t len);

/* --check: map, register and move data for every selected provider and
 * RDMA device; stops early (cleaning up) once *stop is non-zero. Returns
 * the exit status: 0 every pair works, 1 not, 128 + *stop if stopped. */
int p2pmem_check_run(const p2pmem_check_opts_t *opts,
                     volatile sig_atomic_t *stop,
                     ucs_p2pmem_report_cb_t report);

#endif
