/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Run under LD_PRELOAD=libp2pmem_preload.so with P2PMEM_THRESHOLD set to a
 * plain byte count (test/preload/preload-tests does both). Prints PASS/FAIL
 * per check and "N passed, N failed".
 *
 *   preload_test functions   every allocator entry point across the threshold
 *   preload_test threads T N T threads x N cycles of mixed allocations
 *   preload_test exhaust     more than the pool holds: the rest from the host
 *   preload_test host        nothing is p2pmem (no provider), all works
 *   preload_test flush       the reuse cache gives way when the pool is short
 *   preload_test fill[-api][-keep]  leave a pattern in a p2pmem block
 *   preload_test zero[-api]  a fresh p2pmem block reads as zero
 *   preload_test stdio       stdout's buffer is a p2pmem block live at exit
 *   preload_test daemon FILE blocks shared with a child that outlives the
 *                            parent keep their data (the child reports to
 *                            FILE)
 *   preload_test readonly    blocks made read-only, freed and reused
 *   preload_test dlclose LIBA LIBB  a large malloc in LIBA (host memory),
 *                            LIBA unloaded, then one in LIBB (p2pmem):
 *                            run with P2PMEM_CALLERS=main,<LIBB's name>
 *   preload_test huge        malloc(SIZE_MAX/2) fails, then a large one
 *                            works
 * (-api: p2pmem_alloc, so the program also runs without the preload, on
 * libp2pmem alone)
 *
 * Where memory landed is checked twice: p2pmem_is_p2p() (the preload
 * answers it for the process; this program is linked with -lp2pmem) and
 * /proc/self/maps (emulated provider memory is a shared /dev/zero mapping;
 * malloc memory is private).
 */

#define _GNU_SOURCE
#include <p2pmem.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t T;     /* threshold */
static int cache_off;   /* P2PMEM_CACHE=0: free() unmaps at once */
static int libc_caller; /* P2PMEM_CALLERS names libc */
static size_t page;
#include "../check.h"

/* 1: shared mapping of a provider (emulated or real); 0: other; -1: none */
static int maps_p2p(const void *ptr)
{
    char line[1024], perms[8], path[512];
    unsigned long lo, hi;
    int result = -1;
    FILE *f        = fopen("/proc/self/maps", "r");

    while ((f != NULL) && (fgets(line, sizeof(line), f) != NULL)) {
        path[0] = '\0';
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %511s", &lo, &hi, perms,
                   path) < 3) {
            continue;
        }
        if (((uintptr_t)ptr >= lo) && ((uintptr_t)ptr < hi)) {
            /* the emulator's /dev/zero or backing file, or the kernel's
             * p2pmem/allocate */
            result = (perms[3] == 's') && (!strcmp(path, "/dev/zero") ||
                                           strstr(path, "/p2pmem/"));
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return result;
}

static int in_p2p(const void *p)
{
    return p2pmem_is_p2p(p) && (maps_p2p(p) == 1);
}

static int in_host(const void *p)
{
    return !p2pmem_is_p2p(p) && (maps_p2p(p) == 0);
}

static void fill(void *p, size_t n, unsigned seed)
{
    size_t i;

    for (i = 0; i < n; ++i) {
        ((unsigned char*)p)[i] = (unsigned char)(seed + i * 31 + (i >> 8));
    }
}

static int same(const void *p, size_t n, unsigned seed)
{
    size_t i;

    for (i = 0; i < n; ++i) {
        if (((const unsigned char*)p)[i] !=
            (unsigned char)(seed + i * 31 + (i >> 8))) {
            return 0;
        }
    }
    return 1;
}

static int all_zero(const void *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; ++i) {
        if (((const unsigned char*)p)[i] != 0) {
            return 0;
        }
    }
    return 1;
}

static size_t round_page(size_t n)
{
    return (n + page - 1) & ~(page - 1);
}

