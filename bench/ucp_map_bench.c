/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem benchmark: cost of ucp_mem_map(UCP_MEM_MAP_ALLOCATE) followed
 * by ucp_mem_unmap(), through p2pmem and through UCX's default host
 * allocator (its default order without "md:*"), in one process and one run
 * (two UCP contexts that differ only in UCX_ALLOC_PRIO), so the ratio
 * compares like with like.
 *
 *   ucp_map_bench [-s SIZES] [-r ROUNDS] [-k ITERS] [-B BYTES]
 *
 * SIZES   comma-separated sizes (K/M suffixes), default 1K,4K,...,64M
 * ROUNDS  rounds per size (7)
 * ITERS   map+unmap pairs per variant and round, at most (100); fewer for
 *         large sizes so that a round maps at most BYTES (default 256M)
 *
 * Every pair is timed on its own and the variants alternate pair by pair,
 * so both see the same machine. Each round first checks one allocation of
 * each variant in /proc/self/maps: the p2pmem variant must map a
 * provider's p2pmem/allocate (or /dev/zero for the emulated provider), the
 * host variant must not; a mismatch is an error, never a silently wrong
 * figure. Output, one line per size and variant:
 *   memmap,<size>,<p2pmem|host>,<median ns per pair>,<10th percentile>,
 *          <90th percentile>,<pairs timed>
 */

#define _GNU_SOURCE
#include <ucp/api/ucp.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZES   32
#define MAX_REPEATS 1000

#define P2P_PRIO  "md:p2pmem,md:sysv,md:posix,huge,thp,mmap,heap"
/* UCX's default order without its "md:*" entry: with UCX_TLS lacking the
 * shared-memory transports (e.g. rc_verbs,ud_verbs,p2pmem) "md:*" would
 * reach p2pmem, and this variant must stay in host memory */
#define HOST_PRIO "md:sysv,md:posix,huge,thp,mmap,heap"

enum { VAR_P2P, VAR_HOST, NUM_VARS };
static const char *var_name[NUM_VARS] = {"p2pmem", "host"};

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int parse_size(const char *s, size_t *size)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v     = strtoull(s, &end, 10);
    if ((errno != 0) || (end == s)) {
        return -1;
    }
    switch (*end) {
    case 'k': case 'K': v <<= 10; ++end; break;
    case 'm': case 'M': v <<= 20; ++end; break;
    case 'g': case 'G': v <<= 30; ++end; break;
    }
    if ((*end != '\0') || (v == 0)) {
        return -1;
    }
    *size = (size_t)v;
    return 0;
}

/* 1 if the mapping holding addr is a p2pmem allocation */
static int in_p2pmem(const void *addr)
{
    char line[1024], path[900];
    uintptr_t start, end, a = (uintptr_t)addr;
    FILE *maps = fopen("/proc/self/maps", "r");
    int found  = 0;

    if (maps == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), maps) != NULL) {
        path[0] = '\0';
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %*s %*s %*s %899[^\n]",
                   &start, &end, path) < 2) {
            continue;
        }
        if ((a >= start) && (a < end)) {
            found = (strstr(path, "/p2pmem/allocate") != NULL) ||
                    (strncmp(path, "/dev/zero", 9) == 0);
            break;
        }
    }
    fclose(maps);
    return found;
}

static ucp_context_h make_context(const char *prio)
{
    ucp_params_t params = {
        .field_mask = UCP_PARAM_FIELD_FEATURES,
        .features   = UCP_FEATURE_RMA | UCP_FEATURE_TAG
    };
    ucp_config_t *config;
    ucp_context_h ctx;
    ucs_status_t status;

    status = ucp_config_read(NULL, NULL, &config);
    if (status != UCS_OK) {
        fprintf(stderr, "ucp_config_read: %s\n", ucs_status_string(status));
        return NULL;
    }
    status = ucp_config_modify(config, "ALLOC_PRIO", prio);
    if (status != UCS_OK) {
        fprintf(stderr, "ALLOC_PRIO=%s: %s\n", prio,
                ucs_status_string(status));
        ucp_config_release(config);
        return NULL;
    }
    status = ucp_init(&params, config, &ctx);
    ucp_config_release(config);
    if (status != UCS_OK) {
        fprintf(stderr, "ucp_init: %s\n", ucs_status_string(status));
        return NULL;
    }
    return ctx;
}

static int map_one(ucp_context_h ctx, size_t size, ucp_mem_h *memh,
                   void **addr)
{
    ucp_mem_map_params_t mp = {
        .field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS |
                      UCP_MEM_MAP_PARAM_FIELD_LENGTH |
                      UCP_MEM_MAP_PARAM_FIELD_FLAGS,
        .address    = NULL,
        .length     = size,
        .flags      = UCP_MEM_MAP_ALLOCATE
    };
    ucp_mem_attr_t attr = {.field_mask = UCP_MEM_ATTR_FIELD_ADDRESS};
    ucs_status_t status;

    status = ucp_mem_map(ctx, &mp, memh);
    if (status != UCS_OK) {
        fprintf(stderr, "ucp_mem_map(ALLOCATE, %zu): %s\n", size,
                ucs_status_string(status));
        return -1;
    }
    if (addr != NULL) {
        if (ucp_mem_query(*memh, &attr) != UCS_OK) {
            fprintf(stderr, "ucp_mem_query failed\n");
            ucp_mem_unmap(ctx, *memh);
            return -1;
        }
        *addr = attr.address;
    }
    return 0;
}

