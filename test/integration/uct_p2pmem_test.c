/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem integration test: the p2pmem memory domain and transport as a
 * generic UCT user sees them, and the module's effect on UCX's log.
 *
 *   log stack  a handler pushed and popped around the first open of the
 *              domain leaves exactly the handlers there were
 *   UCT        uct_md_mem_alloc, uct_mem_alloc with the domain's method,
 *              uct_iface_mem_alloc on the p2pmem transport: served from the
 *              provider; uct_ep_create/uct_ep_destroy connected to the
 *              transport's own address
 *              a request named like a UCP pool is UCP's: refused (unless
 *              UCX_P2PMEM_ALLOC_INTERNAL=y)
 *   UCP        an internal pool (an active message with a user header sent
 *              by zero-copy takes a chunk of ucp_reg_bufs) and exhaustion
 *              fall back: the module's reason is logged before UCX's own
 *              "failed to allocate" line; the program's own errors and a
 *              direct UCT caller's real failure are printed; UCX's log
 *              handlers stay as they were; ucp_mem_map(ALLOCATE) is served
 *              from the provider
 *
 * Run with the module loaded (LD_PRELOAD on UCX 1.13/1.18), one emulated
 * provider and the emulated pool (test/emu), UCX_TLS=tcp,p2pmem and
 * UCX_ALLOC_PRIO starting with md:p2pmem. Every error and warning UCX logs
 * is also recorded by a handler of this program.
 * Prints "PASS: ..."/"FAIL: ..." per check and "N passed, N failed".
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include <ucp/api/ucp.h>
#include <uct/api/uct.h>
#include <uct/base/uct_md.h>   /* uct_md_mem_alloc: exported, not public */
#include <ucs/async/async.h>
#include <ucs/debug/log_def.h>

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "../maps.h"
#include "../ucp_wait.h"

#define KIB 1024ul
#define MIB (1024ul * KIB)

/* ---- what UCX logs, as the program's handler sees it ---- */

#define MAX_LINES 256

static struct {
    unsigned count;                 /* lines recorded, ever */
    char     line[MAX_LINES][512];  /* "LEVEL function: text" of the last
                                       errors and warnings */
} rec;

static unsigned mine_calls;

static ucs_log_func_rc_t
record(const char *file, unsigned line, const char *function,
       ucs_log_level_t level, const ucs_log_component_config_t *comp_conf,
       const char *message, va_list ap)
{
    char *out;
    int n;

    if (level > UCS_LOG_LEVEL_WARN) {
        return UCS_LOG_FUNC_RC_CONTINUE; /* the checks are about these */
    }
    out = rec.line[rec.count++ % MAX_LINES];
    n   = snprintf(out, sizeof(rec.line[0]), "%s %s: ",
                   (level <= UCS_LOG_LEVEL_ERROR) ? "ERROR" : "WARN",
                   function ? function : "?");
    vsnprintf(out + n, sizeof(rec.line[0]) - n, message, ap);
    return UCS_LOG_FUNC_RC_CONTINUE; /* UCX's own handler prints it too */
}

static ucs_log_func_rc_t
mine(const char *file, unsigned line, const char *function,
     ucs_log_level_t level, const ucs_log_component_config_t *comp_conf,
     const char *message, va_list ap)
{
    ++mine_calls;
    return UCS_LOG_FUNC_RC_CONTINUE;
}

/* Does recorded line i contain all of the (NULL-ended) words in ap? */
static int line_has(unsigned i, va_list ap)
{
    const char *word;
    int all = 1;

    while ((word = va_arg(ap, const char*)) != NULL) {
        all = all && (strstr(rec.line[i % MAX_LINES], word) != NULL);
    }
    return all;
}

/* The first recorded line since mark still kept. */
static unsigned first_kept(unsigned mark)
{
    return (rec.count - mark > MAX_LINES) ? rec.count - MAX_LINES : mark;
}

/* Lines recorded since mark that contain all of the (NULL-ended) words. */
static unsigned lines_since(unsigned mark, ...)
{
    unsigned i, found = 0;
    va_list ap;

    for (i = first_kept(mark); i < rec.count; ++i) {
        va_start(ap, mark);
        found += line_has(i, ap);
        va_end(ap);
    }
    return found;
}

