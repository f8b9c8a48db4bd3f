/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: libp2pmem_mpi.so, MPI_Alloc_mem from P2PDMA memory.
 *
 *   LD_PRELOAD="libp2pmem_preload.so libp2pmem_mpi.so" mpi_program ...
 *   (scripts/p2pmem-mpirun --preload does this)
 *
 * MPI_Alloc_mem is the MPI standard's request for memory meant for
 * communication and RMA, so this PMPI interposer serves it from p2pmem,
 * whatever the size (the preload's P2PMEM_THRESHOLD and P2PMEM_CALLERS
 * are for plain malloc, which cannot say what its memory is for). Open MPI
 * 4.1 would serve it with a malloc inside libopen-pal, which the preload's
 * caller rules send to host memory.
 *
 * Turned off per call by the info key "p2pmem" = "false", for the process
 * by P2PMEM_MPI_ALLOC_MEM=0: then, and when p2pmem cannot serve it (one
 * message per cause), PMPI_Alloc_mem serves it. MPI_Free_mem gives the
 * blocks it handed out to p2pmem_free and everything else to PMPI_Free_mem.
 * Loaded after libp2pmem_preload.so, the p2pmem_* calls are the preload's,
 * so blocks share its index and reuse cache; alone, libp2pmem's.
 * Only the two MPI functions are exported.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem.h"

#include <ucs/p2pmem_sys.h>

#include <mpi.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT   __attribute__((visibility("default")))
#define NAME     "libp2pmem_mpi"
#define INFO_KEY "p2pmem"

static pthread_once_t config_once = PTHREAD_ONCE_INIT;
static int enabled = 1;
static int stats_enabled;
static int verbose;
static int stats_fd = STDERR_FILENO;

static struct {
    unsigned long p2p_allocs, p2p_bytes, p2p_frees;
    unsigned long off_allocs, off_bytes;      /* info key or variable */
    unsigned long fallback_allocs, fallback_bytes;
} stats;

#define COUNT(_field, _n) \
    __atomic_fetch_add(&stats._field, (_n), __ATOMIC_RELAXED)

/* causes of a host fallback, each reported once */
enum { WARN_NOMEM, WARN_NODEV, WARN_ACCESS, WARN_SIZE, WARN_OTHER,
       WARN_INFO, WARN_MAX };
static ucs_p2pmem_once_t warned[WARN_MAX];

/* ---- the blocks handed out here: MPI_Free_mem must tell them from
 * PMPI_Alloc_mem's (which may be p2pmem too, under P2PMEM_CALLERS=all).
 * Open addressing, tombstones, doubled when half full; under table_lock.
 * MPI_Alloc_mem is not on a fast path. */
#define TOMB ((uintptr_t)1)

typedef struct {
    uintptr_t ptr; /* 0: empty, TOMB: deleted */
    size_t    size;
} slot_t;

static slot_t *table;
static size_t table_cap, table_used; /* used: live + tombstones */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(uintptr_t ptr, size_t cap)
{
    /* page-aligned pointers: mix the high bits in */
    uint64_t h = (uint64_t)ptr * 0x9e3779b97f4a7c15ull;

    return (size_t)(h >> 32) & (cap - 1);
}

/* table_lock held */
static int table_grow(void)
{
    size_t cap = table_cap ? table_cap * 2 : 64, i, j;
    slot_t *t  = calloc(cap, sizeof(*t));

    if (t == NULL) {
        return -1;
    }
    for (i = 0; i < table_cap; ++i) {
        if (table[i].ptr > TOMB) {
            for (j = slot_of(table[i].ptr, cap); t[j].ptr != 0;
                 j = (j + 1) & (cap - 1)) {
            }
            t[j] = table[i];
        }
    }
    free(table);
    table     = t;
    table_cap = cap;
    /* tombstones are gone: count the live entries again */
    for (i = 0, table_used = 0; i < cap; ++i) {
        table_used += (t[i].ptr != 0);
    }
    return 0;
}

static int table_add(void *ptr, size_t size)
{
    size_t j;
    int ret = -1;

    pthread_mutex_lock(&table_lock);
    if (((table_used + 1) * 2 > table_cap) && (table_grow() != 0)) {
        goto out;
    }
    for (j = slot_of((uintptr_t)ptr, table_cap); table[j].ptr > TOMB;
         j = (j + 1) & (table_cap - 1)) {
    }
    table_used  += (table[j].ptr == 0);
    table[j].ptr  = (uintptr_t)ptr;
    table[j].size = size;
    ret = 0;
out:
    pthread_mutex_unlock(&table_lock);
    return ret;
}

