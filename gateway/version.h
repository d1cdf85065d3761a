/*
 * version.h - the release this tree builds (/v1/info, the resolver client's
 * User-Agent).
 */
#ifndef SG_VERSION_H
#define SG_VERSION_H

#define SYNCGATE_VERSION "0.2.0"

#endif
