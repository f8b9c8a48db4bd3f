/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * libFuzzer target: numeric sysfs attribute values (size, available,
 * published, numa_node) as read from a file: raw bytes with a length, no
 * terminator.
 *
 * Besides not crashing or reading past the buffer, checks that what the
 * parsers accept is exactly what strtoull/strtoll would read from the same
 * digits, and that they reject anything that is not digits (after an
 * optional '-' for the signed one) with at most one trailing newline.
 */

#include <ucs/p2pmem_sys.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_sysfs_value: property failed: %s\n", \
                    #cond); \
            abort(); \
        } \
    } while (0)

/* Digits only (with an optional leading '-' if sign), then at most one '\n'. */
static int well_formed(const char *buf, size_t len, int sign)
{
    size_t i = 0, digits = 0;

    if (len > 0 && buf[len - 1] == '\n') {
        --len;
    }
    if (sign && (len > 0) && (buf[0] == '-')) {
        ++i;
    }
    for (; i < len; ++i, ++digits) {
        if ((buf[i] < '0') || (buf[i] > '9')) {
            return 0;
        }
    }
    return digits > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf, *copy, *end;
    unsigned long long ull;
    long long ll;
    uint64_t u;
    int v;

    /* exact-size buffer: any read past size is an ASan error */
    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);

    copy = malloc(size + 1);
    if (copy == NULL) {
        free(buf);
        return 0;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';

    if (ucs_p2pmem_parse_u64(buf, size, &u) == 0) {
        CHECK(well_formed(copy, size, 0) && (copy[0] != '-'));
        errno = 0;
        ull   = strtoull(copy, &end, 10);
        CHECK((errno == 0) && (ull == u));
        CHECK((*end == '\0') || ((*end == '\n') && (end[1] == '\0')));
    } else if (well_formed(copy, size, 0) &&
               ((size - (copy[size - 1] == '\n')) <= 20)) {
        /* rejected digits: only an overflow may be the reason (more than
         * 20 digits, as with leading zeros, is never a kernel value) */
        errno = 0;
        strtoull(copy, &end, 10);
        CHECK(errno == ERANGE);
    }

    if (ucs_p2pmem_parse_int(buf, size, &v) == 0) {
        CHECK(well_formed(copy, size, 1));
        errno = 0;
        ll    = strtoll(copy, &end, 10);
        CHECK((errno == 0) && (ll == v));
    }

    free(copy);
    free(buf);
    return 0;
}