/* Index (in rec.count terms) of the first line since mark that contains
 * all of the (NULL-ended) words; UINT_MAX if none. */
static unsigned first_line(unsigned mark, ...)
{
    unsigned i;
    va_list ap;
    int all;

    for (i = first_kept(mark); i < rec.count; ++i) {
        va_start(ap, mark);
        all = line_has(i, ap);
        va_end(ap);
        if (all) {
            return i;
        }
    }
    return UINT_MAX;
}

/* UCX_P2PMEM_ALLOC_INTERNAL=y: UCP's names are served too */
static int alloc_internal(void)
{
    const char *v = getenv("UCX_P2PMEM_ALLOC_INTERNAL");

    return (v != NULL) && (v[0] != '\0') && strchr("yY1", v[0]);
}

/* Both lines found, a before b. */
static int before(unsigned a, unsigned b)
{
    return (a != UINT_MAX) && (b != UINT_MAX) && (a < b);
}

/* ---- where memory comes from ---- */

/* A p2pmem allocation maps the provider's allocate file; the emulated
 * provider links it to /dev/zero, which the kernel shows as such. */
static int from_provider(const void *address, size_t length, char *path,
                         size_t size)
{
    volatile unsigned char *p = (volatile unsigned char*)address;

    mapping_of(address, path, size);
    if (!strstr(path, "/p2pmem/allocate") && strncmp(path, "/dev/zero", 9)) {
        return 0;
    }
    /* and it is memory: written and read back at both ends */
    p[0]          = 0xa5;
    p[length - 1] = 0x5a;
    return (p[0] == 0xa5) && (p[length - 1] == 0x5a);
}

/* ---- UCT ---- */

typedef struct {
    uct_component_h *components;
    unsigned        num_components;
    uct_md_h        md;
    size_t          max_alloc;
} domain_t;

static ucs_status_t domain_open(domain_t *d)
{
    uct_component_attr_t attr;
    uct_md_resource_desc_t *mds;
    uct_md_config_t *config;
    ucs_status_t status;
    unsigned i;

    d->md = NULL;
    status = uct_query_components(&d->components, &d->num_components);
    if (status != UCS_OK) {
        return status;
    }
    for (i = 0; i < d->num_components; ++i) {
        attr.field_mask = UCT_COMPONENT_ATTR_FIELD_NAME |
                          UCT_COMPONENT_ATTR_FIELD_MD_RESOURCE_COUNT;
        status = uct_component_query(d->components[i], &attr);
        if ((status != UCS_OK) || strcmp(attr.name, "p2pmem") ||
            (attr.md_resource_count != 1)) {
            continue;
        }
        mds = alloca(sizeof(*mds));
        attr.field_mask   = UCT_COMPONENT_ATTR_FIELD_MD_RESOURCES;
        attr.md_resources = mds;
        status = uct_component_query(d->components[i], &attr);
        if (status != UCS_OK) {
            return status;
        }
        status = uct_md_config_read(d->components[i], NULL, NULL, &config);
        if (status != UCS_OK) {
            return status;
        }
        status = uct_md_open(d->components[i], mds[0].md_name, config,
                             &d->md);
        uct_config_release(config);
        return status;
    }
    return UCS_ERR_NO_DEVICE;
}

static ucs_status_t md_mem_alloc(uct_md_h md, size_t *length, void **address,
                                 const char *name, uct_mem_h *memh)
{
    *address = NULL;
#ifdef P2PMEM_UCT_MEM_ALLOC_SYS_DEV
    return uct_md_mem_alloc(md, length, address, UCS_MEMORY_TYPE_HOST,
                            UCS_SYS_DEVICE_ID_UNKNOWN,
                            UCT_MD_MEM_ACCESS_ALL, name, memh);
#else
    return uct_md_mem_alloc(md, length, address, UCS_MEMORY_TYPE_HOST,
                            UCT_MD_MEM_ACCESS_ALL, name, memh);
#endif
}

