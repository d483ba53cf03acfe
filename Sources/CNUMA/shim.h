/* libnuma: node-local allocation for shard workers. */
#include <numa.h>
