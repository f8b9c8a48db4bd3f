/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Unit tests of the sysfs/PCI services (src/ucs/p2pmem_sys.h): parsers,
 * topology distance, discovery of providers and RDMA devices in a sysfs tree
 * built on the fly, selection, and mapping.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include <ucs/p2pmem_sys.h>

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- fixtures: a sysfs tree under a temporary directory ---- */

static char tree[PATH_MAX];     /* temporary directory */
static char pci_root[PATH_MAX]; /* tree/sys/bus/pci/devices */

typedef struct {
    int  count[3];              /* by ucs_p2pmem_log_level_t */
    char last[3][1024];
} reports_t;

static reports_t reports;

static void collect(void *arg, ucs_p2pmem_log_level_t level,
                    const char *message)
{
    reports_t *r = arg;

    ++r->count[level];
    snprintf(r->last[level], sizeof(r->last[level]), "%s", message);
}

static void mkdirs(const char *path)
{
    char buf[PATH_MAX], *p;

    snprintf(buf, sizeof(buf), "%s", path);
    for (p = buf + 1; *p != '\0'; ++p) {
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    }
    mkdir(buf, 0755);
}

static void writef(const char *path, const char *fmt, ...)
{
    va_list ap;
    FILE *f = fopen(path, "w");

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

/* Device directory for chain "0000:00:02.0/0000:01:00.0" under pci0000:00,
 * linked from the bus directory; returns its path in dev. */
static void make_device(const char *chain, char *dev, size_t size)
{
    char rel[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
    const char *name;

    snprintf(rel, sizeof(rel), "devices/pci0000:00/%s", chain);
    snprintf(dev, size, "%s/sys/%s", tree, rel);
    mkdirs(dev);
    name = strrchr(chain, '/') ? strrchr(chain, '/') + 1 : chain;
    snprintf(link, sizeof(link), "%s/%s", pci_root, name);
    snprintf(target, sizeof(target), "../../../%s", rel);
    unlink(link);
    CU_ASSERT_EQUAL(symlink(target, link), 0);
}

static void make_provider(const char *chain, const char *size,
                          const char *available, const char *published,
                          const char *numa)
{
    char dev[PATH_MAX], p[PATH_MAX + 64];

    make_device(chain, dev, sizeof(dev));
    snprintf(p, sizeof(p), "%s/p2pmem", dev);
    mkdirs(p);
    if (numa != NULL) {
        snprintf(p, sizeof(p), "%s/numa_node", dev);
        writef(p, "%s", numa);
    }
    if (size != NULL) {
        snprintf(p, sizeof(p), "%s/p2pmem/size", dev);
        writef(p, "%s", size);
    }
    if (available != NULL) {
        snprintf(p, sizeof(p), "%s/p2pmem/available", dev);
        writef(p, "%s", available);
    }
    if (published != NULL) {
        snprintf(p, sizeof(p), "%s/p2pmem/published", dev);
        writef(p, "%s", published);
    }
    snprintf(p, sizeof(p), "%s/p2pmem/allocate", dev);
    CU_ASSERT_EQUAL(symlink("/dev/zero", p), 0);
}

static void make_rdma(const char *name, const char *chain, const char *numa)
{
    char dev[PATH_MAX], p[PATH_MAX + 64], target[PATH_MAX];

    make_device(chain, dev, sizeof(dev));
    snprintf(p, sizeof(p), "%s/numa_node", dev);
    writef(p, "%s", numa);
    snprintf(p, sizeof(p), "%s/sys/class/infiniband/%s", tree, name);
    mkdirs(p);
    snprintf(p, sizeof(p), "%s/sys/class/infiniband/%s/device", tree, name);
    snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", chain);
    CU_ASSERT_EQUAL(symlink(target, p), 0);
}

static int setup_tree(void)
{
    snprintf(tree, sizeof(tree), "%s/p2pmem-unit.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tree) == NULL) {
        return -1;
    }
    snprintf(pci_root, sizeof(pci_root), "%s/sys/bus/pci/devices", tree);
    mkdirs(pci_root);
    memset(&reports, 0, sizeof(reports));
    return 0;
}

static int teardown_tree(void)
{
    char cmd[PATH_MAX + 16];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tree);
    return system(cmd);
}

static void scan_ok(ucs_p2pmem_list_t *list)
{
    memset(&reports, 0, sizeof(reports));
    CU_ASSERT_EQUAL_FATAL(ucs_p2pmem_scan(pci_root, list, collect, &reports),
                          0);
}

/* ---- parsers ---- */

static void test_parse_pci_addr(void)
{
    ucs_p2pmem_pci_addr_t a;
    char buf[UCS_P2PMEM_PCI_NAME_MAX];
    const char *bad[] = {"", "0000:01:00", "0000:01:00.8", "0000:01:20.0",
                         "0000:1:00.0", "00000:01:00.0", "0000-01:00.0",
                         "0000:01:00.0 ", "zzzz:01:00.0", "01:00.0.0", NULL};
    int i;

    CU_ASSERT_EQUAL(ucs_p2pmem_parse_pci_addr("0000:01:00.0", &a), 0);
    CU_ASSERT(a.domain == 0 && a.bus == 1 && a.dev == 0 && a.fn == 0);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_pci_addr("abcd:Ef:1f.7", &a), 0);
    CU_ASSERT(a.domain == 0xabcd && a.bus == 0xef && a.dev == 0x1f &&
              a.fn == 7);
    ucs_p2pmem_format_pci_addr(&a, buf);
    CU_ASSERT_STRING_EQUAL(buf, "abcd:ef:1f.7");
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_pci_addr("3b:00.1", &a), 0);
    CU_ASSERT(a.domain == 0 && a.bus == 0x3b && a.fn == 1);
    for (i = 0; bad[i] != NULL; ++i) {
        CU_ASSERT_EQUAL(ucs_p2pmem_parse_pci_addr(bad[i], &a), -EINVAL);
    }
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_pci_addr(NULL, &a), -EINVAL);
}

static void test_parse_u64(void)
{
    uint64_t v;

    CU_ASSERT_EQUAL(ucs_p2pmem_parse_u64("67108864\n", 9, &v), 0);
    CU_ASSERT_EQUAL(v, 67108864);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_u64("0", 1, &v), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_u64("18446744073709551615\n", 21, &v), 0);
    CU_ASSERT_EQUAL(v, UINT64_MAX);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_u64("18446744073709551616", 20, &v),
                    -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_u64("", 0, &v), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_u64("\n", 1, &v), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_u64("12a\n", 4, &v), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_u64(" 12", 3, &v), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_u64("-1", 2, &v), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_u64("12\n\n", 4, &v), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_u64("1\0" "2", 3, &v), -EINVAL);
}

