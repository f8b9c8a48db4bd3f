/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: PCI distance and provider selection.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem_sys_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    unsigned    index;
    int         distance;   /* PCI hops to the nearest RDMA device */
    int         numa_miss;  /* not on the reference NUMA node */
    const char *name;
} candidate_t;

static int pci_addr_equal(const ucs_p2pmem_pci_addr_t *a,
                          const ucs_p2pmem_pci_addr_t *b)
{
    return (a->domain == b->domain) && (a->bus == b->bus) &&
           (a->dev == b->dev) && (a->fn == b->fn);
}

int ucs_p2pmem_pci_distance(const ucs_p2pmem_pci_path_t *a,
                            const ucs_p2pmem_pci_path_t *b)
{
    unsigned common = 0;

    /* Traffic between host bridges goes through the CPU complex, which many
     * platforms do not route peer-to-peer at all: treat it as unreachable */
    if ((a->depth == 0) || (b->depth == 0) ||
        (a->host_bridge[0] == '\0') ||
        strcmp(a->host_bridge, b->host_bridge)) {
        return UCS_P2PMEM_DIST_UNREACHABLE;
    }

    while ((common < a->depth) && (common < b->depth) &&
           pci_addr_equal(&a->chain[common], &b->chain[common])) {
        ++common;
    }

    return (int)((a->depth - common) + (b->depth - common));
}

static int candidate_cmp(const void *pa, const void *pb)
{
    const candidate_t *a = pa, *b = pb;

    if (a->distance != b->distance) {
        return (a->distance < b->distance) ? -1 : 1;
    }
    if (a->numa_miss != b->numa_miss) {
        return a->numa_miss - b->numa_miss;
    }
    return strcmp(a->name, b->name);
}

/* Reference NUMA node: that of the RDMA devices, else the caller's. */
static int reference_node(const ucs_p2pmem_rdma_list_t *rdma, int local_node)
{
    unsigned i;

    for (i = 0; (rdma != NULL) && (i < rdma->count); ++i) {
        if (rdma->devs[i].numa_node != UCS_P2PMEM_NUMA_UNKNOWN) {
            return rdma->devs[i].numa_node;
        }
    }
    return local_node;
}

static void rank(const ucs_p2pmem_list_t *list,
                 const ucs_p2pmem_rdma_list_t *rdma, int ref_node,
                 candidate_t *c)
{
    const ucs_p2pmem_provider_t *p = &list->providers[c->index];
    unsigned i;
    int d;

    c->name     = p->name;
    c->distance = UCS_P2PMEM_DIST_UNREACHABLE;
    for (i = 0; (rdma != NULL) && (i < rdma->count); ++i) {
        if (rdma->devs[i].has_path && p->has_path) {
            d = ucs_p2pmem_pci_distance(&p->path, &rdma->devs[i].path);
            if (d < c->distance) {
                c->distance = d;
            }
        }
    }
    c->numa_miss = (ref_node == UCS_P2PMEM_NUMA_UNKNOWN) ||
                   (p->numa_node != ref_node);
}

/* LIST: the user's order is the priority order; addresses that match no
 * provider are reported, duplicates dropped. */
static unsigned select_list(const ucs_p2pmem_list_t *list,
                            const ucs_p2pmem_select_spec_t *spec,
                            unsigned *order, ucs_p2pmem_report_cb_t cb,
                            void *arg)
{
    char name[UCS_P2PMEM_PCI_NAME_MAX];
    unsigned i, j, k, n = 0;

    for (i = 0; i < spec->count; ++i) {
        for (j = 0; (j < list->count) &&
                    !pci_addr_equal(&spec->addrs[i], &list->providers[j].addr);
             ++j) {
        }
        ucs_p2pmem_format_pci_addr(&spec->addrs[i], name);
        if (j == list->count) {
            ucs_p2pmem_report(cb, arg, UCS_P2PMEM_LOG_WARN,
                   "selected device %s is not a usable P2PDMA "
                   "provider (no valid p2pmem/ directory for it)", name);
            continue;
        }
        for (k = 0; (k < n) && (order[k] != j); ++k) {
        }
        if (k < n) {
            continue; /* listed twice */
        }
        if (!list->providers[j].published) {
            ucs_p2pmem_report(cb, arg, UCS_P2PMEM_LOG_DEBUG,
                   "using unpublished provider %s as selected", name);
        }
        order[n++] = j;
    }
    return n;
}

