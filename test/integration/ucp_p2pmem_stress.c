/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem concurrency stress: many threads allocating and freeing
 * p2pmem memory through one UCP context at the same time, each buffer
 * filled with a pattern unique to its thread and cycle and checked before
 * it is freed.
 *
 * Usage: ucp_p2pmem_stress [-t threads] [-n cycles] [-s max_size]
 *                          [-a available_file] [-e p2pmem|any] [-m paths]
 *   -t  threads (default 8), each doing -n allocate/write/verify/free
 *       cycles (default 10000) of 1..max_size/page pages (default 64 KiB)
 *   -a  a provider's "available" file (emulated pool): sampled while the
 *       threads run, and it must be back at its starting value at the end
 *   -e  p2pmem: every allocation must be a p2pmem mapping (run with
 *       UCX_ALLOC_PRIO=md:p2pmem so nothing falls back); any: falling back
 *       to host memory is allowed (exhaustion under contention) and counted
 *   -m  comma-separated paths the threads take in turn, cycle by cycle:
 *       ucp (ucp_mem_map ALLOCATE, the default), api (p2pmem_alloc/free) and
 *       malloc (malloc/free, p2pmem when libp2pmem_preload.so is preloaded
 *       with P2PMEM_THRESHOLD at most a page): "ucp,api,malloc" runs all
 *       three at once
 * The worker is UCS_THREAD_MODE_MULTI and every thread progresses it
 * between cycles. Prints "PASS: ..."/"FAIL: ..." per check and
 * "N passed, N failed".
 */

#define _GNU_SOURCE /* pthread_tryjoin_np */
#include <ucp/api/ucp.h>
#include <p2pmem.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../check.h"

typedef struct {
    unsigned          id;
    pthread_t         thread;
    int               joined;
    /* results */
    unsigned long     cycles;
    unsigned long     in_p2pmem;    /* allocations that were p2pmem */
    unsigned long     map_failures;
    unsigned long     bad_words;    /* pattern mismatches */
    unsigned long     not_zero;     /* fresh memory that was not zeroed */
    unsigned long     bytes;
    unsigned long     per_path[3];  /* cycles by path */
    char              error[256];   /* first failure, for the report */
} worker_arg_t;

static ucp_context_h context;
static ucp_worker_h  worker;
static unsigned      num_cycles = 10000;
static size_t        max_size   = 65536;
static size_t        page_size;
static int           need_p2pmem = 1;
static atomic_int    running;

enum { PATH_UCP, PATH_API, PATH_MALLOC, PATH_MAX };
static const char *path_names[PATH_MAX] = {"ucp", "api", "malloc"};
static unsigned paths[PATH_MAX] = {PATH_UCP};
static unsigned num_paths = 1;

/* Address ranges of p2pmem mappings, read from /proc/self/maps on demand. */
static int is_p2pmem(const void *address)
{
    uintptr_t addr = (uintptr_t)address, start, end;
    char line[1024];
    int pos, found = 0;
    FILE *maps;

    maps = fopen("/proc/self/maps", "r");
    if (maps == NULL) {
        return 0;
    }
    while (fgets(line, sizeof(line), maps) != NULL) {
        if ((sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %*s %*s %*s %n",
                    &start, &end, &pos) >= 2) &&
            (addr >= start) && (addr < end)) {
            /* the emulated provider links allocate to /dev/zero */
            found = (strstr(line + pos, "/p2pmem/allocate") != NULL) ||
                    (strncmp(line + pos, "/dev/zero", 9) == 0);
            break;
        }
    }
    fclose(maps);
    return found;
}