/* uct_mem_alloc with the memory domain method and only this domain */
static ucs_status_t mem_alloc_md(uct_md_h md, size_t length, const char *name,
                                 uct_allocated_memory_t *mem)
{
    uct_alloc_method_t method = UCT_ALLOC_METHOD_MD;
    uct_mem_alloc_params_t params;

    memset(&params, 0, sizeof(params));
    params.field_mask = UCT_MEM_ALLOC_PARAM_FIELD_FLAGS |
                        UCT_MEM_ALLOC_PARAM_FIELD_MEM_TYPE |
                        UCT_MEM_ALLOC_PARAM_FIELD_MDS;
    params.flags      = UCT_MD_MEM_ACCESS_ALL;
    params.mem_type   = UCS_MEMORY_TYPE_HOST;
    params.mds.mds    = &md;
    params.mds.count  = 1;
    if (name != NULL) {
        params.field_mask |= UCT_MEM_ALLOC_PARAM_FIELD_NAME;
        params.name        = name;
    }
    return uct_mem_alloc(length, &method, 1, &params, mem);
}

static void test_md_alloc(domain_t *d)
{
    const size_t sizes[] = {4 * KIB, 64 * KIB, 1 * MIB + 1};
    uct_allocated_memory_t mem;
    uct_md_attr_t attr;
    ucs_status_t status;
    char path[512];
    size_t length;
    uct_mem_h memh;
    void *address;
    unsigned i;

    status = uct_md_query(d->md, &attr);
    d->max_alloc = (status == UCS_OK) ? attr.cap.max_alloc : 0;
    CHECK((status == UCS_OK) && (attr.cap.flags & UCT_MD_FLAG_ALLOC) &&
          (attr.cap.max_alloc > 2 * MIB),
          "uct_md_query: the domain allocates, up to %zu bytes", d->max_alloc);

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); ++i) {
        length = sizes[i];
        status = md_mem_alloc(d->md, &length, &address, "uct test buffer",
                              &memh);
        CHECK((status == UCS_OK) && (length >= sizes[i]) &&
              from_provider(address, sizes[i], path, sizeof(path)),
              "uct_md_mem_alloc(%zu): %s, %zu bytes at %p from '%s'",
              sizes[i], ucs_status_string(status), length, address, path);
        if (status == UCS_OK) {
            status = uct_md_mem_free(d->md, memh);
            CHECK(status == UCS_OK, "uct_md_mem_free: %s",
                  ucs_status_string(status));
        }
    }

    /* a name UCP gives one of its own pools is UCP's, whoever asks: the
     * rule is the request, not the caller */
    length = 64 * KIB;
    status = md_mem_alloc(d->md, &length, &address, "ucp_reg_bufs", &memh);
    if (alloc_internal()) {
        CHECK((status == UCS_OK) &&
              from_provider(address, length, path, sizeof(path)),
              "uct_md_mem_alloc named 'ucp_reg_bufs' with "
              "UCX_P2PMEM_ALLOC_INTERNAL=y: served (%s, '%s')",
              ucs_status_string(status), path);
    } else {
        CHECK(status == UCS_ERR_UNSUPPORTED,
              "uct_md_mem_alloc named 'ucp_reg_bufs' (a UCP pool's name): "
              "refused as UCP-internal (%s)", ucs_status_string(status));
    }
    if (status == UCS_OK) {
        uct_md_mem_free(d->md, memh);
    }

    /* what the domain cannot do: refused, saying why (uct_mem_alloc never
     * asks for it, md_query does not offer it) */
    for (i = 0; i < 2; ++i) {
        unsigned mark = rec.count;

        length  = 64 * KIB;
        address = NULL;
#ifdef P2PMEM_UCT_MEM_ALLOC_SYS_DEV
        status = uct_md_mem_alloc(d->md, &length, &address,
                                  i ? UCS_MEMORY_TYPE_HOST :
                                      UCS_MEMORY_TYPE_CUDA,
                                  UCS_SYS_DEVICE_ID_UNKNOWN,
                                  UCT_MD_MEM_ACCESS_ALL |
                                  (i ? UCT_MD_MEM_FLAG_FIXED : 0),
                                  "uct test bad", &memh);
#else
        status = uct_md_mem_alloc(d->md, &length, &address,
                                  i ? UCS_MEMORY_TYPE_HOST :
                                      UCS_MEMORY_TYPE_CUDA,
                                  UCT_MD_MEM_ACCESS_ALL |
                                  (i ? UCT_MD_MEM_FLAG_FIXED : 0),
                                  "uct test bad", &memh);
#endif
        CHECK((status == UCS_ERR_UNSUPPORTED) &&
              (lines_since(mark, "ERROR", i ? "at a fixed address" :
                           "cannot allocate cuda memory", NULL) == 1),
              "uct_md_mem_alloc of %s: %s, one error saying why",
              i ? "a fixed address" : "CUDA memory",
              ucs_status_string(status));
    }

    /* uct_mem_alloc: named and anonymous */
    for (i = 0; i < 2; ++i) {
        status = mem_alloc_md(d->md, 256 * KIB, i ? NULL : "uct test mem",
                              &mem);
        CHECK((status == UCS_OK) && (mem.method == UCT_ALLOC_METHOD_MD) &&
              (mem.md == d->md) &&
              from_provider(mem.address, 256 * KIB, path, sizeof(path)),
              "uct_mem_alloc(UCT_ALLOC_METHOD_MD, p2pmem, %s): %s, by the "
              "domain, from '%s'", i ? "no name" : "named",
              ucs_status_string(status), path);
        if (status == UCS_OK) {
            status = uct_mem_free(&mem);
            CHECK(status == UCS_OK, "uct_mem_free: %s",
                  ucs_status_string(status));
        }
    }
}

