/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: the one discovery and mapping pipeline. The UCT module and
 * libp2pmem (and so the preload) both open a context here and map from it,
 * so they select, order, skip and explain providers the same way.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem_sys_int.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int ucs_p2pmem_local_numa_node(void)
{
    unsigned cpu, node;

    return (getcpu(&cpu, &node) == 0) ? (int)node : UCS_P2PMEM_NUMA_UNKNOWN;
}

static const char *value_or(const char *v, const char *dflt)
{
    return (v == NULL) ? dflt : v;
}

/* A root the user set that is not there is a mistake, not a machine
 * without providers: say so (the scan then finds nothing). */
static void check_user_root(ucs_p2pmem_ctx_t *ctx, const char *root)
{
    struct stat st;
    int err;

    if (!strcmp(root, UCS_P2PMEM_DEFAULT_SYSFS_ROOT)) {
        return;
    }
    err = (stat(root, &st) != 0) ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
    if (err != 0) {
        ucs_p2pmem_report(ctx->report, ctx->report_arg, UCS_P2PMEM_LOG_WARN,
               "UCX_P2PMEM_SYSFS_ROOT=%s: %s; no p2pmem providers (unset it "
               "to scan %s)", root, strerror(err),
               UCS_P2PMEM_DEFAULT_SYSFS_ROOT);
    }
}

/* Why nothing is selected, with the fix: the same words for every caller. */
static void set_nodev_reason(ucs_p2pmem_ctx_t *ctx, const char *root,
                             const char *devices)
{
    if (ctx->list.count == 0) {
        snprintf(ctx->nodev_reason, sizeof(ctx->nodev_reason),
                 "no P2PDMA provider (<device>/p2pmem/) under %s; load a "
                 "driver that publishes one (e.g. nvme with a CMB) or set "
                 "UCX_P2PMEM_SYSFS_ROOT", root);
    } else {
        snprintf(ctx->nodev_reason, sizeof(ctx->nodev_reason),
                 "UCX_P2PMEM_DEVICES=%s selects none of the %u provider(s) "
                 "under %s (auto takes published ones only); try "
                 "UCX_P2PMEM_DEVICES=all or list PCI addresses", devices,
                 ctx->list.count, root);
    }
}

/* Select and order the scanned providers into ctx->providers. */
static int order_providers(ucs_p2pmem_ctx_t *ctx,
                           const ucs_p2pmem_select_spec_t *spec,
                           const ucs_p2pmem_rdma_list_t *rdma)
{
    unsigned *order, i;

    order          = calloc(ctx->list.count + 1, sizeof(*order));
    ctx->providers = calloc(ctx->list.count + 1, sizeof(*ctx->providers));
    if ((order == NULL) || (ctx->providers == NULL)) {
        free(order);
        return -ENOMEM;
    }
    ctx->count = ucs_p2pmem_select(&ctx->list, spec, rdma,
                                   ucs_p2pmem_local_numa_node(), order,
                                   ctx->report, ctx->report_arg);
    for (i = 0; i < ctx->count; ++i) {
        ctx->providers[i].p = &ctx->list.providers[order[i]];
        ucs_p2pmem_report(ctx->report, ctx->report_arg, UCS_P2PMEM_LOG_DEBUG,
               "provider %u: %s%s, %llu of %llu bytes available", i,
               ctx->providers[i].p->name,
               ctx->providers[i].p->emulated ? " (emulated)" : "",
               (unsigned long long)ctx->providers[i].p->available,
               (unsigned long long)ctx->providers[i].p->size);
    }
    free(order);
    return 0;
}

int ucs_p2pmem_ctx_open(const ucs_p2pmem_config_t *cfg, ucs_p2pmem_ctx_t *ctx,
                        ucs_p2pmem_report_cb_t report, void *arg)
{
    const char *root    = value_or(cfg->sysfs_root,
                                   UCS_P2PMEM_DEFAULT_SYSFS_ROOT);
    const char *devices = ((cfg->devices == NULL) ||
                           (cfg->devices[0] == '\0')) ? "auto" : cfg->devices;
    ucs_p2pmem_rdma_list_t rdma = {NULL, 0};
    ucs_p2pmem_select_spec_t spec;
    char bad[64];
    int ret;

    memset(ctx, 0, sizeof(*ctx));
    ctx->report     = report;
    ctx->report_arg = arg;

    ret = ucs_p2pmem_parse_select(devices, &spec, bad, sizeof(bad));
    if (ret != 0) {
        /* a long value is cut so that the bad token stays in the line */
        snprintf(ctx->nodev_reason, sizeof(ctx->nodev_reason),
                 "UCX_P2PMEM_DEVICES=%.64s%s: '%s' is not valid; use 'auto', "
                 "'all', or PCI addresses such as 0000:01:00.0 separated by "
                 "commas", devices, (strlen(devices) > 64) ? "..." : "", bad);
        ucs_p2pmem_report(report, arg, UCS_P2PMEM_LOG_ERROR, "%s",
                          ctx->nodev_reason);
        return ret;
    }

    check_user_root(ctx, root);
    ret = ucs_p2pmem_scan(root, &ctx->list, report, arg);
    if (ret != 0) {
        snprintf(ctx->nodev_reason, sizeof(ctx->nodev_reason),
                 "cannot read UCX_P2PMEM_SYSFS_ROOT=%s (%s); point it at the "
                 "PCI device directory", root, strerror(-ret));
        goto out;
    }

    if (spec.mode == UCS_P2PMEM_SELECT_AUTO) {
        /* the RDMA devices UCX is told to use: "auto" stays near them */
        ucs_p2pmem_scan_rdma(root, cfg->net_devices, &rdma, report, arg);
    }
    ret = order_providers(ctx, &spec, &rdma);
    if ((ret == 0) && (ctx->count == 0)) {
        set_nodev_reason(ctx, root, devices);
    }
    ucs_p2pmem_rdma_list_free(&rdma);
out:
    ucs_p2pmem_select_spec_free(&spec);
    return ret;
}

