/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * libFuzzer target: P2PMEM_CALLERS rules and their glob matcher.
 *
 * The input is "spec\0name" (or just a spec matched against a fixed name).
 * Besides not crashing, checks: an accepted spec has 1..32 rules of
 * patterns without '/' or ' ', shorter than the name limit; the
 * two-pointer matcher agrees with an independent dynamic-programming
 * matcher on every rule; and a rejected spec leaves no rule.
 */

#include <ucs/p2pmem_sys.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_callers: property failed: %s\n", #cond); \
            abort(); \
        } \
    } while (0)

/* match[i][j]: pattern from i matches name from j; bottom-up, no
 * recursion, O(len(p) * len(s)) like the one under test but built
 * differently */
static int dp_match(const char *p, const char *s)
{
    size_t lp = strlen(p), ls = strlen(s), i, j;
    unsigned char *m;
    int r;

    m = calloc((lp + 1) * (ls + 1), 1);
    if (m == NULL) {
        return -1;
    }
#define M(i, j) m[(i) * (ls + 1) + (j)]
    M(lp, ls) = 1;
    for (i = lp; i-- > 0;) {
        for (j = ls + 1; j-- > 0;) {
            if (p[i] == '*') {
                M(i, j) = M(i + 1, j) || ((j < ls) && M(i, j + 1));
            } else {
                M(i, j) = (j < ls) && ((p[i] == '?') || (p[i] == s[j])) &&
                          M(i + 1, j + 1);
            }
        }
    }
    r = M(0, 0);
#undef M
    free(m);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ucs_p2pmem_callers_t c;
    const char *name = "libmpi.so.40";
    char *buf, bad[96];
    unsigned i;
    int ret, d;

    buf = malloc(size + 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    buf[size] = '\0';
    if (strlen(buf) < size) {
        name = buf + strlen(buf) + 1; /* spec\0name */
    }

    ret = ucs_p2pmem_callers_parse(buf, &c, bad, sizeof(bad));
    if (ret != 0) {
        CHECK(c.count == 0);
        CHECK(strlen(bad) < sizeof(bad));
    } else {
        CHECK((c.count >= 1) && (c.count <= UCS_P2PMEM_CALLERS_MAX));
        for (i = 0; i < c.count; ++i) {
            CHECK(strlen(c.rules[i].pattern) < UCS_P2PMEM_CALLER_NAME_MAX);
            CHECK(strlen(c.rules[i].pattern) > 0);
            CHECK(!strchr(c.rules[i].pattern, '/') &&
                  !strchr(c.rules[i].pattern, ' '));
            CHECK((c.rules[i].include == 0) || (c.rules[i].include == 1));
        }
        d = ucs_p2pmem_callers_want(&c, name, 0);
        CHECK((d == 0) || (d == 1));
        CHECK(!c.all || (d == 1));
    }

    /* the matcher on the raw pattern, whatever the parser says of it */
    d = dp_match(buf, name);
    if (d >= 0) {
        CHECK(ucs_p2pmem_glob_match(buf, name) == d);
    }
    for (i = 0; (ret == 0) && (i < c.count); ++i) {
        d = dp_match(c.rules[i].pattern, name);
        CHECK((d < 0) || (ucs_p2pmem_glob_match(c.rules[i].pattern, name) == d));
    }

    free(buf);
    return 0;
}