static void test_functions(void)
{
    char *a, *b, *c, *old;
    void *m;
    size_t n;
    int r;

    /* malloc / free */
    a = malloc(T - 1);
    b = malloc(T);
    c = malloc(10 * T);
    CHECK(a && in_host(a), "malloc(threshold-1) from the host");
    CHECK(b && in_p2p(b), "malloc(threshold) from p2pmem");
    CHECK(c && in_p2p(c) && in_p2p(c + 10 * T - 1),
          "malloc(10*threshold) from p2pmem, first and last byte");
    fill(a, T - 1, 1);
    fill(b, T, 2);
    fill(c, 10 * T, 3);
    CHECK(same(a, T - 1, 1) && same(b, T, 2) && same(c, 10 * T, 3),
          "data integrity of host and p2pmem blocks");
    CHECK(malloc_usable_size(b) == round_page(T) &&
          malloc_usable_size(c + 0) == round_page(10 * T) &&
          malloc_usable_size(a) >= T - 1 && malloc_usable_size(NULL) == 0,
          "malloc_usable_size of p2pmem (%zu) and host blocks",
          malloc_usable_size(b));
    CHECK(p2pmem_size(b) == round_page(T) && p2pmem_size(a) == 0,
          "one registry: p2pmem_size() of this program sees malloc's blocks");
    free(a);
    free(b);
    free(c);
    if (cache_off) {
        CHECK(!p2pmem_is_p2p(b) && !p2pmem_is_p2p(c) && maps_p2p(c) != 1,
              "free() unmaps p2pmem blocks (P2PMEM_CACHE=0)");
    } else {
        /* kept mapped for reuse, but no longer a live block */
        CHECK(!p2pmem_is_p2p(b) && !p2pmem_is_p2p(c) && maps_p2p(c) == 1,
              "free() keeps p2pmem blocks mapped for reuse, not live");
        a = malloc(10 * T - 100);
        CHECK(a == c && in_p2p(a), "malloc of about the same size reuses "
              "the freed block");
        free(a);
    }
    m = malloc(0);
    free(m);
    free(NULL);
    CHECK(1, "malloc(0), free(NULL)");

    /* calloc */
    a = calloc(1, T);
    b = calloc(T / 16, 16);
    c = calloc(1, T / 2);
    CHECK(a && in_p2p(a) && all_zero(a, T), "calloc(1, threshold): p2pmem, "
          "zeroed");
    CHECK(b && in_p2p(b) && all_zero(b, T),
          "calloc(threshold/16, 16): p2pmem, zeroed");
    CHECK(c && in_host(c) && all_zero(c, T / 2),
          "calloc below threshold: host, zeroed");
    free(a);
    free(b);
    free(c);
    errno = 0;
    a     = calloc(SIZE_MAX / 2, 3);
    CHECK(a == NULL && errno == ENOMEM, "calloc overflow: NULL, ENOMEM");

    /* realloc across the threshold, both ways */
    a = malloc(100);
    fill(a, 100, 4);
    a = realloc(a, 2 * T);
    CHECK(a && in_p2p(a) && same(a, 100, 4),
          "realloc host -> above threshold: p2pmem, data kept");
    fill(a, 2 * T, 5);
    old = a;
    a   = realloc(a, 8 * T);
    CHECK(a && in_p2p(a) && same(a, 2 * T, 5) && !p2pmem_is_p2p(old),
          "realloc p2pmem grow: new p2pmem block, data kept, old freed");
    fill(a, 8 * T, 6);
    old = a;
    a   = realloc(a, 5 * T);
    CHECK(a == old && same(a, 5 * T, 6), "realloc p2pmem shrink by < half: "
          "same block");
    a = realloc(a, 2 * T);
    CHECK(a && in_p2p(a) && same(a, 2 * T, 6) && !p2pmem_is_p2p(old),
          "realloc p2pmem shrink by > half: smaller p2pmem block, data kept");
    old = a;
    a   = realloc(a, 100);
    CHECK(a && in_host(a) && same(a, 100, 6) && !p2pmem_is_p2p(old),
          "realloc p2pmem -> below threshold: host, data kept, p2pmem freed");
    a = realloc(a, 50);
    CHECK(a && in_host(a) && same(a, 50, 6), "realloc host shrink");
    free(a);
    a = realloc(NULL, T);
    CHECK(a && in_p2p(a), "realloc(NULL, threshold): p2pmem");
    CHECK(realloc(a, 0) == NULL && !p2pmem_is_p2p(a),
          "realloc(p2pmem, 0) frees");
    errno = 0;
    CHECK(reallocarray(NULL, SIZE_MAX / 2, 3) == NULL && errno == ENOMEM,
          "reallocarray overflow: NULL, ENOMEM");
    a = reallocarray(NULL, T / 8, 8);
    CHECK(a && in_p2p(a), "reallocarray(NULL, threshold/8, 8): p2pmem");
    free(a);

    /* aligned allocations */
    r = posix_memalign(&m, 64, T);
    CHECK(r == 0 && in_p2p(m) && ((uintptr_t)m % 64) == 0,
          "posix_memalign(64, threshold): p2pmem");
    free(m);
    r = posix_memalign(&m, 1 << 20, T);
    CHECK(r == 0 && in_p2p(m) && ((uintptr_t)m % (1 << 20)) == 0,
          "posix_memalign(1M, threshold): p2pmem, 1M-aligned");
    fill(m, T, 7);
    CHECK(same(m, T, 7) && malloc_usable_size(m) >= T,
          "posix_memalign(1M) block usable");
    free(m);
    r = posix_memalign(&m, 256, 100);
    CHECK(r == 0 && in_host(m) && ((uintptr_t)m % 256) == 0,
          "posix_memalign(256, 100): host");
    free(m);
    CHECK(posix_memalign(&m, 3, T) == EINVAL &&
          posix_memalign(&m, sizeof(void*) / 2, T) == EINVAL,
          "posix_memalign bad alignment: EINVAL");

    a = aligned_alloc(1 << 21, 2 * T);
    CHECK(a && in_p2p(a) && ((uintptr_t)a % (1 << 21)) == 0,
          "aligned_alloc(2M, 2*threshold): p2pmem, 2M-aligned");
    free(a);
    a = aligned_alloc(32, 64);
    CHECK(a && in_host(a) && ((uintptr_t)a % 32) == 0,
          "aligned_alloc(32, 64): host");
    free(a);

    a = memalign(4 * page, T);
    CHECK(a && in_p2p(a) && ((uintptr_t)a % (4 * page)) == 0,
          "memalign(4 pages, threshold): p2pmem");
    free(a);
    a = memalign(48, T); /* glibc rounds 48 up to 64 */
    CHECK(a && in_p2p(a) && ((uintptr_t)a % 64) == 0,
          "memalign(48, threshold): p2pmem");
    free(a);
    a = memalign(64, 10);
    CHECK(a && in_host(a) && ((uintptr_t)a % 64) == 0,
          "memalign(64, 10): host");
    free(a);

    a = valloc(T);
    b = valloc(100);
    CHECK(a && in_p2p(a), "valloc(threshold): p2pmem");
    CHECK(b && in_host(b) && ((uintptr_t)b % page) == 0 &&
          malloc_usable_size(b) >= 100,
          "valloc(100): page-aligned host block, usable size from glibc");
    free(a);
    free(b); /* page-aligned but glibc's: must go back to glibc */
    a = pvalloc(T - 1);
    /* (a reused block may be larger) */
    CHECK(a && in_p2p(a) && malloc_usable_size(a) >= round_page(T - 1),
          "pvalloc(threshold-1) rounds to pages: p2pmem");
    free(a);

    /* the API itself, in the preload's registry */
    a = p2pmem_alloc(100);
    CHECK(a && in_p2p(a) && p2pmem_free(a) == 0 && !p2pmem_is_p2p(a),
          "p2pmem_alloc/p2pmem_free under the preload");

    /* C library users of malloc */
    n = 3 * T;
    a = malloc(n);
    memset(a, 'x', n - 1);
    a[n - 1] = '\0';
    b = strdup(a);
    if (libc_caller) {
        CHECK(b && in_p2p(b) && strlen(b) == n - 1, "strdup of a large "
              "string with libc.so* in P2PMEM_CALLERS: p2pmem");
    } else {
        CHECK(b && in_host(b) && strlen(b) == n - 1, "strdup of a large "
              "string (malloc called by libc): host memory by default");
    }
    free(a);
    free(b);
}