static void test_parse_int(void)
{
    int v;

    CU_ASSERT_EQUAL(ucs_p2pmem_parse_int("-1\n", 3, &v), 0);
    CU_ASSERT_EQUAL(v, -1);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_int("3", 1, &v), 0);
    CU_ASSERT_EQUAL(v, 3);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_int("2147483648", 10, &v), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_int("--1", 3, &v), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_int("-", 1, &v), -EINVAL);
}

static void test_parse_pci_path(void)
{
    ucs_p2pmem_pci_path_t p;

    CU_ASSERT_EQUAL(ucs_p2pmem_parse_pci_path(
            "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0", &p), 0);
    CU_ASSERT_STRING_EQUAL(p.host_bridge, "pci0000:00");
    CU_ASSERT_EQUAL(p.depth, 2);
    CU_ASSERT_EQUAL(p.chain[1].bus, 1);

    /* stops at the first non-PCI component */
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_pci_path(
            "/x/sys/devices/pci0001:80/0001:80:02.0/0001:81:00.0/nvme/nvme0",
            &p), 0);
    CU_ASSERT_STRING_EQUAL(p.host_bridge, "pci0001:80");
    CU_ASSERT_EQUAL(p.depth, 2);

    CU_ASSERT_EQUAL(ucs_p2pmem_parse_pci_path(
            "/sys/devices/virtual/net/dummy0", &p), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_pci_path("/sys/devices/pci0000:00",
                                              &p), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_pci_path("relative/pci0000:00/x", &p),
                    -EINVAL);
}

static void test_parse_select(void)
{
    ucs_p2pmem_select_spec_t s;
    char bad[64];

    CU_ASSERT_EQUAL(ucs_p2pmem_parse_select("auto", &s, bad, sizeof(bad)), 0);
    CU_ASSERT_EQUAL(s.mode, UCS_P2PMEM_SELECT_AUTO);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_select(" all ", &s, bad, sizeof(bad)),
                    0);
    CU_ASSERT_EQUAL(s.mode, UCS_P2PMEM_SELECT_ALL);

    CU_ASSERT_EQUAL(ucs_p2pmem_parse_select("0000:02:00.0, 01:00.0", &s, bad,
                                            sizeof(bad)), 0);
    CU_ASSERT_EQUAL(s.mode, UCS_P2PMEM_SELECT_LIST);
    CU_ASSERT_EQUAL_FATAL(s.count, 2);
    CU_ASSERT_EQUAL(s.addrs[0].bus, 2);
    CU_ASSERT_EQUAL(s.addrs[1].bus, 1);
    ucs_p2pmem_select_spec_free(&s);

    CU_ASSERT_EQUAL(ucs_p2pmem_parse_select("0000:01:00.0,nvme0", &s, bad,
                                            sizeof(bad)), -EINVAL);
    CU_ASSERT_STRING_EQUAL(bad, "nvme0");
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_select("auto,0000:01:00.0", &s, bad,
                                            sizeof(bad)), -EINVAL);
    CU_ASSERT_STRING_EQUAL(bad, "auto"); /* not "auto," */
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_select("0000:01:00.0,all", &s, bad,
                                            sizeof(bad)), -EINVAL);
    CU_ASSERT_STRING_EQUAL(bad, "all");
    /* empty means auto, as unset does: one meaning for every caller */
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_select("", &s, bad, sizeof(bad)), 0);
    CU_ASSERT_EQUAL(s.mode, UCS_P2PMEM_SELECT_AUTO);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_select(" , ", &s, bad, sizeof(bad)), 0);
    CU_ASSERT_EQUAL(s.mode, UCS_P2PMEM_SELECT_AUTO);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_select(NULL, &s, bad, sizeof(bad)), 0);
    CU_ASSERT_EQUAL(s.mode, UCS_P2PMEM_SELECT_AUTO);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_select(
            "0000:01:00.0000000000000000000000000000000000", &s, bad,
            sizeof(bad)), -EINVAL);
}

static void test_parse_size(void)
{
    uint64_t v;

    CU_ASSERT_EQUAL(ucs_p2pmem_parse_size("4096", &v), 0);
    CU_ASSERT_EQUAL(v, 4096);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_size("1M", &v), 0);
    CU_ASSERT_EQUAL(v, 1 << 20);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_size("64kb", &v), 0);
    CU_ASSERT_EQUAL(v, 64 << 10);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_size("2GiB", &v), 0);
    CU_ASSERT_EQUAL(v, 2ull << 30);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_size("", &v), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_size("-1", &v), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_size("1X", &v), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_size("1MBs", &v), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_size("99999999999T", &v), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_size("inf", &v), -EINVAL);

    /* UCX's memory units: the same sizes, and its two words */
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_memunits("1G", &v), 0);
    CU_ASSERT_EQUAL(v, 1ull << 30);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_memunits("512b", &v), 0);
    CU_ASSERT_EQUAL(v, 512);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_memunits("4KB", &v), 0);
    CU_ASSERT_EQUAL(v, 4096);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_memunits("inf", &v), 0);
    CU_ASSERT_EQUAL(v, UCS_P2PMEM_SIZE_INF);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_memunits("AUTO", &v), 0);
    CU_ASSERT_EQUAL(v, UCS_P2PMEM_SIZE_AUTO);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_memunits("1Q", &v), -EINVAL);
    CU_ASSERT_EQUAL(ucs_p2pmem_parse_memunits(NULL, &v), -EINVAL);
}

/* ---- topology ---- */

static void path_of(const char *s, ucs_p2pmem_pci_path_t *p)
{
    CU_ASSERT_EQUAL_FATAL(ucs_p2pmem_parse_pci_path(s, p), 0);
}

static void test_distance(void)
{
    ucs_p2pmem_pci_path_t nic, same_fn, sibling, other_port, other_hb, sw;

    path_of("/d/pci0000:00/0000:00:02.0/0000:01:00.1", &nic);
    path_of("/d/pci0000:00/0000:00:02.0/0000:01:00.1", &same_fn);
    path_of("/d/pci0000:00/0000:00:02.0/0000:01:00.0", &sibling);
    path_of("/d/pci0000:00/0000:00:03.0/0000:02:00.0", &other_port);
    path_of("/d/pci0001:00/0001:00:02.0/0001:01:00.0", &other_hb);
    path_of("/d/pci0000:00/0000:00:02.0/0000:01:00.1/0000:02:00.0", &sw);

    CU_ASSERT_EQUAL(ucs_p2pmem_pci_distance(&nic, &same_fn), 0);
    CU_ASSERT_EQUAL(ucs_p2pmem_pci_distance(&nic, &sibling), 2);
    CU_ASSERT_EQUAL(ucs_p2pmem_pci_distance(&nic, &other_port), 4);
    CU_ASSERT_EQUAL(ucs_p2pmem_pci_distance(&sibling, &other_port), 4);
    CU_ASSERT_EQUAL(ucs_p2pmem_pci_distance(&nic, &sw), 1);
    CU_ASSERT_EQUAL(ucs_p2pmem_pci_distance(&nic, &other_hb),
                    UCS_P2PMEM_DIST_UNREACHABLE);
    CU_ASSERT_EQUAL(ucs_p2pmem_pci_distance(&other_port, &nic),
                    ucs_p2pmem_pci_distance(&nic, &other_port));
}

