/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: discovery and selection of Linux P2PDMA memory providers.
 *
 * A small library with no UCX dependency: it reads the PCI sysfs tree,
 * parses it strictly, ranks providers by PCI topology and NUMA locality and
 * maps memory from them. The UCT component, the public API and the preload
 * allocator all share it. Problems with one device are reported through a
 * callback and that device is skipped; nothing here aborts or exits.
 */

#ifndef UCS_P2PMEM_SYS_H_
#define UCS_P2PMEM_SYS_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCS_P2PMEM_DEFAULT_SYSFS_ROOT "/sys/bus/pci/devices"
#define UCS_P2PMEM_PCI_NAME_MAX       16   /* "dddd:bb:dd.f" + NUL, padded */
#define UCS_P2PMEM_PCI_DEPTH_MAX      16   /* bridges between root and device */
#define UCS_P2PMEM_DIST_UNREACHABLE   INT32_MAX
#define UCS_P2PMEM_NUMA_UNKNOWN       (-1)

/* Severity passed to the report callback. */
typedef enum {
    UCS_P2PMEM_LOG_ERROR,
    UCS_P2PMEM_LOG_WARN,
    UCS_P2PMEM_LOG_DEBUG
} ucs_p2pmem_log_level_t;

typedef void (*ucs_p2pmem_report_cb_t)(void *arg, ucs_p2pmem_log_level_t level,
                                       const char *message);

typedef struct {
    uint16_t domain;
    uint8_t  bus;
    uint8_t  dev;
    uint8_t  fn;
} ucs_p2pmem_pci_addr_t;

/* Where a PCI function sits: its host bridge and the chain of functions
 * (root port, switch ports, ..., the function itself) below it. */
typedef struct {
    char                  host_bridge[32]; /* e.g. "pci0000:00"; "" unknown */
    unsigned              depth;
    ucs_p2pmem_pci_addr_t chain[UCS_P2PMEM_PCI_DEPTH_MAX];
} ucs_p2pmem_pci_path_t;

typedef struct {
    char                  name[UCS_P2PMEM_PCI_NAME_MAX]; /* PCI address */
    ucs_p2pmem_pci_addr_t addr;
    char                 *p2pmem_dir;     /* <root>/<name>/p2pmem */
    char                 *allocate_path;  /* <root>/<name>/p2pmem/allocate */
    uint64_t              size;
    uint64_t              available;
    int                   published;
    int                   emulated;       /* allocate is a link (emulator) */
    int                   numa_node;      /* UCS_P2PMEM_NUMA_UNKNOWN if none */
    int                   has_path;       /* path below is known */
    ucs_p2pmem_pci_path_t path;
} ucs_p2pmem_provider_t;

typedef struct {
    ucs_p2pmem_provider_t *providers;
    unsigned               count;
} ucs_p2pmem_list_t;

/* Device selection, the value of UCX_P2PMEM_DEVICES and friends. */
typedef enum {
    UCS_P2PMEM_SELECT_AUTO,
    UCS_P2PMEM_SELECT_ALL,
    UCS_P2PMEM_SELECT_LIST
} ucs_p2pmem_select_mode_t;

typedef struct {
    ucs_p2pmem_select_mode_t mode;
    unsigned                 count;          /* LIST only */
    ucs_p2pmem_pci_addr_t   *addrs;          /* LIST only */
} ucs_p2pmem_select_spec_t;

/* An RDMA device and where it sits, the reference point for "auto". */
typedef struct {
    char                  name[64];
    int                   numa_node;
    int                   has_path;
    ucs_p2pmem_pci_path_t path;
} ucs_p2pmem_rdma_dev_t;

typedef struct {
    ucs_p2pmem_rdma_dev_t *devs;
    unsigned               count;
} ucs_p2pmem_rdma_list_t;


/* ---- strict parsers (return 0 on success, -EINVAL on bad input) ---- */

/* Parse "dddd:bb:dd.f" or "bb:dd.f" (domain 0), hex, nothing else. */
int ucs_p2pmem_parse_pci_addr(const char *str, ucs_p2pmem_pci_addr_t *addr);

/* Format as "dddd:bb:dd.f"; buf must hold UCS_P2PMEM_PCI_NAME_MAX. */
void ucs_p2pmem_format_pci_addr(const ucs_p2pmem_pci_addr_t *addr, char *buf);

/* A sysfs decimal value: digits, optionally one trailing newline. */
int ucs_p2pmem_parse_u64(const char *buf, size_t len, uint64_t *value);

