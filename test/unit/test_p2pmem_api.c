/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * CUnit tests of libp2pmem (p2pmem.h) against an EMULATED sysfs tree.
 *
 *   test_p2pmem_api pool    providers 0000:01:00.0 (4M) and 0000:02:00.0
 *                           (2M) selected with UCX_P2PMEM_DEVICES=all,
 *                           run with libp2pmem_emu_pool.so preloaded
 *   test_p2pmem_api nodev   UCX_P2PMEM_SYSFS_ROOT has no provider
 *   test_p2pmem_api badsel  UCX_P2PMEM_DEVICES is invalid
 *
 * test/suites/api.test sets up the tree and the environment for each mode.
 */

#define _GNU_SOURCE
#include <p2pmem.h>

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROV_A "0000:01:00.0"
#define PROV_B "0000:02:00.0"
#define MiB    (1024ul * 1024ul)

static size_t page;
static char stderr_path[] = "/tmp/p2pmem-api-stderr.XXXXXX";
static int saved_stderr = -1;

/* "available" of an emulated provider, -1 if unreadable */
static long long available(const char *bdf)
{
    char path[4096], buf[64];
    long long v = -1;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s/p2pmem/available",
             getenv("UCX_P2PMEM_SYSFS_ROOT"), bdf);
    f = fopen(path, "r");
    if (f != NULL) {
        if (fgets(buf, sizeof(buf), f) != NULL) {
            v = atoll(buf);
        }
        fclose(f);
    }
    return v;
}

