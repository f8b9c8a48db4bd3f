/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem integration test: UCP memory allocated with ucp_mem_map
 * (ALLOCATE) and moved with put/get and tagged messages between two workers
 * of one process, over whatever UCX_TLS selects. Checks where the memory came
 * from (/proc/self/maps) and every byte moved.
 *
 * Usage: ucp_p2pmem_test [-e p2pmem|host] [-s size[,size...]] [-n count] [-z]
 *                        [-L length] [-b]
 *   -e  what the allocations must be: p2pmem (a mapping of a p2pmem provider)
 *       or host (anything else)
 *   -n  number of extra allocations to make and free (exhaustion tests)
 *   -z  lengths nothing can allocate (64 TiB, SIZE_MAX): must be refused,
 *       and a normal allocation must still work after them; and 0 bytes
 *   -L  only this one length nothing can allocate (e.g. SIZE_MAX - 4095):
 *       it must be refused
 *   -b  map with UCP_MEM_MAP_NONBLOCK too (registration with On-Demand
 *       Paging, where the RDMA domain offers it)
 * Prints "PASS: ..."/"FAIL: ..." per check and "N passed, N failed".
 */

#include <ucp/api/ucp.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"
#include "../maps.h"
#include "../ucp_wait.h"

typedef struct {
    ucp_worker_h worker;
    ucp_ep_h     ep;       /* to the other worker */
} peer_t;

/* A p2pmem allocation maps the provider's allocate file; the emulated
 * provider links it to /dev/zero, which the kernel shows as such. */
static int is_p2pmem_mapping(const char *path)
{
    return (strstr(path, "/p2pmem/allocate") != NULL) ||
           (strncmp(path, "/dev/zero", 9) == 0);
}

static ucs_status_t connect_peers(peer_t *a, peer_t *b)
{
    ucp_ep_params_t params;
    ucp_address_t *addr;
    size_t addr_len;
    ucs_status_t status;
    peer_t *from[2] = {a, b}, *to[2] = {b, a};
    int i;

    for (i = 0; i < 2; ++i) {
        status = ucp_worker_get_address(to[i]->worker, &addr, &addr_len);
        if (status != UCS_OK) {
            return status;
        }
        params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS;
        params.address    = addr;
        status = ucp_ep_create(from[i]->worker, &params, &from[i]->ep);
        ucp_worker_release_address(to[i]->worker, addr);
        if (status != UCS_OK) {
            return status;
        }
    }
    return UCS_OK;
}

/* -b: UCP_MEM_MAP_NONBLOCK on every allocation */
static unsigned map_extra_flags;

static ucs_status_t map_alloc(ucp_context_h ctx, size_t size, ucp_mem_h *memh,
                              void **address)
{
    ucp_mem_map_params_t params = {0};
    ucp_mem_attr_t attr;
    ucs_status_t status;

    params.field_mask = UCP_MEM_MAP_PARAM_FIELD_LENGTH |
                        UCP_MEM_MAP_PARAM_FIELD_FLAGS;
    params.length     = size;
    params.flags      = UCP_MEM_MAP_ALLOCATE | map_extra_flags;
    status = ucp_mem_map(ctx, &params, memh);
    if (status != UCS_OK) {
        return status;
    }
    attr.field_mask = UCP_MEM_ATTR_FIELD_ADDRESS;
    status = ucp_mem_query(*memh, &attr);
    *address = attr.address;
    return status;
}

static void fill(void *buf, size_t size, unsigned seed)
{
    unsigned char *p = buf;
    size_t i;

    for (i = 0; i < size; ++i) {
        p[i] = (unsigned char)((i * 131u) + seed + (i >> 12));
    }
}

static size_t first_mismatch(const void *a, const void *b, size_t size)
{
    const unsigned char *x = a, *y = b;
    size_t i;

    for (i = 0; i < size; ++i) {
        if (x[i] != y[i]) {
            return i;
        }
    }
    return SIZE_MAX;
}

