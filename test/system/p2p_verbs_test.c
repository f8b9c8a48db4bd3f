/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * p2p_verbs_test - guest-side checks of P2PDMA memory with libibverbs.
 *
 * Built on the host by test/system/run and executed inside the test machine
 * by test/system/guest-tests.  Every check prints "PASS: name" or
 * "FAIL: name (reason)"; the exit status is 0 only when all checks passed.
 *
 *   p2p_verbs_test mmap    ALLOCATE AVAILABLE SIZE
 *       map SIZE bytes of the p2pmem allocator and check that the provider's
 *       "available" drops by SIZE, and returns after munmap.
 *   p2p_verbs_test reg-mr-fails ALLOCATE DEVICE ERRNO-NAME
 *       ibv_reg_mr on a p2pmem mapping must fail with the given errno
 *       (unpatched kernels).
 *   p2p_verbs_test rdma    ALLOCATE DEVICE GID-INDEX SIZE
 *       register two p2pmem buffers, connect two RC QPs on DEVICE to each
 *       other (RoCE, GID-INDEX) and check an RDMA WRITE and an RDMA READ
 *       between the buffers byte for byte.
 *   p2p_verbs_test hold-mr ALLOCATE DEVICE SIZE
 *       register a p2pmem buffer, print READY and keep the registration
 *       until killed (to show that a pinned buffer delays unbind).
 *   p2p_verbs_test hold-map ALLOCATE SIZE
 *       map a p2pmem buffer (no MR), fill it, print READY; on SIGUSR1 read
 *       it back and print "ACCESS: data intact", "ACCESS: data lost" or
 *       "ACCESS: SIGBUS", then unmap and exit 0 (device removal test).
 *   p2p_verbs_test hold-rdma ALLOCATE DEVICE GID-INDEX SIZE
 *       register a p2pmem buffer and a host buffer, check that RDMA into
 *       the p2pmem MR works, print READY; on SIGUSR1 (after the provider
 *       was removed) check that RDMA on the p2pmem MR now completes with an
 *       error, both as remote target and as local source, and that the MR
 *       can still be deregistered (revocation test, patched kernels).
 *   p2p_verbs_test fresh-alloc ALLOCATE SIZE zero|leftover
 *       a child process maps SIZE bytes, fills them with a pattern and
 *       exits; then map SIZE bytes again, check with /proc/self/pagemap
 *       that the new mapping got (some of) the same device pages, and check
 *       that it reads as zero (patched kernels) or still holds the child's
 *       data (stock kernels, so that a kernel that clears it is noticed).
 *   p2p_verbs_test peer ALLOCATE DEVICE GID-INDEX SIZE PORT [HOST]
 *       two machines: without HOST, wait on TCP PORT with one registered
 *       p2pmem buffer; with HOST, connect to it. The connecting side RDMA
 *       WRITEs a pattern from its p2pmem buffer into the waiting side's,
 *       which checks every byte in its own device memory; the waiting side
 *       then fills its buffer with another pattern, which the connecting
 *       side RDMA READs into its p2pmem buffer and checks. QP numbers, GIDs,
 *       addresses and keys are exchanged over the TCP connection.
 *   p2p_verbs_test reg-mr-fails ALLOCATE DEVICE ERRNO-NAME ro
 *       the same with a read-only registration (no write access asked).
 *   p2p_verbs_test xfer MEM DEVICE GID-INDEX SIZE [--odp] [--mtu N]
 *                       [--offset N] [--send] [--atomics] [--expect-corruption]
 *       MEM is a p2pmem "allocate" file or "anon" (anonymous memory).  Map
 *       two buffers, register them (pinned, or with On-Demand Paging), and
 *       check RDMA WRITE and READ (and SEND/RECV, atomics) between them
 *       over two RC QPs at path MTU N (default 1024), SIZE bytes starting N
 *       bytes into the buffers, byte for byte.  --expect-corruption: the
 *       transfers are expected to complete successfully with wrong data
 *       (the rxe ODP copy bug of stock 7.3); each passes when they do, and
 *       fails when the data is right (a kernel with the fix).
 *   p2p_verbs_test hold-odp ALLOCATE DEVICE GID-INDEX SIZE
 *       register two p2pmem buffers with ODP, check a WRITE, print READY;
 *       on SIGUSR1 post another WRITE and print "AFTER: <completion
 *       status>", read the buffer with the CPU ("ACCESS: ..."), deregister
 *       ("DEREG: ok" or the error) and exit 0 (device removal test).
 *   p2p_verbs_test fill ALLOCATE SIZE SEED
 *       map SIZE bytes, write a pattern (SEED), unmap.
 *   p2p_verbs_test fresh ALLOCATE SIZE SEED zero|stale
 *       map SIZE bytes and check that they read as zero, or (stale) that
 *       they still hold the pattern a previous "fill" left.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <netdb.h>
#include <sys/socket.h>

static int failures;

static void usage(void);
/* path MTU for connect_qp(); rxe on a 1500-byte link offers 1024 */
static enum ibv_mtu path_mtu = IBV_MTU_1024;

static void pass(const char *name)
{
	printf("PASS: %s\n", name);
	fflush(stdout);
}

