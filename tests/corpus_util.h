/* tests/corpus_util.h: loading corpus files, and placing bytes right before an unreadable page
 * so that any read past the end crashes (the picohttpparser test technique). */
#ifndef SIPRING_TESTS_CORPUS_UTIL_H
#define SIPRING_TESTS_CORPUS_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef CORPUS_DIR
#error "CORPUS_DIR must be defined by the build"
#endif

/* Reads CORPUS_DIR/rel into a malloc'd buffer; *len gets its size. NULL if missing. */
static inline char *corpus_read(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

/* Lists the *.sip files of CORPUS_DIR/dir into names[] (sorted); returns the count. */
static inline size_t corpus_list(const char *dir, char names[][128], size_t cap)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR, dir);
    DIR *d = opendir(path);
    size_t n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL && n < cap) {
        /* every file, whatever its name: a curated folder holds nothing the tests skip */
        size_t l = strlen(e->d_name);
        if (e->d_name[0] != '.' && l < 100) {
            snprintf(names[n++], 128, "%s/%s", dir, e->d_name);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    qsort(names, n, 128, (int (*)(const void *, const void *))strcmp);
    return n;
}

struct guarded {
    char *map;
    size_t map_len;
    char *data; /* data[len] is the first byte of a PROT_NONE page */
};

static inline struct guarded guarded_copy(const char *src, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (len + page - 1) / page + 1;
    struct guarded g;
    g.map_len = pages * page;
    g.map = mmap(NULL, g.map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(g.map + (pages - 1) * page, page, PROT_NONE);
    g.data = g.map + (pages - 1) * page - len;
    memcpy(g.data, src, len);
    return g;
}

static inline void guarded_free(struct guarded g)
{
    munmap(g.map, g.map_len);
}

#endif
