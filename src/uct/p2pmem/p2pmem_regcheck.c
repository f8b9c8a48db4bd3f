/*
 * ucx-p2pmem: can the RDMA devices on this machine pin p2pmem?
 *
 * Stock kernels (6.12 included) refuse ibv_reg_mr on P2PDMA memory with
 * EFAULT (kernel-patches/v6.12 fixes that). UCP registers what it allocates
 * with every RDMA domain, and does not fall back when that fails: with
 * md:p2pmem first, ucp_mem_map fails outright and Open MPI 4.1 crashes in
 * MPI_Win_allocate's error path. So the first allocation from a provider
 * is registered with each RDMA device once; if any refuses, the
 * provider is not used and UCX falls back to its next allocation method,
 * after one error that says why.
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

int uct_p2pmem_md_regcheck(void *address, size_t length, char *refused_by,
                           size_t max)
{
    struct ibv_device **list;
    struct ibv_context *ctx;
    struct ibv_pd *pd;
    struct ibv_mr *mr;
    int i, num, err = 0;

    list = ibv_get_device_list(&num);
    if (list == NULL) {
        /* no RDMA stack at all: nothing will register this memory */
        ucs_debug("p2pmem: no RDMA devices (%s), registration check skipped",
                  strerror(errno));
        return 0;
    }

    for (i = 0; (i < num) && (err == 0); ++i) {
        ctx = ibv_open_device(list[i]);
        if (ctx == NULL) {
            ucs_debug("p2pmem: cannot open %s for the registration check: %s",
                      ibv_get_device_name(list[i]), strerror(errno));
            continue;
        }
        pd = ibv_alloc_pd(ctx);
        if (pd != NULL) {
            /* the whole mapping: with fork support on, rdma-core madvises
             * the registered range, and part of it would split the VMA */
            mr = ibv_reg_mr(pd, address, length,
                            IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
                            IBV_ACCESS_REMOTE_READ);
            if (mr != NULL) {
                ibv_dereg_mr(mr);
                ucs_debug("p2pmem: %s can register p2pmem",
                          ibv_get_device_name(list[i]));
            } else {
                err = errno ? errno : EIO;
                ucs_strncpy_zero(refused_by, ibv_get_device_name(list[i]),
                                 max);
            }
            ibv_dealloc_pd(pd);
        }
        ibv_close_device(ctx);
    }

    ibv_free_device_list(list);
    return err;
}
