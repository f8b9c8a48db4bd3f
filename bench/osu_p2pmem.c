/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem MPI micro-benchmark in the layout of the OSU micro-benchmarks,
 * so that runs with host buffers and with p2pmem buffers compare side by
 * side.
 *
 * Usage: osu_p2pmem [-t latency|bw|allreduce|put] [-m host|api|win|allocmem]
 *                   [-s MIN:MAX] [-i ITERS] [-x WARMUP] [-W WINDOW]
 *   -t  latency    ping-pong between ranks 0 and 1 (half round trip)
 *       bw         rank 0 streams WINDOW messages to rank 1, which acks
 *       allreduce  MPI_Allreduce of floats (MPI_SUM) over all ranks
 *       put        MPI_Put from rank 0 into rank 1's window, WINDOW puts
 *                  per MPI_Win_flush, under one passive-target lock
 *   -m  buffers from malloc (host; p2pmem under the preload allocator),
 *       p2pmem_alloc (api), MPI_Win_allocate (win) or MPI_Alloc_mem
 *       (allocmem; p2pmem under p2pmem-mpirun --preload)
 *   -s  message sizes, powers of two from MIN to MAX (default 1:4194304)
 *   -i  iterations per size (default 1000, 100 above 64 KiB)
 *   -x  warm-up iterations per size (default 10)
 *   -W  messages per window for bw and put (default 64)
 * The header says where each rank's buffers really are (/proc/self/maps).
 */
#include "mpi_buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { T_LATENCY, T_BW, T_ALLREDUCE, T_PUT };

static const char *const test_names[] = {"latency", "bw", "allreduce", "put"};

static int rank, nranks;
static size_t min_size = 1, max_size = 4u << 20;
static int iters_opt = -1, warmup = 10, window = 64;

/* column headers, from rank 0 only */
static void header(const char *text)
{
    if (rank == 0) {
        printf("%s\n", text);
    }
}

static int iterations(size_t size)
{
    if (iters_opt > 0) {
        return iters_opt;
    }
    return (size > 65536) ? 100 : 1000;
}

static void bench_latency(mbuf_t *sbuf, mbuf_t *rbuf)
{
    header("# Size          Latency (us)");
    for (size_t size = min_size; size <= max_size; size *= 2) {
        int n = iterations(size);
        double t0 = 0;

        MPI_Barrier(MPI_COMM_WORLD);
        for (int i = 0; i < n + warmup; ++i) {
            if (i == warmup) {
                t0 = MPI_Wtime();
            }
            if (rank == 0) {
                MPI_Send(sbuf->ptr, (int)size, MPI_BYTE, 1, 1, MPI_COMM_WORLD);
                MPI_Recv(rbuf->ptr, (int)size, MPI_BYTE, 1, 1, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE);
            } else if (rank == 1) {
                MPI_Recv(rbuf->ptr, (int)size, MPI_BYTE, 0, 1, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE);
                MPI_Send(sbuf->ptr, (int)size, MPI_BYTE, 0, 1, MPI_COMM_WORLD);
            }
        }
        if (rank == 0) {
            printf("%-10zu%18.2f\n", size,
                   (MPI_Wtime() - t0) * 1e6 / (2.0 * n));
            fflush(stdout);
        }
    }
}

static void bench_bw(mbuf_t *sbuf, mbuf_t *rbuf)
{
    MPI_Request *req = calloc(window, sizeof(*req));
    char ack[4] = {0};

    header("# Size      Bandwidth (MB/s)");
    for (size_t size = min_size; size <= max_size; size *= 2) {
        int n = iterations(size);
        double t0 = 0;

        MPI_Barrier(MPI_COMM_WORLD);
        for (int i = 0; i < n + warmup; ++i) {
            if (i == warmup) {
                t0 = MPI_Wtime();
            }
            if (rank == 0) {
                for (int w = 0; w < window; ++w) {
                    MPI_Isend(sbuf->ptr, (int)size, MPI_BYTE, 1, 2,
                              MPI_COMM_WORLD, &req[w]);
                }
                MPI_Waitall(window, req, MPI_STATUSES_IGNORE);
                MPI_Recv(ack, 4, MPI_BYTE, 1, 3, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE);
            } else if (rank == 1) {
                for (int w = 0; w < window; ++w) {
                    MPI_Irecv(rbuf->ptr, (int)size, MPI_BYTE, 0, 2,
                              MPI_COMM_WORLD, &req[w]);
                }
                MPI_Waitall(window, req, MPI_STATUSES_IGNORE);
                MPI_Send(ack, 4, MPI_BYTE, 0, 3, MPI_COMM_WORLD);
            }
        }
        if (rank == 0) {
            double t = MPI_Wtime() - t0;
            printf("%-10zu%18.2f\n", size,
                   (double)size * n * window / 1e6 / t);
            fflush(stdout);
        }
    }
    free(req);
}

