/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A library that allocates, built twice under two names (the preload
 * suite's libp2pmem_test_liba.so and _libb.so): preload_test dlopens one,
 * dlcloses it and dlopens the other, which the loader usually maps at the
 * same address, to check that P2PMEM_CALLERS names the object that really
 * called malloc.
 */

#include <stdlib.h>

void *caller_lib_alloc(size_t n);

void *caller_lib_alloc(size_t n)
{
    char *p = malloc(n);

    /* a use after the call: malloc is not a tail call, so its return
     * address lies in this library */
    if (p != NULL) {
        p[0] = 1;
    }
    return p;
}
