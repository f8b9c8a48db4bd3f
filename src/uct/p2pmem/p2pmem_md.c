/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: the p2pmem UCT component and memory domain.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem_md.h"
#include "p2pmem_compat.h"

#include <ucs/debug/log.h>
#include <ucs/debug/memtrack_int.h>
#include <ucs/sys/math.h>
#include <ucs/sys/sys.h>
#include <ucs/sys/string.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>


/* The names UCP gives its own allocations in the release this module is
 * built for (configure reads them from UCP's sources); ucp_mem_map's
 * "user memory" is not one of them. */
static const char *uct_p2pmem_ucp_internal[] = {P2PMEM_UCP_ALLOC_NAMES};

/* each has a bit in internal_said */
typedef char uct_p2pmem_ucp_internal_fits[
        (ucs_static_array_size(uct_p2pmem_ucp_internal) <= 64) ? 1 : -1];

static void uct_p2pmem_report(void *arg, ucs_p2pmem_log_level_t level,
                              const char *message)
{
    switch (level) {
    case UCS_P2PMEM_LOG_ERROR:
        ucs_error("%s", message);
        break;
    case UCS_P2PMEM_LOG_WARN:
        ucs_warn("%s", message);
        break;
    default:
        ucs_debug("%s", message);
        break;
    }
}

/* UCX_P2PMEM_VERBOSE: one line on stderr, without UCX's debug log */
static void uct_p2pmem_verbose(const uct_p2pmem_md_t *md, const char *fmt,
                               ...)
{
    char buf[512];
    va_list ap;
    int n;

    if (!md->verbose) {
        return;
    }
    n = snprintf(buf, sizeof(buf), "p2pmem[%d]: ", (int)getpid());
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    strcat(buf, "\n");
    fputs(buf, stderr);
}

/*
 * The settings of UCP and of the IB domain that decide what this domain
 * should serve. UCX gives a memory domain only its own configuration
 * (UCX_P2PMEM_*): UCP parses UCX_NET_DEVICES and UCX_REG_NONBLOCK_MEM_TYPES,
 * the IB domain UCX_IB_ODP_MAX_SIZE, into structures private to them, and
 * no UCT call hands them to another domain. So they are read here, once,
 * from the environment UCX reads them from. Returns UCX_NET_DEVICES.
 */
static const char *uct_p2pmem_md_read_ucx_env(uct_p2pmem_md_t *md)
{
    const char *v;
#ifdef P2PMEM_UCT_IB_ODP_MAX_SIZE
    uint64_t size;
#endif
#ifdef P2PMEM_UCP_REG_NONBLOCK_MEM_TYPES
    char buf[256], *tok, *save;

    /* UCP registers these memory types with ODP (UCT_MD_MEM_FLAG_NONBLOCK) */
    v = getenv("UCX_REG_NONBLOCK_MEM_TYPES");
    ucs_strncpy_zero(buf, (v != NULL) ? v : "", sizeof(buf));
    for (tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        md->reg_nonblock_host |= !strcasecmp(tok, "host") ||
                                 !strcasecmp(tok, "all");
    }
#endif

    md->odp_max_size = SIZE_MAX;
#ifdef P2PMEM_UCT_IB_ODP_MAX_SIZE
    /* NONBLOCK memory goes through ODP only up to this; its "auto" is 0
     * with rdma-core (UCX reads it from MLNX_OFED's verbs only) */
    v = getenv("UCX_IB_ODP_MAX_SIZE");
    md->odp_max_size = ((v != NULL) &&
                        (ucs_p2pmem_parse_memunits(v, &size) == 0) &&
                        (size != UCS_P2PMEM_SIZE_AUTO)) ?
                       (size_t)ucs_min(size, SIZE_MAX) : 0;
#endif
    return getenv("UCX_NET_DEVICES");
}

/* Will UCP register this allocation through ODP? */
static int uct_p2pmem_md_reg_odp(const uct_p2pmem_md_t *md, size_t length,
                                 unsigned flags)
{
    return md->reg_nonblock_host ||
           ((flags & UCT_MD_MEM_FLAG_NONBLOCK) &&
            (length <= md->odp_max_size));
}

