/*
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

#include "p2pmem_int.h"

#include <ucs/p2pmem_sys.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define P2PMEM_API  __attribute__((visibility("default")))
/* beyond any user address space (x86-64: 47 bits, 57 with 5-level paging) */
#define SIZE_ABSURD ((size_t)1 << 57)

typedef struct {
    const ucs_p2pmem_provider_t *p;
    int                          disabled_errno;
    uint64_t                     bytes_mapped;
} provider_state_t;

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
static char nodev_reason[384];
static ucs_p2pmem_list_t list;
static provider_state_t *providers;
static unsigned num_providers;
static const ucs_p2pmem_provider_t *last_failed; /* for messages */
static int reported[KIND_MAX];

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

static void report_cb(void *arg, ucs_p2pmem_log_level_t level,
                      const char *message)
{
    if ((level != UCS_P2PMEM_LOG_DEBUG) || verbose) {
        p2pmem_print("libp2pmem: %s%s", (level == UCS_P2PMEM_LOG_ERROR) ?
                     "error: " : (level == UCS_P2PMEM_LOG_WARN) ?
                     "warning: " : "", message);
    }
}

static void atfork_prepare(void)
{
    pthread_mutex_lock(&alloc_lock);
    pthread_rwlock_wrlock(&index_lock);
}

static void atfork_parent(void)
{
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
}

