/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucp_peer_test: UCP put, get and tagged messages between two processes
 * (two machines), each with its buffer from ucp_mem_map(ALLOCATE), i.e. in
 * its own node's p2pmem when UCX_ALLOC_PRIO puts md:p2pmem first. Every
 * byte is checked on the side that received it. Worker addresses, the
 * buffer address and the packed rkey are exchanged over TCP.
 *
 *   ucp_peer_test -p PORT [-c HOST] [-s SIZE] [-e p2pmem|host]
 *     without -c: wait for the peer on PORT; with -c: connect to HOST
 *     -e   what the buffer's mapping must be (/proc/self/maps): a p2pmem
 *          provider's allocate file (or the emulated provider's /dev/zero),
 *          or anything else
 * Prints "PASS: ..."/"FAIL: ..." per check and "N passed, N failed".
 */
#include <ucp/api/ucp.h>

#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../ucp_wait.h"

static ucs_status_t wait_req(ucp_worker_h worker, void *req)
{
    return wait_request(worker, NULL, req);
}

static int passed, failed;
static const char *side = "server";
/* once endpoints exist, a side waiting on the socket must keep progressing
 * UCP: the peer's operations (wire-up, rendezvous) need this side too */
static ucp_worker_h progress_worker;

#define CHECK(_cond, ...) \
    do { \
        if (_cond) { \
            ++passed; \
            printf("PASS: [%s] ", side); \
        } else { \
            ++failed; \
            printf("FAIL: [%s] ", side); \
        } \
        printf(__VA_ARGS__); \
        printf("\n"); \
        fflush(stdout); \
    } while (0)

static int sock_io(int fd, void *buf, size_t len, int out)
{
    char *p = buf;
    ssize_t n;

    while (len > 0) {
        if (!out && (progress_worker != NULL)) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};

            while (poll(&pfd, 1, 0) == 0) {
                ucp_worker_progress(progress_worker);
            }
        }
        n = out ? write(fd, p, len) : read(fd, p, len);
        if (n <= 0) {
            return -1;
        }
        p   += n;
        len -= (size_t)n;
    }
    return 0;
}

/* a length-prefixed blob each way */
static int exchange(int fd, const void *mine, uint64_t len, void **theirs)
{
    uint64_t tlen;

    if (sock_io(fd, &len, sizeof(len), 1) || sock_io(fd, (void*)mine, len, 1) ||
        sock_io(fd, &tlen, sizeof(tlen), 0) || (tlen > (1u << 20))) {
        return -1;
    }
    *theirs = malloc(tlen ? tlen : 1);
    return (*theirs == NULL) || sock_io(fd, *theirs, tlen, 0);
}

static int sync_byte(int fd, char *c)
{
    return sock_io(fd, c, 1, 1) || sock_io(fd, c, 1, 0);
}

static int tcp_connect(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM,
                             .ai_flags = host ? 0 : AI_PASSIVE};
    struct addrinfo *ai;
    int fd = -1, lfd, one = 1, i;

    if (getaddrinfo(host, port, &hints, &ai) != 0) {
        return -1;
    }
    if (host == NULL) {
        lfd = socket(ai->ai_family, ai->ai_socktype, 0);
        if ((lfd >= 0) &&
            !setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) &&
            !bind(lfd, ai->ai_addr, ai->ai_addrlen) && !listen(lfd, 1)) {
            printf("# waiting for the peer on port %s\n", port);
            fflush(stdout);
            fd = accept(lfd, NULL, NULL);
        }
        if (lfd >= 0) {
            close(lfd);
        }
    } else {
        for (i = 0; i < 120; ++i) { /* the server may still be starting */
            fd = socket(ai->ai_family, ai->ai_socktype, 0);
            if ((fd >= 0) && !connect(fd, ai->ai_addr, ai->ai_addrlen)) {
                break;
            }
            if (fd >= 0) {
                close(fd);
            }
            fd = -1;
            sleep(1);
        }
    }
    freeaddrinfo(ai);
    return fd;
}

static void pattern(unsigned char *buf, size_t size, unsigned seed)
{
    size_t i;

    for (i = 0; i < size; ++i) {
        buf[i] = (unsigned char)((i * 131 + (i >> 8) * 7 + seed * 29) ^ seed);
    }
}

/* first differing byte, or -1; the device buffer is copied out once */
static long compare(const void *dev, size_t size, unsigned seed)
{
    unsigned char *got = malloc(size), *want = malloc(size);
    long bad = -2;
    size_t i;

    if ((got != NULL) && (want != NULL)) {
        memcpy(got, dev, size);
        pattern(want, size, seed);
        for (i = 0, bad = -1; i < size; ++i) {
            if (got[i] != want[i]) {
                bad = (long)i;
                break;
            }
        }
    }
    free(got);
    free(want);
    return bad;
}