/* ---- discovery ---- */

static void test_scan_valid(void)
{
    ucs_p2pmem_list_t list;

    make_provider("0000:00:03.0/0000:02:00.0", "33554432\n", "1048576\n",
                  "0\n", "1\n");
    make_provider("0000:00:02.0/0000:01:00.0", "67108864\n", "67108864\n",
                  "1\n", "0\n");
    make_device("0000:00:05.0", (char[PATH_MAX]){0}, PATH_MAX); /* no p2pmem */
    scan_ok(&list);
    CU_ASSERT_EQUAL_FATAL(list.count, 2);
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_WARN], 0);
    /* sorted by name */
    CU_ASSERT_STRING_EQUAL(list.providers[0].name, "0000:01:00.0");
    CU_ASSERT_EQUAL(list.providers[0].size, 67108864);
    CU_ASSERT_EQUAL(list.providers[0].published, 1);
    CU_ASSERT_EQUAL(list.providers[0].numa_node, 0);
    CU_ASSERT_EQUAL(list.providers[0].path.depth, 2);
    CU_ASSERT(list.providers[0].emulated); /* allocate links to /dev/zero */
    CU_ASSERT_STRING_EQUAL(list.providers[1].name, "0000:02:00.0");
    CU_ASSERT_EQUAL(list.providers[1].available, 1048576);
    CU_ASSERT_EQUAL(list.providers[1].published, 0);
    CU_ASSERT_EQUAL(list.providers[1].numa_node, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(list.providers[1].allocate_path,
                                  "0000:02:00.0/p2pmem/allocate"));
    ucs_p2pmem_list_free(&list);
}

/* One bad provider next to a good one: the bad one is reported by name
 * and skipped, the good one survives. */
static void expect_skipped(const char *what)
{
    ucs_p2pmem_list_t list;

    make_provider("0000:00:02.0/0000:01:00.0", "4096\n", "4096\n", "1\n",
                  "0\n");
    scan_ok(&list);
    CU_ASSERT_EQUAL(list.count, 1);
    if (list.count == 1) {
        CU_ASSERT_STRING_EQUAL(list.providers[0].name, "0000:01:00.0");
    }
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_WARN], 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(reports.last[UCS_P2PMEM_LOG_WARN],
                                  "0000:09:00.0"));
    if (what != NULL) {
        CU_ASSERT_PTR_NOT_NULL(strstr(reports.last[UCS_P2PMEM_LOG_WARN],
                                      what));
    }
    ucs_p2pmem_list_free(&list);
}

#define BAD_CHAIN "0000:00:09.0/0000:09:00.0"

static void test_scan_garbage_size(void)
{
    make_provider(BAD_CHAIN, "lots\n", "4096\n", "1\n", "0\n");
    expect_skipped("'lots'");
}

static void test_scan_binary_garbage(void)
{
    make_provider(BAD_CHAIN, "4096\n", "40\x01\x02\n", "1\n", "0\n");
    expect_skipped("'40?" "?'");
}

static void test_scan_missing_available(void)
{
    make_provider(BAD_CHAIN, "4096\n", NULL, "1\n", "0\n");
    expect_skipped("available");
}

static void test_scan_empty_published(void)
{
    make_provider(BAD_CHAIN, "4096\n", "4096\n", "", "0\n");
    expect_skipped("published");
}

static void test_scan_bad_published(void)
{
    make_provider(BAD_CHAIN, "4096\n", "4096\n", "2\n", "0\n");
    expect_skipped("0 or 1");
}

static void test_scan_available_gt_size(void)
{
    make_provider(BAD_CHAIN, "4096\n", "8192\n", "1\n", "0\n");
    expect_skipped("exceeds size");
}

static void test_scan_bad_numa(void)
{
    make_provider(BAD_CHAIN, "4096\n", "4096\n", "1\n", "node0\n");
    expect_skipped("numa_node");
}

