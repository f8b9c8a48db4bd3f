/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * p2pmem-info --check: what RDMA does with each selected P2PDMA provider,
 * tried the way the libraries would. Map from allocate; register pinned and
 * with On-Demand Paging; then move data over an RC queue-pair loopback on
 * every RDMA device, between p2pmem and host memory in both directions,
 * and compare every byte: the rxe ODP defect completes successfully with
 * wrong data, so only the bytes tell. One verdict per provider and device,
 * with the settings that follow. libibverbs only, no UCX.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem_check.h"

#include <infiniband/verbs.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* The transfers start mid-page and span pages: rxe's ODP copy bug shows
 * there even at path MTU 4096. */
#define XFER_OFFSET   3000
#define XFER_PAGES    3        /* plus XFER_TAIL bytes */
#define XFER_TAIL     1000
#define POISON        0x5a     /* destination bytes before a transfer */
#define MAX_STEPS     40
#define MAX_MTUS      2
#define ATOMIC_START  0x1000ull
#define ATOMIC_ADD    5ull

typedef enum {
    STEP_PASS,
    STEP_FAIL,
    STEP_SKIP
} step_result_t;

typedef struct {
    char          what[128];
    step_result_t result;
    int           err;        /* errno, or 0 */
    long          offset;     /* first wrong byte of the transfer, or -1 */
    char          why[192];
} step_t;

typedef enum {
    V_WORKS_PINNED,
    V_WORKS_ODP,
    V_WRONG_DATA_ODP,
    V_WRONG_DATA_PINNED,
    V_REFUSED,
    V_NO_ACCESS,
    V_P2PDMA_OFF,
    V_NO_PROVIDER,
    V_NOT_SELECTED,
    V_MAP_FAILED,
    V_NO_RDMA,
    V_NOT_CHECKED,
    V_RDMA_ERROR,
    V_INTERRUPTED
} verdict_t;

static const struct {
    const char *key;
    const char *text;
} verdict_names[] = {
    [V_WORKS_PINNED]      = {"works-pinned", "works pinned"},
    [V_WORKS_ODP]         = {"works-odp", "works through ODP \u2014 set "
                             "UCX_REG_NONBLOCK_MEM_TYPES=host (UCX >= 1.16)"},
    [V_WRONG_DATA_ODP]    = {"wrong-data", "registers but delivers wrong data "
                             "(known rxe ODP defect on kernels without the "
                             "v7.3 fix)"},
    [V_WRONG_DATA_PINNED] = {"wrong-data", "registers pinned but delivers "
                             "wrong data"},
    [V_REFUSED]           = {"refused", "refused \u2014 needs "
                             "kernel-patches/v6.12 (soft-RoCE only) or a 7.x "
                             "kernel with ODP"},
    [V_NO_ACCESS]         = {"no-access", "no access \u2014 udev rule"},
    [V_P2PDMA_OFF]        = {"p2pdma-off", "P2PDMA off in this kernel"},
    [V_NO_PROVIDER]       = {"no-provider", "no P2PDMA provider (the kernel "
                             "has P2PDMA; no device publishes memory)"},
    [V_NOT_SELECTED]      = {"not-selected", "no provider selected"},
    [V_MAP_FAILED]        = {"map-failed", "cannot map from allocate"},
    [V_NO_RDMA]           = {"no-rdma-device", "maps; no RDMA device to "
                             "check"},
    [V_NOT_CHECKED]       = {"not-checked", "registers; data not checked"},
    [V_RDMA_ERROR]        = {"rdma-error", "registers, but transfers fail"},
    [V_INTERRUPTED]       = {"interrupted", "interrupted"}
};

/* One provider x RDMA device (device "" for a verdict on the provider). */
typedef struct {
    const ucs_p2pmem_provider_t *p;          /* NULL: no provider */
    char                         device[64];
    int                          port;
    int                          distance;
    int                          gid_index;  /* -1: IB (LID) or none */
    int                          active_mtu; /* bytes; 0 unknown */
    int                          roce;
    int                          rxe;
    int                          odp;        /* device reports RC ODP */
    uint32_t                     odp_caps;   /* rc_odp_caps */
    int                          odp_mode;   /* the data moved through ODP */
    const char                  *reg;        /* pinned, odp or none */
    step_t                       steps[MAX_STEPS];
    unsigned                     nsteps;
    unsigned                     wrong;      /* transfers with wrong data */
    unsigned                     errors;     /* other failed transfers */
    verdict_t                    verdict;
    char                         detail[512];
} pair_t;

typedef struct {
    const p2pmem_check_opts_t *o;
    volatile sig_atomic_t     *stop;
    size_t                     page;
    size_t                     maplen;     /* per buffer */
    size_t                     xfer_len;
    unsigned char             *want;       /* the pattern of a transfer */
    unsigned char             *scratch;    /* device memory copied out */
    pair_t                    *pairs;
    unsigned                   npairs, cap;
} check_t;

/* An RC loopback: QP 0 and QP 1 on one port, connected to each other. */
typedef struct {
    struct ibv_cq *cq[2];
    struct ibv_qp *qp[2];
} rc_t;

typedef struct {
    struct ibv_context *ctx;
    struct ibv_pd      *pd;
    uint8_t             port;
    uint16_t            lid;
    union ibv_gid       gid;
    int                 gid_index;
} rdma_dev_t;

/* ---- results ---- */

static pair_t *pair_new(check_t *c, const ucs_p2pmem_provider_t *p,
                        const char *device)
{
    pair_t *grown, *pr;

    if (c->npairs == c->cap) {
        c->cap = c->cap ? (2 * c->cap) : 8;
        grown  = realloc(c->pairs, c->cap * sizeof(*grown));
        if (grown == NULL) {
            fprintf(stderr, PROG ": error: out of memory\n");
            exit(1);
        }
        c->pairs = grown;
    }
    pr = &c->pairs[c->npairs++];
    memset(pr, 0, sizeof(*pr));
    pr->p         = p;
    pr->distance  = UCS_P2PMEM_DIST_UNREACHABLE;
    pr->gid_index = -1;
    pr->reg       = "none";
    pr->verdict   = V_INTERRUPTED; /* until a step decides */
    snprintf(pr->device, sizeof(pr->device), "%s", device ? device : "");
    return pr;
}