typedef struct {
    unsigned seed;
    unsigned cycles;
    unsigned bad;
    unsigned p2p;
} thread_arg_t;

static size_t pick_size(unsigned *seed)
{
    switch (rand_r(seed) % 4) {
    case 0:  return 1 + rand_r(seed) % 512;
    case 1:  return T / 2 + rand_r(seed) % T;       /* straddles T */
    case 2:  return T + rand_r(seed) % (2 * T);
    default: return 1 + rand_r(seed) % (T - 1);
    }
}

static void *stress_fn(void *varg)
{
    thread_arg_t *arg = varg;
    enum { SLOTS = 16 };
    struct { char *p; size_t n; unsigned s; } slot[SLOTS] = {{0}};
    unsigned i, k, seed = arg->seed;
    size_t n;
    void *m;
    char *p;

    for (i = 0; i < arg->cycles; ++i) {
        k = rand_r(&seed) % SLOTS;
        if (slot[k].p != NULL) {
            arg->bad += !same(slot[k].p, slot[k].n, slot[k].s);
            if (rand_r(&seed) % 3 == 0) {
                /* realloc, maybe across the threshold */
                n = pick_size(&seed);
                p = realloc(slot[k].p, n);
                if (p == NULL) {
                    ++arg->bad;
                    continue;
                }
                arg->bad += !same(p, (n < slot[k].n) ? n : slot[k].n,
                                  slot[k].s);
                slot[k].p = p;
                slot[k].n = n;
                fill(p, n, slot[k].s);
                continue;
            }
            free(slot[k].p);
            slot[k].p = NULL;
            continue;
        }
        n = pick_size(&seed);
        switch (rand_r(&seed) % 3) {
        case 0:
            p = malloc(n);
            break;
        case 1:
            p = calloc(1, n);
            arg->bad += (p != NULL) && !all_zero(p, n);
            break;
        default:
            p = (posix_memalign(&m, 64, n) == 0) ? m : NULL;
            break;
        }
        if (p == NULL) {
            ++arg->bad;
            continue;
        }
        arg->p2p += (n >= T) && p2pmem_is_p2p(p);
        slot[k].p = p;
        slot[k].n = n;
        slot[k].s = rand_r(&seed);
        fill(p, n, slot[k].s);
    }
    for (k = 0; k < SLOTS; ++k) {
        if (slot[k].p != NULL) {
            arg->bad += !same(slot[k].p, slot[k].n, slot[k].s);
            free(slot[k].p);
        }
    }
    return NULL;
}

