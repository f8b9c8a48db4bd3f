/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * p2pmem-info: what P2PDMA providers this host has, which ones libp2pmem
 * and the UCX module would use, and (--procs) which processes hold memory
 * of each. An administrator's tool: it reads sysfs and /proc only, through
 * the same sysfs library (src/ucs) and the same variables as libp2pmem, so
 * what it prints is what the libraries see.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem_check.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WATCH_MAX_SECONDS 86400.0
/* each report scans sysfs and, with --procs, every process's maps */
#define WATCH_MIN_SECONDS 0.1
#define CHECK_TIMEOUT     10.0  /* seconds per completion */

typedef struct {
    int         pid;
    unsigned    uid;
    char        user[64];
    char        command[64];   /* comm: 15 bytes, any of them */
    size_t      command_len;
    uint64_t    bytes;
    unsigned    mappings;
} holder_t;

typedef struct {
    char       *map_path;      /* realpath of allocate, as /proc/PID/maps shows it */
    int         attributable;  /* 0: emulated link to a character device */
    holder_t   *holders;
    unsigned    count;
    unsigned    capacity;
} provider_procs_t;

typedef struct {
    int         procs;
    int         json;
    int         check;
    double      timeout;       /* --check: seconds per completion */
    double      watch;         /* seconds; 0: once */
    long        count;         /* reports in watch mode; 0: until stopped */
    const char *proc_root;     /* where procfs is mounted */
} options_t;

static volatile sig_atomic_t stop_requested;
static unsigned warnings;

/* the signal's number: --check exits with 128 + it */
static void on_signal(int sig)
{
    stop_requested = sig;
}

/* The library's own messages, prefixed like libp2pmem's. */
static void report_cb(void *arg, ucs_p2pmem_log_level_t level,
                      const char *message)
{
    if (level == UCS_P2PMEM_LOG_DEBUG) {
        return;
    }
    ++warnings;
    fprintf(stderr, PROG ": %s%s\n",
            (level == UCS_P2PMEM_LOG_ERROR) ? "error: " : "warning: ", message);
}

static void usage(FILE *f)
{
    fputs("Usage: " PROG " [--procs] [--json] [-w SECONDS [-c COUNT]]\n"
          "       " PROG " --check [--json] [-t SECONDS]\n"
          "List the P2PDMA memory providers of this host: size, available,\n"
          "published, NUMA node, PCI path, the RDMA devices nearest to each\n"
          "(PCI hops), and which ones libp2pmem and the UCX p2pmem module select.\n"
          "\n"
          "  -p, --procs          also list the processes holding memory of each\n"
          "                       provider (pid, user, command, bytes), from\n"
          "                       /proc/PID/maps of the processes you may inspect\n"
          "  -j, --json           one JSON object per report (one line each)\n"
          "  -w, --watch SECONDS  report again every SECONDS (e.g. 2 or 0.5; at\n"
          "                       least 0.1)\n"
          "  -c, --count COUNT    with -w: stop after COUNT reports\n"
          "  -k, --check          try what the libraries would, per selected\n"
          "                       provider and RDMA device (nearest first): map,\n"
          "                       register pinned and with ODP, RDMA WRITE, READ,\n"
          "                       SEND and an atomic over an RC loopback between\n"
          "                       p2pmem and host memory, every byte compared;\n"
          "                       then a verdict and the settings that follow\n"
          "  -t, --timeout SECONDS  --check: time each completion may take\n"
          "                       (default 10)\n"
          "  -h, --help           this text\n"
          "  -V, --version        the version\n"
          "\n"
          "Environment (as for libp2pmem and the UCX module):\n"
          "  UCX_P2PMEM_SYSFS_ROOT  PCI device directory (default "
          UCS_P2PMEM_DEFAULT_SYSFS_ROOT ")\n"
          "  UCX_P2PMEM_DEVICES     auto | all | PCI addresses (default auto)\n"
          "  UCX_NET_DEVICES        the RDMA devices 'auto' stays close to\n"
          "\n"
          "Exit status: 0 OK, 1 a problem was reported (bad sysfs content, bad\n"
          "UCX_P2PMEM_DEVICES, unreadable directory; --check: a provider and\n"
          "device that does not work), 2 bad command line, 128+N stopped by\n"
          "signal N (--check).\n"
          "See p2pmem-info(1).\n", f);
}

/* ---- small helpers ---- */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);

    if (p == NULL) {
        fprintf(stderr, PROG ": error: out of memory\n");
        exit(1);
    }
    return p;
}

