/* src/options.c: the option table and its three readers (command line, config file, --help). */
#include "options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SIPRING_VERSION
#define SIPRING_VERSION "0.0.0"
#endif

enum { OPT_CLI_ONLY = 1, OPT_REPEAT = 2, OPT_NO_ARG = 4 };

/* An apply function validates one value and stores it; on failure it returns -1 and the
 * caller prints the option name with the def's `accepted` text. */
typedef int (*apply_fn)(struct config *c, const char *v);

struct opt_def {
    const char *name;
    int short_name; /* 0 if none */
    const char *arg;
    const char *def; /* default, as text, or NULL */
    const char *accepted;
    const char *help;
    apply_fn apply;
    unsigned flags;
};

static int parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || n < min || n > max) {
        return -1;
    }
    *out = (uint32_t)n;
    return 0;
}

/* PROTO:ADDR:PORT, with IPv6 addresses in brackets: udp:0.0.0.0:5060, udp:[::1]:5060 */
static int apply_listen(struct config *c, const char *v)
{
    if (c->listen_count >= CONFIG_MAX_LISTEN || strncmp(v, "udp:", 4) != 0) {
        return -1;
    }
    struct listen_addr *l = &c->listen[c->listen_count];
    memset(l, 0, sizeof(*l));
    const char *a = v + 4, *colon;
    char host[64];
    if (*a == '[') {
        const char *close = strchr(a, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - a - 1) >= sizeof(host)) {
            return -1;
        }
        memcpy(host, a + 1, (size_t)(close - a - 1));
        host[close - a - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(a, ':');
        if (colon == NULL || (size_t)(colon - a) >= sizeof(host)) {
            return -1;
        }
        memcpy(host, a, (size_t)(colon - a));
        host[colon - a] = '\0';
    }
    uint32_t port;
    if (parse_u32(colon + 1, 1, 65535, &port) != 0) {
        return -1;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)&l->addr;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&l->addr;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        l->addr_len = sizeof(*s4);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        l->addr_len = sizeof(*s6);
    } else {
        return -1;
    }
    l->proto = LISTEN_UDP;
    snprintf(l->text, sizeof(l->text), "%s", v);
    c->listen_count++;
    return 0;
}

static int apply_log_level(struct config *c, const char *v)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (strcmp(v, levels[i]) == 0) {
            c->log_level = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

static int apply_log(struct config *c, const char *v)
{
    if (strcmp(v, "stderr") == 0 || strcmp(v, "syslog") == 0) {
        c->log_syslog = v[1] == 'y';
        return 0;
    }
    return -1;
}

static int apply_max_msg(struct config *c, const char *v)
{
    return parse_u32(v, 1024, 65535, &c->max_msg_bytes);
}

static int apply_max_headers(struct config *c, const char *v)
{
    return parse_u32(v, 16, 128, &c->max_headers);
}

static int apply_config(struct config *c, const char *v)
{
    if (strlen(v) >= sizeof(c->config_path)) {
        return -1;
    }
    strcpy(c->config_path, v);
    return 0;
}

static int apply_check(struct config *c, const char *v)
{
    (void)v;
    c->check_only = true;
    return 0;
}

static const struct opt_def opts[] = {
    {"listen", 'l', "PROTO:ADDR:PORT", "udp:0.0.0.0:5060",
     "udp:ADDR:PORT, IPv6 addresses in brackets (udp:[::]:5060)",
     "Listen for SIP on this address; repeat for several. Only udp for now.", apply_listen,
     OPT_REPEAT},
    {"log-level", 'L', "LEVEL", "info", "one of error, warn, info, debug",
     "Log events of this level and more severe.", apply_log_level, 0},
    {"log", 0, "SINK", "stderr", "stderr or syslog", "Where log lines go.", apply_log, 0},
    {"max-msg-size", 0, "BYTES", "65535", "an integer from 1024 to 65535",
     "Largest SIP message accepted; larger ones are refused with 513.", apply_max_msg, 0},
    {"max-headers", 0, "COUNT", "128", "an integer from 16 to 128",
     "Most header fields (list elements count one each) accepted in one message.",
     apply_max_headers, 0},
    {"config", 'c', "FILE", NULL, "a readable file path",
     "Read options from FILE (name = value lines); command-line options override it.",
     apply_config, OPT_CLI_ONLY},
    {"check-config", 0, NULL, NULL, "", "Validate the configuration, report problems, exit.",
     apply_check, OPT_CLI_ONLY | OPT_NO_ARG},
    {"help", 'h', NULL, NULL, "", "Print this help and exit.", NULL, OPT_CLI_ONLY | OPT_NO_ARG},
    {"version", 'V', NULL, NULL, "", "Print the version and exit.", NULL,
     OPT_CLI_ONLY | OPT_NO_ARG},
};
#define OPT_COUNT (sizeof(opts) / sizeof(opts[0]))

void options_help(void *vout)
{
    FILE *out = vout;
    fprintf(out, "Usage: sipring [OPTION]...\nSIP edge proxy with media relay.\n\n");
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const struct opt_def *o = &opts[i];
        char left[64];
        if (o->short_name) {
            snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
                     o->arg ? " " : "", o->arg ? o->arg : "");
        } else {
            snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        }
        fprintf(out, "  %-30s %s", left, o->help);
        if (o->def) {
            fprintf(out, " (default: %s)", o->def);
        }
        fputc('\n', out);
    }
    fprintf(out, "\nEvery option but --config, --check-config, --help and --version may also be "
                 "set in the config file.\nSee sipring(8).\n");
}

