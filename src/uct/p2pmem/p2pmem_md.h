/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: the p2pmem UCT component and memory domain.
 *
 * The memory domain allocates host-addressable memory from Linux P2PDMA
 * providers (PCIe device BARs published through sysfs p2pmem/allocate), so
 * that UCP allocations can live in device memory and RDMA NICs reach it
 * peer-to-peer. It only allocates; registration is left to the NIC's domain.
 */

#ifndef UCT_P2PMEM_MD_H_
#define UCT_P2PMEM_MD_H_

#include <uct/base/uct_md.h>
#include <ucs/p2pmem_sys.h>
#include <ucs/time/time.h>
#include <pthread.h>

#define UCT_P2PMEM_NAME "p2pmem"

/* seconds between two warnings about exhausted device memory */
#define UCT_P2PMEM_EXHAUSTED_WARN_INTERVAL 10.0

extern uct_component_t uct_p2pmem_component;

typedef struct uct_p2pmem_md_config {
    uct_md_config_t super;
    char            *sysfs_root;     /* PCI device directory to scan */
    char            *devices;        /* "auto", "all" or PCI addresses */
    int             alloc_internal;  /* also serve UCX-internal pools */
    int             reg_check;       /* probe RDMA registration first */
    int             scrub;           /* clear memory before unmapping it */
    int             verbose;         /* one stderr line per allocation */
} uct_p2pmem_md_config_t;

/* The module's own run-time state of a selected provider (the slot
 * ctx.providers[i].user points to; the rest is in ucs_p2pmem_prov_state_t). */
typedef struct uct_p2pmem_md_provider {
    int             reg_checked;     /* RDMA registration probed already */
    int             odp_only;        /* RDMA registers it only with ODP */
    uint64_t        bytes_mapped;    /* live bytes, for the close-time note */
} uct_p2pmem_md_provider_t;

typedef struct uct_p2pmem_md {
    uct_md_t                  super;
    ucs_p2pmem_ctx_t          ctx;        /* selected providers, best first */
    uct_p2pmem_md_provider_t *provider;   /* per selected provider */
    unsigned                  num_selected; /* ctx.count, fixed at open */
    int                       alloc_internal;
    int                       reg_check;
    int                       scrub;
    int                       verbose;
    int                       reg_nonblock_host; /* UCP registers host
                                                    memory with ODP */
    size_t                    odp_max_size; /* the IB domain registers
                                               NONBLOCK memory with ODP up
                                               to this length */
    uint64_t                  internal_said; /* UCP-internal names refused,
                                                said once each */
    ucs_p2pmem_once_t         unusable_said; /* said no provider is usable */
    int                       exhausted;  /* in an exhaustion episode */
    ucs_time_t                last_warn;  /* when exhaustion was last warned
                                             about, 0: never */
    uint64_t                  fallbacks;  /* exhausted allocations since */
    ucs_p2pmem_once_t         oversize_warned; /* said a request was larger
                                                  than every provider */
    pthread_mutex_t           lock;       /* guards the run-time state and
                                             ucs_p2pmem_ctx_map() */
} uct_p2pmem_md_t;

/* Memory handle: what mem_free needs to give the memory back. */
typedef struct uct_p2pmem_memh {
    void                      *address;
    size_t                    length;
    pid_t                     owner;     /* fork() shares the mapping */
    uct_p2pmem_md_provider_t  *provider;
} uct_p2pmem_memh_t;

static inline const ucs_p2pmem_provider_t *
uct_p2pmem_md_provider(const uct_p2pmem_md_t *md, unsigned i)
{
    return md->ctx.providers[i].p;
}

/* 0 if every RDMA device can pin (register) memory at address, or there is
 * none; else the errno of the first refusal, with that device's name, and
 * *odp_ok says whether every refusing device registers it with On-Demand
 * Paging instead. */
int uct_p2pmem_md_regcheck(void *address, size_t length, char *refused_by,
                           size_t max, int *odp_ok);

#endif
