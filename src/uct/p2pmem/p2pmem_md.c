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
#ifdef HAVE_UCS_SYS_PTR_ARITH_H
#  include <ucs/sys/ptr_arith.h>  /* ucs_align_up_pow2 from 1.17 */
#endif
#include <ucs/sys/sys.h>
#include <ucs/sys/string.h>
#include <uct/api/version.h>
#include <dlfcn.h>
#include <elf.h>
#include <execinfo.h>
#include <link.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>


/*
 * uct_mem_alloc() logs "failed to allocate <n> bytes using md p2pmem for
 * <name>: <status>" as an error whenever this domain fails a request (1.13
 * always; 1.18 and 1.22 unless the caller passed UCT_MD_MEM_FLAG_HIDE_ERRORS),
 * even when its caller, UCP, then serves the request with the next
 * UCX_ALLOC_PRIO method. For such an expected fallback the module has
 * explained itself already, so that one line is dropped: a filter is pushed
 * on UCX's log handler stack right before the failure is returned and pops
 * itself on the next error line uct_mem_alloc logs in this thread (the one),
 * dropping it only if it is exactly the expected text. Direct UCT callers get
 * no fallback, so their line is left alone; nothing stays installed.
 */
typedef struct uct_p2pmem_log_expect {
    int  pushed;   /* this thread's filter is on UCX's handler stack */
    char line[512]; /* the line uct_mem_alloc will log */
} uct_p2pmem_log_expect_t;

static __thread uct_p2pmem_log_expect_t uct_p2pmem_log_expect;
/* UCX's handler stack has no lock: our pushes and pops take this one */
static pthread_mutex_t uct_p2pmem_log_lock = PTHREAD_MUTEX_INITIALIZER;

/* Who is asking, read from the call stack when it matters (not for
 * ucp_mem_map's requests that are served, the frequent case). */
typedef struct uct_p2pmem_caller {
    unsigned flags;          /* the request's UCT_MD_MEM_FLAG_* */
    int      known;          /* the two below are read */
    int      ucp;            /* UCP: tries its next UCX_ALLOC_PRIO method */
    int      uct_mem_alloc;  /* through uct_mem_alloc, which logs failures */
} uct_p2pmem_caller_t;

#define UCT_P2PMEM_CALLER_MAX_FRAMES 32

/* libucp's code, once seen loaded; [0, 0) before */
static uintptr_t uct_p2pmem_ucp_text[2];
/* uct_mem_alloc's code */
static uintptr_t uct_p2pmem_mem_alloc_text[2];
static pthread_once_t uct_p2pmem_mem_alloc_once = PTHREAD_ONCE_INIT;

static void uct_p2pmem_mem_alloc_text_init(void)
{
    const ElfW(Sym) *sym = NULL;
    Dl_info info;

    if (dladdr1((void*)uct_mem_alloc, &info, (void**)&sym, RTLD_DL_SYMENT) &&
        (sym != NULL) && (info.dli_saddr != NULL)) {
        uct_p2pmem_mem_alloc_text[0] = (uintptr_t)info.dli_saddr;
        uct_p2pmem_mem_alloc_text[1] = (uintptr_t)info.dli_saddr +
                                       sym->st_size;
    }
}

static int uct_p2pmem_find_ucp(struct dl_phdr_info *info, size_t size,
                               void *arg)
{
    const char *base = strrchr(info->dlpi_name, '/');
    uintptr_t *text  = arg, start;
    int i;

    base = (base != NULL) ? base + 1 : info->dlpi_name;
    if (strncmp(base, "libucp.so", 9)) {
        return 0;
    }
    for (i = 0; i < info->dlpi_phnum; ++i) {
        if ((info->dlpi_phdr[i].p_type == PT_LOAD) &&
            (info->dlpi_phdr[i].p_flags & PF_X)) {
            start   = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
            text[0] = (text[1] == 0) ? start : ucs_min(text[0], start);
            text[1] = ucs_max(text[1], start + info->dlpi_phdr[i].p_memsz);
        }
    }
    return 1;
}

