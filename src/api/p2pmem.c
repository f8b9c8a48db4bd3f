/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: libp2pmem, application-placed P2PDMA memory (p2pmem.h).
 *
 * Providers are found and ranked by the sysfs library in src/ucs, driven by
 * the same variables as the UCX module, so one setting governs both. The
 * preload library is built from this file too: it runs this code from
 * inside malloc(), so nothing on the allocation and lookup paths calls
 * malloc() or stdio; discovery does, once, and the preload routes those
 * calls to glibc.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "libp2pmem_int.h"

#include <ucs/p2pmem_sys.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define P2PMEM_API  __attribute__((visibility("default")))
/* beyond any user address space (x86-64: 47 bits, 57 with 5-level paging) */
#define SIZE_ABSURD ((size_t)1 << 57)

/* kinds of failure, each explained once */
enum {
    KIND_SIZE, KIND_NODEV, KIND_NOMEM, KIND_ACCESS, KIND_OTHER,
    KIND_MAX
};

/* alloc_lock: discovery and provider state; index_lock: the page index */
static pthread_mutex_t alloc_lock   = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t index_lock  = PTHREAD_RWLOCK_INITIALIZER;
static pthread_once_t setup_once    = PTHREAD_ONCE_INIT;
static size_t page_size;
static int verbose;
static int initialized;
static int init_errno;            /* ENODEV: nothing to allocate from */
static ucs_p2pmem_ctx_t ctx;      /* the selected providers */
static const ucs_p2pmem_provider_t *last_failed; /* for messages */
static size_t last_oversize;                     /* for messages */
static ucs_p2pmem_once_t reported[KIND_MAX];
/* P2PMEM_SCRUB: clear a block before it goes back to the device, because
 * kernels without the clearing patch hand it to the next user as is */
static int scrub = 1;
static int finished;             /* the exit handler has run */
/* fork() calls of this process (under both locks): a block that went live
 * before the last one is shared with a child that may still use it */
static unsigned long forks;
static ucs_p2pmem_once_t noted_unwritable;

/* Reuse cache (the preload enables it): freed blocks stay mapped, newest
 * first, under alloc_lock. A block serves a request of its own size down
 * to 4/5 of it; beyond the bound the oldest go back to the device. */
#define CACHE_MAX_BLOCKS 64
static size_t cache_limit;
static size_t cache_cap = SIZE_MAX; /* a quarter of the selected pools */
static size_t cache_bytes, cache_count;
static unsigned long cache_hits;
static p2pmem_block_t *cache_head, *cache_tail;

void p2pmem_print(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n > sizeof(buf) - 2) {
        n = sizeof(buf) - 2;
    }
    buf[n++] = '\n';
    /* stderr without stdio: stdio may allocate and we may be in malloc */
    if (write(STDERR_FILENO, buf, (size_t)n) < 0) {
        return;
    }
}

const char *p2pmem_who(char *buf, size_t len)
{
    const char *rank = getenv("OMPI_COMM_WORLD_RANK");

    if ((rank == NULL) || (rank[0] == '\0')) {
        rank = getenv("PMIX_RANK");
    }
    if ((rank != NULL) && (rank[0] != '\0') &&
        (strspn(rank, "0123456789") == strlen(rank)) && (strlen(rank) < 12)) {
        snprintf(buf, len, "rank %s, pid %d", rank, (int)getpid());
    } else {
        snprintf(buf, len, "pid %d", (int)getpid());
    }
    return buf;
}

static void report_cb(void *arg, ucs_p2pmem_log_level_t level,
                      const char *message)
{
    char id[48];

    if (level == UCS_P2PMEM_LOG_DEBUG) {
        /* P2PMEM_VERBOSE: named by process, as every rank prints them */
        if (verbose) {
            p2pmem_print("libp2pmem: %s: %s", p2pmem_who(id, sizeof(id)),
                         message);
        }
        return;
    }
    p2pmem_print("libp2pmem: %s%s", (level == UCS_P2PMEM_LOG_ERROR) ?
                 "error: " : "warning: ", message);
}

static void atfork_prepare(void)
{
    pthread_mutex_lock(&alloc_lock);
    pthread_rwlock_wrlock(&index_lock);
}

static void atfork_parent(void)
{
    ++forks;
    pthread_rwlock_unlock(&index_lock);
    pthread_mutex_unlock(&alloc_lock);
}