/* A sysfs signed decimal (e.g. numa_node "-1\n"). */
int ucs_p2pmem_parse_int(const char *buf, size_t len, int *value);

/* Parse a resolved sysfs device path ("/sys/devices/pci0000:00/0000:00:01.0/
 * 0000:01:00.0") into host bridge + chain. */
int ucs_p2pmem_parse_pci_path(const char *real_path,
                              ucs_p2pmem_pci_path_t *path);

/* Parse a selection: "auto", "all", or comma/space separated PCI addresses.
 * NULL, an empty value and one of separators only mean "auto", for every
 * caller (the module, libp2pmem, p2pmem-info). On error returns -EINVAL
 * and copies the offending token to bad (if not NULL, bad_len bytes). */
int ucs_p2pmem_parse_select(const char *str, ucs_p2pmem_select_spec_t *spec,
                            char *bad, size_t bad_len);

void ucs_p2pmem_select_spec_free(ucs_p2pmem_select_spec_t *spec);

/* Parse a size with optional K/M/G/T suffix (binary units; "KB", "KiB"
 * and a bare "B" too), e.g. "1M". */
int ucs_p2pmem_parse_size(const char *str, uint64_t *value);

/* UCX's memory units (UCS_CONFIG_TYPE_MEMUNITS): a size as above, or "inf"
 * or "auto" (any case), which give these values. */
#define UCS_P2PMEM_SIZE_INF   UINT64_MAX
#define UCS_P2PMEM_SIZE_AUTO  (UINT64_MAX - 1)
int ucs_p2pmem_parse_memunits(const char *str, uint64_t *value);

/* A yes/no word: 1, y, yes, on, true / 0, n, no, off, false (any case).
 * Sets *value to 1/0 and returns 0, or -EINVAL for anything else. */
int ucs_p2pmem_parse_bool(const char *str, int *value);


/* ---- topology ---- */

/* Number of PCI hops between two functions through their lowest common
 * bridge; UCS_P2PMEM_DIST_UNREACHABLE if under different host bridges or
 * a path is unknown. */
int ucs_p2pmem_pci_distance(const ucs_p2pmem_pci_path_t *a,
                            const ucs_p2pmem_pci_path_t *b);


/* ---- discovery ---- */

/* Scan root (a directory like /sys/bus/pci/devices) for P2PDMA providers.
 * Devices with bad or unreadable attributes are reported and skipped.
 * Returns 0, or a negative errno when root itself cannot be read (an
 * absent root is not an error: it yields an empty list). */
int ucs_p2pmem_scan(const char *root, ucs_p2pmem_list_t *list,
                    ucs_p2pmem_report_cb_t report, void *arg);

void ucs_p2pmem_list_free(ucs_p2pmem_list_t *list);

/* RDMA devices under <sysfs>/class/infiniband, where <sysfs> is root with
 * its "/bus/pci/devices" suffix removed. filter is a UCX_NET_DEVICES-style
 * list ("mlx5_0:1,mlx5_1:1", "all" or NULL for all). */
int ucs_p2pmem_scan_rdma(const char *root, const char *filter,
                         ucs_p2pmem_rdma_list_t *list,
                         ucs_p2pmem_report_cb_t report, void *arg);

void ucs_p2pmem_rdma_list_free(ucs_p2pmem_rdma_list_t *list);

/* Is RDMA device name allowed by a UCX_NET_DEVICES-style filter ("all",
 * empty, or "dev[:port],...")? 1 if so, with *port (when not NULL) the
 * port the entry names (0: any). */
int ucs_p2pmem_net_device_match(const char *filter, const char *name,
                                int *port);


/* ---- selection ---- */

/* Fill order[] (capacity list->count) with the indices of the providers
 * that spec selects, best first, and return how many. For AUTO: published
 * providers nearest by PCI topology to any RDMA device; without a usable
 * RDMA path, those on the NUMA node of the RDMA devices or else local_node;
 * without any locality, every published provider. Addresses in a LIST that
 * match no provider are reported. */
unsigned ucs_p2pmem_select(const ucs_p2pmem_list_t *list,
                           const ucs_p2pmem_select_spec_t *spec,
                           const ucs_p2pmem_rdma_list_t *rdma, int local_node,
                           unsigned *order, ucs_p2pmem_report_cb_t report,
                           void *arg);


/* ---- allocation ---- */

/* Map length bytes (must be a multiple of the page size) from a provider.
 * Returns the address or NULL with *err set to the errno of the failing
 * open()/mmap(). */
