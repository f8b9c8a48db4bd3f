/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: the p2pmem transport (see p2pmem_iface.h for why it exists).
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem_iface.h"
#include "p2pmem_md.h"

#include <ucs/debug/log.h>
#include <ucs/debug/memtrack_int.h>
#include <ucs/sys/string.h>
#include <ucs/sys/topo/base/topo.h>
#include <ucs/type/class.h>
#include <string.h>


static ucs_config_field_t uct_p2pmem_iface_config_table[] = {
    /* uct_iface_mem_alloc on this transport: from its domain (1.13 and 1.18
     * allow only that for a domain that does not register; 1.22 follows
     * this list, whose generic default starts with huge pages) */
    {"", "ALLOC=md", NULL,
     ucs_offsetof(uct_p2pmem_iface_config_t, super),
     UCS_CONFIG_TYPE_TABLE(uct_iface_config_table)},

    {NULL}
};

static ucs_status_t uct_p2pmem_iface_query(uct_iface_h tl_iface,
                                           uct_iface_attr_t *iface_attr)
{
    uct_p2pmem_iface_t *iface = ucs_derived_of(tl_iface, uct_p2pmem_iface_t);

    uct_base_iface_query(&iface->super, iface_attr);

    /* UCP requires every worker transport to be connectable; this one
     * is (its endpoints do nothing), but no peer is ever reachable and it
     * offers no operation, so UCP never selects it for a lane. Its
     * addresses are empty: there is nothing to tell a peer */
    iface_attr->iface_addr_len      = 0;
    iface_attr->device_addr_len     = 0;
    iface_attr->ep_addr_len         = 0;
    iface_attr->cap.flags           = UCT_IFACE_FLAG_CONNECT_TO_IFACE;
    iface_attr->cap.event_flags     = 0;
    iface_attr->latency             = ucs_linear_func_make(0, 0);
    iface_attr->bandwidth.dedicated = 0;
    iface_attr->bandwidth.shared    = 1;
    iface_attr->overhead            = 0;
    iface_attr->priority            = 0;
    return UCS_OK;
}

static ucs_status_t
uct_p2pmem_query_devices(uct_md_h tl_md, uct_tl_device_resource_t **devices_p,
                         unsigned *num_devices_p)
{
    uct_p2pmem_md_t *md = ucs_derived_of(tl_md, uct_p2pmem_md_t);
    const ucs_p2pmem_provider_t *p;
    uct_tl_device_resource_t *devices;
    ucs_sys_bus_id_t bus_id;
    unsigned i;

    *devices_p     = NULL;
    *num_devices_p = 0;
    if (md->num_selected == 0) {
        return UCS_OK;
    }

    devices = ucs_calloc(md->num_selected, sizeof(*devices),
                         "p2pmem devices");
    if (devices == NULL) {
        return UCS_ERR_NO_MEMORY;
    }

    for (i = 0; i < md->num_selected; ++i) {
        p = uct_p2pmem_md_provider(md, i);
        ucs_strncpy_zero(devices[i].name, p->name, sizeof(devices[i].name));
        devices[i].type       = UCT_DEVICE_TYPE_ACC;
        devices[i].sys_device = UCS_SYS_DEVICE_ID_UNKNOWN;
        if (!p->emulated) {
            /* lets UCX relate the provider to NICs by bus distance */
            bus_id.domain   = p->addr.domain;
            bus_id.bus      = p->addr.bus;
            bus_id.slot     = p->addr.dev;
            bus_id.function = p->addr.fn;
            if (ucs_topo_find_device_by_bus_id(&bus_id,
                                               &devices[i].sys_device) !=
                UCS_OK) {
                devices[i].sys_device = UCS_SYS_DEVICE_ID_UNKNOWN;
            }
        }
    }

    *devices_p     = devices;
    *num_devices_p = md->num_selected;
    return UCS_OK;
}

static uct_iface_ops_t uct_p2pmem_iface_ops;
static uct_iface_internal_ops_t uct_p2pmem_iface_internal_ops;