static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: %s (", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(")\n");
	fflush(stdout);
	failures++;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void *map_p2pmem(const char *allocate, size_t size, int *err)
{
	int fd = open(allocate, O_RDWR);
	void *p;

	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	*err = errno;
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static struct ibv_context *open_device(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;
	int i;

	if (!list)
		return NULL;
	for (i = 0; list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	return ctx;
}

/* Fill with a pattern that differs per seed and per offset. */
static void pattern(unsigned char *buf, size_t size, unsigned int seed)
{
	size_t i;

	for (i = 0; i < size; i++)
		buf[i] = (unsigned char)((i * 131 + (i >> 8) * 7 + seed * 29) ^ seed);
}

/* Compare device memory with a host buffer: copy it out first, so the slow
 * (trapped) device memory is read with few large accesses. */
static int verify(const char *name, const void *dev, const unsigned char *want,
		  size_t size)
{
	unsigned char *got = malloc(size);
	size_t i;

	if (!got) {
		fail(name, "out of memory");
		return -1;
	}
	memcpy(got, dev, size);
	for (i = 0; i < size; i++)
		if (got[i] != want[i])
			break;
	if (i < size)
		fail(name, "byte %zu is 0x%02x, expected 0x%02x", i, got[i], want[i]);
	else
		pass(name);
	free(got);
	return i < size ? -1 : 0;
}

static int cmd_mmap(const char *allocate, const char *available, size_t size)
{
	long before, during, after;
	int err;
	void *p;

	before = read_long(available);
	p = map_p2pmem(allocate, size, &err);
	if (!p) {
		fail("p2pmem mmap", "mmap %s: %s", allocate, strerror(err));
		return 1;
	}
	during = read_long(available);
	/* Touch it: the first access faults the pages in. */
	((volatile char *)p)[0] = 1;
	munmap(p, size);
	after = read_long(available);

	if (before < 0 || during != before - (long)size)
		fail("p2pmem mmap lowers available",
		     "available %ld before, %ld after mapping %zu bytes",
		     before, during, size);
	else
		pass("p2pmem mmap lowers available");
	if (after != before)
		fail("p2pmem munmap restores available",
		     "available %ld before, %ld after munmap", before, after);
	else
		pass("p2pmem munmap restores available");
	return failures != 0;
}

static int cmd_reg_mr_fails(const char *allocate, const char *dev,
			    const char *errname, int ro)
{
	int want = !strcmp(errname, "EFAULT") ? EFAULT :
		   !strcmp(errname, "EREMOTEIO") ? EREMOTEIO :
		   !strcmp(errname, "EINVAL") ? EINVAL : atoi(errname);
	size_t size = 65536;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	char name[128];
	int err;
	void *p;

	snprintf(name, sizeof(name), "%sibv_reg_mr on p2pmem fails with %s",
		 ro ? "read-only " : "", errname);
	ctx = open_device(dev);
	if (!ctx) {
		fail(name, "cannot open %s", dev);
		return 1;
	}
	pd = ibv_alloc_pd(ctx);
	p = map_p2pmem(allocate, size, &err);
	if (!pd || !p) {
		fail(name, "setup: %s", pd ? strerror(err) : "ibv_alloc_pd failed");
		return 1;
	}
	errno = 0;
	mr = ibv_reg_mr(pd, p, size, ro ? 0 : IBV_ACCESS_LOCAL_WRITE |
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	err = errno;
	if (mr) {
		fail(name, "ibv_reg_mr succeeded: is this kernel patched?");
		ibv_dereg_mr(mr);
	} else if (err != want) {
		fail(name, "ibv_reg_mr failed with %s (%d)", strerror(err), err);
	} else {
		pass(name);
	}
	munmap(p, size);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	return failures != 0;
}

struct side {
	struct ibv_cq *cq;
	struct ibv_qp *qp;
};

static int create_side(struct ibv_context *ctx, struct ibv_pd *pd,
		       struct side *s)
{
	struct ibv_qp_init_attr init = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4,
			 .max_send_sge = 1, .max_recv_sge = 1 },
		.sq_sig_all = 1,
	};

	s->cq = ibv_create_cq(ctx, 8, NULL, NULL, 0);
	if (!s->cq)
		return -1;
	init.send_cq = s->cq;
	init.recv_cq = s->cq;
	s->qp = ibv_create_qp(pd, &init);
	return s->qp ? 0 : -1;
}

static int connect_qp(struct ibv_qp *qp, uint32_t remote_qpn,
		      const union ibv_gid *gid, int gid_index)
{
	struct ibv_qp_attr a;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	a.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			    IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			  IBV_QP_PORT | IBV_QP_ACCESS_FLAGS))
		return -1;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = path_mtu;
	a.dest_qp_num = remote_qpn;
	a.rq_psn = 0;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = *gid;
	a.ah_attr.grh.sgid_index = gid_index;
	a.ah_attr.grh.hop_limit = 64;
	a.ah_attr.port_num = 1;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			  IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
		return -1;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.sq_psn = 0;
	a.max_rd_atomic = 1;
	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			     IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			     IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
}

/*
 * Post one signalled RDMA operation and wait up to 60 s for its completion.
 * Returns -1 (after a FAIL line) when posting or polling fails or times out;
 * otherwise 0 and the completion status in *status.
 */
static int rdma_op_status(const char *name, struct side *s,
			  enum ibv_wr_opcode op, struct ibv_mr *local,
			  struct ibv_mr *remote, size_t size,
			  enum ibv_wc_status *status)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)local->addr,
		.length = (uint32_t)size,
		.lkey = local->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = 1,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bad;
	struct timespec start, now;
	struct ibv_wc wc;
	int n;

	wr.wr.rdma.remote_addr = (uintptr_t)remote->addr;
	wr.wr.rdma.rkey = remote->rkey;
	if (ibv_post_send(s->qp, &wr, &bad)) {
		fail(name, "ibv_post_send: %s", strerror(errno));
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		n = ibv_poll_cq(s->cq, 1, &wc);
		if (n < 0) {
			fail(name, "ibv_poll_cq failed");
			return -1;
		}
		if (n == 1)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 60) {
			fail(name, "no completion within 60 s");
			return -1;
		}
		usleep(1000);
	}
	*status = wc.status;
	return 0;
}

static int rdma_op(const char *name, struct side *s, enum ibv_wr_opcode op,
		   struct ibv_mr *local, struct ibv_mr *remote, size_t size)
{
	enum ibv_wc_status status;

	if (rdma_op_status(name, s, op, local, remote, size, &status))
		return -1;
	if (status != IBV_WC_SUCCESS) {
		fail(name, "completion status %s", ibv_wc_status_str(status));
		return -1;
	}
	return 0;
}

static int cmd_rdma(const char *allocate, const char *dev, int gid_index,
		    size_t size)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ;
	unsigned char *want_a, *want_b;
	struct ibv_mr *mr_a, *mr_b;
	struct side sa, sb;
	struct ibv_context *ctx;
	union ibv_gid gid;
	struct ibv_pd *pd;
	void *a, *b;
	int err;

	ctx = open_device(dev);
	if (!ctx) {
		fail("rdma setup", "cannot open device %s", dev);
		return 1;
	}
	pd = ibv_alloc_pd(ctx);
	if (!pd || ibv_query_gid(ctx, 1, gid_index, &gid)) {
		fail("rdma setup", "ibv_alloc_pd/ibv_query_gid failed");
		return 1;
	}
	a = map_p2pmem(allocate, size, &err);
	b = a ? map_p2pmem(allocate, size, &err) : NULL;
	if (!a || !b) {
		fail("rdma setup", "mmap %s: %s", allocate, strerror(err));
		return 1;
	}

	mr_a = ibv_reg_mr(pd, a, size, access);
	err = errno;
	mr_b = mr_a ? ibv_reg_mr(pd, b, size, access) : NULL;
	if (!mr_a || !mr_b) {
		fail("ibv_reg_mr on p2pmem", "%s", strerror(mr_b ? err : errno));
		return 1;
	}
	pass("ibv_reg_mr on p2pmem");

	if (create_side(ctx, pd, &sa) || create_side(ctx, pd, &sb) ||
	    connect_qp(sa.qp, sb.qp->qp_num, &gid, gid_index) ||
	    connect_qp(sb.qp, sa.qp->qp_num, &gid, gid_index)) {
		fail("rdma setup", "creating or connecting RC QPs: %s",
		     strerror(errno));
		return 1;
	}

	want_a = malloc(size);
	want_b = malloc(size);
	if (!want_a || !want_b) {
		fail("rdma setup", "out of memory");
		return 1;
	}
	pattern(want_a, size, 1);
	pattern(want_b, size, 2);

	/* WRITE: a -> b through QP a. */
	memcpy(a, want_a, size);
	memset(b, 0, size);
	if (!rdma_op("rdma write p2pmem to p2pmem", &sa, IBV_WR_RDMA_WRITE,
		     mr_a, mr_b, size))
		verify("rdma write p2pmem to p2pmem", b, want_a, size);

	/* READ: b -> a through QP a, with a new pattern in b. */
	memcpy(b, want_b, size);
	memset(a, 0, size);
	if (!rdma_op("rdma read p2pmem from p2pmem", &sa, IBV_WR_RDMA_READ,
		     mr_a, mr_b, size))
		verify("rdma read p2pmem from p2pmem", a, want_b, size);

	ibv_destroy_qp(sa.qp);
	ibv_destroy_qp(sb.qp);
	ibv_destroy_cq(sa.cq);
	ibv_destroy_cq(sb.cq);
	ibv_dereg_mr(mr_a);
	ibv_dereg_mr(mr_b);
	munmap(a, size);
	munmap(b, size);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	free(want_a);
	free(want_b);
	return failures != 0;
}