/* Said once per provider, when RDMA can register its memory only with ODP. */
static void uct_p2pmem_md_odp_only(const uct_p2pmem_md_t *md,
                                   const ucs_p2pmem_provider_t *p,
                                   const char *rdma_dev, int err)
{
    const char *emulated = p->emulated ? " (emulated)" : "";

    if (md->reg_nonblock_host) {
        ucs_diag("RDMA device %s cannot pin memory of %s%s (%s), using it "
                 "through on-demand paging", rdma_dev, p->name, emulated,
                 strerror(err));
        return;
    }
#ifdef P2PMEM_UCP_REG_NONBLOCK_MEM_TYPES
    ucs_error("RDMA device %s cannot register memory of %s%s by pinning "
              "(%s), only with on-demand paging. Set "
              "UCX_REG_NONBLOCK_MEM_TYPES=host to use it.", rdma_dev,
              p->name, emulated, strerror(err));
#else
    ucs_error("RDMA device %s cannot register memory of %s%s by pinning "
              "(%s), only with on-demand paging. Map with "
              "UCP_MEM_MAP_NONBLOCK and set UCX_IB_ODP_MAX_SIZE, or use a UCX "
              "with UCX_REG_NONBLOCK_MEM_TYPES=host.",
              rdma_dev, p->name, emulated, strerror(err));
#endif
}

/* The arguments of the accept callback: who allocates, and how. */
typedef struct {
    uct_p2pmem_md_t *md;
    unsigned        flags;
} uct_p2pmem_md_accept_t;

/*
 * Can RDMA register this allocation from the provider? The accept callback
 * of ucs_p2pmem_ctx_map(), which unmaps what it refuses. Probed once per
 * provider (with this first mapping): if the devices cannot register it at
 * all, the provider is skipped for good; if only through ODP, an
 * allocation is served when UCP will register it through ODP. Called with
 * md->lock held.
 */
static int uct_p2pmem_md_reg_usable(void *arg, ucs_p2pmem_prov_state_t *ps,
                                    void *address, size_t length)
{
    const uct_p2pmem_md_accept_t *a    = arg;
    uct_p2pmem_md_provider_t *provider = ps->user;
    char rdma_dev[64]                  = "";
    int err, odp_ok;

    if (!provider->reg_checked) {
        provider->reg_checked = 1;
        err = uct_p2pmem_md_regcheck(address, length, rdma_dev,
                                     sizeof(rdma_dev), &odp_ok);
        if (err == 0) {
            return 0;
        }
        if (!odp_ok) {
            ps->disabled_errno = err;
            ucs_error("RDMA device %s cannot register memory of %s%s (%s), "
                      "skipping it. Boot a kernel with kernel-patches/v6.12, "
                      "or set UCX_P2PMEM_REG_CHECK=n.", rdma_dev, ps->p->name,
                      ps->p->emulated ? " (emulated)" : "", strerror(err));
            return err;
        }
        provider->odp_only = 1;
        uct_p2pmem_md_odp_only(a->md, ps->p, rdma_dev, err);
    }

    if (!provider->odp_only || uct_p2pmem_md_reg_odp(a->md, length, a->flags)) {
        return 0;
    }
    ucs_debug("%s: registered only through odp, and UCP will pin this "
              "allocation", ps->p->name);
    return EPERM;
}

/* The level of the explanation of a failure UCP falls back from: what
 * uct_mem_alloc logs its own line at (debug when the caller hides errors). */
static ucs_log_level_t uct_p2pmem_md_fallback_level(unsigned flags)
{
#ifdef P2PMEM_UCT_MEM_ALLOC_HIDE_ERRORS
    if (flags & UCT_MD_MEM_FLAG_HIDE_ERRORS) {
        return UCS_LOG_LEVEL_DIAG;
    }
#endif
    return UCS_LOG_LEVEL_WARN;
}

/*
 * Say once that the pools ran dry. An episode ends when memory is freed;
 * a new one is reported only after UCT_P2PMEM_EXHAUSTED_WARN_INTERVAL, so
 * that threads racing for a nearly full pool do not flood the log; the next
 * warning counts what fell back meanwhile. Called with md->lock held.
 */