static step_t *step(check_t *c, pair_t *pr, step_result_t result, int err,
                    const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Record a step; done() adds why and, in text mode, prints it at once (a
 * slow device shows its progress). */
static step_t *step(check_t *c, pair_t *pr, step_result_t result, int err,
                    const char *fmt, ...)
{
    static step_t spare;
    step_t *s = (pr->nsteps < MAX_STEPS) ? &pr->steps[pr->nsteps++] : &spare;
    va_list ap;

    memset(s, 0, sizeof(*s));
    s->result = result;
    s->err    = err;
    s->offset = -1;
    va_start(ap, fmt);
    vsnprintf(s->what, sizeof(s->what), fmt, ap);
    va_end(ap);
    return s;
}

static void step_print(check_t *c, const pair_t *pr, const step_t *s)
{
    static const char *word[] = {"PASS", "FAIL", "SKIP"};

    if (c->o->json) {
        return;
    }
    printf("%s%s  %s", pr->device[0] ? "    " : "  ", word[s->result],
           s->what);
    if (s->why[0] != '\0') {
        printf(": %s", s->why);
    }
    putchar('\n');
    fflush(stdout);
}

static void done(check_t *c, const pair_t *pr, step_t *s, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

static void done(check_t *c, const pair_t *pr, step_t *s, const char *fmt,
                 ...)
{
    va_list ap;

    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(s->why, sizeof(s->why), fmt, ap);
        va_end(ap);
    }
    step_print(c, pr, s);
}

static const char *errno_name(int err)
{
    switch (err) {
    case EACCES:    return "EACCES";
    case EPERM:     return "EPERM";
    case EFAULT:    return "EFAULT";
    case EREMOTEIO: return "EREMOTEIO";
    case EINVAL:    return "EINVAL";
    case ENOMEM:    return "ENOMEM";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENODEV:    return "ENODEV";
    case ENOENT:    return "ENOENT";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EINTR:     return "EINTR";
    case EIO:       return "EIO";
    default:        return "";
    }
}

/* "Bad address (EFAULT)" */
static const char *errstr(int err, char *buf, size_t len)
{
    const char *name = errno_name(err);

    if (name[0] != '\0') {
        snprintf(buf, len, "%s (%s)", strerror(err), name);
    } else {
        snprintf(buf, len, "%s (errno %d)", strerror(err), err);
    }
    return buf;
}

/* ---- the machine ---- */

/* 1: CONFIG_PCI_P2PDMA=y, 0: off, -1: cannot tell (no config file) */
static int kernel_has_p2pdma(void)
{
    struct utsname u;
    char path[400], line[256];
    int ret = -1;
    FILE *f;

    if (uname(&u) != 0) {
        return -1;
    }
    snprintf(path, sizeof(path), "/boot/config-%s", u.release);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    ret = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (!strcmp(line, "CONFIG_PCI_P2PDMA=y\n")) {
            ret = 1;
            break;
        }
    }
    fclose(f);
    return ret;
}

/* The first active port (or the one UCX_NET_DEVICES names) and the address
 * to loop back to: the LID on InfiniBand; on RoCE a GID, RoCE v2 with an
 * IPv4 address first, as UCX prefers. */
static int pick_port(rdma_dev_t *d, int want_port, int *roce, int *mtu,
                     char *why, size_t why_len)
{
    struct ibv_device_attr attr;
    struct ibv_port_attr pa;
    struct ibv_gid_entry *gids;
    int best_rank = 0, rank, n, i;
    unsigned port;

    if (ibv_query_device(d->ctx, &attr) != 0) {
        snprintf(why, why_len, "ibv_query_device failed");
        return -1;
    }
    for (port = 1; port <= attr.phys_port_cnt; ++port) {
        if ((want_port != 0) && (port != (unsigned)want_port)) {
            continue;
        }
        if ((ibv_query_port(d->ctx, (uint8_t)port, &pa) == 0) &&
            (pa.state == IBV_PORT_ACTIVE)) {
            break;
        }
    }
    if (port > attr.phys_port_cnt) {
        snprintf(why, why_len, "no active port%s", want_port ?
                 " (the one UCX_NET_DEVICES names)" : "");
        return -1;
    }
    d->port      = (uint8_t)port;
    d->lid       = pa.lid;
    d->gid_index = -1;
    *mtu         = 128 << pa.active_mtu;
    *roce        = (pa.link_layer == IBV_LINK_LAYER_ETHERNET);
    if (!*roce) {
        return 0;
    }

    gids = calloc(attr.phys_port_cnt * (size_t)pa.gid_tbl_len + 1,
                  sizeof(*gids));
    n    = (gids == NULL) ? -1 :
           (int)ibv_query_gid_table(d->ctx, gids,
                                    attr.phys_port_cnt *
                                    (size_t)pa.gid_tbl_len, 0);
    for (i = 0; i < n; ++i) {
        if (gids[i].port_num != port) {
            continue;
        }
        rank = (gids[i].gid_type == IBV_GID_TYPE_ROCE_V2) ? 2 : 1;
        /* ::ffff:a.b.c.d */
        if ((rank == 2) && !memcmp(gids[i].gid.raw,
                                   "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
            rank = 3;
        }
        if (rank > best_rank) {
            best_rank    = rank;
            d->gid_index = (int)gids[i].gid_index;
            d->gid       = gids[i].gid;
        }
    }
    free(gids);
    /* no GID table query (older kernel): the types are unknown, take the
     * first address, an IPv4 one first */
    for (i = 0; (n < 0) && (i < pa.gid_tbl_len) && (best_rank < 2); ++i) {
        union ibv_gid gid;

        if ((ibv_query_gid(d->ctx, (uint8_t)port, i, &gid) != 0) ||
            !memcmp(gid.raw, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16)) {
            continue;
        }
        rank = memcmp(gid.raw, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) ? 1 : 2;
        if (rank > best_rank) {
            best_rank    = rank;
            d->gid_index = i;
            d->gid       = gid;
        }
    }
    if (d->gid_index < 0) {
        snprintf(why, why_len, "port %u: no GID (no IP address on its "
                 "netdev?)", port);
        return -1;
    }
    return 0;
}

static void rc_close(rc_t *rc)
{
    int i;

    for (i = 0; i < 2; ++i) {
        if (rc->qp[i] != NULL) {
            ibv_destroy_qp(rc->qp[i]);
        }
        if (rc->cq[i] != NULL) {
            ibv_destroy_cq(rc->cq[i]);
        }
    }
    memset(rc, 0, sizeof(*rc));
}

static int mtu_enum(int mtu)
{
    switch (mtu) {
    case 256:  return IBV_MTU_256;
    case 512:  return IBV_MTU_512;
    case 1024: return IBV_MTU_1024;
    case 2048: return IBV_MTU_2048;
    default:   return IBV_MTU_4096;
    }
}

static int rc_connect(const rdma_dev_t *d, struct ibv_qp *qp, uint32_t remote,
                      int mtu)
{
    struct ibv_qp_attr a;

    memset(&a, 0, sizeof(a));
    a.qp_state        = IBV_QPS_INIT;
    a.port_num        = d->port;
    a.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
                        IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
    if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
                      IBV_QP_PORT | IBV_QP_ACCESS_FLAGS)) {
        return -1;
    }

    memset(&a, 0, sizeof(a));
    a.qp_state           = IBV_QPS_RTR;
    a.path_mtu           = mtu_enum(mtu);
    a.dest_qp_num        = remote;
    a.max_dest_rd_atomic = 1;
    a.min_rnr_timer      = 12;
    a.ah_attr.port_num   = d->port;
    if (d->gid_index >= 0) {
        a.ah_attr.is_global      = 1;
        a.ah_attr.grh.dgid       = d->gid;
        a.ah_attr.grh.sgid_index = (uint8_t)d->gid_index;
        a.ah_attr.grh.hop_limit  = 64;
    } else {
        a.ah_attr.dlid = d->lid;
    }
    if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
                      IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                      IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER)) {
        return -1;
    }

    memset(&a, 0, sizeof(a));
    a.qp_state      = IBV_QPS_RTS;
    a.timeout       = 14;
    a.retry_cnt     = 7;
    a.rnr_retry     = 7;
    a.max_rd_atomic = 1;
    return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
                         IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
                         IBV_QP_MAX_QP_RD_ATOMIC);
}