/* Register a p2pmem buffer and keep the registration until killed. */
static int cmd_hold_mr(const char *allocate, const char *dev, size_t size)
{
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	int err;
	void *p;

	ctx = open_device(dev);
	pd = ctx ? ibv_alloc_pd(ctx) : NULL;
	p = pd ? map_p2pmem(allocate, size, &err) : NULL;
	if (!p) {
		fail("hold p2pmem MR", "setup failed");
		return 1;
	}
	mr = ibv_reg_mr(pd, p, size, IBV_ACCESS_LOCAL_WRITE |
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	if (!mr) {
		fail("hold p2pmem MR", "ibv_reg_mr: %s", strerror(errno));
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	for (;;)
		pause();
}

static sigjmp_buf access_fault;
static volatile sig_atomic_t access_requested;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(access_fault, 1);
}

static void on_sigusr1(int sig)
{
	(void)sig;
	access_requested = 1;
}

/*
 * Map a p2pmem buffer without registering it and report, once asked, what
 * reading it gives.  After the provider is removed the kernel may have
 * zapped the mapping (SIGBUS) or kept the pages; the caller asserts which.
 */
static int cmd_hold_map(const char *allocate, size_t size)
{
	struct sigaction sa = { 0 };
	volatile unsigned char *p;
	unsigned char *want;
	int err, intact = 1;
	sigset_t block, old;
	size_t i;

	p = map_p2pmem(allocate, size, &err);
	want = malloc(size);
	if (!p || !want) {
		fail("hold p2pmem mapping", "%s", strerror(err));
		return 1;
	}
	pattern(want, size, 7);
	memcpy((void *)p, want, size);

	sa.sa_handler = on_sigusr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);

	/* no lost wake-up between the check and the wait */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	printf("READY\n");
	fflush(stdout);
	while (!access_requested)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);

	if (sigsetjmp(access_fault, 1)) {
		printf("ACCESS: SIGBUS\n");
	} else {
		for (i = 0; i < size; i++)
			if (p[i] != want[i])
				intact = 0;
		printf("ACCESS: data %s\n", intact ? "intact" : "lost");
	}
	fflush(stdout);
	munmap((void *)p, size);
	free(want);
	return 0;
}

/* Create two RC QPs on ctx and connect them to each other. */
static int make_pair(struct ibv_context *ctx, struct ibv_pd *pd,
		     const union ibv_gid *gid, int gid_index,
		     struct side *x, struct side *y)
{
	return create_side(ctx, pd, x) || create_side(ctx, pd, y) ||
	       connect_qp(x->qp, y->qp->qp_num, gid, gid_index) ||
	       connect_qp(y->qp, x->qp->qp_num, gid, gid_index) ? -1 : 0;
}

static void wait_sigusr1(void)
{
	struct sigaction sa = { 0 };
	sigset_t block, old;

	sa.sa_handler = on_sigusr1;
	sigaction(SIGUSR1, &sa, NULL);
	/* no lost wake-up between the check and the wait */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	printf("READY\n");
	fflush(stdout);
	while (!access_requested)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/*
 * Hold an MR on p2pmem while the provider is removed by someone else, then
 * check that the MR fails cleanly: RDMA targeting it, or reading from it,
 * completes with an error status instead of touching memory that is gone.
 * Each direction uses its own QP pair, since a failed operation moves a QP
 * to the error state.  The p2pmem mapping itself is not touched afterwards:
 * it was zapped (SIGBUS), which the hold-map check covers.
 */
static int cmd_hold_rdma(const char *allocate, const char *dev, int gid_index,
			 size_t size)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ;
	struct side w1, w2, r1, r2;
	enum ibv_wc_status status;
	struct ibv_mr *mr_p, *mr_h;
	unsigned char *want, *h;
	struct ibv_context *ctx;
	union ibv_gid gid;
	struct ibv_pd *pd;
	void *p;
	int err;

	ctx = open_device(dev);
	pd = ctx ? ibv_alloc_pd(ctx) : NULL;
	if (!pd || ibv_query_gid(ctx, 1, gid_index, &gid)) {
		fail("hold p2pmem MR", "cannot open %s", dev);
		return 1;
	}
	p = map_p2pmem(allocate, size, &err);
	h = malloc(size);
	want = malloc(size);
	if (!p || !h || !want) {
		fail("hold p2pmem MR", "mmap %s: %s", allocate, strerror(err));
		return 1;
	}
	mr_p = ibv_reg_mr(pd, p, size, access);
	mr_h = mr_p ? ibv_reg_mr(pd, h, size, access) : NULL;
	if (!mr_h) {
		fail("hold p2pmem MR", "ibv_reg_mr: %s", strerror(errno));
		return 1;
	}
	if (make_pair(ctx, pd, &gid, gid_index, &w1, &w2) ||
	    make_pair(ctx, pd, &gid, gid_index, &r1, &r2)) {
		fail("hold p2pmem MR", "creating RC QPs: %s", strerror(errno));
		return 1;
	}

	/* before: the MR works */
	pattern(want, size, 5);
	memcpy(h, want, size);
	if (!rdma_op("rdma write into the held p2pmem MR before removal", &w1,
		     IBV_WR_RDMA_WRITE, mr_h, mr_p, size))
		verify("rdma write into the held p2pmem MR before removal", p,
		       want, size);

	wait_sigusr1();

	/* after: RDMA WRITE with the p2pmem MR as remote target */
	if (!rdma_op_status("rdma write into a revoked p2pmem MR fails", &w1,
			    IBV_WR_RDMA_WRITE, mr_h, mr_p, size, &status)) {
		if (status == IBV_WC_SUCCESS)
			fail("rdma write into a revoked p2pmem MR fails",
			     "completed successfully");
		else
			printf("PASS: rdma write into a revoked p2pmem MR fails (%s)\n",
			       ibv_wc_status_str(status));
	}
	/* RDMA WRITE with the p2pmem MR as local source */
	if (!rdma_op_status("rdma write from a revoked p2pmem MR fails", &r1,
			    IBV_WR_RDMA_WRITE, mr_p, mr_h, size, &status)) {
		if (status == IBV_WC_SUCCESS)
			fail("rdma write from a revoked p2pmem MR fails",
			     "completed successfully");
		else
			printf("PASS: rdma write from a revoked p2pmem MR fails (%s)\n",
			       ibv_wc_status_str(status));
	}
	fflush(stdout);

	ibv_destroy_qp(w1.qp);
	ibv_destroy_qp(w2.qp);
	ibv_destroy_qp(r1.qp);
	ibv_destroy_qp(r2.qp);
	ibv_destroy_cq(w1.cq);
	ibv_destroy_cq(w2.cq);
	ibv_destroy_cq(r1.cq);
	ibv_destroy_cq(r2.cq);
	err = ibv_dereg_mr(mr_p);
	if (err)
		fail("revoked p2pmem MR deregisters", "ibv_dereg_mr: %s",
		     strerror(err));
	else
		pass("revoked p2pmem MR deregisters");
	ibv_dereg_mr(mr_h);
	munmap(p, size);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	free(h);
	free(want);
	return failures != 0;
}

