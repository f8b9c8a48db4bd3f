/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem benchmark: libp2pmem's pointer lookup and the preload
 * allocator's small-allocation path.
 *
 *   alloc_bench lookup [-c COUNTS] [-r REPEATS] [-k LOOKUPS] [-z SIZE]
 *       For each count (default 10,10000), keep that many p2pmem_alloc(SIZE)
 *       blocks (default 4K) live and time p2pmem_is_p2p() on interior
 *       pointers of random live blocks (hits) and on host pointers
 *       (misses). Prints, per count and kind, the median over REPEATS (9)
 *       rounds of LOOKUPS (1000000) lookups:
 *         lookup,<count>,<hit|miss>,<median ns per lookup>,<min>,<max>
 *
 *   alloc_bench malloc [-n PAIRS] [-z SIZES]
 *       PAIRS (default 100000) malloc(size)+free() pairs per size (default
 *       16,1024,65536) in malloc_free_pairs(), which callgrind counts with
 *       --toggle-collect=malloc_free_pairs (bench/run does). Run it with
 *       and without LD_PRELOAD=libp2pmem_preload.so. Prints
 *         malloc,<size>,<pairs>
 *       before each size's loop so the toggled counts can be told apart.
 *
 *   alloc_bench loop [-a] [-n ITERATIONS] [-r ROUNDS] [-z SIZE]
 *       ROUNDS (default 5) rounds of ITERATIONS (default 20) times
 *       malloc(SIZE) (default 16M), memset of every byte, free(); with -a
 *       p2pmem_alloc/p2pmem_free instead. Prints the median and the
 *       extremes over the rounds of the time per iteration, and whether
 *       the first block was p2pmem:
 *         loop,<size>,<median ns>,<min>,<max>,<p2pmem 0|1>
 *       Run it under the preload (reuse cache on or off) and without it
 *       (glibc), or with -a and P2PMEM_SCRUB=y/n (clearing before unmap).
 */

#define _GNU_SOURCE
#include <p2pmem.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_LIST    16
#define MAX_REPEATS 101
#define NUM_PTRS    4096   /* pre-drawn lookup targets, cycled */

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int parse_list(const char *arg, unsigned long *out, unsigned *num)
{
    char *copy = strdup(arg), *tok, *save, *end;
    unsigned long v;

    *num = 0;
    for (tok = strtok_r(copy, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        errno = 0;
        v     = strtoul(tok, &end, 10);
        if (*end == 'K' || *end == 'k') {
            v <<= 10;
            ++end;
        } else if (*end == 'M' || *end == 'm') {
            v <<= 20;
            ++end;
        }
        if ((errno != 0) || (end == tok) || (*end != '\0') || (v == 0) ||
            (*num == MAX_LIST)) {
            free(copy);
            return -1;
        }
        out[(*num)++] = v;
    }
    free(copy);
    return (*num == 0) ? -1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double*)a, y = *(const double*)b;

    return (x > y) - (x < y);
}

/* xorshift: reproducible pseudo-random picks, no libc state */
static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static double time_lookups(const void **ptrs, unsigned long lookups,
                           int expect)
{
    unsigned long i, found = 0;
    double t0, t1;

    t0 = now_ns();
    for (i = 0; i < lookups; ++i) {
        found += (unsigned long)p2pmem_is_p2p(ptrs[i & (NUM_PTRS - 1)]);
    }
    t1 = now_ns();
    if (found != (expect ? lookups : 0)) {
        fprintf(stderr, "alloc_bench: p2pmem_is_p2p answered %lu of %lu "
                "lookups with 1, expected %lu\n", found, lookups,
                expect ? lookups : 0ul);
        return -1;
    }
    return (t1 - t0) / lookups;
}

static int bench_lookup(int argc, char **argv)
{
    unsigned long counts[MAX_LIST], size = 4096, lookups = 1000000;
    unsigned num_counts, repeats = 9, c, r, i, kind, live;
    static const void *ptrs[NUM_PTRS];
    double samples[2][MAX_REPEATS];
    const char *counts_arg = "10,10000";
    char host_buf[NUM_PTRS];
    void **blocks;
    int opt, ret = 0;

    while ((opt = getopt(argc, argv, "c:r:k:z:")) != -1) {
        switch (opt) {
        case 'c': counts_arg = optarg; break;
        case 'r': repeats = (unsigned)atoi(optarg); break;
        case 'k': lookups = strtoul(optarg, NULL, 10); break;
        case 'z': size = strtoul(optarg, NULL, 10); break;
        default:  return 2;
        }
    }
    if ((parse_list(counts_arg, counts, &num_counts) != 0) ||
        (repeats < 1) || (repeats > MAX_REPEATS) || (lookups < 1) ||
        (size < 1)) {
        fprintf(stderr, "alloc_bench lookup: bad arguments (counts like "
                "10,10000; -r 1..%d; -k and -z at least 1)\n", MAX_REPEATS);
        return 2;
    }

    for (c = 0; (c < num_counts) && (ret == 0); ++c) {
        blocks = calloc(counts[c], sizeof(*blocks));
        for (live = 0; live < counts[c]; ++live) {
            blocks[live] = p2pmem_alloc(size);
            if (blocks[live] == NULL) {
                fprintf(stderr, "alloc_bench: allocation %u of %lu (%lu "
                        "bytes each) failed: %s\n", live + 1, counts[c],
                        size, strerror(errno));
                ret = 1;
                break;
            }
        }
        for (kind = 0; (kind < 2) && (ret == 0); ++kind) {
            for (i = 0; i < NUM_PTRS; ++i) {
                ptrs[i] = kind ? host_buf + i :
                          (const char*)blocks[rnd() % counts[c]] +
                              rnd() % size;
            }
            time_lookups(ptrs, lookups / 10 + 1, !kind); /* warm-up */
            for (r = 0; r < repeats; ++r) {
                samples[kind][r] = time_lookups(ptrs, lookups, !kind);
                if (samples[kind][r] < 0) {
                    ret = 1;
                    break;
                }
            }
            if (ret == 0) {
                qsort(samples[kind], repeats, sizeof(double), cmp_double);
                printf("lookup,%lu,%s,%.2f,%.2f,%.2f\n", counts[c],
                       kind ? "miss" : "hit", samples[kind][repeats / 2],
                       samples[kind][0], samples[kind][repeats - 1]);
                fflush(stdout);
            }
        }
        while (live-- > 0) {
            p2pmem_free(blocks[live]);
        }
        free(blocks);
    }
    return ret;
}