static void test_threads(unsigned nthreads, unsigned cycles)
{
    thread_arg_t args[64];
    pthread_t t[64];
    unsigned i, bad = 0, p2p = 0;

    if (nthreads > 64) {
        nthreads = 64;
    }
    for (i = 0; i < nthreads; ++i) {
        args[i] = (thread_arg_t){i * 7919u + 1, cycles, 0, 0};
        pthread_create(&t[i], NULL, stress_fn, &args[i]);
    }
    for (i = 0; i < nthreads; ++i) {
        pthread_join(t[i], NULL);
        bad += args[i].bad;
        p2p += args[i].p2p;
    }
    CHECK(bad == 0, "%u threads x %u cycles of malloc/calloc/posix_memalign/"
          "realloc/free across the threshold: no corruption (%u bad)",
          nthreads, cycles, bad);
    CHECK(p2p > 0, "threads: %u allocations landed in p2pmem", p2p);
}

/* More than the pool holds: p2pmem first, then the host. */
static void test_exhaust(void)
{
    enum { N = 40 };
    char *p[N];
    unsigned i, n_p2p = 0, n_host = 0, ok = 0, first_host = N;

    for (i = 0; i < N; ++i) {
        p[i] = malloc(T);
        if (p[i] == NULL) {
            continue;
        }
        if (in_p2p(p[i])) {
            ++n_p2p;
        } else if (in_host(p[i])) {
            ++n_host;
            if (first_host == N) {
                first_host = i;
            }
        }
        fill(p[i], T, i);
    }
    for (i = 0; i < N; ++i) {
        ok += (p[i] != NULL) && same(p[i], T, i);
    }
    CHECK(n_p2p > 0 && n_host > 0 && n_p2p + n_host == N,
          "exhausted pool: %u blocks from p2pmem, then %u from the host",
          n_p2p, n_host);
    CHECK(first_host == n_p2p, "exhausted pool: p2pmem until it ran out");
    CHECK(ok == N, "exhausted pool: every block holds its data");
    for (i = 0; i < N; ++i) {
        free(p[i]);
    }
    p[0] = malloc(T);
    CHECK(p[0] && in_p2p(p[0]), "after freeing: p2pmem again");
    free(p[0]);
}