/* Page frame number of the page mapped at addr, 0 if unknown (needs root). */
static uint64_t pfn_of(const void *addr)
{
	uint64_t entry = 0;
	long psize = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry),
		  (off_t)((uintptr_t)addr / psize * sizeof(entry))) !=
	    sizeof(entry))
		entry = 0;
	close(fd);
	if (!(entry >> 63))
		return 0;
	return entry & ((1ULL << 55) - 1);
}

/*
 * Does memory that another process filled and gave back come out cleared?
 * The child fills SIZE bytes and exits; the parent maps SIZE bytes, which
 * the pool's first-fit allocator places on the same device pages when
 * nothing else is mapped (checked through the page frame numbers, so that
 * the check cannot pass by reading other memory).
 */
static int cmd_fresh_alloc(const char *allocate, size_t size, const char *expect)
{
	const char *name = !strcmp(expect, "zero") ?
		"fresh p2pmem allocation reads zero after another process filled it" :
		"stock kernel hands out p2pmem with the previous user's data";
	uint64_t child_pfn = 0, pfn;
	long psize = sysconf(_SC_PAGESIZE);
	unsigned char *want, *got;
	int pipefd[2], status, err;
	size_t i, same = 0, zero = 0, overlap = 0;
	long long delta;
	pid_t pid;
	void *p;

	if (strcmp(expect, "zero") && strcmp(expect, "leftover"))
		usage();
	want = malloc(size);
	got = malloc(size);
	if (!want || !got || pipe(pipefd)) {
		fail(name, "setup failed");
		return 1;
	}
	pattern(want, size, 11);

	pid = fork();
	if (pid == 0) {
		p = map_p2pmem(allocate, size, &err);
		if (p) {
			memcpy(p, want, size);
			child_pfn = pfn_of(p);
			munmap(p, size);
		}
		if (write(pipefd[1], &child_pfn, sizeof(child_pfn)) < 0)
			_exit(1);
		_exit(p ? 0 : 1);
	}
	close(pipefd[1]);
	if (pid < 0 || read(pipefd[0], &child_pfn, sizeof(child_pfn)) !=
	    sizeof(child_pfn) || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail(name, "the filling process failed");
		return 1;
	}

	p = map_p2pmem(allocate, size, &err);
	if (!p) {
		fail(name, "mmap %s: %s", allocate, strerror(err));
		return 1;
	}
	pfn = pfn_of(p);
	if (!pfn || !child_pfn) {
		fail(name, "no page frame numbers in /proc/self/pagemap (not root?)");
		return 1;
	}
	if (pfn + size / psize <= child_pfn || child_pfn + size / psize <= pfn) {
		fail(name, "the new mapping (pfn %#" PRIx64 ") does not overlap the filled one (pfn %#" PRIx64 ")",
		     pfn, child_pfn);
		return 1;
	}
	/* compare the overlapping part only: byte i here was byte i + delta there */
	delta = ((long long)pfn - (long long)child_pfn) * psize;
	memcpy(got, p, size);
	for (i = 0; i < size; i++) {
		long long j = (long long)i + delta;

		if (j < 0 || j >= (long long)size)
			continue;
		overlap++;
		if (got[i] == want[j])
			same++;
		else if (!got[i])
			zero++;
	}
	if (!strcmp(expect, "zero")) {
		for (i = 0; i < size && !got[i]; i++)
			;
		if (i < size)
			fail(name, "byte %zu is 0x%02x; %zu bytes still equal the other process's data",
			     i, got[i], same);
		else
			pass(name);
	} else if (same * 2 < overlap) {
		fail(name, "only %zu of %zu bytes equal the other process's data (%zu zero): is this kernel clearing p2pmem?",
		     same, overlap, zero);
	} else {
		pass(name);
	}
	munmap(p, size);
	free(want);
	free(got);
	return failures != 0;
}

/* What one side of "peer" tells the other (same architecture both sides). */
struct peer_info {
	uint32_t qpn;
	uint32_t rkey;
	uint64_t addr;
	uint8_t gid[16];
};