static void test_size(ucp_context_h ctx, peer_t *a, peer_t *b, size_t size,
                      const char *expect)
{
    void *buf_a, *buf_b, *rkey_buf, *ref, *req;
    ucp_mem_h memh_a, memh_b;
    ucp_request_param_t rparam = {0};
    ucp_rkey_h rkey;
    size_t rkey_size, bad;
    ucs_status_t status;
    char path_a[512], path_b[512];
    int p2p_a, p2p_b;

    status = map_alloc(ctx, size, &memh_a, &buf_a);
    CHECK(status == UCS_OK, "ucp_mem_map(ALLOCATE, %zu) for the initiator: %s",
          size, ucs_status_string(status));
    if (status != UCS_OK) {
        return;
    }
    status = map_alloc(ctx, size, &memh_b, &buf_b);
    CHECK(status == UCS_OK, "ucp_mem_map(ALLOCATE, %zu) for the target: %s",
          size, ucs_status_string(status));
    if (status != UCS_OK) {
        ucp_mem_unmap(ctx, memh_a);
        return;
    }

    mapping_of(buf_a, path_a, sizeof(path_a));
    mapping_of(buf_b, path_b, sizeof(path_b));
    p2p_a = is_p2pmem_mapping(path_a);
    p2p_b = is_p2pmem_mapping(path_b);
    if (!strcmp(expect, "p2pmem")) {
        CHECK(p2p_a && p2p_b, "%zu-byte buffers are in p2pmem (%s)", size,
              path_a[0] ? path_a : "anonymous");
    } else if (!strcmp(expect, "host")) {
        CHECK(!p2p_a && !p2p_b, "%zu-byte buffers are in host memory (%s)",
              size, path_a[0] ? path_a : "anonymous");
    }

    ref = malloc(size);
    status = ucp_rkey_pack(ctx, memh_b, &rkey_buf, &rkey_size);
    if ((ref == NULL) || (status != UCS_OK)) {
        CHECK(0, "rkey pack: %s", ucs_status_string(status));
        goto out;
    }
    status = ucp_ep_rkey_unpack(a->ep, rkey_buf, &rkey);
    ucp_rkey_buffer_release(rkey_buf);
    if (status != UCS_OK) {
        CHECK(0, "rkey unpack: %s", ucs_status_string(status));
        goto out;
    }

    /* put: initiator pattern -> target */
    fill(buf_a, size, 7);
    memset(buf_b, 0, size);
    req    = ucp_put_nbx(a->ep, buf_a, size, (uintptr_t)buf_b, rkey, &rparam);
    status = wait_request(a->worker, b->worker, req);
    if (status == UCS_OK) {
        req    = ucp_ep_flush_nbx(a->ep, &rparam);
        status = wait_request(a->worker, b->worker, req);
    }
    bad = first_mismatch(buf_a, buf_b, size);
    CHECK((status == UCS_OK) && (bad == SIZE_MAX),
          "put %zu bytes verified (%s%s)", size, ucs_status_string(status),
          (bad == SIZE_MAX) ? "" : ", data mismatch");

    /* get: target pattern -> initiator */
    fill(buf_b, size, 99);
    memcpy(ref, buf_b, size);
    memset(buf_a, 0, size);
    req    = ucp_get_nbx(a->ep, buf_a, size, (uintptr_t)buf_b, rkey, &rparam);
    status = wait_request(a->worker, b->worker, req);
    bad    = first_mismatch(buf_a, ref, size);
    CHECK((status == UCS_OK) && (bad == SIZE_MAX),
          "get %zu bytes verified (%s%s)", size, ucs_status_string(status),
          (bad == SIZE_MAX) ? "" : ", data mismatch");

    /* tagged send from one p2pmem buffer into another */
    fill(buf_a, size, 23);
    memset(buf_b, 0, size);
    {
        void *rreq, *sreq;
        ucs_status_t s1, s2;

        rreq = ucp_tag_recv_nbx(b->worker, buf_b, size, 0x1234, (uint64_t)-1,
                                &rparam);
        sreq = ucp_tag_send_nbx(a->ep, buf_a, size, 0x1234, &rparam);
        s1   = wait_request(a->worker, b->worker, sreq);
        s2   = wait_request(a->worker, b->worker, rreq);
        bad  = first_mismatch(buf_a, buf_b, size);
        CHECK((s1 == UCS_OK) && (s2 == UCS_OK) && (bad == SIZE_MAX),
              "tag send/recv %zu bytes verified (%s/%s)", size,
              ucs_status_string(s1), ucs_status_string(s2));
    }

    ucp_rkey_destroy(rkey);
out:
    free(ref);
    ucp_mem_unmap(ctx, memh_a);
    ucp_mem_unmap(ctx, memh_b);
}

/* Allocate count buffers of size at once, report where they landed, free. */
static void test_many(ucp_context_h ctx, unsigned count, size_t size)
{
    ucp_mem_h *memh = calloc(count, sizeof(*memh));
    unsigned i, in_p2p = 0, in_host = 0, errors = 0;
    char path[512];
    void *address;

    for (i = 0; (memh != NULL) && (i < count); ++i) {
        if (map_alloc(ctx, size, &memh[i], &address) != UCS_OK) {
            memh[i] = NULL;
            ++errors;
            continue;
        }
        memset(address, (int)i, size); /* touch: must be usable memory */
        mapping_of(address, path, sizeof(path));
        if (is_p2pmem_mapping(path)) {
            ++in_p2p;
        } else {
            ++in_host;
        }
    }
    printf("allocations: %u in p2pmem, %u in host memory, %u failed\n",
           in_p2p, in_host, errors);
    CHECK(errors == 0, "%u allocations of %zu bytes all succeeded", count,
          size);
    for (i = 0; (memh != NULL) && (i < count); ++i) {
        if (memh[i] != NULL) {
            ucp_mem_unmap(ctx, memh[i]);
        }
    }
    free(memh);
}