static void test_scan_huge_value(void)
{
    char big[200];

    memset(big, '9', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    make_provider(BAD_CHAIN, big, "4096\n", "1\n", "0\n");
    expect_skipped("too long");
}

static void test_scan_missing_allocate(void)
{
    char p[PATH_MAX];

    make_provider(BAD_CHAIN, "4096\n", "4096\n", "1\n", "0\n");
    snprintf(p, sizeof(p), "%s/0000:09:00.0/p2pmem/allocate", pci_root);
    CU_ASSERT_EQUAL(unlink(p), 0);
    expect_skipped("Linux 6.2");
}

/* allocate replaced by something that is not the kernel's file */
static void replace_allocate(int as_dir)
{
    char p[PATH_MAX];

    make_provider(BAD_CHAIN, "4096\n", "4096\n", "1\n", "0\n");
    snprintf(p, sizeof(p), "%s/0000:09:00.0/p2pmem/allocate", pci_root);
    CU_ASSERT_EQUAL(unlink(p), 0);
    if (as_dir) {
        CU_ASSERT_EQUAL(mkdir(p, 0755), 0);
    } else {
        writef(p, "%s", ""); /* mapping it would fault past its end */
    }
}

static void test_scan_allocate_dir(void)
{
    replace_allocate(1);
    expect_skipped("is a directory, not the kernel's P2PDMA allocation file");
}

static void test_scan_allocate_short_file(void)
{
    replace_allocate(0);
    expect_skipped("a regular file shorter than the pool");
}

static void test_scan_p2pmem_not_dir(void)
{
    char dev[PATH_MAX], p[PATH_MAX + 16];

    make_device(BAD_CHAIN, dev, sizeof(dev));
    snprintf(p, sizeof(p), "%s/p2pmem", dev);
    writef(p, "not a directory\n");
    expect_skipped("not a directory");
}

static void test_scan_no_host_bridge(void)
{
    char dev[PATH_MAX], link[PATH_MAX], p[PATH_MAX + 64];

    /* a provider whose device is not under a pciDDDD:BB directory */
    snprintf(dev, sizeof(dev), "%s/sys/devices/platform/0000:09:00.0", tree);
    snprintf(p, sizeof(p), "%s/p2pmem", dev);
    mkdirs(p);
    snprintf(p, sizeof(p), "%s/p2pmem/size", dev);
    writef(p, "4096\n");
    snprintf(p, sizeof(p), "%s/p2pmem/available", dev);
    writef(p, "4096\n");
    snprintf(p, sizeof(p), "%s/p2pmem/published", dev);
    writef(p, "1\n");
    snprintf(p, sizeof(p), "%s/p2pmem/allocate", dev);
    CU_ASSERT_EQUAL(symlink("/dev/zero", p), 0);
    snprintf(link, sizeof(link), "%s/0000:09:00.0", pci_root);
    CU_ASSERT_EQUAL(symlink("../../../devices/platform/0000:09:00.0", link),
                    0);
    expect_skipped("host bridge");
}

static void test_scan_no_root(void)
{
    ucs_p2pmem_list_t list;
    char p[PATH_MAX + 16];

    snprintf(p, sizeof(p), "%s/nonexistent", tree);
    CU_ASSERT_EQUAL(ucs_p2pmem_scan(p, &list, collect, &reports), 0);
    CU_ASSERT_EQUAL(list.count, 0);

    /* a file where the directory should be: an empty list, not a crash */
    snprintf(p, sizeof(p), "%s/file", tree);
    writef(p, "x");
    CU_ASSERT_EQUAL(ucs_p2pmem_scan(p, &list, collect, &reports), 0);
    CU_ASSERT_EQUAL(list.count, 0);
}

static void test_scan_rdma(void)
{
    ucs_p2pmem_rdma_list_t rdma;

    make_rdma("mlx5_0", "0000:00:02.0/0000:01:00.1", "0\n");
    make_rdma("mlx5_1", "0000:00:03.0/0000:02:00.1", "1\n");

    CU_ASSERT_EQUAL(ucs_p2pmem_scan_rdma(pci_root, NULL, &rdma, collect,
                                         &reports), 0);
    CU_ASSERT_EQUAL(rdma.count, 2);
    ucs_p2pmem_rdma_list_free(&rdma);

    CU_ASSERT_EQUAL(ucs_p2pmem_scan_rdma(pci_root, "mlx5_1:1", &rdma, collect,
                                         &reports), 0);
    CU_ASSERT_EQUAL_FATAL(rdma.count, 1);
    CU_ASSERT_STRING_EQUAL(rdma.devs[0].name, "mlx5_1");
    CU_ASSERT(rdma.devs[0].has_path);
    CU_ASSERT_EQUAL(rdma.devs[0].numa_node, 1);
    ucs_p2pmem_rdma_list_free(&rdma);

    /* "mlx5" is a prefix of a name, not a name */
    CU_ASSERT_EQUAL(ucs_p2pmem_scan_rdma(pci_root, "mlx5", &rdma, collect,
                                         &reports), 0);
    CU_ASSERT_EQUAL(rdma.count, 0);

    /* a root that is not .../bus/pci/devices: no RDMA lookup */
    CU_ASSERT_EQUAL(ucs_p2pmem_scan_rdma(tree, NULL, &rdma, collect,
                                         &reports), 0);
    CU_ASSERT_EQUAL(rdma.count, 0);
}

/* ---- selection ---- */

static void three_providers(ucs_p2pmem_list_t *list)
{
    make_provider("0000:00:02.0/0000:01:00.0", "4096\n", "4096\n", "1\n",
                  "0\n");
    make_provider("0000:00:03.0/0000:02:00.0", "4096\n", "4096\n", "1\n",
                  "1\n");
    make_provider("0000:00:04.0/0000:03:00.0", "4096\n", "4096\n", "0\n",
                  "1\n");
    scan_ok(list);
    CU_ASSERT_EQUAL_FATAL(list->count, 3);
}

static unsigned select_with(const ucs_p2pmem_list_t *list, const char *spec,
                            const char *rdma_filter, int local_node,
                            unsigned *order)
{
    ucs_p2pmem_select_spec_t s;
    ucs_p2pmem_rdma_list_t rdma;
    unsigned n;

    CU_ASSERT_EQUAL_FATAL(ucs_p2pmem_parse_select(spec, &s, NULL, 0), 0);
    CU_ASSERT_EQUAL(ucs_p2pmem_scan_rdma(pci_root, rdma_filter, &rdma,
                                         collect, &reports), 0);
    n = ucs_p2pmem_select(list, &s, &rdma, local_node, order, collect,
                          &reports);
    ucs_p2pmem_rdma_list_free(&rdma);
    ucs_p2pmem_select_spec_free(&s);
    return n;
}

static void test_select_auto_topology(void)
{
    ucs_p2pmem_list_t list;
    unsigned order[3];

    three_providers(&list);
    /* NIC beside the second provider: it wins, whatever the NUMA node */
    make_rdma("mlx5_0", "0000:00:03.0/0000:02:00.1", "0\n");
    CU_ASSERT_EQUAL_FATAL(select_with(&list, "auto", NULL, 0, order), 1);
    CU_ASSERT_STRING_EQUAL(list.providers[order[0]].name, "0000:02:00.0");
    ucs_p2pmem_list_free(&list);
}

static void test_select_auto_numa(void)
{
    ucs_p2pmem_list_t list;
    unsigned order[3];

    three_providers(&list);
    /* no RDMA device at all: the caller's NUMA node decides */
    CU_ASSERT_EQUAL_FATAL(select_with(&list, "auto", NULL, 1, order), 1);
    CU_ASSERT_STRING_EQUAL(list.providers[order[0]].name, "0000:02:00.0");
    CU_ASSERT_EQUAL_FATAL(select_with(&list, "auto", NULL, 0, order), 1);
    CU_ASSERT_STRING_EQUAL(list.providers[order[0]].name, "0000:01:00.0");
    /* a node with no provider: every published one */
    CU_ASSERT_EQUAL(select_with(&list, "auto", NULL, 5, order), 2);
    /* an RDMA device under another host bridge: its NUMA node decides */
    make_rdma("mlx5_9", "../pci0000:40/0000:40:01.0", "1\n");
    CU_ASSERT_EQUAL_FATAL(select_with(&list, "auto", NULL, 0, order), 1);
    CU_ASSERT_STRING_EQUAL(list.providers[order[0]].name, "0000:02:00.0");
    ucs_p2pmem_list_free(&list);
}

static void test_select_auto_none_published(void)
{
    ucs_p2pmem_list_t list;
    unsigned order[1];

    make_provider("0000:00:04.0/0000:03:00.0", "4096\n", "4096\n", "0\n",
                  "0\n");
    scan_ok(&list);
    CU_ASSERT_EQUAL(select_with(&list, "auto", NULL, 0, order), 0);
    /* an empty selection is explained, with the way out */
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_WARN], 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(reports.last[UCS_P2PMEM_LOG_WARN],
                                  "none published"));
    CU_ASSERT_PTR_NOT_NULL(strstr(reports.last[UCS_P2PMEM_LOG_WARN],
                                  "UCX_P2PMEM_DEVICES"));
    CU_ASSERT_EQUAL(select_with(&list, "all", NULL, 0, order), 1);
    CU_ASSERT_EQUAL(select_with(&list, "0000:03:00.0", NULL, 0, order), 1);
    ucs_p2pmem_list_free(&list);
}