void format_bytes(uint64_t v, char *buf, size_t len)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double d = (double)v;
    unsigned u = 0;

    while ((d >= 1024.0) && (u < 5)) {
        d /= 1024.0;
        ++u;
    }
    if (u == 0) {
        snprintf(buf, len, "%llu B", (unsigned long long)v);
    } else {
        snprintf(buf, len, "%.1f %s", d, units[u]);
    }
}

static void format_path(const ucs_p2pmem_pci_path_t *path, char *buf,
                        size_t len)
{
    char name[UCS_P2PMEM_PCI_NAME_MAX];
    size_t off;
    unsigned i;

    off = (size_t)snprintf(buf, len, "%s", path->host_bridge);
    for (i = 0; (i < path->depth) && (off < len); ++i) {
        ucs_p2pmem_format_pci_addr(&path->chain[i], name);
        off += (size_t)snprintf(buf + off, len - off, "/%s", name);
    }
}

/* Strings from /proc, sysfs, passwd or the environment, as printed: no
 * control character reaches the terminal, JSON stays valid UTF-8 (the
 * escaping is src/ucs's, fuzzed). */
static void print_escaped(const char *s, size_t len, int json)
{
    char small[256], *buf = small;
    size_t need = ucs_p2pmem_escape(s, len, json, small, sizeof(small));

    if (need >= sizeof(small)) {
        buf = xcalloc(need + 1, 1);
        ucs_p2pmem_escape(s, len, json, buf, need + 1);
    }
    fputs(buf, stdout);
    if (buf != small) {
        free(buf);
    }
}

static void json_string_len(const char *s, size_t len)
{
    putchar('"');
    print_escaped(s, len, 1);
    putchar('"');
}

/* shared with p2pmem_check.c (p2pmem_check.h) */
void json_string(const char *s)
{
    json_string_len(s, strlen(s));
}

/* A string for a text line: escaped into one of a few rotating buffers,
 * so that several fit in one printf. */
static const char *safe(const char *s)
{
    static char bufs[6][16384]; /* a 4096-byte path, every byte \xXX */
    static unsigned next;
    char *buf = bufs[next++ % 6];

    ucs_p2pmem_escape(s, strlen(s), 0, buf, sizeof(bufs[0]));
    return buf;
}

/* The same, padded to width columns (printf pads by bytes). */
static void print_padded(const char *s, size_t len, int width)
{
    char buf[512];
    size_t n = ucs_p2pmem_escape(s, len, 0, buf, sizeof(buf));

    fputs(buf, stdout);
    for (; (int)n < width; ++n) {
        putchar(' ');
    }
}

/* Strict "SECONDS": a positive decimal number, optionally with a fraction. */
static int parse_seconds(const char *s, double *value)
{
    char *end;
    const char *p;
    int digits = 0, dots = 0;

    for (p = s; *p != '\0'; ++p) {
        if (isdigit((unsigned char)*p)) {
            ++digits;
        } else if ((*p == '.') && (dots == 0)) {
            ++dots;
        } else {
            return -EINVAL;
        }
    }
    if (digits == 0) {
        return -EINVAL;
    }
    errno  = 0;
    *value = strtod(s, &end);
    if ((errno != 0) || (*end != '\0') || !(*value > 0.0) ||
        (*value > WATCH_MAX_SECONDS)) {
        return -EINVAL;
    }
    return (*value < WATCH_MIN_SECONDS) ? -ERANGE : 0;
}

static int parse_count(const char *s, long *value)
{
    char *end;

    if (!isdigit((unsigned char)s[0])) {
        return -EINVAL;
    }
    errno  = 0;
    *value = strtol(s, &end, 10);
    return ((errno != 0) || (*end != '\0') || (*value < 1)) ? -EINVAL : 0;
}

/* ---- /proc: who holds provider memory ---- */

/* A whole small file of the process directory dirfd, without its final
 * newline: comm may hold any byte, a newline included. Returns the length,
 * or -1 (the process is gone, or hidden). */
static long read_small(int dirfd, const char *name, char *buf, size_t len)
{
    ssize_t n, total = 0;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return -1;
    }
    while ((size_t)total < len &&
           ((n = read(fd, buf + total, len - (size_t)total)) > 0)) {
        total += n;
    }
    close(fd);
    if ((total > 0) && (buf[total - 1] == '\n')) {
        --total;
    }
    return total;
}