/* glibc's rwlock unlock tells a writer by its thread id, which differs in
 * the child; the child is single-threaded and nobody holds the locks
 * (prepare made sure), so fresh locks are equivalent */
static void atfork_child(void)
{
    pthread_rwlock_init(&index_lock, NULL);
    pthread_mutex_init(&alloc_lock, NULL);
    /* the cached blocks are shared mappings of the parent's, which may
     * reuse them: the child must neither hand them out nor clear them */
    cache_head  = NULL;
    cache_tail  = NULL;
    cache_bytes = 0;
    cache_count = 0;
}

static void setup(void)
{
    const char *v = getenv("P2PMEM_VERBOSE");

    if ((v != NULL) && (v[0] != '\0') && (ucs_p2pmem_parse_bool(v, &verbose) != 0)) {
        p2pmem_print("libp2pmem: error: P2PMEM_VERBOSE=%s is not a yes/no "
                     "value (1, y, yes, on, true or 0, n, no, off, false); "
                     "messages stay off", v);
        verbose = 0;
    }
    v = getenv("P2PMEM_SCRUB");
    if ((v != NULL) && (v[0] != '\0') && (ucs_p2pmem_parse_bool(v, &scrub) != 0)) {
        p2pmem_print("libp2pmem: error: P2PMEM_SCRUB=%s is not a yes/no "
                     "value (1, y, yes, on, true or 0, n, no, off, false); "
                     "blocks are still cleared before they go back to the "
                     "device", v);
        scrub = 1;
    }
    page_size = (size_t)sysconf(_SC_PAGESIZE);
    p2pmem_index_init(page_size);
    /* a child must not inherit a lock held by another thread */
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

__attribute__((constructor)) static void p2pmem_lib_init(void)
{
    pthread_once(&setup_once, setup);
}

/* A variable set to nothing means its default here. */
static const char *env_value(const char *name)
{
    const char *v = getenv(name);

    return ((v == NULL) || (v[0] == '\0')) ? NULL : v;
}

/* Discover and select providers once; called with alloc_lock held. */
static void discover(void)
{
    const ucs_p2pmem_config_t cfg = {
        .sysfs_root  = env_value("UCX_P2PMEM_SYSFS_ROOT"),
        .devices     = env_value("UCX_P2PMEM_DEVICES"),
        /* the RDMA devices UCX is told to use, as the module does */
        .net_devices = getenv("UCX_NET_DEVICES")
    };
    unsigned i;

    initialized = 1;
    if ((ucs_p2pmem_ctx_open(&cfg, &ctx, report_cb, NULL) != 0) ||
        (ctx.count == 0)) {
        init_errno = ENODEV;
        return;
    }
    /* other processes share the pools: keep at most a quarter */
    cache_cap = 0;
    for (i = 0; i < ctx.count; ++i) {
        cache_cap += ctx.providers[i].p->size / 4;
    }
}

/* Why p2pmem_alloc failed, in the words every caller uses (src/ucs). */
const char *p2pmem_failure_text(int err, char *buf, size_t len)
{
    return ucs_p2pmem_failure_text(&ctx, err, last_oversize,
                                   (err == EINVAL) ? NULL : last_failed, buf,
                                   len);
}

static int failure_kind(int err)
{
    switch (err) {
    case EINVAL:
    case EFBIG:  return KIND_SIZE;
    case ENODEV: return KIND_NODEV;
    case ENOMEM: return KIND_NOMEM;
    case EACCES:
    case EPERM:  return KIND_ACCESS;
    default:     return KIND_OTHER;
    }
}

static void *fail(int err, size_t size, unsigned flags)
{
    char text[512];
    int kind = failure_kind(err);

    if (!(flags & P2PMEM_ALLOC_QUIET) &&
        ucs_p2pmem_once(&reported[kind])) {
        p2pmem_print("libp2pmem: error: p2pmem_alloc(%zu) failed: %s", size,
                     p2pmem_failure_text(err, text, sizeof(text)));
    }
    errno = err;
    return NULL;
}

/* Map length bytes from the first selected provider that has them;
 * alloc_lock held. */
static void *map_from_providers(size_t length, unsigned *index, int *err)
{
    ucs_p2pmem_map_result_t r;

    *err = ucs_p2pmem_ctx_map(&ctx, length, NULL, NULL, &r);
    if (r.last_failed != NULL) {
        last_failed = r.last_failed;
    }
    if (*err == EFBIG) {
        last_oversize = length;
    }
    *index = r.index;
    return r.address;
}

/* Only this process maps a live block: it mapped it and has not forked
 * since. Else a child (or the parent) may still use it: it is neither
 * cleared nor kept for reuse, only unmapped, and the pages go back to the
 * pool when the last process unmaps them (uncleared without the kernel's
 * clearing patch). */
static int block_private(const p2pmem_block_t *block)
{
    return (block->owner == getpid()) && (block->forks == forks);
}

/* Clear a block that leaves this process for the device pool: a freed
 * block nobody else maps, or one from the reuse cache (freed, so no other
 * process may use it either). */
static void scrub_block(const p2pmem_block_t *block)
{
    int ret;

    if (!scrub || (block->owner != getpid())) {
        return;
    }
    ret = ucs_p2pmem_scrub(block->map_base, block->map_len);
    if ((ret != 0) && ucs_p2pmem_once(&noted_unwritable)) {
        p2pmem_print("libp2pmem: warning: a freed block at %p (%zu bytes) "
                     "could not be made writable to clear it (%s); it goes "
                     "back to the device uncleared", block->map_base,
                     block->map_len, strerror(-ret));
    }
}

/* Give a block's mapping back to the device; alloc_lock held. */
static void give_back(void *map_base, size_t map_len)
{
    int ret = ucs_p2pmem_unmap(map_base, map_len);

    if (ret != 0) {
        p2pmem_print("libp2pmem: error: munmap(%p, %zu) failed: %s", map_base,
                     map_len, strerror(-ret));
    }
}

static void list_del(p2pmem_block_t **head, p2pmem_block_t **tail,
                     p2pmem_block_t *b)
{
    if (b->cache_prev != NULL) {
        b->cache_prev->cache_next = b->cache_next;
    } else {
        *head = b->cache_next;
    }
    if (b->cache_next != NULL) {
        b->cache_next->cache_prev = b->cache_prev;
    } else if (tail != NULL) {
        *tail = b->cache_prev;
    }
    b->cache_next = b->cache_prev = NULL;
}

static void list_add(p2pmem_block_t **head, p2pmem_block_t **tail,
                     p2pmem_block_t *b)
{
    b->cache_prev = NULL;
    b->cache_next = *head;
    if (*head != NULL) {
        (*head)->cache_prev = b;
    } else if (tail != NULL) {
        *tail = b;
    }
    *head = b;
}

/* Return the oldest cached block to the device; alloc_lock held. */
static void cache_evict_oldest(void)
{
    p2pmem_block_t *b = cache_tail;

    list_del(&cache_head, &cache_tail, b);
    cache_bytes -= b->map_len;
    --cache_count;
    scrub_block(b);
    give_back(b->map_base, b->map_len);
    pthread_rwlock_wrlock(&index_lock);
    p2pmem_index_block_put(b);
    pthread_rwlock_unlock(&index_lock);
}

/* A cached block holding length bytes at alignment, not wasting more than
 * a quarter of map_len (the mapping a fresh allocation would make), taken
 * out of the cache; or NULL. alloc_lock held. */
static p2pmem_block_t *cache_take(size_t length, size_t alignment,
                                  size_t map_len)
{
    p2pmem_block_t *b;
    uintptr_t start, end;

    for (b = cache_head; b != NULL; b = b->cache_next) {
        start = ((uintptr_t)b->map_base + alignment - 1) &
                ~(uintptr_t)(alignment - 1);
        end   = (uintptr_t)b->map_base + b->map_len;
        if ((start + length <= end) && (b->map_len <= map_len + map_len / 4) &&
            (b->owner == getpid())) {
            list_del(&cache_head, &cache_tail, b);
            cache_bytes -= b->map_len;
            --cache_count;
            ++cache_hits;
            b->start = start;
            b->size  = end - start;
            return b;
        }
    }
    return NULL;
}

void p2pmem_cache_flush(void)
{
    pthread_mutex_lock(&alloc_lock);
    while (cache_tail != NULL) {
        cache_evict_oldest();
    }
    pthread_mutex_unlock(&alloc_lock);
}

void p2pmem_cache_enable(size_t max_bytes)
{
    pthread_mutex_lock(&alloc_lock);
    cache_limit = max_bytes;
    while ((cache_tail != NULL) && (cache_bytes > cache_limit)) {
        cache_evict_oldest();
    }
    pthread_mutex_unlock(&alloc_lock);
}

void p2pmem_cache_stats(size_t *bytes, size_t *blocks, unsigned long *hits)
{
    pthread_mutex_lock(&alloc_lock);
    *bytes  = cache_bytes;
    *blocks = cache_count;
    *hits   = cache_hits;
    pthread_mutex_unlock(&alloc_lock);
}

int p2pmem_verbose(void)
{
    pthread_once(&setup_once, setup);
    return verbose;
}

int p2pmem_scrub_enabled(void)
{
    pthread_once(&setup_once, setup);
    return scrub;
}

/* At exit: cached blocks go back to the device (cleared); later frees
 * return memory at once. Live blocks are not cleared here: this runs
 * before stdio flushes its buffers and before other destructors, and a
 * child may share them, so clearing would destroy data still in use. The
 * kernel's clearing patch (kernel-patches/) covers what exit leaves. */
__attribute__((destructor)) void p2pmem_fini(void)
{
    if (!initialized || finished) {
        return;
    }
    finished = 1;
    p2pmem_cache_enable(0);
}

P2PMEM_API void *p2pmem_alloc_ex(size_t size, size_t alignment, unsigned flags)
{
    p2pmem_block_t *block, *reused;
    size_t length, map_len;
    unsigned index = 0;
    void *address;
    int err;

    pthread_once(&setup_once, setup);
    if (alignment < page_size) {
        alignment = page_size;
    }
    if ((size == 0) || (size > SIZE_ABSURD) || (alignment > SIZE_ABSURD) ||
        (alignment & (alignment - 1))) {
        return fail(EINVAL, size, flags);
    }
    length  = (size + page_size - 1) & ~(page_size - 1);
    /* a larger alignment is found inside a larger mapping */
    map_len = length + (alignment - page_size);

    pthread_mutex_lock(&alloc_lock);
    if (!initialized) {
        discover();
    }
    if (init_errno != 0) {
        err = init_errno;
        pthread_mutex_unlock(&alloc_lock);
        return fail(err, size, flags);
    }
    reused = cache_take(length, alignment, map_len);
    if (reused != NULL) {
        pthread_mutex_unlock(&alloc_lock);
        pthread_rwlock_wrlock(&index_lock);
        if (p2pmem_index_insert(reused) == 0) {
            reused->forks = forks;
            pthread_rwlock_unlock(&index_lock);
            if (verbose) {
                char id[48];

                p2pmem_print("libp2pmem: %s: %zu bytes at %p reused (freed "
                             "before, kept mapped)",
                             p2pmem_who(id, sizeof(id)), size,
                             (void*)reused->start);
            }
            return (void*)reused->start;
        }
        /* no memory for the index: this block goes back to the device */
        pthread_rwlock_unlock(&index_lock);
        scrub_block(reused);
        pthread_mutex_lock(&alloc_lock);
        give_back(reused->map_base, reused->map_len);
        pthread_mutex_unlock(&alloc_lock);
        pthread_rwlock_wrlock(&index_lock);
        p2pmem_index_block_put(reused);
        pthread_rwlock_unlock(&index_lock);
        return fail(ENOMEM, size, flags);
    }
    address = map_from_providers(map_len, &index, &err);
    if ((address == NULL) && (err == ENOMEM) && (cache_tail != NULL)) {
        /* the pool is short: what this process keeps for reuse first */
        while (cache_tail != NULL) {
            cache_evict_oldest();
        }
        address = map_from_providers(map_len, &index, &err);
    }
    if (address == NULL) {
        pthread_mutex_unlock(&alloc_lock);
        return fail(err, size, flags);
    }
    pthread_mutex_unlock(&alloc_lock);

    pthread_rwlock_wrlock(&index_lock);
    block = p2pmem_index_block_new();
    if (block != NULL) {
        block->map_base = address;
        block->map_len  = map_len;
        block->start    = ((uintptr_t)address + alignment - 1) &
                          ~(uintptr_t)(alignment - 1);
        block->size     = map_len - (block->start - (uintptr_t)address);
        block->owner    = getpid();
        block->forks    = forks;
        if (p2pmem_index_insert(block) != 0) {
            p2pmem_index_block_put(block);
            block = NULL;
        }
    }
    pthread_rwlock_unlock(&index_lock);

    if (block == NULL) {
        /* no memory for the bookkeeping: give the device memory back
         * (untouched, nothing to clear) */
        pthread_mutex_lock(&alloc_lock);
        give_back(address, map_len);
        pthread_mutex_unlock(&alloc_lock);
        return fail(ENOMEM, size, flags);
    }

    if (verbose) {
        char id[48];

        p2pmem_print("libp2pmem: %s: %zu bytes at %p from %s%s",
                     p2pmem_who(id, sizeof(id)), size, (void*)block->start,
                     ctx.providers[index].p->name,
                     ctx.providers[index].p->emulated ? " (emulated)" : "");
    }
    return (void*)block->start;
}

P2PMEM_API void *p2pmem_alloc(size_t size)
{
    return p2pmem_alloc_ex(size, 0, 0);
}

int p2pmem_release(void *ptr)
{
    p2pmem_block_t *block;
    void *map_base;
    size_t map_len;
    int cached = 0, private;

    pthread_rwlock_wrlock(&index_lock);
    block = p2pmem_index_lookup((uintptr_t)ptr);
    if ((block == NULL) || (block->start != (uintptr_t)ptr)) {
        pthread_rwlock_unlock(&index_lock);
        return -1;
    }
    map_base = block->map_base;
    map_len  = block->map_len;
    private  = block_private(block);
    p2pmem_index_remove(block);
    pthread_rwlock_unlock(&index_lock);

    /* under alloc_lock like the mapping, so that fork() (which takes it
     * first) never copies a process in the middle of either. A block the
     * program made read-only is reused only once writable again. */
    pthread_mutex_lock(&alloc_lock);
    if (private && (map_len <= cache_limit) && (map_len <= cache_cap) &&
        (mprotect(map_base, map_len, PROT_READ | PROT_WRITE) == 0)) {
        /* kept mapped in this process: nobody else can read it, so it is
         * cleared only when it goes back to the device */
        list_add(&cache_head, &cache_tail, block);
        cache_bytes += map_len;
        ++cache_count;
        cached = 1;
        while ((cache_bytes > cache_limit) || (cache_bytes > cache_cap) ||
               (cache_count > CACHE_MAX_BLOCKS)) {
            cache_evict_oldest();
        }
        pthread_mutex_unlock(&alloc_lock);
    } else {
        pthread_mutex_unlock(&alloc_lock);
        if (private) {
            scrub_block(block);
        }
        pthread_mutex_lock(&alloc_lock);
        give_back(map_base, map_len);
        pthread_mutex_unlock(&alloc_lock);
        pthread_rwlock_wrlock(&index_lock);
        p2pmem_index_block_put(block);
        pthread_rwlock_unlock(&index_lock);
    }
    if (verbose) {
        char id[48];

        p2pmem_print("libp2pmem: %s: freed %zu bytes at %p%s",
                     p2pmem_who(id, sizeof(id)), map_len, ptr,
                     cached ? " (kept for reuse)" : private ? "" :
                     " (shared by fork: not cleared)");
    }
    return 0;
}

P2PMEM_API int p2pmem_free(void *ptr)
{
    if (ptr == NULL) {
        return 0;
    }
    if (p2pmem_release(ptr) != 0) {
        p2pmem_print("libp2pmem: error: p2pmem_free(%p): not the start of a "
                     "live p2pmem_alloc() allocation (freed twice, interior "
                     "pointer, or from another allocator); nothing freed",
                     ptr);
        errno = EINVAL;
        return -1;
    }
    return 0;
}

P2PMEM_API int p2pmem_is_p2p(const void *ptr)
{
    int found;

    pthread_rwlock_rdlock(&index_lock);
    found = p2pmem_index_lookup((uintptr_t)ptr) != NULL;
    pthread_rwlock_unlock(&index_lock);
    return found;
}

P2PMEM_API size_t p2pmem_size(const void *ptr)
{
    p2pmem_block_t *block;
    size_t size = 0;

    pthread_rwlock_rdlock(&index_lock);
    block = p2pmem_index_lookup((uintptr_t)ptr);
    if ((block != NULL) && (block->start == (uintptr_t)ptr)) {
        size = block->size;
    }
    pthread_rwlock_unlock(&index_lock);
    return size;
}
