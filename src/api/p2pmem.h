/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * p2pmem.h: place application buffers in Linux P2PDMA device memory.
 *
 * Part of ucx-p2pmem. Memory comes from the providers that the UCX module
 * would use, chosen by the same variables:
 *   UCX_P2PMEM_SYSFS_ROOT  PCI device directory (default /sys/bus/pci/devices)
 *   UCX_P2PMEM_DEVICES     auto | all | PCI addresses in priority order
 *   UCX_NET_DEVICES        the RDMA devices "auto" stays close to
 * The pointers are ordinary process memory: pass them to MPI, UCX or verbs
 * as send/receive buffers. The contents of fresh device memory are not
 * defined (the kernel does not clear it); clear it if you need zeros.
 * Freed blocks are cleared before they go back to the device (P2PMEM_SCRUB=n
 * turns it off). Blocks still allocated at exit or exec, blocks shared with
 * a child by fork(), and everything a killed process held are not cleared
 * by the library (they may still be in use); a kernel with the clearing
 * patch of ucx-p2pmem's kernel-patches/ clears them.
 *
 * Compile and link:  cc app.c $(pkg-config --cflags --libs p2pmem)
 * All functions are thread-safe.
 */

#ifndef P2PMEM_H_
#define P2PMEM_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Allocate at least size bytes of device memory, page-aligned, rounded up to
 * whole pages. When the first selected provider is exhausted the next one
 * is tried. Returns NULL with errno set on failure; there is no host
 * fallback here:
 *   EINVAL  size is 0 or larger than any address space could hold
 *   ENOMEM  every selected provider is exhausted
 *   EFBIG   size is more than any selected provider holds
 *   ENODEV  no provider exists or is selected (or UCX_P2PMEM_DEVICES is bad)
 *   EACCES, EPERM  the providers' p2pmem/allocate files are not accessible
 * The first failure of each kind prints one message on stderr with the
 * cause and the fix.
 */
void *p2pmem_alloc(size_t size);

/* Flags of p2pmem_alloc_ex(). */
#define P2PMEM_ALLOC_QUIET 0x1u  /* no stderr message; the caller reports */

/*
 * p2pmem_alloc() with an alignment: alignment is 0 (a page) or a power of
 * two; larger than a page costs up to alignment - page of device memory.
 */
void *p2pmem_alloc_ex(size_t size, size_t alignment, unsigned flags);

/*
 * Give back memory from p2pmem_alloc(). NULL: nothing, returns 0. Anything
 * that is not the start of a live allocation: nothing is unmapped, one
 * message on stderr, returns -1 with errno EINVAL.
 */
int p2pmem_free(void *ptr);

/* 1 if ptr lies inside a live allocation (interior pointers count), else 0.
 * Constant time, whatever the number of live allocations. */
int p2pmem_is_p2p(const void *ptr);

/* Usable size of the live allocation that starts at ptr, 0 if none. */
size_t p2pmem_size(const void *ptr);

#ifdef __cplusplus
}
#endif

#endif