static void test_iface(domain_t *d)
{
    uct_tl_resource_desc_t *resources;
    uct_iface_config_t *config  = NULL;
    ucs_async_context_t *async  = NULL;
    uct_worker_h worker         = NULL;
    uct_iface_h iface           = NULL;
    uct_iface_params_t params;
    uct_allocated_memory_t mem;
    uct_iface_attr_t attr;
    uct_ep_params_t ep_params;
    uct_device_addr_t *dev_addr;
    uct_iface_addr_t *iface_addr;
    unsigned num_resources, i, mark;
    ucs_status_t status;
    char path[512];
    uct_ep_h ep;

    status = uct_md_query_tl_resources(d->md, &resources, &num_resources);
    for (i = 0; (status == UCS_OK) && (i < num_resources); ++i) {
        if (!strcmp(resources[i].tl_name, "p2pmem")) {
            break;
        }
    }
    CHECK((status == UCS_OK) && (i < num_resources),
          "the domain has a p2pmem transport resource (%u resources)",
          num_resources);
    if ((status != UCS_OK) || (i == num_resources)) {
        return;
    }

    memset(&params, 0, sizeof(params));
    params.field_mask           = UCT_IFACE_PARAM_FIELD_OPEN_MODE |
                                  UCT_IFACE_PARAM_FIELD_DEVICE;
    params.open_mode            = UCT_IFACE_OPEN_MODE_DEVICE;
    params.mode.device.tl_name  = resources[i].tl_name;
    params.mode.device.dev_name = resources[i].dev_name;
    status = ucs_async_context_create(UCS_ASYNC_MODE_THREAD_SPINLOCK, &async);
    if (status == UCS_OK) {
        status = uct_worker_create(async, UCS_THREAD_MODE_SINGLE, &worker);
    }
    if (status == UCS_OK) {
        status = uct_md_iface_config_read(d->md, "p2pmem", NULL, NULL,
                                          &config);
    }
    if (status == UCS_OK) {
        status = uct_iface_open(d->md, worker, &params, config, &iface);
    }
    CHECK(status == UCS_OK, "uct_iface_open(p2pmem, %s): %s",
          resources[i].dev_name, ucs_status_string(status));
    if (status != UCS_OK) {
        goto out;
    }

    status = uct_iface_query(iface, &attr);
    CHECK((status == UCS_OK) &&
          (attr.cap.flags == UCT_IFACE_FLAG_CONNECT_TO_IFACE),
          "uct_iface_query: connects to interfaces and offers no operation "
          "(flags 0x%" PRIx64 ")", (uint64_t)attr.cap.flags);

    /* memory for this transport comes from its domain */
    status = uct_iface_mem_alloc(iface, 128 * KIB, UCT_MD_MEM_ACCESS_ALL,
                                 "uct test iface", &mem);
    CHECK((status == UCS_OK) && (mem.method == UCT_ALLOC_METHOD_MD) &&
          (mem.md == d->md) &&
          from_provider(mem.address, 128 * KIB, path, sizeof(path)),
          "uct_iface_mem_alloc on the p2pmem transport: %s, by the domain, "
          "from '%s'", ucs_status_string(status), path);
    if (status == UCS_OK) {
        uct_iface_mem_free(&mem);
    }

    /* an endpoint connected to its own interface's address */
    dev_addr   = alloca(attr.device_addr_len + 1);
    iface_addr = alloca(attr.iface_addr_len + 1);
    status     = uct_iface_get_device_address(iface, dev_addr);
    if (status == UCS_OK) {
        status = uct_iface_get_address(iface, iface_addr);
    }
    CHECK(status == UCS_OK, "uct_iface_get_device_address, "
          "uct_iface_get_address (%zu and %zu bytes): %s",
          attr.device_addr_len, attr.iface_addr_len,
          ucs_status_string(status));
    CHECK(!uct_iface_is_reachable(iface, dev_addr, iface_addr),
          "uct_iface_is_reachable: no peer is reachable through p2pmem");

    memset(&ep_params, 0, sizeof(ep_params));
    ep_params.field_mask = UCT_EP_PARAM_FIELD_IFACE |
                           UCT_EP_PARAM_FIELD_DEV_ADDR |
                           UCT_EP_PARAM_FIELD_IFACE_ADDR;
    ep_params.iface      = iface;
    ep_params.dev_addr   = dev_addr;
    ep_params.iface_addr = iface_addr;
    status = uct_ep_create(&ep_params, &ep);
    CHECK(status == UCS_OK, "uct_ep_create to its own interface address: %s",
          ucs_status_string(status));
    if (status == UCS_OK) {
        status = uct_ep_flush(ep, 0, NULL);
        CHECK(status == UCS_OK, "uct_ep_flush: nothing outstanding (%s)",
              ucs_status_string(status));
        uct_ep_destroy(ep);
        CHECK(1, "uct_ep_destroy returned");
    }

    /* without an address to connect to: refused, saying so */
    mark                 = rec.count;
    ep_params.field_mask = UCT_EP_PARAM_FIELD_IFACE;
    status = uct_ep_create(&ep_params, &ep);
    CHECK((status == UCS_ERR_INVALID_PARAM) &&
          (lines_since(mark, "ERROR", "an endpoint connects to an "
                       "interface: pass iface, dev_addr and iface_addr",
                       NULL) == 1),
          "uct_ep_create without addresses: %s, one error naming what to pass",
          ucs_status_string(status));
    if (status == UCS_OK) {
        uct_ep_destroy(ep);
    }

out:
    if (iface != NULL) {
        uct_iface_close(iface);
    }
    if (config != NULL) {
        uct_config_release(config);
    }
    if (worker != NULL) {
        uct_worker_destroy(worker);
    }
    if (async != NULL) {
        ucs_async_context_destroy(async);
    }
    uct_release_tl_resource_list(resources);
}