static int full_io(int fd, void *buf, size_t len, int out)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = out ? write(fd, p, len) : read(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The TCP connection of "peer": listen and accept, or connect (retrying
 * while the other machine's side is not listening yet). */
static int peer_socket(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_INET,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = host ? 0 : AI_PASSIVE };
	struct addrinfo *ai;
	int fd = -1, conn, one = 1, tries;

	if (getaddrinfo(host, port, &hints, &ai))
		return -1;
	if (!host) {
		fd = socket(ai->ai_family, ai->ai_socktype, 0);
		if (fd < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1)) {
			freeaddrinfo(ai);
			return -1;
		}
		freeaddrinfo(ai);
		printf("peer: listening on port %s\n", port);
		fflush(stdout);
		conn = accept(fd, NULL, NULL);
		close(fd);
		return conn;
	}
	for (tries = 0; tries < 120; tries++) {
		fd = socket(ai->ai_family, ai->ai_socktype, 0);
		if (fd >= 0 && !connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
		sleep(1);
	}
	freeaddrinfo(ai);
	return fd;
}

static int cmd_peer(const char *allocate, const char *dev, int gid_index,
		    size_t size, const char *port, const char *host)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ;
	struct peer_info mine, theirs;
	struct ibv_mr mr_remote;
	unsigned char *want;
	struct ibv_context *ctx;
	union ibv_gid gid, rgid;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	struct side s;
	char step = 0, ok;
	void *buf;
	int err, fd;

	ctx = open_device(dev);
	pd = ctx ? ibv_alloc_pd(ctx) : NULL;
	if (!pd || ibv_query_gid(ctx, 1, gid_index, &gid)) {
		fail("peer setup", "cannot open %s or query GID %d", dev,
		     gid_index);
		return 1;
	}
	want = malloc(size);
	buf = map_p2pmem(allocate, size, &err);
	if (!want || !buf) {
		fail("peer setup", "mmap %s: %s", allocate, strerror(err));
		return 1;
	}
	memset(buf, 0, size);
	mr = ibv_reg_mr(pd, buf, size, access);
	if (!mr) {
		fail("peer: ibv_reg_mr on this node's p2pmem", "%s",
		     strerror(errno));
		return 1;
	}
	pass("peer: ibv_reg_mr on this node's p2pmem");
	if (create_side(ctx, pd, &s)) {
		fail("peer setup", "creating an RC QP: %s", strerror(errno));
		return 1;
	}

	fd = peer_socket(host, port);
	if (fd < 0) {
		fail("peer setup", "TCP %s port %s: %s", host ? host : "listen",
		     port, strerror(errno));
		return 1;
	}
	mine.qpn = s.qp->qp_num;
	mine.rkey = mr->rkey;
	mine.addr = (uintptr_t)buf;
	memcpy(mine.gid, gid.raw, sizeof(mine.gid));
	if (full_io(fd, &mine, sizeof(mine), 1) ||
	    full_io(fd, &theirs, sizeof(theirs), 0)) {
		fail("peer setup", "exchanging QP information failed");
		return 1;
	}
	memcpy(rgid.raw, theirs.gid, sizeof(rgid.raw));
	if (connect_qp(s.qp, theirs.qpn, &rgid, gid_index) ||
	    full_io(fd, &step, 1, 1) || full_io(fd, &step, 1, 0)) {
		fail("peer setup", "connecting the RC QP to the peer: %s",
		     strerror(errno));
		return 1;
	}
	printf("peer: connected, QP %u <-> %u, peer buffer 0x%" PRIx64 "\n",
	       mine.qpn, theirs.qpn, theirs.addr);
	/* rdma_op takes the remote buffer as an MR: address and key suffice */
	memset(&mr_remote, 0, sizeof(mr_remote));
	mr_remote.addr = (void *)(uintptr_t)theirs.addr;
	mr_remote.rkey = theirs.rkey;

	if (host) {
		/* WRITE into the waiting side's device memory */
		pattern(want, size, 3);
		memcpy(buf, want, size);
		ok = !rdma_op("peer: rdma write into the peer's p2pmem", &s,
			      IBV_WR_RDMA_WRITE, mr, &mr_remote, size);
		if (ok)
			pass("peer: rdma write into the peer's p2pmem completed");
		if (full_io(fd, &ok, 1, 1) || full_io(fd, &ok, 1, 0)) {
			fail("peer", "the peer went away");
			return 1;
		}
		/* the peer has verified and refilled its buffer: READ it */
		memset(buf, 0, size);
		pattern(want, size, 4);
		if (!rdma_op("peer: rdma read from the peer's p2pmem", &s,
			     IBV_WR_RDMA_READ, mr, &mr_remote, size))
			verify("peer: rdma read from the peer's p2pmem, bytes verified here",
			       buf, want, size);
		step = 'D';
		full_io(fd, &step, 1, 1);
	} else {
		if (full_io(fd, &ok, 1, 0)) {
			fail("peer", "the peer went away");
			return 1;
		}
		pattern(want, size, 3);
		if (!ok)
			fail("peer: the peer's rdma write into this node's p2pmem",
			     "the peer reported a failed write");
		else
			verify("peer: the peer's rdma write landed in this node's p2pmem, bytes verified here",
			       buf, want, size);
		pattern(want, size, 4);
		memcpy(buf, want, size);
		if (full_io(fd, &ok, 1, 1) || full_io(fd, &step, 1, 0))
			fail("peer", "the peer went away before its read");
	}
	close(fd);
	ibv_destroy_qp(s.qp);
	ibv_destroy_cq(s.cq);
	ibv_dereg_mr(mr);
	munmap(buf, size);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	free(want);
	return failures != 0;
}

/* Poll CQ for one completion, up to secs seconds; 0 when one arrived. */
static int wait_wc(struct ibv_cq *cq, struct ibv_wc *wc, int secs)
{
	struct timespec start, now;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		n = ibv_poll_cq(cq, 1, wc);
		if (n < 0)
			return -1;
		if (n == 1)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > secs)
			return -1;
		usleep(1000);
	}
}

static int parse_mtu(int bytes, enum ibv_mtu *mtu)
{
	switch (bytes) {
	case 256: *mtu = IBV_MTU_256; return 0;
	case 512: *mtu = IBV_MTU_512; return 0;
	case 1024: *mtu = IBV_MTU_1024; return 0;
	case 2048: *mtu = IBV_MTU_2048; return 0;
	case 4096: *mtu = IBV_MTU_4096; return 0;
	}
	return -1;
}

/* SIZE bytes of p2pmem ("allocate" path) or of anonymous memory ("anon"). */
static void *map_buffer(const char *mem, size_t size, int *err)
{
	void *p;

	if (strcmp(mem, "anon"))
		return map_p2pmem(mem, size, err);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	*err = errno;
	return p == MAP_FAILED ? NULL : p;
}

static int odp_supported(struct ibv_context *ctx, uint32_t need)
{
	struct ibv_device_attr_ex attr;

	memset(&attr, 0, sizeof(attr));
	if (ibv_query_device_ex(ctx, NULL, &attr))
		return 0;
	return (attr.odp_caps.general_caps & IBV_ODP_SUPPORT) &&
	       (attr.odp_caps.per_transport_caps.rc_odp_caps & need) == need;
}

/*
 * Compare a transfer's result with what was sent.  expect_bad: the kernel
 * is known to deliver wrong data here; say so and pass when it does, fail
 * when the data is right (so that a fixed kernel gets noticed).
 */
static void judge(const char *name, const void *dev, const unsigned char *want,
		  size_t size, int expect_bad)
{
	unsigned char *got = malloc(size);
	size_t i, bad = 0, first = size;
	char what[300];

	if (!got) {
		fail(name, "out of memory");
		return;
	}
	memcpy(got, dev, size);
	for (i = 0; i < size; i++)
		if (got[i] != want[i]) {
			if (first == size)
				first = i;
			bad++;
		}
	if (!expect_bad) {
		if (bad)
			fail(name, "%zu of %zu bytes wrong, the first at %zu "
			     "(0x%02x, expected 0x%02x)", bad, size, first,
			     got[first], want[first]);
		else
			pass(name);
	} else if (bad) {
		snprintf(what, sizeof(what), "%s delivers wrong data with a "
			 "successful completion: %zu of %zu bytes wrong, the "
			 "first at %zu (known rxe ODP copy bug, fixed by "
			 "kernel-patches/v7.3-rxe)", name, bad, size, first);
		pass(what);
	} else {
		fail(name, "expected the rxe ODP copy bug, but all %zu bytes "
		     "are right: does this kernel have the fix? Then update "
		     "the expectation", size);
	}
	free(got);
}