void *ucs_p2pmem_map(const ucs_p2pmem_provider_t *provider, size_t length,
                     int *err);

int ucs_p2pmem_unmap(void *address, size_t length);

/* Clear a mapping from ucs_p2pmem_map() before it goes back to the pool:
 * every page that is present in it (mincore), i.e. every page this process
 * or a device through it could have written; pages never touched are left
 * alone (the kernel maps a real provider's pages at mmap time, so there
 * all are present). Clears everything when mincore fails. The caller gives
 * the memory up, so a mapping the program made read-only (mprotect) is
 * made writable first; returns 0, or -errno (nothing cleared) when that
 * fails. Does not allocate memory. Only for memory no other process still
 * maps (after fork() the child shares it): clearing destroys its data. */
int ucs_p2pmem_scrub(void *address, size_t length);

/* A one-line hint for an errno from ucs_p2pmem_map, naming the fix. */
const char *ucs_p2pmem_map_hint(int err);


/* ---- text from users and the kernel (p2pmem_text.c; no allocation) ---- */

#define UCS_P2PMEM_CALLERS_MAX     32  /* entries of P2PMEM_CALLERS */
#define UCS_P2PMEM_CALLER_NAME_MAX 96  /* a pattern or object name + NUL */

typedef struct {
    char pattern[UCS_P2PMEM_CALLER_NAME_MAX];
    int  include;                      /* 0: "-NAME" */
} ucs_p2pmem_caller_rule_t;

/* P2PMEM_CALLERS: which code objects' allocations may be p2pmem. */
typedef struct {
    ucs_p2pmem_caller_rule_t rules[UCS_P2PMEM_CALLERS_MAX];
    unsigned                 count;
    int                      all;     /* every object, nothing excluded */
} ucs_p2pmem_callers_t;

/* Shell-style match of name against pattern (only '*' and '?' are
 * special), in O(strlen(pattern) * strlen(name)) at worst. */
int ucs_p2pmem_glob_match(const char *pattern, const char *name);

/* Parse comma-separated rules: file-name patterns, "main" (the program),
 * "all" ("*"), "-" before one to exclude. -EINVAL (count 0) with the
 * reason in bad (if not NULL) on error. */
int ucs_p2pmem_callers_parse(const char *spec, ucs_p2pmem_callers_t *callers,
                             char *bad, size_t bad_len);

/* 1 if the rules let the object named name (is_main: the program) place
 * allocations in p2pmem: the last matching rule decides, none means 0. */
int ucs_p2pmem_callers_want(const ucs_p2pmem_callers_t *callers,
                            const char *name, int is_main);

/* One line of /proc/PID/maps: "start-end perms offset dev inode   path". */
typedef struct {
    uint64_t    start, end;
    char        perms[5];  /* "r-xp" */
    const char *path;      /* into the line: "" for anonymous memory */
    size_t      path_len;  /* without a " (deleted)" suffix */
    int         deleted;
} ucs_p2pmem_maps_entry_t;

/* Parse len bytes of line (a trailing newline allowed; a NUL inside is
 * refused). 0, or -EINVAL for anything not of that form. */
int ucs_p2pmem_parse_maps_line(const char *line, size_t len,
                               ucs_p2pmem_maps_entry_t *entry);

/* Make len bytes of a string from /proc or sysfs safe to print: for a
 * terminal (json 0) control characters, C1 controls, backslashes and bytes
 * that are not UTF-8 become \xXX or \uXXXX; for a JSON string (json 1)
 * '"', '\\', newlines and control characters are escaped and bytes that
 * are not UTF-8 become \u00XX, so the result is valid UTF-8. Writes what
 * fits of it into out (always NUL-terminated when out_len > 0) and returns
 * its full length; 6 * len + 1 bytes always suffice. */
size_t ucs_p2pmem_escape(const char *in, size_t len, int json, char *out,
                         size_t out_len);


/* ---- warn once ---- */

/* A flag that lets one message through, once, from any thread. */
typedef struct {
    int done;
} ucs_p2pmem_once_t;

#define UCS_P2PMEM_ONCE_INIT {0}

/* 1 the first time it is asked for this flag, 0 ever after. */
static inline int ucs_p2pmem_once(ucs_p2pmem_once_t *once)
{
    return !__atomic_exchange_n(&once->done, 1, __ATOMIC_RELAXED);
}


/* ---- the pipeline: discover, order, map (every caller uses these) ---- */