/* ---- UCP ---- */

typedef struct {
    ucp_context_h context;
    ucp_worker_h  worker[2];
    ucp_ep_h      ep[2];      /* ep[i]: worker[i] to the other */
} ucp_pair_t;

static struct {
    int    received;
    size_t header_length, length;
    int    header_ok, data_ok;
} am;

static void fill(void *buf, size_t size, unsigned seed)
{
    unsigned char *p = buf;
    size_t i;

    for (i = 0; i < size; ++i) {
        p[i] = (unsigned char)((i * 131u) + seed + (i >> 12));
    }
}

static int same(const void *buf, size_t size, unsigned seed)
{
    unsigned char *ref = malloc(size);
    int ok;

    fill(ref, size, seed);
    ok = !memcmp(buf, ref, size);
    free(ref);
    return ok;
}

static ucs_status_t am_received(void *arg, const void *header,
                                size_t header_length, void *data,
                                size_t length,
                                const ucp_am_recv_param_t *param)
{
    am.received      = 1;
    am.header_length = header_length;
    am.length        = length;
    am.header_ok     = same(header, header_length, 7);
    am.data_ok       = !(param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) &&
                       same(data, length, 11);
    return UCS_OK;
}

static ucs_status_t pair_wait(ucp_pair_t *p, void *req)
{
    return wait_request(p->worker[0], p->worker[1], req);
}