/* One-sided or send operation, local [laddr, +size) -> remote. */
static int post_op(const char *name, struct side *s, enum ibv_wr_opcode op,
		   struct ibv_mr *lmr, void *laddr, struct ibv_mr *rmr,
		   void *raddr, size_t size)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)laddr,
		.length = (uint32_t)size,
		.lkey = lmr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = 1, .sg_list = &sge, .num_sge = 1, .opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bad;
	struct ibv_wc wc;

	if (rmr) {
		wr.wr.rdma.remote_addr = (uintptr_t)raddr;
		wr.wr.rdma.rkey = rmr->rkey;
	}
	if (ibv_post_send(s->qp, &wr, &bad)) {
		fail(name, "ibv_post_send: %s", strerror(errno));
		return -1;
	}
	if (wait_wc(s->cq, &wc, 60)) {
		fail(name, "no completion within 60 s");
		return -1;
	}
	if (wc.status != IBV_WC_SUCCESS) {
		fail(name, "completion status %s", ibv_wc_status_str(wc.status));
		return -1;
	}
	return 0;
}

static int post_atomic(const char *name, struct side *s, enum ibv_wr_opcode op,
		       struct ibv_mr *lmr, uint64_t *result, struct ibv_mr *rmr,
		       uint64_t *target, uint64_t compare_add, uint64_t swap)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)result, .length = 8, .lkey = lmr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = 2, .sg_list = &sge, .num_sge = 1, .opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bad;
	struct ibv_wc wc;

	wr.wr.atomic.remote_addr = (uintptr_t)target;
	wr.wr.atomic.rkey = rmr->rkey;
	wr.wr.atomic.compare_add = compare_add;
	wr.wr.atomic.swap = swap;
	if (ibv_post_send(s->qp, &wr, &bad)) {
		fail(name, "ibv_post_send: %s", strerror(errno));
		return -1;
	}
	if (wait_wc(s->cq, &wc, 60)) {
		fail(name, "no completion within 60 s");
		return -1;
	}
	if (wc.status != IBV_WC_SUCCESS) {
		fail(name, "completion status %s", ibv_wc_status_str(wc.status));
		return -1;
	}
	return 0;
}

static void check_u64(const char *name, volatile uint64_t *p, uint64_t want)
{
	uint64_t got = *p;

	if (got == want)
		pass(name);
	else
		fail(name, "0x%" PRIx64 ", expected 0x%" PRIx64, got, want);
}