static int rc_open(const rdma_dev_t *d, int mtu, rc_t *rc)
{
    struct ibv_qp_init_attr init;
    int i, err;

    memset(rc, 0, sizeof(*rc));
    for (i = 0; i < 2; ++i) {
        rc->cq[i] = ibv_create_cq(d->ctx, 8, NULL, NULL, 0);
        if (rc->cq[i] == NULL) {
            goto err;
        }
        memset(&init, 0, sizeof(init));
        init.qp_type          = IBV_QPT_RC;
        init.send_cq          = rc->cq[i];
        init.recv_cq          = rc->cq[i];
        init.sq_sig_all       = 1;
        init.cap.max_send_wr  = 2;
        init.cap.max_recv_wr  = 2;
        init.cap.max_send_sge = 1;
        init.cap.max_recv_sge = 1;
        rc->qp[i] = ibv_create_qp(d->pd, &init);
        if (rc->qp[i] == NULL) {
            goto err;
        }
    }
    if (rc_connect(d, rc->qp[0], rc->qp[1]->qp_num, mtu) ||
        rc_connect(d, rc->qp[1], rc->qp[0]->qp_num, mtu)) {
        goto err;
    }
    return 0;

err:
    err = errno ? errno : EINVAL;
    rc_close(rc);
    return err;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One completion within the step's time, polling (no event channel to
 * clean up); 0, or an errno with why set. */
static int wait_wc(check_t *c, struct ibv_cq *cq, char *why, size_t len)
{
    static const struct timespec nap = {0, 100000};
    double deadline = now_s() + c->o->timeout;
    struct ibv_wc wc;
    int n;

    for (;;) {
        n = ibv_poll_cq(cq, 1, &wc);
        if (n < 0) {
            snprintf(why, len, "ibv_poll_cq failed");
            return EIO;
        }
        if (n == 1) {
            if (wc.status == IBV_WC_SUCCESS) {
                return 0;
            }
            snprintf(why, len, "completion status: %s",
                     ibv_wc_status_str(wc.status));
            return EIO;
        }
        if (*c->stop) {
            snprintf(why, len, "interrupted");
            return EINTR;
        }
        if (now_s() > deadline) {
            snprintf(why, len, "no completion within %g s", c->o->timeout);
            return ETIMEDOUT;
        }
        nanosleep(&nap, NULL);
    }
}

static int post_send(struct ibv_qp *qp, enum ibv_wr_opcode op,
                     struct ibv_mr *lmr, void *laddr, uint32_t len,
                     struct ibv_mr *rmr, void *raddr)
{
    struct ibv_sge sge;
    struct ibv_send_wr wr, *bad;

    memset(&wr, 0, sizeof(wr));
    sge.addr       = (uintptr_t)laddr;
    sge.length     = len;
    sge.lkey       = lmr->lkey;
    wr.sg_list     = &sge;
    wr.num_sge     = 1;
    wr.opcode      = op;
    wr.send_flags  = IBV_SEND_SIGNALED;
    if ((op == IBV_WR_ATOMIC_FETCH_AND_ADD) && (rmr != NULL)) {
        wr.wr.atomic.remote_addr = (uintptr_t)raddr;
        wr.wr.atomic.rkey        = rmr->rkey;
        wr.wr.atomic.compare_add = ATOMIC_ADD;
    } else if (rmr != NULL) {
        wr.wr.rdma.remote_addr = (uintptr_t)raddr;
        wr.wr.rdma.rkey        = rmr->rkey;
    }
    return ibv_post_send(qp, &wr, &bad) ? (errno ? errno : EIO) : 0;
}

/* A pattern that differs per seed and offset. */
static void pattern(unsigned char *buf, size_t len, unsigned seed)
{
    size_t i;

    for (i = 0; i < len; ++i) {
        buf[i] = (unsigned char)((i * 131 + (i >> 8) * 7 + seed * 29) ^ seed);
    }
}

/* Compare the destination with the pattern, and the bytes just outside the
 * transfer with the poison. p2pmem is copied out first: every access to
 * device memory may be slow (QEMU traps each one). */
static int verify(check_t *c, step_t *s, const unsigned char *dst,
                  int is_p2p)
{
    const unsigned char *got = dst;
    size_t i, end = XFER_OFFSET + c->xfer_len;

    if (is_p2p) {
        memcpy(c->scratch, dst, end + 1);
        got = c->scratch;
    }
    if (got[XFER_OFFSET - 1] != POISON) {
        snprintf(s->why, sizeof(s->why), "the byte before the transfer was "
                 "overwritten");
        return -1;
    }
    for (i = 0; i < c->xfer_len; ++i) {
        if (got[XFER_OFFSET + i] != c->want[i]) {
            s->offset = (long)i;
            snprintf(s->why, sizeof(s->why), "byte %zu of %zu is 0x%02x, "
                     "expected 0x%02x (first wrong offset %zu)", i,
                     c->xfer_len, got[XFER_OFFSET + i], c->want[i], i);
            return -1;
        }
    }
    if (got[end] != POISON) {
        s->offset = (long)c->xfer_len;
        snprintf(s->why, sizeof(s->why), "the byte after the transfer was "
                 "overwritten");
        return -1;
    }
    return 0;
}

typedef struct {
    enum ibv_wr_opcode op;
    int                to_p2p;   /* the destination is p2pmem */
    uint32_t           odp_need; /* rc_odp_caps the operation needs */
    const char        *name;
} xfer_op_t;

static const xfer_op_t xfer_ops[] = {
    {IBV_WR_RDMA_WRITE, 0, IBV_ODP_SUPPORT_WRITE, "RDMA WRITE p2pmem -> host"},
    {IBV_WR_RDMA_WRITE, 1, IBV_ODP_SUPPORT_WRITE, "RDMA WRITE host -> p2pmem"},
    {IBV_WR_RDMA_READ,  1, IBV_ODP_SUPPORT_READ,
                           "RDMA READ into p2pmem from host"},
    {IBV_WR_RDMA_READ,  0, IBV_ODP_SUPPORT_READ,
                           "RDMA READ into host from p2pmem"},
    {IBV_WR_SEND,       0, IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV,
                           "SEND p2pmem -> host"},
    {IBV_WR_SEND,       1, IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV,
                           "SEND host -> p2pmem"}
};