/* UCP and UCT callers differ in what a failure means to them: the call
 * stack says which one this is (UCX passes nothing else that tells). */
static void uct_p2pmem_caller(uct_p2pmem_caller_t *caller)
{
    void *frames[UCT_P2PMEM_CALLER_MAX_FRAMES];
    uintptr_t ucp[2], pc;
    int i, n;

    if (caller->known) {
        return;
    }
    caller->known         = 1;
    caller->ucp           = 0;
    caller->uct_mem_alloc = 0;

    pthread_once(&uct_p2pmem_mem_alloc_once, uct_p2pmem_mem_alloc_text_init);
    ucp[1] = __atomic_load_n(&uct_p2pmem_ucp_text[1], __ATOMIC_ACQUIRE);
    ucp[0] = uct_p2pmem_ucp_text[0];
    if (ucp[1] == 0) {
        /* not loaded yet, or loaded since the last call */
        ucp[0] = ucp[1] = 0;
        dl_iterate_phdr(uct_p2pmem_find_ucp, ucp);
        if (ucp[1] != 0) {
            uct_p2pmem_ucp_text[0] = ucp[0];
            __atomic_store_n(&uct_p2pmem_ucp_text[1], ucp[1],
                             __ATOMIC_RELEASE);
        }
    }

    n = backtrace(frames, UCT_P2PMEM_CALLER_MAX_FRAMES);
    for (i = 1; i < n; ++i) {
        /* a return address: the call is the instruction before it */
        pc = (uintptr_t)frames[i] - 1;
        if ((pc >= uct_p2pmem_mem_alloc_text[0]) &&
            (pc < uct_p2pmem_mem_alloc_text[1])) {
            caller->uct_mem_alloc = 1;
        }
        if ((pc >= ucp[0]) && (pc < ucp[1])) {
            caller->ucp = 1;
            break;
        }
    }
}

static ucs_log_func_rc_t
uct_p2pmem_log_filter(const char *file, unsigned line, const char *function,
                      ucs_log_level_t level,
                      const ucs_log_component_config_t *comp_conf,
                      const char *message, va_list ap)
{
    uct_p2pmem_log_expect_t *expect = &uct_p2pmem_log_expect;
    char buf[sizeof(expect->line)];
    va_list aq;

    if (!expect->pushed || (level != UCS_LOG_LEVEL_ERROR) ||
        (function == NULL) || strcmp(function, "uct_mem_alloc")) {
        return UCS_LOG_FUNC_RC_CONTINUE;
    }

    /* uct_mem_alloc logs one error after the failure, this is it: remove
     * the filter (UCX's dispatch loop has read the count already and goes
     * on with the handlers below) and drop the line if it is the one */
    va_copy(aq, ap);
    vsnprintf(buf, sizeof(buf), message, aq);
    va_end(aq);
    pthread_mutex_lock(&uct_p2pmem_log_lock);
    ucs_log_pop_handler();
    expect->pushed = 0;
    pthread_mutex_unlock(&uct_p2pmem_log_lock);
    return strcmp(buf, expect->line) ? UCS_LOG_FUNC_RC_CONTINUE :
                                       UCS_LOG_FUNC_RC_STOP;
}

/*
 * A failure already explained is about to be returned: if UCP will fall
 * back after it and uct_mem_alloc will log it as an error, drop that line.
 * Called last before returning, so that nothing else is logged meanwhile.
 */
