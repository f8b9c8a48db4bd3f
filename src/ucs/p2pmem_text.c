/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: the text the libraries and p2pmem-info take from users and
 * the kernel and give back: P2PMEM_CALLERS rules and their glob patterns,
 * /proc/PID/maps lines, and strings from /proc or sysfs made safe for a
 * terminal or JSON. Nothing here allocates memory: the preload runs it from
 * inside malloc().
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "p2pmem_sys_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Two pointers and one backtrack point (the last '*'): a later star makes
 * every earlier choice final, so this is O(len(p) * len(s)) at worst,
 * where recursion on each star was exponential. */
int ucs_p2pmem_glob_match(const char *p, const char *s)
{
    const char *star = NULL, *retry = NULL;

    while (*s != '\0') {
        if ((*p == '?') || ((*p != '*') && (*p != '\0') && (*p == *s))) {
            ++p;
            ++s;
        } else if (*p == '*') {
            star  = p++;
            retry = s;
        } else if (star != NULL) {
            p = star + 1;
            s = ++retry;
        } else {
            return 0;
        }
    }
    while (*p == '*') {
        ++p;
    }
    return *p == '\0';
}

static void set_bad(char *bad, size_t bad_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_bad(char *bad, size_t bad_len, const char *fmt, ...)
{
    va_list ap;

    if ((bad == NULL) || (bad_len == 0)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(bad, bad_len, fmt, ap);
    va_end(ap);
}

int ucs_p2pmem_callers_parse(const char *spec, ucs_p2pmem_callers_t *c,
                             char *bad, size_t bad_len)
{
    const char *p = spec, *end;
    ucs_p2pmem_caller_rule_t *r;
    size_t len;
    int include;

    c->count = 0;
    while (*p != '\0') {
        while ((*p == ' ') || (*p == ',')) {
            ++p;
        }
        if (*p == '\0') {
            break;
        }
        end = p + strcspn(p, ",");
        len = (size_t)(end - p);
        while ((len > 0) && (p[len - 1] == ' ')) {
            --len;
        }
        include = (*p != '-');
        if (!include) {
            ++p;
            --len;
        }
        if (len == 0) {
            set_bad(bad, bad_len, "'-' without a name");
            goto err;
        } else if ((len >= UCS_P2PMEM_CALLER_NAME_MAX) ||
                   (c->count == UCS_P2PMEM_CALLERS_MAX)) {
            set_bad(bad, bad_len, "more than %d entries or a name of %d "
                    "characters or more", UCS_P2PMEM_CALLERS_MAX,
                    UCS_P2PMEM_CALLER_NAME_MAX);
            goto err;
        } else if ((memchr(p, '/', len) != NULL) ||
                   (memchr(p, ' ', len) != NULL)) {
            set_bad(bad, bad_len, "'%.*s' is not a file name (no "
                    "directories or spaces)", (int)((len < 40) ? len : 40), p);
            goto err;
        }
        if ((len == 3) && !strncmp(p, "all", 3)) {
            p   = "*";
            len = 1;
        }
        r = &c->rules[c->count++];
        memcpy(r->pattern, p, len);
        r->pattern[len] = '\0';
        r->include      = include;
        p = (*end == ',') ? end + 1 : end;
    }
    if (c->count == 0) {
        set_bad(bad, bad_len, "no entry");
        goto err;
    }
    /* every object, named or not, and nothing excluded */
    c->all = ucs_p2pmem_callers_want(c, "", 0) &&
             ucs_p2pmem_callers_want(c, "", 1) && !strchr(spec, '-');
    return 0;

err:
    c->count = 0;
    c->all   = 0;
    return -EINVAL;
}

int ucs_p2pmem_callers_want(const ucs_p2pmem_callers_t *c, const char *name,
                            int is_main)
{
    int want = 0;
    unsigned i;

    /* the last rule that matches decides */
    for (i = 0; i < c->count; ++i) {
        if (!strcmp(c->rules[i].pattern, "main") ? is_main :
            ucs_p2pmem_glob_match(c->rules[i].pattern, name)) {
            want = c->rules[i].include;
        }
    }
    return want;
}

static const char *parse_hex(const char *p, const char *end,
                             uint64_t *value)
{
    const char *start = p;
    uint64_t v        = 0;
    int d;

    for (; p < end; ++p) {
        d = ((*p >= '0') && (*p <= '9')) ? (*p - '0') :
            ((*p >= 'a') && (*p <= 'f')) ? (*p - 'a' + 10) : -1;
        if (d < 0) {
            break;
        }
        if (v >> 60) {
            return NULL; /* more than 64 bits */
        }
        v = (v << 4) | (uint64_t)d;
    }
    *value = v;
    return (p == start) ? NULL : p;
}

/* One field after exactly one space: offset (hex), device (hex:hex) or
 * inode (decimal), so only hex digits and ':'. */
static const char *skip_field(const char *p, const char *end)
{
    const char *start;

    if ((p >= end) || (*p != ' ')) {
        return NULL;
    }
    start = ++p;
    while ((p < end) && (*p != ' ')) {
        if (!(((*p >= '0') && (*p <= '9')) || ((*p >= 'a') && (*p <= 'f')) ||
              (*p == ':'))) {
            return NULL;
        }
        ++p;
    }
    return (p == start) ? NULL : p;
}

int ucs_p2pmem_parse_maps_line(const char *line, size_t len,
                               ucs_p2pmem_maps_entry_t *e)
{
    static const char deleted[] = " (deleted)";
    const char *end = line + len, *p, *perms;
    int i;

    if ((len > 0) && (line[len - 1] == '\n')) {
        --end;
    }
    if ((memchr(line, '\0', (size_t)(end - line)) != NULL) ||
        ((p = parse_hex(line, end, &e->start)) == NULL) || (p >= end) ||
        (*p != '-') || ((p = parse_hex(p + 1, end, &e->end)) == NULL) ||
        (e->end < e->start) || (p >= end) || (*p != ' ')) {
        return -EINVAL;
    }
    /* "rwxp": four characters */
    perms = p + 1;
    if ((end - perms < 4) || ((perms + 4 < end) && (perms[4] != ' '))) {
        return -EINVAL;
    }
    for (i = 0; i < 4; ++i) {
        if (!strchr("rwxsp-", perms[i]) || (perms[i] == '\0')) {
            return -EINVAL;
        }
    }
    memcpy(e->perms, perms, 4);
    e->perms[4] = '\0';
    /* offset, device, inode */
    p = perms + 4;
    for (i = 0; i < 3; ++i) {
        p = skip_field(p, end);
        if (p == NULL) {
            return -EINVAL;
        }
    }
    while ((p < end) && (*p == ' ')) {
        ++p;
    }
    e->path     = p;
    e->path_len = (size_t)(end - p);
    e->deleted  = (e->path_len > sizeof(deleted) - 1) &&
                  !memcmp(end - (sizeof(deleted) - 1), deleted,
                          sizeof(deleted) - 1);
    if (e->deleted) {
        e->path_len -= sizeof(deleted) - 1;
    }
    return 0;
}

/* Bytes of the valid UTF-8 sequence at s (at most n), 0 if none: no
 * overlong forms, surrogates or code points past U+10FFFF (RFC 3629). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t need, i;
    unsigned cp;

    if (s[0] < 0x80) {
        return 1;
    } else if ((s[0] >= 0xc2) && (s[0] <= 0xdf)) {
        need = 2;
        cp   = s[0] & 0x1f;
    } else if ((s[0] >= 0xe0) && (s[0] <= 0xef)) {
        need = 3;
        cp   = s[0] & 0x0f;
    } else if ((s[0] >= 0xf0) && (s[0] <= 0xf4)) {
        need = 4;
        cp   = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < need) {
        return 0;
    }
    for (i = 1; i < need; ++i) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (((need == 3) && ((cp < 0x800) || ((cp >= 0xd800) && (cp <= 0xdfff)))) ||
        ((need == 4) && ((cp < 0x10000) || (cp > 0x10ffff)))) {
        return 0;
    }
    return need;
}

/* Append what fits; keeps out NUL-terminated and counts what was needed. */
static void put(char *out, size_t out_len, size_t *pos, const char *text,
                size_t n)
{
    size_t i;

    for (i = 0; i < n; ++i, ++*pos) {
        if (*pos + 1 < out_len) {
            out[*pos] = text[i];
            out[*pos + 1] = '\0';
        }
    }
}

size_t ucs_p2pmem_escape(const char *in, size_t len, int json, char *out,
                         size_t out_len)
{
    const unsigned char *s = (const unsigned char*)in;
    size_t pos = 0, i, n;
    char esc[8];

    if (out_len > 0) {
        out[0] = '\0';
    }
    for (i = 0; i < len; i += n) {
        n = utf8_len(s + i, len - i);
        esc[0] = '\0';
        if (n == 0) {
            /* not UTF-8: the byte, recoverable (JSON: U+00XX) */
            snprintf(esc, sizeof(esc), json ? "\\u%04x" : "\\x%02x", s[i]);
            n = 1;
        } else if (n > 1) {
            /* valid UTF-8 beyond ASCII is kept, but a terminal acts on the
             * C1 controls U+0080..U+009F */
            if (!json && (s[i] == 0xc2) && (s[i + 1] < 0xa0)) {
                snprintf(esc, sizeof(esc), "\\u%04x", s[i + 1]);
            }
        } else if (json && ((s[i] == '"') || (s[i] == '\\'))) {
            snprintf(esc, sizeof(esc), "\\%c", s[i]);
        } else if (json && (s[i] == '\n')) {
            snprintf(esc, sizeof(esc), "\\n");
        } else if ((s[i] < 0x20) || (s[i] == 0x7f) ||
                   (!json && (s[i] == '\\'))) {
            /* control characters; in text the backslash too, so that
             * every escape is unambiguous */
            snprintf(esc, sizeof(esc), json ? "\\u%04x" : "\\x%02x", s[i]);
        }
        if (esc[0] != '\0') {
            put(out, out_len, &pos, esc, strlen(esc));
        } else {
            put(out, out_len, &pos, in + i, n);
        }
    }
    return pos;
}