static void test_select_all_order(void)
{
    ucs_p2pmem_list_t list;
    unsigned order[3];

    three_providers(&list);
    make_rdma("mlx5_0", "0000:00:04.0/0000:03:00.1", "1\n");
    /* all, nearest first: 03 (beside the NIC), then by NUMA node, name */
    CU_ASSERT_EQUAL_FATAL(select_with(&list, "all", NULL, 0, order), 3);
    CU_ASSERT_STRING_EQUAL(list.providers[order[0]].name, "0000:03:00.0");
    CU_ASSERT_STRING_EQUAL(list.providers[order[1]].name, "0000:02:00.0");
    CU_ASSERT_STRING_EQUAL(list.providers[order[2]].name, "0000:01:00.0");
    ucs_p2pmem_list_free(&list);
}

static void test_select_list(void)
{
    ucs_p2pmem_list_t list;
    unsigned order[3];

    three_providers(&list);
    memset(&reports, 0, sizeof(reports));
    CU_ASSERT_EQUAL_FATAL(select_with(&list,
                                      "0000:03:00.0,0000:07:00.0,01:00.0,"
                                      "0000:03:00.0", NULL, 0, order), 2);
    CU_ASSERT_STRING_EQUAL(list.providers[order[0]].name, "0000:03:00.0");
    CU_ASSERT_STRING_EQUAL(list.providers[order[1]].name, "0000:01:00.0");
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_WARN], 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(reports.last[UCS_P2PMEM_LOG_WARN],
                                  "0000:07:00.0"));
    ucs_p2pmem_list_free(&list);
}

/* ---- mapping ---- */

static void test_map(void)
{
    ucs_p2pmem_list_t list;
    size_t len = (size_t)sysconf(_SC_PAGESIZE) * 4;
    unsigned char *p, *q;
    int err;

    make_provider("0000:00:02.0/0000:01:00.0", "65536\n", "65536\n", "1\n",
                  "0\n");
    scan_ok(&list);
    CU_ASSERT_EQUAL_FATAL(list.count, 1);

    /* two mappings are two distinct, zeroed, writable allocations */
    p = ucs_p2pmem_map(&list.providers[0], len, &err);
    q = ucs_p2pmem_map(&list.providers[0], len, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT(p[0] == 0 && p[len - 1] == 0);
    memset(p, 0xa5, len);
    CU_ASSERT(q[0] == 0 && q[len - 1] == 0);
    CU_ASSERT_EQUAL(ucs_p2pmem_unmap(p, len), 0);
    CU_ASSERT_EQUAL(ucs_p2pmem_unmap(q, len), 0);

    /* the provider went away */
    CU_ASSERT_EQUAL(unlink(list.providers[0].allocate_path), 0);
    CU_ASSERT_PTR_NULL(ucs_p2pmem_map(&list.providers[0], len, &err));
    CU_ASSERT_EQUAL(err, ENOENT);

    /* a file that cannot be mapped */
    writef(list.providers[0].allocate_path, "x");
    chmod(list.providers[0].allocate_path, 0444);
    if (geteuid() != 0) {
        CU_ASSERT_PTR_NULL(ucs_p2pmem_map(&list.providers[0], len, &err));
        CU_ASSERT_EQUAL(err, EACCES);
    }
    ucs_p2pmem_list_free(&list);
}

static void test_map_hints(void)
{
    CU_ASSERT_PTR_NOT_NULL(strstr(ucs_p2pmem_map_hint(EACCES), "udev"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ucs_p2pmem_map_hint(EACCES), "p2pmem"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ucs_p2pmem_map_hint(ENOMEM), "exhausted"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ucs_p2pmem_map_hint(ENOENT), "removed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ucs_p2pmem_map_hint(EINVAL), "6.2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ucs_p2pmem_map_hint(EIO), "dmesg"));
}

/* ---- the pipeline: ucs_p2pmem_ctx_open / ucs_p2pmem_ctx_map ---- */

/* Open a context on the test tree with selection devices (NULL: auto). */
static int ctx_open_with(ucs_p2pmem_ctx_t *ctx, const char *root,
                         const char *devices)
{
    const ucs_p2pmem_config_t cfg = {root, devices, NULL};

    memset(&reports, 0, sizeof(reports));
    return ucs_p2pmem_ctx_open(&cfg, ctx, collect, &reports);
}

static size_t pages(unsigned n)
{
    return (size_t)sysconf(_SC_PAGESIZE) * n;
}

/* Is no mapping of this process at address (/proc/self/maps)? */
static int is_unmapped(void *address)
{
    unsigned long lo, hi;
    char line[PATH_MAX + 128];
    FILE *f = fopen("/proc/self/maps", "r");
    int found = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (!found && (fgets(line, sizeof(line), f) != NULL)) {
        found = (sscanf(line, "%lx-%lx", &lo, &hi) == 2) &&
                ((uintptr_t)address >= lo) && ((uintptr_t)address < hi);
    }
    fclose(f);
    return !found;
}

/* The address space this process holds now (VmSize), in bytes. */
static size_t vm_size(void)
{
    char line[256];
    size_t kb = 0;
    FILE *f = fopen("/proc/self/status", "r");

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (!strncmp(line, "VmSize:", 7)) {
            kb = strtoull(line + 7, NULL, 10);
        }
    }
    fclose(f);
    return kb * 1024;
}

/* 0000:01:00.0 (8 KiB, published) and 0000:02:00.0 of size2 bytes. */
static void two_providers(const char *size2, const char *published2)
{
    make_provider("0000:00:02.0/0000:01:00.0", "8192\n", "8192\n", "1\n",
                  "0\n");
    make_provider("0000:00:03.0/0000:02:00.0", size2, size2, published2,
                  "0\n");
}