static ucs_status_t ucp_pair_open(ucp_pair_t *p)
{
    ucp_params_t params         = {0};
    ucp_worker_params_t wparams = {0};
    ucp_am_handler_param_t handler = {0};
    ucp_ep_params_t ep_params   = {0};
    ucp_config_t *config;
    ucp_address_t *addr;
    size_t addr_len;
    ucs_status_t status;
    int i;

    status = ucp_config_read(NULL, NULL, &config);
    if (status != UCS_OK) {
        return status;
    }
    /* active messages by zero-copy from the first byte, never rendezvous:
     * a user header then goes into a buffer of UCP's ucp_reg_bufs pool */
    ucp_config_modify(config, "ZCOPY_THRESH", "0");
    ucp_config_modify(config, "RNDV_THRESH", "inf");
    params.field_mask = UCP_PARAM_FIELD_FEATURES;
    params.features   = UCP_FEATURE_AM | UCP_FEATURE_RMA;
    status = ucp_init(&params, config, &p->context);
    ucp_config_release(config);
    if (status != UCS_OK) {
        return status;
    }

    wparams.field_mask  = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
    wparams.thread_mode = UCS_THREAD_MODE_SINGLE;
    for (i = 0; i < 2; ++i) {
        status = ucp_worker_create(p->context, &wparams, &p->worker[i]);
        if (status != UCS_OK) {
            return status;
        }
    }
    for (i = 0; i < 2; ++i) {
        status = ucp_worker_get_address(p->worker[1 - i], &addr, &addr_len);
        if (status != UCS_OK) {
            return status;
        }
        ep_params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS;
        ep_params.address    = addr;
        status = ucp_ep_create(p->worker[i], &ep_params, &p->ep[i]);
        ucp_worker_release_address(p->worker[1 - i], addr);
        if (status != UCS_OK) {
            return status;
        }
    }
    handler.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID |
                         UCP_AM_HANDLER_PARAM_FIELD_CB;
    handler.id         = 1;
    handler.cb         = am_received;
    return ucp_worker_set_am_recv_handler(p->worker[1], &handler);
}

static void ucp_pair_close(ucp_pair_t *p)
{
    ucp_request_param_t param = {0};
    int i;

    param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    param.flags        = UCP_EP_CLOSE_FLAG_FORCE;
    for (i = 0; i < 2; ++i) {
        pair_wait(p, ucp_ep_close_nbx(p->ep[i], &param));
    }
    for (i = 0; i < 2; ++i) {
        ucp_worker_destroy(p->worker[i]);
    }
    ucp_cleanup(p->context);
}

static ucs_status_t map_alloc(ucp_pair_t *p, size_t size, ucp_mem_h *memh,
                              void **address)
{
    ucp_mem_map_params_t params = {0};
    ucp_mem_attr_t attr;
    ucs_status_t status;

    params.field_mask = UCP_MEM_MAP_PARAM_FIELD_LENGTH |
                        UCP_MEM_MAP_PARAM_FIELD_FLAGS;
    params.length     = size;
    params.flags      = UCP_MEM_MAP_ALLOCATE;
    status = ucp_mem_map(p->context, &params, memh);
    if (status != UCS_OK) {
        return status;
    }
    attr.field_mask = UCP_MEM_ATTR_FIELD_ADDRESS;
    status = ucp_mem_query(*memh, &attr);
    *address = attr.address;
    return status;
}

/* An active message with a user header, by zero-copy: UCP copies the header
 * into a buffer of its ucp_reg_bufs pool, which asks the domains of
 * UCX_ALLOC_PRIO for a chunk; p2pmem refuses it by default. */
