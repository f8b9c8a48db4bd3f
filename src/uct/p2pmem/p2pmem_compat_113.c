/*
 * ucx-p2pmem: UCX 1.13 tables (see p2pmem_compat.h).
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem_compat.h"

#include <string.h>


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

uct_md_ops_t uct_p2pmem_md_ops = {
    .close                  = uct_p2pmem_md_close,
    .query                  = uct_p2pmem_md_query,
    .mem_alloc              = uct_p2pmem_md_mem_alloc,
    .mem_free               = uct_p2pmem_md_mem_free,
    .mem_advise             = (uct_md_mem_advise_func_t)
                              ucs_empty_function_return_unsupported,
    .mem_reg                = (uct_md_mem_reg_func_t)
                              ucs_empty_function_return_unsupported,
    .mem_dereg              = (uct_md_mem_dereg_func_t)
                              ucs_empty_function_return_unsupported,
    .mem_query              = (uct_md_mem_query_func_t)
                              ucs_empty_function_return_unsupported,
    .mkey_pack              = (uct_md_mkey_pack_func_t)
                              ucs_empty_function_return_success,
    .is_sockaddr_accessible = ucs_empty_function_return_zero_int,
    .detect_memory_type     = (uct_md_detect_memory_type_func_t)
                              ucs_empty_function_return_unsupported
};

uct_component_t uct_p2pmem_component = {
    .query_md_resources = uct_md_query_single_md_resource,
    .md_open            = uct_p2pmem_md_open,
    .cm_open            = (uct_component_cm_open_func_t)
                          ucs_empty_function_return_unsupported,
    .rkey_unpack        = uct_p2pmem_rkey_unpack,
    .rkey_ptr           = (uct_component_rkey_ptr_func_t)
                          ucs_empty_function_return_unsupported,
    .rkey_release       = (uct_component_rkey_release_func_t)
                          ucs_empty_function_return_success,
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

/* no peer is ever reachable: UCP never picks this transport for a lane */
static int uct_p2pmem_iface_is_reachable(const uct_iface_h tl_iface,
                                         const uct_device_addr_t *dev_addr,
                                         const uct_iface_addr_t *iface_addr)
{
    return 0;
}

uct_iface_ops_t uct_p2pmem_iface_ops = {
    .ep_flush                 = uct_base_ep_flush,
    .ep_fence                 = uct_base_ep_fence,
    .ep_pending_add           = (uct_ep_pending_add_func_t)
                                ucs_empty_function_return_busy,
    .ep_pending_purge         = (uct_ep_pending_purge_func_t)
                                ucs_empty_function,
    .ep_create                = (uct_ep_create_func_t)
                                ucs_empty_function_return_unsupported,
    .ep_destroy               = (uct_ep_destroy_func_t)ucs_empty_function,
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
    .iface_is_reachable       = uct_p2pmem_iface_is_reachable
};

uct_iface_internal_ops_t uct_p2pmem_iface_internal_ops = {
    .iface_estimate_perf = uct_base_iface_estimate_perf,
    .iface_vfs_refresh   = (uct_iface_vfs_refresh_func_t)ucs_empty_function,
    .ep_query            = (uct_ep_query_func_t)
                           ucs_empty_function_return_unsupported,
    .ep_invalidate       = (uct_ep_invalidate_func_t)
                           ucs_empty_function_return_unsupported
};
