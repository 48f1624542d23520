/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Decimal numbers from command lines and files: the one strtoull wrapper. */
#ifndef XSL_STRNUM_H
#define XSL_STRNUM_H

#include <stdint.h>

/*
 * s, all of it, as a decimal integer in [min, max]: 0, or -EINVAL for an
 * empty string, a sign, trailing characters or a value out of range.
 */
int strnum__u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* The same, for an unsigned int. */
int strnum__uint(const char *s, unsigned int min, unsigned int max, unsigned int *out);

#endif /* XSL_STRNUM_H */
