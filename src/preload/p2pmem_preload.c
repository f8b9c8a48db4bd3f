/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: libp2pmem_preload.so, P2PDMA memory for unmodified programs.
 *
 *   LD_PRELOAD=libp2pmem_preload.so program ...
 *
 * Allocations of at least P2PMEM_THRESHOLD bytes (default 1M) made by the
 * program's own code (P2PMEM_CALLERS) come from libp2pmem (the providers
 * UCX_P2PMEM_DEVICES selects); smaller ones, those made inside libraries
 * (MPI's and UCX's temporaries and pools), and large ones that p2pmem
 * cannot serve, come from glibc's allocator. Freed blocks are kept for
 * reuse (P2PMEM_CACHE) and cleared before they go back to the device
 * (P2PMEM_SCRUB). The
 * library also exports the p2pmem_* API: loaded first, it answers those
 * calls for the whole process, so a program linked with -lp2pmem sees the
 * allocations made here.
 *
 * Host memory comes from glibc's __libc_* entry points, never through the
 * malloc symbol, and everything libp2pmem allocates while it runs (the
 * sysfs scan, dlsym, stdio) is sent to glibc by a per-thread flag, so this
 * code never re-enters itself. p2pmem blocks are page-aligned: any other
 * pointer is glibc's without a lookup.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "libp2pmem_int.h"

#include <ucs/p2pmem_sys.h>

#include <dlfcn.h>
#include <link.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT            __attribute__((visibility("default")))
#define DEFAULT_THRESHOLD ((size_t)1 << 20)
#define DEFAULT_CACHE     ((size_t)64 << 20)
#define DEFAULT_CALLERS   "main,libstdc++.so*"
#define NAME              "libp2pmem_preload"

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

/* set while this thread runs libp2pmem: its own allocations go to glibc */
static __thread int in_p2pmem __attribute__((tls_model("initial-exec")));

static pthread_once_t config_once = PTHREAD_ONCE_INIT;
static size_t threshold = DEFAULT_THRESHOLD;
static size_t page_size = 4096;
static int stats_enabled;
static int stats_fd = STDERR_FILENO;
static int p2p_off;          /* no provider: stop asking */
/* malloc() sizes below this go straight to glibc: 0 until configure() has
 * run, and while statistics count host allocations; else the threshold.
 * One load and compare on the path most allocations take. */
static size_t fast_below;
static size_t (*libc_usable_size)(void *ptr);

static size_t cache_size = DEFAULT_CACHE;
static int verbose;
static int scrub;

static struct {
    unsigned long p2p_allocs, p2p_bytes, p2p_frees;
    unsigned long fallback_allocs, fallback_bytes;
    unsigned long host_allocs;
    unsigned long caller_allocs, caller_bytes;
} stats;

/* causes of a host fallback, each explained once with its fix; HOST: the
 * host allocation failed as well */
enum {
    WARN_NOMEM, WARN_NODEV, WARN_ACCESS, WARN_SIZE, WARN_OTHER, WARN_HOST,
    WARN_MAX
};
static ucs_p2pmem_once_t warned[WARN_MAX];

#define COUNT(_field, _n) \
    __atomic_fetch_add(&stats._field, (_n), __ATOMIC_RELAXED)

/* ---- who asks: P2PMEM_CALLERS ----
 * A large allocation goes to p2pmem only when the code calling malloc()
 * lies in an object the rules accept: by default the program itself (and
 * libstdc++, whose operator new is the program's malloc). Libraries'
 * temporaries (an MPI_Allreduce scratch buffer, UCX's pool chunks) then
 * stay in host memory, where they are cheaper and leave the small device
 * pools to the buffers the application passes to the NIC. The object of a
 * return address comes from the executable ranges of /proc/self/maps, read
 * again whenever the loader's counts of objects added and removed change
 * (dlopen, dlclose), so an object loaded where another was is never taken
 * for it. Objects are matched against the rules once, when first seen,
 * under scan_lock; allocations only look up a range under callers_lock. */
