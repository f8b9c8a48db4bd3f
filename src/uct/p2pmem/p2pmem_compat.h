/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: the few spellings that differ between UCX releases, chosen
 * by configure's feature tests on the UCX source tree (config/ucx.m4),
 * never by version number.
 */

#ifndef UCT_P2PMEM_COMPAT_H_
#define UCT_P2PMEM_COMPAT_H_

#include <uct/base/uct_md.h>
#ifdef HAVE_UCS_SYS_PTR_ARITH_H
#  include <ucs/sys/ptr_arith.h>  /* ucs_align_up_pow2 from 1.17 */
#endif
#include <string.h>

/* md_query: uct_md_attr_v2_t from 1.15 (flat, UCX fills the defaults),
 * uct_md_attr_t before (capabilities in .cap, the rest ours to fill) */
#ifdef P2PMEM_UCT_MD_QUERY_V2
typedef uct_md_attr_v2_t uct_p2pmem_md_attr_t;
#  define UCT_P2PMEM_MD_CAP(_attr) (_attr)
#  define uct_p2pmem_md_attr_init  uct_md_base_md_query
#else
typedef uct_md_attr_t uct_p2pmem_md_attr_t;
#  define UCT_P2PMEM_MD_CAP(_attr) (&(_attr)->cap)
static inline void uct_p2pmem_md_attr_init(uct_md_attr_t *md_attr)
{
    memset(md_attr, 0, sizeof(*md_attr));
    memset(&md_attr->local_cpus, 0xff, sizeof(md_attr->local_cpus));
}
#endif

/* mem_alloc takes the caller's system device from 1.19 */
#ifdef P2PMEM_UCT_MEM_ALLOC_SYS_DEV
#  define UCT_P2PMEM_SYS_DEV_ARG(_name) ucs_sys_device_t _name,
#else
#  define UCT_P2PMEM_SYS_DEV_ARG(_name)
#endif

#endif