/* Counted by callgrind (--toggle-collect=malloc_free_pairs): nothing but
 * the pairs. The empty asm keeps the compiler from dropping them. */
__attribute__((noinline)) void malloc_free_pairs(size_t size,
                                                 unsigned long pairs)
{
    unsigned long i;
    void *p;

    for (i = 0; i < pairs; ++i) {
        p = malloc(size);
        __asm__ volatile("" : : "r"(p) : "memory");
        free(p);
    }
}

static int bench_malloc(int argc, char **argv)
{
    unsigned long sizes[MAX_LIST], pairs = 100000;
    const char *sizes_arg = "16,1024,65536";
    unsigned num_sizes, s;
    int opt;

    while ((opt = getopt(argc, argv, "n:z:")) != -1) {
        switch (opt) {
        case 'n': pairs = strtoul(optarg, NULL, 10); break;
        case 'z': sizes_arg = optarg; break;
        default:  return 2;
        }
    }
    if ((parse_list(sizes_arg, sizes, &num_sizes) != 0) || (pairs < 1)) {
        fprintf(stderr, "alloc_bench malloc: bad arguments (sizes like "
                "16,1024; -n at least 1)\n");
        return 2;
    }
    for (s = 0; s < num_sizes; ++s) {
        printf("malloc,%lu,%lu\n", sizes[s], pairs);
        fflush(stdout);
        /* first pair outside the count: lazy set-up, first chunk */
        free(malloc(sizes[s]));
        malloc_free_pairs(sizes[s], pairs);
    }
    return 0;
}

static int bench_loop(int argc, char **argv)
{
    unsigned long size = 16ul << 20, iters = 20, rounds = 5, r, i;
    unsigned long sizes[MAX_LIST];
    double t[MAX_REPEATS], t0, tmp;
    unsigned num;
    int opt, api = 0, p2p = -1;
    char *p;

    while ((opt = getopt(argc, argv, "an:r:z:")) != -1) {
        switch (opt) {
        case 'a': api = 1; break;
        case 'n': iters = strtoul(optarg, NULL, 10); break;
        case 'r': rounds = strtoul(optarg, NULL, 10); break;
        case 'z':
            if ((parse_list(optarg, sizes, &num) != 0) || (num != 1)) {
                return 2;
            }
            size = sizes[0];
            break;
        default: return 2;
        }
    }
    if ((iters < 1) || (rounds < 1) || (rounds > MAX_REPEATS) || (size < 1)) {
        fprintf(stderr, "alloc_bench loop: bad arguments\n");
        return 2;
    }
    for (r = 0; r < rounds; ++r) {
        t0 = now_ns();
        for (i = 0; i < iters; ++i) {
            p = api ? p2pmem_alloc(size) : malloc(size);
            if (p == NULL) {
                fprintf(stderr, "alloc_bench loop: allocation of %lu bytes "
                        "failed\n", size);
                return 1;
            }
            if (p2p < 0) {
                p2p = p2pmem_is_p2p(p);
            }
            memset(p, (int)i, size);
            __asm__ volatile("" : : "r"(p) : "memory");
            if (api) {
                p2pmem_free(p);
            } else {
                free(p);
            }
        }
        t[r] = (now_ns() - t0) / iters;
    }
    for (r = 1; r < rounds; ++r) { /* insertion sort: a handful */
        for (i = r; (i > 0) && (t[i - 1] > t[i]); --i) {
            tmp      = t[i];
            t[i]     = t[i - 1];
            t[i - 1] = tmp;
        }
    }
    printf("loop,%lu,%.0f,%.0f,%.0f,%d\n", size, t[rounds / 2], t[0],
           t[rounds - 1], p2p);
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc >= 2) && !strcmp(argv[1], "lookup")) {
        return bench_lookup(argc - 1, argv + 1);
    }
    if ((argc >= 2) && !strcmp(argv[1], "malloc")) {
        return bench_malloc(argc - 1, argv + 1);
    }
    if ((argc >= 2) && !strcmp(argv[1], "loop")) {
        return bench_loop(argc - 1, argv + 1);
    }
    fprintf(stderr, "usage: alloc_bench lookup [-c COUNTS] [-r REPEATS] "
            "[-k LOOKUPS] [-z SIZE]\n"
            "       alloc_bench malloc [-n PAIRS] [-z SIZES]\n"
            "       alloc_bench loop [-a] [-n ITERATIONS] [-r ROUNDS] "
            "[-z SIZE]\n");
    return 2;
}
