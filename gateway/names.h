/*
 * names.h - validation of the names of DESIGN.md section 3: collections,
 * document ids and actors. Pure; thread-safe.
 */
#ifndef SG_NAMES_H
#define SG_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define NAMES_COLLECTION_MAX 128
#define NAMES_ID_MAX 256
#define NAMES_ACTOR_MAX 128

/* ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$ */
bool names_collection_valid(const char *s, size_t len);
/* ^[A-Za-z0-9_.:@~-]{1,256}$ */
bool names_id_valid(const char *s, size_t len);
/* ^[A-Za-z0-9_.:@-]{1,128}$ */
bool names_actor_valid(const char *s, size_t len);

#endif