static const struct opt_def *find_opt(const char *name)
{
    for (size_t i = 0; i < OPT_COUNT; i++) {
        if (strcmp(opts[i].name, name) == 0) {
            return &opts[i];
        }
    }
    return NULL;
}

static int apply_one(struct config *c, const struct opt_def *o, const char *v, const char *where)
{
    if (o->apply(c, v) != 0) {
        fprintf(stderr, "sipring: %s--%s: bad value '%s': expected %s\n", where, o->name, v,
                o->accepted);
        return -1;
    }
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) {
        *--e = '\0';
    }
    return s;
}

/* Reads the config file; options already given on the command line (cli_set) are skipped,
 * except that a repeatable option given on the command line replaces the file's values. */
static int load_file(struct config *c, const bool *cli_set)
{
    FILE *f = fopen(c->config_path, "r");
    if (f == NULL) {
        fprintf(stderr, "sipring: --config: cannot open '%s': %s\n", c->config_path,
                strerror(errno));
        return -1;
    }
    char buf[1024], where[600];
    int lineno = 0, bad = 0;
    while (fgets(buf, sizeof(buf), f) != NULL) {
        lineno++;
        char *hash = strchr(buf, '#');
        if (hash != NULL) {
            *hash = '\0';
        }
        char *line = trim(buf);
        if (*line == '\0') {
            continue;
        }
        snprintf(where, sizeof(where), "%s:%d: ", c->config_path, lineno);
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            fprintf(stderr, "sipring: %sexpected 'name = value'\n", where);
            bad = 1;
            continue;
        }
        *eq = '\0';
        char *name = trim(line), *value = trim(eq + 1);
        const struct opt_def *o = find_opt(name);
        if (o == NULL || (o->flags & OPT_CLI_ONLY)) {
            fprintf(stderr, "sipring: %sunknown option '%s'\n", where, name);
            bad = 1;
            continue;
        }
        if (cli_set[o - opts]) {
            continue;
        }
        bad |= apply_one(c, o, value, where) != 0;
    }
    fclose(f);
    return bad ? -1 : 0;
}

static void set_defaults(struct config *c, bool skip_repeat_defaults)
{
    memset(c, 0, sizeof(*c));
    c->log_level = LOG_LVL_INFO;
    c->max_msg_bytes = 65535;
    c->max_headers = 128;
    (void)skip_repeat_defaults;
}

enum options_result options_load(struct config *c, int argc, char **argv)
{
    struct option lopts[OPT_COUNT + 1];
    char shorts[2 * OPT_COUNT + 2] = ":";
    size_t sn = 1;
    for (size_t i = 0; i < OPT_COUNT; i++) {
        lopts[i] = (struct option){opts[i].name,
                                   (opts[i].flags & OPT_NO_ARG) ? no_argument : required_argument,
                                   NULL, 256 + (int)i};
        if (opts[i].short_name) {
            shorts[sn++] = (char)opts[i].short_name;
            if (!(opts[i].flags & OPT_NO_ARG)) {
                shorts[sn++] = ':';
            }
        }
    }
    lopts[OPT_COUNT] = (struct option){0};
    shorts[sn] = '\0';

    set_defaults(c, false);
    bool cli_set[OPT_COUNT] = {0};
    int ch, bad = 0;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, shorts, lopts, NULL)) != -1) {
        const struct opt_def *o = NULL;
        if (ch >= 256) {
            o = &opts[ch - 256];
        } else if (ch == '?' || ch == ':') {
            fprintf(stderr, "sipring: %s '%s' (see --help)\n",
                    ch == '?' ? "unknown option" : "missing value for", argv[optind - 1]);
            return OPTIONS_EXIT_USAGE;
        } else {
            for (size_t i = 0; i < OPT_COUNT; i++) {
                if (opts[i].short_name == ch) {
                    o = &opts[i];
                }
            }
        }
        if (strcmp(o->name, "help") == 0) {
            options_help(stdout);
            return OPTIONS_EXIT_OK;
        }
        if (strcmp(o->name, "version") == 0) {
            printf("sipring %s\n", SIPRING_VERSION);
            return OPTIONS_EXIT_OK;
        }
        cli_set[o - opts] = true;
        if (apply_one(c, o, optarg ? optarg : "", "") != 0) {
            return OPTIONS_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sipring: unexpected argument '%s' (see --help)\n", argv[optind]);
        return OPTIONS_EXIT_USAGE;
    }
    if (c->config_path[0] != '\0' && load_file(c, cli_set) != 0) {
        bad = 1;
    }
    if (c->listen_count == 0) {
        apply_listen(c, find_opt("listen")->def);
    }
    if (bad) {
        return c->check_only ? OPTIONS_EXIT_BAD : OPTIONS_EXIT_USAGE;
    }
    if (c->check_only) {
        printf("sipring: configuration OK\n");
        return OPTIONS_EXIT_OK;
    }
    return OPTIONS_RUN;
}