/* AUTO keeps the nearest group only: by PCI distance when any provider
 * shares a host bridge with an RDMA device, else by NUMA node. */
static unsigned auto_nearest(const candidate_t *cands, unsigned n,
                             ucs_p2pmem_report_cb_t cb, void *arg)
{
    unsigned keep;

    for (keep = 1; keep < n; ++keep) {
        if ((cands[keep].distance != cands[0].distance) ||
            ((cands[0].distance == UCS_P2PMEM_DIST_UNREACHABLE) &&
             (cands[keep].numa_miss != cands[0].numa_miss))) {
            break;
        }
    }
    ucs_p2pmem_report(cb, arg, UCS_P2PMEM_LOG_DEBUG,
           "auto selected %u of %u published providers (%s)", keep, n,
           (cands[0].distance != UCS_P2PMEM_DIST_UNREACHABLE) ?
           "nearest to the RDMA devices by PCI topology" :
           (!cands[0].numa_miss ? "on the local NUMA node" :
                                  "no locality information"));
    return keep;
}

/* AUTO and ALL: the candidates (published ones for AUTO), ranked. */
static unsigned rank_candidates(const ucs_p2pmem_list_t *list,
                                const ucs_p2pmem_select_spec_t *spec,
                                const ucs_p2pmem_rdma_list_t *rdma,
                                int ref_node, candidate_t *cands,
                                ucs_p2pmem_report_cb_t cb, void *arg)
{
    unsigned i, n = 0;

    for (i = 0; i < list->count; ++i) {
        if ((spec->mode == UCS_P2PMEM_SELECT_AUTO) &&
            !list->providers[i].published) {
            ucs_p2pmem_report(cb, arg, UCS_P2PMEM_LOG_DEBUG,
                   "%s not published, not selected automatically",
                   list->providers[i].name);
            continue;
        }
        cands[n].index = i;
        rank(list, rdma, ref_node, &cands[n]);
        ++n;
    }
    qsort(cands, n, sizeof(*cands), candidate_cmp);
    return n;
}

unsigned ucs_p2pmem_select(const ucs_p2pmem_list_t *list,
                           const ucs_p2pmem_select_spec_t *spec,
                           const ucs_p2pmem_rdma_list_t *rdma, int local_node,
                           unsigned *order, ucs_p2pmem_report_cb_t cb,
                           void *arg)
{
    candidate_t *cands;
    unsigned i, n, keep;

    if (spec->mode == UCS_P2PMEM_SELECT_LIST) {
        return select_list(list, spec, order, cb, arg);
    }
    if (list->count == 0) {
        return 0;
    }

    cands = calloc(list->count, sizeof(*cands));
    if (cands == NULL) {
        ucs_p2pmem_report(cb, arg, UCS_P2PMEM_LOG_ERROR, "out of memory");
        return 0;
    }
    n    = rank_candidates(list, spec, rdma, reference_node(rdma, local_node),
                           cands, cb, arg);
    keep = n;
    if ((spec->mode == UCS_P2PMEM_SELECT_AUTO) && (n == 0)) {
        /* providers exist but "auto" may not take any: say why once, the
         * domain would otherwise just be empty */
        ucs_p2pmem_report(cb, arg, UCS_P2PMEM_LOG_WARN,
               "%u P2PDMA provider(s) found (%s%s), none published "
               "(p2pmem/published is 0: the driver keeps that memory for "
               "itself), so UCX_P2PMEM_DEVICES=auto selects none; name one in "
               "UCX_P2PMEM_DEVICES to use it anyway", list->count,
               list->providers[0].name, (list->count > 1) ? ", ..." : "");
    } else if (spec->mode == UCS_P2PMEM_SELECT_AUTO) {
        keep = auto_nearest(cands, n, cb, arg);
    }

    for (i = 0; i < keep; ++i) {
        order[i] = cands[i].index;
    }
    free(cands);
    return keep;
}
