/*
 * ucx-p2pmem: internals of libp2pmem shared with the preload library.
 */

#ifndef P2PMEM_INT_H_
#define P2PMEM_INT_H_

#include "p2pmem.h"

#include <stddef.h>
#include <stdint.h>

#define P2PMEM_HIDDEN __attribute__((visibility("hidden")))

/* One live allocation. */
typedef struct p2pmem_block {
    uintptr_t start;     /* the pointer handed out */
    size_t    size;      /* usable bytes from start, whole pages */
    void     *map_base;  /* the provider mapping holding it */
    size_t    map_len;
    unsigned  provider;  /* index into the selected providers */
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

/* Write a message to stderr without allocating memory. */
P2PMEM_HIDDEN void p2pmem_print(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
