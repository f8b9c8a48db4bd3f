/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: can the RDMA devices on this machine register p2pmem, and how?
 *
 * Stock kernels (6.12 and 7.3 included) refuse to pin P2PDMA memory:
 * ibv_reg_mr fails with EFAULT (kernel-patches/v6.12 fixes that on 6.12).
 * UCP registers what it allocates with every RDMA domain, and does not fall
 * back when that fails: with md:p2pmem first, ucp_mem_map fails outright
 * and Open MPI 4.1 crashes in MPI_Win_allocate's error path. So the first
 * allocation from a provider is registered with each RDMA device once.
 * A device that refuses to pin it gets a second try with On-Demand Paging
 * (IBV_ACCESS_ON_DEMAND), if it reports ODP support: an ODP MR takes no
 * pin, and kernels with ODP (7.x; rxe from 6.15, mlx5) accept P2PDMA
 * memory that way. p2pmem_md.c decides what that means for UCP.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem_md.h"

#include <ucs/debug/log.h>
#include <ucs/sys/string.h>
#include <infiniband/verbs.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Does the device offer ODP on RC for what UCX's RC transports do? */
static int uct_p2pmem_odp_supported(struct ibv_context *ctx)
{
    const uint32_t need = IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV |
                          IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ;
    struct ibv_device_attr_ex attr;

    memset(&attr, 0, sizeof(attr));
    if (ibv_query_device_ex(ctx, NULL, &attr) != 0) {
        return 0;
    }
    return (attr.odp_caps.general_caps & IBV_ODP_SUPPORT) &&
           ((attr.odp_caps.per_transport_caps.rc_odp_caps & need) == need);
}

int uct_p2pmem_md_regcheck(void *address, size_t length, char *refused_by,
                           size_t max, int *odp_ok)
{
    const int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
                       IBV_ACCESS_REMOTE_READ;
    struct ibv_device **list;
    struct ibv_context *ctx;
    struct ibv_pd *pd;
    struct ibv_mr *mr;
    int i, num, err = 0, pin_err;

    *odp_ok = 1;
    list = ibv_get_device_list(&num);
    if (list == NULL) {
        /* no RDMA stack at all: nothing will register this memory */
        ucs_debug("no RDMA devices (%s), registration check skipped",
                  strerror(errno));
        *odp_ok = 0;
        return 0;
    }

    /* every device: one that pins is fine, one that refuses must take ODP */
    for (i = 0; (i < num) && *odp_ok; ++i) {
        ctx = ibv_open_device(list[i]);
        if (ctx == NULL) {
            ucs_debug("cannot open %s for the registration check: %s",
                      ibv_get_device_name(list[i]), strerror(errno));
            continue;
        }
        pd = ibv_alloc_pd(ctx);
        if (pd != NULL) {
            /* the whole mapping: with fork support on, rdma-core madvises
             * the registered range, and part of it would split the VMA */
            mr = ibv_reg_mr(pd, address, length, access);
            if (mr != NULL) {
                ibv_dereg_mr(mr);
                ucs_debug("%s can register p2pmem",
                          ibv_get_device_name(list[i]));
            } else {
                pin_err = errno ? errno : EIO;
                if (err == 0) {
                    err = pin_err;
                    ucs_strncpy_zero(refused_by, ibv_get_device_name(list[i]),
                                     max);
                }
                mr = uct_p2pmem_odp_supported(ctx) ?
                     ibv_reg_mr(pd, address, length,
                                access | IBV_ACCESS_ON_DEMAND) : NULL;
                if (mr != NULL) {
                    ibv_dereg_mr(mr);
                    ucs_debug("%s cannot pin p2pmem (%s), but can "
                              "register it with On-Demand Paging",
                              ibv_get_device_name(list[i]), strerror(pin_err));
                } else {
                    *odp_ok = 0;
                }
            }
            ibv_dealloc_pd(pd);
        }
        ibv_close_device(ctx);
    }

    ibv_free_device_list(list);
    if (err == 0) {
        *odp_ok = 0; /* pinning works: ODP was not needed, nor probed */
    }
    return err;
}
