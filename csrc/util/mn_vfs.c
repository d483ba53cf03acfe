/*
 * mn_vfs.c: the POSIX file-system table (mn_vfs_posix) and the write/read loops shared by every
 * caller of the seam. See mn_vfs.h.
 */
#define _GNU_SOURCE
#include "util/mn_vfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mn_assert.h"

/* errno of a failed call -> status. */
static mn_status mn_vfs_posix_error(int error) {
    switch (error) {
    case ENOSPC:
    case EDQUOT: return MN_ERR_FULL;
    case ENOENT: return MN_ERR_NOT_FOUND;
    case EEXIST: return MN_ERR_DUPLICATE;
    case ENOMEM: return MN_ERR_NO_MEMORY;
    default: return MN_ERR_IO;
    }
}

static mn_status mn_vfs_posix_open(void *context, const char *path, uint32_t flags, int *fd) {
    (void)context;
    int mode = 0;
    switch (flags & MN_VFS_READ_WRITE) {
    case MN_VFS_READ: mode = O_RDONLY; break;
    case MN_VFS_WRITE: mode = O_WRONLY; break;
    case MN_VFS_READ_WRITE: mode = O_RDWR; break;
    default: return MN_ERR_INVALID;
    }
    if (flags & MN_VFS_CREATE) mode |= O_CREAT;
    if (flags & MN_VFS_EXCL) mode |= O_EXCL;
    if (flags & MN_VFS_TRUNCATE) mode |= O_TRUNC;
    int handle = open(path, mode | O_CLOEXEC, 0644);
    if (handle < 0) return mn_vfs_posix_error(errno);
    *fd = handle;
    return MN_OK;
}

static void mn_vfs_posix_close(void *context, int fd) {
    (void)context;
    close(fd);
}

static mn_status mn_vfs_posix_pwrite(void *context, int fd, const void *data, size_t bytes,
                                     uint64_t offset, size_t *written) {
    (void)context;
    for (;;) {
        ssize_t n = pwrite(fd, data, bytes, (off_t)offset);
        if (n >= 0) {
            *written = (size_t)n;
            return MN_OK;
        }
        if (errno != EINTR) return mn_vfs_posix_error(errno);
    }
}

static mn_status mn_vfs_posix_pread(void *context, int fd, void *data, size_t bytes,
                                    uint64_t offset, size_t *got) {
    (void)context;
    for (;;) {
        ssize_t n = pread(fd, data, bytes, (off_t)offset);
        if (n >= 0) {
            *got = (size_t)n;
            return MN_OK;
        }
        if (errno != EINTR) return mn_vfs_posix_error(errno);
    }
}

static mn_status mn_vfs_posix_fdatasync(void *context, int fd) {
    (void)context;
    return fdatasync(fd) == 0 ? MN_OK : mn_vfs_posix_error(errno);
}

static mn_status mn_vfs_posix_truncate(void *context, int fd, uint64_t bytes) {
    (void)context;
    return ftruncate(fd, (off_t)bytes) == 0 ? MN_OK : mn_vfs_posix_error(errno);
}

static mn_status mn_vfs_posix_size(void *context, int fd, uint64_t *bytes) {
    (void)context;
    struct stat st;
    if (fstat(fd, &st) != 0) return mn_vfs_posix_error(errno);
    *bytes = (uint64_t)st.st_size;
    return MN_OK;
}

static mn_status mn_vfs_posix_rename(void *context, const char *from, const char *to) {
    (void)context;
    return rename(from, to) == 0 ? MN_OK : mn_vfs_posix_error(errno);
}

static mn_status mn_vfs_posix_unlink(void *context, const char *path) {
    (void)context;
    return unlink(path) == 0 ? MN_OK : mn_vfs_posix_error(errno);
}

static mn_status mn_vfs_posix_mkdir(void *context, const char *path) {
    (void)context;
    if (mkdir(path, 0755) == 0 || errno == EEXIST) return MN_OK;
    return mn_vfs_posix_error(errno);
}

static mn_status mn_vfs_posix_sync_dir(void *context, const char *path) {
    (void)context;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return mn_vfs_posix_error(errno);
    mn_status status = fsync(fd) == 0 ? MN_OK : mn_vfs_posix_error(errno);
    close(fd);
    return status;
}

static mn_status mn_vfs_posix_list(void *context, const char *path, mn_vfs_entry_fn callback,
                                   void *callback_context) {
    (void)context;
    DIR *dir = opendir(path);
    if (dir == NULL) return mn_vfs_posix_error(errno);
    mn_status status = MN_OK;
    for (;;) {
        errno = 0;
        struct dirent *entry = readdir(dir);
        if (entry == NULL) {
            if (errno != 0) status = mn_vfs_posix_error(errno);
            break;
        }
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        status = callback(callback_context, entry->d_name);
        if (status != MN_OK) break;
    }
    closedir(dir);
    return status;
}

static mn_status mn_vfs_posix_lock(void *context, int fd) {
    (void)context;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) return MN_OK;
        if (errno == EWOULDBLOCK) return MN_ERR_LOCKED;
        if (errno != EINTR) return mn_vfs_posix_error(errno);
    }
}

static const mn_vfs mn_vfs_posix_table = {
    .context = NULL,
    .open = mn_vfs_posix_open,
    .close = mn_vfs_posix_close,
    .pwrite = mn_vfs_posix_pwrite,
    .pread = mn_vfs_posix_pread,
    .fdatasync = mn_vfs_posix_fdatasync,
    .truncate = mn_vfs_posix_truncate,
    .size = mn_vfs_posix_size,
    .rename = mn_vfs_posix_rename,
    .unlink = mn_vfs_posix_unlink,
    .mkdir = mn_vfs_posix_mkdir,
    .sync_dir = mn_vfs_posix_sync_dir,
    .list = mn_vfs_posix_list,
    .lock = mn_vfs_posix_lock,
};

const mn_vfs *mn_vfs_posix(void) { return &mn_vfs_posix_table; }

mn_status mn_vfs_write_all(const mn_vfs *vfs, int fd, const void *data, size_t bytes,
                           uint64_t offset) {
    MN_ASSERT(vfs != NULL);
    const uint8_t *p = data;
    size_t done = 0;
    while (done < bytes) {
        size_t n = 0;
        mn_status status = vfs->pwrite(vfs->context, fd, p + done, bytes - done, offset + done, &n);
        if (status != MN_OK) return status;
        if (n == 0) return MN_ERR_IO;
        done += n;
    }
    return MN_OK;
}

mn_status mn_vfs_read_all(const mn_vfs *vfs, int fd, void *data, size_t bytes, uint64_t offset) {
    MN_ASSERT(vfs != NULL);
    uint8_t *p = data;
    size_t done = 0;
    while (done < bytes) {
        size_t n = 0;
        mn_status status = vfs->pread(vfs->context, fd, p + done, bytes - done, offset + done, &n);
        if (status != MN_OK) return status;
        if (n == 0) return MN_ERR_TRUNCATED;
        done += n;
    }
    return MN_OK;
}