static void test_ucp_internal_pool(ucp_pair_t *p, unsigned num_handlers,
                                   unsigned mark)
{
    ucp_request_param_t param = {0};
    char header[32];
    size_t length = 64 * KIB;
    unsigned mine, ucx;
    ucs_status_t status;
    void *data;

    data = malloc(length);
    fill(header, sizeof(header), 7);
    fill(data, length, 11);
    status = pair_wait(p, ucp_am_send_nbx(p->ep[0], 1, header,
                                             sizeof(header), data, length,
                                             &param));
    while ((status == UCS_OK) && !am.received) {
        ucp_worker_progress(p->worker[0]);
        ucp_worker_progress(p->worker[1]);
    }
    CHECK((status == UCS_OK) && am.received && am.header_ok && am.data_ok &&
          (am.header_length == sizeof(header)) && (am.length == length),
          "UCP active message with a %zu-byte header and %zu bytes of data "
          "by zero-copy: %s, delivered intact", sizeof(header), length,
          ucs_status_string(status));
    /* since the UCP context was created: the pool's first chunk may come
     * while the endpoints connect */
    mine = first_line(mark, "not serving UCP-internal 'ucp_reg_bufs'", NULL);
    ucx  = first_line(mark, "ERROR uct_mem_alloc: ", "using md p2pmem for "
                      "ucp_reg_bufs", NULL);
    if (alloc_internal()) {
        CHECK((mine == UINT_MAX) && (ucx == UINT_MAX),
              "UCX_P2PMEM_ALLOC_INTERNAL=y: ucp_reg_bufs served, no fallback "
              "line");
    } else {
        CHECK(before(mine, ucx),
              "UCP's ucp_reg_bufs pool falls back: the module's reason "
              "(line %u) comes before UCX's 'failed to allocate ... using md "
              "p2pmem for ucp_reg_bufs' (line %u)", mine, ucx);
    }
    CHECK(ucs_log_num_handlers() == num_handlers,
          "UCX's log handlers after the internal pool's fallback: %u "
          "(expected %u)", ucs_log_num_handlers(), num_handlers);
    free(data);
}

/* Exhaustion: UCP falls back without an error line; then an error of the
 * program and a direct UCT caller's failure are printed as they are. */