typedef struct {
    rdma_dev_t        *d;
    rc_t           rc;
    int            rc_ok;
    int            mtu;
    unsigned char *pbuf, *hbuf;
    struct ibv_mr *pmr, *hmr;
} xfer_t;

/* One transfer, checked byte for byte. A failed operation leaves the QPs in
 * the error state: they are made anew for the next one. */
static void xfer_one(check_t *c, pair_t *pr, xfer_t *x, const xfer_op_t *op,
                     unsigned seed)
{
    unsigned char *src = op->to_p2p ? x->hbuf : x->pbuf;
    unsigned char *dst = op->to_p2p ? x->pbuf : x->hbuf;
    struct ibv_mr *smr = op->to_p2p ? x->hmr : x->pmr;
    struct ibv_mr *dmr = op->to_p2p ? x->pmr : x->hmr;
    uint32_t len = (uint32_t)c->xfer_len;
    struct ibv_sge rsge;
    struct ibv_recv_wr rwr, *rbad;
    char why[160];
    step_t *s;
    int err;

    s = step(c, pr, STEP_FAIL, 0, "%s, path MTU %d, %u bytes at offset %d",
             op->name, x->mtu, len, XFER_OFFSET);
    if (pr->odp_mode && ((pr->odp_caps & op->odp_need) != op->odp_need)) {
        s->result = STEP_SKIP;
        done(c, pr, s, "the device reports no ODP support for it");
        return;
    }
    if (!x->rc_ok) {
        err = rc_open(x->d, x->mtu, &x->rc);
        if (err != 0) {
            s->err = err;
            ++pr->errors;
            done(c, pr, s, "RC QPs: %s", errstr(err, why, sizeof(why)));
            return;
        }
        x->rc_ok = 1;
    }

    pattern(c->want, len, seed);
    memcpy(src + XFER_OFFSET, c->want, len);
    memset(dst, POISON, XFER_OFFSET + len + 1);

    switch (op->op) {
    case IBV_WR_RDMA_READ:
        err = post_send(x->rc.qp[0], op->op, dmr, dst + XFER_OFFSET, len,
                        smr, src + XFER_OFFSET);
        break;
    case IBV_WR_SEND:
        memset(&rwr, 0, sizeof(rwr));
        rsge.addr   = (uintptr_t)(dst + XFER_OFFSET);
        rsge.length = len;
        rsge.lkey   = dmr->lkey;
        rwr.sg_list = &rsge;
        rwr.num_sge = 1;
        err = ibv_post_recv(x->rc.qp[1], &rwr, &rbad) ? (errno ? errno : EIO) :
              post_send(x->rc.qp[0], op->op, smr, src + XFER_OFFSET, len,
                        NULL, NULL);
        break;
    default:
        err = post_send(x->rc.qp[0], op->op, smr, src + XFER_OFFSET, len,
                        dmr, dst + XFER_OFFSET);
        break;
    }
    if (err != 0) {
        s->err = err;
        snprintf(s->why, sizeof(s->why), "posting: %s",
                 errstr(err, why, sizeof(why)));
        goto failed;
    }
    err = wait_wc(c, x->rc.cq[0], s->why, sizeof(s->why));
    if ((err == 0) && (op->op == IBV_WR_SEND)) {
        err = wait_wc(c, x->rc.cq[1], s->why, sizeof(s->why));
    }
    if (err != 0) {
        s->err = (err == EIO) ? 0 : err;
        goto failed;
    }
    if (verify(c, s, dst, op->to_p2p) != 0) {
        ++pr->wrong;
        done(c, pr, s, NULL);
        return;
    }
    s->result = STEP_PASS;
    done(c, pr, s, NULL);
    return;

failed:
    ++pr->errors;
    rc_close(&x->rc);
    x->rc_ok = 0;
    done(c, pr, s, NULL);
}

/* Fetch-and-add on a word of p2pmem, the old value returned into host
 * memory. Both sit near the start of a page, where even rxe's ODP copy
 * bug copies right: this checks the atomic, the transfers check copies. */
static void xfer_atomic(check_t *c, pair_t *pr, xfer_t *x, int atomic_cap)
{
    volatile uint64_t *target = (volatile uint64_t*)(x->pbuf + c->maplen -
                                                     c->page + 64);
    volatile uint64_t *result = (volatile uint64_t*)(x->hbuf + c->maplen -
                                                     c->page);
    uint64_t old, now;
    char why[160];
    step_t *s;
    int err;

    s = step(c, pr, STEP_FAIL, 0, "atomic fetch-and-add on p2pmem, result "
             "into host memory");
    if (!atomic_cap || (pr->odp_mode &&
                        !(pr->odp_caps & IBV_ODP_SUPPORT_ATOMIC))) {
        s->result = STEP_SKIP;
        done(c, pr, s, "the device reports no atomics%s",
             pr->odp_mode ? " with ODP" : "");
        return;
    }
    if (!x->rc_ok) {
        err = rc_open(x->d, x->mtu, &x->rc);
        if (err != 0) {
            s->err = err;
            ++pr->errors;
            done(c, pr, s, "RC QPs: %s", errstr(err, why, sizeof(why)));
            return;
        }
        x->rc_ok = 1;
    }
    *target = ATOMIC_START;
    *result = 0;
    err = post_send(x->rc.qp[0], IBV_WR_ATOMIC_FETCH_AND_ADD, x->hmr,
                    (void*)result, 8, x->pmr, (void*)target);
    if (err != 0) {
        s->err = err;
        snprintf(s->why, sizeof(s->why), "posting: %s",
                 errstr(err, why, sizeof(why)));
    } else {
        err = wait_wc(c, x->rc.cq[0], s->why, sizeof(s->why));
        s->err = ((err == EIO) || (err == 0)) ? 0 : err;
    }
    if (err != 0) {
        ++pr->errors;
        rc_close(&x->rc);
        x->rc_ok = 0;
        done(c, pr, s, NULL);
        return;
    }
    old = *result;
    now = *target;
    if ((old != ATOMIC_START) || (now != ATOMIC_START + ATOMIC_ADD)) {
        ++pr->wrong;
        done(c, pr, s, "returned 0x%" PRIx64 ", memory now 0x%" PRIx64
             " (expected 0x%llx and 0x%llx)", old, now, ATOMIC_START,
             ATOMIC_START + ATOMIC_ADD);
        return;
    }
    s->result = STEP_PASS;
    done(c, pr, s, NULL);
}