static void bench_allreduce(mbuf_t *sbuf, mbuf_t *rbuf)
{
    float *s = sbuf->ptr;

    for (size_t i = 0; i < max_size / sizeof(float); ++i) {
        s[i] = (float)(i % 1000);
    }
    header("# Size       Avg Latency(us)");
    for (size_t size = min_size; size <= max_size; size *= 2) {
        int n = iterations(size), count = (int)(size / sizeof(float));
        double t0 = 0, t, sum;

        if (count == 0) {
            continue; /* below one float */
        }
        MPI_Barrier(MPI_COMM_WORLD);
        for (int i = 0; i < n + warmup; ++i) {
            if (i == warmup) {
                t0 = MPI_Wtime();
            }
            MPI_Allreduce(sbuf->ptr, rbuf->ptr, count, MPI_FLOAT, MPI_SUM,
                          MPI_COMM_WORLD);
        }
        t = (MPI_Wtime() - t0) * 1e6 / n;
        MPI_Reduce(&t, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        if (rank == 0) {
            printf("%-10zu%18.2f\n", size, sum / nranks);
            fflush(stdout);
        }
    }
}

static void bench_put(mbuf_t *obuf, mbuf_t *win)
{
    header("# Size      Bandwidth (MB/s)");
    for (size_t size = min_size; size <= max_size; size *= 2) {
        int n = iterations(size);
        double t0 = 0;

        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) {
            MPI_Win_lock(MPI_LOCK_SHARED, 1, 0, win->win);
            for (int i = 0; i < n + warmup; ++i) {
                if (i == warmup) {
                    t0 = MPI_Wtime();
                }
                for (int w = 0; w < window; ++w) {
                    MPI_Put(obuf->ptr, (int)size, MPI_BYTE, 1, 0, (int)size,
                            MPI_BYTE, win->win);
                }
                MPI_Win_flush(1, win->win);
            }
            printf("%-10zu%18.2f\n", size,
                   (double)size * n * window / 1e6 / (MPI_Wtime() - t0));
            fflush(stdout);
            MPI_Win_unlock(1, win->win);
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

static int parse_range(const char *arg)
{
    char *end;

    min_size = strtoull(arg, &end, 0);
    if (*end == ':') {
        max_size = strtoull(end + 1, &end, 0);
    } else {
        max_size = min_size;
    }
    return (*end == '\0') && (min_size > 0) && (min_size <= max_size) &&
           (max_size <= (1u << 30));
}

int main(int argc, char **argv)
{
    static const char *const titles[] = {
        "Latency Test", "Bandwidth Test", "Allreduce Latency Test",
        "One Sided MPI_Put Bandwidth Test"
    };
    int test = T_LATENCY, place = MBUF_HOST, c, ok = 1, here, in_p2pmem;
    char path[512];
    mbuf_t sbuf, rbuf;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);

    while ((c = getopt(argc, argv, "t:m:s:i:x:W:h")) != -1) {
        switch (c) {
        case 't':
            test = -1;
            for (int i = 0; i < 4; ++i) {
                if (strcmp(optarg, test_names[i]) == 0) {
                    test = i;
                }
            }
            ok &= test >= 0;
            break;
        case 'm':
            place = mbuf_parse_place(optarg);
            ok &= (place >= 0) && (place != MBUF_REF) &&
                  mbuf_place_available(place);
            break;
        case 's':
            ok &= parse_range(optarg);
            break;
        case 'i':
            iters_opt = atoi(optarg);
            ok &= iters_opt > 0;
            break;
        case 'x':
            warmup = atoi(optarg);
            ok &= warmup >= 0;
            break;
        case 'W':
            window = atoi(optarg);
            ok &= window > 0;
            break;
        default:
            ok = 0;
        }
    }
    if (ok && (test != T_ALLREDUCE) && (nranks < 2)) {
        if (rank == 0) {
            fprintf(stderr, "osu_p2pmem: -t %s needs at least 2 ranks\n",
                    test_names[test]);
        }
        ok = 0;
    }
    if (!ok) {
        if (rank == 0) {
            fprintf(stderr, "usage: osu_p2pmem [-t latency|bw|allreduce|put] "
                    "[-m host|api|win|allocmem] [-s MIN:MAX] [-i ITERS] [-x WARMUP] "
                    "[-W WINDOW]\n  (-m api needs libp2pmem; sizes up to "
                    "1 GiB)\n");
        }
        MPI_Finalize();
        return 2;
    }

    if ((mbuf_alloc(&sbuf, place, max_size, MPI_COMM_WORLD) != 0) ||
        (mbuf_alloc(&rbuf, place, max_size, MPI_COMM_WORLD) != 0) ||
        ((test == T_PUT) && (mbuf_window(&rbuf, MPI_COMM_WORLD) != 0))) {
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    /* touch the memory so first-use faults stay out of the figures */
    memset(sbuf.ptr, 1, max_size);
    memset(rbuf.ptr, 0, max_size);

    here = mbuf_is_p2pmem(sbuf.ptr, max_size) &&
           mbuf_is_p2pmem(rbuf.ptr, max_size);
    MPI_Reduce(&here, &in_p2pmem, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        mbuf_backing(sbuf.ptr, path, sizeof(path));
        printf("# OSU MPI-style %s (ucx-p2pmem osu_p2pmem -t %s)\n",
               titles[test], test_names[test]);
        printf("# Buffers: %s (%s); in p2pmem on %d of %d ranks "
               "(rank 0: '%s')\n", mbuf_place_name(place),
               (place == MBUF_HOST) ? "malloc" :
               (place == MBUF_API) ? "p2pmem_alloc" :
               (place == MBUF_ALLOCMEM) ? "MPI_Alloc_mem" : "MPI_Win_allocate",
               in_p2pmem, nranks, path[0] ? path : "anonymous");
        if (test == T_ALLREDUCE) {
            printf("# %d ranks\n", nranks);
        }
        fflush(stdout);
    }

    switch (test) {
    case T_LATENCY:
        bench_latency(&sbuf, &rbuf);
        break;
    case T_BW:
        bench_bw(&sbuf, &rbuf);
        break;
    case T_ALLREDUCE:
        bench_allreduce(&sbuf, &rbuf);
        break;
    case T_PUT:
        bench_put(&sbuf, &rbuf);
        break;
    }

    mbuf_free(&rbuf);
    mbuf_free(&sbuf);
    MPI_Finalize();
    return 0;
}
