/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: mapping memory from a provider, clearing it, giving it back.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem_sys_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void *ucs_p2pmem_map(const ucs_p2pmem_provider_t *provider, size_t length,
                     int *err)
{
    void *address;
    int fd;

    fd = open(provider->allocate_path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        *err = errno;
        return NULL;
    }

    /* each shared mapping at offset 0 is a fresh allocation from the pool;
     * the mapping keeps it alive after the descriptor is closed */
    address = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    *err    = (address == MAP_FAILED) ? errno : 0;
    close(fd);
    return (address == MAP_FAILED) ? NULL : address;
}

int ucs_p2pmem_scrub(void *address, size_t length)
{
    /* one byte per page, a chunk at a time: no allocation (the preload
     * calls this from free()) */
    unsigned char vec[1024];
    size_t page = (size_t)sysconf(_SC_PAGESIZE), done, chunk, i, run;
    char *base;

    /* a block the program made read-only (or PROT_NONE) would fault */
    if (mprotect(address, length, PROT_READ | PROT_WRITE) != 0) {
        return -errno;
    }

    for (done = 0; done < length; done += chunk) {
        base  = (char*)address + done;
        chunk = length - done;
        if (chunk > sizeof(vec) * page) {
            chunk = sizeof(vec) * page;
        }
        if (mincore(base, chunk, vec) != 0) {
            explicit_bzero(base, chunk);
            continue;
        }
        for (i = 0; i * page < chunk; i += run) {
            for (run = 0; ((i + run) * page < chunk) && (vec[i + run] & 1);
                 ++run) {
            }
            if (run > 0) {
                explicit_bzero(base + i * page,
                               ((i + run) * page <= chunk) ?
                               run * page : chunk - i * page);
            } else {
                run = 1;
            }
        }
    }
    return 0;
}

int ucs_p2pmem_unmap(void *address, size_t length)
{
    return (munmap(address, length) == 0) ? 0 : -errno;
}