static void fill(void *dev, size_t size, unsigned seed)
{
    unsigned char *tmp = malloc(size);

    if (tmp != NULL) {
        pattern(tmp, size, seed);
        memcpy(dev, tmp, size);
        free(tmp);
    }
}

static int is_p2pmem(const void *address)
{
    uintptr_t addr = (uintptr_t)address, start, end;
    char line[1024], *path = NULL;
    FILE *maps = fopen("/proc/self/maps", "r");
    int pos, found = 0;

    while ((maps != NULL) && (fgets(line, sizeof(line), maps) != NULL)) {
        if ((sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %*s %*s %*s %n",
                    &start, &end, &pos) >= 2) && (addr >= start) &&
            (addr < end)) {
            path  = line + pos;
            found = (strstr(path, "/p2pmem/allocate") != NULL) ||
                    (strncmp(path, "/dev/zero", 9) == 0);
            break;
        }
    }
    if (maps != NULL) {
        fclose(maps);
    }
    return found;
}

int main(int argc, char **argv)
{
    const char *host = NULL, *port = NULL, *expect = "p2pmem";
    size_t size = 1 << 20;
    ucp_params_t params = {
        .field_mask = UCP_PARAM_FIELD_FEATURES,
        .features   = UCP_FEATURE_RMA | UCP_FEATURE_TAG,
    };
    ucp_worker_params_t wparams = {
        .field_mask  = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
        .thread_mode = UCS_THREAD_MODE_SINGLE,
    };
    ucp_mem_map_params_t mparams;
    ucp_request_param_t rp = {0};
    ucp_ep_params_t eparams;
    ucp_context_h context;
    ucp_worker_h worker;
    ucp_address_t *addr;
    size_t addr_len, rkey_len;
    ucp_mem_h memh;
    ucp_ep_h ep;
    ucp_rkey_h rkey;
    void *rkey_buf, *peer_addr, *peer_rkey, *buf;
    uint64_t mine, peer_buf;
    ucs_status_t st;
    int c, fd, want_p2p;
    char step = 0;
    long bad;

    while ((c = getopt(argc, argv, "p:c:s:e:")) != -1) {
        switch (c) {
        case 'p': port = optarg; break;
        case 'c': host = optarg; side = "client"; break;
        case 's': size = strtoul(optarg, NULL, 0); break;
        case 'e': expect = optarg; break;
        default: port = NULL; break;
        }
    }
    want_p2p = !strcmp(expect, "p2pmem");
    if ((port == NULL) || (size == 0) || (!want_p2p && strcmp(expect, "host"))) {
        fprintf(stderr, "usage: ucp_peer_test -p PORT [-c HOST] [-s SIZE] "
                "[-e p2pmem|host]\n");
        return 2;
    }

    if ((ucp_init(&params, NULL, &context) != UCS_OK) ||
        (ucp_worker_create(context, &wparams, &worker) != UCS_OK) ||
        (ucp_worker_get_address(worker, &addr, &addr_len) != UCS_OK)) {
        CHECK(0, "UCP context and worker");
        goto out;
    }
    memset(&mparams, 0, sizeof(mparams));
    mparams.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS |
                         UCP_MEM_MAP_PARAM_FIELD_LENGTH |
                         UCP_MEM_MAP_PARAM_FIELD_FLAGS;
    mparams.length     = size;
    mparams.flags      = UCP_MEM_MAP_ALLOCATE;
    st = ucp_mem_map(context, &mparams, &memh);
    CHECK(st == UCS_OK, "ucp_mem_map(ALLOCATE) of %zu bytes: %s", size,
          ucs_status_string(st));
    if (st != UCS_OK) {
        goto out;
    }
    {
        ucp_mem_attr_t attr = {.field_mask = UCP_MEM_ATTR_FIELD_ADDRESS};

        ucp_mem_query(memh, &attr);
        buf = attr.address;
    }
    CHECK(is_p2pmem(buf) == want_p2p, "buffer at %p is %s memory (expected %s)",
          buf, is_p2pmem(buf) ? "p2pmem" : "host", expect);
    if (ucp_rkey_pack(context, memh, &rkey_buf, &rkey_len) != UCS_OK) {
        CHECK(0, "ucp_rkey_pack");
        goto out;
    }

    fd = tcp_connect(host, port);
    mine = (uintptr_t)buf;
    if ((fd < 0) || exchange(fd, addr, addr_len, &peer_addr) ||
        exchange(fd, rkey_buf, rkey_len, &peer_rkey) ||
        sock_io(fd, &mine, sizeof(mine), 1) ||
        sock_io(fd, &peer_buf, sizeof(peer_buf), 0)) {
        CHECK(0, "exchange with the peer over TCP (%s:%s)",
              host ? host : "listening", port);
        goto out;
    }
    memset(&eparams, 0, sizeof(eparams));
    eparams.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS;
    eparams.address    = peer_addr;
    if ((ucp_ep_create(worker, &eparams, &ep) != UCS_OK) ||
        (ucp_ep_rkey_unpack(ep, peer_rkey, &rkey) != UCS_OK)) {
        CHECK(0, "endpoint to the peer and its rkey");
        goto out;
    }
    progress_worker = worker;
    if (sync_byte(fd, &step)) {
        CHECK(0, "the peer is ready");
        goto out;
    }

    if (host != NULL) {
        /* put into the peer's buffer; the peer checks it */
        fill(buf, size, 1);
        st = wait_req(worker, ucp_put_nbx(ep, buf, size, peer_buf, rkey, &rp));
        if (st == UCS_OK) {
            st = wait_req(worker, ucp_ep_flush_nbx(ep, &rp));
        }
        CHECK(st == UCS_OK, "ucp_put_nbx of %zu bytes into the peer's buffer "
              "completed: %s", size, ucs_status_string(st));
        step = (st == UCS_OK);
        sync_byte(fd, &step); /* the peer has checked and refilled */
        memset(buf, 0, size);
        st = wait_req(worker, ucp_get_nbx(ep, buf, size, peer_buf, rkey, &rp));
        if (st == UCS_OK) {
            st = wait_req(worker, ucp_ep_flush_nbx(ep, &rp));
        }
        bad = (st == UCS_OK) ? compare(buf, size, 2) : -3;
        CHECK(bad == -1, "ucp_get_nbx of %zu bytes from the peer's buffer, "
              "bytes verified here (%s, first bad byte %ld)", size,
              ucs_status_string(st), bad);
        fill(buf, size, 3);
        st = wait_req(worker, ucp_tag_send_nbx(ep, buf, size, 0x1234, &rp));
        CHECK(st == UCS_OK, "ucp_tag_send_nbx of %zu bytes to the peer: %s",
              size, ucs_status_string(st));
        memset(buf, 0, size);
        st = wait_req(worker, ucp_tag_recv_nbx(worker, buf, size, 0x4321,
                                               (ucp_tag_t)-1, &rp));
        bad = (st == UCS_OK) ? compare(buf, size, 4) : -3;
        CHECK(bad == -1, "tagged message of %zu bytes from the peer received "
              "into this node's buffer, bytes verified (%s, first bad byte %ld)",
              size, ucs_status_string(st), bad);
    } else {
        sock_io(fd, &step, 1, 0); /* the peer's put is done */
        bad = step ? compare(buf, size, 1) : -3;
        CHECK(bad == -1, "the peer's ucp_put_nbx of %zu bytes landed in this "
              "node's buffer, bytes verified here (first bad byte %ld)", size,
              bad);
        fill(buf, size, 2);
        sock_io(fd, &step, 1, 1);
        st = wait_req(worker, ucp_tag_recv_nbx(worker, buf, size, 0x1234,
                                               (ucp_tag_t)-1, &rp));
        bad = (st == UCS_OK) ? compare(buf, size, 3) : -3;
        CHECK(bad == -1, "tagged message of %zu bytes from the peer received "
              "into this node's buffer, bytes verified (%s, first bad byte %ld)",
              size, ucs_status_string(st), bad);
        fill(buf, size, 4);
        st = wait_req(worker, ucp_tag_send_nbx(ep, buf, size, 0x4321, &rp));
        CHECK(st == UCS_OK, "ucp_tag_send_nbx of %zu bytes to the peer: %s",
              size, ucs_status_string(st));
    }
    /* both done before either endpoint goes away */
    step = 'D';
    sync_byte(fd, &step);
    {
        /* the peer closes at the same time: do not wait for it */
        ucp_request_param_t cp = {.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS,
                                  .flags        = UCP_EP_CLOSE_FLAG_FORCE};

        wait_req(worker, ucp_ep_close_nbx(ep, &cp));
    }
    ucp_rkey_destroy(rkey);
    ucp_rkey_buffer_release(rkey_buf);
    ucp_mem_unmap(context, memh);
    close(fd);
out:
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