static UCS_CLASS_INIT_FUNC(uct_p2pmem_iface_t, uct_md_h md,
                           uct_worker_h worker,
                           const uct_iface_params_t *params,
                           const uct_iface_config_t *tl_config)
{
    UCS_CLASS_CALL_SUPER_INIT(uct_base_iface_t, &uct_p2pmem_iface_ops,
                              &uct_p2pmem_iface_internal_ops, md, worker,
                              params,
                              tl_config UCS_STATS_ARG(params->stats_root)
                              UCS_STATS_ARG(UCT_P2PMEM_NAME));

    if (!(params->field_mask & UCT_IFACE_PARAM_FIELD_OPEN_MODE) ||
        !(params->open_mode & UCT_IFACE_OPEN_MODE_DEVICE)) {
        ucs_error("the p2pmem transport opens on a device only");
        return UCS_ERR_UNSUPPORTED;
    }

    ucs_strncpy_zero(self->dev_name, params->mode.device.dev_name,
                     sizeof(self->dev_name));
    ucs_debug("transport opened on provider %s", self->dev_name);
    return UCS_OK;
}

static UCS_CLASS_CLEANUP_FUNC(uct_p2pmem_iface_t)
{
}

UCS_CLASS_DEFINE(uct_p2pmem_iface_t, uct_base_iface_t);
static UCS_CLASS_DEFINE_NEW_FUNC(uct_p2pmem_iface_t, uct_iface_t, uct_md_h,
                                 uct_worker_h, const uct_iface_params_t*,
                                 const uct_iface_config_t*);
static UCS_CLASS_DEFINE_DELETE_FUNC(uct_p2pmem_iface_t, uct_iface_t);

/* Connected to an interface address, as the transport advertises. */
static UCS_CLASS_INIT_FUNC(uct_p2pmem_ep_t, const uct_ep_params_t *params)
{
    const uint64_t need = UCT_EP_PARAM_FIELD_IFACE |
                          UCT_EP_PARAM_FIELD_DEV_ADDR |
                          UCT_EP_PARAM_FIELD_IFACE_ADDR;

    UCS_CLASS_CALL_SUPER_INIT(uct_base_ep_t,
                              ucs_derived_of(params->iface, uct_base_iface_t));

    if ((params->field_mask & need) != need) {
        ucs_error("an endpoint connects to an interface: pass iface, "
                  "dev_addr and iface_addr (field_mask 0x%lx)",
                  (unsigned long)params->field_mask);
        return UCS_ERR_INVALID_PARAM;
    }
    ucs_debug("endpoint %p created", self);
    return UCS_OK;
}

static UCS_CLASS_CLEANUP_FUNC(uct_p2pmem_ep_t)
{
    ucs_debug("endpoint %p destroyed", self);
}

UCS_CLASS_DEFINE(uct_p2pmem_ep_t, uct_base_ep_t);
static UCS_CLASS_DEFINE_NEW_FUNC(uct_p2pmem_ep_t, uct_ep_t,
                                 const uct_ep_params_t*);
static UCS_CLASS_DEFINE_DELETE_FUNC(uct_p2pmem_ep_t, uct_ep_t);

/* No peer is ever reachable: UCP never picks this transport for a lane. */
#ifdef HAVE_UCT_IFACE_INTERNAL_OPS_T_IFACE_IS_REACHABLE_V2
static int
uct_p2pmem_iface_is_reachable_v2(const uct_iface_h tl_iface,
                                 const uct_iface_is_reachable_params_t *params)
{
    return 0;
}
/* the public v1 call is answered through the v2 hook */
#  define UCT_P2PMEM_IFACE_IS_REACHABLE uct_base_iface_is_reachable
#else
static int uct_p2pmem_iface_is_reachable(const uct_iface_h tl_iface,
                                         const uct_device_addr_t *dev_addr,
                                         const uct_iface_addr_t *iface_addr)
{
    return 0;
}
#  define UCT_P2PMEM_IFACE_IS_REACHABLE uct_p2pmem_iface_is_reachable
#endif

