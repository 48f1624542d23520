/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Where the agent listens unless told otherwise: xsl-agent and xslctl agree. */
#ifndef XSL_DEFAULTS_H
#define XSL_DEFAULTS_H

#define XSL_SOCKET_DEFAULT	"/run/xsl/xsl.sock"
#define XSL_METRICS_DEFAULT	"127.0.0.1:9477"

#endif /* XSL_DEFAULTS_H */