#define MAX_OBJECTS 256
#define MAX_RANGES  2048
#define MAX_NAME    UCS_P2PMEM_CALLER_NAME_MAX

typedef struct {
    char          name[MAX_NAME]; /* file name without directories */
    int           is_main;
    int           want;
    int           reported;
    unsigned long allocs, bytes;  /* sent to host memory (atomic) */
} object_t;

typedef struct {
    uintptr_t lo, hi;
    unsigned  obj;
} range_t;

static ucs_p2pmem_callers_t callers;
static int callers_all;                  /* no rule excludes anything */
static char callers_spec[256] = DEFAULT_CALLERS;
/* appended under scan_lock; an entry is complete before a range names it */
static object_t objects[MAX_OBJECTS];    /* 0: code outside any file */
static unsigned num_objects;
/* two tables: lookups use ranges[cur] while a rescan fills the other */
static range_t ranges[2][MAX_RANGES];
static unsigned num_ranges[2];
static unsigned cur;
static int scanned;                      /* ranges[cur] is filled */
static unsigned long long seen_adds, seen_subs;
static char exe_path[PATH_MAX];
static pthread_mutex_t scan_lock    = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t callers_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned object_intern(const char *path, size_t len)
{
    const char *base = path;
    size_t i, blen;
    int is_main;

    if (len == 0) {
        return 0;
    }
    is_main = (strlen(exe_path) == len) && !memcmp(path, exe_path, len);
    for (i = 0; i < len; ++i) {
        if (path[i] == '/') {
            base = path + i + 1;
        }
    }
    blen = (size_t)(path + len - base);
    if (blen >= MAX_NAME) {
        blen = MAX_NAME - 1;
    }
    for (i = 1; i < num_objects; ++i) {
        if ((objects[i].is_main == is_main) &&
            (strlen(objects[i].name) == blen) &&
            !memcmp(objects[i].name, base, blen)) {
            return (unsigned)i;
        }
    }
    if (num_objects == MAX_OBJECTS) {
        return 0;
    }
    memcpy(objects[num_objects].name, base, blen);
    objects[num_objects].name[blen] = '\0';
    objects[num_objects].is_main    = is_main;
    objects[num_objects].want = ucs_p2pmem_callers_want(&callers,
                                                        objects[num_objects].name,
                                                        is_main);
    return num_objects++;
}

/* An executable range of one maps line into table t (n entries so far). */
static void maps_line(const char *l, size_t len, range_t *t, unsigned *n)
{
    ucs_p2pmem_maps_entry_t e;

    if ((ucs_p2pmem_parse_maps_line(l, len, &e) != 0) ||
        (e.perms[2] != 'x') || (*n == MAX_RANGES)) {
        return;
    }
    t[*n].lo  = (uintptr_t)e.start;
    t[*n].hi  = (uintptr_t)e.end;
    /* [vdso], anonymous code: no file to name */
    t[*n].obj = ((e.path_len == 0) || (e.path[0] == '[')) ? 0 :
                object_intern(e.path, e.path_len);
    ++*n;
}

/* Read the executable ranges of /proc/self/maps into t, without malloc;
 * scan_lock held. Returns how many, or -1 (reported) when it cannot. */
static int maps_scan(range_t *t)
{
    static char buf[8192], line[PATH_MAX + 256];
    unsigned n  = 0;
    size_t used = 0;
    ssize_t got, i;
    int fd;

    fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        /* without it no caller can be placed: say so, and place all */
        p2pmem_print(NAME ": error: cannot read /proc/self/maps (%s), so "
                     "the code calling malloc cannot be told; "
                     "P2PMEM_CALLERS=%s is ignored and large allocations "
                     "from everywhere go to p2pmem. Mount /proc to use it",
                     strerror(errno), callers_spec);
        __atomic_store_n(&callers_all, 1, __ATOMIC_RELAXED);
        return -1;
    }
    while ((got = read(fd, buf, sizeof(buf))) > 0) {
        for (i = 0; i < got; ++i) {
            if (buf[i] == '\n') {
                maps_line(line, used, t, &n);
                used = 0;
            } else if (used < sizeof(line)) {
                line[used++] = buf[i];
            }
        }
    }
    close(fd);
    return (int)n;
}

