/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: UCX's tables for the component, memory domain and transport,
 * for every supported release (see p2pmem_compat.h). The members and hook
 * signatures that differ between releases are found by configure
 * (config/ucx.m4), never by version number.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem_compat.h"

#include <string.h>


#ifdef P2PMEM_UCT_MD_QUERY_V2
static ucs_status_t uct_p2pmem_md_query(uct_md_h md, uct_md_attr_v2_t *md_attr)
{
    uct_p2pmem_md_caps_t caps;

    uct_p2pmem_md_caps(md, &caps);
    /* UCX's defaults: nothing registered, no remote key, every CPU local */
    uct_md_base_md_query(md_attr);
    md_attr->flags            = caps.can_alloc ? UCT_MD_FLAG_ALLOC : 0;
    md_attr->alloc_mem_types  = UCS_BIT(UCS_MEMORY_TYPE_HOST);
    md_attr->access_mem_types = UCS_BIT(UCS_MEMORY_TYPE_HOST);
    md_attr->max_alloc        = caps.max_alloc;
    md_attr->max_reg          = 0;
    return UCS_OK;
}
#else
static ucs_status_t uct_p2pmem_md_query(uct_md_h md, uct_md_attr_t *md_attr)
{
    uct_p2pmem_md_caps_t caps;

    uct_p2pmem_md_caps(md, &caps);
    md_attr->cap.flags            = caps.can_alloc ? UCT_MD_FLAG_ALLOC : 0;
    md_attr->cap.alloc_mem_types  = UCS_BIT(UCS_MEMORY_TYPE_HOST);
    md_attr->cap.access_mem_types = UCS_BIT(UCS_MEMORY_TYPE_HOST);
    md_attr->cap.reg_mem_types    = 0;
    md_attr->cap.detect_mem_types = 0;
    md_attr->cap.max_alloc        = caps.max_alloc;
    md_attr->cap.max_reg          = 0;
    md_attr->rkey_packed_size     = 0;
    md_attr->reg_cost             = ucs_linear_func_make(0, 0);
    memset(&md_attr->local_cpus, 0xff, sizeof(md_attr->local_cpus));
    return UCS_OK;
}
#endif

#ifdef P2PMEM_UCT_MEM_ALLOC_SYS_DEV
/* the device memory is where the provider is: the caller's hint is moot */
static ucs_status_t
uct_p2pmem_md_mem_alloc_sys_dev(uct_md_h md, size_t *length_p,
                                void **address_p, ucs_memory_type_t mem_type,
                                ucs_sys_device_t sys_dev, unsigned flags,
                                const char *alloc_name, uct_mem_h *memh_p)
{
    return uct_p2pmem_md_mem_alloc(md, length_p, address_p, mem_type, flags,
                                   alloc_name, memh_p);
}
#  define UCT_P2PMEM_MD_MEM_ALLOC uct_p2pmem_md_mem_alloc_sys_dev
#else
#  define UCT_P2PMEM_MD_MEM_ALLOC uct_p2pmem_md_mem_alloc
#endif

uct_md_ops_t uct_p2pmem_md_ops = {
    .close              = uct_p2pmem_md_close,
    .query              = uct_p2pmem_md_query,
    .mem_alloc          = UCT_P2PMEM_MD_MEM_ALLOC,
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
     * memory through the NIC's registration): UCX's stub unpacks it, with
     * the signature of each release (1.13, 1.18 and 1.22 all have it) */
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

uct_iface_ops_t uct_p2pmem_iface_ops = {
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
uct_iface_internal_ops_t uct_p2pmem_iface_internal_ops = {
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