static void uct_p2pmem_md_exhausted(uct_p2pmem_md_t *md, size_t length,
                                    const char *alloc_name, const char *text)
{
    ucs_time_t now = ucs_get_time();

    ++md->fallbacks;
    if (md->exhausted) {
        return;
    }
    md->exhausted = 1;
    if ((md->last_warn != 0) &&
        (ucs_time_to_sec(now - md->last_warn) <
         UCT_P2PMEM_EXHAUSTED_WARN_INTERVAL)) {
        ucs_debug("%zu bytes for '%s': %s", length, alloc_name, text);
        return;
    }

    if (md->last_warn == 0) {
        ucs_warn("%zu bytes for '%s': %s", length, alloc_name, text);
    } else {
        ucs_warn("%zu bytes for '%s': %s (%llu fell back since the last "
                 "warning)", length, alloc_name, text,
                 (unsigned long long)md->fallbacks);
    }
    md->last_warn = now;
    md->fallbacks = 0;
}

/* Why nothing was mapped, said once per cause before UCX's own line;
 * md->lock held. */
static void uct_p2pmem_md_not_served(uct_p2pmem_md_t *md, size_t length,
                                     const char *alloc_name, unsigned flags,
                                     const ucs_p2pmem_map_result_t *result)
{
    char text[512];

    ucs_p2pmem_failure_text(&md->ctx, result->err, length,
                            result->last_failed, text, sizeof(text));
    if (result->err == ENOMEM) {
        uct_p2pmem_md_exhausted(md, length, alloc_name, text);
    } else if (result->err == EFBIG) {
        if (ucs_p2pmem_once(&md->oversize_warned)) {
            ucs_warn("'%s': %s", alloc_name, text);
        }
    } else if (ucs_p2pmem_once(&md->unusable_said)) {
        /* why each provider is out was said once, when it went out */
        ucs_log(uct_p2pmem_md_fallback_level(flags),
                "'%s': every selected provider is disabled or refused it",
                alloc_name);
    }
    uct_p2pmem_verbose(md, "%zu bytes for '%s': not served: %s", length,
                       alloc_name, text);
}

/* The index of alloc_name among UCP's own allocation names, or -1. */
static int uct_p2pmem_md_ucp_internal(const char *alloc_name)
{
    int i;

    for (i = 0; (alloc_name != NULL) &&
                (i < (int)ucs_static_array_size(uct_p2pmem_ucp_internal));
         ++i) {
        if (!strcmp(alloc_name, uct_p2pmem_ucp_internal[i])) {
            return i;
        }
    }
    return -1;
}

/*
 * Whom this domain serves, from the request alone. It says it allocates,
 * so it serves every request but those named like UCP's own allocations
 * (buffer pools, rendezvous fragments, probes): these would drain the small
 * device pool, so they are refused unless UCX_P2PMEM_ALLOC_INTERNAL=y, and
 * UCP takes its next UCX_ALLOC_PRIO method. Those names are UCP's: a direct
 * UCT caller using one is refused the same way.
 */
static ucs_status_t
uct_p2pmem_md_serves(uct_p2pmem_md_t *md, const char *alloc_name,
                     unsigned flags, ucs_memory_type_t mem_type,
                     size_t length)
{
    uint64_t bit;
    int i;

    /* uct_mem_alloc asks only for what md_query offers; a direct caller
     * may ask for more */
    if (mem_type != UCS_MEMORY_TYPE_HOST) {
        ucs_error("cannot allocate %s memory for '%s': p2pmem is host "
                  "memory", ucs_memory_type_names[mem_type], alloc_name);
        return UCS_ERR_UNSUPPORTED;
    }
    if (flags & UCT_MD_MEM_FLAG_FIXED) {
        ucs_error("cannot map '%s' at a fixed address: the provider chooses "
                  "it", alloc_name);
        return UCS_ERR_UNSUPPORTED;
    }

    i = uct_p2pmem_md_ucp_internal(alloc_name);
    if (md->alloc_internal || (i < 0)) {
        return UCS_OK;
    }
    bit = UCS_BIT(i);
    if (!(__atomic_fetch_or(&md->internal_said, bit, __ATOMIC_RELAXED) &
          bit)) {
        ucs_log(uct_p2pmem_md_fallback_level(flags),
                "not serving UCP-internal '%s' "
                "(UCX_P2PMEM_ALLOC_INTERNAL=n)", alloc_name);
    }
    uct_p2pmem_verbose(md, "%zu bytes for '%s': not served (UCP-internal; "
                       "UCX_P2PMEM_ALLOC_INTERNAL=y serves it)", length,
                       alloc_name);
    return UCS_ERR_UNSUPPORTED;
}

