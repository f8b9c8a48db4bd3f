/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: the p2pmem transport.
 *
 * UCP closes a memory domain that has no transport resource, so the
 * allocator needs a transport to stay open. This one has a device per
 * selected provider (named by PCI address, which is how ucx_info lists the
 * providers) and no communication capability: no peer is reachable through
 * it, so UCP never picks it for a lane. Data moves over the NIC's own
 * transports. It says it connects to interfaces (UCP 1.13 asserts that of
 * every transport), so it has endpoints: they can be created and destroyed
 * and do nothing else.
 */

#ifndef UCT_P2PMEM_IFACE_H_
#define UCT_P2PMEM_IFACE_H_

#include <uct/base/uct_iface.h>

typedef struct uct_p2pmem_iface_config {
    uct_iface_config_t super;
} uct_p2pmem_iface_config_t;

typedef struct uct_p2pmem_iface {
    uct_base_iface_t super;
    char             dev_name[UCT_DEVICE_NAME_MAX];
} uct_p2pmem_iface_t;

typedef struct uct_p2pmem_ep {
    uct_base_ep_t super;
} uct_p2pmem_ep_t;

#endif