static void test_ctx_open_order(void)
{
    ucs_p2pmem_ctx_t ctx;

    two_providers("65536\n", "1\n");
    CU_ASSERT_EQUAL_FATAL(ctx_open_with(&ctx, pci_root,
                                        "0000:02:00.0,0000:01:00.0"), 0);
    CU_ASSERT_EQUAL_FATAL(ctx.count, 2);
    /* the user's order, each with fresh run-time state */
    CU_ASSERT_STRING_EQUAL(ctx.providers[0].p->name, "0000:02:00.0");
    CU_ASSERT_STRING_EQUAL(ctx.providers[1].p->name, "0000:01:00.0");
    CU_ASSERT_EQUAL(ctx.providers[0].disabled_errno, 0);
    CU_ASSERT_PTR_NULL(ctx.providers[1].user);
    CU_ASSERT_STRING_EQUAL(ucs_p2pmem_ctx_largest(&ctx)->name,
                           "0000:02:00.0");
    CU_ASSERT_EQUAL(ctx.nodev_reason[0], '\0');
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_WARN], 0);
    ucs_p2pmem_ctx_close(&ctx);
    CU_ASSERT_EQUAL(ctx.count, 0);
}

static void test_ctx_nodev_reason(void)
{
    ucs_p2pmem_ctx_t ctx;
    char text[512];

    /* nothing under the root: load a driver, or point the root elsewhere */
    CU_ASSERT_EQUAL(ctx_open_with(&ctx, pci_root, NULL), 0);
    CU_ASSERT_EQUAL(ctx.count, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.nodev_reason, "no P2PDMA provider"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.nodev_reason, pci_root));
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.nodev_reason, "UCX_P2PMEM_SYSFS_ROOT"));
    /* the one table says the same */
    CU_ASSERT_STRING_EQUAL(ucs_p2pmem_failure_text(&ctx, ENODEV, 1, NULL,
                                                   text, sizeof(text)),
                           ctx.nodev_reason);
    ucs_p2pmem_ctx_close(&ctx);

    /* a provider that auto may not take: name the way out */
    make_provider("0000:00:02.0/0000:01:00.0", "8192\n", "8192\n", "0\n",
                  "0\n");
    CU_ASSERT_EQUAL(ctx_open_with(&ctx, pci_root, "auto"), 0);
    CU_ASSERT_EQUAL(ctx.count, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.nodev_reason, "UCX_P2PMEM_DEVICES=auto "
                                  "selects none of the 1 provider(s)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.nodev_reason, "UCX_P2PMEM_DEVICES=all"));
    ucs_p2pmem_ctx_close(&ctx);
}

/* An empty UCX_P2PMEM_DEVICES selects what auto does, with no error. */
static void test_ctx_empty_selection(void)
{
    ucs_p2pmem_ctx_t ctx;

    two_providers("8192\n", "0\n");
    CU_ASSERT_EQUAL_FATAL(ctx_open_with(&ctx, pci_root, ""), 0);
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_ERROR], 0);
    CU_ASSERT_EQUAL_FATAL(ctx.count, 1); /* published only, as auto */
    CU_ASSERT_STRING_EQUAL(ctx.providers[0].p->name, "0000:01:00.0");
    ucs_p2pmem_ctx_close(&ctx);
}

static void test_ctx_bad_selection(void)
{
    ucs_p2pmem_ctx_t ctx;

    CU_ASSERT_EQUAL(ctx_open_with(&ctx, pci_root, "0000:01:00.0,bogus"),
                    -EINVAL);
    CU_ASSERT_EQUAL(ctx.count, 0);
    /* one error naming the value, the bad token and the fix */
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_ERROR], 1);
    CU_ASSERT_STRING_EQUAL(reports.last[UCS_P2PMEM_LOG_ERROR],
                           "UCX_P2PMEM_DEVICES=0000:01:00.0,bogus: 'bogus' is "
                           "not valid; use 'auto', 'all', or PCI addresses "
                           "such as 0000:01:00.0 separated by commas");
    CU_ASSERT_STRING_EQUAL(ctx.nodev_reason,
                           reports.last[UCS_P2PMEM_LOG_ERROR]);
    ucs_p2pmem_ctx_close(&ctx);
}

static void test_ctx_missing_root(void)
{
    char p[PATH_MAX + 16];
    ucs_p2pmem_ctx_t ctx;

    snprintf(p, sizeof(p), "%s/nonexistent", tree);
    CU_ASSERT_EQUAL(ctx_open_with(&ctx, p, NULL), 0);
    CU_ASSERT_EQUAL(ctx.count, 0);
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_WARN], 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(reports.last[UCS_P2PMEM_LOG_WARN],
                                  "UCX_P2PMEM_SYSFS_ROOT="));
    CU_ASSERT_PTR_NOT_NULL(strstr(reports.last[UCS_P2PMEM_LOG_WARN],
                                  ": No such file or directory; no p2pmem "
                                  "providers (unset it to scan "
                                  "/sys/bus/pci/devices)"));
    ucs_p2pmem_ctx_close(&ctx);

    snprintf(p, sizeof(p), "%s/file", tree);
    writef(p, "x");
    CU_ASSERT_EQUAL(ctx_open_with(&ctx, p, NULL), 0);
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_WARN], 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(reports.last[UCS_P2PMEM_LOG_WARN],
                                  ": Not a directory; no p2pmem providers"));
    ucs_p2pmem_ctx_close(&ctx);

    /* a root that is there: no warning */
    CU_ASSERT_EQUAL(ctx_open_with(&ctx, pci_root, NULL), 0);
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_WARN], 0);
    ucs_p2pmem_ctx_close(&ctx);
}

static void test_ctx_map_oversize(void)
{
    ucs_p2pmem_map_result_t r;
    ucs_p2pmem_ctx_t ctx;
    char text[512];

    make_provider("0000:00:02.0/0000:01:00.0", "8192\n", "8192\n", "1\n",
                  "0\n");
    CU_ASSERT_EQUAL_FATAL(ctx_open_with(&ctx, pci_root, "all"), 0);
    CU_ASSERT_EQUAL_FATAL(ctx.count, 1);
    /* the emulated provider would serve it: refused by size, not mapped */
    CU_ASSERT_EQUAL(ucs_p2pmem_ctx_map(&ctx, 8192 * 2, NULL, NULL, &r),
                    EFBIG);
    CU_ASSERT_PTR_NULL(r.address);
    CU_ASSERT_EQUAL(r.err, EFBIG);
    CU_ASSERT_EQUAL(r.oversize, 1);
    CU_ASSERT_EQUAL(r.exhausted, 0);
    CU_ASSERT_PTR_NULL(r.last_failed);
    CU_ASSERT_EQUAL(ctx.providers[0].disabled_errno, 0);
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_ERROR], 0);
    /* the one table's words, with the largest provider */
    CU_ASSERT_STRING_EQUAL(ucs_p2pmem_failure_text(&ctx, r.err, 8192 * 2,
                                                   r.last_failed, text,
                                                   sizeof(text)),
                           "16384 bytes are more than any selected P2PDMA "
                           "provider holds (the largest, 0000:01:00.0, has "
                           "8192 bytes); allocate less or select a larger "
                           "provider (UCX_P2PMEM_DEVICES)");
    ucs_p2pmem_ctx_close(&ctx);
}

