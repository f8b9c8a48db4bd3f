/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: discovery of P2PDMA providers and RDMA devices in sysfs.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem_sys_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYSFS_PCI_SUFFIX "/bus/pci/devices"
/* st_size of the kernel's p2pmem/allocate (drivers/pci/p2pdma.c: SZ_1T) */
#define ALLOCATE_FILE_SIZE (1ull << 40)

static char *path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p  = malloc(la + lb + 2);

    if (p != NULL) {
        memcpy(p, a, la);
        p[la] = '/';
        memcpy(p + la + 1, b, lb + 1);
    }
    return p;
}

/* Read a small sysfs attribute. Returns length or negative errno;
 * -EFBIG if it does not fit (no sysfs number is that long), -EFTYPE_ATTR
 * if it is not a regular file: in a tree the user points us at, a FIFO
 * would block open() and read() for ever and a device file read as text
 * means nothing (O_NONBLOCK: the open itself never waits). */
#define EFTYPE_ATTR EINVAL
static long read_attr(const char *path, char *buf, size_t size)
{
    ssize_t n, total = 0;
    struct stat st;
    int fd, err;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        return -errno;
    }
    if ((fstat(fd, &st) != 0) || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EFTYPE_ATTR;
    }

    do {
        n = read(fd, buf + total, size - (size_t)total);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            err = errno;
            close(fd);
            return -err;
        }
        total += n;
    } while ((n > 0) && ((size_t)total < size));

    close(fd);
    return ((size_t)total == size) ? -EFBIG : total;
}

/* Make a bad attribute value fit for a log line (in place). */
static const char *printable(char *buf, size_t len)
{
    size_t i;

    if ((len > 0) && (buf[len - 1] == '\n')) {
        --len;
    }
    for (i = 0; i < len; ++i) {
        if ((buf[i] < 0x20) || (buf[i] > 0x7e)) {
            buf[i] = '?';
        }
    }
    buf[len] = '\0';
    return buf;
}

/* Read and parse one numeric attribute of a provider; reports on failure
 * when cb is set. */
static int read_u64_attr(const char *dir, const char *attr, const char *dev,
                         uint64_t *value, ucs_p2pmem_report_cb_t cb, void *arg)
{
    char buf[64], *path;
    long len;
    int ret;

    path = path_join(dir, attr);
    if (path == NULL) {
        return -ENOMEM;
    }

    len = read_attr(path, buf, sizeof(buf));
    if (len < 0) {
        ucs_p2pmem_report(cb, arg, UCS_P2PMEM_LOG_WARN,
               "p2pmem provider %s skipped: cannot read %s: %s", dev, path,
               (len == -EFBIG) ? "value too long" :
               (len == -EFTYPE_ATTR) ? "not a regular file (a FIFO, device "
               "or directory is not a sysfs attribute)" :
               strerror((int)-len));
        ret = (int)len;
    } else if (ucs_p2pmem_parse_u64(buf, (size_t)len, value) != 0) {
        ucs_p2pmem_report(cb, arg, UCS_P2PMEM_LOG_WARN,
               "p2pmem provider %s skipped: %s holds '%s', expected a "
               "decimal number", dev, path, printable(buf, (size_t)len));
        ret = -EINVAL;
    } else {
        ret = 0;
    }

    free(path);
    return ret;
}

/* NUMA node of a device directory; a missing file means "unknown". */
static int read_numa_node(const char *dev_dir, int *node)
{
    char buf[32], *path;
    long len;
    int ret;

    *node = UCS_P2PMEM_NUMA_UNKNOWN;
    path  = path_join(dev_dir, "numa_node");
    if (path == NULL) {
        return -ENOMEM;
    }

    len = read_attr(path, buf, sizeof(buf));
    free(path);
    if (len == -ENOENT) {
        return 0;
    } else if (len < 0) {
        return (int)len;
    }

    ret = ucs_p2pmem_parse_int(buf, (size_t)len, node);
    if ((ret == 0) && (*node < -1)) {
        ret = -EINVAL;
    }
    return ret;
}

static int resolve_pci_path(const char *link, ucs_p2pmem_pci_path_t *path)
{
    char *real;
    int ret;

    real = realpath(link, NULL);
    if (real == NULL) {
        return -errno;
    }
    ret = ucs_p2pmem_parse_pci_path(real, path);
    free(real);
    return ret;
}

static void provider_free(ucs_p2pmem_provider_t *p)
{
    free(p->p2pmem_dir);
    free(p->allocate_path);
}

