/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: strict parsers for sysfs values, PCI addresses and paths,
 * and the device-selection and size variables.
 *
 * sysfs attributes are read by the kernel's own formatters, so anything other
 * than the exact expected form means the tree is not what we think it is:
 * reject it rather than guess.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem_sys_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hexval(char c)
{
    if ((c >= '0') && (c <= '9')) {
        return c - '0';
    }
    if ((c >= 'a') && (c <= 'f')) {
        return c - 'a' + 10;
    }
    if ((c >= 'A') && (c <= 'F')) {
        return c - 'A' + 10;
    }
    return -1;
}

/* Exactly ndigits hex digits from *p; advances *p. */
static int parse_hex_fixed(const char **p, unsigned ndigits, unsigned *value)
{
    unsigned i, v = 0;
    int d;

    for (i = 0; i < ndigits; ++i) {
        d = hexval((*p)[i]);
        if (d < 0) {
            return -EINVAL;
        }
        v = (v << 4) | (unsigned)d;
    }
    *p    += ndigits;
    *value = v;
    return 0;
}

int ucs_p2pmem_parse_pci_addr(const char *str, ucs_p2pmem_pci_addr_t *addr)
{
    const char *p = str;
    unsigned domain = 0, bus, dev, fn;
    size_t len;

    if (str == NULL) {
        return -EINVAL;
    }

    len = strlen(str);
    if (len == 12) {
        if ((parse_hex_fixed(&p, 4, &domain) != 0) || (*p++ != ':')) {
            return -EINVAL;
        }
    } else if (len != 7) {
        return -EINVAL;
    }

    if ((parse_hex_fixed(&p, 2, &bus) != 0) || (*p++ != ':') ||
        (parse_hex_fixed(&p, 2, &dev) != 0) || (*p++ != '.') ||
        (hexval(*p) < 0) || (hexval(*p) > 7) || (p[1] != '\0') ||
        (dev > 0x1f)) {
        return -EINVAL;
    }
    fn = (unsigned)hexval(*p);

    addr->domain = (uint16_t)domain;
    addr->bus    = (uint8_t)bus;
    addr->dev    = (uint8_t)dev;
    addr->fn     = (uint8_t)fn;
    return 0;
}

void ucs_p2pmem_format_pci_addr(const ucs_p2pmem_pci_addr_t *addr, char *buf)
{
    snprintf(buf, UCS_P2PMEM_PCI_NAME_MAX, "%04x:%02x:%02x.%x", addr->domain,
             addr->bus, addr->dev, addr->fn);
}

/* Length of buf without one trailing newline; -1 if empty or bad bytes. */
static long sysfs_value_len(const char *buf, size_t len)
{
    if ((len > 0) && (buf[len - 1] == '\n')) {
        --len;
    }
    return (len == 0) ? -1 : (long)len;
}