/* 1 and *size when ptr was handed out here (and forget it), else 0 */
static int table_take(void *ptr, size_t *size)
{
    size_t j;
    int found = 0;

    pthread_mutex_lock(&table_lock);
    if (table_cap == 0) {
        goto out;
    }
    for (j = slot_of((uintptr_t)ptr, table_cap); table[j].ptr != 0;
         j = (j + 1) & (table_cap - 1)) {
        if (table[j].ptr == (uintptr_t)ptr) {
            *size        = table[j].size;
            table[j].ptr = TOMB;
            found        = 1;
            break;
        }
    }
out:
    pthread_mutex_unlock(&table_lock);
    return found;
}

/* ---- messages ---- */

/* "rank R, pid P" as the preload's lines say it */
static const char *who(char *buf, size_t len)
{
    const char *rank = getenv("OMPI_COMM_WORLD_RANK");

    if ((rank == NULL) || (rank[0] == '\0')) {
        rank = getenv("PMIX_RANK");
    }
    if ((rank != NULL) && (rank[0] != '\0') && (strlen(rank) < 12) &&
        (strspn(rank, "0123456789") == strlen(rank))) {
        snprintf(buf, len, "rank %s, pid %d", rank, (int)getpid());
    } else {
        snprintf(buf, len, "pid %d", (int)getpid());
    }
    return buf;
}

/* NAME: TAG rank R, pid P: text, in one write (ranks share a stream) */
static void say(int fd, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(int fd, const char *tag, const char *fmt, ...)
{
    char buf[1024], id[48];
    va_list ap;
    int n, m;

    n = snprintf(buf, sizeof(buf), NAME ": %s%s: ", tag, who(id, sizeof(id)));
    va_start(ap, fmt);
    m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) {
        return;
    }
    n += m;
    if ((size_t)n > sizeof(buf) - 2) {
        n = sizeof(buf) - 2;
    }
    buf[n++] = '\n';
    if (write(fd, buf, (size_t)n) < 0) {
        return;
    }
}

static void configure(void)
{
    const char *v;

    v = getenv("P2PMEM_MPI_ALLOC_MEM");
    if ((v != NULL) && (v[0] != '\0') &&
        (ucs_p2pmem_parse_bool(v, &enabled) != 0)) {
        say(STDERR_FILENO, "error: ", "P2PMEM_MPI_ALLOC_MEM=%.64s is not 0 "
            "or 1 (or yes/no, on/off, true/false); MPI_Alloc_mem stays in "
            "p2pmem", v);
        enabled = 1;
    }
    v = getenv("P2PMEM_STATS");
    if ((v == NULL) || (ucs_p2pmem_parse_bool(v, &stats_enabled) != 0)) {
        stats_enabled = 0; /* the preload reports a bad value */
    }
    v = getenv("P2PMEM_VERBOSE");
    if ((v == NULL) || (ucs_p2pmem_parse_bool(v, &verbose) != 0)) {
        verbose = 0;
    }
    if (stats_enabled) {
        /* programs may close stderr before the exit handlers run */
        stats_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 512);
        if (stats_fd < 0) {
            stats_fd = STDERR_FILENO;
        }
    }
    if (verbose) {
        say(STDERR_FILENO, "", "MPI_Alloc_mem %s (P2PMEM_MPI_ALLOC_MEM; info "
            "key \"" INFO_KEY "\" = \"false\" turns it off per call)",
            enabled ? "from p2pmem" : "from host memory");
    }
}

/* May this call be p2pmem? The info key "p2pmem" says no per call; the
 * variable, for the process, has the last word. */
static int info_wants(MPI_Info info)
{
    char value[32];
    int flag = 0, want;

    if (!enabled) {
        return 0;
    }
    if ((info == MPI_INFO_NULL) ||
        (PMPI_Info_get(info, INFO_KEY, sizeof(value) - 1, value, &flag) !=
         MPI_SUCCESS) || !flag) {
        return 1;
    }
    if (ucs_p2pmem_parse_bool(value, &want) != 0) {
        if (ucs_p2pmem_once(&warned[WARN_INFO])) {
            say(STDERR_FILENO, "error: ", "MPI_Alloc_mem info " INFO_KEY "=%s "
                "is not true or false; ignored", value);
        }
        return 1;
    }
    return want;
}

