/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * libp2pmem_emu_pool.so: gives EMULATED providers (test/emu/p2pmem-emu) the
 * pool semantics of the kernel's p2pmem/allocate. FOR TESTS ONLY.
 *
 * LD_PRELOAD it next to the code under test. A shared mapping of a file
 * opened as ".../p2pmem/allocate" takes its length from that provider's
 * "available" file and fails with ENOMEM when there is not enough; munmap
 * gives it back. "available" is updated under flock(), so processes sharing
 * an emulated tree share its pools, as they share a device's.
 * When allocate is a regular file (p2pmem-emu --backing), each mapping gets
 * its own range of that file, first fit, as blocks of a device's memory
 * are distinct: what a process leaves in a block is what the next holder
 * of that range finds. Ranges are chosen per process (concurrent processes
 * may share bytes); tests of what stays behind run one process at a time.
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FDS      1024
#define MAX_MAPPINGS 8192

static char *fd_dir[MAX_FDS];   /* p2pmem dir of an open allocate file */
static struct {
    void   *address;
    size_t length;
    char   *dir;
    off_t  offset;   /* in a backing file */
} mappings[MAX_MAPPINGS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int (*real_open)(const char *, int, ...);
static int (*real_close)(int);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_symbols(void)
{
    real_open   = dlsym(RTLD_NEXT, "open");
    real_close  = dlsym(RTLD_NEXT, "close");
    real_mmap   = dlsym(RTLD_NEXT, "mmap");
    real_munmap = dlsym(RTLD_NEXT, "munmap");
}

/* once, and complete before any thread uses a pointer */
static void init(void)
{
    pthread_once(&init_once, init_symbols);
}

/* Add delta to <dir>/available if the result stays in [0, size]. */
static int adjust_available(const char *dir, long long delta)
{
    char path[PATH_MAX], buf[32];
    long long avail;
    ssize_t n;
    int fd, ok = 0;

    snprintf(path, sizeof(path), "%s/available", dir);
    fd = real_open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    flock(fd, LOCK_EX);
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n > 0) {
        buf[n] = '\0';
        avail  = atoll(buf);
        if (avail + delta >= 0) {
            n = snprintf(buf, sizeof(buf), "%lld\n", avail + delta);
            ok = (ftruncate(fd, 0) == 0) && (pwrite(fd, buf, (size_t)n, 0) == n);
        }
    }
    flock(fd, LOCK_UN);
    real_close(fd);
    return ok;
}

static int open_common(const char *path, int fd)
{
    size_t len = strlen(path);
    const char *suffix = "/p2pmem/allocate";
    size_t slen = strlen(suffix);

    if ((fd >= 0) && (fd < MAX_FDS) && (len > slen) &&
        !strcmp(path + len - slen, suffix)) {
        pthread_mutex_lock(&lock);
        free(fd_dir[fd]);
        fd_dir[fd] = strndup(path, len - strlen("/allocate"));
        pthread_mutex_unlock(&lock);
    }
    return fd;
}

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    va_list ap;

    init();
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    return open_common(path, real_open(path, flags, mode));
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int close(int fd)
{
    init();
    if ((fd >= 0) && (fd < MAX_FDS)) {
        pthread_mutex_lock(&lock);
        free(fd_dir[fd]);
        fd_dir[fd] = NULL;
        pthread_mutex_unlock(&lock);
    }
    return real_close(fd);
}

/* First free range of length bytes in a backing file of file_size bytes
 * among this process's mappings of dir, or -1. */
static off_t backing_offset(const char *dir, size_t length, off_t file_size)
{
    off_t off = 0, end;
    int i, moved;

    pthread_mutex_lock(&lock);
    do {
        moved = 0;
        for (i = 0; i < MAX_MAPPINGS; ++i) {
            if ((mappings[i].address == NULL) || strcmp(mappings[i].dir, dir)) {
                continue;
            }
            end = mappings[i].offset + (off_t)mappings[i].length;
            if ((off < end) && (mappings[i].offset < off + (off_t)length)) {
                off   = end;
                moved = 1;
            }
        }
    } while (moved);
    pthread_mutex_unlock(&lock);
    return (off + (off_t)length <= file_size) ? off : -1;
}

void *mmap(void *addr, size_t length, int prot, int flags, int fd,
           off_t offset)
{
    struct stat st;
    char *dir = NULL;
    void *p;
    int i;

    init();
    pthread_mutex_lock(&lock);
    if ((fd >= 0) && (fd < MAX_FDS) && (fd_dir[fd] != NULL)) {
        dir = strdup(fd_dir[fd]);
    }
    pthread_mutex_unlock(&lock);
    if (dir == NULL) {
        return real_mmap(addr, length, prot, flags, fd, offset);
    }

    /* the kernel's rules: shared, offset 0, length from the pool */
    if (!(flags & MAP_SHARED) || (offset != 0)) {
        free(dir);
        errno = EINVAL;
        return MAP_FAILED;
    }
    if (!adjust_available(dir, -(long long)length)) {
        free(dir);
        errno = ENOMEM;
        return MAP_FAILED;
    }

    if ((fstat(fd, &st) == 0) && S_ISREG(st.st_mode)) {
        offset = backing_offset(dir, length, st.st_size);
        if (offset < 0) {
            adjust_available(dir, (long long)length);
            free(dir);
            errno = ENOMEM;
            return MAP_FAILED;
        }
    }
    p = real_mmap(addr, length, prot, flags, fd, offset);
    if (p == MAP_FAILED) {
        adjust_available(dir, (long long)length);
        free(dir);
        return p;
    }

    pthread_mutex_lock(&lock);
    for (i = 0; i < MAX_MAPPINGS; ++i) {
        if (mappings[i].address == NULL) {
            mappings[i].address = p;
            mappings[i].length  = length;
            mappings[i].dir     = dir;
            mappings[i].offset  = offset;
            dir                 = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    free(dir); /* table full: the bytes stay taken, as a leak would */
    return p;
}

int munmap(void *addr, size_t length)
{
    char *dir = NULL;
    size_t mapped = 0;
    off_t moff = 0;
    int i, ret, saved_errno;

    init();
    /* take the entry out before unmapping: once the range is unmapped,
     * another thread's mmap may get the same address and enter it again */
    pthread_mutex_lock(&lock);
    for (i = 0; i < MAX_MAPPINGS; ++i) {
        if (mappings[i].address == addr) {
            dir                 = mappings[i].dir;
            mapped              = mappings[i].length;
            moff                = mappings[i].offset;
            mappings[i].address = NULL;
            mappings[i].dir     = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&lock);

    ret = real_munmap(addr, length);
    if (ret != 0) {
        saved_errno = errno;
        if (dir != NULL) { /* still mapped: put the entry back */
            pthread_mutex_lock(&lock);
            for (i = 0; i < MAX_MAPPINGS; ++i) {
                if (mappings[i].address == NULL) {
                    mappings[i].address = addr;
                    mappings[i].length  = mapped;
                    mappings[i].dir     = dir;
                    mappings[i].offset  = moff;
                    dir                 = NULL;
                    break;
                }
            }
            pthread_mutex_unlock(&lock);
            free(dir);
        }
        errno = saved_errno;
        return ret;
    }

    if (dir != NULL) {
        adjust_available(dir, (long long)mapped);
        free(dir);
    }
    return 0;
}