/* Exhaustion as the kernel signals it, ENOMEM from mmap(): here from the
 * address-space limit (RLIMIT_AS just above what the process holds), for a
 * 64 MiB mapping from a 64 MiB provider. */
static void test_ctx_map_exhausted(void)
{
    const size_t huge = (size_t)64 << 20;
    ucs_p2pmem_map_result_t r;
    struct rlimit old, lim;
    ucs_p2pmem_ctx_t ctx;
    char text[512];
    int ret;

    make_provider("0000:00:02.0/0000:01:00.0", "67108864\n", "67108864\n",
                  "1\n", "0\n");
    make_provider("0000:00:03.0/0000:02:00.0", "8192\n", "8192\n", "1\n",
                  "0\n");
    CU_ASSERT_EQUAL_FATAL(ctx_open_with(&ctx, pci_root,
                                        "0000:01:00.0,0000:02:00.0"), 0);
    CU_ASSERT_EQUAL_FATAL(ctx.count, 2);

    CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_AS, &old), 0);
    lim          = old;
    lim.rlim_cur = vm_size() + huge / 4;
    CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_AS, &lim), 0);
    ret = ucs_p2pmem_ctx_map(&ctx, huge, NULL, NULL, &r);
    setrlimit(RLIMIT_AS, &old);

    /* one provider out of room, the other too small: exhaustion wins */
    CU_ASSERT_EQUAL(ret, ENOMEM);
    CU_ASSERT_PTR_NULL(r.address);
    CU_ASSERT_EQUAL(r.exhausted, 1);
    CU_ASSERT_EQUAL(r.oversize, 1);
    CU_ASSERT_PTR_EQUAL(r.last_failed, ctx.providers[0].p);
    ucs_p2pmem_failure_text(&ctx, ret, huge, r.last_failed, text,
                            sizeof(text));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "device memory exhausted (see "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "0000:01:00.0/p2pmem/available)"));
    /* exhaustion passes: the provider stays in use, nothing is an error */
    CU_ASSERT_EQUAL(ctx.providers[0].disabled_errno, 0);
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_ERROR], 0);
    CU_ASSERT_EQUAL(ucs_p2pmem_ctx_map(&ctx, pages(1), NULL, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.index, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.address);
    CU_ASSERT_EQUAL(ucs_p2pmem_unmap(r.address, pages(1)), 0);
    ucs_p2pmem_ctx_close(&ctx);
}

static void test_ctx_map_disable_once(void)
{
    ucs_p2pmem_map_result_t r;
    ucs_p2pmem_ctx_t ctx;

    make_provider("0000:00:02.0/0000:01:00.0", "65536\n", "65536\n", "1\n",
                  "0\n");
    make_provider("0000:00:03.0/0000:02:00.0", "65536\n", "65536\n", "1\n",
                  "0\n");
    CU_ASSERT_EQUAL_FATAL(ctx_open_with(&ctx, pci_root,
                                        "0000:01:00.0,0000:02:00.0"), 0);
    CU_ASSERT_EQUAL_FATAL(ctx.count, 2);

    /* the first provider goes away: skipped for good, said once, with the
     * file, the cause and the hint; the second serves */
    CU_ASSERT_EQUAL_FATAL(unlink(ctx.providers[0].p->allocate_path), 0);
    CU_ASSERT_EQUAL(ucs_p2pmem_ctx_map(&ctx, pages(1), NULL, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.index, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.address);
    CU_ASSERT_EQUAL(ucs_p2pmem_unmap(r.address, pages(1)), 0);
    CU_ASSERT_EQUAL(ctx.providers[0].disabled_errno, ENOENT);
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_ERROR], 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(reports.last[UCS_P2PMEM_LOG_ERROR],
                                  "cannot allocate from 0000:01:00.0 "
                                  "(emulated), skipping it: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(reports.last[UCS_P2PMEM_LOG_ERROR],
                                  ctx.providers[0].p->allocate_path));
    CU_ASSERT_PTR_NOT_NULL(strstr(reports.last[UCS_P2PMEM_LOG_ERROR],
                                  ucs_p2pmem_map_hint(ENOENT)));

    CU_ASSERT_EQUAL(ucs_p2pmem_ctx_map(&ctx, pages(1), NULL, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.index, 1);
    CU_ASSERT_EQUAL(ucs_p2pmem_unmap(r.address, pages(1)), 0);
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_ERROR], 1);

    /* both gone: the verdict is the last disabled provider's errno, and
     * each was reported once */
    CU_ASSERT_EQUAL_FATAL(unlink(ctx.providers[1].p->allocate_path), 0);
    CU_ASSERT_EQUAL(ucs_p2pmem_ctx_map(&ctx, pages(1), NULL, NULL, &r),
                    ENOENT);
    CU_ASSERT_EQUAL(ucs_p2pmem_ctx_map(&ctx, pages(1), NULL, NULL, &r),
                    ENOENT);
    CU_ASSERT_PTR_NULL(r.address);
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_ERROR], 2);
    ucs_p2pmem_ctx_close(&ctx);
}

typedef struct {
    int       verdict;        /* what the callback answers */
    int       disable;        /* and whether it disables the provider */
    unsigned  calls;
    void     *seen;           /* the mapping it was shown */
} veto_t;

static int veto(void *arg, ucs_p2pmem_prov_state_t *ps, void *address,
                size_t length)
{
    veto_t *v = arg;

    ++v->calls;
    v->seen = address;
    if (v->disable) {
        ps->disabled_errno = v->verdict;
    }
    return v->verdict;
}