/* Capture stderr in a file, then count the lines holding needle. */
static void capture_start(void)
{
    int fd = mkstemp(stderr_path);

    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

static int capture_count(const char *needle)
{
    char line[2048];
    int n = 0;
    FILE *f;

    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    f = fopen(stderr_path, "r");
    while ((f != NULL) && (fgets(line, sizeof(line), f) != NULL)) {
        fputs(line, stderr); /* keep it visible in the test log */
        n += (strstr(line, needle) != NULL);
    }
    if (f != NULL) {
        fclose(f);
    }
    unlink(stderr_path);
    strcpy(stderr_path + strlen(stderr_path) - 6, "XXXXXX");
    return n;
}

/* ---- pool mode ---- */

static void test_alloc_basic(void)
{
    long long a0 = available(PROV_A);
    unsigned char *p;
    size_t i;

    p = p2pmem_alloc(100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL((uintptr_t)p % page, 0);
    CU_ASSERT_EQUAL(p2pmem_size(p), page);
    CU_ASSERT_EQUAL(available(PROV_A), a0 - (long long)page);
    CU_ASSERT_EQUAL(p2pmem_is_p2p(p), 1);
    CU_ASSERT_EQUAL(p2pmem_is_p2p(p + page - 1), 1);
    CU_ASSERT_EQUAL(p2pmem_size(p + 1), 0); /* not the start */

    for (i = 0; i < page; ++i) {
        p[i] = (unsigned char)(i * 7);
    }
    for (i = 0; i < page; ++i) {
        if (p[i] != (unsigned char)(i * 7)) {
            break;
        }
    }
    CU_ASSERT_EQUAL(i, page);

    CU_ASSERT_EQUAL(p2pmem_free(p), 0);
    CU_ASSERT_EQUAL(p2pmem_is_p2p(p), 0);
    CU_ASSERT_EQUAL(p2pmem_size(p), 0);
    CU_ASSERT_EQUAL(available(PROV_A), a0);
}

static void test_not_p2p(void)
{
    int on_stack;
    void *heap = malloc(64);

    CU_ASSERT_EQUAL(p2pmem_is_p2p(NULL), 0);
    CU_ASSERT_EQUAL(p2pmem_is_p2p(&on_stack), 0);
    CU_ASSERT_EQUAL(p2pmem_is_p2p(heap), 0);
    CU_ASSERT_EQUAL(p2pmem_size(heap), 0);
    free(heap);
}

static void test_free_invalid(void)
{
    long long a0 = available(PROV_A);
    char *p      = p2pmem_alloc(3 * page);
    char *heap   = malloc(page);
    int on_stack, n;

    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p2pmem_free(NULL), 0);

    capture_start();
    errno = 0;
    CU_ASSERT_EQUAL(p2pmem_free(p + page), -1); /* interior */
    CU_ASSERT_EQUAL(errno, EINVAL);
    errno = 0;
    CU_ASSERT_EQUAL(p2pmem_free(&on_stack), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    errno = 0;
    CU_ASSERT_EQUAL(p2pmem_free(heap), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    n = capture_count("not the start of a live p2pmem_alloc() allocation");
    CU_ASSERT_EQUAL(n, 3); /* one message per bad call */

    /* nothing was unmapped: the block is intact and still counted */
    memset(p, 0x5a, 3 * page);
    CU_ASSERT_EQUAL(p2pmem_is_p2p(p + 2 * page), 1);
    CU_ASSERT_EQUAL(available(PROV_A), a0 - 3 * (long long)page);

    CU_ASSERT_EQUAL(p2pmem_free(p), 0);
    errno = 0;
    CU_ASSERT_EQUAL(p2pmem_free(p), -1); /* twice */
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_EQUAL(available(PROV_A), a0);
    free(heap);
}

static void test_bad_size(void)
{
    int n;

    capture_start();
    errno = 0;
    CU_ASSERT_PTR_NULL(p2pmem_alloc(0));
    CU_ASSERT_EQUAL(errno, EINVAL);
    errno = 0;
    CU_ASSERT_PTR_NULL(p2pmem_alloc(SIZE_MAX));
    CU_ASSERT_EQUAL(errno, EINVAL);
    errno = 0;
    CU_ASSERT_PTR_NULL(p2pmem_alloc_ex(page, 3 * page, 0));
    CU_ASSERT_EQUAL(errno, EINVAL);
    n = capture_count("p2pmem_alloc(");
    CU_ASSERT_EQUAL(n, 1); /* the first failure of the kind only */
}

static void test_alignment(void)
{
    long long a0 = available(PROV_A);
    size_t align;
    char *p;

    for (align = 2 * page; align <= 256 * 1024; align *= 4) {
        p = p2pmem_alloc_ex(5000, align, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL((uintptr_t)p % align, 0);
        CU_ASSERT(p2pmem_size(p) >= 5000);
        memset(p, 1, 5000);
        CU_ASSERT_EQUAL(p2pmem_is_p2p(p + 4999), 1);
        CU_ASSERT_EQUAL(p2pmem_free(p), 0);
        CU_ASSERT_EQUAL(available(PROV_A), a0);
    }
}

static void test_exhaustion(void)
{
    long long a0 = available(PROV_A), b0 = available(PROV_B);
    void *blocks[64];
    unsigned n = 0, i, in_b = 0;
    int msgs;

    CU_ASSERT_EQUAL_FATAL(a0, 4 * MiB);
    CU_ASSERT_EQUAL_FATAL(b0, 2 * MiB);

    capture_start();
    while (n < 64) {
        errno       = 0;
        blocks[n]   = p2pmem_alloc(MiB);
        if (blocks[n] == NULL) {
            break;
        }
        ++n;
    }
    CU_ASSERT_EQUAL(errno, ENOMEM);
    CU_ASSERT_PTR_NULL(p2pmem_alloc(MiB)); /* again: no second message */
    CU_ASSERT_EQUAL(errno, ENOMEM);
    msgs = capture_count("exhausted");
    CU_ASSERT_EQUAL(msgs, 1);

    /* 4 from the first provider, then 2 from the next */
    CU_ASSERT_EQUAL(n, 6);
    CU_ASSERT_EQUAL(available(PROV_A), 0);
    CU_ASSERT_EQUAL(available(PROV_B), 0);
    for (i = 0; i < n; ++i) {
        CU_ASSERT_EQUAL(p2pmem_is_p2p(blocks[i]), 1);
        memset(blocks[i], (int)i, MiB);
    }
    for (i = 0; i < n; ++i) {
        in_b += (((unsigned char*)blocks[i])[MiB - 1] == (unsigned char)i);
    }
    CU_ASSERT_EQUAL(in_b, n); /* no two blocks overlap */

    for (i = 0; i < n; ++i) {
        CU_ASSERT_EQUAL(p2pmem_free(blocks[i]), 0);
    }
    CU_ASSERT_EQUAL(available(PROV_A), a0);
    CU_ASSERT_EQUAL(available(PROV_B), b0);

    /* memory is back: allocation works again */
    blocks[0] = p2pmem_alloc(MiB);
    CU_ASSERT_PTR_NOT_NULL(blocks[0]);
    CU_ASSERT_EQUAL(p2pmem_free(blocks[0]), 0);
}

static void test_many(void)
{
    enum { N = 1000 };
    long long a0 = available(PROV_A), b0 = available(PROV_B);
    static char *p[N];
    unsigned i, ok = 0;

    for (i = 0; i < N; ++i) {
        p[i] = p2pmem_alloc(page);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p[i]);
        *(unsigned*)p[i] = i;
    }
    CU_ASSERT_EQUAL(available(PROV_A) + available(PROV_B),
                    a0 + b0 - (long long)(N * page));
    for (i = 0; i < N; ++i) {
        ok += (*(unsigned*)p[i] == i) && p2pmem_is_p2p(p[i] + page / 2) &&
              (p2pmem_size(p[i]) == page);
    }
    CU_ASSERT_EQUAL(ok, N);
    /* free every other one, then check lookups of the freed and the live */
    for (i = 0; i < N; i += 2) {
        CU_ASSERT_EQUAL(p2pmem_free(p[i]), 0);
    }
    ok = 0;
    for (i = 0; i < N; ++i) {
        ok += (p2pmem_is_p2p(p[i]) == (int)(i & 1));
    }
    CU_ASSERT_EQUAL(ok, N);
    for (i = 1; i < N; i += 2) {
        CU_ASSERT_EQUAL(p2pmem_free(p[i]), 0);
    }
    CU_ASSERT_EQUAL(available(PROV_A), a0);
    CU_ASSERT_EQUAL(available(PROV_B), b0);
}

static void *thread_fn(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg, i, bad = 0;
    size_t size;
    char *p;

    for (i = 0; i < 400; ++i) {
        size = page * (1 + rand_r(&seed) % 16);
        p    = p2pmem_alloc(size);
        if (p == NULL) {
            continue; /* the small pool may be momentarily full */
        }
        memset(p, (int)seed & 0xff, size);
        bad += !p2pmem_is_p2p(p + size - 1) || (p2pmem_size(p) != size) ||
               (p[size / 2] != (char)(seed & 0xff)) || (p2pmem_free(p) != 0);
    }
    return (void*)(uintptr_t)bad;
}

static void test_threads(void)
{
    long long a0 = available(PROV_A), b0 = available(PROV_B);
    pthread_t t[8];
    void *bad;
    unsigned i, total = 0;

    for (i = 0; i < 8; ++i) {
        pthread_create(&t[i], NULL, thread_fn, (void*)(uintptr_t)(i + 1));
    }
    for (i = 0; i < 8; ++i) {
        pthread_join(t[i], &bad);
        total += (unsigned)(uintptr_t)bad;
    }
    CU_ASSERT_EQUAL(total, 0);
    CU_ASSERT_EQUAL(available(PROV_A), a0);
    CU_ASSERT_EQUAL(available(PROV_B), b0);
}

static volatile int stop_churn;

static void *churn_fn(void *arg)
{
    void *p;

    while (!stop_churn) {
        p = p2pmem_alloc(page);
        p2pmem_free(p);
    }
    return NULL;
}

/* fork while another thread allocates: the child's locks must be usable */
static void test_fork(void)
{
    pthread_t t;
    int i, status, good = 0;
    pid_t pid;

    pthread_create(&t, NULL, churn_fn, NULL);
    for (i = 0; i < 20; ++i) {
        pid = fork();
        if (pid == 0) {
            void *p;

            alarm(10); /* a deadlock ends as a failure, not a hang */
            p = p2pmem_alloc(page);
            _exit(((p != NULL) && p2pmem_is_p2p(p) && !p2pmem_free(p)) ?
                  0 : 1);
        }
        if ((pid > 0) && (waitpid(pid, &status, 0) == pid) &&
            WIFEXITED(status) && (WEXITSTATUS(status) == 0)) {
            ++good;
        }
    }
    stop_churn = 1;
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(good, 20);
}

/* ---- nodev / badsel modes ---- */

static void test_nodev(void)
{
    int n;

    capture_start();
    errno = 0;
    CU_ASSERT_PTR_NULL(p2pmem_alloc(page));
    CU_ASSERT_EQUAL(errno, ENODEV);
    errno = 0;
    CU_ASSERT_PTR_NULL(p2pmem_alloc(page));
    CU_ASSERT_EQUAL(errno, ENODEV);
    n = capture_count("no P2PDMA provider");
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(p2pmem_is_p2p(&n), 0);
    CU_ASSERT_EQUAL(p2pmem_free(NULL), 0);
}

static void test_badsel(void)
{
    int n;

    capture_start();
    errno = 0;
    CU_ASSERT_PTR_NULL(p2pmem_alloc(page));
    CU_ASSERT_EQUAL(errno, ENODEV);
    n = capture_count("UCX_P2PMEM_DEVICES=0000:01:00.0,bogus: 'bogus' is not "
                      "valid");
    CU_ASSERT(n >= 1);
    CU_ASSERT(n <= 2); /* the selection error, and the failure naming it */
}

int main(int argc, char **argv)
{
    const char *mode = (argc > 1) ? argv[1] : "pool";
    CU_pSuite suite;
    unsigned failed;

    page = (size_t)sysconf(_SC_PAGESIZE);
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return CU_get_error();
    }
    suite = CU_add_suite(mode, NULL, NULL);
    if (!strcmp(mode, "pool")) {
        CU_add_test(suite, "alloc, write, size, is_p2p, free", test_alloc_basic);
        CU_add_test(suite, "foreign pointers are not p2p", test_not_p2p);
        CU_add_test(suite, "free of a bad pointer: EINVAL, no unmap",
                    test_free_invalid);
        CU_add_test(suite, "size 0 / absurd / bad alignment: EINVAL",
                    test_bad_size);
        CU_add_test(suite, "alignments larger than a page", test_alignment);
        CU_add_test(suite, "exhaustion: next provider, ENOMEM, accounting",
                    test_exhaustion);
        CU_add_test(suite, "1000 live allocations", test_many);
        CU_add_test(suite, "8 threads", test_threads);
        CU_add_test(suite, "fork while allocating", test_fork);
    } else if (!strcmp(mode, "nodev")) {
        CU_add_test(suite, "no provider: ENODEV, one message", test_nodev);
    } else if (!strcmp(mode, "badsel")) {
        CU_add_test(suite, "bad UCX_P2PMEM_DEVICES: ENODEV, named",
                    test_badsel);
    } else {
        fprintf(stderr, "usage: %s [pool|nodev|badsel]\n", argv[0]);
        return 2;
    }

    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