static void setup(void)
{
    const char *v = getenv("P2PMEM_VERBOSE");

    verbose   = (v != NULL) && (v[0] != '\0') && strcmp(v, "0");
    page_size = (size_t)sysconf(_SC_PAGESIZE);
    p2pmem_index_init(page_size);
    /* a child must not inherit a lock held by another thread */
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

__attribute__((constructor)) static void p2pmem_lib_init(void)
{
    pthread_once(&setup_once, setup);
}

static int local_numa_node(void)
{
    unsigned cpu, node;

    return (getcpu(&cpu, &node) == 0) ? (int)node : UCS_P2PMEM_NUMA_UNKNOWN;
}

/* Discover and select providers once; called with alloc_lock held. */
static void discover(void)
{
    const char *root    = getenv("UCX_P2PMEM_SYSFS_ROOT");
    const char *devices = getenv("UCX_P2PMEM_DEVICES");
    ucs_p2pmem_rdma_list_t rdma = {NULL, 0};
    ucs_p2pmem_select_spec_t spec;
    unsigned *order, i;
    char bad[64];
    int ret;

    initialized = 1;
    init_errno  = ENODEV;
    if ((root == NULL) || (root[0] == '\0')) {
        root = UCS_P2PMEM_DEFAULT_SYSFS_ROOT;
    }
    if ((devices == NULL) || (devices[0] == '\0')) {
        devices = "auto";
    }

    ret = ucs_p2pmem_parse_select(devices, &spec, bad, sizeof(bad));
    if (ret != 0) {
        snprintf(nodev_reason, sizeof(nodev_reason),
                 "UCX_P2PMEM_DEVICES=%s: '%s' is not valid; use 'auto', "
                 "'all', or PCI addresses such as 0000:01:00.0 separated by "
                 "commas", devices, bad);
        p2pmem_print("libp2pmem: error: %s", nodev_reason);
        return;
    }

    ret = ucs_p2pmem_scan(root, &list, report_cb, NULL);
    if (ret != 0) {
        snprintf(nodev_reason, sizeof(nodev_reason),
                 "cannot read UCX_P2PMEM_SYSFS_ROOT=%s (%s); point it at the "
                 "PCI device directory", root, strerror(-ret));
        ucs_p2pmem_select_spec_free(&spec);
        return;
    }

    if (spec.mode == UCS_P2PMEM_SELECT_AUTO) {
        /* the RDMA devices UCX is told to use, as the module does */
        ucs_p2pmem_scan_rdma(root, getenv("UCX_NET_DEVICES"), &rdma,
                             report_cb, NULL);
    }

    order     = calloc(list.count + 1, sizeof(*order));
    providers = calloc(list.count + 1, sizeof(*providers));
    if ((order != NULL) && (providers != NULL)) {
        num_providers = ucs_p2pmem_select(&list, &spec, &rdma,
                                          local_numa_node(), order, report_cb,
                                          NULL);
    }
    for (i = 0; i < num_providers; ++i) {
        providers[i].p = &list.providers[order[i]];
        if (verbose) {
            p2pmem_print("libp2pmem: provider %u: %s%s, %llu of %llu bytes "
                         "available", i, providers[i].p->name,
                         providers[i].p->emulated ? " (emulated)" : "",
                         (unsigned long long)providers[i].p->available,
                         (unsigned long long)providers[i].p->size);
        }
    }

    if (num_providers > 0) {
        init_errno = 0;
    } else if (list.count == 0) {
        snprintf(nodev_reason, sizeof(nodev_reason),
                 "no P2PDMA provider (<device>/p2pmem/) under %s; load a "
                 "driver that publishes one (e.g. nvme with a CMB) or set "
                 "UCX_P2PMEM_SYSFS_ROOT", root);
    } else {
        snprintf(nodev_reason, sizeof(nodev_reason),
                 "UCX_P2PMEM_DEVICES=%s selects none of the %u provider(s) "
                 "under %s (auto takes published ones only); try "
                 "UCX_P2PMEM_DEVICES=all or list PCI addresses", devices,
                 list.count, root);
    }

    free(order);
    ucs_p2pmem_rdma_list_free(&rdma);
    ucs_p2pmem_select_spec_free(&spec);
}

const char *p2pmem_failure_text(int err, char *buf, size_t len)
{
    const ucs_p2pmem_provider_t *p = last_failed;

    switch (err) {
    case EINVAL:
        snprintf(buf, len, "size 0, too large, or alignment not a power of "
                 "two");
        break;
    case ENODEV:
        snprintf(buf, len, "%s", nodev_reason[0] ? nodev_reason :
                 "no P2PDMA provider");
        break;
    case ENOMEM:
        snprintf(buf, len, "every selected P2PDMA provider is exhausted%s%s%s"
                 "; free device memory or allocate less",
                 p ? " (see " : "", p ? p->p2pmem_dir : "",
                 p ? "/available)" : "");
        break;
    default:
        snprintf(buf, len, "cannot allocate from %s: %s; %s",
                 p ? p->allocate_path : "the providers", strerror(err),
                 ucs_p2pmem_map_hint(err));
        break;
    }
    return buf;
}

static int failure_kind(int err)
{
    switch (err) {
    case EINVAL: return KIND_SIZE;
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
        !__atomic_exchange_n(&reported[kind], 1, __ATOMIC_RELAXED)) {
        p2pmem_print("libp2pmem: error: p2pmem_alloc(%zu) failed: %s", size,
                     p2pmem_failure_text(err, text, sizeof(text)));
    }
    errno = err;
    return NULL;
}

/* Map length bytes from the first selected provider that has them. */
static void *map_from_providers(size_t length, unsigned *index, int *err)
{
    provider_state_t *ps;
    unsigned i, exhausted = 0;
    int last_err = ENODEV, e;
    void *address;

    for (i = 0; i < num_providers; ++i) {
        ps = &providers[i];
        if (ps->disabled_errno != 0) {
            last_err = ps->disabled_errno;
            continue;
        }
        address = ucs_p2pmem_map(ps->p, length, &e);
        if (address != NULL) {
            *index = i;
            return address;
        }
        last_failed = ps->p;
        if (e == ENOMEM) {
            ++exhausted;
            continue;
        }
        /* a permission or kernel problem does not go away: skip it */
        ps->disabled_errno = e;
        last_err           = e;
        p2pmem_print("libp2pmem: error: cannot allocate from %s%s: %s: %s. %s. "
                     "Skipping this provider.", ps->p->name,
                     ps->p->emulated ? " (emulated)" : "",
                     ps->p->allocate_path, strerror(e),
                     ucs_p2pmem_map_hint(e));
    }
    *err = (exhausted > 0) ? ENOMEM : last_err;
    return NULL;
}

P2PMEM_API void *p2pmem_alloc_ex(size_t size, size_t alignment, unsigned flags)
{
    p2pmem_block_t *block;
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
    address = map_from_providers(map_len, &index, &err);
    if (address == NULL) {
        pthread_mutex_unlock(&alloc_lock);
        return fail(err, size, flags);
    }
    providers[index].bytes_mapped += map_len;
    pthread_mutex_unlock(&alloc_lock);

    pthread_rwlock_wrlock(&index_lock);
    block = p2pmem_index_block_new();
    if (block != NULL) {
        block->map_base = address;
        block->map_len  = map_len;
        block->start    = ((uintptr_t)address + alignment - 1) &
                          ~(uintptr_t)(alignment - 1);
        block->size     = map_len - (block->start - (uintptr_t)address);
        block->provider = index;
        if (p2pmem_index_insert(block) != 0) {
            p2pmem_index_block_put(block);
            block = NULL;
        }
    }
    pthread_rwlock_unlock(&index_lock);

    if (block == NULL) {
        /* no memory for the bookkeeping: give the device memory back */
        ucs_p2pmem_unmap(address, map_len);
        pthread_mutex_lock(&alloc_lock);
        providers[index].bytes_mapped -= map_len;
        pthread_mutex_unlock(&alloc_lock);
        return fail(ENOMEM, size, flags);
    }

    if (verbose) {
        p2pmem_print("libp2pmem: %zu bytes at %p from %s%s", size,
                     (void*)block->start, providers[index].p->name,
                     providers[index].p->emulated ? " (emulated)" : "");
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
    unsigned index;
    int ret;

    pthread_rwlock_wrlock(&index_lock);
    block = p2pmem_index_lookup((uintptr_t)ptr);
    if ((block == NULL) || (block->start != (uintptr_t)ptr)) {
        pthread_rwlock_unlock(&index_lock);
        return -1;
    }
    map_base = block->map_base;
    map_len  = block->map_len;
    index    = block->provider;
    p2pmem_index_remove(block);
    p2pmem_index_block_put(block);
    pthread_rwlock_unlock(&index_lock);

    /* under alloc_lock like the mapping, so that fork() (which takes it
     * first) never copies a process in the middle of either */
    pthread_mutex_lock(&alloc_lock);
    ret = ucs_p2pmem_unmap(map_base, map_len);
    providers[index].bytes_mapped -= map_len;
    pthread_mutex_unlock(&alloc_lock);
    if (ret != 0) {
        p2pmem_print("libp2pmem: error: munmap(%p, %zu) failed: %s", map_base,
                     map_len, strerror(-ret));
    }
    if (verbose) {
        p2pmem_print("libp2pmem: freed %zu bytes at %p", map_len, ptr);
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
