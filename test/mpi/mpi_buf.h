/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Communication buffers placed one of three ways, shared by the MPI tests
 * and the benchmark:
 *   host  malloc(): host memory, or p2pmem under the preload allocator
 *   api   p2pmem_alloc() of libp2pmem
 *   win   MPI_Win_allocate(), i.e. osc/ucx -> ucp_mem_map(ALLOCATE) -> the
 *         p2pmem memory domain when UCX_ALLOC_PRIO names md:p2pmem first
 *   allocmem  MPI_Alloc_mem(): host memory, or p2pmem under the MPI_Alloc_mem
 *         interposer (libp2pmem_mpi, p2pmem-mpirun --preload)
 * plus "ref": a private anonymous mapping that no allocator interposes, the
 * host-memory reference the other placements are compared with.
 */
#ifndef P2PMEM_MPI_BUF_H
#define P2PMEM_MPI_BUF_H

#include <mpi.h>
#include <stddef.h>

typedef enum {
    MBUF_HOST,
    MBUF_API,
    MBUF_WIN,
    MBUF_REF,
    MBUF_ALLOCMEM
} mbuf_place_t;

typedef struct {
    void         *ptr;
    size_t        len;
    mbuf_place_t  place;
    MPI_Win       win;      /* MPI_WIN_NULL until mbuf_window() */
    int           own_win;  /* the window was made by mbuf_window() */
} mbuf_t;

/* "host", "api", "win", "allocmem" (and "ref"); -1 for anything else */
int mbuf_parse_place(const char *name);
const char *mbuf_place_name(mbuf_place_t place);

/* 1 when the placement was compiled in (api needs libp2pmem) */
int mbuf_place_available(mbuf_place_t place);

/* Collective over comm for MBUF_WIN (every rank the same length).
 * Returns 0, or -1 with a message on stderr. */
int mbuf_alloc(mbuf_t *buf, mbuf_place_t place, size_t len, MPI_Comm comm);
void mbuf_free(mbuf_t *buf);

/* The info argument of MPI_Alloc_mem for MBUF_ALLOCMEM (default
 * MPI_INFO_NULL); the caller keeps it until the buffers are freed. */
void mbuf_set_alloc_info(MPI_Info info);

/* An RMA window exposing the buffer: MPI_Win_allocate's own window for
 * MBUF_WIN, otherwise MPI_Win_create over it. Collective. */
int mbuf_window(mbuf_t *buf, MPI_Comm comm);

/* The pathname column of /proc/self/maps for the mapping holding addr
 * ("" for anonymous memory). */
void mbuf_backing(const void *addr, char *path, size_t size);

/* 1 when addr..addr+len lies in one mapping of a P2PDMA provider's
 * allocate file; the emulated provider links it to /dev/zero, which the
 * kernel shows as "/dev/zero (deleted)". */
int mbuf_is_p2pmem(const void *addr, size_t len);

#endif