static void uct_p2pmem_log_expect_failure(uct_p2pmem_caller_t *caller,
                                          size_t length,
                                          const char *alloc_name,
                                          ucs_status_t status)
{
    uct_p2pmem_log_expect_t *expect = &uct_p2pmem_log_expect;
    unsigned num_handlers;

    uct_p2pmem_caller(caller);
    if (!caller->ucp || !caller->uct_mem_alloc ||
        !ucs_log_is_enabled(UCS_LOG_LEVEL_ERROR)) {
        return;
    }
#ifdef P2PMEM_UCT_MEM_ALLOC_HIDE_ERRORS
    if (caller->flags & UCT_MD_MEM_FLAG_HIDE_ERRORS) {
        return; /* logged at debug level: not an error to hide */
    }
#endif

    snprintf(expect->line, sizeof(expect->line),
             "failed to allocate %zu bytes using md %s for %s: %s", length,
             UCT_P2PMEM_NAME, alloc_name, ucs_status_string(status));
    if (expect->pushed) {
        return; /* still there: the last line never came */
    }
    pthread_mutex_lock(&uct_p2pmem_log_lock);
    num_handlers = ucs_log_num_handlers();
    ucs_log_push_handler(uct_p2pmem_log_filter);
    /* the stack has a fixed size: a full one takes nothing */
    expect->pushed = (ucs_log_num_handlers() == num_handlers + 1);
    pthread_mutex_unlock(&uct_p2pmem_log_lock);
}

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

void uct_p2pmem_md_caps(uct_md_h tl_md, uct_p2pmem_md_caps_t *caps)
{
    uct_p2pmem_md_t *md = ucs_derived_of(tl_md, uct_p2pmem_md_t);
    unsigned i;

    caps->max_alloc = 0;
    for (i = 0; i < md->num_selected; ++i) {
        caps->max_alloc = ucs_max(caps->max_alloc,
                                  uct_p2pmem_md_provider(md, i)->size);
    }
    /* no provider, nothing to allocate: UCP then skips this domain */
    caps->can_alloc = (md->num_selected > 0);
}

/* The running UCX release: libucp's, when the process has one. */
static void uct_p2pmem_ucx_version(unsigned *major, unsigned *minor)
{
    void (*get_version)(unsigned*, unsigned*, unsigned*);
    unsigned release;

    get_version = (void (*)(unsigned*, unsigned*, unsigned*))
                  dlsym(RTLD_DEFAULT, "ucp_get_version");
    if (get_version != NULL) {
        get_version(major, minor, &release);
    } else {
        *major = UCT_VERNO_MAJOR;
        *minor = UCT_VERNO_MINOR;
    }
}

/* Will UCP register host memory with On-Demand Paging? From UCX 1.16 it
 * does for the memory types in UCX_REG_NONBLOCK_MEM_TYPES. */
static int uct_p2pmem_reg_nonblock_host(void)
{
    const char *v = getenv("UCX_REG_NONBLOCK_MEM_TYPES");
    unsigned major, minor;
    char buf[256], *tok, *save;

    uct_p2pmem_ucx_version(&major, &minor);
    if ((v == NULL) || ((major == 1) && (minor < 16))) {
        return 0;
    }
    ucs_strncpy_zero(buf, v, sizeof(buf));
    for (tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (!strcasecmp(tok, "host") || !strcasecmp(tok, "all")) {
            return 1;
        }
    }
    return 0;
}

/* UCX 1.13's IB domain registers UCP_MEM_MAP_NONBLOCK memory with ODP only
 * up to UCX_IB_ODP_MAX_SIZE, whose "auto" is 0 with rdma-core (it reads the
 * limit from MLNX_OFED's experimental verbs only). */
static size_t uct_p2pmem_ib_odp_max_size(void)
{
    const char *v = getenv("UCX_IB_ODP_MAX_SIZE");
    unsigned long long n;
    char *end;

    if ((v == NULL) || !strcasecmp(v, "auto")) {
        return 0;
    }
    if (!strcasecmp(v, "inf")) {
        return SIZE_MAX;
    }
    n = strtoull(v, &end, 10);
    switch (*end) {
    case 'k': case 'K': n <<= 10; ++end; break;
    case 'm': case 'M': n <<= 20; ++end; break;
    case 'g': case 'G': n <<= 30; ++end; break;
    case 't': case 'T': n <<= 40; ++end; break;
    }
    if ((*end == 'b') || (*end == 'B')) {
        ++end;
    }
    return (*end == '\0') ? (size_t)n : 0;
}

