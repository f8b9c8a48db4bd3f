/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * libFuzzer target: the escaping of /proc and sysfs strings for the
 * terminal and for JSON (p2pmem-info's writer).
 *
 * Oracles: the JSON form is valid UTF-8 (checked by a decoder written
 * here) with no raw control character, quote or lone backslash; undoing
 * its escapes gives back every byte of the input; the text form has no
 * control character (C0, DEL, C1) and undoing its escapes gives the input
 * back too; the returned length is what a large enough buffer receives,
 * and a short buffer is filled and NUL-terminated without overflow.
 */

#include <ucs/p2pmem_sys.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_escape: property failed: %s\n", #cond); \
            abort(); \
        } \
    } while (0)

/* Length of the valid UTF-8 sequence at s, 0 if none (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
    size_t need, i;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    need = ((s[0] & 0xe0) == 0xc0) ? 2 : ((s[0] & 0xf0) == 0xe0) ? 3 :
           ((s[0] & 0xf8) == 0xf0) ? 4 : 0;
    if ((need == 0) || (n < need)) {
        return 0;
    }
    *cp = s[0] & (0x7f >> need);
    for (i = 1; i < need; ++i) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    if ((need == 2 && *cp < 0x80) || (need == 3 && *cp < 0x800) ||
        (need == 4 && *cp < 0x10000) || (*cp > 0x10ffff) ||
        ((*cp >= 0xd800) && (*cp <= 0xdfff))) {
        return 0;
    }
    return need;
}

static unsigned hex(const char *p, int n)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < n; ++i) {
        CHECK(((p[i] >= '0') && (p[i] <= '9')) ||
              ((p[i] >= 'a') && (p[i] <= 'f')));
        v = (v << 4) | (unsigned)((p[i] <= '9') ? p[i] - '0' : p[i] - 'a' + 10);
    }
    return v;
}

/* Undo the escapes of out (json or text) into back; returns its length. */
static size_t unescape(const char *out, size_t len, int json,
                       unsigned char *back)
{
    size_t i = 0, n = 0, k, sl;
    unsigned cp;

    while (i < len) {
        if (out[i] != '\\') {
            sl = utf8_seq((const unsigned char*)out + i, len - i, &cp);
            CHECK(sl > 0);
            CHECK(cp >= 0x20);
            CHECK(cp != 0x7f);
            if (json) {
                CHECK(cp != '"');
            } else {
                CHECK((cp < 0x80) || (cp > 0x9f));
            }
            for (k = 0; k < sl; ++k) {
                back[n++] = (unsigned char)out[i + k];
            }
            i += sl;
            continue;
        }
        CHECK(i + 1 < len);
        switch (out[i + 1]) {
        case 'x':
            CHECK(!json && (i + 3 < len));
            back[n++] = (unsigned char)hex(out + i + 2, 2);
            i += 4;
            break;
        case 'u':
            CHECK(i + 5 < len);
            cp = hex(out + i + 2, 4);
            if (json) {
                /* a control character, or a byte that was not UTF-8 */
                CHECK(cp < 0x100);
                back[n++] = (unsigned char)cp;
            } else {
                /* a C1 control, U+0080..U+009F, as UTF-8 */
                CHECK((cp >= 0x80) && (cp <= 0x9f));
                back[n++] = 0xc2;
                back[n++] = (unsigned char)cp;
            }
            i += 6;
            break;
        case 'n':
            CHECK(json);
            back[n++] = '\n';
            i += 2;
            break;
        case '"':
        case '\\':
            CHECK(json);
            back[n++] = (unsigned char)out[i + 1];
            i += 2;
            break;
        default:
            CHECK(!"unknown escape");
        }
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cap = 6 * size + 1, len, n, small;
    unsigned char *back;
    char *out, tiny[9];
    int json;

    out  = malloc(cap);
    back = malloc(size + 1);
    if ((out == NULL) || (back == NULL)) {
        free(out);
        free(back);
        return 0;
    }
    for (json = 0; json <= 1; ++json) {
        len = ucs_p2pmem_escape((const char*)data, size, json, out, cap);
        CHECK(len < cap);
        CHECK(strlen(out) == len);
        n = unescape(out, len, json, back);
        CHECK((n == size) && !memcmp(back, data, size));
        /* a short buffer: a prefix, terminated, never overrun */
        small = (size_t)(data[0 % (size ? size : 1)] % sizeof(tiny)) + 1;
        if (size == 0) {
            small = 1;
        }
        memset(tiny, 'Z', sizeof(tiny));
        CHECK(ucs_p2pmem_escape((const char*)data, size, json, tiny, small) ==
              len);
        CHECK(strlen(tiny) < small);
        CHECK(!strncmp(tiny, out, strlen(tiny)));
    }
    free(out);
    free(back);
    return 0;
}
