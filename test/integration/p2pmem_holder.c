/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * p2pmem_holder: hold p2pmem_alloc() memory until stdin closes, so that
 * p2pmem-info --procs has a live holder to find (info-tests, the guest).
 * Usage: p2pmem_holder SIZE [SIZE...]   (bytes, or with K/M/G)
 * Prints "ready" once every block is allocated and written, and frees them
 * before exiting (the emulated pool only counts what is unmapped).
 */

#include <p2pmem.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t parse_size(const char *s)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v     = strtoull(s, &end, 10);
    if ((errno != 0) || (end == s)) {
        return 0;
    }
    switch (*end) {
    case 'K': v <<= 10; ++end; break;
    case 'M': v <<= 20; ++end; break;
    case 'G': v <<= 30; ++end; break;
    default: break;
    }
    return (*end == '\0') ? (size_t)v : 0;
}

int main(int argc, char **argv)
{
    void *blocks[64] = {NULL};
    char buf[64];
    size_t size;
    int i;

    if ((argc < 2) || (argc > 65)) {
        fprintf(stderr, "usage: p2pmem_holder SIZE [SIZE...] (at most 64)\n");
        return 2;
    }
    for (i = 1; i < argc; ++i) {
        size = parse_size(argv[i]);
        if (size == 0) {
            fprintf(stderr, "p2pmem_holder: '%s' is not a size\n", argv[i]);
            return 2;
        }
        blocks[i - 1] = p2pmem_alloc(size);
        if (blocks[i - 1] == NULL) {
            fprintf(stderr, "p2pmem_holder: p2pmem_alloc(%zu): %s\n", size,
                    strerror(errno));
            return 1;
        }
        memset(blocks[i - 1], 0x5a, size); /* the pages are really in use */
    }
    printf("ready\n");
    fflush(stdout);
    while (read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
    }
    for (i = 0; i < argc - 1; ++i) {
        if (p2pmem_free(blocks[i]) != 0) {
            return 1;
        }
    }
    return 0;
}
