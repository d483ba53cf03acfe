/* libxxhash: the one hash function of Mnemo (space homes, placement ring). */
#include <xxhash.h>
