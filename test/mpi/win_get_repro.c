/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * win_get_repro: large one-sided transfers checked word by word, with
 * nothing but MPI (no p2pmem module, no emulator). It reproduces wrong data
 * from Open MPI's osc/ucx when the window memory is one no UCX transport
 * reaches directly (docs/upstream-osc-ucx-get-fence.md).
 *
 * Usage: win_get_repro [-o get|put|acc] [-y fence|lock|flush|flushall]
 *                      [-m devzero|malloc|alloc] [-s BYTES] [-n ITERATIONS]
 *   -o  MPI_Get of the target's whole window (default), MPI_Put into it, or
 *       MPI_Accumulate(MPI_SUM) onto it
 *   -y  synchronisation: MPI_Win_fence around each transfer (default),
 *       MPI_Win_lock/unlock of the target, or MPI_Win_flush (flushall:
 *       MPI_Win_flush_all) inside one MPI_Win_lock_all epoch
 *   -m  window memory: MPI_Win_create on a MAP_SHARED mapping of /dev/zero
 *       (default), MPI_Win_create on malloc memory, or MPI_Win_allocate
 *   -s  window size in bytes (default 2 MiB), -n transfers (default 30)
 * Each rank targets rank+1 (mod size). Every iteration writes a new pattern
 * (iteration, rank, word index) into the windows, so stale, missing and
 * foreign data all show. Prints one line per wrong iteration and
 * "wrong: K of N transfers (op, sync, memory, size)" from rank 0;
 * exit status 1 when K > 0.
 */
#include <mpi.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t word(int it, int rank, size_t i)
{
    return ((uint64_t)(it + 1) << 48) | ((uint64_t)(rank + 1) << 40) | i;
}

static void usage(void)
{
    fprintf(stderr, "usage: win_get_repro [-o get|put|acc] [-y fence|lock|flush|flushall] "
                    "[-m devzero|malloc|alloc] [-s BYTES] [-n ITERATIONS]\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
}

int main(int argc, char **argv)
{
    const char *op = "get", *sync = "fence", *mem = "devzero";
    size_t size = 2 << 20, n, bad, first;
    int iters = 30, rank, nranks, target, source, c, it, wrong = 0, all;
    uint64_t *win_buf = NULL, *org, expect, got;
    MPI_Win win;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    while ((c = getopt(argc, argv, "o:y:m:s:n:")) != -1) {
        switch (c) {
        case 'o': op = optarg; break;
        case 'y': sync = optarg; break;
        case 'm': mem = optarg; break;
        case 's': size = strtoul(optarg, NULL, 0); break;
        case 'n': iters = atoi(optarg); break;
        default: usage();
        }
    }
    if ((strcmp(op, "get") && strcmp(op, "put") && strcmp(op, "acc")) ||
        (strcmp(sync, "fence") && strcmp(sync, "lock") && strcmp(sync, "flush") &&
         strcmp(sync, "flushall")) ||
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
    if (!strncmp(sync, "flush", 5)) {
        MPI_Win_lock_all(0, win);
    }

    for (it = 0; it < iters; ++it) {
        /* the window holds this iteration's pattern of its owner; the origin
         * buffer the pattern to put/add, or a poison for get */
        for (size_t i = 0; i < n; ++i) {
            win_buf[i] = word(it, rank, i);
            org[i]     = strcmp(op, "get") ? word(it, rank + nranks, i) : ~(uint64_t)0;
        }
        if (!strcmp(sync, "fence")) {
            MPI_Win_fence(0, win);
        } else if (!strcmp(sync, "lock")) {
            MPI_Barrier(MPI_COMM_WORLD);
            MPI_Win_lock(strcmp(op, "get") ? MPI_LOCK_EXCLUSIVE : MPI_LOCK_SHARED,
                         target, 0, win);
        } else {
            MPI_Win_sync(win);
            MPI_Barrier(MPI_COMM_WORLD);
        }

        if (!strcmp(op, "get")) {
            MPI_Get(org, n, MPI_UINT64_T, target, 0, n, MPI_UINT64_T, win);
        } else if (!strcmp(op, "put")) {
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
        } else if (!strcmp(sync, "flush")) {
            MPI_Win_flush(target, win);
            MPI_Barrier(MPI_COMM_WORLD);
            MPI_Win_sync(win);
        } else {
            MPI_Win_flush_all(win);
            MPI_Barrier(MPI_COMM_WORLD);
            MPI_Win_sync(win);
        }

        /* get: the origin buffer; put/acc: this rank's own window */
        bad = 0;
        first = n;
        got = expect = 0;
        for (size_t i = 0; i < n; ++i) {
            uint64_t e, g;
            if (!strcmp(op, "get")) {
                e = word(it, target, i);
                g = org[i];
            } else if (!strcmp(op, "put")) {
                e = word(it, source + nranks, i);
                g = win_buf[i];
            } else {
                e = word(it, rank, i) + word(it, source + nranks, i);
                g = win_buf[i];
            }
            if (g != e) {
                if (bad++ == 0) {
                    first  = i;
                    expect = e;
                    got    = g;
                }
            }
        }
        if (bad) {
            ++wrong;
            printf("rank %d iteration %d: %zu of %zu words wrong, first at byte %zu: "
                   "0x%016llx, expected 0x%016llx\n", rank, it, bad, n,
                   first * sizeof(uint64_t), (unsigned long long)got,
                   (unsigned long long)expect);
            fflush(stdout);
        }
        /* nobody refills a window that another rank still reads */
        MPI_Barrier(MPI_COMM_WORLD);
    }

    if (!strncmp(sync, "flush", 5)) {
        MPI_Win_unlock_all(win);
    }
    MPI_Allreduce(&wrong, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("wrong: %d of %d transfers (%s, %s, %s, %zu bytes, %d ranks)\n", all,
               iters * nranks, op, sync, mem, size, nranks);
    }
    MPI_Win_free(&win);
    if (!strcmp(mem, "devzero")) {
        munmap(win_buf, size);
    } else if (!strcmp(mem, "malloc")) {
        free(win_buf);
    }
    free(org);
    MPI_Finalize();
    return all ? 1 : 0;
}
