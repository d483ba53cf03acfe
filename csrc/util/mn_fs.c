/*
 * mn_fs.c: see mn_fs.h.
 */
#define _GNU_SOURCE
#include "util/mn_fs.h"

#include <fcntl.h>
#include <unistd.h>

mn_status mn_sync_directory(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return MN_ERR_IO;
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? MN_OK : MN_ERR_IO;
}