static int cmd_xfer(int argc, char **argv)
{
	const char *mem = argv[0], *dev = argv[1];
	int gid_index = atoi(argv[2]);
	size_t size = strtoul(argv[3], NULL, 0), offset = 0, maplen;
	int odp = 0, send = 0, atomics = 0, expect_bad = 0, mtu = 1024;
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
	const char *memname = strcmp(mem, "anon") ? "p2pmem" : "anonymous memory";
	unsigned char *want_a, *want_b, *a, *b;
	uint64_t *result, *target;
	struct ibv_mr *mr_a, *mr_b;
	struct ibv_context *ctx;
	struct side sa, sb;
	union ibv_gid gid;
	struct ibv_pd *pd;
	char tag[160], name[300];
	int i, err;

	for (i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--odp"))
			odp = 1;
		else if (!strcmp(argv[i], "--send"))
			send = 1;
		else if (!strcmp(argv[i], "--atomics"))
			atomics = 1;
		else if (!strcmp(argv[i], "--expect-corruption"))
			expect_bad = 1;
		else if (!strcmp(argv[i], "--mtu") && i + 1 < argc)
			mtu = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--offset") && i + 1 < argc)
			offset = strtoul(argv[++i], NULL, 0);
		else
			usage();
	}
	if (parse_mtu(mtu, &path_mtu) || size == 0) {
		fprintf(stderr, "p2p_verbs_test: bad MTU %d or size %zu (MTU: "
			"256, 512, 1024, 2048 or 4096)\n", mtu, size);
		return 2;
	}
	snprintf(tag, sizeof(tag), "%s, %s MR, path MTU %d, %zu bytes at "
		 "offset %zu", memname, odp ? "ODP" : "pinned", mtu, size,
		 offset);
	if (odp)
		access |= IBV_ACCESS_ON_DEMAND;

	ctx = open_device(dev);
	pd = ctx ? ibv_alloc_pd(ctx) : NULL;
	if (!pd || ibv_query_gid(ctx, 1, gid_index, &gid)) {
		fail("xfer setup", "cannot open %s, allocate a PD or query "
		     "GID %d", dev, gid_index);
		return 1;
	}
	if (odp && !odp_supported(ctx, IBV_ODP_SUPPORT_SEND |
				  IBV_ODP_SUPPORT_RECV | IBV_ODP_SUPPORT_WRITE |
				  IBV_ODP_SUPPORT_READ |
				  (atomics ? IBV_ODP_SUPPORT_ATOMIC : 0))) {
		fail("xfer setup", "%s reports no RC On-Demand Paging support "
		     "(kernel without CONFIG_INFINIBAND_ON_DEMAND_PAGING?)", dev);
		return 1;
	}
	/* the transfer, then one page for the atomics */
	maplen = (offset + size + 4095) / 4096 * 4096 + 4096;
	a = map_buffer(mem, maplen, &err);
	b = a ? map_buffer(mem, maplen, &err) : NULL;
	if (!a || !b) {
		fail("xfer setup", "mapping 2 x %zu bytes of %s: %s", maplen,
		     mem, strerror(err));
		return 1;
	}
	mr_a = ibv_reg_mr(pd, a, maplen, access);
	err = errno;
	mr_b = mr_a ? ibv_reg_mr(pd, b, maplen, access) : NULL;
	snprintf(name, sizeof(name), "ibv_reg_mr (%s) on %s",
		 odp ? "IBV_ACCESS_ON_DEMAND" : "pinned", memname);
	if (!mr_a || !mr_b) {
		fail(name, "%s", strerror(mr_a ? errno : err));
		return 1;
	}
	pass(name);

	if (create_side(ctx, pd, &sa) || create_side(ctx, pd, &sb) ||
	    connect_qp(sa.qp, sb.qp->qp_num, &gid, gid_index) ||
	    connect_qp(sb.qp, sa.qp->qp_num, &gid, gid_index)) {
		fail("xfer setup", "creating or connecting RC QPs: %s",
		     strerror(errno));
		return 1;
	}
	want_a = malloc(size);
	want_b = malloc(size);
	if (!want_a || !want_b) {
		fail("xfer setup", "out of memory");
		return 1;
	}
	pattern(want_a, size, 3);
	pattern(want_b, size, 4);

	/* WRITE: a -> b */
	memcpy(a + offset, want_a, size);
	memset(b, 0, maplen - 4096);
	snprintf(name, sizeof(name), "rdma write (%s)", tag);
	if (!post_op(name, &sa, IBV_WR_RDMA_WRITE, mr_a, a + offset, mr_b,
		     b + offset, size))
		judge(name, b + offset, want_a, size, expect_bad);

	/* READ: b -> a */
	memcpy(b + offset, want_b, size);
	memset(a, 0, maplen - 4096);
	snprintf(name, sizeof(name), "rdma read (%s)", tag);
	if (!post_op(name, &sa, IBV_WR_RDMA_READ, mr_a, a + offset, mr_b,
		     b + offset, size))
		judge(name, a + offset, want_b, size, expect_bad);

	if (send) {
		struct ibv_sge rsge = {
			.addr = (uintptr_t)(b + offset),
			.length = (uint32_t)size, .lkey = mr_b->lkey,
		};
		struct ibv_recv_wr rwr = { .wr_id = 3, .sg_list = &rsge,
					   .num_sge = 1 }, *rbad;
		struct ibv_wc wc;

		memcpy(a + offset, want_a, size);
		memset(b, 0, maplen - 4096);
		snprintf(name, sizeof(name), "send/recv (%s)", tag);
		if (ibv_post_recv(sb.qp, &rwr, &rbad)) {
			fail(name, "ibv_post_recv: %s", strerror(errno));
		} else if (!post_op(name, &sa, IBV_WR_SEND, mr_a, a + offset,
				    NULL, NULL, size)) {
			if (wait_wc(sb.cq, &wc, 60))
				fail(name, "no receive completion within 60 s");
			else if (wc.status != IBV_WC_SUCCESS)
				fail(name, "receive completion status %s",
				     ibv_wc_status_str(wc.status));
			else
				judge(name, b + offset, want_a, size,
				      expect_bad);
		}
	}

	if (atomics) {
		/* Both 8-byte words at the start of a page: rxe's ODP copy
		 * of the 8-byte atomic response is right there even on a
		 * kernel with the copy bug, so this checks the atomics. */
		result = (uint64_t *)(a + maplen - 4096);
		target = (uint64_t *)(b + maplen - 4096 + 64);
		*target = 0x1000;
		*result = 0;
		snprintf(name, sizeof(name), "atomic fetch-add (%s)", tag);
		if (!post_atomic(name, &sa, IBV_WR_ATOMIC_FETCH_AND_ADD, mr_a,
				 result, mr_b, target, 5, 0)) {
			check_u64("atomic fetch-add returns the old value",
				  result, 0x1000);
			check_u64("atomic fetch-add adds", target, 0x1005);
		}
		snprintf(name, sizeof(name), "atomic compare-swap (%s)", tag);
		if (!post_atomic(name, &sa, IBV_WR_ATOMIC_CMP_AND_SWP, mr_a,
				 result, mr_b, target, 0x1005, 0xabcdef)) {
			check_u64("atomic compare-swap returns the old value",
				  result, 0x1005);
			check_u64("atomic compare-swap swaps when equal",
				  target, 0xabcdef);
		}
		if (!post_atomic(name, &sa, IBV_WR_ATOMIC_CMP_AND_SWP, mr_a,
				 result, mr_b, target, 0x1005, 0x42))
			check_u64("atomic compare-swap leaves a different "
				  "value alone", target, 0xabcdef);
	}

	ibv_destroy_qp(sa.qp);
	ibv_destroy_qp(sb.qp);
	ibv_destroy_cq(sa.cq);
	ibv_destroy_cq(sb.cq);
	ibv_dereg_mr(mr_a);
	ibv_dereg_mr(mr_b);
	munmap(a, maplen);
	munmap(b, maplen);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	free(want_a);
	free(want_b);
	return failures != 0;
}

/*
 * Hold two ODP MRs on p2pmem across the removal of the provider and report
 * what RDMA, the CPU and deregistration do afterwards.
 */
static int cmd_hold_odp(const char *allocate, const char *dev, int gid_index,
			size_t size)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ | IBV_ACCESS_ON_DEMAND;
	struct sigaction act = { 0 };
	struct ibv_mr *mr_a, *mr_b;
	struct ibv_context *ctx;
	unsigned char *want;
	volatile unsigned char *va;
	sigset_t block, old;
	struct side sa, sb;
	union ibv_gid gid;
	struct ibv_pd *pd;
	struct ibv_wc wc;
	unsigned char *a, *b;
	int err, e1, e2;

	path_mtu = IBV_MTU_4096;
	ctx = open_device(dev);
	pd = ctx ? ibv_alloc_pd(ctx) : NULL;
	a = pd ? map_p2pmem(allocate, size, &err) : NULL;
	b = a ? map_p2pmem(allocate, size, &err) : NULL;
	want = malloc(size);
	if (!b || !want || ibv_query_gid(ctx, 1, gid_index, &gid)) {
		fail("hold ODP MRs on p2pmem", "setup failed");
		return 1;
	}
	mr_a = ibv_reg_mr(pd, a, size, access);
	mr_b = mr_a ? ibv_reg_mr(pd, b, size, access) : NULL;
	if (!mr_b) {
		fail("hold ODP MRs on p2pmem", "ibv_reg_mr: %s", strerror(errno));
		return 1;
	}
	if (create_side(ctx, pd, &sa) || create_side(ctx, pd, &sb) ||
	    connect_qp(sa.qp, sb.qp->qp_num, &gid, gid_index) ||
	    connect_qp(sb.qp, sa.qp->qp_num, &gid, gid_index)) {
		fail("hold ODP MRs on p2pmem", "QPs: %s", strerror(errno));
		return 1;
	}
	pattern(want, size, 9);
	memcpy(a, want, size);
	memset(b, 0, size);
	if (post_op("odp write before removal", &sa, IBV_WR_RDMA_WRITE, mr_a,
		    a, mr_b, b, size))
		return 1;
	judge("odp write before removal", b, want, size, 0);

	act.sa_handler = on_sigusr1;
	sigaction(SIGUSR1, &act, NULL);
	act.sa_handler = on_sigbus;
	sigaction(SIGBUS, &act, NULL);
	sigaction(SIGSEGV, &act, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	printf("READY\n");
	fflush(stdout);
	while (!access_requested)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);

	{
		struct ibv_sge sge = { .addr = (uintptr_t)a,
				       .length = (uint32_t)size,
				       .lkey = mr_a->lkey };
		struct ibv_send_wr wr = {
			.wr_id = 5, .sg_list = &sge, .num_sge = 1,
			.opcode = IBV_WR_RDMA_WRITE,
			.send_flags = IBV_SEND_SIGNALED,
		}, *bad;

		wr.wr.rdma.remote_addr = (uintptr_t)b;
		wr.wr.rdma.rkey = mr_b->rkey;
		if (ibv_post_send(sa.qp, &wr, &bad))
			printf("AFTER: post failed: %s\n", strerror(errno));
		else if (wait_wc(sa.cq, &wc, 60))
			printf("AFTER: no completion within 60 s\n");
		else
			printf("AFTER: %s\n", ibv_wc_status_str(wc.status));
	}
	fflush(stdout);

	va = a;
	if (sigsetjmp(access_fault, 1))
		printf("ACCESS: SIGBUS\n");
	else
		printf("ACCESS: read 0x%02x\n", va[0]);
	fflush(stdout);

	ibv_destroy_qp(sa.qp);
	ibv_destroy_qp(sb.qp);
	ibv_destroy_cq(sa.cq);
	ibv_destroy_cq(sb.cq);
	e1 = ibv_dereg_mr(mr_a);
	e2 = ibv_dereg_mr(mr_b);
	if (e1 || e2)
		printf("DEREG: %s\n", strerror(e1 ? e1 : e2));
	else
		printf("DEREG: ok\n");
	munmap(a, size);
	munmap(b, size);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	printf("DONE\n");
	return 0;
}

