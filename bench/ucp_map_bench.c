/*
 * ucx-p2pmem benchmark: cost of ucp_mem_map(UCP_MEM_MAP_ALLOCATE) followed
 * by ucp_mem_unmap(), through p2pmem and through UCX's default host
 * allocator (its default order without "md:*"), in one process and one run
 * (two UCP contexts that differ only in UCX_ALLOC_PRIO), so the ratio
 * compares like with like.
 *
 *   ucp_map_bench [-s SIZES] [-r REPEATS] [-k ITERS] [-B BYTES]
 *
 * SIZES   comma-separated sizes (K/M suffixes), default 1K,4K,...,64M
 * REPEATS timed rounds per size and variant; the median is reported (7)
 * ITERS   map+unmap pairs per round, at most (100); fewer for large sizes
 *         so that a round maps at most BYTES (default 256M)
 *
 * The variants alternate round by round. Every round's first allocation is
 * checked in /proc/self/maps: the p2pmem variant must map a provider's
 * p2pmem/allocate (or /dev/zero for the emulated provider), the host
 * variant must not; a mismatch is an error, never a silently wrong figure.
 * Output, one line per size and variant, then the paired ratio (the
 * median over rounds of p2pmem/host within a round, robust against a
 * machine whose load changes between rounds):
 *   memmap,<size>,<p2pmem|host>,<median ns per pair>,<min ns>,<max ns>
 *   memmap,<size>,ratio,<median of per-round p2pmem/host>,<min>,<max>
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
#define MAX_REPEATS 101

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

/* One timed round: ns per map+unmap pair, or < 0 on error. */
static double round_ns(ucp_context_h ctx, int var, size_t size,
                       unsigned iters)
{
    ucp_mem_h memh;
    void *addr;
    double t0, t1;
    unsigned i;
    int p2p;

    /* untimed: where does this variant's memory come from? */
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

    t0 = now_ns();
    for (i = 0; i < iters; ++i) {
        if (map_one(ctx, size, &memh, NULL) != 0) {
            return -1;
        }
        ucp_mem_unmap(ctx, memh);
    }
    t1 = now_ns();
    return (t1 - t0) / iters;
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
    unsigned num_sizes = 0, repeats = 7, max_iters = 100, iters, s, r;
    double samples[NUM_VARS][MAX_REPEATS], ratios[MAX_REPEATS];
    ucp_context_h ctx[NUM_VARS];
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
            fprintf(stderr, "usage: ucp_map_bench [-s SIZES] [-r REPEATS] "
                    "[-k ITERS] [-B BYTES]\n");
            return opt == 'h' ? 0 : 2;
        }
    }
    if ((repeats < 1) || (repeats > MAX_REPEATS) || (max_iters < 1)) {
        fprintf(stderr, "ucp_map_bench: -r must be 1..%d and -k at least 1\n",
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

    for (s = 0; (s < num_sizes) && (ret == 0); ++s) {
        size  = sizes[s];
        iters = (unsigned)(budget / size);
        iters = (iters < 2) ? 2 : (iters > max_iters) ? max_iters : iters;
        /* warm-up of both paths (first-touch of UCX's own structures) */
        for (v = 0; v < NUM_VARS; ++v) {
            if (round_ns(ctx[v], v, size, 1) < 0) {
                ret = 1;
            }
        }
        for (r = 0; (r < repeats) && (ret == 0); ++r) {
            for (v = 0; v < NUM_VARS; ++v) {
                samples[v][r] = round_ns(ctx[v], v, size, iters);
                if (samples[v][r] < 0) {
                    ret = 1;
                    break;
                }
            }
        }
        for (r = 0; (r < repeats) && (ret == 0); ++r) {
            ratios[r] = samples[VAR_P2P][r] / samples[VAR_HOST][r];
        }
        for (v = 0; (v < NUM_VARS) && (ret == 0); ++v) {
            qsort(samples[v], repeats, sizeof(double), cmp_double);
            printf("memmap,%zu,%s,%.0f,%.0f,%.0f\n", size, var_name[v],
                   samples[v][repeats / 2], samples[v][0],
                   samples[v][repeats - 1]);
            fflush(stdout);
        }
        if (ret == 0) {
            qsort(ratios, repeats, sizeof(double), cmp_double);
            printf("memmap,%zu,ratio,%.3f,%.3f,%.3f\n", size,
                   ratios[repeats / 2], ratios[0], ratios[repeats - 1]);
            fflush(stdout);
        }
    }

    ucp_cleanup(ctx[VAR_P2P]);
    ucp_cleanup(ctx[VAR_HOST]);
    return ret;
}