/* Whole pages; SIZE_MAX-like lengths stay whole (rounding would wrap to 0,
 * and a 0-byte mmap fails like a broken provider): they are larger than
 * any provider anyway. */
static size_t uct_p2pmem_md_alloc_length(size_t length)
{
    length = ucs_max(length, (size_t)1);
    if (length <= SIZE_MAX - ucs_get_page_size() + 1) {
        length = ucs_align_up_pow2(length, ucs_get_page_size());
    }
    return length;
}

static ucs_status_t
uct_p2pmem_md_mem_alloc(uct_md_h tl_md, size_t *length_p, void **address_p,
                        ucs_memory_type_t mem_type,
                        UCT_P2PMEM_SYS_DEV_ARG(sys_dev) unsigned flags,
                        const char *alloc_name, uct_mem_h *memh_p)
{
    uct_p2pmem_md_t *md                 = ucs_derived_of(tl_md,
                                                         uct_p2pmem_md_t);
    const uct_p2pmem_md_accept_t accept = {md, flags};
    const ucs_p2pmem_provider_t *p;
    ucs_p2pmem_map_result_t result;
    uct_p2pmem_memh_t *memh;
    ucs_status_t status;

    status = uct_p2pmem_md_serves(md, alloc_name, flags, mem_type,
                                  *length_p);
    if (status != UCS_OK) {
        return status;
    }

    memh = ucs_malloc(sizeof(*memh), "p2pmem memh");
    if (memh == NULL) {
        return UCS_ERR_NO_MEMORY;
    }
    memh->length = uct_p2pmem_md_alloc_length(*length_p);

    pthread_mutex_lock(&md->lock);
    if (ucs_p2pmem_ctx_map(&md->ctx, memh->length,
                           md->reg_check ? uct_p2pmem_md_reg_usable : NULL,
                           (void*)&accept, &result) != 0) {
        uct_p2pmem_md_not_served(md, memh->length, alloc_name, flags,
                                 &result);
        pthread_mutex_unlock(&md->lock);
        status = UCS_ERR_NO_MEMORY;
        goto err_free_memh;
    }
    memh->address  = result.address;
    memh->provider = md->ctx.providers[result.index].user;
    memh->owner    = getpid();
    memh->provider->bytes_mapped += memh->length;
    md->exhausted  = 0;
    pthread_mutex_unlock(&md->lock);

    p = uct_p2pmem_md_provider(md, result.index);
    ucs_debug("mapped %zu bytes at %p from %s%s for '%s' (%s)", memh->length,
              memh->address, p->name, p->emulated ? " (emulated provider)" :
              "", alloc_name, p->allocate_path);
    uct_p2pmem_verbose(md, "%zu bytes for '%s' at %p from %s%s", memh->length,
                       alloc_name, memh->address, p->name,
                       p->emulated ? " (emulated)" : "");
    *length_p  = memh->length;
    *address_p = memh->address;
    *memh_p    = memh;
    return UCS_OK;

err_free_memh:
    ucs_free(memh);
    return status;
}