void ucs_p2pmem_ctx_close(ucs_p2pmem_ctx_t *ctx)
{
    free(ctx->providers);
    ctx->providers = NULL;
    ctx->count     = 0;
    ucs_p2pmem_list_free(&ctx->list);
}

const ucs_p2pmem_provider_t *ucs_p2pmem_ctx_largest(const ucs_p2pmem_ctx_t *ctx)
{
    const ucs_p2pmem_provider_t *best = ctx->providers[0].p;
    unsigned i;

    for (i = 1; i < ctx->count; ++i) {
        if (ctx->providers[i].p->size > best->size) {
            best = ctx->providers[i].p;
        }
    }
    return best;
}

/* An error that does not go away (permission, kernel): skip the provider
 * from now on, saying why once. */
static void disable(ucs_p2pmem_ctx_t *ctx, ucs_p2pmem_prov_state_t *ps,
                    int err)
{
    ps->disabled_errno = err;
    ucs_p2pmem_report(ctx->report, ctx->report_arg, UCS_P2PMEM_LOG_ERROR,
           "cannot allocate from %s%s, skipping it: %s: %s. %s",
           ps->p->name, ps->p->emulated ? " (emulated)" : "",
           ps->p->allocate_path, strerror(err), ucs_p2pmem_map_hint(err));
}

/* One try at provider ps: 0 with *address, or why not (counted in r). */
static int map_one(ucs_p2pmem_ctx_t *ctx, ucs_p2pmem_prov_state_t *ps,
                   size_t length, ucs_p2pmem_accept_cb_t accept,
                   void *accept_arg, ucs_p2pmem_map_result_t *r,
                   void **address)
{
    int err;

    *address = ucs_p2pmem_map(ps->p, length, &err);
    if (*address == NULL) {
        r->last_failed = ps->p;
        if (err == ENOMEM) {
            ++r->exhausted;
            ucs_p2pmem_report(ctx->report, ctx->report_arg,
                              UCS_P2PMEM_LOG_DEBUG, "%s has no room "
                              "for %zu bytes", ps->p->name, length);
        } else {
            disable(ctx, ps, err);
        }
        return err;
    }
    err = (accept != NULL) ? accept(accept_arg, ps, *address, length) : 0;
    if (err != 0) {
        ucs_p2pmem_unmap(*address, length);
        ++r->refused;
        *address = NULL;
    }
    return err;
}

int ucs_p2pmem_ctx_map(ucs_p2pmem_ctx_t *ctx, size_t length,
                       ucs_p2pmem_accept_cb_t accept, void *accept_arg,
                       ucs_p2pmem_map_result_t *result)
{
    ucs_p2pmem_prov_state_t *ps;
    int last_err = ENODEV;
    unsigned i;

    memset(result, 0, sizeof(*result));
    for (i = 0; i < ctx->count; ++i) {
        ps = &ctx->providers[i];
        if ((ps->disabled_errno == 0) && (length > ps->p->size)) {
            /* can never fit: not exhaustion, and not worth a syscall (an
             * emulated provider would even serve it) */
            ++result->oversize;
            continue;
        }
        if ((ps->disabled_errno == 0) &&
            (map_one(ctx, ps, length, accept, accept_arg, result,
                     &result->address) == 0)) {
            result->index = i;
            return 0;
        }
        if (ps->disabled_errno != 0) {
            last_err = ps->disabled_errno;
        }
    }

    result->err = (result->exhausted > 0) ? ENOMEM :
                  ((result->oversize > 0) && (last_err == ENODEV)) ? EFBIG :
                  last_err;
    return result->err;
}