/* Will UCP register this allocation through ODP? */
static int uct_p2pmem_md_reg_odp(const uct_p2pmem_md_t *md, size_t length,
                                 unsigned flags)
{
    unsigned major, minor;

    if (md->reg_nonblock_host) {
        return 1;
    }
    if (!(flags & UCT_MD_MEM_FLAG_NONBLOCK)) {
        return 0;
    }
    uct_p2pmem_ucx_version(&major, &minor);
    return ((major > 1) || (minor >= 16)) ||
           (length <= uct_p2pmem_ib_odp_max_size());
}

/* Said once per provider, when RDMA can register its memory only with ODP. */
static void uct_p2pmem_md_odp_only(uct_p2pmem_md_t *md,
                                   const ucs_p2pmem_provider_t *p,
                                   const char *rdma_dev, int err)
{
    unsigned major, minor;

    if (md->reg_nonblock_host) {
        ucs_diag("p2pmem: RDMA device %s cannot pin memory of %s%s "
                 "(ibv_reg_mr: %s) but registers it with On-Demand Paging, "
                 "and UCX_REG_NONBLOCK_MEM_TYPES=host makes UCP register "
                 "through ODP: using this provider", rdma_dev, p->name,
                 p->emulated ? " (emulated)" : "", strerror(err));
        return;
    }

    uct_p2pmem_ucx_version(&major, &minor);
    if ((major == 1) && (minor < 16)) {
        ucs_error("p2pmem: RDMA device %s cannot register memory of %s%s "
                  "by pinning (ibv_reg_mr: %s), only with On-Demand Paging. "
                  "UCX %u.%u registers through ODP only memory the "
                  "application maps with ucp_mem_map(UCP_MEM_MAP_NONBLOCK), "
                  "and only with UCX_IB_ODP_MAX_SIZE set (e.g. 1G; its "
                  "'auto' means 0 here): such allocations use this provider, "
                  "all others fall back to the next UCX_ALLOC_PRIO method. "
                  "Fix: UCX 1.16 or later with UCX_REG_NONBLOCK_MEM_TYPES=host, "
                  "or a 6.12 kernel with kernel-patches/v6.12 (see README).",
                  rdma_dev, p->name, p->emulated ? " (emulated)" : "",
                  strerror(err), major, minor);
    } else {
        ucs_error("p2pmem: RDMA device %s cannot register memory of %s%s "
                  "by pinning (ibv_reg_mr: %s), only with On-Demand Paging. "
                  "Set UCX_REG_NONBLOCK_MEM_TYPES=host so that UCP registers "
                  "host memory through ODP; until then allocations fall back "
                  "to the next UCX_ALLOC_PRIO method (those mapped with "
                  "UCP_MEM_MAP_NONBLOCK still use this provider).", rdma_dev,
                  p->name, p->emulated ? " (emulated)" : "", strerror(err));
    }
}

/* The arguments of the accept callback: who allocates, and how. */
typedef struct {
    uct_p2pmem_md_t *md;
    unsigned        flags;
} uct_p2pmem_md_accept_t;

/* RDMA cannot register memory of this provider at all: skip it for good. */
static int uct_p2pmem_md_reg_refused(ucs_p2pmem_prov_state_t *ps,
                                     const char *rdma_dev, int err)
{
    ps->disabled_errno = err;
    ucs_error("p2pmem: RDMA device %s cannot register memory of %s%s "
              "(ibv_reg_mr: %s): this kernel does not let RDMA pin "
              "P2PDMA memory. Skipping this provider; UCX falls back "
              "to the next UCX_ALLOC_PRIO method. Fix: boot a kernel "
              "with kernel-patches/v6.12 (see README), or one with "
              "On-Demand Paging for this device, or set "
              "UCX_P2PMEM_REG_CHECK=n if no RDMA transport will use "
              "p2pmem.", rdma_dev, ps->p->name,
              ps->p->emulated ? " (emulated)" : "", strerror(err));
    return err;
}

