/*
 * ucx-p2pmem: libp2pmem_preload.so, P2PDMA memory for unmodified programs.
 *
 *   LD_PRELOAD=libp2pmem_preload.so program ...
 *
 * Allocations of at least P2PMEM_THRESHOLD bytes (default 1M) come from
 * libp2pmem (the providers UCX_P2PMEM_DEVICES selects); smaller ones, and
 * large ones that p2pmem cannot serve, come from glibc's allocator. The
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

#include "p2pmem_int.h"

#include <ucs/p2pmem_sys.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT            __attribute__((visibility("default")))
#define DEFAULT_THRESHOLD ((size_t)1 << 20)
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

static struct {
    unsigned long p2p_allocs, p2p_bytes, p2p_frees;
    unsigned long fallback_allocs, fallback_bytes;
    unsigned long host_allocs;
} stats;

enum { WARN_NOMEM, WARN_NODEV, WARN_OTHER, WARN_MAX };
static int warned[WARN_MAX];

#define COUNT(_field, _n) \
    __atomic_fetch_add(&stats._field, (_n), __ATOMIC_RELAXED)

static int parse_bool(const char *v, int *value)
{
    static const char *yes[] = {"1", "y", "yes", "on", "true"};
    static const char *no[]  = {"0", "n", "no", "off", "false"};
    unsigned i;

    for (i = 0; i < 5; ++i) {
        if (!strcasecmp(v, yes[i]) || !strcasecmp(v, no[i])) {
            *value = !strcasecmp(v, yes[i]);
            return 0;
        }
    }
    return -1;
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
    if ((v != NULL) && (v[0] != '\0') && (parse_bool(v, &stats_enabled) != 0)) {
        p2pmem_print(NAME ": error: P2PMEM_STATS=%s is not 0 or 1; statistics "
                     "stay off", v);
        stats_enabled = 0;
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
    in_p2pmem        = 0;

    v = getenv("P2PMEM_VERBOSE");
    if ((v != NULL) && (v[0] != '\0') && strcmp(v, "0")) {
        p2pmem_print(NAME ": allocations of %zu bytes and more from p2pmem",
                     threshold);
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

static inline int want_p2p(size_t size)
{
    pthread_once(&config_once, configure);
    return (size >= threshold) && !__atomic_load_n(&p2p_off, __ATOMIC_RELAXED);
}

static void warn_fallback(int err, size_t size)
{
    char text[512];
    int kind = (err == ENOMEM) ? WARN_NOMEM :
               (err == ENODEV) ? WARN_NODEV : WARN_OTHER;

    if (__atomic_exchange_n(&warned[kind], 1, __ATOMIC_RELAXED)) {
        return;
    }
    p2pmem_print(NAME ": warning: %zu bytes from host memory instead of "
                 "p2pmem: %s. Allocations of %zu bytes and more fall back to "
                 "host memory without further warnings%s", size,
                 p2pmem_failure_text(err, text, sizeof(text)), threshold,
                 stats_enabled ? "" : " (P2PMEM_STATS=1 counts them)");
}

/* A block from p2pmem, or NULL (counted and explained once) if none. */
static void *p2p_alloc(size_t size, size_t alignment)
{
    int saved = errno, err;
    void *ptr;

    in_p2pmem = 1;
    ptr       = p2pmem_alloc_ex(size, alignment, P2PMEM_ALLOC_QUIET);
    err       = errno;
    in_p2pmem = 0;
    errno     = saved;

    if (ptr != NULL) {
        COUNT(p2p_allocs, 1);
        COUNT(p2p_bytes, size);
        return ptr;
    }

    if (err == ENODEV) {
        __atomic_store_n(&p2p_off, 1, __ATOMIC_RELAXED);
    }
    warn_fallback(err, size);
    COUNT(fallback_allocs, 1);
    COUNT(fallback_bytes, size);
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

static void *alloc_common(size_t size, size_t alignment)
{
    void *ptr;

    if (in_p2pmem) {
        return (alignment != 0) ? __libc_memalign(alignment, size) :
                                  __libc_malloc(size);
    }
    if (want_p2p(size)) {
        ptr = p2p_alloc(size, alignment);
        if (ptr != NULL) {
            return ptr;
        }
        return (alignment != 0) ? __libc_memalign(alignment, size) :
                                  __libc_malloc(size);
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
    return alloc_common(size, 0);
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

    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (in_p2pmem) {
        return __libc_calloc(n, size);
    }
    if (want_p2p(total)) {
        ptr = p2p_alloc(total, 0);
        if (ptr != NULL) {
            /* the kernel does not clear device memory */
            memset(ptr, 0, total);
            return ptr;
        }
        return __libc_calloc(n, size);
    }
    if (stats_enabled) {
        COUNT(host_allocs, 1);
    }
    return __libc_calloc(n, size);
}

EXPORT void *realloc(void *ptr, size_t size)
{
    size_t old;
    void *new;

    if (ptr == NULL) {
        return malloc(size);
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
        new = want_p2p(size) ? p2p_alloc(size, 0) : NULL;
        if (new == NULL) {
            new = (size >= threshold) ? __libc_malloc(size) :
                                        host_alloc(size, 0);
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

    if (want_p2p(size)) {
        new = p2p_alloc(size, 0);
        if (new != NULL) {
            old = libc_usable_size(ptr);
            memcpy(new, ptr, (size < old) ? size : old);
            __libc_free(ptr);
            return new;
        }
    }
    return __libc_realloc(ptr, size);
}

EXPORT void *reallocarray(void *ptr, size_t n, size_t size)
{
    size_t total;

    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(ptr, total);
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
    ptr   = alloc_common(size, alignment);
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
    return alloc_common(size, alignment);
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
    return alloc_common(size, a);
}

EXPORT void *valloc(size_t size)
{
    pthread_once(&config_once, configure);
    return alloc_common(size, page_size);
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
    return alloc_common(rounded ? rounded : page_size, page_size);
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
    char buf[512];
    int n;

    if (!stats_enabled) {
        return;
    }
    n = snprintf(buf, sizeof(buf), NAME ": stats: threshold %zu bytes; "
                 "p2pmem: %lu allocations %lu bytes, %lu freed, %zu live; "
                 "host fallback: %lu allocations %lu bytes; below threshold: "
                 "%lu allocations\n", threshold, stats.p2p_allocs,
                 stats.p2p_bytes, stats.p2p_frees, p2pmem_index_count(),
                 stats.fallback_allocs, stats.fallback_bytes,
                 stats.host_allocs);
    if ((n > 0) && (write(stats_fd, buf, (size_t)n) < 0)) {
        return;
    }
}