static int loaded_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    unsigned long long *counts = arg;

    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) +
                sizeof(info->dlpi_subs)) {
        counts[0] = info->dlpi_adds;
        counts[1] = info->dlpi_subs;
    }
    return 1; /* the first object has them: stop */
}

/* Read the ranges again when objects were loaded or unloaded since. */
static void ranges_refresh(void)
{
    unsigned long long counts[2] = {0, 0};
    unsigned next;
    int n;

    dl_iterate_phdr(loaded_cb, counts);
    if (__atomic_load_n(&scanned, __ATOMIC_ACQUIRE) &&
        (__atomic_load_n(&seen_adds, __ATOMIC_RELAXED) == counts[0]) &&
        (__atomic_load_n(&seen_subs, __ATOMIC_RELAXED) == counts[1])) {
        return;
    }
    pthread_mutex_lock(&scan_lock);
    if (!scanned || (seen_adds != counts[0]) || (seen_subs != counts[1])) {
        next = scanned ? !cur : cur;
        n    = maps_scan(ranges[next]);
        pthread_mutex_lock(&callers_lock);
        num_ranges[next] = (n > 0) ? (unsigned)n : 0;
        cur              = next;
        pthread_mutex_unlock(&callers_lock);
        __atomic_store_n(&seen_adds, counts[0], __ATOMIC_RELAXED);
        __atomic_store_n(&seen_subs, counts[1], __ATOMIC_RELAXED);
        __atomic_store_n(&scanned, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&scan_lock);
}

/* The object whose code is at addr (0: none). */
static unsigned caller_object(uintptr_t addr)
{
    unsigned lo = 0, hi, mid, obj = 0;
    const range_t *t;

    pthread_mutex_lock(&callers_lock);
    t  = ranges[cur];
    hi = num_ranges[cur];
    while (lo < hi) {
        mid = (lo + hi) / 2;
        if (addr < t[mid].lo) {
            hi = mid;
        } else if (addr >= t[mid].hi) {
            lo = mid + 1;
        } else {
            obj = t[mid].obj;
            break;
        }
    }
    pthread_mutex_unlock(&callers_lock);
    return obj;
}

/* May this large allocation, made by code at caller, be p2pmem? */
static int caller_wants(const void *caller, size_t size)
{
    int saved = in_p2pmem, want;
    object_t *o;

    if (__atomic_load_n(&callers_all, __ATOMIC_RELAXED)) {
        return 1;
    }
    in_p2pmem = 1; /* whatever open() or the like allocates: glibc's */
    ranges_refresh();
    o    = &objects[caller_object((uintptr_t)caller)];
    /* (callers_all: set when maps cannot be read) */
    want = o->want || __atomic_load_n(&callers_all, __ATOMIC_RELAXED);
    if (!want) {
        __atomic_fetch_add(&o->allocs, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&o->bytes, size, __ATOMIC_RELAXED);
        if (verbose && !__atomic_exchange_n(&o->reported, 1,
                                            __ATOMIC_RELAXED)) {
            char id[48];

            p2pmem_print(NAME ": %s: allocations made by %s go to host "
                         "memory (not in P2PMEM_CALLERS=%s); first: %zu "
                         "bytes", p2pmem_who(id, sizeof(id)), o->name,
                         callers_spec, size);
        }
        COUNT(caller_allocs, 1);
        COUNT(caller_bytes, size);
    }
    in_p2pmem = saved;
    return want;
}

static void callers_prepare(void)
{
    pthread_mutex_lock(&scan_lock);
    pthread_mutex_lock(&callers_lock);
}

static void callers_parent(void)
{
    pthread_mutex_unlock(&callers_lock);
    pthread_mutex_unlock(&scan_lock);
}

static void callers_child(void)
{
    pthread_mutex_init(&callers_lock, NULL);
    pthread_mutex_init(&scan_lock, NULL);
}

static void configure(void)
{
    const char *v;
    uint64_t size;

    page_size = (size_t)sysconf(_SC_PAGESIZE);

    v = getenv("P2PMEM_THRESHOLD");
    if ((v != NULL) && (v[0] != '\0')) {
        if ((ucs_p2pmem_parse_size(v, &size) != 0) || (size == 0) ||
            (size > SIZE_MAX)) {
            p2pmem_print(NAME ": error: P2PMEM_THRESHOLD=%s is not a size of "
                         "at least 1 byte (bytes, or with a K, M or G suffix, "
                         "e.g. 4M); using the default 1M", v);
        } else {
            threshold = (size_t)size;
        }
    }

    v = getenv("P2PMEM_STATS");
    if ((v != NULL) && (v[0] != '\0') &&
        (ucs_p2pmem_parse_bool(v, &stats_enabled) != 0)) {
        p2pmem_print(NAME ": error: P2PMEM_STATS=%s is not 0 or 1 (or yes/no, "
                     "on/off, true/false); statistics stay off", v);
        stats_enabled = 0;
    }

    v = getenv("P2PMEM_CACHE");
    if ((v != NULL) && (v[0] != '\0')) {
        if ((ucs_p2pmem_parse_size(v, &size) != 0) || (size > SIZE_MAX)) {
            p2pmem_print(NAME ": error: P2PMEM_CACHE=%s is not a size (bytes, "
                         "or with a K, M or G suffix; 0 turns reuse off); "
                         "using the default 64M", v);
        } else {
            cache_size = (size_t)size;
        }
    }
    p2pmem_cache_enable(cache_size);

    v = getenv("P2PMEM_CALLERS");
    if ((v != NULL) && (v[0] != '\0')) {
        char bad[96];

        if ((strlen(v) >= sizeof(callers_spec)) ||
            (ucs_p2pmem_callers_parse(v, &callers, bad, sizeof(bad)) != 0)) {
            p2pmem_print(NAME ": error: P2PMEM_CALLERS=%.200s: %s; give "
                         "comma-separated file names of code objects "
                         "(patterns with * and ?, 'main' for the program, "
                         "'all' for everything, '-' before a name to "
                         "exclude it); using the default %s", v,
                         (strlen(v) >= sizeof(callers_spec)) ?
                         "too long" : bad, DEFAULT_CALLERS);
            callers.count = 0;
        } else {
            strcpy(callers_spec, v);
        }
    }
    if (callers.count == 0) {
        ucs_p2pmem_callers_parse(DEFAULT_CALLERS, &callers, NULL, 0);
    }
    callers_all = callers.all;
    /* objects[0]: code in no file (JIT, vdso) */
    strcpy(objects[0].name, "[no file]");
    objects[0].want = callers.all;
    num_objects     = 1;
    if (readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1) < 0) {
        exe_path[0] = '\0';
    }
    if (stats_enabled) {
        /* some programs (sort, ...) close stderr before exit handlers run:
         * keep a copy, out of the way of low descriptors */
        stats_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 512);
        if (stats_fd < 0) {
            stats_fd = STDERR_FILENO;
        }
    }

    /* glibc's own malloc_usable_size, for host blocks; dlsym may allocate */
    in_p2pmem        = 1;
    libc_usable_size = (size_t (*)(void*))dlsym(RTLD_NEXT,
                                                "malloc_usable_size");
    /* a child must not inherit the lock held by another thread */
    pthread_atfork(callers_prepare, callers_parent, callers_child);
    verbose          = p2pmem_verbose();
    scrub            = p2pmem_scrub_enabled();
    in_p2pmem        = 0;

    if (verbose) {
        char id[48];

        p2pmem_print(NAME ": %s: allocations of %zu bytes and more from "
                     "p2pmem, when made by P2PMEM_CALLERS=%s; up to %zu bytes "
                     "of freed blocks kept for reuse; freed blocks %scleared "
                     "before they go back to the device",
                     p2pmem_who(id, sizeof(id)), threshold, callers_spec,
                     cache_size, scrub ? "" : "NOT ");
    }

    __atomic_store_n(&fast_below, stats_enabled ? 0 : threshold,
                     __ATOMIC_RELEASE);
}