static void test_ctx_map_veto(void)
{
    veto_t v = {EPERM, 0, 0, NULL};
    ucs_p2pmem_map_result_t r;
    ucs_p2pmem_ctx_t ctx;

    make_provider("0000:00:02.0/0000:01:00.0", "65536\n", "65536\n", "1\n",
                  "0\n");
    CU_ASSERT_EQUAL_FATAL(ctx_open_with(&ctx, pci_root, "all"), 0);
    CU_ASSERT_EQUAL_FATAL(ctx.count, 1);

    /* refused for this request only: unmapped, the provider stays */
    CU_ASSERT_EQUAL(ucs_p2pmem_ctx_map(&ctx, pages(2), veto, &v, &r), ENODEV);
    CU_ASSERT_EQUAL(v.calls, 1);
    CU_ASSERT_EQUAL(r.refused, 1);
    CU_ASSERT_PTR_NULL(r.address);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v.seen);
    CU_ASSERT(is_unmapped(v.seen));
    CU_ASSERT_EQUAL(ctx.providers[0].disabled_errno, 0);

    /* accepted */
    v.verdict = 0;
    CU_ASSERT_EQUAL(ucs_p2pmem_ctx_map(&ctx, pages(2), veto, &v, &r), 0);
    CU_ASSERT_EQUAL(v.calls, 2);
    CU_ASSERT_PTR_EQUAL(r.address, v.seen);
    CU_ASSERT_EQUAL(ucs_p2pmem_unmap(r.address, pages(2)), 0);

    /* refused for good: the callback's errno is the verdict from now on,
     * and the provider is not mapped (nor shown) again */
    v.verdict = EFAULT;
    v.disable = 1;
    CU_ASSERT_EQUAL(ucs_p2pmem_ctx_map(&ctx, pages(2), veto, &v, &r), EFAULT);
    CU_ASSERT(is_unmapped(v.seen));
    CU_ASSERT_EQUAL(ucs_p2pmem_ctx_map(&ctx, pages(2), veto, &v, &r), EFAULT);
    CU_ASSERT_EQUAL(v.calls, 3);
    /* the callback reports its own reason; the pipeline adds none */
    CU_ASSERT_EQUAL(reports.count[UCS_P2PMEM_LOG_ERROR], 0);
    ucs_p2pmem_ctx_close(&ctx);
}

static void test_once(void)
{
    ucs_p2pmem_once_t once = UCS_P2PMEM_ONCE_INIT, other = UCS_P2PMEM_ONCE_INIT;

    CU_ASSERT_EQUAL(ucs_p2pmem_once(&once), 1);
    CU_ASSERT_EQUAL(ucs_p2pmem_once(&once), 0);
    CU_ASSERT_EQUAL(ucs_p2pmem_once(&once), 0);
    CU_ASSERT_EQUAL(ucs_p2pmem_once(&other), 1);
}

static void test_parse_bool(void)
{
    const char *yes[] = {"1", "y", "YES", "On", "true", NULL};
    const char *no[]  = {"0", "N", "no", "off", "FALSE", NULL};
    const char *bad[] = {"", "2", "loud", "bogus", "yes ", "nope", NULL};
    int i, v;

    for (i = 0; yes[i] != NULL; ++i) {
        v = -1;
        CU_ASSERT_EQUAL(ucs_p2pmem_parse_bool(yes[i], &v), 0);
        CU_ASSERT_EQUAL(v, 1);
    }
    for (i = 0; no[i] != NULL; ++i) {
        v = -1;
        CU_ASSERT_EQUAL(ucs_p2pmem_parse_bool(no[i], &v), 0);
        CU_ASSERT_EQUAL(v, 0);
    }
    for (i = 0; bad[i] != NULL; ++i) {
        v = -1;
        CU_ASSERT_EQUAL(ucs_p2pmem_parse_bool(bad[i], &v), -EINVAL);
        CU_ASSERT_EQUAL(v, -1);
    }
}

/* ---- runner ---- */

typedef struct {
    const char  *name;
    CU_TestFunc func;
} test_def_t;

int main(void)
{
    static const test_def_t parse_tests[] = {
        {"pci address", test_parse_pci_addr},
        {"sysfs u64", test_parse_u64},
        {"sysfs int", test_parse_int},
        {"pci path", test_parse_pci_path},
        {"device selection", test_parse_select},
        {"size", test_parse_size},
        {"pci distance", test_distance},
        {"map error hints", test_map_hints},
        {"yes/no values", test_parse_bool},
        {"warn once", test_once},
        {NULL, NULL}
    };
    static const test_def_t tree_tests[] = {
        {"valid providers", test_scan_valid},
        {"garbage size", test_scan_garbage_size},
        {"binary garbage", test_scan_binary_garbage},
        {"missing available", test_scan_missing_available},
        {"empty published", test_scan_empty_published},
        {"published out of range", test_scan_bad_published},
        {"available exceeds size", test_scan_available_gt_size},
        {"bad numa_node", test_scan_bad_numa},
        {"value too long", test_scan_huge_value},
        {"missing allocate", test_scan_missing_allocate},
        {"allocate is a directory", test_scan_allocate_dir},
        {"allocate is a short regular file", test_scan_allocate_short_file},
        {"p2pmem not a directory", test_scan_p2pmem_not_dir},
        {"no host bridge", test_scan_no_host_bridge},
        {"missing root", test_scan_no_root},
        {"rdma devices", test_scan_rdma},
        {"auto by topology", test_select_auto_topology},
        {"auto by numa", test_select_auto_numa},
        {"auto none published", test_select_auto_none_published},
        {"all ordering", test_select_all_order},
        {"explicit list", test_select_list},
        {"map and unmap", test_map},
        {"pipeline: open, order, state", test_ctx_open_order},
        {"pipeline: why nothing is selected", test_ctx_nodev_reason},
        {"pipeline: empty selection is auto", test_ctx_empty_selection},
        {"pipeline: bad selection", test_ctx_bad_selection},
        {"pipeline: user root missing", test_ctx_missing_root},
        {"pipeline: oversize", test_ctx_map_oversize},
        {"pipeline: exhausted", test_ctx_map_exhausted},
        {"pipeline: disable once with the reason", test_ctx_map_disable_once},
        {"pipeline: veto callback", test_ctx_map_veto},
        {NULL, NULL}
    };
    CU_pSuite suite;
    unsigned failures;
    const test_def_t *t;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }

    suite = CU_add_suite("p2pmem parsers and topology", NULL, NULL);
    for (t = parse_tests; t->name != NULL; ++t) {
        CU_add_test(suite, t->name, t->func);
    }

    /* each tree test gets a fresh sysfs tree */
    for (t = tree_tests; t->name != NULL; ++t) {
        suite = CU_add_suite(t->name, setup_tree, teardown_tree);
        CU_add_test(suite, t->name, t->func);
    }

    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures() +
               CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return (failures == 0) ? 0 : 1;
}
