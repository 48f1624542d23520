/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The test helpers' command lines: getopt_long tables and one number parser. */
#ifndef XSL_TEST_ARGS_H
#define XSL_TEST_ARGS_H

#include <getopt.h>
#include <stdio.h>
#include "strnum.h"

/* s as an integer in [min, max] into *out: 0, or 1 (said on stderr). */
static inline int helper_int(const char *s, int min, int max, int *out)
{
	unsigned int v;

	if (min < 0 || strnum__uint(s, (unsigned int)min, (unsigned int)max, &v)) {
		fprintf(stderr, "bad number '%s' (expected %d..%d)\n", s, min, max);
		return 1;
	}
	*out = (int)v;
	return 0;
}

#endif /* XSL_TEST_ARGS_H */
