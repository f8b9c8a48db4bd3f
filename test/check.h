/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: PASS/FAIL lines and their counts, shared by the test programs
 * (each is one translation unit; the program prints "N passed, N failed").
 */
#ifndef P2PMEM_TEST_CHECK_H_
#define P2PMEM_TEST_CHECK_H_

#include <stdio.h>

static int passed, failed;

#define CHECK(_cond, ...) \
    do { \
        if (_cond) { \
            ++passed; \
            printf("PASS: "); \
        } else { \
            ++failed; \
            printf("FAIL: "); \
        } \
        printf(__VA_ARGS__); \
        printf("\n"); \
        fflush(stdout); \
    } while (0)

#endif
