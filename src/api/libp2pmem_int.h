/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: internals of libp2pmem shared with the preload library.
 */

#ifndef LIBP2PMEM_INT_H_
#define LIBP2PMEM_INT_H_

#include "p2pmem.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define P2PMEM_HIDDEN __attribute__((visibility("hidden")))

/* One live allocation. */
typedef struct p2pmem_block {
    uintptr_t start;     /* the pointer handed out */
    size_t    size;      /* usable bytes from start, whole pages */
    void     *map_base;  /* the provider mapping holding it */
    size_t    map_len;
    pid_t     owner;     /* the process that mapped it (fork shares it) */
    unsigned long forks; /* the owner's fork() count when it went live */
    /* in the preload's reuse cache (not in the index): newest first */
    struct p2pmem_block *cache_next, *cache_prev;
} p2pmem_block_t;

/* ---- page index: address -> block, O(1) (p2pmem_index.c) ---- */

/* Blocks and index memory come from mmap, never from malloc: the index is
 * used from inside malloc() by the preload library. All calls need the
 * caller's lock (lookups a read lock). */
P2PMEM_HIDDEN void p2pmem_index_init(size_t page_size);
P2PMEM_HIDDEN p2pmem_block_t *p2pmem_index_block_new(void);
P2PMEM_HIDDEN void p2pmem_index_block_put(p2pmem_block_t *block);
P2PMEM_HIDDEN int p2pmem_index_insert(p2pmem_block_t *block);
P2PMEM_HIDDEN void p2pmem_index_remove(const p2pmem_block_t *block);
P2PMEM_HIDDEN p2pmem_block_t *p2pmem_index_lookup(uintptr_t addr);
P2PMEM_HIDDEN size_t p2pmem_index_count(void);

/* ---- for the preload library (p2pmem.c) ---- */

/* Free ptr if a live allocation starts there: 0, or -1 (no message). */
P2PMEM_HIDDEN int p2pmem_release(void *ptr);

/* One line saying why an allocation failed with err and how to fix it. */
P2PMEM_HIDDEN const char *p2pmem_failure_text(int err, char *buf,
                                              size_t len);

/* Keep up to max_bytes (and CACHE_MAX_BLOCKS blocks) of freed blocks for
 * reuse instead of returning them to the device; 0: no cache (libp2pmem's
 * default: p2pmem_free gives memory back at once). */
P2PMEM_HIDDEN void p2pmem_cache_enable(size_t max_bytes);

/* Return every cached block to the device (cleared if scrubbing is on). */
P2PMEM_HIDDEN void p2pmem_cache_flush(void);

/* Bytes and blocks in the reuse cache, and reuses so far. */
P2PMEM_HIDDEN void p2pmem_cache_stats(size_t *bytes, size_t *blocks,
                                      unsigned long *hits);

/* The exit handler (also a destructor; runs once): cached blocks go back
 * to the device, cleared when scrubbing is on. Live blocks are left alone:
 * stdio buffers, later destructors and children after fork() still use
 * them (the kernel's clearing patch covers what they leave behind). */
P2PMEM_HIDDEN void p2pmem_fini(void);

/* 1 when P2PMEM_SCRUB is on (the default). */
P2PMEM_HIDDEN int p2pmem_scrub_enabled(void);

/* P2PMEM_VERBOSE, parsed once for both libraries. */
P2PMEM_HIDDEN int p2pmem_verbose(void);

/* "rank R, pid P" under MPI (OMPI_COMM_WORLD_RANK, PMIX_RANK), else
 * "pid P", in buf; returns buf. For lines two processes may both print. */
P2PMEM_HIDDEN const char *p2pmem_who(char *buf, size_t len);

/* Write a message to stderr without allocating memory. */
P2PMEM_HIDDEN void p2pmem_print(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