#ifdef HAVE_UCT_IFACE_INTERNAL_OPS_T_EP_IS_CONNECTED
static int uct_p2pmem_ep_is_connected(uct_ep_h ep,
                                      const uct_ep_is_connected_params_t *params)
{
    return 0;
}
#endif

static uct_iface_ops_t uct_p2pmem_iface_ops = {
    .ep_flush                 = uct_base_ep_flush,
    .ep_fence                 = uct_base_ep_fence,
    .ep_pending_add           = (uct_ep_pending_add_func_t)
                                ucs_empty_function_return_busy,
    .ep_pending_purge         = (uct_ep_pending_purge_func_t)
                                ucs_empty_function,
    .ep_create                = UCS_CLASS_NEW_FUNC_NAME(uct_p2pmem_ep_t),
    .ep_destroy               = UCS_CLASS_DELETE_FUNC_NAME(uct_p2pmem_ep_t),
    .iface_flush              = uct_base_iface_flush,
    .iface_fence              = uct_base_iface_fence,
    .iface_progress_enable    = (uct_iface_progress_enable_func_t)
                                ucs_empty_function,
    .iface_progress_disable   = (uct_iface_progress_disable_func_t)
                                ucs_empty_function,
    .iface_progress           = (uct_iface_progress_func_t)
                                ucs_empty_function_return_zero,
    .iface_close              = UCS_CLASS_DELETE_FUNC_NAME(uct_p2pmem_iface_t),
    .iface_query              = uct_p2pmem_iface_query,
    .iface_get_device_address = (uct_iface_get_device_address_func_t)
                                ucs_empty_function_return_success,
    .iface_get_address        = (uct_iface_get_address_func_t)
                                ucs_empty_function_return_success,
    .iface_is_reachable       = UCT_P2PMEM_IFACE_IS_REACHABLE
};

/* Newer releases call some of these without a NULL check: fill every one. */
static uct_iface_internal_ops_t uct_p2pmem_iface_internal_ops = {
#ifdef HAVE_UCT_IFACE_INTERNAL_OPS_T_IFACE_QUERY_V2
    .iface_query_v2        = uct_iface_base_query_v2,
#endif
    .iface_estimate_perf   = uct_base_iface_estimate_perf,
    .iface_vfs_refresh     = (uct_iface_vfs_refresh_func_t)ucs_empty_function,
    .ep_query              = (uct_ep_query_func_t)
                             ucs_empty_function_return_unsupported,
    .ep_invalidate         = (uct_ep_invalidate_func_t)
                             ucs_empty_function_return_unsupported,
#ifdef HAVE_UCT_IFACE_INTERNAL_OPS_T_EP_CONNECT_TO_EP_V2
    .ep_connect_to_ep_v2   = (uct_ep_connect_to_ep_v2_func_t)
                             ucs_empty_function_return_unsupported,
#endif
#ifdef HAVE_UCT_IFACE_INTERNAL_OPS_T_IFACE_IS_REACHABLE_V2
    .iface_is_reachable_v2 = uct_p2pmem_iface_is_reachable_v2,
#endif
#ifdef HAVE_UCT_IFACE_INTERNAL_OPS_T_EP_IS_CONNECTED
    .ep_is_connected       = uct_p2pmem_ep_is_connected,
#endif
#ifdef HAVE_UCT_IFACE_INTERNAL_OPS_T_EP_GET_DEVICE_EP
    .ep_get_device_ep      = (uct_ep_get_device_ep_func_t)
                             ucs_empty_function_return_unsupported,
#endif
#ifdef HAVE_UCT_IFACE_INTERNAL_OPS_T_EP_PUT_SGL_ZCOPY
    .ep_put_sgl_zcopy      = (uct_ep_put_sgl_zcopy_func_t)
                             ucs_empty_function_return_unsupported,
#endif
};

UCT_TL_DEFINE(&uct_p2pmem_component, p2pmem, uct_p2pmem_query_devices,
              uct_p2pmem_iface_t, "P2PMEM_", uct_p2pmem_iface_config_table,
              uct_p2pmem_iface_config_t);
