/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* version: one place for the version string. */
#ifndef TG_VERSION_H
#define TG_VERSION_H

#define TG_VERSION "0.1.0"

#endif
