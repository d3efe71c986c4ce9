/* src/secret.c: see secret.h. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tls/tls.h"
#include "log.h"

#define SECRET_BYTES 32

static int create(const char *path, uint8_t *master)
{
    if (tls_random(master, SECRET_BYTES) != 0) {
        log_error("--secret-file %s: no random bytes", path);
        return -1;
    }
    /* O_EXCL: two instances starting together do not both write; the loser reads the file */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return errno == EEXIST ? 1 : -1;
    }
    ssize_t n = write(fd, master, SECRET_BYTES);
    int rc = n == SECRET_BYTES && fsync(fd) == 0 ? 0 : -1;
    close(fd);
    if (rc != 0) {
        unlink(path);
        log_error("--secret-file %s: cannot write it: %s", path, strerror(errno));
        return -1;
    }
    log_info("--secret-file %s: created a new key", path);
    return 0;
}

static int read_file(const char *path, uint8_t *master)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_error("--secret-file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    uint8_t extra;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        log_error("--secret-file %s: %s", path, strerror(errno));
    } else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        log_error("--secret-file %s: readable by others (mode %03o): chmod 600 it", path,
                  (unsigned)(st.st_mode & 0777));
    } else if (read(fd, master, SECRET_BYTES) != SECRET_BYTES || read(fd, &extra, 1) != 0) {
        log_error("--secret-file %s: must hold exactly %d bytes", path, SECRET_BYTES);
    } else {
        rc = 0;
    }
    close(fd);
    return rc;
}

static void derive(const uint8_t *master, const char *label, uint8_t out[32])
{
    struct tls_bytes part = {label, strlen(label)};
    tls_keyed_hash(master, SECRET_BYTES, &part, 1, out);
}

int secret_load(const char *path, struct secret *s)
{
    uint8_t master[SECRET_BYTES];
    int rc;
    if (path == NULL || path[0] == '\0') {
        rc = tls_random(master, SECRET_BYTES);
        if (rc != 0) {
            log_error("no random bytes for the process key");
        }
    } else {
        rc = access(path, F_OK) == 0 ? 1 : create(path, master);
        if (rc == 1) {
            rc = read_file(path, master);
        } else if (rc < 0 && errno != 0) {
            log_error("--secret-file %s: cannot create it: %s", path, strerror(errno));
        }
    }
    if (rc == 0) {
        derive(master, "sipring mac", s->mac_key);
        derive(master, "sipring nonce", s->nonce_key);
        s->mac = tls_hmac_key_new(s->mac_key, sizeof(s->mac_key));
        if (s->mac == NULL) {
            log_error("out of memory for the process key");
            rc = -1;
        }
    }
    explicit_bzero(master, sizeof(master));
    return rc;
}

static void sign(void *self, const struct sip_str *parts, size_t n, uint8_t out[32])
{
    const struct secret *s = self;
    struct tls_bytes b[8];
    n = n > 8 ? 8 : n;
    for (size_t i = 0; i < n; i++) {
        b[i] = (struct tls_bytes){parts[i].p, parts[i].len};
    }
    tls_hmac_sign(s->mac, b, n, out);
}

struct sip_mac secret_mac(const struct secret *s)
{
    return (struct sip_mac){sign, (void *)(uintptr_t)s};
}
