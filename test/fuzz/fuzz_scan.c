/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * libFuzzer target: discovery of a sysfs tree whose contents come from the
 * fuzzer. Each input builds one device under a private temporary directory:
 *
 *   byte 0     bits 0-1: p2pmem/allocate is missing, a link to /dev/zero, a
 *              regular file or a directory; bit 2: p2pmem is a file, not a
 *              directory; bit 3: no numa_node file
 *   the rest   NUL-separated: size, available, published, numa_node
 *              contents, the device's directory name, its host bridge
 *              directory name, an RDMA device name
 *
 * then scans it, selects from it (auto and all) and, for an accepted
 * provider, maps and unmaps a page. Besides not crashing or leaking,
 * checks that whatever is accepted is consistent.
 */

#define _GNU_SOURCE
#include <ucs/p2pmem_sys.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_scan: property failed: %s\n", #cond); \
            abort(); \
        } \
    } while (0)

#define NFIELDS 7

static char base[64];

static void report(void *arg, ucs_p2pmem_log_level_t level, const char *msg)
{
    /* every message must be a terminated, bounded string */
    CHECK(strlen(msg) < 1024);
    ++*(unsigned*)arg;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    return remove(path);
}

static void cleanup(void)
{
    nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd >= 0) {
        if (write(fd, data, len) < 0) {
            /* best effort: a short tree is also a test case */
        }
        close(fd);
    }
}