static void test_host(void)
{
    char *a = malloc(4 * T), *b = calloc(2, T);
    void *m = NULL;

    CHECK(a && in_host(a) && b && in_host(b) && all_zero(b, 2 * T),
          "no provider: large malloc/calloc from the host");
    fill(a, 4 * T, 9);
    a = realloc(a, 8 * T);
    CHECK(a && same(a, 4 * T, 9), "no provider: realloc keeps data");
    CHECK(posix_memalign(&m, 4096, 2 * T) == 0 && in_host(m),
          "no provider: posix_memalign from the host");
    free(a);
    free(b);
    free(m);
}

/*
 * What the next holder of device memory finds (P2PMEM_SCRUB), one process
 * per step: "fill" leaves a pattern in a block (freed, or left live with
 * "keep"), "zero" checks that a fresh block reads as zero. api: through
 * p2pmem_alloc/p2pmem_free, else through malloc/free.
 */
static void test_fill(int api, int keep)
{
    size_t n = 4 * T;
    char *a  = api ? p2pmem_alloc(n) : malloc(n);

    CHECK(a && in_p2p(a), "fill: %zu bytes from p2pmem (%s)", n,
          api ? "p2pmem_alloc" : "malloc");
    if (a == NULL) {
        return;
    }
    memset(a, 0xa5, n);
    CHECK((a[0] == (char)0xa5) && (a[n - 1] == (char)0xa5),
          "fill: pattern written");
    if (!keep) {
        if (api) {
            p2pmem_free(a);
        } else {
            free(a);
        }
    }
}

static void test_zero(int api)
{
    size_t n = 4 * T, i, nonzero = 0;
    unsigned char *a = api ? p2pmem_alloc(n) : malloc(n);

    CHECK(a && in_p2p(a), "zero: %zu bytes from p2pmem (%s)", n,
          api ? "p2pmem_alloc" : "malloc");
    if (a == NULL) {
        return;
    }
    for (i = 0; i < n; ++i) {
        nonzero += (a[i] != 0);
    }
    CHECK(nonzero == 0, "zero: a fresh block reads as zero (%zu of %zu "
          "bytes are not)", nonzero, n);
    if (api) {
        p2pmem_free(a);
    } else {
        free(a);
    }
}

/* With a 1 MiB pool (reuse bound 256K): a freed 200K block is reused, then
 * a 900K request only fits once the cached block went back to the device. */
static void test_flush(void)
{
    char *a, *b;
    int i;

    for (i = 0; i < 2; ++i) {
        a = malloc(200 << 10);
        CHECK(a && in_p2p(a), "flush: 200K block %d from p2pmem", i);
        free(a);
    }
    b = malloc(900 << 10);
    CHECK(b && in_p2p(b), "flush: 900K from p2pmem after the cached block "
          "went back to the device");
    free(b);
}

/* stdout fully buffered in a p2pmem block, left live: glibc flushes it
 * after every destructor has run, so nothing may clear it at exit. */
