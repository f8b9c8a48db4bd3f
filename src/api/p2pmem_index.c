/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: address -> allocation index of libp2pmem.
 *
 * p2pmem_is_p2p() must cost the same with ten or ten thousand live
 * allocations, and the preload library asks it on every free() of a
 * page-aligned pointer. Allocations are whole pages, so the index works
 * like a page table with large pages: the address space is cut into
 * granules of 512 pages (2 MiB with 4 KiB pages) kept in a hash table.
 * A granule that one allocation covers entirely points straight at it; a
 * granule shared or partly used gets a leaf with one slot per page. A
 * lookup is one hash probe and at most one leaf slot; an allocation of N
 * bytes adds N/2MiB entries plus at most two leaves.
 *
 * Everything here is mmap()ed, never malloc()ed, because the preload
 * library runs this code from inside malloc(). The caller holds the lock.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "libp2pmem_int.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define GRANULE_PAGES  512u
#define FULL_TAG       ((uintptr_t)1)   /* entry value is a block, not a leaf */
#define TABLE_MIN      64u
#define CHUNK_SIZE     (256u * 1024u)

typedef struct {
    p2pmem_block_t *page[GRANULE_PAGES];
    unsigned        used;
    void           *next_free;
} leaf_t;

typedef struct {
    uintptr_t key;   /* granule number + 1; 0 is an empty slot */
    uintptr_t value; /* leaf_t*, or p2pmem_block_t* | FULL_TAG */
} entry_t;

/* Fixed-size objects carved from mmap()ed chunks; never returned to the
 * system (bounded by the peak number of allocations). */
typedef struct {
    size_t size;
    void  *free_list; /* first word of a free object links the next */
} slab_t;

static unsigned page_shift;
static unsigned granule_shift;
static entry_t *table;
static size_t table_cap;     /* power of two */
static size_t table_used;
static size_t num_blocks;
static slab_t block_slab = {sizeof(p2pmem_block_t), NULL};
static slab_t leaf_slab  = {sizeof(leaf_t), NULL};

void p2pmem_index_init(size_t page_size)
{
    page_shift = 0;
    while (((size_t)1 << page_shift) < page_size) {
        ++page_shift;
    }
    granule_shift = page_shift + 9; /* log2(GRANULE_PAGES) */
}