/* Untimed: the variant's memory comes from where it should. */
static int check_placement(ucp_context_h ctx, int var, size_t size)
{
    ucp_mem_h memh;
    void *addr;
    int p2p;

    if (map_one(ctx, size, &memh, &addr) != 0) {
        return -1;
    }
    p2p = in_p2pmem(addr);
    ucp_mem_unmap(ctx, memh);
    if (p2p != (var == VAR_P2P)) {
        fprintf(stderr, "ucp_map_bench: %s variant, %zu bytes: the allocation "
                "is %sin p2pmem; check UCX_TLS (must include p2pmem), "
                "LD_PRELOAD of libuct_p2pmem.so and the provider's free "
                "space\n", var_name[var], size, p2p ? "" : "not ");
        return -1;
    }
    return 0;
}

/* One timed map+unmap pair in ns, or < 0 on error. */
static double pair_ns(ucp_context_h ctx, size_t size)
{
    ucp_mem_h memh;
    double t0;

    t0 = now_ns();
    if (map_one(ctx, size, &memh, NULL) != 0) {
        return -1;
    }
    ucp_mem_unmap(ctx, memh);
    return now_ns() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double*)a, y = *(const double*)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    static const char *default_sizes =
        "1K,4K,16K,64K,256K,1M,4M,16M,64M";
    const char *sizes_arg = default_sizes;
    size_t sizes[MAX_SIZES], budget = (size_t)256 << 20, size;
    unsigned num_sizes = 0, repeats = 7, max_iters = 100, iters, s, r, i, n;
    ucp_context_h ctx[NUM_VARS];
    double *samples[NUM_VARS];
    char *list, *tok, *save;
    int opt, v, ret = 0;

    while ((opt = getopt(argc, argv, "s:r:k:B:h")) != -1) {
        switch (opt) {
        case 's': sizes_arg = optarg; break;
        case 'r': repeats = (unsigned)atoi(optarg); break;
        case 'k': max_iters = (unsigned)atoi(optarg); break;
        case 'B':
            if (parse_size(optarg, &budget) != 0) {
                fprintf(stderr, "ucp_map_bench: -B %s is not a size\n", optarg);
                return 2;
            }
            break;
        default:
            fprintf(stderr, "usage: ucp_map_bench [-s SIZES] [-r ROUNDS] "
                    "[-k ITERS] [-B BYTES]\n");
            return opt == 'h' ? 0 : 2;
        }
    }
    if ((repeats < 1) || (repeats > MAX_REPEATS) || (max_iters < 1) ||
        (max_iters > 100000)) {
        fprintf(stderr, "ucp_map_bench: -r must be 1..%d and -k 1..100000\n",
                MAX_REPEATS);
        return 2;
    }
    list = strdup(sizes_arg);
    for (tok = strtok_r(list, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if ((num_sizes == MAX_SIZES) || (parse_size(tok, &size) != 0)) {
            fprintf(stderr, "ucp_map_bench: bad size list '%s' (at most %d "
                    "sizes like 4K,1M)\n", sizes_arg, MAX_SIZES);
            return 2;
        }
        sizes[num_sizes++] = size;
    }
    free(list);

    ctx[VAR_P2P]  = make_context(P2P_PRIO);
    ctx[VAR_HOST] = make_context(HOST_PRIO);
    if ((ctx[VAR_P2P] == NULL) || (ctx[VAR_HOST] == NULL)) {
        return 1;
    }
    for (v = 0; v < NUM_VARS; ++v) {
        samples[v] = calloc((size_t)repeats * max_iters, sizeof(double));
    }

    for (s = 0; (s < num_sizes) && (ret == 0); ++s) {
        size  = sizes[s];
        iters = (unsigned)(budget / size);
        iters = (iters < 2) ? 2 : (iters > max_iters) ? max_iters : iters;
        n     = 0;
        /* the variants alternate call by call, so a change of load on
         * the machine hits both alike; each round starts with the
         * placement check (which also warms both paths up) */
        for (r = 0; (r < repeats) && (ret == 0); ++r) {
            for (v = 0; v < NUM_VARS; ++v) {
                if (check_placement(ctx[v], v, size) != 0) {
                    ret = 1;
                }
            }
            for (i = 0; (i < iters) && (ret == 0); ++i, ++n) {
                for (v = 0; v < NUM_VARS; ++v) {
                    samples[v][n] = pair_ns(ctx[v], size);
                    if (samples[v][n] < 0) {
                        ret = 1;
                    }
                }
            }
        }
        for (v = 0; (v < NUM_VARS) && (ret == 0); ++v) {
            qsort(samples[v], n, sizeof(double), cmp_double);
            printf("memmap,%zu,%s,%.0f,%.0f,%.0f,%u\n", size, var_name[v],
                   samples[v][n / 2], samples[v][n / 10],
                   samples[v][n - 1 - n / 10], n);
            fflush(stdout);
        }
    }

    for (v = 0; v < NUM_VARS; ++v) {
        free(samples[v]);
    }
    ucp_cleanup(ctx[VAR_P2P]);
    ucp_cleanup(ctx[VAR_HOST]);
    return ret;
}