static int read_uid(int dirfd, unsigned *uid)
{
    char line[256];
    FILE *f;
    int ret = -ENOENT, fd;

    fd = openat(dirfd, "status", O_RDONLY | O_CLOEXEC);
    if ((fd < 0) || ((f = fdopen(fd, "r")) == NULL)) {
        ret = -errno;
        if (fd >= 0) {
            close(fd);
        }
        return ret;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "Uid: %u", uid) == 1) {
            ret = 0;
            break;
        }
    }
    fclose(f);
    return ret;
}

static holder_t *holder_get(provider_procs_t *pp, int pid)
{
    holder_t *grown;

    if ((pp->count > 0) && (pp->holders[pp->count - 1].pid == pid)) {
        return &pp->holders[pp->count - 1];
    }
    if (pp->count == pp->capacity) {
        pp->capacity = pp->capacity ? (2 * pp->capacity) : 8;
        grown        = realloc(pp->holders, pp->capacity * sizeof(*grown));
        if (grown == NULL) {
            fprintf(stderr, PROG ": error: out of memory\n");
            exit(1);
        }
        pp->holders = grown;
    }
    memset(&pp->holders[pp->count], 0, sizeof(*grown));
    pp->holders[pp->count].pid = pid;
    return &pp->holders[pp->count++];
}

/* Fill pp[] from every process we may inspect; returns how many processes
 * were inspected, and *hidden how many we may not. */