static void note(worker_arg_t *arg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(worker_arg_t *arg, const char *fmt, ...)
{
    va_list ap;

    if (arg->error[0] == '\0') {
        va_start(ap, fmt);
        vsnprintf(arg->error, sizeof(arg->error), fmt, ap);
        va_end(ap);
    }
}

static uint64_t pattern(unsigned id, unsigned long cycle, size_t word)
{
    /* distinct per thread, cycle and offset; never zero */
    return ((uint64_t)(id + 1) << 56) ^ ((uint64_t)cycle << 24) ^
           (word * 0x9e3779b97f4a7c15ull) ^ 1;
}

static void *worker_thread(void *p)
{
    worker_arg_t *arg = p;
    ucp_mem_map_params_t params = {0};
    ucp_mem_attr_t attr;
    ucp_mem_h memh;
    ucs_status_t status;
    unsigned seed = arg->id * 7919 + 1;
    unsigned long c;
    size_t size, i, n;
    uint64_t *buf;
    void *rkey;
    size_t rkey_size;
    unsigned path;
    int p2p;

    params.field_mask = UCP_MEM_MAP_PARAM_FIELD_LENGTH |
                        UCP_MEM_MAP_PARAM_FIELD_FLAGS;
    params.flags      = UCP_MEM_MAP_ALLOCATE;

    while (!atomic_load(&running)) {
        sched_yield();
    }

    for (c = 0; c < num_cycles; ++c) {
        size = page_size * (1 + (rand_r(&seed) % (max_size / page_size)));
        path = paths[(c + arg->id) % num_paths];
        ++arg->per_path[path];
        switch (path) {
        case PATH_UCP:
            params.length = size;
            status = ucp_mem_map(context, &params, &memh);
            if (status != UCS_OK) {
                ++arg->map_failures;
                note(arg, "thread %u cycle %lu: ucp_mem_map(%zu) failed: %s",
                     arg->id, c, size, ucs_status_string(status));
                continue;
            }
            attr.field_mask = UCP_MEM_ATTR_FIELD_ADDRESS |
                              UCP_MEM_ATTR_FIELD_LENGTH;
            ucp_mem_query(memh, &attr);
            buf = attr.address;
            /* where the memory came from (reading /proc/self/maps is
             * slow): with -e p2pmem the first cycles of each thread, the
             * rest cannot be anything else (UCX_ALLOC_PRIO has no
             * fallback); with -e any every cycle, to count fallbacks */
            p2p = (!need_p2pmem || (c < 16)) ? is_p2pmem(buf) : 1;
            break;
        case PATH_API:
            buf = p2pmem_alloc(size);
            if (buf == NULL) {
                ++arg->map_failures;
                note(arg, "thread %u cycle %lu: p2pmem_alloc(%zu) failed: %m",
                     arg->id, c, size);
                continue;
            }
            p2p = p2pmem_is_p2p(buf) && (p2pmem_size(buf) >= size);
            break;
        default:
            buf = malloc(size);
            if (buf == NULL) {
                ++arg->map_failures;
                note(arg, "thread %u cycle %lu: malloc(%zu) failed", arg->id,
                     c, size);
                continue;
            }
            /* the preload falls back to glibc when p2pmem is full */
            p2p = p2pmem_is_p2p(buf);
            break;
        }
        n = size / sizeof(*buf);

        arg->in_p2pmem += p2p;
        if (need_p2pmem && !p2p) {
            note(arg, "thread %u cycle %lu: %s buffer %p is not in p2pmem",
                 arg->id, c, path_names[path], (void*)buf);
        }

        if (p2p && (path == PATH_UCP)) {
            /* a fresh device allocation is zeroed by the kernel */
            for (i = 0; i < n; i += 512) {
                arg->not_zero += (buf[i] != 0);
            }
        }
        for (i = 0; i < n; ++i) {
            buf[i] = pattern(arg->id, c, i);
        }

        /* other threads allocate, free and progress meanwhile */
        ucp_worker_progress(worker);
        if ((path == PATH_UCP) &&
            (ucp_rkey_pack(context, memh, &rkey, &rkey_size) == UCS_OK)) {
            ucp_rkey_buffer_release(rkey);
        }

        for (i = 0; i < n; ++i) {
            if (buf[i] != pattern(arg->id, c, i)) {
                if (arg->bad_words++ == 0) {
                    snprintf(arg->error, sizeof(arg->error), "thread %u "
                             "cycle %lu: word %zu of %p is %#" PRIx64
                             ", wrote %#" PRIx64, arg->id, c, i, buf,
                             buf[i], pattern(arg->id, c, i));
                }
            }
        }

        switch (path) {
        case PATH_UCP:
            status = ucp_mem_unmap(context, memh);
            if (status != UCS_OK) {
                ++arg->map_failures;
                note(arg, "thread %u cycle %lu: ucp_mem_unmap failed: %s",
                     arg->id, c, ucs_status_string(status));
            }
            break;
        case PATH_API:
            if (p2pmem_free(buf) != 0) {
                ++arg->map_failures;
                note(arg, "thread %u cycle %lu: p2pmem_free(%p) failed: %m",
                     arg->id, c, (void*)buf);
            }
            break;
        default:
            free(buf);
            break;
        }
        arg->bytes += size;
        ++arg->cycles;
    }
    return NULL;
}

static int read_available(const char *path, unsigned long long *value)
{
    FILE *f = fopen(path, "r");
    int ok;

    if (f == NULL) {
        return 0;
    }
    ok = (fscanf(f, "%llu", value) == 1);
    fclose(f);
    return ok;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + (ts.tv_nsec * 1e-9);
}

int main(int argc, char **argv)
{
    ucp_params_t ctx_params       = {0};
    ucp_worker_params_t wk_params = {0};
    ucp_worker_attr_t wk_attr;
    unsigned nthreads = 8, t;
    const char *avail_path = NULL;
    unsigned long long start_avail = 0, avail, min_avail = ~0ull, end_avail = 0;
    unsigned long cycles = 0, in_p2pmem = 0, map_failures = 0, bad = 0;
    unsigned long not_zero = 0, bytes = 0, samples = 0, over = 0;
    const char *first_error = NULL;
    unsigned long per_path[PATH_MAX] = {0};
    char *tok;
    worker_arg_t *args;
    ucs_status_t status;
    double t0, secs;
    int opt;

    while ((opt = getopt(argc, argv, "t:n:s:a:e:m:")) != -1) {
        switch (opt) {
        case 't': nthreads   = strtoul(optarg, NULL, 0); break;
        case 'n': num_cycles = strtoul(optarg, NULL, 0); break;
        case 's': max_size   = strtoull(optarg, NULL, 0); break;
        case 'a': avail_path = optarg; break;
        case 'e': need_p2pmem = !strcmp(optarg, "p2pmem"); break;
        case 'm':
            num_paths = 0;
            for (tok = strtok(optarg, ","); tok != NULL;
                 tok = strtok(NULL, ",")) {
                for (t = 0; (t < PATH_MAX) && strcmp(tok, path_names[t]); ++t) {
                }
                if ((t == PATH_MAX) || (num_paths == PATH_MAX)) {
                    fprintf(stderr, "ucp_p2pmem_stress: -m takes ucp, api "
                            "and malloc, not '%s'\n", tok);
                    return 2;
                }
                paths[num_paths++] = t;
            }
            if (num_paths == 0) {
                fprintf(stderr, "ucp_p2pmem_stress: -m needs a path\n");
                return 2;
            }
            break;
        default:
            fprintf(stderr, "usage: %s [-t threads] [-n cycles] [-s max_size] "
                    "[-a available_file] [-e p2pmem|any] [-m ucp,api,malloc]\n", argv[0]);
            return 2;
        }
    }
    page_size = (size_t)sysconf(_SC_PAGESIZE);
    if ((nthreads == 0) || (max_size < page_size)) {
        fprintf(stderr, "ucp_p2pmem_stress: need -t >= 1 and -s >= %zu\n",
                page_size);
        return 2;
    }

    /* one context shared by all threads, one MULTI-thread worker */
    ctx_params.field_mask        = UCP_PARAM_FIELD_FEATURES |
                                   UCP_PARAM_FIELD_MT_WORKERS_SHARED;
    ctx_params.features          = UCP_FEATURE_RMA;
    ctx_params.mt_workers_shared = 1;
    status = ucp_init(&ctx_params, NULL, &context);
    CHECK(status == UCS_OK, "ucp_init (mt_workers_shared): %s",
          ucs_status_string(status));
    if (status != UCS_OK) {
        goto out;
    }
    wk_params.field_mask  = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
    wk_params.thread_mode = UCS_THREAD_MODE_MULTI;
    status = ucp_worker_create(context, &wk_params, &worker);
    if (status == UCS_OK) {
        wk_attr.field_mask = UCP_WORKER_ATTR_FIELD_THREAD_MODE;
        ucp_worker_query(worker, &wk_attr);
    }
    CHECK((status == UCS_OK) &&
          (wk_attr.thread_mode == UCS_THREAD_MODE_MULTI),
          "worker in UCS_THREAD_MODE_MULTI (%s)", ucs_status_string(status));
    if (status != UCS_OK) {
        goto out_ctx;
    }

    if (avail_path != NULL) {
        CHECK(read_available(avail_path, &start_avail),
              "pool before: %llu bytes available in %s", start_avail,
              avail_path);
    }

    args = calloc(nthreads, sizeof(*args));
    for (t = 0; t < nthreads; ++t) {
        args[t].id = t;
        pthread_create(&args[t].thread, NULL, worker_thread, &args[t]);
    }
    t0 = now();
    atomic_store(&running, 1);

    /* sample the pool while the threads run: it may never go above its
     * start, nor below it by more than every thread's largest buffer */
    for (;;) {
        usleep(20000);
        for (t = 0; t < nthreads; ++t) {
            if (!args[t].joined &&
                (pthread_tryjoin_np(args[t].thread, NULL) == 0)) {
                args[t].joined = 1;
            }
            if (!args[t].joined) {
                break;
            }
        }
        if (avail_path != NULL && read_available(avail_path, &avail)) {
            ++samples;
            min_avail = (avail < min_avail) ? avail : min_avail;
            over     += (avail > start_avail);
        }
        if (t == nthreads) {
            break;
        }
    }
    secs = now() - t0;

    for (t = 0; t < nthreads; ++t) {
        cycles       += args[t].cycles;
        in_p2pmem    += args[t].in_p2pmem;
        map_failures += args[t].map_failures;
        bad          += args[t].bad_words;
        not_zero     += args[t].not_zero;
        bytes        += args[t].bytes;
        for (opt = 0; opt < PATH_MAX; ++opt) {
            per_path[opt] += args[t].per_path[opt];
        }
        if ((first_error == NULL) && (args[t].error[0] != '\0')) {
            first_error = args[t].error;
        }
    }

    CHECK(cycles == (unsigned long)nthreads * num_cycles,
          "%u threads x %u cycles: %lu allocate/write/verify/free cycles "
          "done (ucp %lu, api %lu, malloc %lu), %.1f MiB in %.1f s",
          nthreads, num_cycles, cycles, per_path[PATH_UCP],
          per_path[PATH_API], per_path[PATH_MALLOC], bytes / 1048576.0, secs);
    CHECK(map_failures == 0, "no allocation or free failures (%lu)%s%s",
          map_failures, first_error ? ": " : "", first_error ? first_error : "");
    CHECK(bad == 0, "every word read back as written (%lu mismatches)%s%s",
          bad, (bad && first_error) ? ": " : "",
          (bad && first_error) ? first_error : "");
    CHECK(not_zero == 0, "fresh UCP allocations from the emulated provider "
          "were zeroed, nothing else wrote to them (%lu non-zero words)",
          not_zero);
    if (need_p2pmem) {
        CHECK(first_error == NULL,
              "every checked allocation is a p2pmem mapping%s%s",
              first_error ? ": " : "", first_error ? first_error : "");
    } else {
        printf("allocations: %lu in p2pmem, %lu in host memory\n", in_p2pmem,
               cycles - in_p2pmem);
        CHECK((in_p2pmem > 0) && (in_p2pmem < cycles),
              "under contention some allocations were p2pmem (%lu) and some "
              "fell back to host memory (%lu)", in_p2pmem, cycles - in_p2pmem);
    }

    if (avail_path != NULL) {
        CHECK((samples > 0) && (over == 0) &&
              (min_avail + (unsigned long long)nthreads * max_size >=
               start_avail),
              "pool while running: %lu samples, lowest %llu (never below "
              "start - threads x max size, never above start)", samples,
              min_avail);
        CHECK(read_available(avail_path, &end_avail) &&
              (end_avail == start_avail),
              "pool after: %llu bytes available, as before (%lld bytes "
              "lost)", end_avail, (long long)(start_avail - end_avail));
    }
    free(args);

    ucp_worker_destroy(worker);
out_ctx:
    ucp_cleanup(context);
out:
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