/*
 * Can RDMA register this allocation from the provider? The accept callback
 * of ucs_p2pmem_ctx_map(), which unmaps what it refuses. Probed once per
 * provider (with this first mapping): if the devices cannot register it at
 * all, the provider is skipped for good. If they can only through ODP, an
 * allocation is served when UCP will register it through ODP: host memory
 * listed in UCX_REG_NONBLOCK_MEM_TYPES (1.16+), or UCP_MEM_MAP_NONBLOCK
 * (UCT_MD_MEM_FLAG_NONBLOCK; on 1.13 only within UCX_IB_ODP_MAX_SIZE).
 * Called with md->lock held.
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
            return uct_p2pmem_md_reg_refused(ps, rdma_dev, err);
        }
        provider->odp_only = 1;
        uct_p2pmem_md_odp_only(a->md, ps->p, rdma_dev, err);
    }

    if (!provider->odp_only || uct_p2pmem_md_reg_odp(a->md, length, a->flags)) {
        return 0;
    }
    ucs_debug("p2pmem: %s: RDMA registers it only with ODP, and UCP will "
              "pin this allocation: not serving it", ps->p->name);
    return EPERM;
}

/*
 * Say once that the pools ran dry. An episode ends when memory is freed;
 * a new one is reported only after UCT_P2PMEM_EXHAUSTED_WARN_INTERVAL, so
 * that threads racing for a nearly full pool (free, exhaust, free, ...) do
 * not flood the log; the next warning counts what fell back meanwhile.
 * Called with md->lock held.
 */
static void uct_p2pmem_md_exhausted(uct_p2pmem_md_t *md, size_t length,
                                    const char *alloc_name,
                                    unsigned num_exhausted)
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
        ucs_debug("p2pmem: device memory exhausted again (%zu bytes for "
                  "'%s')", length, alloc_name);
        return;
    }

    if (md->last_warn == 0) {
        ucs_warn("p2pmem: device memory exhausted (%zu bytes requested for "
                 "'%s' from %u provider(s)); allocations fall back to the "
                 "next UCX_ALLOC_PRIO method until memory is freed", length,
                 alloc_name, num_exhausted);
    } else {
        ucs_warn("p2pmem: device memory exhausted again (%zu bytes requested "
                 "for '%s' from %u provider(s)); %llu allocation(s) fell back "
                 "to the next UCX_ALLOC_PRIO method since the last warning",
                 length, alloc_name, num_exhausted,
                 (unsigned long long)md->fallbacks);
    }
    md->last_warn = now;
    md->fallbacks = 0;
}

/*
 * Which requests this domain takes. It says it allocates, so every direct
 * UCT caller (uct_md_mem_alloc, uct_mem_alloc with this domain,
 * uct_iface_mem_alloc on its transport) is served. UCP asks every domain in
 * UCX_ALLOC_PRIO for its own buffer pools too (mpools such as ucp_reg_bufs
 * and ucp_rndv_frags, 1-byte probes such as get_alloc_md_map): those would
 * drain the small device pool, so a request that comes from UCP is served
 * only when it is ucp_mem_map's ("user memory"), unless
 * UCX_P2PMEM_ALLOC_INTERNAL=y. UCP then takes the next method.
 */