static unsigned scan_procs(const char *proc_root, const ucs_p2pmem_list_t *list,
                           provider_procs_t *pp, unsigned *hidden)
{
    ucs_p2pmem_maps_entry_t e;
    unsigned inspected = 0, i, uid;
    size_t line_len = 0, mlen;
    struct passwd *pw;
    struct dirent *ent;
    int pdir, fd;
    holder_t *h;
    char *end, *line = NULL;
    ssize_t got;
    long pid, n;
    DIR *dir;
    FILE *f;

    *hidden = 0;
    dir     = opendir(proc_root);
    if (dir == NULL) {
        fprintf(stderr, PROG ": error: cannot read %s: %s; --procs needs "
                "procfs mounted there\n", proc_root, strerror(errno));
        ++warnings;
        return 0;
    }

    while ((ent = readdir(dir)) != NULL) {
        pid = strtol(ent->d_name, &end, 10);
        if ((*end != '\0') || (pid <= 0) || (pid > INT_MAX)) {
            continue;
        }
        /* everything about one process from one open directory: a pid
         * reused meanwhile is another directory, and openat() in the old
         * one fails instead of mixing two processes */
        pdir = openat(dirfd(dir), ent->d_name,
                      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        fd   = (pdir < 0) ? -1 : openat(pdir, "maps", O_RDONLY | O_CLOEXEC);
        f    = (fd < 0) ? NULL : fdopen(fd, "r");
        if (f == NULL) {
            /* EACCES: another user's process (ptrace access mode);
             * ENOENT/ESRCH: it exited meanwhile */
            if ((errno == EACCES) || (errno == EPERM)) {
                ++*hidden;
            }
            if (fd >= 0) {
                close(fd);
            }
            if (pdir >= 0) {
                close(pdir);
            }
            continue;
        }
        ++inspected;
        while ((got = getline(&line, &line_len, f)) > 0) {
            if (ucs_p2pmem_parse_maps_line(line, (size_t)got, &e) != 0) {
                continue;
            }
            for (i = 0; i < list->count; ++i) {
                mlen = (pp[i].map_path == NULL) ? 0 : strlen(pp[i].map_path);
                if (!pp[i].attributable || (mlen != e.path_len) ||
                    memcmp(e.path, pp[i].map_path, mlen)) {
                    continue;
                }
                h = holder_get(&pp[i], (int)pid);
                h->bytes += e.end - e.start;
                ++h->mappings;
            }
        }
        /* a read error after open: the process exited (ESRCH) or, for
         * a setuid switch meanwhile, may no longer be read (EACCES) */
        if (ferror(f)) {
            --inspected;
            if ((errno == EACCES) || (errno == EPERM)) {
                ++*hidden;
            }
        }
        fclose(f);

        for (i = 0; i < list->count; ++i) {
            if ((pp[i].count == 0) ||
                (pp[i].holders[pp[i].count - 1].pid != (int)pid)) {
                continue;
            }
            h = &pp[i].holders[pp[i].count - 1];
            n = read_small(pdir, "comm", h->command, sizeof(h->command) - 1);
            h->command_len = (n < 0) ? 0 : (size_t)n;
            h->command[h->command_len] = '\0';
            if (read_uid(pdir, &uid) != 0) {
                h->uid = UINT_MAX;   /* it exited meanwhile */
                snprintf(h->user, sizeof(h->user), "?");
            } else if ((pw = getpwuid(uid)) != NULL) {
                h->uid = uid;
                snprintf(h->user, sizeof(h->user), "%s", pw->pw_name);
            } else {
                h->uid = uid;        /* no passwd entry */
                snprintf(h->user, sizeof(h->user), "%u", uid);
            }
        }
        close(pdir);
    }
    free(line);
    closedir(dir);
    return inspected;
}

static int holder_cmp(const void *pa, const void *pb)
{
    const holder_t *a = pa, *b = pb;

    return (a->pid > b->pid) - (a->pid < b->pid);
}

/* ---- one report ---- */

typedef struct {
    const char             *root;
    const char             *devices;
    int                     devices_valid;
    ucs_p2pmem_ctx_t        ctx;       /* the pipeline libp2pmem runs */
    ucs_p2pmem_list_t       list;      /* ctx.list: every provider found */
    ucs_p2pmem_rdma_list_t  rdma;      /* all RDMA devices UCX_NET_DEVICES allows */
    int                    *rank;      /* per provider: 1-based, 0 not selected */
    int                    *auto_rank; /* the same for UCX_P2PMEM_DEVICES=auto */
    unsigned                num_selected, num_auto;
    provider_procs_t       *pp;
    unsigned                inspected, hidden;
} report_t;

/* Ranks (1-based) of the providers a pipeline selected, by their index in
 * r->list (both scans list the tree in the same order). */
static unsigned select_ranks(const report_t *r, const ucs_p2pmem_ctx_t *ctx,
                             int *rank)
{
    unsigned i;

    for (i = 0; i < ctx->count; ++i) {
        rank[ctx->providers[i].p - ctx->list.providers] = (int)i + 1;
    }
    return ctx->count;
}

static int report_collect(report_t *r, const options_t *opt)
{
    ucs_p2pmem_config_t cfg;
    ucs_p2pmem_ctx_t auto_ctx;
    unsigned i;
    char *real;
    int ret;

    memset(r, 0, sizeof(*r));
    cfg.sysfs_root  = getenv("UCX_P2PMEM_SYSFS_ROOT");
    cfg.devices     = getenv("UCX_P2PMEM_DEVICES");
    cfg.net_devices = getenv("UCX_NET_DEVICES");
    if ((cfg.sysfs_root == NULL) || (cfg.sysfs_root[0] == '\0')) {
        cfg.sysfs_root = NULL;
    }
    r->root    = cfg.sysfs_root ? cfg.sysfs_root :
                 UCS_P2PMEM_DEFAULT_SYSFS_ROOT;
    /* unset and empty both mean auto, as the library decides */
    r->devices = ((cfg.devices == NULL) || (cfg.devices[0] == '\0')) ?
                 "auto" : cfg.devices;

    /* the library reports a bad value itself; then auto's choice is shown */
    ret = ucs_p2pmem_ctx_open(&cfg, &r->ctx, report_cb, NULL);
    r->devices_valid = (ret != -EINVAL);
    if (!r->devices_valid) {
        ucs_p2pmem_ctx_close(&r->ctx);
        cfg.devices = "auto";
        ret = ucs_p2pmem_ctx_open(&cfg, &r->ctx, report_cb, NULL);
    }
    r->list = r->ctx.list;
    if (ret != 0) {
        fprintf(stderr, PROG ": error: %s\n", r->ctx.nodev_reason);
        return ret;
    }
    ucs_p2pmem_scan_rdma(r->root, cfg.net_devices, &r->rdma, NULL, NULL);

    r->rank      = xcalloc(r->list.count + 1, sizeof(*r->rank));
    r->auto_rank = xcalloc(r->list.count + 1, sizeof(*r->auto_rank));
    if (r->devices_valid) {
        r->num_selected = select_ranks(r, &r->ctx, r->rank);
    }
    cfg.devices = "auto";
    if (ucs_p2pmem_ctx_open(&cfg, &auto_ctx, NULL, NULL) == 0) {
        r->num_auto = select_ranks(r, &auto_ctx, r->auto_rank);
    }
    ucs_p2pmem_ctx_close(&auto_ctx);

    if (!opt->procs) {
        return 0;
    }
    r->pp = xcalloc(r->list.count + 1, sizeof(*r->pp));
    for (i = 0; i < r->list.count; ++i) {
        /* /proc/PID/maps names the file by its real path: for the kernel's
         * attribute that is /sys/devices/.../p2pmem/allocate */
        real = realpath(r->list.providers[i].allocate_path, NULL);
        r->pp[i].map_path = real;
        /* an emulated provider links to /dev/zero, whose shared mappings
         * all look alike in maps: they cannot be told apart */
        r->pp[i].attributable = (real != NULL) && strncmp(real, "/dev/", 5);
    }
    r->inspected = scan_procs(opt->proc_root, &r->list, r->pp, &r->hidden);
    for (i = 0; i < r->list.count; ++i) {
        if (r->pp[i].count > 1) {
            qsort(r->pp[i].holders, r->pp[i].count, sizeof(holder_t),
                  holder_cmp);
        }
    }
    return 0;
}

static void report_free(report_t *r)
{
    unsigned i;

    if (r->pp != NULL) {
        for (i = 0; i < r->list.count; ++i) {
            free(r->pp[i].map_path);
            free(r->pp[i].holders);
        }
        free(r->pp);
    }
    free(r->rank);
    free(r->auto_rank);
    ucs_p2pmem_rdma_list_free(&r->rdma);
    ucs_p2pmem_ctx_close(&r->ctx);
}

/* RDMA devices ordered by PCI distance from provider p, nearest first. */
typedef struct {
    unsigned index;
    int      distance;
} rdma_dist_t;

static int rdma_dist_cmp(const void *pa, const void *pb)
{
    const rdma_dist_t *a = pa, *b = pb;

    return (a->distance > b->distance) - (a->distance < b->distance);
}

static rdma_dist_t *rdma_by_distance(const report_t *r,
                                     const ucs_p2pmem_provider_t *p)
{
    rdma_dist_t *d = xcalloc(r->rdma.count + 1, sizeof(*d));
    unsigned i;

    for (i = 0; i < r->rdma.count; ++i) {
        d[i].index    = i;
        d[i].distance = (p->has_path && r->rdma.devs[i].has_path) ?
                        ucs_p2pmem_pci_distance(&p->path,
                                                &r->rdma.devs[i].path) :
                        UCS_P2PMEM_DIST_UNREACHABLE;
    }
    qsort(d, r->rdma.count, sizeof(*d), rdma_dist_cmp);
    return d;
}

static void print_selection_text(const report_t *r, const int *rank,
                                 unsigned n)
{
    unsigned k, i;

    if (n == 0) {
        printf("none");
    }
    for (k = 1; k <= n; ++k) {
        for (i = 0; i < r->list.count; ++i) {
            if (rank[i] == (int)k) {
                printf("%s%s", (k > 1) ? ", " : "", r->list.providers[i].name);
            }
        }
    }
    putchar('\n');
}

static void print_text(const report_t *r, const options_t *opt)
{
    char b1[32], b2[32], path[512];
    const ucs_p2pmem_provider_t *p;
    const ucs_p2pmem_rdma_dev_t *dev;
    const provider_procs_t *pp;
    rdma_dist_t *d;
    unsigned i, j;

    printf("sysfs root:  %s\n", safe(r->root));
    printf("RDMA devices:");
    if (r->rdma.count == 0) {
        printf(" none%s", getenv("UCX_NET_DEVICES") ?
               " (after UCX_NET_DEVICES)" : "");
    }
    for (j = 0; j < r->rdma.count; ++j) {
        dev = &r->rdma.devs[j];
        if (dev->has_path) {
            format_path(&dev->path, path, sizeof(path));
        } else {
            snprintf(path, sizeof(path), "not on PCI");
        }
        printf("%s %s (%s)", j ? "," : "", safe(dev->name), safe(path));
    }
    putchar('\n');
    printf("selected (UCX_P2PMEM_DEVICES=%s): ", safe(r->devices));
    if (r->devices_valid) {
        print_selection_text(r, r->rank, r->num_selected);
    } else {
        printf("none: invalid value\n");
    }
    if (strcmp(r->devices, "auto")) {
        printf("selected by UCX_P2PMEM_DEVICES=auto: ");
        print_selection_text(r, r->auto_rank, r->num_auto);
    }
    if (r->devices_valid && (r->ctx.count == 0)) {
        /* the library's words, as libp2pmem and the module say them */
        printf("%s\n", safe(r->ctx.nodev_reason));
    }

    for (i = 0; i < r->list.count; ++i) {
        p = &r->list.providers[i];
        printf("\nprovider %s%s\n", p->name, p->emulated ? " (EMULATED)" : "");
        format_bytes(p->size, b1, sizeof(b1));
        printf("  size:       %llu (%s)\n", (unsigned long long)p->size, b1);
        format_bytes(p->available, b1, sizeof(b1));
        format_bytes(p->size - p->available, b2, sizeof(b2));
        printf("  available:  %llu (%s; %s in use)\n",
               (unsigned long long)p->available, b1, b2);
        printf("  published:  %s\n", p->published ? "yes" :
               "no (its driver did not publish it for general use; "
               "auto skips it)");
        if (p->numa_node == UCS_P2PMEM_NUMA_UNKNOWN) {
            printf("  NUMA node:  unknown\n");
        } else {
            printf("  NUMA node:  %d\n", p->numa_node);
        }
        format_path(&p->path, path, sizeof(path));
        printf("  PCI path:   %s\n", safe(path));
        if (r->devices_valid) {
            if (r->rank[i]) {
                printf("  selected:   yes, #%d of %u\n", r->rank[i],
                       r->num_selected);
            } else {
                printf("  selected:   no\n");
            }
        }
        if (strcmp(r->devices, "auto")) {
            printf("  by auto:    %s\n", r->auto_rank[i] ? "yes" : "no");
        }
        printf("  RDMA:      ");
        if (r->rdma.count == 0) {
            printf(" none\n");
        }
        d = rdma_by_distance(r, p);
        for (j = 0; j < r->rdma.count; ++j) {
            dev = &r->rdma.devs[d[j].index];
            if (d[j].distance != UCS_P2PMEM_DIST_UNREACHABLE) {
                printf("%s %s %d hop%s", j ? "," : "", safe(dev->name),
                       d[j].distance, (d[j].distance == 1) ? "" : "s");
            } else {
                printf("%s %s %s", j ? "," : "", safe(dev->name),
                       dev->has_path ? "unreachable (another host bridge)" :
                                       "no PCI path");
            }
        }
        if (r->rdma.count > 0) {
            putchar('\n');
        }
        free(d);

        if (!opt->procs) {
            continue;
        }
        pp = &r->pp[i];
        if (!pp->attributable) {
            printf("  holders:    cannot be told apart (allocate links to %s;"
                   " its shared mappings all look alike)\n",
                   pp->map_path ? safe(pp->map_path) : "nothing");
            continue;
        }
        printf("  holders:    %u process%s\n", pp->count,
               (pp->count == 1) ? "" : "es");
        if (pp->count > 0) {
            printf("    %8s  %-12s %-16s %14s\n", "PID", "USER", "COMMAND",
                   "BYTES");
        }
        for (j = 0; j < pp->count; ++j) {
            format_bytes(pp->holders[j].bytes, b1, sizeof(b1));
            printf("    %8d  ", pp->holders[j].pid);
            print_padded(pp->holders[j].user, strlen(pp->holders[j].user),
                         12);
            putchar(' ');
            print_padded(pp->holders[j].command, pp->holders[j].command_len,
                         16);
            printf(" %14llu (%s in %u mapping%s)\n",
                   (unsigned long long)pp->holders[j].bytes, b1,
                   pp->holders[j].mappings,
                   (pp->holders[j].mappings == 1) ? "" : "s");
        }
    }
    if (opt->procs) {
        printf("\nprocesses inspected: %u; not visible to you: %u%s\n",
               r->inspected, r->hidden, (r->hidden == 0) ? "" :
               (geteuid() != 0) ? " (run as root to see every holder)" :
               " (refused even to root: e.g. a process of another user "
               "namespace)");
    }
}

static void json_selection(const report_t *r, const int *rank, unsigned n)
{
    unsigned k, i;

    putchar('[');
    for (k = 1; k <= n; ++k) {
        for (i = 0; i < r->list.count; ++i) {
            if (rank[i] == (int)k) {
                if (k > 1) {
                    putchar(',');
                }
                json_string(r->list.providers[i].name);
            }
        }
    }
    putchar(']');
}

static void print_json(const report_t *r, const options_t *opt)
{
    const ucs_p2pmem_provider_t *p;
    const ucs_p2pmem_rdma_dev_t *dev;
    const provider_procs_t *pp;
    char path[512];
    rdma_dist_t *d;
    unsigned i, j;

    printf("{\"time\":%lld,\"sysfs_root\":", (long long)time(NULL));
    json_string(r->root);
    printf(",\"devices\":");
    json_string(r->devices);
    printf(",\"devices_valid\":%s,\"selected\":",
           r->devices_valid ? "true" : "false");
    json_selection(r, r->rank, r->devices_valid ? r->num_selected : 0);
    printf(",\"auto_selected\":");
    json_selection(r, r->auto_rank, r->num_auto);

    printf(",\"rdma_devices\":[");
    for (j = 0; j < r->rdma.count; ++j) {
        dev = &r->rdma.devs[j];
        printf("%s{\"name\":", j ? "," : "");
        json_string(dev->name);
        printf(",\"pci_path\":");
        if (dev->has_path) {
            format_path(&dev->path, path, sizeof(path));
            json_string(path);
        } else {
            printf("null");
        }
        if (dev->numa_node == UCS_P2PMEM_NUMA_UNKNOWN) {
            printf(",\"numa_node\":null}");
        } else {
            printf(",\"numa_node\":%d}", dev->numa_node);
        }
    }

    printf("],\"providers\":[");
    for (i = 0; i < r->list.count; ++i) {
        p = &r->list.providers[i];
        format_path(&p->path, path, sizeof(path));
        printf("%s{\"name\":", i ? "," : "");
        json_string(p->name);
        printf(",\"size\":%llu,\"available\":%llu,\"published\":%s,"
               "\"emulated\":%s,", (unsigned long long)p->size,
               (unsigned long long)p->available,
               p->published ? "true" : "false", p->emulated ? "true" : "false");
        if (p->numa_node == UCS_P2PMEM_NUMA_UNKNOWN) {
            printf("\"numa_node\":null");
        } else {
            printf("\"numa_node\":%d", p->numa_node);
        }
        printf(",\"pci_path\":");
        json_string(path);
        printf(",\"selected_rank\":");
        if (r->devices_valid && r->rank[i]) {
            printf("%d", r->rank[i]);
        } else {
            printf("null");
        }
        printf(",\"auto_rank\":");
        if (r->auto_rank[i]) {
            printf("%d", r->auto_rank[i]);
        } else {
            printf("null");
        }
        printf(",\"rdma\":[");
        d = rdma_by_distance(r, p);
        for (j = 0; j < r->rdma.count; ++j) {
            printf("%s{\"name\":", j ? "," : "");
            json_string(r->rdma.devs[d[j].index].name);
            if (d[j].distance == UCS_P2PMEM_DIST_UNREACHABLE) {
                printf(",\"distance\":null}");
            } else {
                printf(",\"distance\":%d}", d[j].distance);
            }
        }
        free(d);
        putchar(']');
        if (opt->procs) {
            pp = &r->pp[i];
            printf(",\"holders_attributable\":%s,\"holders\":[",
                   pp->attributable ? "true" : "false");
            for (j = 0; j < pp->count; ++j) {
                printf("%s{\"pid\":%d,\"uid\":%u,\"user\":", j ? "," : "",
                       pp->holders[j].pid, pp->holders[j].uid);
                json_string(pp->holders[j].user);
                printf(",\"command\":");
                json_string_len(pp->holders[j].command,
                                pp->holders[j].command_len);
                printf(",\"bytes\":%llu,\"mappings\":%u}",
                       (unsigned long long)pp->holders[j].bytes,
                       pp->holders[j].mappings);
            }
            putchar(']');
        }
        putchar('}');
    }
    putchar(']');
    if (opt->procs) {
        printf(",\"processes_inspected\":%u,\"processes_hidden\":%u",
               r->inspected, r->hidden);
    }
    printf("}\n");
}

static int report_once(const options_t *opt)
{
    report_t r;
    int ret;

    warnings = 0;
    ret      = report_collect(&r, opt);
    if (ret == 0) {
        if (opt->json) {
            print_json(&r, opt);
        } else {
            print_text(&r, opt);
        }
    }
    report_free(&r);
    fflush(stdout);
    return ((ret != 0) || (warnings > 0)) ? 1 : 0;
}

int main(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"procs",   no_argument,       NULL, 'p'},
        {"json",    no_argument,       NULL, 'j'},
        {"watch",   required_argument, NULL, 'w'},
        {"count",   required_argument, NULL, 'c'},
        {"check",   no_argument,       NULL, 'k'},
        {"timeout", required_argument, NULL, 't'},
        {"help",    no_argument,       NULL, 'h'},
        {"version", no_argument,       NULL, 'V'},
        {NULL, 0, NULL, 0}
    };
    options_t opt = {0, 0, 0, CHECK_TIMEOUT, 0.0, 0, "/proc"};
    p2pmem_check_opts_t copt;
    int timeout_set = 0;
    struct timespec ts;
    struct sigaction sa;
    int c, ret = 0, status;
    long n;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":pjw:c:kt:hV", long_opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            opt.procs = 1;
            break;
        case 'j':
            opt.json = 1;
            break;
        case 'w':
            ret = parse_seconds(optarg, &opt.watch);
            if (ret == -ERANGE) {
                fprintf(stderr, PROG ": -w/--watch: %s seconds is less than "
                        "the minimum of %.1f (each report reads sysfs and, "
                        "with --procs, every process's maps); use -w %.1f or "
                        "more\n", safe(optarg), WATCH_MIN_SECONDS,
                        WATCH_MIN_SECONDS);
                return 2;
            } else if (ret != 0) {
                fprintf(stderr, PROG ": -w/--watch: '%s' is not a number of "
                        "seconds between %.1f and %.0f (e.g. -w 2 or -w 0.5)\n",
                        safe(optarg), WATCH_MIN_SECONDS, WATCH_MAX_SECONDS);
                return 2;
            }
            break;
        case 'c':
            if (parse_count(optarg, &opt.count) != 0) {
                fprintf(stderr, PROG ": -c/--count: '%s' is not a positive "
                        "whole number of reports\n", optarg);
                return 2;
            }
            break;
        case 'k':
            opt.check = 1;
            break;
        case 't':
            if (parse_seconds(optarg, &opt.timeout) != 0) {
                fprintf(stderr, PROG ": -t/--timeout: '%s' is not a number "
                        "of seconds between 0 and %.0f (e.g. -t 30)\n",
                        optarg, WATCH_MAX_SECONDS);
                return 2;
            }
            timeout_set = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf(PROG " %s\n", PACKAGE_VERSION);
            return 0;
        case ':':
            fprintf(stderr, PROG ": option '%s' needs a value; see "
                    PROG " --help\n", argv[optind - 1]);
            return 2;
        default:
            if (optopt != 0) {
                fprintf(stderr, PROG ": unknown option '-%c'; see " PROG
                        " --help\n", optopt);
            } else {
                fprintf(stderr, PROG ": unknown option '%s'; see " PROG
                        " --help\n", argv[optind - 1]);
            }
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument '%s'; see " PROG
                " --help\n", argv[optind]);
        return 2;
    }
    if ((opt.count > 0) && (opt.watch == 0.0)) {
        fprintf(stderr, PROG ": -c/--count only goes with -w/--watch\n");
        return 2;
    }
    if (opt.check && (opt.procs || (opt.watch != 0.0))) {
        fprintf(stderr, PROG ": --check goes with --json and --timeout "
                "only\n");
        return 2;
    }
    if (timeout_set && !opt.check) {
        fprintf(stderr, PROG ": -t/--timeout only goes with --check\n");
        return 2;
    }
    if ((opt.watch == 0.0) && !opt.check) {
        return report_once(&opt);
    }

    /* no SA_RESTART: a signal ends waits; the loops see the flag and
     * clean up (--check releases every MR, QP, CQ and PD) */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (opt.check) {
        copt.json    = opt.json;
        copt.timeout = opt.timeout;
        return p2pmem_check_run(&copt, &stop_requested, report_cb);
    }
    for (n = 0; !stop_requested; ) {
        if (!opt.json) {
            if (isatty(STDOUT_FILENO)) {
                fputs("\033[H\033[2J", stdout); /* like watch(1) */
            }
            printf("--- %lld ---\n", (long long)time(NULL));
        }
        status = report_once(&opt);
        ret |= status;
        if ((opt.count > 0) && (++n >= opt.count)) {
            break;
        }
        ts.tv_sec  = (time_t)opt.watch;
        ts.tv_nsec = (long)((opt.watch - (double)ts.tv_sec) * 1e9);
        while (!stop_requested && (nanosleep(&ts, &ts) != 0) &&
               (errno == EINTR)) {
        }
    }
    return ret;
}