static int cmd_fill(const char *allocate, size_t size, int seed)
{
	unsigned char *want = malloc(size);
	char name[128];
	void *p;
	int err;

	snprintf(name, sizeof(name), "fill %zu bytes of p2pmem with a pattern",
		 size);
	p = map_p2pmem(allocate, size, &err);
	if (!p || !want) {
		fail(name, "mmap: %s", strerror(err));
		return 1;
	}
	pattern(want, size, seed);
	memcpy(p, want, size);
	munmap(p, size);
	free(want);
	pass(name);
	return 0;
}

static int cmd_fresh(const char *allocate, size_t size, int seed,
		     const char *expect)
{
	unsigned char *want = malloc(size), *got = malloc(size);
	size_t i, zero = 0, same = 0;
	char name[200];
	void *p;
	int err;

	snprintf(name, sizeof(name), "a fresh %zu-byte p2pmem mapping %s",
		 size, !strcmp(expect, "zero") ? "reads as zero" :
		 "still holds the previous user's data (not cleared)");
	p = map_p2pmem(allocate, size, &err);
	if (!p || !want || !got) {
		fail(name, "mmap: %s", strerror(err));
		return 1;
	}
	pattern(want, size, seed);
	memcpy(got, p, size);
	munmap(p, size);
	for (i = 0; i < size; i++) {
		zero += got[i] == 0;
		same += got[i] == want[i] && want[i] != 0;
	}
	if (!strcmp(expect, "zero") ? zero == size : same > size / 2)
		pass(name);
	else
		fail(name, "%zu bytes zero, %zu bytes of the previous pattern",
		     zero, same);
	free(want);
	free(got);
	return failures != 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: p2p_verbs_test mmap ALLOCATE AVAILABLE SIZE\n"
		"       p2p_verbs_test reg-mr-fails ALLOCATE DEVICE ERRNO\n"
		"       p2p_verbs_test rdma ALLOCATE DEVICE GID-INDEX SIZE\n"
		"       p2p_verbs_test hold-mr ALLOCATE DEVICE SIZE\n"
		"       p2p_verbs_test hold-map ALLOCATE SIZE\n"
		"       p2p_verbs_test hold-rdma ALLOCATE DEVICE GID-INDEX SIZE\n"
		"       p2p_verbs_test fresh-alloc ALLOCATE SIZE zero|leftover\n"
		"       p2p_verbs_test peer ALLOCATE DEVICE GID-INDEX SIZE PORT [HOST]\n"
		"       p2p_verbs_test reg-mr-fails ALLOCATE DEVICE ERRNO ro\n"
		"       p2p_verbs_test xfer ALLOCATE|anon DEVICE GID-INDEX SIZE [--odp]\n"
		"                      [--mtu N] [--offset N] [--send] [--atomics]\n"
		"                      [--expect-corruption]\n"
		"       p2p_verbs_test hold-odp ALLOCATE DEVICE GID-INDEX SIZE\n"
		"       p2p_verbs_test fill ALLOCATE SIZE SEED\n"
		"       p2p_verbs_test fresh ALLOCATE SIZE SEED zero|stale\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "mmap"))
		return cmd_mmap(argv[2], argv[3], strtoul(argv[4], NULL, 0));
	if (argc == 5 && !strcmp(argv[1], "reg-mr-fails"))
		return cmd_reg_mr_fails(argv[2], argv[3], argv[4], 0);
	if (argc == 6 && !strcmp(argv[1], "reg-mr-fails") &&
	    !strcmp(argv[5], "ro"))
		return cmd_reg_mr_fails(argv[2], argv[3], argv[4], 1);
	if (argc >= 6 && !strcmp(argv[1], "xfer"))
		return cmd_xfer(argc - 2, argv + 2);
	if (argc == 6 && !strcmp(argv[1], "hold-odp"))
		return cmd_hold_odp(argv[2], argv[3], atoi(argv[4]),
				    strtoul(argv[5], NULL, 0));
	if (argc == 5 && !strcmp(argv[1], "fill"))
		return cmd_fill(argv[2], strtoul(argv[3], NULL, 0), atoi(argv[4]));
	if (argc == 6 && !strcmp(argv[1], "fresh"))
		return cmd_fresh(argv[2], strtoul(argv[3], NULL, 0), atoi(argv[4]),
				 argv[5]);
	if (argc == 6 && !strcmp(argv[1], "rdma"))
		return cmd_rdma(argv[2], argv[3], atoi(argv[4]),
				strtoul(argv[5], NULL, 0));
	if (argc == 5 && !strcmp(argv[1], "hold-mr"))
		return cmd_hold_mr(argv[2], argv[3], strtoul(argv[4], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "hold-map"))
		return cmd_hold_map(argv[2], strtoul(argv[3], NULL, 0));
	if (argc == 6 && !strcmp(argv[1], "hold-rdma"))
		return cmd_hold_rdma(argv[2], argv[3], atoi(argv[4]),
				     strtoul(argv[5], NULL, 0));
	if (argc == 5 && !strcmp(argv[1], "fresh-alloc"))
		return cmd_fresh_alloc(argv[2], strtoul(argv[3], NULL, 0),
				       argv[4]);
	if ((argc == 7 || argc == 8) && !strcmp(argv[1], "peer"))
		return cmd_peer(argv[2], argv[3], atoi(argv[4]),
				strtoul(argv[5], NULL, 0), argv[6],
				argc == 8 ? argv[7] : NULL);
	usage();
	return 2;
}