int ucs_p2pmem_parse_u64(const char *buf, size_t len, uint64_t *value)
{
    uint64_t v = 0;
    long n, i;
    unsigned d;

    n = sysfs_value_len(buf, len);
    if ((n < 0) || (n > 20)) {
        return -EINVAL;
    }

    for (i = 0; i < n; ++i) {
        if ((buf[i] < '0') || (buf[i] > '9')) {
            return -EINVAL;
        }
        d = (unsigned)(buf[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -EINVAL; /* overflow */
        }
        v = (v * 10) + d;
    }

    *value = v;
    return 0;
}

int ucs_p2pmem_parse_int(const char *buf, size_t len, int *value)
{
    uint64_t magnitude;
    int negative = 0;

    if ((len > 0) && (buf[0] == '-')) {
        negative = 1;
        ++buf;
        --len;
    }

    if ((ucs_p2pmem_parse_u64(buf, len, &magnitude) != 0) ||
        (magnitude > (negative ? (uint64_t)INT32_MAX + 1 : INT32_MAX))) {
        return -EINVAL;
    }

    *value = negative ? (int)(-(int64_t)magnitude) : (int)magnitude;
    return 0;
}

int ucs_p2pmem_parse_pci_path(const char *real_path,
                              ucs_p2pmem_pci_path_t *path)
{
    const char *comp, *end;
    char name[64];
    size_t len;
    unsigned domain, bus;
    const char *q;

    memset(path, 0, sizeof(*path));
    if ((real_path == NULL) || (real_path[0] != '/')) {
        return -EINVAL;
    }

    for (comp = real_path; *comp != '\0'; comp = end) {
        while (*comp == '/') {
            ++comp;
        }
        end = strchr(comp, '/');
        if (end == NULL) {
            end = comp + strlen(comp);
        }
        len = (size_t)(end - comp);
        if ((len == 0) || (len >= sizeof(name))) {
            continue;
        }
        memcpy(name, comp, len);
        name[len] = '\0';

        if (path->host_bridge[0] == '\0') {
            /* "pciDDDD:BB" names the host bridge (root complex) */
            q = name + 3;
            if ((len == 10) && (strncmp(name, "pci", 3) == 0) &&
                (parse_hex_fixed(&q, 4, &domain) == 0) && (*q++ == ':') &&
                (parse_hex_fixed(&q, 2, &bus) == 0) && (*q == '\0')) {
                memcpy(path->host_bridge, name, len + 1);
            }
            continue;
        }

        /* below the host bridge: PCI functions until the first non-PCI
         * component (e.g. "nvme", "infiniband") */
        if (ucs_p2pmem_parse_pci_addr(name, &path->chain[path->depth]) != 0) {
            break;
        }
        if (++path->depth == UCS_P2PMEM_PCI_DEPTH_MAX) {
            return -EINVAL;
        }
    }

    return ((path->host_bridge[0] != '\0') && (path->depth > 0)) ? 0 :
           -EINVAL;
}

static int is_separator(char c)
{
    return (c == ',') || (c == ' ') || (c == '\t') || (c == '\n');
}

static void copy_bad(char *bad, size_t bad_len, const char *tok, size_t len)
{
    if ((bad == NULL) || (bad_len == 0)) {
        return;
    }
    if (len >= bad_len) {
        len = bad_len - 1;
    }
    memcpy(bad, tok, len);
    bad[len] = '\0';
}

int ucs_p2pmem_parse_select(const char *str, ucs_p2pmem_select_spec_t *spec,
                            char *bad, size_t bad_len)
{
    const char *p, *tok, *end;
    char buf[32];
    size_t len;
    unsigned ntok = 0;
    ucs_p2pmem_pci_addr_t *addrs;

    memset(spec, 0, sizeof(*spec));
    copy_bad(bad, bad_len, "", 0);
    if (str == NULL) {
        return 0; /* auto */
    }

    /* upper bound on the number of tokens */
    for (p = str; *p != '\0'; ++p) {
        ntok += is_separator(*p);
    }
    addrs = calloc(ntok + 1, sizeof(*addrs));
    if (addrs == NULL) {
        return -ENOMEM;
    }

    ntok = 0;
    for (p = str; *p != '\0';) {
        while (is_separator(*p)) {
            ++p;
        }
        if (*p == '\0') {
            break;
        }
        tok = p;
        while ((*p != '\0') && !is_separator(*p)) {
            ++p;
        }
        len = (size_t)(p - tok);
        if (len >= sizeof(buf)) {
            goto err_bad;
        }
        memcpy(buf, tok, len);
        buf[len] = '\0';

        if (!strcmp(buf, "auto") || !strcmp(buf, "all")) {
            /* a keyword must stand alone */
            spec->mode = !strcmp(buf, "auto") ? UCS_P2PMEM_SELECT_AUTO :
                                                UCS_P2PMEM_SELECT_ALL;
            end = p;
            while (is_separator(*end)) {
                ++end;
            }
            if ((ntok != 0) || (*end != '\0')) {
                goto err_bad; /* names the keyword, not what follows */
            }
            free(addrs);
            return 0;
        }

        if (ucs_p2pmem_parse_pci_addr(buf, &addrs[ntok]) != 0) {
            goto err_bad;
        }
        ++ntok;
    }

    if (ntok == 0) {
        /* empty: the default, as an unset variable */
        free(addrs);
        return 0;
    }

    spec->mode  = UCS_P2PMEM_SELECT_LIST;
    spec->addrs = addrs;
    spec->count = ntok;
    return 0;

err_bad:
    copy_bad(bad, bad_len, tok, (size_t)(p - tok));
    free(addrs);
    return -EINVAL;
}

void ucs_p2pmem_select_spec_free(ucs_p2pmem_select_spec_t *spec)
{
    free(spec->addrs);
    spec->addrs = NULL;
    spec->count = 0;
}

int ucs_p2pmem_parse_size(const char *str, uint64_t *value)
{
    uint64_t v = 0, mult = 1;
    const char *p = str;
    unsigned d;

    if ((str == NULL) || !isdigit((unsigned char)*p)) {
        return -EINVAL;
    }

    for (; isdigit((unsigned char)*p); ++p) {
        d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -EINVAL;
        }
        v = (v * 10) + d;
    }

    switch (toupper((unsigned char)*p)) {
    case '\0':
        break;
    case 'B':
        /* bytes, spelled out as UCX's memory units allow */
        return (p[1] == '\0') ? (*value = v, 0) : -EINVAL;
    case 'K':
        mult = 1ull << 10;
        break;
    case 'M':
        mult = 1ull << 20;
        break;
    case 'G':
        mult = 1ull << 30;
        break;
    case 'T':
        mult = 1ull << 40;
        break;
    default:
        return -EINVAL;
    }

    if (*p != '\0') {
        ++p;
        /* accept "KB"/"MiB"-style spellings of the same binary unit */
        if ((*p == 'i') || (*p == 'I')) {
            ++p;
        }
        if ((*p == 'b') || (*p == 'B')) {
            ++p;
        }
        if (*p != '\0') {
            return -EINVAL;
        }
    }

    if ((v != 0) && (mult > UINT64_MAX / v)) {
        return -EINVAL;
    }
    *value = v * mult;
    return 0;
}

int ucs_p2pmem_parse_bool(const char *str, int *value)
{
    static const char *yes[] = {"1", "y", "yes", "on", "true"};
    static const char *no[]  = {"0", "n", "no", "off", "false"};
    unsigned i;

    for (i = 0; (str != NULL) && (i < 5); ++i) {
        if (!strcasecmp(str, yes[i]) || !strcasecmp(str, no[i])) {
            *value = !strcasecmp(str, yes[i]);
            return 0;
        }
    }
    return -EINVAL;
}

int ucs_p2pmem_parse_memunits(const char *str, uint64_t *value)
{
    if ((str != NULL) && !strcasecmp(str, "inf")) {
        *value = UCS_P2PMEM_SIZE_INF;
        return 0;
    }
    if ((str != NULL) && !strcasecmp(str, "auto")) {
        *value = UCS_P2PMEM_SIZE_AUTO;
        return 0;
    }
    return ucs_p2pmem_parse_size(str, value);
}