/* Say why a provider is skipped: "p2pmem provider <name> skipped: ...". */
static void skipped(ucs_p2pmem_report_cb_t cb, void *arg, const char *name,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void skipped(ucs_p2pmem_report_cb_t cb, void *arg, const char *name,
                    const char *fmt, ...)
{
    char why[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    ucs_p2pmem_report(cb, arg, UCS_P2PMEM_LOG_WARN,
                      "p2pmem provider %s skipped: %s", name, why);
}

/* <dev>/p2pmem: 0 if a directory, 1 if absent (not a provider), -errno. */
static int probe_p2pmem_dir(const ucs_p2pmem_provider_t *p, const char *name,
                            ucs_p2pmem_report_cb_t cb, void *arg)
{
    struct stat st;
    int ret;

    if (stat(p->p2pmem_dir, &st) != 0) {
        ret = (errno == ENOENT) ? 1 : -errno;
        if (ret < 0) {
            skipped(cb, arg, name, "cannot access %s: %s", p->p2pmem_dir,
                    strerror(-ret));
        }
        return ret;
    }
    if (!S_ISDIR(st.st_mode)) {
        skipped(cb, arg, name, "%s is not a directory", p->p2pmem_dir);
        return -ENOTDIR;
    }
    return 0;
}

/* size, available, published: present, numbers, consistent. */
static int probe_pool(ucs_p2pmem_provider_t *p, const char *name,
                      ucs_p2pmem_report_cb_t cb, void *arg)
{
    uint64_t published;
    int ret;

    if (((ret = read_u64_attr(p->p2pmem_dir, "size", name, &p->size, cb,
                              arg)) != 0) ||
        ((ret = read_u64_attr(p->p2pmem_dir, "available", name,
                              &p->available, cb, arg)) != 0) ||
        ((ret = read_u64_attr(p->p2pmem_dir, "published", name, &published,
                              cb, arg)) != 0)) {
        return ret;
    }
    if (published > 1) {
        skipped(cb, arg, name, "%s/published is %llu, expected 0 or 1",
                p->p2pmem_dir, (unsigned long long)published);
        return -EINVAL;
    }
    p->published = (int)published;
    if (p->available > p->size) {
        skipped(cb, arg, name, "available (%llu) exceeds size (%llu) in %s",
                (unsigned long long)p->available,
                (unsigned long long)p->size, p->p2pmem_dir);
        return -EINVAL;
    }
    return 0;
}

/* Where the device sits: NUMA node and PCI path. */
static int probe_place(ucs_p2pmem_provider_t *p, const char *name,
                       const char *dev_dir, ucs_p2pmem_report_cb_t cb,
                       void *arg)
{
    int ret;

    ret = read_numa_node(dev_dir, &p->numa_node);
    if (ret != 0) {
        skipped(cb, arg, name, "%s/numa_node: %s", dev_dir,
                (ret == -EINVAL) ? "not a NUMA node number" : strerror(-ret));
        return ret;
    }
    ret = resolve_pci_path(dev_dir, &p->path);
    if (ret != 0) {
        skipped(cb, arg, name, "cannot place %s in the PCI hierarchy (%s)",
                dev_dir, (ret == -EINVAL) ?
                "no pciDDDD:BB host bridge above it" : strerror(-ret));
        return ret;
    }
    p->has_path = 1;
    return 0;
}

/* p2pmem/allocate: there, and the kernel's file (or the emulator's link). */
static int probe_allocate(ucs_p2pmem_provider_t *p, const char *name,
                          ucs_p2pmem_report_cb_t cb, void *arg)
{
    struct stat st;
    int ret;

    p->allocate_path = path_join(p->p2pmem_dir, "allocate");
    if (p->allocate_path == NULL) {
        return -ENOMEM;
    }
    if (lstat(p->allocate_path, &st) != 0) {
        skipped(cb, arg, name, "%s is missing (%s); userspace allocation "
                "needs Linux 6.2 or later", p->allocate_path,
                strerror(errno));
        return -ENOENT;
    }
    /* the kernel's allocate is a regular sysfs file; the development
     * emulator (test/emu/p2pmem-emu) makes it a link to /dev/zero */
    p->emulated = S_ISLNK(st.st_mode);

    /* The kernel's file claims ALLOCATE_FILE_SIZE bytes so that mmap
     * callers that check the size accept it. A shorter regular file is
     * not P2PDMA memory: touching its mapping past the end faults. */
    if (stat(p->allocate_path, &st) != 0) {
        ret = -errno;
        skipped(cb, arg, name, "%s: %s", p->allocate_path, strerror(-ret));
        return ret;
    }
    if (S_ISDIR(st.st_mode) ||
        (S_ISREG(st.st_mode) &&
         ((uint64_t)st.st_size < ((p->size < ALLOCATE_FILE_SIZE) ?
                                  p->size : ALLOCATE_FILE_SIZE)))) {
        skipped(cb, arg, name, "%s is %s, not the kernel's P2PDMA allocation "
                "file", p->allocate_path, S_ISDIR(st.st_mode) ?
                "a directory" : "a regular file shorter than the pool");
        return -EINVAL;
    }
    return 0;
}

/* Fill a provider from <root>/<name>; 0, 1 (not a provider) or -errno. */
static int probe_device(const char *root, const char *name,
                        ucs_p2pmem_provider_t *p, ucs_p2pmem_report_cb_t cb,
                        void *arg)
{
    char *dev_dir;
    int ret;

    memset(p, 0, sizeof(*p));
    if (ucs_p2pmem_parse_pci_addr(name, &p->addr) != 0) {
        return 1; /* not a PCI function: the tree may hold other entries */
    }
    ucs_p2pmem_format_pci_addr(&p->addr, p->name);

    dev_dir = path_join(root, name);
    if (dev_dir == NULL) {
        return -ENOMEM;
    }
    p->p2pmem_dir = path_join(dev_dir, "p2pmem");
    ret = (p->p2pmem_dir == NULL) ? -ENOMEM :
          probe_p2pmem_dir(p, name, cb, arg);
    if ((ret != 0) || ((ret = probe_pool(p, name, cb, arg)) != 0) ||
        ((ret = probe_place(p, name, dev_dir, cb, arg)) != 0) ||
        ((ret = probe_allocate(p, name, cb, arg)) != 0)) {
        goto out;
    }

    ucs_p2pmem_report(cb, arg, UCS_P2PMEM_LOG_DEBUG,
           "p2pmem provider %s: size %llu available %llu published %d "
           "numa %d under %s depth %u", p->name,
           (unsigned long long)p->size, (unsigned long long)p->available,
           p->published, p->numa_node, p->path.host_bridge, p->path.depth);

out:
    free(dev_dir);
    if (ret != 0) {
        provider_free(p);
    }
    return ret;
}

static int provider_cmp(const void *a, const void *b)
{
    return strcmp(((const ucs_p2pmem_provider_t*)a)->name,
                  ((const ucs_p2pmem_provider_t*)b)->name);
}

int ucs_p2pmem_scan(const char *root, ucs_p2pmem_list_t *list,
                    ucs_p2pmem_report_cb_t cb, void *arg)
{
    ucs_p2pmem_provider_t *p, *grown;
    unsigned capacity = 0;
    struct dirent *ent;
    DIR *dir;
    int ret;

    list->providers = NULL;
    list->count     = 0;

    dir = opendir(root);
    if (dir == NULL) {
        ret = -errno;
        if ((ret == -ENOENT) || (ret == -ENOTDIR)) {
            ucs_p2pmem_report(cb, arg, UCS_P2PMEM_LOG_DEBUG,
                   "%s does not exist, no providers", root);
            return 0;
        }
        ucs_p2pmem_report(cb, arg, UCS_P2PMEM_LOG_ERROR,
               "cannot read PCI device directory %s: %s", root,
               strerror(-ret));
        return ret;
    }

    while ((ent = readdir(dir)) != NULL) {
        if (ent->d_name[0] == '.') {
            continue;
        }
        if (list->count == capacity) {
            capacity = capacity ? (capacity * 2) : 8;
            grown    = realloc(list->providers, capacity * sizeof(*grown));
            if (grown == NULL) {
                ret = -ENOMEM;
                goto err;
            }
            list->providers = grown;
        }
        p   = &list->providers[list->count];
        ret = probe_device(root, ent->d_name, p, cb, arg);
        if (ret == -ENOMEM) {
            goto err;
        } else if (ret == 0) {
            ++list->count;
        }
    }

    closedir(dir);
    if (list->count > 1) {
        qsort(list->providers, list->count, sizeof(*list->providers),
              provider_cmp);
    }
    return 0;

err:
    closedir(dir);
    ucs_p2pmem_list_free(list);
    return ret;
}

void ucs_p2pmem_list_free(ucs_p2pmem_list_t *list)
{
    unsigned i;

    for (i = 0; i < list->count; ++i) {
        provider_free(&list->providers[i]);
    }
    free(list->providers);
    list->providers = NULL;
    list->count     = 0;
}

int ucs_p2pmem_net_device_match(const char *filter, const char *name,
                                int *port)
{
    const char *p = filter, *end;
    size_t len, name_len = strlen(name);

    if (port != NULL) {
        *port = 0;
    }
    if ((filter == NULL) || (filter[0] == '\0') || !strcmp(filter, "all")) {
        return 1;
    }

    while (*p != '\0') {
        end = strchr(p, ',');
        len = (end == NULL) ? strlen(p) : (size_t)(end - p);
        if ((len >= name_len) && !strncmp(p, name, name_len) &&
            ((len == name_len) || (p[name_len] == ':'))) {
            if ((port != NULL) && (len > name_len)) {
                *port = atoi(p + name_len + 1);
            }
            return 1;
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    return 0;
}

/* <sysfs>/class/infiniband next to the PCI tree root points at, in
 * *class_dir; NULL there when root is not a ".../bus/pci/devices". */
static int rdma_class_dir(const char *root, char **class_dir,
                          ucs_p2pmem_report_cb_t cb, void *arg)
{
    size_t root_len = strlen(root), suffix_len = strlen(SYSFS_PCI_SUFFIX);
    char *base;

    *class_dir = NULL;
    while ((root_len > 1) && (root[root_len - 1] == '/')) {
        --root_len;
    }
    if ((root_len < suffix_len) ||
        strncmp(root + root_len - suffix_len, SYSFS_PCI_SUFFIX, suffix_len)) {
        ucs_p2pmem_report(cb, arg, UCS_P2PMEM_LOG_DEBUG,
               "%s does not end in %s, RDMA devices not looked up",
               root, SYSFS_PCI_SUFFIX);
        return 0;
    }
    base = strndup(root, root_len - suffix_len);
    if (base == NULL) {
        return -ENOMEM;
    }
    *class_dir = path_join(base, "class/infiniband");
    free(base);
    return (*class_dir == NULL) ? -ENOMEM : 0;
}

/* Fill dev for <class_dir>/<name>: its PCI path and NUMA node, where known
 * (software devices such as rxe and siw have no PCI parent). */
static int rdma_probe(const char *class_dir, const char *name,
                      ucs_p2pmem_rdma_dev_t *dev, ucs_p2pmem_report_cb_t cb,
                      void *arg)
{
    char *dev_dir, *link;

    memset(dev, 0, sizeof(*dev));
    strcpy(dev->name, name);
    dev->numa_node = UCS_P2PMEM_NUMA_UNKNOWN;

    dev_dir = path_join(class_dir, name);
    link    = (dev_dir != NULL) ? path_join(dev_dir, "device") : NULL;
    free(dev_dir);
    if (link == NULL) {
        return -ENOMEM;
    }
    dev->has_path = (resolve_pci_path(link, &dev->path) == 0);
    if (read_numa_node(link, &dev->numa_node) != 0) {
        dev->numa_node = UCS_P2PMEM_NUMA_UNKNOWN;
    }
    free(link);
    ucs_p2pmem_report(cb, arg, UCS_P2PMEM_LOG_DEBUG,
           "RDMA device %s: %s, numa %d", dev->name,
           dev->has_path ? dev->path.host_bridge : "not on PCI",
           dev->numa_node);
    return 0;
}

int ucs_p2pmem_scan_rdma(const char *root, const char *filter,
                         ucs_p2pmem_rdma_list_t *list,
                         ucs_p2pmem_report_cb_t cb, void *arg)
{
    ucs_p2pmem_rdma_dev_t *grown;
    unsigned capacity = 0;
    struct dirent *ent;
    char *class_dir;
    DIR *dir;
    int ret;

    list->devs  = NULL;
    list->count = 0;
    ret = rdma_class_dir(root, &class_dir, cb, arg);
    if (class_dir == NULL) {
        return ret;
    }
    dir = opendir(class_dir);
    if (dir == NULL) {
        ucs_p2pmem_report(cb, arg, UCS_P2PMEM_LOG_DEBUG,
                          "no RDMA devices (%s: %s)", class_dir,
                          strerror(errno));
        goto out;
    }

    while ((ret == 0) && ((ent = readdir(dir)) != NULL)) {
        if ((ent->d_name[0] == '.') || !ucs_p2pmem_net_device_match(filter, ent->d_name, NULL) ||
            (strlen(ent->d_name) >= sizeof(grown->name))) {
            continue;
        }
        if (list->count == capacity) {
            capacity = capacity ? (capacity * 2) : 4;
            grown    = realloc(list->devs, capacity * sizeof(*grown));
            if (grown == NULL) {
                ret = -ENOMEM;
                break;
            }
            list->devs = grown;
        }
        ret = rdma_probe(class_dir, ent->d_name, &list->devs[list->count],
                         cb, arg);
        list->count += (ret == 0);
    }
    closedir(dir);
    if (ret != 0) {
        ucs_p2pmem_rdma_list_free(list);
    }
out:
    free(class_dir);
    return ret;
}

void ucs_p2pmem_rdma_list_free(ucs_p2pmem_rdma_list_t *list)
{
    free(list->devs);
    list->devs  = NULL;
    list->count = 0;
}
