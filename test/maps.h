/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: what backs an address, for the test programs that check
 * where a buffer was placed (one translation unit each).
 */
#ifndef P2PMEM_TEST_MAPS_H_
#define P2PMEM_TEST_MAPS_H_

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The pathname column of address's line in /proc/self/maps, or "". */
static void mapping_of(const void *address, char *path, size_t size)
{
    uintptr_t addr = (uintptr_t)address, start, end;
    char line[1024];
    FILE *maps;
    int pos;

    path[0] = '\0';
    maps    = fopen("/proc/self/maps", "r");
    if (maps == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), maps) != NULL) {
        if ((sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %*s %*s %*s %n",
                    &start, &end, &pos) >= 2) &&
            (addr >= start) && (addr < end)) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(path, size, "%s", line + pos);
            break;
        }
    }
    fclose(maps);
}

#endif