static void test_stdio(void)
{
    size_t n = 2u << 20;
    char *buf = malloc(n);

    CHECK(buf && in_p2p(buf), "stdio: a %zu-byte stdout buffer from p2pmem",
          n);
    if ((buf != NULL) && (setvbuf(stdout, buf, _IOFBF, n) != 0)) {
        CHECK(0, "stdio: setvbuf");
    }
    CHECK(1, "stdio: this text reaches the file after exit");
}

/* The daemon pattern: the parent forks and exits normally while the child
 * still uses the blocks allocated before fork() (one freed by the parent
 * before it exits, one left live); the child waits for the parent to be
 * gone and reports to out. */
static void test_daemon(const char *out)
{
    size_t n = 2u << 20;
    char *freed = malloc(n), *live = malloc(n);
    int fds[2], status;
    pid_t pid;
    FILE *f;

    CHECK(freed && live && in_p2p(freed) && in_p2p(live),
          "daemon: two %zu-byte blocks from p2pmem", n);
    if ((freed == NULL) || (live == NULL) || (pipe(fds) != 0)) {
        return;
    }
    fill(freed, n, 11);
    fill(live, n, 12);
    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        CHECK(0, "daemon: fork");
        return;
    }
    if (pid > 0) {
        /* the parent: gives one block back and exits, the other left */
        close(fds[0]);
        free(freed);
        (void)waitpid(-1, &status, WNOHANG);
        return;
    }
    /* the child: EOF once the parent's descriptors are closed by its exit */
    close(fds[1]);
    while (read(fds[0], &status, 1) > 0) {
    }
    usleep(100000); /* its exit handlers ran before its descriptors closed */
    /* the results go to out: stdout is the parent's, already collected */
    status = open("/dev/null", O_WRONLY);
    if (status >= 0) {
        dup2(status, STDOUT_FILENO);
    }
    passed = failed = 0;
    CHECK(same(live, n, 12), "daemon: the child's block the parent left "
          "live keeps its data after the parent exited");
    CHECK(same(freed, n, 11), "daemon: the child's block the parent freed "
          "keeps its data after the parent exited");
    f = fopen(out, "w");
    if (f != NULL) {
        fprintf(f, "%d passed, %d failed\n", passed, failed);
        fclose(f);
    }
    exit(failed ? 1 : 0);
}

/* Blocks made read-only (or inaccessible) by the program: freed, reused,
 * and one left live at exit. */
static void test_readonly(void)
{
    size_t n = 4 * T;
    char *a = malloc(n), *b = malloc(n), *c;

    CHECK(a && b && in_p2p(a) && in_p2p(b), "readonly: two blocks from "
          "p2pmem");
    if ((a == NULL) || (b == NULL)) {
        return;
    }
    fill(a, n, 21);
    fill(b, n, 22);
    CHECK(mprotect(a, n, PROT_READ) == 0 && mprotect(b, n, PROT_NONE) == 0,
          "readonly: mprotect PROT_READ and PROT_NONE");
    free(b); /* PROT_NONE: kept for reuse, or cleared and unmapped */
    c = malloc(n);
    CHECK(c && in_p2p(c), "readonly: the next block from p2pmem%s",
          (c == b) ? " (the freed one, reused)" : "");
    if (c != NULL) {
        fill(c, n, 23); /* faults if a reused block kept PROT_NONE */
        CHECK(same(c, n, 23), "readonly: the new block is writable");
        free(c);
    }
    CHECK(same(a, n, 21), "readonly: the read-only block keeps its data");
    b = malloc(n);
    if (b != NULL) {
        fill(b, n, 24);
        mprotect(b, n, PROT_READ);
    }
    /* a is left live and read-only at exit, b too */
}

typedef void *(*caller_alloc_t)(size_t);

/* lib's caller_lib_alloc, loaded with RTLD_LOCAL; NULL if it is not there */
static caller_alloc_t load_caller_alloc(const char *lib, void **handle)
{
    *handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    return (*handle != NULL) ?
           (caller_alloc_t)dlsym(*handle, "caller_lib_alloc") : NULL;
}

/* The object that calls malloc decides, even one loaded where another
 * was before (dlclose, then dlopen). */