/* soft-RoCE: named by whoever adds it, but it has a netdev "parent" */
static int is_rxe(struct ibv_device *dev)
{
    char path[sizeof(dev->ibdev_path) + 16];

    snprintf(path, sizeof(path), "%s/parent", dev->ibdev_path);
    return !strncmp(ibv_get_device_name(dev), "rxe", 3) ||
           (access(path, F_OK) == 0);
}

/* Everything one RDMA device does with one mapping of a provider. */
static void check_device(check_t *c, pair_t *pr, struct ibv_device *ibdev,
                         int want_port, unsigned char *pbuf)
{
    int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
                 IBV_ACCESS_REMOTE_READ;
    struct ibv_device_attr_ex attr;
    struct ibv_mr *pin = NULL, *odp = NULL;
    xfer_t x;
    rdma_dev_t d;
    int mtus[MAX_MTUS], nmtu = 0, atomic_cap = 0, err, m;
    unsigned k, seed = 1;
    char why[192], e[96];
    step_t *s;

    memset(&x, 0, sizeof(x));
    memset(&d, 0, sizeof(d));
    x.d     = &d;
    x.pbuf  = pbuf;
    x.hbuf  = MAP_FAILED;
    pr->rxe = is_rxe(ibdev);

    d.ctx = ibv_open_device(ibdev);
    if (d.ctx == NULL) {
        err = errno;
        s   = step(c, pr, STEP_FAIL, err, "open %s", pr->device);
        done(c, pr, s, "%s", errstr(err, e, sizeof(e)));
        pr->verdict = V_NOT_CHECKED;
        snprintf(pr->detail, sizeof(pr->detail), "cannot open the device");
        return;
    }
    memset(&attr, 0, sizeof(attr));
    if (ibv_query_device_ex(d.ctx, NULL, &attr) == 0) {
        atomic_cap   = (attr.orig_attr.atomic_cap != IBV_ATOMIC_NONE);
        pr->odp      = !!(attr.odp_caps.general_caps & IBV_ODP_SUPPORT);
        pr->odp_caps = attr.odp_caps.per_transport_caps.rc_odp_caps;
    }
    if (atomic_cap) {
        access |= IBV_ACCESS_REMOTE_ATOMIC;
    }
    why[0] = '\0';
    if (pick_port(&d, want_port, &pr->roce, &pr->active_mtu, why,
                  sizeof(why)) == 0) {
        pr->port      = d.port;
        pr->gid_index = d.gid_index;
    }
    if (!c->o->json) {
        printf("  device %s", pr->device);
        if (pr->port) {
            printf(", port %d (%s, active MTU %d", pr->port,
                   pr->roce ? "Ethernet" : "InfiniBand", pr->active_mtu);
            if (pr->gid_index >= 0) {
                printf(", GID index %d", pr->gid_index);
            }
            putchar(')');
        }
        if (pr->distance != UCS_P2PMEM_DIST_UNREACHABLE) {
            printf(", %d PCI hop%s", pr->distance,
                   (pr->distance == 1) ? "" : "s");
        } else {
            printf(", no PCI path to the provider");
        }
        printf(", ODP: %s\n", pr->odp ? "yes" : "no");
    }

    d.pd = ibv_alloc_pd(d.ctx);
    if (d.pd == NULL) {
        err = errno;
        s   = step(c, pr, STEP_FAIL, err, "ibv_alloc_pd");
        done(c, pr, s, "%s", errstr(err, e, sizeof(e)));
        pr->verdict = V_NOT_CHECKED;
        snprintf(pr->detail, sizeof(pr->detail), "cannot allocate a PD");
        goto out;
    }

    /* what the libraries try: UCX's IB memory domain pins by default,
     * registers with ODP when told (UCX_REG_NONBLOCK_MEM_TYPES) */
    s   = step(c, pr, STEP_PASS, 0, "register p2pmem pinned (ibv_reg_mr)");
    pin = ibv_reg_mr(d.pd, pbuf, c->maplen, access);
    if (pin == NULL) {
        s->err    = errno;
        s->result = STEP_FAIL;
        done(c, pr, s, "%s", errstr(s->err, e, sizeof(e)));
    } else {
        done(c, pr, s, NULL);
    }
    s = step(c, pr, STEP_PASS, 0, "register p2pmem with ODP "
             "(IBV_ACCESS_ON_DEMAND)");
    if (!pr->odp) {
        s->result = STEP_SKIP;
        done(c, pr, s, "%s reports no On-Demand Paging", pr->device);
    } else {
        odp = ibv_reg_mr(d.pd, pbuf, c->maplen,
                         access | IBV_ACCESS_ON_DEMAND);
        if (odp == NULL) {
            s->err    = errno;
            s->result = STEP_FAIL;
            done(c, pr, s, "%s", errstr(s->err, e, sizeof(e)));
        } else {
            done(c, pr, s, NULL);
        }
    }
    if (pin != NULL) {
        x.pmr   = pin;
        pr->reg = "pinned";
        if (odp != NULL) {
            ibv_dereg_mr(odp);
            odp = NULL;
        }
    } else if (odp != NULL) {
        x.pmr        = odp;
        pr->odp_mode = 1;
        pr->reg      = "odp";
    } else {
        pr->verdict = V_REFUSED;
        snprintf(pr->detail, sizeof(pr->detail), "pinned: %s; ODP: %s",
                 errno_name(pr->steps[pr->nsteps - 2].err),
                 pr->odp ? errno_name(s->err) : "not offered");
        goto out;
    }

    /* host memory registered the same way, as UCX would with
     * UCX_REG_NONBLOCK_MEM_TYPES=host */
    s      = step(c, pr, STEP_PASS, 0, "register host memory %s",
                  pr->odp_mode ? "with ODP" : "pinned");
    x.hbuf = mmap(NULL, c->maplen, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (x.hbuf == MAP_FAILED) {
        s->err = errno;
    } else {
        memset(x.hbuf, 0, c->maplen); /* no ODP faults on first touch */
        x.hmr  = ibv_reg_mr(d.pd, x.hbuf, c->maplen, access |
                            (pr->odp_mode ? IBV_ACCESS_ON_DEMAND : 0));
        s->err = (x.hmr == NULL) ? errno : 0;
    }
    if (s->err != 0) {
        s->result   = STEP_FAIL;
        done(c, pr, s, "%s", errstr(s->err, e, sizeof(e)));
        pr->verdict = V_NOT_CHECKED;
        snprintf(pr->detail, sizeof(pr->detail), "host memory does not "
                 "register");
        goto out;
    }
    done(c, pr, s, NULL);

    if (pr->port == 0) {
        s = step(c, pr, STEP_FAIL, 0, "an active port");
        done(c, pr, s, "%s", why);
        pr->verdict = V_NOT_CHECKED;
        snprintf(pr->detail, sizeof(pr->detail), "%s", why);
        goto out;
    }

    /* the port's MTU, and 1024 (rxe's on a 1500-byte netdev, where
     * multi-packet ODP copies went wrong) */
    mtus[nmtu++] = pr->active_mtu;
    if (pr->active_mtu > 1024) {
        mtus[nmtu++] = 1024;
    }
    for (m = 0; (m < nmtu) && !*c->stop; ++m) {
        x.mtu = mtus[m];
        for (k = 0; (k < sizeof(xfer_ops) / sizeof(xfer_ops[0])) &&
                    !*c->stop; ++k) {
            xfer_one(c, pr, &x, &xfer_ops[k], seed++);
        }
        if ((m == 0) && !*c->stop) {
            xfer_atomic(c, pr, &x, atomic_cap);
        }
        rc_close(&x.rc);
        x.rc_ok = 0;
    }

    if (*c->stop) {
        pr->verdict = V_INTERRUPTED;
    } else if (pr->wrong > 0) {
        pr->verdict = pr->odp_mode ? V_WRONG_DATA_ODP : V_WRONG_DATA_PINNED;
    } else if (pr->errors > 0) {
        pr->verdict = V_RDMA_ERROR;
    } else {
        pr->verdict = pr->odp_mode ? V_WORKS_ODP : V_WORKS_PINNED;
    }

out:
    rc_close(&x.rc);
    if (x.hmr != NULL) {
        ibv_dereg_mr(x.hmr);
    }
    if (x.hbuf != MAP_FAILED) {
        munmap(x.hbuf, c->maplen);
    }
    if (pin != NULL) {
        ibv_dereg_mr(pin);
    }
    if (odp != NULL) {
        ibv_dereg_mr(odp);
    }
    if (d.pd != NULL) {
        ibv_dealloc_pd(d.pd);
    }
    ibv_close_device(d.ctx);
}

/* ---- what follows from a verdict ---- */

/* The fix or the variables, one line each; NULL-terminated in out[]. */
static unsigned advice(const pair_t *pr, char out[][256], unsigned max)
{
    const char *bdf = (pr->p != NULL) ? pr->p->name : "";
    /* no thp: UCX 1.18 and 1.22 abort with it on an impossible length */
    const char *prio = "UCX_ALLOC_PRIO=md:p2pmem,md:sysv,md:posix,huge,mmap,"
                       "heap";
    unsigned n = 0;

#define ADD(...) \
    do { \
        if (n < max) { \
            snprintf(out[n++], 256, __VA_ARGS__); \
        } \
    } while (0)

    switch (pr->verdict) {
    case V_WORKS_PINNED:
    case V_WORKS_ODP:
        ADD("UCX: %s UCX_P2PMEM_DEVICES=%s UCX_NET_DEVICES=%s:%d%s%s", prio,
            bdf, pr->device, pr->port,
            (pr->verdict == V_WORKS_ODP) ?
            " UCX_REG_NONBLOCK_MEM_TYPES=host" : "",
            pr->rxe ? " UCX_UD_ETH_DGID_CHECK=n" : "");
        if (pr->verdict == V_WORKS_ODP) {
            ADD("UCX 1.13-1.15 cannot be told to register host memory "
                "through ODP: only ucp_mem_map(..., UCP_MEM_MAP_NONBLOCK) "
                "with UCX_IB_ODP_MAX_SIZE=1G");
            ADD("MPI: scripts/p2pmem-mpirun (sets "
                "UCX_REG_NONBLOCK_MEM_TYPES=host on UCX >= 1.16)");
        } else {
            ADD("MPI: scripts/p2pmem-mpirun --no-odp (pinning works: no "
                "need for ODP)");
        }
        break;
    case V_WRONG_DATA_ODP:
        ADD("fix: a kernel with kernel-patches/v7.3 (rxe's ODP copies)");
        ADD("until then: leave UCX_REG_NONBLOCK_MEM_TYPES unset and "
            "md:p2pmem out of UCX_ALLOC_PRIO (host memory)");
        ADD("MPI: scripts/p2pmem-mpirun --no-odp (the module then falls "
            "back to host memory)");
        break;
    case V_WRONG_DATA_PINNED:
        ADD("do not use p2pmem with %s: leave md:p2pmem out of "
            "UCX_ALLOC_PRIO, or UCX_NET_DEVICES without it", pr->device);
        break;
    case V_REFUSED:
        ADD("fix: 6.12 with kernel-patches/v6.12 (soft-RoCE only), or a 7.x "
            "kernel and a NIC with On-Demand Paging (docs/kernels.md)");
        ADD("meanwhile the module falls back to host memory "
            "(UCX_P2PMEM_REG_CHECK=y, the default)");
        break;
    case V_NO_ACCESS:
        ADD("fix: the udev rule and group p2pmem (docs/packages.md, "
            "\"Non-root access\"), or run as root");
        break;
    case V_P2PDMA_OFF:
        ADD("fix: a kernel with CONFIG_PCI_P2PDMA=y (Debian from 6.13; "
            "6.12: build one, docs/kernels.md)");
        break;
    case V_NO_PROVIDER:
        ADD("fix: a device that publishes P2PDMA memory (e.g. an NVMe "
            "drive with a CMB)");
        break;
    case V_NOT_SELECTED:
        ADD("fix: UCX_P2PMEM_DEVICES=all or a list of PCI addresses");
        break;
    case V_NO_RDMA:
        ADD("no device for libibverbs%s: load the NIC's driver (or "
            "rdma link add ... type rxe)", getenv("UCX_NET_DEVICES") ?
            " after UCX_NET_DEVICES" : "");
        break;
    default:
        break;
    }
#undef ADD
    return n;
}

/* ---- output ---- */

static void json_step(const step_t *s)
{
    static const char *word[] = {"pass", "fail", "skip"};

    printf("{\"step\":");
    json_string(s->what);
    printf(",\"result\":\"%s\"", word[s->result]);
    if (s->err != 0) {
        printf(",\"errno\":%d,\"errno_name\":", s->err);
        json_string(errno_name(s->err));
    }
    if (s->offset >= 0) {
        printf(",\"offset\":%ld", s->offset);
    }
    if (s->why[0] != '\0') {
        printf(",\"why\":");
        json_string(s->why);
    }
    putchar('}');
}

static void print_json(const check_t *c, const char *root, int interrupted,
                       struct ibv_device **devs, int ndevs,
                       const ucs_p2pmem_rdma_list_t *rdma)
{
    char adv[6][256];
    struct utsname u;
    const pair_t *pr;
    unsigned i, j, n;

    printf("{\"check\":true,\"time\":%lld,\"kernel\":", (long long)time(NULL));
    json_string((uname(&u) == 0) ? u.release : "");
    printf(",\"sysfs_root\":");
    json_string(root);
    printf(",\"rdma_devices\":[");
    for (i = 0; i < (unsigned)ndevs; ++i) {
        if (i > 0) {
            putchar(',');
        }
        json_string(ibv_get_device_name(devs[i]));
    }
    printf("],\"sysfs_rdma_devices\":[");
    for (i = 0; i < rdma->count; ++i) {
        if (i > 0) {
            putchar(',');
        }
        json_string(rdma->devs[i].name);
    }
    printf("],\"timeout\":%g,\"transfer\":{\"offset\":%d,\"length\":%zu},"
           "\"interrupted\":%s,\"verdicts\":[", c->o->timeout, XFER_OFFSET,
           c->xfer_len, interrupted ? "true" : "false");
    for (i = 0; i < c->npairs; ++i) {
        pr = &c->pairs[i];
        printf("%s{\"provider\":", i ? "," : "");
        if (pr->p != NULL) {
            json_string(pr->p->name);
            printf(",\"emulated\":%s", pr->p->emulated ? "true" : "false");
        } else {
            printf("null");
        }
        printf(",\"device\":");
        if (pr->device[0] != '\0') {
            json_string(pr->device);
            printf(",\"port\":%d,\"link_layer\":\"%s\",\"gid_index\":",
                   pr->port, pr->roce ? "Ethernet" : "InfiniBand");
            if (pr->gid_index >= 0) {
                printf("%d", pr->gid_index);
            } else {
                printf("null");
            }
            printf(",\"active_mtu\":%d,\"odp\":%s,\"rxe\":%s,"
                   "\"registration\":\"%s\",\"distance\":", pr->active_mtu,
                   pr->odp ? "true" : "false", pr->rxe ? "true" : "false",
                   pr->reg);
            if (pr->distance != UCS_P2PMEM_DIST_UNREACHABLE) {
                printf("%d", pr->distance);
            } else {
                printf("null");
            }
        } else {
            printf("null");
        }
        printf(",\"verdict\":\"%s\",\"text\":",
               verdict_names[pr->verdict].key);
        json_string(verdict_names[pr->verdict].text);
        printf(",\"detail\":");
        json_string(pr->detail);
        printf(",\"advice\":[");
        n = advice(pr, adv, 6);
        for (j = 0; j < n; ++j) {
            if (j > 0) {
                putchar(',');
            }
            json_string(adv[j]);
        }
        printf("],\"passed\":");
        for (n = 0, j = 0; j < pr->nsteps; ++j) {
            n += (pr->steps[j].result == STEP_PASS);
        }
        printf("%u,\"failed\":", n);
        for (n = 0, j = 0; j < pr->nsteps; ++j) {
            n += (pr->steps[j].result == STEP_FAIL);
        }
        printf("%u,\"steps\":[", n);
        for (j = 0; j < pr->nsteps; ++j) {
            if (j > 0) {
                putchar(',');
            }
            json_step(&pr->steps[j]);
        }
        printf("]}");
    }
    printf("]}\n");
}

static void print_verdicts(const check_t *c)
{
    char adv[6][256];
    const pair_t *pr;
    unsigned i, j, n;

    printf("\nverdicts:\n");
    for (i = 0; i < c->npairs; ++i) {
        pr = &c->pairs[i];
        printf("  %s%s%s: %s", pr->p ? pr->p->name : "no provider",
               pr->device[0] ? " x " : "", pr->device,
               verdict_names[pr->verdict].text);
        if (pr->detail[0] != '\0') {
            printf(" (%s)", pr->detail);
        }
        putchar('\n');
        n = advice(pr, adv, 6);
        for (j = 0; j < n; ++j) {
            printf("    %s\n", adv[j]);
        }
    }
}

/* ---- the run ---- */

typedef struct {
    struct ibv_device *dev;
    int                port;      /* from UCX_NET_DEVICES; 0 any */
    int                distance;
} dev_order_t;

static int dev_order_cmp(const void *pa, const void *pb)
{
    const dev_order_t *a = pa, *b = pb;

    if (a->distance != b->distance) {
        return (a->distance < b->distance) ? -1 : 1;
    }
    return strcmp(ibv_get_device_name(a->dev), ibv_get_device_name(b->dev));
}

/* The provider's verdict when no mapping can be had. */
static void map_failed(pair_t *pr, int err)
{
    char e[96];

    if ((err == EACCES) || (err == EPERM)) {
        pr->verdict = V_NO_ACCESS;
        snprintf(pr->detail, sizeof(pr->detail), "%s: %s",
                 pr->p->allocate_path, errstr(err, e, sizeof(e)));
    } else {
        pr->verdict = V_MAP_FAILED;
        snprintf(pr->detail, sizeof(pr->detail), "%s: %s%s",
                 pr->p->allocate_path, errstr(err, e, sizeof(e)),
                 (err == ENOMEM) ? "; the provider is full" : "");
    }
}

static void check_provider(check_t *c, const ucs_p2pmem_provider_t *p,
                           const ucs_p2pmem_rdma_list_t *rdma,
                           struct ibv_device **devs, int ndevs,
                           const char *filter)
{
    dev_order_t *order;
    unsigned char *pbuf;
    char b1[32], b2[32], e[96];
    pair_t *pr;
    step_t *s;
    int err, n = 0, i, port;
    unsigned j;

    if (!c->o->json) {
        format_bytes(p->size, b1, sizeof(b1));
        format_bytes(p->available, b2, sizeof(b2));
        printf("\nprovider %s (%s%s, %s available)\n", p->name,
               p->emulated ? "EMULATED, " : "", b1, b2);
    }
    pr = pair_new(c, p, NULL);
    s  = step(c, pr, STEP_PASS, 0, "map %zu bytes from allocate, write and "
              "read back", c->maplen);
    pbuf = ucs_p2pmem_map(p, c->maplen, &err);
    if (pbuf == NULL) {
        s->result = STEP_FAIL;
        s->err    = err;
        done(c, pr, s, "%s", errstr(err, e, sizeof(e)));
        map_failed(pr, err);
        return;
    }
    pattern(c->scratch, c->maplen, 99);
    memcpy(pbuf, c->scratch, c->maplen);
    memcpy(c->want, pbuf, c->maplen);
    if (memcmp(c->want, c->scratch, c->maplen) != 0) {
        s->result = STEP_FAIL;
        done(c, pr, s, "the CPU reads back other bytes than it wrote");
        pr->verdict = V_MAP_FAILED;
        snprintf(pr->detail, sizeof(pr->detail), "CPU access is wrong");
        goto out;
    }
    done(c, pr, s, NULL);

    order = calloc((size_t)ndevs + 1, sizeof(*order));
    if (order == NULL) {
        fprintf(stderr, PROG ": error: out of memory\n");
        exit(1);
    }
    for (i = 0; i < ndevs; ++i) {
        if (!ucs_p2pmem_net_device_match(filter,
                                         ibv_get_device_name(devs[i]),
                                         &port)) {
            continue;
        }
        order[n].dev      = devs[i];
        order[n].port     = port;
        order[n].distance = UCS_P2PMEM_DIST_UNREACHABLE;
        for (j = 0; j < rdma->count; ++j) {
            if (!strcmp(rdma->devs[j].name, ibv_get_device_name(devs[i])) &&
                p->has_path && rdma->devs[j].has_path) {
                order[n].distance = ucs_p2pmem_pci_distance(
                                        &p->path, &rdma->devs[j].path);
            }
        }
        ++n;
    }
    qsort(order, (size_t)n, sizeof(*order), dev_order_cmp);
    if (n == 0) {
        pr->verdict = V_NO_RDMA;
        snprintf(pr->detail, sizeof(pr->detail), "libibverbs lists %s",
                 (ndevs == 0) ? "no RDMA device" :
                 "no device UCX_NET_DEVICES allows");
        if (!c->o->json) {
            printf("  no RDMA device: RDMA not checked\n");
        }
    }
    for (i = 0; (i < n) && !*c->stop; ++i) {
        if (i > 0) {
            pr = pair_new(c, p, ibv_get_device_name(order[i].dev));
        } else {
            /* the provider's map step goes with the first device */
            snprintf(pr->device, sizeof(pr->device), "%s",
                     ibv_get_device_name(order[i].dev));
        }
        pr->distance = order[i].distance;
        check_device(c, pr, order[i].dev, order[i].port, pbuf);
    }
    free(order);
out:
    ucs_p2pmem_scrub(pbuf, c->maplen);
    ucs_p2pmem_unmap(pbuf, c->maplen);
}

int p2pmem_check_run(const p2pmem_check_opts_t *opts,
                     volatile sig_atomic_t *stop,
                     ucs_p2pmem_report_cb_t report)
{
    ucs_p2pmem_config_t cfg;
    ucs_p2pmem_ctx_t ctx;
    ucs_p2pmem_rdma_list_t rdma = {NULL, 0};
    struct ibv_device **devs;
    struct utsname u;
    const char *root, *filter = getenv("UCX_NET_DEVICES");
    check_t c;
    pair_t *pr;
    int ndevs = 0, ret, cfg_p2pdma, status = 0, dev_err = 0;
    unsigned i;

    memset(&c, 0, sizeof(c));
    c.o        = opts;
    c.stop     = stop;
    c.page     = (size_t)sysconf(_SC_PAGESIZE);
    c.xfer_len = XFER_PAGES * c.page + XFER_TAIL;
    /* the transfer and the byte after it, then one page for the atomic */
    c.maplen   = (XFER_OFFSET + c.xfer_len + 1 + c.page - 1) / c.page *
                 c.page + c.page;
    c.want     = malloc(c.maplen);
    c.scratch  = malloc(c.maplen);
    if ((c.want == NULL) || (c.scratch == NULL)) {
        fprintf(stderr, PROG ": error: out of memory\n");
        exit(1);
    }

    root = getenv("UCX_P2PMEM_SYSFS_ROOT");
    if ((root == NULL) || (root[0] == '\0')) {
        root = UCS_P2PMEM_DEFAULT_SYSFS_ROOT;
    }
    cfg.sysfs_root  = root;
    cfg.devices     = getenv("UCX_P2PMEM_DEVICES");
    cfg.net_devices = filter;
    if ((cfg.devices != NULL) && (cfg.devices[0] == '\0')) {
        cfg.devices = NULL;
    }
    ret = ucs_p2pmem_ctx_open(&cfg, &ctx, report, NULL);

    errno = 0;
    devs  = ibv_get_device_list(&ndevs);
    if (devs == NULL) {
        dev_err = errno;
        ndevs   = 0;
    }
    ucs_p2pmem_scan_rdma(root, filter, &rdma, NULL, NULL);

    if (!opts->json) {
        printf("p2pmem-info --check: kernel %s, sysfs root %s, %g s per "
               "completion\n", (uname(&u) == 0) ? u.release : "?", root,
               opts->timeout);
        printf("RDMA devices (libibverbs):");
        for (i = 0; i < (unsigned)ndevs; ++i) {
            printf("%s %s", i ? "," : "", ibv_get_device_name(devs[i]));
        }
        printf("%s\n", (ndevs > 0) ? "" : (dev_err != 0) ?
               " none (libibverbs: no RDMA subsystem)" : " none");
    }
    for (i = 0; i < rdma.count; ++i) {
        int k, known = 0;

        for (k = 0; k < ndevs; ++k) {
            known |= !strcmp(rdma.devs[i].name,
                             ibv_get_device_name(devs[k]));
        }
        if (!known && !opts->json) {
            printf("note: %s (class/infiniband beside the sysfs root) is "
                   "not known to libibverbs (emulated?): not checked\n",
                   rdma.devs[i].name);
        }
    }

    if ((ret != 0) || (ctx.count == 0)) {
        pr = pair_new(&c, NULL, NULL);
        cfg_p2pdma = strcmp(root, UCS_P2PMEM_DEFAULT_SYSFS_ROOT) ? -1 :
                     kernel_has_p2pdma();
        if ((ret == 0) && (ctx.list.count == 0)) {
            pr->verdict = (cfg_p2pdma == 1) ? V_NO_PROVIDER : V_P2PDMA_OFF;
            snprintf(pr->detail, sizeof(pr->detail), "no <device>/p2pmem/ "
                     "under %s%s", root,
                     (cfg_p2pdma == 0) ? "; CONFIG_PCI_P2PDMA is not set "
                     "in /boot/config-<release>" :
                     (cfg_p2pdma < 0) ? ": P2PDMA off, or no device offers "
                     "P2PDMA memory" : "");
        } else {
            pr->verdict = V_NOT_SELECTED;
            snprintf(pr->detail, sizeof(pr->detail), "%s", ctx.nodev_reason);
        }
        if (!opts->json) {
            printf("no provider to check: %s\n", pr->detail);
        }
    }
    for (i = 0; (ret == 0) && (i < ctx.count) && !*stop; ++i) {
        check_provider(&c, ctx.providers[i].p, &rdma, devs, ndevs, filter);
    }

    if (opts->json) {
        print_json(&c, root, *stop != 0, devs, ndevs, &rdma);
    } else {
        print_verdicts(&c);
        if (*stop) {
            printf("interrupted: the remaining steps were not run\n");
        }
    }
    fflush(stdout);

    for (i = 0; i < c.npairs; ++i) {
        if ((c.pairs[i].verdict != V_WORKS_PINNED) &&
            (c.pairs[i].verdict != V_WORKS_ODP)) {
            status = 1;
        }
    }
    if (*stop) {
        status = 128 + (int)*stop;
    }

    free(c.pairs);
    free(c.want);
    free(c.scratch);
    ucs_p2pmem_rdma_list_free(&rdma);
    if (devs != NULL) {
        ibv_free_device_list(devs);
    }
    ucs_p2pmem_ctx_close(&ctx);
    return status;
}