/* One line per cause: what happened and what to do. */
static void fallback_note(int err, size_t size)
{
    static const char *const text[WARN_MAX] = {
        [WARN_NOMEM]  = "the P2PDMA providers are exhausted; free device "
                        "memory or allocate less",
        [WARN_NODEV]  = "no P2PDMA provider (p2pmem-info lists them)",
        [WARN_ACCESS] = "no access to the providers' allocate files "
                        "(p2pmem-info says why)",
        [WARN_SIZE]   = "larger than any P2PDMA provider holds",
        [WARN_OTHER]  = NULL, /* the error itself */
    };
    int kind = (err == ENOMEM) ? WARN_NOMEM :
               (err == ENODEV) ? WARN_NODEV :
               ((err == EACCES) || (err == EPERM)) ? WARN_ACCESS :
               ((err == EINVAL) || (err == EFBIG)) ? WARN_SIZE : WARN_OTHER;

    if (ucs_p2pmem_once(&warned[kind])) {
        say(STDERR_FILENO, "warning: ", "MPI_Alloc_mem(%zu) from host memory: "
            "%s%s. Later ones for this cause are not reported%s", size,
            text[kind] ? text[kind] : "p2pmem_alloc failed: ",
            text[kind] ? "" : strerror(err),
            stats_enabled ? "" : " (P2PMEM_STATS=1 counts them)");
    }
}

EXPORT int MPI_Alloc_mem(MPI_Aint size, MPI_Info info, void *baseptr)
{
    void *ptr;
    int err, rc;

    pthread_once(&config_once, configure);
    /* size 0 and negative sizes: MPI's own answer */
    if ((size <= 0) || (baseptr == NULL) || !info_wants(info)) {
        goto host_off;
    }
    ptr = p2pmem_alloc_ex((size_t)size, 0, P2PMEM_ALLOC_QUIET);
    if (ptr == NULL) {
        err = errno;
        fallback_note(err, (size_t)size);
        goto host_fallback;
    }
    if (table_add(ptr, (size_t)size) != 0) {
        p2pmem_free(ptr);
        fallback_note(ENOMEM, (size_t)size);
        goto host_fallback;
    }
    COUNT(p2p_allocs, 1);
    COUNT(p2p_bytes, (size_t)size);
    if (verbose) {
        say(STDERR_FILENO, "", "MPI_Alloc_mem(%zu): %p from p2pmem",
            (size_t)size, ptr);
    }
    *(void**)baseptr = ptr;
    return MPI_SUCCESS;

host_fallback:
    rc = PMPI_Alloc_mem(size, info, baseptr);
    if (rc == MPI_SUCCESS) {
        COUNT(fallback_allocs, 1);
        COUNT(fallback_bytes, (size_t)size);
    }
    return rc;
host_off:
    rc = PMPI_Alloc_mem(size, info, baseptr);
    if ((rc == MPI_SUCCESS) && (size > 0)) {
        COUNT(off_allocs, 1);
        COUNT(off_bytes, (size_t)size);
    }
    return rc;
}

EXPORT int MPI_Free_mem(void *base)
{
    size_t size;

    if ((base == NULL) || !table_take(base, &size)) {
        return PMPI_Free_mem(base);
    }
    if (p2pmem_free(base) != 0) {
        /* p2pmem_free said what; not ours to pass on to PMPI */
        return MPI_ERR_ARG;
    }
    COUNT(p2p_frees, 1);
    if (verbose) {
        say(STDERR_FILENO, "", "MPI_Free_mem(%p): %zu bytes back to p2pmem",
            base, size);
    }
    return MPI_SUCCESS;
}

/* One line per process that called MPI_Alloc_mem, beside the preload's. */
__attribute__((destructor)) static void print_stats(void)
{
    if (!stats_enabled ||
        (stats.p2p_allocs + stats.off_allocs + stats.fallback_allocs == 0)) {
        return;
    }
    say(stats_fd, "stats: ", "MPI_Alloc_mem: p2pmem: %lu allocations %lu "
        "bytes, %lu freed; host: %lu allocations %lu bytes turned off (info "
        INFO_KEY " or P2PMEM_MPI_ALLOC_MEM), %lu allocations %lu bytes "
        "fallen back", stats.p2p_allocs, stats.p2p_bytes, stats.p2p_frees,
        stats.off_allocs, stats.off_bytes, stats.fallback_allocs,
        stats.fallback_bytes);
}