/* at load, so that bad values are reported even by programs that never
 * allocate much; malloc() calls made before this run configure() too */
__attribute__((constructor)) static void preload_init(void)
{
    pthread_once(&config_once, configure);
}

static inline int want_p2p(size_t size, const void *caller)
{
    pthread_once(&config_once, configure);
    return (size >= threshold) &&
           !__atomic_load_n(&p2p_off, __ATOMIC_RELAXED) &&
           caller_wants(caller, size);
}

/* Why p2pmem could not serve size bytes (err from p2pmem_alloc_ex). */
static const char *fallback_reason(int err, size_t size, char *buf,
                                   size_t len)
{
    if (err == EINVAL) {
        /* size >= threshold > 0 and a valid alignment: only the size */
        snprintf(buf, len, "%zu bytes are more than P2PDMA memory can map",
                 size);
        return buf;
    }
    return p2pmem_failure_text(err, buf, len);
}

/* A large allocation p2pmem could not serve (err) came from the host:
 * host is the result, NULL if the host failed too. Counted, and the first
 * of each cause explained; returns host. */
static void *fallback(int err, size_t size, void *host)
{
    char text[512];
    int kind = (err == ENOMEM) ? WARN_NOMEM :
               (err == ENODEV) ? WARN_NODEV :
               ((err == EACCES) || (err == EPERM)) ? WARN_ACCESS :
               ((err == EINVAL) || (err == EFBIG)) ? WARN_SIZE : WARN_OTHER;

    if (host == NULL) {
        /* not a fallback: say what failed, and keep the cause's own
         * message for an allocation the host can serve */
        if (ucs_p2pmem_once(&warned[WARN_HOST])) {
            p2pmem_print(NAME ": error: an allocation of %zu bytes failed: "
                         "not from p2pmem (%s) and not from host memory "
                         "either (glibc's malloc failed: %s); the program "
                         "gets NULL. Further such failures are not reported",
                         size, fallback_reason(err, size, text, sizeof(text)),
                         strerror(ENOMEM));
        }
        errno = ENOMEM;
        return NULL;
    }
    COUNT(fallback_allocs, 1);
    COUNT(fallback_bytes, size);
    if (ucs_p2pmem_once(&warned[kind])) {
        p2pmem_print(NAME ": warning: %zu bytes from host memory instead of "
                     "p2pmem: %s. Later allocations that fall back to host "
                     "memory for this reason are not reported%s; p2pmem "
                     "still serves those it can", size,
                     fallback_reason(err, size, text, sizeof(text)),
                     stats_enabled ? "" : " (P2PMEM_STATS=1 counts them)");
    }
    return host;
}

