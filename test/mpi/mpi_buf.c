/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Buffer placements for the MPI tests and the benchmark (see mpi_buf.h).
 */
#include "mpi_buf.h"

#ifdef HAVE_P2PMEM_API
#include "api/p2pmem.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const char *const place_names[] = {
    [MBUF_HOST] = "host",
    [MBUF_API]  = "api",
    [MBUF_WIN]  = "win",
    [MBUF_REF]  = "ref",
    [MBUF_ALLOCMEM] = "allocmem",
};

static MPI_Info alloc_info = MPI_INFO_NULL;

void mbuf_set_alloc_info(MPI_Info info)
{
    alloc_info = info;
}

int mbuf_parse_place(const char *name)
{
    for (size_t i = 0; i < sizeof(place_names) / sizeof(place_names[0]); ++i) {
        if (strcmp(name, place_names[i]) == 0) {
            return (int)i;
        }
    }
    return -1;
}

const char *mbuf_place_name(mbuf_place_t place)
{
    return place_names[place];
}

int mbuf_place_available(mbuf_place_t place)
{
#ifndef HAVE_P2PMEM_API
    if (place == MBUF_API) {
        return 0;
    }
#endif
    return 1;
}

int mbuf_alloc(mbuf_t *buf, mbuf_place_t place, size_t len, MPI_Comm comm)
{
    int rc;

    memset(buf, 0, sizeof(*buf));
    buf->place = place;
    buf->len   = len;
    buf->win   = MPI_WIN_NULL;
    /* zero-length buffers are legal in MPI, but allocators differ on them */
    if (len == 0) {
        len = 1;
    }

    switch (place) {
    case MBUF_HOST:
        buf->ptr = malloc(len);
        break;
    case MBUF_API:
#ifdef HAVE_P2PMEM_API
        buf->ptr = p2pmem_alloc(len);
#else
        fprintf(stderr, "mpi_buf: placement 'api' needs libp2pmem, which "
                "was not built (src/api/p2pmem.h missing)\n");
        return -1;
#endif
        break;
    case MBUF_WIN:
        /* disp_unit 1: displacements in bytes */
        rc = MPI_Win_allocate((MPI_Aint)len, 1, MPI_INFO_NULL, comm,
                              &buf->ptr, &buf->win);
        if (rc != MPI_SUCCESS) {
            fprintf(stderr, "mpi_buf: MPI_Win_allocate(%zu) failed (%d)\n",
                    len, rc);
            return -1;
        }
        break;
    case MBUF_ALLOCMEM:
        rc = MPI_Alloc_mem((MPI_Aint)len, alloc_info, &buf->ptr);
        if (rc != MPI_SUCCESS) {
            fprintf(stderr, "mpi_buf: MPI_Alloc_mem(%zu) failed (%d)\n",
                    len, rc);
            return -1;
        }
        break;
    case MBUF_REF:
        buf->ptr = mmap(NULL, len, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf->ptr == MAP_FAILED) {
            buf->ptr = NULL;
        }
        break;
    }

    if (buf->ptr == NULL) {
        fprintf(stderr, "mpi_buf: %s allocation of %zu bytes failed: %s\n",
                mbuf_place_name(place), len, strerror(errno));
        return -1;
    }
    return 0;
}

void mbuf_free(mbuf_t *buf)
{
    if (buf->win != MPI_WIN_NULL) {
        /* frees MPI_Win_allocate's memory too */
        MPI_Win_free(&buf->win);
    }
    switch (buf->place) {
    case MBUF_HOST:
        free(buf->ptr);
        break;
    case MBUF_API:
#ifdef HAVE_P2PMEM_API
        if ((buf->ptr != NULL) && (p2pmem_free(buf->ptr) != 0)) {
            fprintf(stderr, "mpi_buf: p2pmem_free(%p) failed\n", buf->ptr);
        }
#endif
        break;
    case MBUF_WIN:
        break;
    case MBUF_ALLOCMEM:
        if ((buf->ptr != NULL) && (MPI_Free_mem(buf->ptr) != MPI_SUCCESS)) {
            fprintf(stderr, "mpi_buf: MPI_Free_mem(%p) failed\n", buf->ptr);
        }
        break;
    case MBUF_REF:
        if (buf->ptr != NULL) {
            munmap(buf->ptr, buf->len ? buf->len : 1);
        }
        break;
    }
    buf->ptr = NULL;
}

int mbuf_window(mbuf_t *buf, MPI_Comm comm)
{
    int rc;

    if (buf->win != MPI_WIN_NULL) {
        return 0;
    }
    rc = MPI_Win_create(buf->ptr, (MPI_Aint)buf->len, 1, MPI_INFO_NULL, comm,
                        &buf->win);
    if (rc != MPI_SUCCESS) {
        fprintf(stderr, "mpi_buf: MPI_Win_create(%zu) failed (%d)\n",
                buf->len, rc);
        return -1;
    }
    buf->own_win = 1;
    return 0;
}

static int find_mapping(const void *address, uintptr_t *start, uintptr_t *end,
                        char *path, size_t size)
{
    uintptr_t addr = (uintptr_t)address;
    char line[1024];
    FILE *maps;
    int pos, found = 0;

    path[0] = '\0';
    maps    = fopen("/proc/self/maps", "r");
    if (maps == NULL) {
        return 0;
    }
    while (fgets(line, sizeof(line), maps) != NULL) {
        if ((sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %*s %*s %*s %n",
                    start, end, &pos) >= 2) &&
            (addr >= *start) && (addr < *end)) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(path, size, "%s", line + pos);
            found = 1;
            break;
        }
    }
    fclose(maps);
    return found;
}

void mbuf_backing(const void *addr, char *path, size_t size)
{
    uintptr_t start, end;

    find_mapping(addr, &start, &end, path, size);
}

int mbuf_is_p2pmem(const void *addr, size_t len)
{
    uintptr_t start, end;
    char path[512];

    if (!find_mapping(addr, &start, &end, path, sizeof(path)) ||
        ((uintptr_t)addr + (len ? len : 1) > end)) {
        return 0;
    }
    return (strstr(path, "/p2pmem/allocate") != NULL) ||
           (strncmp(path, "/dev/zero", 9) == 0);
}
