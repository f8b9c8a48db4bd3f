/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Bad input through the public API (p2pmem.h), one case per run, for
 * test/integration/bad-input-tests: prints what the call returned; the
 * library prints its own message on stderr.
 *
 * Usage: api_bad_input CASE
 *   free-foreign   p2pmem_free() of a malloc() block
 *   free-stack     p2pmem_free() of a stack address
 *   free-interior  p2pmem_free() of a pointer inside an allocation
 *   free-twice     p2pmem_free() of the same allocation twice
 *   alloc-0        p2pmem_alloc(0)
 *   alloc-huge     p2pmem_alloc(SIZE_MAX)
 *   alloc-big      p2pmem_alloc() of more than every provider holds
 * Exit status 0 when the call failed as documented (-1/NULL, errno EINVAL,
 * ENOMEM or EFBIG) and a live allocation, if any, was left intact.
 */

#include <p2pmem.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int report_free(const char *what, void *ptr, int expect_errno)
{
    int ret, err;

    errno = 0;
    ret   = p2pmem_free(ptr);
    err   = errno;
    printf("%s: p2pmem_free(%p) = %d, errno %s\n", what, ptr, ret,
           strerror(err));
    return (ret == -1) && (err == expect_errno);
}

static int report_alloc(size_t size, int expect_errno)
{
    void *p;
    int err;

    errno = 0;
    p     = p2pmem_alloc(size);
    err   = errno;
    printf("p2pmem_alloc(%zu) = %p, errno %s\n", size, p, strerror(err));
    if (p != NULL) {
        p2pmem_free(p);
    }
    return (p == NULL) && (err == expect_errno);
}

int main(int argc, char **argv)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const char *c = (argc > 1) ? argv[1] : "";
    int ok = 0, local;
    char *p, *h;

    if (!strcmp(c, "free-foreign")) {
        h  = malloc(4 * page);
        ok = report_free(c, h, EINVAL);
        free(h); /* still glibc's: the failed call must not have touched it */
    } else if (!strcmp(c, "free-stack")) {
        ok = report_free(c, &local, EINVAL);
    } else if (!strcmp(c, "free-interior") || !strcmp(c, "free-twice")) {
        p = p2pmem_alloc(2 * page);
        if (p == NULL) {
            printf("p2pmem_alloc(%zu) failed: %s\n", 2 * page, strerror(errno));
            return 1;
        }
        memset(p, 0x5a, 2 * page);
        if (!strcmp(c, "free-interior")) {
            ok = report_free(c, p + page, EINVAL) &&
                 p2pmem_is_p2p(p) && (p[2 * page - 1] == 0x5a) &&
                 (p2pmem_free(p) == 0); /* still live and whole */
        } else {
            ok = (p2pmem_free(p) == 0) && report_free(c, p, EINVAL) &&
                 !p2pmem_is_p2p(p);
        }
    } else if (!strcmp(c, "alloc-0")) {
        ok = report_alloc(0, EINVAL);
    } else if (!strcmp(c, "alloc-huge")) {
        ok = report_alloc(SIZE_MAX, EINVAL);
    } else if (!strcmp(c, "alloc-big")) {
        ok = report_alloc((size_t)1 << 40, EFBIG);
    } else {
        fprintf(stderr, "usage: %s free-foreign|free-stack|free-interior|"
                "free-twice|alloc-0|alloc-huge|alloc-big\n", argv[0]);
        return 2;
    }
    printf("%s: %s\n", c, ok ? "as documented" : "NOT as documented");
    return ok ? 0 : 1;
}
