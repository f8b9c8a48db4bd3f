/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * win_get_repro: large one-sided transfers checked word by word, with
 * nothing but MPI (no p2pmem module, no emulator). It reproduces wrong data
 * from Open MPI's osc/ucx when the window memory is one no UCX transport
 * reaches directly (docs/upstream-osc-ucx-get-fence.md).
 *
 * Usage: win_get_repro [-o OPS] [-y SYNCS] [-m devzero|malloc|alloc]
 *                      [-s BYTES] [-n ITERATIONS] [-1]
 *   -o  comma-separated, each run in turn: get (MPI_Get of the target's
 *       whole window, the default), put (MPI_Put into it), acc
 *       (MPI_Accumulate with MPI_SUM onto it)
 *   -y  comma-separated synchronisations, each with every operation: fence
 *       (MPI_Win_fence around each transfer, the default), lock
 *       (MPI_Win_lock/unlock of the target), flush (MPI_Win_flush inside
 *       one MPI_Win_lock_all epoch), flushall (MPI_Win_flush_all there)
 *   -m  window memory: MPI_Win_create on a MAP_SHARED mapping of /dev/zero
 *       (default), MPI_Win_create on malloc memory, or MPI_Win_allocate
 *   -s  window size in bytes (default 2 MiB), -n transfers (default 30)
 *   -1  only rank 0 transfers (the others just synchronise): no reply
 *       traffic towards rank 0's target, which the defect needs for get
 * Each rank targets rank+1 (mod size). Every iteration writes a new pattern
 * (iteration, rank, word index) into the windows, so stale, missing and
 * foreign data all show. Prints a line per wrong transfer and, from rank 0,
 * "wrong: K of N transfers (op, sync, memory, size, ranks)" per pair of
 * operation and synchronisation; exit status 1 when any K > 0.
 */
#include <mpi.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int rank, nranks, target, source, iters = 30, one;
static size_t n;
static uint64_t *win_buf, *org;
static const char *mem = "devzero";
static MPI_Win win;

static uint64_t word(int it, int owner, size_t i)
{
    return ((uint64_t)(it + 1) << 48) | ((uint64_t)(owner + 1) << 40) | i;
}