static void *slab_get(slab_t *slab)
{
    char *chunk;
    void *obj;
    size_t i, n;

    if (slab->free_list == NULL) {
        chunk = mmap(NULL, CHUNK_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (chunk == MAP_FAILED) {
            return NULL;
        }
        n = CHUNK_SIZE / slab->size;
        for (i = n; i-- > 0;) {
            *(void**)(chunk + i * slab->size) = slab->free_list;
            slab->free_list = chunk + i * slab->size;
        }
    }
    obj             = slab->free_list;
    slab->free_list = *(void**)obj;
    memset(obj, 0, slab->size);
    return obj;
}

static void slab_put(slab_t *slab, void *obj)
{
    *(void**)obj    = slab->free_list;
    slab->free_list = obj;
}

p2pmem_block_t *p2pmem_index_block_new(void)
{
    return slab_get(&block_slab);
}

void p2pmem_index_block_put(p2pmem_block_t *block)
{
    slab_put(&block_slab, block);
}

size_t p2pmem_index_count(void)
{
    return num_blocks;
}

static inline size_t hash_slot(uintptr_t key, size_t cap)
{
    /* Fibonacci hashing: neighbouring granules spread over the table */
    return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static entry_t *table_find(uintptr_t key)
{
    size_t i;

    if (table == NULL) {
        return NULL;
    }
    for (i = hash_slot(key, table_cap);; i = (i + 1) & (table_cap - 1)) {
        if (table[i].key == key) {
            return &table[i];
        }
        if (table[i].key == 0) {
            return NULL;
        }
    }
}

static void table_put(entry_t *t, size_t cap, uintptr_t key, uintptr_t value)
{
    size_t i;

    for (i = hash_slot(key, cap); t[i].key != 0; i = (i + 1) & (cap - 1)) {
    }
    t[i].key   = key;
    t[i].value = value;
}

/* Keep the load at most 1/2 so probes stay short. */
static int table_reserve(size_t more)
{
    size_t cap = (table_cap != 0) ? table_cap : TABLE_MIN, i;
    entry_t *t;

    while ((table_used + more) * 2 > cap) {
        cap *= 2;
    }
    if ((table != NULL) && (cap == table_cap)) {
        return 0;
    }

    t = mmap(NULL, cap * sizeof(*t), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t == MAP_FAILED) {
        return -ENOMEM;
    }
    for (i = 0; i < table_cap; ++i) {
        if (table[i].key != 0) {
            table_put(t, cap, table[i].key, table[i].value);
        }
    }
    if (table != NULL) {
        munmap(table, table_cap * sizeof(*table));
    }
    table     = t;
    table_cap = cap;
    return 0;
}

/* Remove an entry, shifting later entries of its probe run back so that
 * no tombstones are needed. */
static void table_delete(entry_t *e)
{
    size_t i = (size_t)(e - table), j = i, home;

    for (;;) {
        j = (j + 1) & (table_cap - 1);
        if (table[j].key == 0) {
            break;
        }
        home = hash_slot(table[j].key, table_cap);
        /* move j to i unless its home lies cyclically in (i, j] */
        if ((i <= j) ? ((home <= i) || (home > j)) :
                       ((home <= i) && (home > j))) {
            table[i] = table[j];
            i        = j;
        }
    }
    table[i].key   = 0;
    table[i].value = 0;
    --table_used;
}

/* Apply fn to each granule piece of [start, end). */
typedef int (*piece_fn_t)(p2pmem_block_t *block, uintptr_t granule,
                          unsigned first, unsigned count);

static int for_each_piece(p2pmem_block_t *block, piece_fn_t fn)
{
    uintptr_t page = block->start >> page_shift;
    uintptr_t end  = (block->start + block->size) >> page_shift;
    uintptr_t granule, next;
    unsigned first;
    int ret;

    while (page < end) {
        granule = page >> (granule_shift - page_shift);
        first   = (unsigned)(page & (GRANULE_PAGES - 1));
        next    = (granule + 1) << (granule_shift - page_shift);
        if (next > end) {
            next = end;
        }
        ret = fn(block, granule, first, (unsigned)(next - page));
        if (ret != 0) {
            return ret;
        }
        page = next;
    }
    return 0;
}

static int insert_piece(p2pmem_block_t *block, uintptr_t granule,
                        unsigned first, unsigned count)
{
    entry_t *e = table_find(granule + 1);
    leaf_t *leaf;
    unsigned i;

    if (count == GRANULE_PAGES) {
        /* live blocks never overlap: a whole granule has no entry yet */
        table_put(table, table_cap, granule + 1, (uintptr_t)block | FULL_TAG);
        ++table_used;
        return 0;
    }

    if (e == NULL) {
        leaf = slab_get(&leaf_slab);
        if (leaf == NULL) {
            return -ENOMEM;
        }
        table_put(table, table_cap, granule + 1, (uintptr_t)leaf);
        ++table_used;
    } else {
        leaf = (leaf_t*)e->value;
    }
    for (i = first; i < first + count; ++i) {
        leaf->page[i] = block;
    }
    leaf->used += count;
    return 0;
}

static int remove_piece(p2pmem_block_t *block, uintptr_t granule,
                        unsigned first, unsigned count)
{
    entry_t *e = table_find(granule + 1);
    leaf_t *leaf;
    unsigned i;

    if (e == NULL) {
        return 0;
    }
    if (e->value & FULL_TAG) {
        if ((e->value & ~FULL_TAG) == (uintptr_t)block) {
            table_delete(e);
        }
        return 0;
    }

    /* only this block's slots: an undo may visit pieces never filled */
    leaf = (leaf_t*)e->value;
    for (i = first; i < first + count; ++i) {
        if (leaf->page[i] == block) {
            leaf->page[i] = NULL;
            --leaf->used;
        }
    }
    if (leaf->used == 0) {
        table_delete(e);
        slab_put(&leaf_slab, leaf);
    }
    return 0;
}

int p2pmem_index_insert(p2pmem_block_t *block)
{
    /* granules spanned, +1 for a start that is not granule-aligned */
    size_t pieces = (block->size >> granule_shift) + 2;
    int ret;

    ret = table_reserve(pieces);
    if (ret != 0) {
        return ret;
    }
    ret = for_each_piece(block, insert_piece);
    if (ret != 0) {
        for_each_piece(block, remove_piece); /* undo the pieces done */
        return ret;
    }
    ++num_blocks;
    return 0;
}

void p2pmem_index_remove(const p2pmem_block_t *block)
{
    for_each_piece((p2pmem_block_t*)block, remove_piece);
    --num_blocks;
}

p2pmem_block_t *p2pmem_index_lookup(uintptr_t addr)
{
    entry_t *e = table_find((addr >> granule_shift) + 1);

    if (e == NULL) {
        return NULL;
    }
    if (e->value & FULL_TAG) {
        return (p2pmem_block_t*)(e->value & ~FULL_TAG);
    }
    return ((leaf_t*)e->value)->page[(addr >> page_shift) &
                                     (GRANULE_PAGES - 1)];
}
