/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * libFuzzer target: the device-selection variable (UCX_P2PMEM_DEVICES and
 * the public API's equivalent): "auto", "all" or a list of PCI addresses.
 *
 * Besides not crashing or leaking, checks that a rejected value always
 * names a bad token (a terminated string within the given buffer), that an
 * accepted list holds valid addresses, and that selecting with the parsed
 * spec from a fixed provider list stays within bounds.
 */

#include <ucs/p2pmem_sys.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_select: property failed: %s\n", #cond); \
            abort(); \
        } \
    } while (0)

/* Three providers: two on one root port, one unpublished elsewhere. */
static ucs_p2pmem_provider_t providers[3];

static void init_providers(void)
{
    static const char *names[] = {"0000:01:00.0", "0000:02:00.0",
                                  "0000:03:00.0"};
    static const char *paths[] = {
        "/sys/devices/pci0000:00/0000:00:02.0/0000:01:00.0",
        "/sys/devices/pci0000:00/0000:00:02.0/0000:02:00.0",
        "/sys/devices/pci0000:00/0000:00:04.0/0000:03:00.0"};
    unsigned i;

    for (i = 0; i < 3; ++i) {
        CHECK(ucs_p2pmem_parse_pci_addr(names[i], &providers[i].addr) == 0);
        ucs_p2pmem_format_pci_addr(&providers[i].addr, providers[i].name);
        CHECK(ucs_p2pmem_parse_pci_path(paths[i], &providers[i].path) == 0);
        providers[i].has_path  = 1;
        providers[i].published = (i != 2);
        providers[i].numa_node = 0;
        providers[i].size      = 1 << 20;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ucs_p2pmem_list_t list         = {providers, 3};
    ucs_p2pmem_rdma_list_t no_rdma = {NULL, 0};
    ucs_p2pmem_select_spec_t spec;
    unsigned order[3], n, i;
    char *str, bad[16];
    int ret;

    if (providers[0].name[0] == '\0') {
        init_providers();
    }

    str = malloc(size + 1);
    if (str == NULL) {
        return 0;
    }
    memcpy(str, data, size);
    str[size] = '\0';

    memset(bad, 'x', sizeof(bad));
    ret = ucs_p2pmem_parse_select(str, &spec, bad, sizeof(bad));
    if (ret != 0) {
        CHECK(ret == -22 /* EINVAL */);
        CHECK(memchr(bad, '\0', sizeof(bad)) != NULL);
        CHECK(bad[0] != '\0');
        /* the culprit alone, never the separators around it */
        CHECK(strpbrk(bad, ", \t\n") == NULL);
        CHECK(spec.addrs == NULL);
    } else {
        if (spec.mode == UCS_P2PMEM_SELECT_LIST) {
            CHECK((spec.count > 0) && (spec.addrs != NULL));
            for (i = 0; i < spec.count; ++i) {
                CHECK((spec.addrs[i].dev <= 0x1f) && (spec.addrs[i].fn <= 7));
            }
        } else {
            CHECK(spec.addrs == NULL);
        }
        n = ucs_p2pmem_select(&list, &spec, &no_rdma, 0, order, NULL, NULL);
        CHECK(n <= 3);
        for (i = 0; i < n; ++i) {
            CHECK(order[i] < 3);
        }
        ucs_p2pmem_select_spec_free(&spec);
    }

    free(str);
    return 0;
}
