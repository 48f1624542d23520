// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include "strnum.h"

int strnum__u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* strtoull takes leading blanks and a '-' (wrapping it): digits only */
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int strnum__uint(const char *s, unsigned int min, unsigned int max, unsigned int *out)
{
	uint64_t v;
	int err = strnum__u64(s, min, max, &v);

	if (!err)
		*out = (unsigned int)v;
	return err;
}
