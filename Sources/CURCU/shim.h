/* liburcu's membarrier flavour, linked as a library (no _LGPL_SOURCE). */
#include <urcu/urcu-memb.h>