static void usage(void)
{
    fprintf(stderr, "usage: win_get_repro [-o get,put,acc] [-y fence,lock,flush,flushall] "
                    "[-m devzero|malloc|alloc] [-s BYTES] [-n ITERATIONS] [-1]\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
}

/* ITERATIONS transfers of OP under SYNC; the number wrong on all ranks */
static int run(const char *op, const char *sync)
{
    int get = !strcmp(op, "get"), put = !strcmp(op, "put"), epoch_all;
    int it, wrong = 0, all;
    size_t bad, first, n_check;
    uint64_t expect, got;

    epoch_all = !strncmp(sync, "flush", 5);
    if (epoch_all) {
        MPI_Win_lock_all(0, win);
    }
    for (it = 0; it < iters; ++it) {
        /* the window holds this iteration's pattern of its owner; the origin
         * buffer the pattern to put/add, or a poison for get */
        for (size_t i = 0; i < n; ++i) {
            win_buf[i] = word(it, rank, i);
            org[i]     = get ? ~(uint64_t)0 : word(it, rank + nranks, i);
        }
        if (!strcmp(sync, "fence")) {
            MPI_Win_fence(0, win);
        } else if (!strcmp(sync, "lock")) {
            MPI_Barrier(MPI_COMM_WORLD);
            MPI_Win_lock(get ? MPI_LOCK_SHARED : MPI_LOCK_EXCLUSIVE, target, 0, win);
        } else {
            MPI_Win_sync(win);
            MPI_Barrier(MPI_COMM_WORLD);
        }

        if (one && rank != 0) {
            /* no transfer */
        } else if (get) {
            MPI_Get(org, n, MPI_UINT64_T, target, 0, n, MPI_UINT64_T, win);
        } else if (put) {
            MPI_Put(org, n, MPI_UINT64_T, target, 0, n, MPI_UINT64_T, win);
        } else {
            MPI_Accumulate(org, n, MPI_UINT64_T, target, 0, n, MPI_UINT64_T,
                           MPI_SUM, win);
        }

        if (!strcmp(sync, "fence")) {
            MPI_Win_fence(0, win);
        } else if (!strcmp(sync, "lock")) {
            MPI_Win_unlock(target, win);
            MPI_Barrier(MPI_COMM_WORLD);
        } else {
            if (!strcmp(sync, "flush")) {
                MPI_Win_flush(target, win);
            } else {
                MPI_Win_flush_all(win);
            }
            MPI_Barrier(MPI_COMM_WORLD);
            MPI_Win_sync(win);
        }

        /* get: the origin buffer; put/acc: this rank's own window */
        n_check = (one && (get ? rank != 0 : source != 0)) ? 0 : n;
        bad     = 0;
        first   = n;
        got = expect = 0;
        for (size_t i = 0; i < n_check; ++i) {
            uint64_t e, g;
            if (get) {
                e = word(it, target, i);
                g = org[i];
            } else if (put) {
                e = word(it, source + nranks, i);
                g = win_buf[i];
            } else {
                e = word(it, rank, i) + word(it, source + nranks, i);
                g = win_buf[i];
            }
            if ((g != e) && (bad++ == 0)) {
                first  = i;
                expect = e;
                got    = g;
            }
        }
        if (bad) {
            ++wrong;
            printf("rank %d %s/%s iteration %d: %zu of %zu words wrong, first at byte "
                   "%zu: 0x%016llx, expected 0x%016llx\n", rank, op, sync, it, bad, n,
                   first * sizeof(uint64_t), (unsigned long long)got,
                   (unsigned long long)expect);
            fflush(stdout);
        }
        /* nobody refills a window that another rank still reads */
        MPI_Barrier(MPI_COMM_WORLD);
    }
    if (epoch_all) {
        MPI_Win_unlock_all(win);
    }

    MPI_Allreduce(&wrong, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("wrong: %d of %d transfers (%s, %s, %s, %zu bytes, %d ranks%s)\n", all,
               iters * (one ? 1 : nranks), op, sync, mem, n * sizeof(uint64_t),
               nranks, one ? ", rank 0 only" : "");
        fflush(stdout);
    }
    return all;
}

static int listed(const char *list, const char *allowed)
{
    char buf[128], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", list);
    for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        char pat[32];
        snprintf(pat, sizeof(pat), ",%s,", w);
        if (strstr(allowed, pat) == NULL) {
            return 0;
        }
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *ops = "get", *syncs = "fence";
    size_t size = 2 << 20;
    int c, total = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    while ((c = getopt(argc, argv, "o:y:m:s:n:1")) != -1) {
        switch (c) {
        case 'o': ops = optarg; break;
        case 'y': syncs = optarg; break;
        case 'm': mem = optarg; break;
        case 's': size = strtoul(optarg, NULL, 0); break;
        case 'n': iters = atoi(optarg); break;
        case '1': one = 1; break;
        default: usage();
        }
    }
    if (!listed(ops, ",get,put,acc,") || !listed(syncs, ",fence,lock,flush,flushall,") ||
        size < 8 || iters < 1) {
        usage();
    }
    n      = size / sizeof(uint64_t);
    target = (rank + 1) % nranks;
    source = (rank + nranks - 1) % nranks;

    if (!strcmp(mem, "alloc")) {
        MPI_Win_allocate(size, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &win_buf, &win);
    } else {
        if (!strcmp(mem, "devzero")) {
            /* shmem-backed like a sysv segment, but not one UCX made */
            int fd = open("/dev/zero", O_RDWR);
            void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            close(fd);
            win_buf = (p == MAP_FAILED) ? NULL : p;
        } else if (!strcmp(mem, "malloc")) {
            win_buf = malloc(size);
        } else {
            usage();
        }
        if (win_buf == NULL) {
            perror("window memory");
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        MPI_Win_create(win_buf, size, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &win);
    }
    org = malloc(size);
    if (org == NULL) {
        MPI_Abort(MPI_COMM_WORLD, 2);
    }

    for (const char *y = syncs; *y; y += strcspn(y, ",") + !!y[strcspn(y, ",")]) {
        for (const char *o = ops; *o; o += strcspn(o, ",") + !!o[strcspn(o, ",")]) {
            char op[16], sync[16];
            snprintf(op, sizeof(op), "%.*s", (int)strcspn(o, ","), o);
            snprintf(sync, sizeof(sync), "%.*s", (int)strcspn(y, ","), y);
            total += run(op, sync);
        }
    }

    MPI_Win_free(&win);
    if (!strcmp(mem, "devzero")) {
        munmap(win_buf, size);
    } else if (!strcmp(mem, "malloc")) {
        free(win_buf);
    }
    free(org);
    MPI_Finalize();
    return total ? 1 : 0;
}
