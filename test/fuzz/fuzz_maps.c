/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * libFuzzer target: /proc/PID/maps lines, as the preload (caller ranges)
 * and p2pmem-info (--procs) read them.
 *
 * Besides not crashing or reading past the line, checks an accepted line
 * against an independent reading with sscanf: the same start and end
 * (start <= end), the same permissions, and a path that lies inside the
 * line after five fields.
 */

#include <ucs/p2pmem_sys.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_maps: property failed: %s\n", #cond); \
            abort(); \
        } \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ucs_p2pmem_maps_entry_t e;
    unsigned long long lo, hi;
    char perms[8], *line;
    int consumed = 0;

    /* exactly size bytes: a read past them is ASan's to catch */
    line = malloc(size ? size : 1);
    if (line == NULL) {
        return 0;
    }
    memcpy(line, data, size);
    if (ucs_p2pmem_parse_maps_line(line, size, &e) == 0) {
        CHECK(e.start <= e.end);
        CHECK((e.path >= line) && (e.path + e.path_len <= line + size));
        CHECK(strlen(e.perms) == 4);
        CHECK(!memchr(line, '\0', size));
        /* the same fields, read another way (NUL-terminated copy) */
        {
            char *z = malloc(size + 1);

            CHECK(z != NULL);
            memcpy(z, line, size);
            z[size] = '\0';
            CHECK(sscanf(z, "%llx-%llx %7s %*s %*s %*s%n", &lo, &hi, perms,
                         &consumed) == 3);
            CHECK((lo == e.start) && (hi == e.end));
            CHECK(!strcmp(perms, e.perms));
            CHECK(e.path >= line + consumed);
            free(z);
        }
    }
    free(line);
    return 0;
}