static ucs_status_t
uct_p2pmem_md_serves(uct_p2pmem_md_t *md, const char *alloc_name,
                     unsigned flags, ucs_memory_type_t mem_type,
                     size_t length, uct_p2pmem_caller_t *caller)
{
    caller->flags = flags;
    caller->known = 0;

    /* uct_mem_alloc asks only for what md_query offers; a direct caller
     * may ask for more */
    if (mem_type != UCS_MEMORY_TYPE_HOST) {
        ucs_error("p2pmem: cannot allocate %s memory ('%s'): P2PDMA memory "
                  "is host-addressable, ask for UCS_MEMORY_TYPE_HOST",
                  ucs_memory_type_names[mem_type], alloc_name);
        return UCS_ERR_UNSUPPORTED;
    }
    if (flags & UCT_MD_MEM_FLAG_FIXED) {
        ucs_error("p2pmem: cannot allocate '%s' at a fixed address: the "
                  "provider chooses where its memory is mapped; drop "
                  "UCT_MD_MEM_FLAG_FIXED", alloc_name);
        return UCS_ERR_UNSUPPORTED;
    }

    if (md->alloc_internal ||
        ((alloc_name != NULL) && !strcmp(alloc_name, UCT_P2PMEM_USER_ALLOC))) {
        return UCS_OK;
    }
    uct_p2pmem_caller(caller);
    if (!caller->ucp) {
        return UCS_OK;
    }

    ucs_debug("p2pmem: not serving UCP-internal pool '%s' (%zu bytes); set "
              "UCX_P2PMEM_ALLOC_INTERNAL=y to allow", alloc_name, length);
    uct_p2pmem_verbose(md, "%zu bytes for '%s': not served (UCP-internal "
                       "pool; UCX_P2PMEM_ALLOC_INTERNAL=y serves it)", length,
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

/* Why nothing was mapped, said once per kind; md->lock held. */
static void uct_p2pmem_md_not_served(uct_p2pmem_md_t *md, size_t length,
                                     const char *alloc_name,
                                     const ucs_p2pmem_map_result_t *result)
{
    const ucs_p2pmem_provider_t *largest;

    if (result->exhausted > 0) {
        uct_p2pmem_md_exhausted(md, length, alloc_name, result->exhausted);
    } else if ((result->oversize > 0) &&
               ucs_p2pmem_once(&md->oversize_warned)) {
        largest = ucs_p2pmem_ctx_largest(&md->ctx);
        ucs_warn("p2pmem: %zu bytes requested for '%s' are more than any "
                 "selected provider holds (%s: %llu bytes); such requests "
                 "go to the next UCX_ALLOC_PRIO method", length, alloc_name,
                 largest->name, (unsigned long long)largest->size);
    }
    uct_p2pmem_verbose(md, "%zu bytes for '%s': not served (%s); the next "
                       "UCX_ALLOC_PRIO method serves it", length, alloc_name,
                       (result->exhausted > 0) ? "exhausted" :
                       (result->oversize > 0) ? "more than any selected "
                       "provider holds" : "no usable provider");
}

static void uct_p2pmem_md_served(const uct_p2pmem_md_t *md,
                                 const uct_p2pmem_memh_t *memh,
                                 const ucs_p2pmem_provider_t *p,
                                 const char *alloc_name)
{
    ucs_debug("p2pmem: mapped %zu bytes at %p from %s%s for '%s' (%s)",
              memh->length, memh->address, p->name,
              p->emulated ? " (emulated provider)" : "", alloc_name,
              p->allocate_path);
    uct_p2pmem_verbose(md, "%zu bytes for '%s' at %p from %s%s", memh->length,
                       alloc_name, memh->address, p->name,
                       p->emulated ? " (emulated)" : "");
}

ucs_status_t
uct_p2pmem_md_mem_alloc(uct_md_h tl_md, size_t *length_p, void **address_p,
                        ucs_memory_type_t mem_type, unsigned flags,
                        const char *alloc_name, uct_mem_h *memh_p)
{
    uct_p2pmem_md_t *md                 = ucs_derived_of(tl_md,
                                                         uct_p2pmem_md_t);
    const uct_p2pmem_md_accept_t accept = {md, flags};
    ucs_p2pmem_map_result_t result;
    uct_p2pmem_caller_t caller;
    uct_p2pmem_memh_t *memh;
    ucs_status_t status;

    status = uct_p2pmem_md_serves(md, alloc_name, flags, mem_type, *length_p,
                                  &caller);
    if (status != UCS_OK) {
        goto err_explained;
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
        uct_p2pmem_md_not_served(md, memh->length, alloc_name, &result);
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

    uct_p2pmem_md_served(md, memh, uct_p2pmem_md_provider(md, result.index),
                         alloc_name);
    *length_p  = memh->length;
    *address_p = memh->address;
    *memh_p    = memh;
    return UCS_OK;

err_free_memh:
    ucs_free(memh);
err_explained:
    /* last: nothing else may be logged before uct_mem_alloc's line */
    uct_p2pmem_log_expect_failure(&caller, *length_p, alloc_name, status);
    return status;
}

ucs_status_t uct_p2pmem_md_mem_free(uct_md_h tl_md, uct_mem_h tl_memh)
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
        ucs_error("p2pmem: munmap(%p, %zu) failed: %s", memh->address,
                  memh->length, strerror(-ret));
        return UCS_ERR_INVALID_PARAM;
    }

    pthread_mutex_lock(&md->lock);
    memh->provider->bytes_mapped -= memh->length;
    md->exhausted                 = 0;
    pthread_mutex_unlock(&md->lock);

    ucs_debug("p2pmem: unmapped %zu bytes at %p", memh->length,
              memh->address);
    uct_p2pmem_verbose(md, "unmapped %zu bytes at %p%s", memh->length,
                       memh->address, md->scrub ? ", cleared" : "");
    ucs_free(memh);
    return UCS_OK;
}

static void uct_p2pmem_md_destroy(uct_p2pmem_md_t *md)
{
    pthread_mutex_destroy(&md->lock);
    ucs_free(md->provider);
    ucs_p2pmem_ctx_close(&md->ctx);
    ucs_free(md);
}

void uct_p2pmem_md_close(uct_md_h tl_md)
{
    uct_p2pmem_md_t *md = ucs_derived_of(tl_md, uct_p2pmem_md_t);
    unsigned i;

    for (i = 0; i < md->num_selected; ++i) {
        if (md->provider[i].bytes_mapped != 0) {
            ucs_debug("p2pmem: closing with %llu bytes still mapped from %s",
                      (unsigned long long)md->provider[i].bytes_mapped,
                      uct_p2pmem_md_provider(md, i)->name);
        }
    }
    uct_p2pmem_md_destroy(md);
}

/* Discover and select providers according to the configuration. */
static ucs_status_t
uct_p2pmem_md_discover(uct_p2pmem_md_t *md,
                       const uct_p2pmem_md_config_t *config)
{
    const ucs_p2pmem_config_t cfg = {
        .sysfs_root  = config->sysfs_root,
        .devices     = config->devices,
        /* the RDMA devices UCP will use: the same list the user gave UCP */
        .net_devices = getenv("UCX_NET_DEVICES")
    };
    unsigned i;
    int ret;

    ret = ucs_p2pmem_ctx_open(&cfg, &md->ctx, uct_p2pmem_report, NULL);
    if (ret != 0) {
        return (ret == -ENOMEM) ? UCS_ERR_NO_MEMORY :
               (ret == -EINVAL) ? UCS_ERR_INVALID_PARAM : UCS_ERR_IO_ERROR;
    }
    if (md->ctx.count == 0) {
        ucs_debug("p2pmem: %s", md->ctx.nodev_reason);
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

ucs_status_t
uct_p2pmem_md_open(uct_component_t *component, const char *md_name,
                   const uct_md_config_t *uct_md_config, uct_md_h *md_p)
{
    const uct_p2pmem_md_config_t *config =
            ucs_derived_of(uct_md_config, uct_p2pmem_md_config_t);
    uct_p2pmem_md_t *md;
    ucs_status_t status;

    md = ucs_calloc(1, sizeof(*md), "uct_p2pmem_md_t");
    if (md == NULL) {
        ucs_error("p2pmem: failed to allocate the memory domain");
        return UCS_ERR_NO_MEMORY;
    }

    md->super.ops       = &uct_p2pmem_md_ops;
    md->super.component = &uct_p2pmem_component;
    md->alloc_internal  = config->alloc_internal;
    md->reg_check       = config->reg_check;
    md->scrub           = config->scrub;
    md->verbose         = config->verbose;
    md->reg_nonblock_host = uct_p2pmem_reg_nonblock_host();
    pthread_mutex_init(&md->lock, NULL);

    status = uct_p2pmem_md_discover(md, config);
    if (status != UCS_OK) {
        goto err_destroy;
    }

    *md_p = &md->super;
    return UCS_OK;

err_destroy:
    uct_p2pmem_md_destroy(md);
    return status;
}