static void test_dlclose(const char *liba, const char *libb)
{
    caller_alloc_t fa, fb;
    void *ha, *hb;
    char *a, *b;

    fa = load_caller_alloc(liba, &ha);
    CHECK(fa != NULL, "dlclose: %s loaded", liba);
    if (fa == NULL) {
        return;
    }
    a = fa(4 * T);
    CHECK(a && in_host(a), "dlclose: a large malloc in the first library "
          "(not in P2PMEM_CALLERS): host memory");
    free(a);
    dlclose(ha);

    fb = load_caller_alloc(libb, &hb);
    CHECK(fb != NULL, "dlclose: %s loaded%s", libb, (fb == fa) ?
          " where the first one was" : "");
    if (fb == NULL) {
        return;
    }
    b = fb(4 * T);
    CHECK(b && in_p2p(b), "dlclose: a large malloc in the second library "
          "(in P2PMEM_CALLERS): p2pmem");
    free(b);
    dlclose(hb);
}

/* An impossible size: NULL and ENOMEM, and p2pmem still works after. */
static void test_huge(void)
{
    volatile size_t huge = SIZE_MAX / 2;
    char *p, *q;

    errno = 0;
    p     = malloc(huge);
    CHECK(p == NULL && errno == ENOMEM, "huge: malloc(SIZE_MAX/2) is NULL "
          "with ENOMEM");
    free(p);
    q = malloc(4 * T);
    CHECK(q != NULL, "huge: a large malloc afterwards works (%s)",
          (q == NULL) ? "NULL" : in_p2p(q) ? "p2pmem" : "host memory");
    if (q != NULL) {
        fill(q, 4 * T, 31);
        CHECK(same(q, 4 * T, 31), "huge: and holds its data");
    }
    free(q);
}

int main(int argc, char **argv)
{
    const char *mode = (argc > 1) ? argv[1] : "functions";
    const char *t    = getenv("P2PMEM_THRESHOLD");
    const char *cs   = getenv("P2PMEM_CACHE");
    const char *cl   = getenv("P2PMEM_CALLERS");

    cache_off   = (cs != NULL) && !strcmp(cs, "0");
    libc_caller = (cl != NULL) && (strstr(cl, "libc.so") != NULL);

    page = (size_t)sysconf(_SC_PAGESIZE);
    T    = (t != NULL) ? strtoul(t, NULL, 10) : 0;
    if (T < 2 * page) {
        printf("FAIL: set P2PMEM_THRESHOLD to a plain byte count of at "
               "least 2 pages\n0 passed, 1 failed\n");
        return 1;
    }

    if (!strcmp(mode, "functions")) {
        test_functions();
    } else if (!strcmp(mode, "threads")) {
        test_threads((argc > 2) ? atoi(argv[2]) : 8,
                     (argc > 3) ? atoi(argv[3]) : 5000);
    } else if (!strcmp(mode, "exhaust")) {
        test_exhaust();
    } else if (!strcmp(mode, "host")) {
        test_host();
    } else if (!strcmp(mode, "flush")) {
        test_flush();
    } else if (!strncmp(mode, "fill", 4)) {
        test_fill(strstr(mode, "-api") != NULL, strstr(mode, "-keep") != NULL);
    } else if (!strncmp(mode, "zero", 4)) {
        test_zero(strstr(mode, "-api") != NULL);
    } else if (!strcmp(mode, "stdio")) {
        test_stdio();
    } else if (!strcmp(mode, "daemon") && (argc > 2)) {
        test_daemon(argv[2]);
    } else if (!strcmp(mode, "readonly")) {
        test_readonly();
    } else if (!strcmp(mode, "dlclose") && (argc > 3)) {
        test_dlclose(argv[2], argv[3]);
    } else if (!strcmp(mode, "huge")) {
        test_huge();
    } else {
        printf("FAIL: unknown mode '%s' (functions, threads, exhaust, host, "
               "flush, fill[-api][-keep], zero[-api], stdio, daemon FILE, "
               "readonly, dlclose LIBA LIBB, huge)\n", mode);
        ++failed;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