/* A usable directory-entry name from fuzz bytes (no '/', not "."/".."). */
static void entry_name(char *dst, size_t dst_len, const char *src, size_t len,
                       const char *dflt)
{
    size_t i;

    if ((len == 0) || (len >= dst_len)) {
        snprintf(dst, dst_len, "%s", dflt);
        return;
    }
    for (i = 0; i < len; ++i) {
        dst[i] = (src[i] == '/') ? '_' : src[i];
    }
    dst[len] = '\0';
    if (!strcmp(dst, ".") || !strcmp(dst, "..")) {
        snprintf(dst, dst_len, "%s", dflt);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *field[NFIELDS] = {""};
    size_t flen[NFIELDS]       = {0};
    char dev[64], bridge[64], rdma_name[64], path[512], devdir[512], tmp[512];
    ucs_p2pmem_select_spec_t spec = {UCS_P2PMEM_SELECT_AUTO, 0, NULL};
    ucs_p2pmem_rdma_list_t rdma;
    ucs_p2pmem_list_t list;
    unsigned order[2], n, i, nreports = 0, flags;
    const char *p, *end, *nul;
    void *addr;
    int ret, err;

    if (size == 0) {
        return 0;
    }
    if (base[0] == '\0') {
        snprintf(base, sizeof(base), "%s/fuzz_scan.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(base) == NULL) {
            abort();
        }
        atexit(cleanup);
    }

    flags = data[0];
    p     = (const char*)data + 1;
    end   = (const char*)data + size;
    for (i = 0; (i < NFIELDS) && (p <= end); ++i) {
        nul      = memchr(p, '\0', (size_t)(end - p));
        field[i] = p;
        flen[i]  = (nul ? nul : end) - p;
        p       += flen[i] + 1;
    }
    for (; i < NFIELDS; ++i) {
        field[i] = "";
    }

    entry_name(dev, sizeof(dev), field[4], flen[4], "0000:01:00.0");
    entry_name(bridge, sizeof(bridge), field[5], flen[5], "pci0000:00");
    entry_name(rdma_name, sizeof(rdma_name), field[6], flen[6], "rdma0");

    nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    snprintf(path, sizeof(path), "%s/sys/bus/pci/devices", base);
    /* directories with fuzzed names: made one by one, no shell */
    mkdir(base, 0755);
    snprintf(tmp, sizeof(tmp), "%s/sys", base);
    mkdir(tmp, 0755);
    snprintf(tmp, sizeof(tmp), "%s/sys/bus", base);
    mkdir(tmp, 0755);
    snprintf(tmp, sizeof(tmp), "%s/sys/bus/pci", base);
    mkdir(tmp, 0755);
    mkdir(path, 0755);
    snprintf(tmp, sizeof(tmp), "%s/sys/class", base);
    mkdir(tmp, 0755);
    snprintf(tmp, sizeof(tmp), "%s/sys/class/infiniband", base);
    mkdir(tmp, 0755);
    snprintf(tmp, sizeof(tmp), "%s/sys/devices", base);
    mkdir(tmp, 0755);
    snprintf(tmp, sizeof(tmp), "%s/sys/devices/%s", base, bridge);
    mkdir(tmp, 0755);
    snprintf(devdir, sizeof(devdir), "%s/sys/devices/%s/%s", base, bridge,
             dev);
    mkdir(devdir, 0755);
    snprintf(tmp, sizeof(tmp), "%s/%s", path, dev);
    (void)!symlink(devdir, tmp);

    if (!(flags & 8)) {
        snprintf(tmp, sizeof(tmp), "%s/numa_node", devdir);
        write_file(tmp, field[3], flen[3]);
    }
    snprintf(tmp, sizeof(tmp), "%s/p2pmem", devdir);
    if (flags & 4) {
        write_file(tmp, "x", 1);
    } else {
        mkdir(tmp, 0755);
        snprintf(tmp, sizeof(tmp), "%s/p2pmem/size", devdir);
        write_file(tmp, field[0], flen[0]);
        snprintf(tmp, sizeof(tmp), "%s/p2pmem/available", devdir);
        write_file(tmp, field[1], flen[1]);
        snprintf(tmp, sizeof(tmp), "%s/p2pmem/published", devdir);
        write_file(tmp, field[2], flen[2]);
        snprintf(tmp, sizeof(tmp), "%s/p2pmem/allocate", devdir);
        switch (flags & 3) {
        case 1: (void)!symlink("/dev/zero", tmp); break;
        case 2: write_file(tmp, "", 0); break;
        case 3: mkdir(tmp, 0755); break;
        default: break;
        }
    }
    snprintf(tmp, sizeof(tmp), "%s/sys/class/infiniband/%s", base, rdma_name);
    mkdir(tmp, 0755);
    snprintf(tmp, sizeof(tmp), "%s/sys/class/infiniband/%s/device", base,
             rdma_name);
    (void)!symlink(devdir, tmp);

    ret = ucs_p2pmem_scan(path, &list, report, &nreports);
    CHECK(ret == 0);
    CHECK(list.count <= 1);
    if (list.count == 1) {
        CHECK(list.providers[0].available <= list.providers[0].size);
        CHECK(list.providers[0].published <= 1);
        CHECK(list.providers[0].has_path);
        CHECK(ucs_p2pmem_parse_pci_addr(list.providers[0].name,
                                        &list.providers[0].addr) == 0);
    } else if (((flags & 0xc) == 0) && ((flags & 3) != 0)) {
        /* a well-formed PCI name with a p2pmem directory that was refused
         * must have been explained */
        ucs_p2pmem_pci_addr_t a;
        if (ucs_p2pmem_parse_pci_addr(dev, &a) == 0) {
            CHECK(nreports > 0);
        }
    }

    ret = ucs_p2pmem_scan_rdma(path, "all", &rdma, report, &nreports);
    CHECK(ret == 0);
    CHECK(rdma.count <= 1);

    n = ucs_p2pmem_select(&list, &spec, &rdma, 0, order, report, &nreports);
    CHECK(n <= list.count);
    spec.mode = UCS_P2PMEM_SELECT_ALL;
    n = ucs_p2pmem_select(&list, &spec, &rdma, 0, order, report, &nreports);
    CHECK(n == list.count);

    if ((n == 1) && list.providers[0].emulated) {
        addr = ucs_p2pmem_map(&list.providers[0], 4096, &err);
        if (addr != NULL) {
            CHECK(*(volatile char*)addr == 0);
            CHECK(ucs_p2pmem_unmap(addr, 4096) == 0);
        } else {
            CHECK(ucs_p2pmem_map_hint(err) != NULL);
        }
    }

    ucs_p2pmem_rdma_list_free(&rdma);
    ucs_p2pmem_list_free(&list);
    return 0;
}