/* A block from p2pmem, or NULL with the reason in *err. */
static void *p2p_alloc(size_t size, size_t alignment, int *err)
{
    int saved = errno;
    void *ptr;

    in_p2pmem = 1;
    ptr       = p2pmem_alloc_ex(size, alignment, P2PMEM_ALLOC_QUIET);
    *err      = errno;
    in_p2pmem = 0;
    errno     = saved;

    if (ptr != NULL) {
        COUNT(p2p_allocs, 1);
        COUNT(p2p_bytes, size);
        return ptr;
    }
    if (*err == ENODEV) {
        __atomic_store_n(&p2p_off, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* Usable size of a p2pmem block starting at ptr, 0 for anything else. */
static inline size_t p2p_size(const void *ptr)
{
    if ((ptr == NULL) || ((uintptr_t)ptr & (page_size - 1))) {
        return 0;
    }
    return p2pmem_size(ptr);
}

static void *host_alloc(size_t size, size_t alignment)
{
    if (stats_enabled) {
        COUNT(host_allocs, 1);
    }
    return (alignment != 0) ? __libc_memalign(alignment, size) :
                              __libc_malloc(size);
}

static void *alloc_common(size_t size, size_t alignment, const void *caller)
{
    void *ptr;
    int err;

    if (in_p2pmem) {
        return (alignment != 0) ? __libc_memalign(alignment, size) :
                                  __libc_malloc(size);
    }
    if (want_p2p(size, caller)) {
        ptr = p2p_alloc(size, alignment, &err);
        if (ptr != NULL) {
            return ptr;
        }
        return fallback(err, size, (alignment != 0) ?
                                   __libc_memalign(alignment, size) :
                                   __libc_malloc(size));
    }
    return host_alloc(size, alignment);
}

EXPORT void *malloc(size_t size)
{
    /* below the threshold, once configured: glibc, nothing else to decide
     * (inside libp2pmem such sizes go to glibc too) */
    if (size < __atomic_load_n(&fast_below, __ATOMIC_RELAXED)) {
        return __libc_malloc(size);
    }
    return alloc_common(size, 0, __builtin_return_address(0));
}

EXPORT void free(void *ptr)
{
    /* p2pmem blocks are page-aligned: any other pointer is glibc's, which
     * is what nearly every free() sees, so that test comes first */
    if (((uintptr_t)ptr & (page_size - 1)) || (ptr == NULL) || in_p2pmem) {
        __libc_free(ptr);
        return;
    }
    if (p2pmem_release(ptr) == 0) {
        COUNT(p2p_frees, 1);
        return;
    }
    __libc_free(ptr);
}

EXPORT void *calloc(size_t n, size_t size)
{
    size_t total;
    void *ptr;
    int err;

    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (in_p2pmem) {
        return __libc_calloc(n, size);
    }
    if (want_p2p(total, __builtin_return_address(0))) {
        ptr = p2p_alloc(total, 0, &err);
        if (ptr != NULL) {
            /* the kernel does not clear device memory, and a reused block
             * holds what was freed */
            memset(ptr, 0, total);
            return ptr;
        }
        return fallback(err, total, __libc_calloc(n, size));
    }
    if (stats_enabled) {
        COUNT(host_allocs, 1);
    }
    return __libc_calloc(n, size);
}

static void *realloc_common(void *ptr, size_t size, const void *caller)
{
    size_t old;
    void *new;
    int err = 0, tried;

    if (ptr == NULL) {
        if (size < __atomic_load_n(&fast_below, __ATOMIC_RELAXED)) {
            return __libc_malloc(size);
        }
        return alloc_common(size, 0, caller);
    }
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    if (in_p2pmem) {
        return __libc_realloc(ptr, size);
    }

    old = p2p_size(ptr);
    if (old != 0) {
        /* a p2pmem block: keep it if it still fits without wasting half */
        if ((size <= old) && (size >= old / 2) && (size >= threshold)) {
            return ptr;
        }
        tried = want_p2p(size, caller);
        new   = tried ? p2p_alloc(size, 0, &err) : NULL;
        if (new == NULL) {
            new = (size >= threshold) ? __libc_malloc(size) :
                                        host_alloc(size, 0);
            if (tried) {
                new = fallback(err, size, new);
            }
        }
        if (new == NULL) {
            errno = ENOMEM;
            return NULL; /* the old block stays valid */
        }
        memcpy(new, ptr, (size < old) ? size : old);
        p2pmem_release(ptr);
        COUNT(p2p_frees, 1);
        return new;
    }

    if (want_p2p(size, caller)) {
        new = p2p_alloc(size, 0, &err);
        if (new != NULL) {
            old = libc_usable_size(ptr);
            memcpy(new, ptr, (size < old) ? size : old);
            __libc_free(ptr);
            return new;
        }
        return fallback(err, size, __libc_realloc(ptr, size));
    }
    return __libc_realloc(ptr, size);
}

EXPORT void *realloc(void *ptr, size_t size)
{
    return realloc_common(ptr, size, __builtin_return_address(0));
}

EXPORT void *reallocarray(void *ptr, size_t n, size_t size)
{
    size_t total;

    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc_common(ptr, total, __builtin_return_address(0));
}

static inline int is_pow2(size_t v)
{
    return (v != 0) && !(v & (v - 1));
}

EXPORT int posix_memalign(void **memptr, size_t alignment, size_t size)
{
    int saved = errno;
    void *ptr;

    if (!is_pow2(alignment) || (alignment % sizeof(void*))) {
        return EINVAL;
    }
    ptr   = alloc_common(size, alignment, __builtin_return_address(0));
    errno = saved;
    if (ptr == NULL) {
        return ENOMEM;
    }
    *memptr = ptr;
    return 0;
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    if (!is_pow2(alignment)) {
        errno = EINVAL;
        return NULL;
    }
    return alloc_common(size, alignment, __builtin_return_address(0));
}

EXPORT void *memalign(size_t alignment, size_t size)
{
    size_t a = 1;

    /* glibc rounds an alignment that is not a power of two up to one */
    while ((a < alignment) && (a != 0)) {
        a <<= 1;
    }
    if (a == 0) {
        errno = EINVAL;
        return NULL;
    }
    return alloc_common(size, a, __builtin_return_address(0));
}

EXPORT void *valloc(size_t size)
{
    pthread_once(&config_once, configure);
    return alloc_common(size, page_size, __builtin_return_address(0));
}

EXPORT void *pvalloc(size_t size)
{
    size_t rounded;

    pthread_once(&config_once, configure);
    if (__builtin_add_overflow(size, page_size - 1, &rounded)) {
        errno = ENOMEM;
        return NULL;
    }
    rounded &= ~(page_size - 1);
    return alloc_common(rounded ? rounded : page_size, page_size,
                        __builtin_return_address(0));
}

EXPORT size_t malloc_usable_size(void *ptr)
{
    size_t size;

    if (ptr == NULL) {
        return 0;
    }
    size = p2p_size(ptr);
    if (size != 0) {
        return size;
    }
    pthread_once(&config_once, configure);
    return libc_usable_size(ptr);
}

__attribute__((destructor)) static void print_stats(void)
{
    char buf[4096], id[48];
    size_t cached_bytes, cached_blocks;
    unsigned long hits;
    unsigned i;
    int n, m;

    /* blocks kept for reuse go back to the device, cleared */
    p2pmem_cache_stats(&cached_bytes, &cached_blocks, &hits);
    p2pmem_fini();
    if (!stats_enabled) {
        return;
    }
    p2pmem_who(id, sizeof(id));
    n = snprintf(buf, sizeof(buf), NAME ": stats: %s: threshold %zu bytes; "
                 "p2pmem: %lu allocations %lu bytes, %lu freed, %zu live, "
                 "%lu reused; host fallback: %lu allocations %lu bytes; "
                 "library callers: %lu allocations %lu bytes; below "
                 "threshold: %lu allocations\n", id, threshold,
                 stats.p2p_allocs, stats.p2p_bytes, stats.p2p_frees,
                 p2pmem_index_count(), hits, stats.fallback_allocs,
                 stats.fallback_bytes, stats.caller_allocs, stats.caller_bytes,
                 stats.host_allocs);
    if ((n > 0) && (write(stats_fd, buf, (size_t)n) < 0)) {
        return;
    }
    if (stats.caller_allocs == 0) {
        return;
    }
    n = snprintf(buf, sizeof(buf), NAME ": stats: %s: host memory for "
                 "callers outside P2PMEM_CALLERS=%s:", id, callers_spec);
    for (i = 0; (i < num_objects) && (n > 0) && ((size_t)n < sizeof(buf));
         ++i) {
        if (objects[i].allocs == 0) {
            continue;
        }
        m = snprintf(buf + n, sizeof(buf) - (size_t)n, " %s %lu allocations "
                     "%lu bytes;", objects[i].name, objects[i].allocs,
                     objects[i].bytes);
        n = ((m < 0) || ((size_t)(n + m) >= sizeof(buf) - 1)) ?
            (int)sizeof(buf) - 2 : n + m;
    }
    if (n > 0) {
        buf[n - 1] = '\n';
        if (write(stats_fd, buf, (size_t)n) < 0) {
            return;
        }
    }
}
