/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * libFuzzer target: PCI addresses (UCX_P2PMEM_DEVICES entries, sysfs
 * directory names) and resolved sysfs device paths (realpath of a device
 * link, i.e. outside input), plus the distance computed from two paths.
 *
 * Input: one string; at the first '\n' it splits into two paths.
 * Besides not crashing, checks that a parsed address formats back to an
 * address that parses to the same value, and that distance is symmetric.
 */

#include <ucs/p2pmem_sys.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_pci: property failed: %s\n", #cond); \
            abort(); \
        } \
    } while (0)

static void check_addr(const char *str)
{
    ucs_p2pmem_pci_addr_t a, b;
    char name[UCS_P2PMEM_PCI_NAME_MAX];

    if (ucs_p2pmem_parse_pci_addr(str, &a) != 0) {
        return;
    }
    CHECK((a.dev <= 0x1f) && (a.fn <= 7));
    ucs_p2pmem_format_pci_addr(&a, name);
    CHECK(strlen(name) == 12);
    CHECK(ucs_p2pmem_parse_pci_addr(name, &b) == 0);
    CHECK((a.domain == b.domain) && (a.bus == b.bus) && (a.dev == b.dev) &&
          (a.fn == b.fn));
}

static int parse_path(const char *str, ucs_p2pmem_pci_path_t *path)
{
    int ret = ucs_p2pmem_parse_pci_path(str, path);

    if (ret == 0) {
        CHECK((path->depth > 0) && (path->depth < UCS_P2PMEM_PCI_DEPTH_MAX));
        CHECK(memchr(path->host_bridge, '\0', sizeof(path->host_bridge)) !=
              NULL);
        CHECK(strncmp(path->host_bridge, "pci", 3) == 0);
    }
    return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ucs_p2pmem_pci_path_t pa, pb;
    char *str, *second;
    int ra, rb, dab, dba;

    /* an exact-size copy: reading past the terminator is an ASan error */
    str = malloc(size + 1);
    if (str == NULL) {
        return 0;
    }
    memcpy(str, data, size);
    str[size] = '\0';

    check_addr(str);

    second = strchr(str, '\n');
    if (second != NULL) {
        *second++ = '\0';
        check_addr(second);
    } else {
        second = str;
    }

    ra = parse_path(str, &pa);
    rb = parse_path(second, &pb);
    if ((ra == 0) && (rb == 0)) {
        dab = ucs_p2pmem_pci_distance(&pa, &pb);
        dba = ucs_p2pmem_pci_distance(&pb, &pa);
        CHECK(dab == dba);
        CHECK((dab == UCS_P2PMEM_DIST_UNREACHABLE) || (dab >= 0));
        CHECK(ucs_p2pmem_pci_distance(&pa, &pa) == 0);
    }

    free(str);
    return 0;
}