static ucs_status_t uct_p2pmem_md_mem_free(uct_md_h tl_md, uct_mem_h tl_memh)
{
    uct_p2pmem_md_t *md     = ucs_derived_of(tl_md, uct_p2pmem_md_t);
    uct_p2pmem_memh_t *memh = tl_memh;
    int ret;

    /* the next holder gets the memory as it is: clear it, unless it is a
     * mapping a forked child shares with its parent */
    if (md->scrub && (memh->owner == getpid())) {
        ucs_p2pmem_scrub(memh->address, memh->length);
    }
    ret = ucs_p2pmem_unmap(memh->address, memh->length);
    if (ret != 0) {
        ucs_error("munmap(%p, %zu) failed: %s", memh->address, memh->length,
                  strerror(-ret));
        return UCS_ERR_INVALID_PARAM;
    }

    pthread_mutex_lock(&md->lock);
    memh->provider->bytes_mapped -= memh->length;
    md->exhausted                 = 0;
    pthread_mutex_unlock(&md->lock);

    ucs_debug("unmapped %zu bytes at %p", memh->length, memh->address);
    uct_p2pmem_verbose(md, "unmapped %zu bytes at %p%s", memh->length,
                       memh->address, md->scrub ? ", cleared" : "");
    ucs_free(memh);
    return UCS_OK;
}

static ucs_status_t uct_p2pmem_md_query(uct_md_h tl_md,
                                        uct_p2pmem_md_attr_t *md_attr)
{
    uct_p2pmem_md_t *md = ucs_derived_of(tl_md, uct_p2pmem_md_t);
    uint64_t max_alloc  = 0;
    unsigned i;

    for (i = 0; i < md->num_selected; ++i) {
        max_alloc = ucs_max(max_alloc, uct_p2pmem_md_provider(md, i)->size);
    }

    /* nothing registered, no remote key: UCX's defaults */
    uct_p2pmem_md_attr_init(md_attr);
    /* no provider, nothing to allocate: UCP then skips this domain */
    UCT_P2PMEM_MD_CAP(md_attr)->flags            = (md->num_selected > 0) ?
                                                   UCT_MD_FLAG_ALLOC : 0;
    UCT_P2PMEM_MD_CAP(md_attr)->alloc_mem_types  = UCS_BIT(
                                                   UCS_MEMORY_TYPE_HOST);
    UCT_P2PMEM_MD_CAP(md_attr)->access_mem_types = UCS_BIT(
                                                   UCS_MEMORY_TYPE_HOST);
    UCT_P2PMEM_MD_CAP(md_attr)->max_alloc        = max_alloc;
    UCT_P2PMEM_MD_CAP(md_attr)->max_reg          = 0;
    return UCS_OK;
}

static void uct_p2pmem_md_destroy(uct_p2pmem_md_t *md)
{
    pthread_mutex_destroy(&md->lock);
    ucs_free(md->provider);
    ucs_p2pmem_ctx_close(&md->ctx);
    ucs_free(md);
}

static void uct_p2pmem_md_close(uct_md_h tl_md)
{
    uct_p2pmem_md_t *md = ucs_derived_of(tl_md, uct_p2pmem_md_t);
    unsigned i;

    for (i = 0; i < md->num_selected; ++i) {
        if (md->provider[i].bytes_mapped != 0) {
            ucs_debug("closing with %llu bytes still mapped from %s",
                      (unsigned long long)md->provider[i].bytes_mapped,
                      uct_p2pmem_md_provider(md, i)->name);
        }
    }
    uct_p2pmem_md_destroy(md);
}

/* Discover and select providers according to the configuration. */
static ucs_status_t
uct_p2pmem_md_discover(uct_p2pmem_md_t *md,
                       const uct_p2pmem_md_config_t *config,
                       const char *net_devices)
{
    const ucs_p2pmem_config_t cfg = {
        .sysfs_root  = config->sysfs_root,
        .devices     = config->devices,
        .net_devices = net_devices
    };
    unsigned i;
    int ret;

    ret = ucs_p2pmem_ctx_open(&cfg, &md->ctx, uct_p2pmem_report, NULL);
    if (ret != 0) {
        return (ret == -ENOMEM) ? UCS_ERR_NO_MEMORY :
               (ret == -EINVAL) ? UCS_ERR_INVALID_PARAM : UCS_ERR_IO_ERROR;
    }
    if (md->ctx.count == 0) {
        ucs_debug("%s", md->ctx.nodev_reason);
    }

    md->provider = ucs_calloc(md->ctx.count + 1, sizeof(*md->provider),
                              "p2pmem providers");
    if (md->provider == NULL) {
        return UCS_ERR_NO_MEMORY;
    }
    for (i = 0; i < md->ctx.count; ++i) {
        md->ctx.providers[i].user = &md->provider[i];
    }
    md->num_selected = md->ctx.count;
    return UCS_OK;
}

