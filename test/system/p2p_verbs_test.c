/*
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
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

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

static int rdma_op(const char *name, struct side *s, enum ibv_wr_opcode op,
		   struct ibv_mr *local, struct ibv_mr *remote, size_t size)
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
	if (wc.status != IBV_WC_SUCCESS) {
		fail(name, "completion status %s", ibv_wc_status_str(wc.status));
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
			 "kernel-patches/v7.3)", name, bad, size, first);
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
	usage();
	return 2;
}