/* The NUMA node of the calling CPU, UCS_P2PMEM_NUMA_UNKNOWN if unknown. */
int ucs_p2pmem_local_numa_node(void);

/* What to discover: the values of UCX_P2PMEM_SYSFS_ROOT, UCX_P2PMEM_DEVICES
 * and UCX_NET_DEVICES (NULL: the default root, "auto", all; an empty
 * selection is "auto" too). */
typedef struct {
    const char *sysfs_root;
    const char *devices;
    const char *net_devices;
} ucs_p2pmem_config_t;

/* Run-time state of one selected provider. */
typedef struct {
    const ucs_p2pmem_provider_t *p;
    int                          disabled_errno; /* refused for good, or 0 */
    void                        *user;           /* the caller's own state */
} ucs_p2pmem_prov_state_t;

typedef struct {
    ucs_p2pmem_list_t        list;      /* every provider found */
    ucs_p2pmem_prov_state_t *providers; /* the selected ones, best first */
    unsigned                 count;
    char                     nodev_reason[384]; /* why count is 0, and
                                                   the fix */
    ucs_p2pmem_report_cb_t   report;
    void                    *report_arg;
} ucs_p2pmem_ctx_t;

/* Discover and order the providers cfg selects: parse the selection (an
 * error names the bad token and the fix), warn about a sysfs root set by
 * the user that is not a directory, scan it (and the RDMA devices, for
 * "auto"), select and order. Returns 0 (possibly with count 0 and
 * nodev_reason saying why), or a negative errno: -EINVAL for a bad
 * selection, -ENOMEM, or the error of reading the root; nodev_reason is
 * set then too. Reports through report, which ctx keeps for ctx_map.
 * Release with ucs_p2pmem_ctx_close() in every case. */
int ucs_p2pmem_ctx_open(const ucs_p2pmem_config_t *cfg, ucs_p2pmem_ctx_t *ctx,
                        ucs_p2pmem_report_cb_t report, void *arg);

void ucs_p2pmem_ctx_close(ucs_p2pmem_ctx_t *ctx);

/* The selected provider with the largest pool (count must be > 0). */
const ucs_p2pmem_provider_t *ucs_p2pmem_ctx_largest(const ucs_p2pmem_ctx_t *ctx);

/* A caller's veto on a fresh mapping from ps: 0 keeps it; an errno refuses
 * it (ctx_map unmaps it and tries the next provider). To skip the provider
 * for good the callback sets ps->disabled_errno and reports why itself. */
typedef int (*ucs_p2pmem_accept_cb_t)(void *arg, ucs_p2pmem_prov_state_t *ps,
                                      void *address, size_t length);

typedef struct {
    void                        *address;     /* NULL: nothing mapped */
    unsigned                     index;       /* provider that served it */
    unsigned                     exhausted;   /* providers out of memory */
    unsigned                     oversize;    /* providers smaller than it */
    unsigned                     refused;     /* mappings vetoed */
    const ucs_p2pmem_provider_t *last_failed; /* last one whose map failed */
    /* 0; ENOMEM if any provider was exhausted; EFBIG if all usable ones are
     * too small; else the errno of the last disabled provider, or ENODEV */
    int                          err;
} ucs_p2pmem_map_result_t;

/* Map length bytes (a multiple of the page size) from the first usable
 * selected provider. Skips disabled providers and those smaller than
 * length; ENOMEM counts as exhaustion; any other error disables that
 * provider for good, reported once with ucs_p2pmem_map_hint(). accept
 * (optional) may veto a fresh mapping. Returns 0 with result->address
 * set, or result->err. Does not allocate memory (the preload calls it from
 * malloc). Not thread-safe: the caller serialises calls on one ctx (the
 * module holds md->lock, libp2pmem alloc_lock). */
int ucs_p2pmem_ctx_map(ucs_p2pmem_ctx_t *ctx, size_t length,
                       ucs_p2pmem_accept_cb_t accept, void *accept_arg,
                       ucs_p2pmem_map_result_t *result);

/* Why a request of length bytes was not served, and the fix, in one line:
 * the one table of failures every caller prints. err is what
 * ucs_p2pmem_ctx_map() returned (ENODEV: nothing selected), or EINVAL with
 * failed NULL for a request no provider can take as asked; failed is the
 * provider whose mapping failed last, if known. Returns buf. */
const char *ucs_p2pmem_failure_text(const ucs_p2pmem_ctx_t *ctx, int err,
                                    size_t length,
                                    const ucs_p2pmem_provider_t *failed,
                                    char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