static uct_md_ops_t uct_p2pmem_md_ops;

static ucs_status_t
uct_p2pmem_md_open(uct_component_t *component, const char *md_name,
                   const uct_md_config_t *uct_md_config, uct_md_h *md_p)
{
    const uct_p2pmem_md_config_t *config =
            ucs_derived_of(uct_md_config, uct_p2pmem_md_config_t);
    uct_p2pmem_md_t *md;
    ucs_status_t status;

    md = ucs_calloc(1, sizeof(*md), "uct_p2pmem_md_t");
    if (md == NULL) {
        ucs_error("failed to allocate the memory domain");
        return UCS_ERR_NO_MEMORY;
    }

    md->super.ops       = &uct_p2pmem_md_ops;
    md->super.component = &uct_p2pmem_component;
    md->alloc_internal  = config->alloc_internal;
    md->reg_check       = config->reg_check;
    md->scrub           = config->scrub;
    md->verbose         = config->verbose;
    pthread_mutex_init(&md->lock, NULL);

    status = uct_p2pmem_md_discover(md, config,
                                    uct_p2pmem_md_read_ucx_env(md));
    if (status != UCS_OK) {
        goto err_destroy;
    }

    *md_p = &md->super;
    return UCS_OK;

err_destroy:
    uct_p2pmem_md_destroy(md);
    return status;
}

static ucs_config_field_t uct_p2pmem_md_config_table[] = {
    {"", "", NULL,
     ucs_offsetof(uct_p2pmem_md_config_t, super),
     UCS_CONFIG_TYPE_TABLE(uct_md_config_table)},

    {"SYSFS_ROOT", UCS_P2PMEM_DEFAULT_SYSFS_ROOT,
     "Directory scanned for PCI devices with a p2pmem/ (P2PDMA) provider. RDMA\n"
     "devices are looked up under class/infiniband beside it.",
     ucs_offsetof(uct_p2pmem_md_config_t, sysfs_root), UCS_CONFIG_TYPE_STRING},

    {"DEVICES", "auto",
     "P2PDMA providers to allocate from, in priority order:\n"
     " auto - published providers nearest to the RDMA devices in use (PCI\n"
     "        topology, then NUMA node); an empty value means auto too\n"
     " all  - every provider found, nearest first\n"
     " <list> - comma-separated PCI addresses, e.g. 0000:01:00.0,0000:02:00.0",
     ucs_offsetof(uct_p2pmem_md_config_t, devices), UCS_CONFIG_TYPE_STRING},

    {"ALLOC_INTERNAL", "n",
     "Also serve UCP's own allocations: requests named like UCP's buffer\n"
     "pools and probes in this UCX release (e.g. ucp_reg_bufs,\n"
     "ucp_rndv_frags). Off by default so that UCP does not drain the device\n"
     "pool; UCP takes its next UCX_ALLOC_PRIO method. These names are\n"
     "reserved for UCP: a direct UCT caller using one is refused too. Every\n"
     "other request is served (ucp_mem_map's \"user memory\", uct_md_mem_alloc,\n"
     "uct_mem_alloc, uct_iface_mem_alloc).",
     ucs_offsetof(uct_p2pmem_md_config_t, alloc_internal),
     UCS_CONFIG_TYPE_BOOL},

    {"REG_CHECK", "y",
     "Before the first allocation from a provider is used, register it with\n"
     "every RDMA device. If any refuses (stock kernels do, with\n"
     "EFAULT), skip the provider with one error so that UCX falls back to its\n"
     "next allocation method instead of failing ucp_mem_map. Set to n only\n"
     "when no RDMA transport will register p2pmem.",
     ucs_offsetof(uct_p2pmem_md_config_t, reg_check), UCS_CONFIG_TYPE_BOOL},

    {"SCRUB", "y",
     "Clear device memory before giving it back to the provider. Kernels\n"
     "without a clearing patch hand it to the next process as it is. Memory\n"
     "of a process that is killed, or that exits without unmapping it, is\n"
     "not cleared.",
     ucs_offsetof(uct_p2pmem_md_config_t, scrub), UCS_CONFIG_TYPE_BOOL},

    {"VERBOSE", "n",
     "Print one line per allocation on stderr: size, provider and address of\n"
     "what was mapped, or why the next UCX_ALLOC_PRIO method serves it.",
     ucs_offsetof(uct_p2pmem_md_config_t, verbose), UCS_CONFIG_TYPE_BOOL},

    {NULL}
};