/* Lengths no allocator can serve: each must be refused with an error
 * status (and whatever message UCX and the module print), never crash. */
static void test_edge(ucp_context_h ctx)
{
    static const size_t lengths[] = {(size_t)1 << 46, SIZE_MAX - 4095,
                                     SIZE_MAX, (size_t)1 << 46};
    ucs_status_t status;
    ucp_mem_h memh;
    void *address;
    unsigned i;

    /* UCP answers a 0-byte ALLOCATE itself, with an empty handle */
    status = map_alloc(ctx, 0, &memh, &address);
    printf("edge: ucp_mem_map(ALLOCATE, 0): %s\n", ucs_status_string(status));
    CHECK((status == UCS_OK) && (ucp_mem_unmap(ctx, memh) == UCS_OK),
          "ucp_mem_map(ALLOCATE) of 0 bytes: an empty handle that unmaps "
          "(%s)", ucs_status_string(status));

    for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); ++i) {
        status = map_alloc(ctx, lengths[i], &memh, &address);
        printf("edge: ucp_mem_map(ALLOCATE, %zu): %s\n", lengths[i],
               ucs_status_string(status));
        CHECK(status != UCS_OK, "ucp_mem_map(ALLOCATE) of %zu bytes refused "
              "(%s)", lengths[i], ucs_status_string(status));
        if (status == UCS_OK) {
            ucp_mem_unmap(ctx, memh);
        }
    }
}

int main(int argc, char **argv)
{
    const char *expect = "p2pmem", *sizes = "8,4096,65536,1048576,4194304";
    ucp_params_t params = {0};
    ucp_worker_params_t wparams = {0};
    peer_t a = {0}, b = {0};
    ucp_context_h ctx;
    ucs_status_t status;
    unsigned many = 0;
    int edge = 0, one = 0;
    size_t one_length = 0;
    ucp_mem_h memh;
    void *address;
    char *list, *tok, *save;
    void *req;
    int c;

    while ((c = getopt(argc, argv, "e:s:n:zL:b")) != -1) {
        switch (c) {
        case 'e':
            expect = optarg;
            break;
        case 's':
            sizes = optarg;
            break;
        case 'n':
            many = (unsigned)strtoul(optarg, NULL, 0);
            break;
        case 'z':
            edge = 1;
            break;
        case 'L':
            one        = 1;
            one_length = strtoull(optarg, NULL, 0);
            break;
        case 'b':
            map_extra_flags = UCP_MEM_MAP_NONBLOCK;
            break;
        default:
            fprintf(stderr, "usage: %s [-e p2pmem|host|any] [-s sizes] "
                    "[-n count] [-z] [-L length] [-b]\n", argv[0]);
            return 2;
        }
    }

    params.field_mask = UCP_PARAM_FIELD_FEATURES;
    params.features   = UCP_FEATURE_RMA | UCP_FEATURE_TAG;
    status = ucp_init(&params, NULL, &ctx);
    if (status != UCS_OK) {
        printf("FAIL: ucp_init: %s\n0 passed, 1 failed\n",
               ucs_status_string(status));
        return 1;
    }

    if (one) {
        status = map_alloc(ctx, one_length, &memh, &address);
        printf("edge: ucp_mem_map(ALLOCATE, %zu): %s\n", one_length,
               ucs_status_string(status));
        CHECK(status != UCS_OK, "ucp_mem_map(ALLOCATE) of %zu bytes refused "
              "(%s)", one_length, ucs_status_string(status));
        if (status == UCS_OK) {
            ucp_mem_unmap(ctx, memh);
        }
        ucp_cleanup(ctx);
        printf("%d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
    }

    wparams.field_mask  = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
    wparams.thread_mode = UCS_THREAD_MODE_SINGLE;
    if ((ucp_worker_create(ctx, &wparams, &a.worker) != UCS_OK) ||
        (ucp_worker_create(ctx, &wparams, &b.worker) != UCS_OK) ||
        (connect_peers(&a, &b) != UCS_OK)) {
        printf("FAIL: worker or endpoint setup\n0 passed, 1 failed\n");
        return 1;
    }

    if (edge) {
        test_edge(ctx); /* then the sizes: the provider must still serve */
    }
    if (many > 0) {
        test_many(ctx, many, strtoul(sizes, NULL, 0));
    } else {
        list = strdup(sizes);
        for (tok = strtok_r(list, ",", &save); tok != NULL;
             tok = strtok_r(NULL, ",", &save)) {
            test_size(ctx, &a, &b, strtoul(tok, NULL, 0), expect);
        }
        free(list);
    }

    req = ucp_ep_close_nb(a.ep, UCP_EP_CLOSE_MODE_FORCE);
    wait_request(a.worker, b.worker, req);
    req = ucp_ep_close_nb(b.ep, UCP_EP_CLOSE_MODE_FORCE);
    wait_request(a.worker, b.worker, req);
    ucp_worker_destroy(a.worker);
    ucp_worker_destroy(b.worker);
    ucp_cleanup(ctx);

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