static void test_exhaustion(ucp_pair_t *p, domain_t *d, unsigned num_handlers)
{
    uct_allocated_memory_t mem;
    size_t length = 1 * MIB;
    ucs_status_t status;
    unsigned mark;
    char path[512], expect[128];
    ucp_mem_h memh;
    uct_mem_h held;
    void *address, *held_address;

    /* hold part of the pool so that a request of the pool's size does not
     * fit (exhaustion, not a request larger than the provider) */
    status = md_mem_alloc(d->md, &length, &held_address, "uct test hold",
                          &held);
    CHECK(status == UCS_OK, "uct_md_mem_alloc holds %zu bytes: %s", length,
          ucs_status_string(status));
    if (status != UCS_OK) {
        return;
    }

    mark   = rec.count;
    status = map_alloc(p, d->max_alloc, &memh, &address);
    CHECK((status == UCS_OK) &&
          !from_provider(address, d->max_alloc, path, sizeof(path)),
          "exhausted: ucp_mem_map(ALLOCATE, %zu) falls back to the next "
          "method: %s ('%s')", d->max_alloc, ucs_status_string(status),
          path[0] ? path : "anonymous");
    if (status == UCS_OK) {
        ucp_mem_unmap(p->context, memh);
    }
    CHECK(lines_since(mark, "device memory exhausted", NULL) == 1,
          "exhausted: the module says so once (%u lines)",
          lines_since(mark, "device memory exhausted", NULL));
    snprintf(expect, sizeof(expect),
             "failed to allocate %zu bytes using md p2pmem for user memory",
             d->max_alloc);
    CHECK(before(first_line(mark, "WARN", "for 'user memory': device memory "
                            "exhausted", NULL),
                 first_line(mark, "ERROR uct_mem_alloc: ", expect, NULL)),
          "exhausted: the module's reason comes before UCX's '%s'", expect);
    CHECK(ucs_log_num_handlers() == num_handlers,
          "UCX's log handlers after the fallback: %u (expected %u)",
          ucs_log_num_handlers(), num_handlers);

    mark = rec.count;
    ucs_error("uct_p2pmem_test: an error of the program after the fallback");
    CHECK(lines_since(mark, "ERROR", "an error of the program", NULL) == 1,
          "an unrelated error after the explained fallback is printed");

    /* a direct caller has no next method: its failure is a real error */
    mark   = rec.count;
    status = mem_alloc_md(d->md, d->max_alloc, "uct test exhausted", &mem);
    snprintf(expect, sizeof(expect),
             "failed to allocate %zu bytes using md p2pmem for uct test "
             "exhausted", d->max_alloc);
    CHECK(status == UCS_ERR_NO_MEMORY,
          "exhausted: uct_mem_alloc(UCT_ALLOC_METHOD_MD, p2pmem) fails: %s",
          ucs_status_string(status));
    if (status == UCS_OK) {
        uct_mem_free(&mem);
    }
    CHECK(lines_since(mark, "ERROR uct_mem_alloc: ", expect, NULL) == 1,
          "UCX's error for the direct caller's failure is printed");
    CHECK(before(first_line(mark, "for 'uct test exhausted': device memory "
                            "exhausted", NULL),
                 first_line(mark, "ERROR uct_mem_alloc: ", expect, NULL)),
          "the module's reason comes before it");
    CHECK(ucs_log_num_handlers() == num_handlers,
          "UCX's log handlers after the direct failure: %u (expected %u)",
          ucs_log_num_handlers(), num_handlers);

    uct_md_mem_free(d->md, held);

    /* with room again, UCP's user allocations are served */
    status = map_alloc(p, 64 * KIB, &memh, &address);
    CHECK((status == UCS_OK) &&
          from_provider(address, 64 * KIB, path, sizeof(path)),
          "ucp_mem_map(ALLOCATE, 64 KiB) is served from the provider: %s "
          "('%s')", ucs_status_string(status), path);
    if (status == UCS_OK) {
        ucp_mem_unmap(p->context, memh);
    }
}

int main(int argc, char **argv)
{
    unsigned base, mine_before, mark;
    ucs_status_t status;
    ucp_pair_t pair;
    domain_t d;

    /* The first open of the domain in this process, inside a handler of the
     * program (UCX's own test framework does that): popping it must leave
     * what there was. */
    base = ucs_log_num_handlers();
    ucs_log_push_handler(mine);
    status = domain_open(&d);
    ucs_log_pop_handler();
    CHECK(status == UCS_OK, "uct_md_open(p2pmem): %s",
          ucs_status_string(status));
    CHECK(ucs_log_num_handlers() == base,
          "a handler pushed and popped around the first open of the domain "
          "leaves %u log handler(s) (expected %u)", ucs_log_num_handlers(),
          base);
    mine_before = mine_calls;
    ucs_log_push_handler(record);
    ucs_error("uct_p2pmem_test: an error of the program after the open");
    CHECK((mine_calls == mine_before) &&
          (lines_since(0, "ERROR", "after the open", NULL) == 1),
          "after that, UCX's errors reach the handlers there are now, not "
          "the popped one");
    if (status != UCS_OK) {
        goto out;
    }

    test_md_alloc(&d);
    test_iface(&d);

    mark   = rec.count;
    status = ucp_pair_open(&pair);
    CHECK(status == UCS_OK, "UCP context, two workers, endpoints: %s",
          ucs_status_string(status));
    if (status == UCS_OK) {
        test_ucp_internal_pool(&pair, base + 1, mark);
        test_exhaustion(&pair, &d, base + 1);
        ucp_pair_close(&pair);
    }

    uct_md_close(d.md);
    uct_release_component_list(d.components);
out:
    ucs_log_pop_handler();
    CHECK(ucs_log_num_handlers() == base,
          "UCX's log handlers at the end: %u, as before the first open (%u)",
          ucs_log_num_handlers(), base);
    printf("%d passed, %d failed\n", passed, failed);
    return (failed == 0) ? 0 : 1;
}