static uct_md_ops_t uct_p2pmem_md_ops = {
    .close              = uct_p2pmem_md_close,
    .query              = uct_p2pmem_md_query,
    .mem_alloc          = uct_p2pmem_md_mem_alloc,
    .mem_free           = uct_p2pmem_md_mem_free,
    .mem_advise         = (uct_md_mem_advise_func_t)
                          ucs_empty_function_return_unsupported,
    .mem_reg            = (uct_md_mem_reg_func_t)
                          ucs_empty_function_return_unsupported,
    .mem_dereg          = (uct_md_mem_dereg_func_t)
                          ucs_empty_function_return_unsupported,
    .mem_query          = (uct_md_mem_query_func_t)
                          ucs_empty_function_return_unsupported,
    /* UCP packs a key for every domain holding the memory: an empty one */
    .mkey_pack          = (uct_md_mkey_pack_func_t)
                          ucs_empty_function_return_success,
#ifdef HAVE_UCT_MD_OPS_T_IS_SOCKADDR_ACCESSIBLE
    .is_sockaddr_accessible = ucs_empty_function_return_zero_int,
#endif
#ifdef HAVE_UCT_MD_OPS_T_MEM_ATTACH
    .mem_attach         = (uct_md_mem_attach_func_t)
                          ucs_empty_function_return_unsupported,
#endif
#ifdef HAVE_UCT_MD_OPS_T_MEM_ELEM_PACK
    .mem_elem_pack      = (uct_md_mem_elem_pack_func_t)
                          ucs_empty_function_return_unsupported,
#endif
    .detect_memory_type = (uct_md_detect_memory_type_func_t)
                          ucs_empty_function_return_unsupported
};

uct_component_t uct_p2pmem_component = {
    .query_md_resources = uct_md_query_single_md_resource,
    .md_open            = uct_p2pmem_md_open,
    .cm_open            = (uct_component_cm_open_func_t)
                          ucs_empty_function_return_unsupported,
    /* UCP packs an empty remote key for this domain too (peers reach the
     * memory through the NIC's registration): UCX's stub unpacks it */
    .rkey_unpack        = uct_md_stub_rkey_unpack,
    .rkey_ptr           = (uct_component_rkey_ptr_func_t)
                          ucs_empty_function_return_unsupported,
    .rkey_release       = (uct_component_rkey_release_func_t)
                          ucs_empty_function_return_success,
#ifdef HAVE_UCT_COMPONENT_T_RKEY_COMPARE
    .rkey_compare       = uct_base_rkey_compare,
#endif
    .name               = UCT_P2PMEM_NAME,
    .md_config          = {
        .name           = "P2PDMA memory domain",
        .prefix         = "P2PMEM_",
        .table          = uct_p2pmem_md_config_table,
        .size           = sizeof(uct_p2pmem_md_config_t),
    },
    .cm_config          = UCS_CONFIG_EMPTY_GLOBAL_LIST_ENTRY,
    .tl_list            = UCT_COMPONENT_TL_LIST_INITIALIZER(
                                  &uct_p2pmem_component),
    .flags              = 0,
    .md_vfs_init        = (uct_component_md_vfs_init_func_t)ucs_empty_function
};
UCT_COMPONENT_REGISTER(&uct_p2pmem_component);
