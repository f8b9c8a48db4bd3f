/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: configuration of the p2pmem memory domain (UCX_P2PMEM_*).
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem_md.h"

ucs_config_field_t uct_p2pmem_md_config_table[] = {
    {"", "", NULL,
     ucs_offsetof(uct_p2pmem_md_config_t, super),
     UCS_CONFIG_TYPE_TABLE(uct_md_config_table)},

    {"SYSFS_ROOT", UCS_P2PMEM_DEFAULT_SYSFS_ROOT,
     "Directory scanned for PCI devices with a p2pmem/ (P2PDMA) provider. RDMA\n"
     "devices are looked up under class/infiniband beside it.",
     ucs_offsetof(uct_p2pmem_md_config_t, sysfs_root), UCS_CONFIG_TYPE_STRING},

    {"DEVICES", "auto",
     "P2PDMA providers to allocate from, in priority order:\n"
     " auto - published providers nearest to the RDMA devices in use (PCI\n"
     "        topology, then NUMA node)\n"
     " all  - every provider found, nearest first\n"
     " <list> - comma-separated PCI addresses, e.g. 0000:01:00.0,0000:02:00.0",
     ucs_offsetof(uct_p2pmem_md_config_t, devices), UCS_CONFIG_TYPE_STRING},

    {"ALLOC_INTERNAL", "n",
     "Also serve UCP's own buffer pools: requests that come from UCP (libucp\n"
     "on the call stack) other than ucp_mem_map's \"user memory\", e.g.\n"
     "ucp_reg_bufs and ucp_rndv_frags. Off by default so that UCP does not\n"
     "drain the device pool; UCP takes its next UCX_ALLOC_PRIO method. Direct\n"
     "UCT callers (uct_md_mem_alloc, uct_mem_alloc, uct_iface_mem_alloc) are\n"
     "served either way.",
     ucs_offsetof(uct_p2pmem_md_config_t, alloc_internal),
     UCS_CONFIG_TYPE_BOOL},

    {"REG_CHECK", "y",
     "Before the first allocation from a provider is used, register it with\n"
     "every RDMA device. If any refuses (stock kernels do, with\n"
     "EFAULT), skip the provider with one error so that UCX falls back to its\n"
     "next allocation method instead of failing ucp_mem_map. Set to n only\n"
     "when no RDMA transport will register p2pmem.",
     ucs_offsetof(uct_p2pmem_md_config_t, reg_check), UCS_CONFIG_TYPE_BOOL},

    {"SCRUB", "y",
     "Clear device memory before giving it back to the provider. Kernels\n"
     "without a clearing patch hand it to the next process as it is. Memory\n"
     "of a process that is killed, or that exits without unmapping it, is\n"
     "not cleared.",
     ucs_offsetof(uct_p2pmem_md_config_t, scrub), UCS_CONFIG_TYPE_BOOL},

    {"VERBOSE", "n",
     "Print one line per allocation on stderr: size, provider and address of\n"
     "what was mapped, or why the next UCX_ALLOC_PRIO method serves it.",
     ucs_offsetof(uct_p2pmem_md_config_t, verbose), UCS_CONFIG_TYPE_BOOL},

    {NULL}
};
