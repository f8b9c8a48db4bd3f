/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: the line between the component's logic and UCX's tables.
 *
 * UCX's internal component interface is not stable: the memory domain's
 * query, allocation and key hooks, the component's remote-key hooks and the
 * transport's reachability and device hooks changed between 1.13, 1.18 and
 * 1.22. The component's logic (p2pmem_md.c, p2pmem_iface.c) is written once
 * against the version-neutral functions below; p2pmem_compat.c fills UCX's
 * tables with them, choosing members and signatures by configure's feature
 * tests on the UCX source tree (config/ucx.m4).
 */

#ifndef UCT_P2PMEM_COMPAT_H_
#define UCT_P2PMEM_COMPAT_H_

#include "p2pmem_md.h"
#include "p2pmem_iface.h"

/* What the memory domain can do, as any UCX release needs to hear it. */
typedef struct uct_p2pmem_md_caps {
    int      can_alloc;   /* at least one provider is selected */
    uint64_t max_alloc;   /* largest selected provider, bytes */
} uct_p2pmem_md_caps_t;

/* ---- version-neutral: p2pmem_md.c ---- */
void uct_p2pmem_md_caps(uct_md_h md, uct_p2pmem_md_caps_t *caps);
ucs_status_t uct_p2pmem_md_open(uct_component_t *component,
                                const char *md_name,
                                const uct_md_config_t *md_config,
                                uct_md_h *md_p);
void uct_p2pmem_md_close(uct_md_h md);
ucs_status_t uct_p2pmem_md_mem_alloc(uct_md_h md, size_t *length_p,
                                     void **address_p,
                                     ucs_memory_type_t mem_type,
                                     unsigned flags, const char *alloc_name,
                                     uct_mem_h *memh_p);
ucs_status_t uct_p2pmem_md_mem_free(uct_md_h md, uct_mem_h memh);

/* ---- version-neutral: p2pmem_iface.c ---- */
ucs_status_t uct_p2pmem_iface_query(uct_iface_h iface,
                                    uct_iface_attr_t *iface_attr);
UCS_CLASS_DECLARE_DELETE_FUNC(uct_p2pmem_iface_t, uct_iface_t);

/* ---- UCX's tables: p2pmem_compat.c ---- */
extern uct_md_ops_t              uct_p2pmem_md_ops;
extern uct_iface_ops_t           uct_p2pmem_iface_ops;
extern uct_iface_internal_ops_t  uct_p2pmem_iface_internal_ops;
/* uct_p2pmem_component (p2pmem_md.h) is defined there too */

#endif
