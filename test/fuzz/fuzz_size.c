/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * libFuzzer target: size values with binary suffixes ("64K", "1MiB"), the
 * form of the allocation-threshold variable.
 *
 * Besides not crashing, checks the accepted value against an independent
 * computation: the leading digits times the suffix's power of 1024,
 * rejecting anything that overflows 64 bits.
 */

#include <ucs/p2pmem_sys.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_size: property failed: %s\n", #cond); \
            abort(); \
        } \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned __int128 expect = 0;
    unsigned shift           = 0;
    const char *p;
    uint64_t v;
    char *str;

    str = malloc(size + 1);
    if (str == NULL) {
        return 0;
    }
    memcpy(str, data, size);
    str[size] = '\0';

    if (ucs_p2pmem_parse_size(str, &v) == 0) {
        for (p = str; isdigit((unsigned char)*p); ++p) {
            expect = (expect * 10) + (unsigned)(*p - '0');
            CHECK(expect <= UINT64_MAX);
        }
        CHECK(p != str);
        switch (*p) {
        case '\0':
            break;
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        case 't': case 'T': shift = 40; break;
        case 'b': case 'B': CHECK(p[1] == '\0'); break;
        default:
            CHECK(!"accepted an unknown suffix");
        }
        expect <<= shift;
        CHECK(expect <= UINT64_MAX);
        CHECK((uint64_t)expect == v);
    }

    free(str);
    return 0;
}
