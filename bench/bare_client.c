/* The floor for bench/run: a bare epoll client doing one probe dialogue at a bounded rate and
 * concurrency, with no framework, so tierwatch's cost can be read against kernel + crypto cost.
 *
 *   bare_client --mode tcp|smtp|imap|pop3|tls|tls_resume|imaps|smtp_starttls|https --targets FIRST_127_ADDR,COUNT,PORT
 *               --count N [--concurrency C] [--rate R] [--ca FILE] [--sni NAME]
 *               [--timeout-ms T] [--max-seconds S] [--batch-ms B]
 *
 * Prints one line of key=value pairs: probes ok fail seconds rate p50_ms p99_ms cpu_s maxrss_kb.
 * TLS uses one SSL_CTX (and so one X509_STORE) for every probe, with chain and host-name
 * verification, as a careful prober would. Bounded by --count and --max-seconds.
 * An honest floor does only what a prober must: sockets created non-blocking, no socket options,
 * one edge-triggered epoll registration per socket (read and write at once, so no re-arming and
 * no delete: close removes it), O(1) slot and deadline bookkeeping (every probe has the same
 * timeout, so deadlines fall in start order: a FIFO), and one clock read per loop turn (plus one per probe for its latency).
 * tls_resume: implicit TLS resuming one session per target address; a TLS 1.3 ticket is used once,
 * so after each handshake it sends close_notify and reads until a new ticket or the server's close.
 * --batch-ms B starts every probe due within the next B ms at once, as tierwatchd's scheduler does
 * (10 ms): paced at the same rate, the floor then pays the same number of wake-ups.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { M_TCP, M_SMTP, M_IMAP, M_POP3, M_TLS, M_DIALOGUE_TLS };

struct step {
    const char *send;   /* sent before waiting, NULL for none */
    const char *expect; /* the line prefix that completes this step */
};

/* The dialogues are data: tierwatch's probes do the same exchanges. */
static const struct step smtp_steps[] = {{NULL, "220 "}, {"EHLO bench.client\r\n", "250 "}, {"QUIT\r\n", "221"}};
static const struct step imap_steps[] = {{NULL, "* OK"}, {"a1 CAPABILITY\r\n", "a1 OK"}, {"a2 LOGOUT\r\n", "a2 OK"}};
static const struct step pop3_steps[] = {{NULL, "+OK"}, {"CAPA\r\n", "."}, {"QUIT\r\n", "+OK"}};
/* STARTTLS: the handshake starts once step tls_after completes; the dialogue then goes on inside TLS. */
static const struct step smtp_starttls_steps[] = {{NULL, "220 "},          {"EHLO bench.client\r\n", "250 "},
                                                  {"STARTTLS\r\n", "220"}, {"EHLO bench.client\r\n", "250 "},
                                                  {"QUIT\r\n", "221"}};
static const struct step https_steps[] = {
    {"GET / HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: bare_client\r\nConnection: close\r\n\r\n", "HTTP/1.1 200"}};

enum phase { P_FREE, P_CONNECT, P_TLS, P_DIALOGUE, P_TICKET };

struct conn {
    int fd;
    unsigned long generation; /* bumped when the slot is freed: stale deadline entries are skipped */
    enum phase phase;
    int step;
    SSL *ssl;
    unsigned target;  /* index of the address: the session slot with tls_resume */
    int got_session;
    double started;
    size_t len;
    char buf[1024];
};

static enum mode mode;
static const struct step *steps;
static int nsteps;
static int tls_after = -1; /* -1: no TLS; 0: implicit TLS; k: after step k-1 (STARTTLS) */
static SSL_CTX *ctx;
static SSL_SESSION **sessions; /* tls_resume: the session to offer, per target address */
static long resumed;
static const char *sni = "bench.test";
static double *latencies;
static long done_ok, done_fail;
static int in_flight;
static int epfd;
static double loop_now; /* the one clock read of the current loop turn */
static long *free_slots; /* stack of free slot indices */
static long free_count;
static struct conn *conns;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void finish(struct conn *c, int ok) {
    if (ok) {
        /* Its own clock read (vDSO, no system call): the turn's would miss this turn's crypto work. */
        latencies[done_ok++] = now() - c->started;
    } else {
        done_fail++;
    }
    if (c->ssl) {
        /* one close_notify, no wait: what probers do */
        if (ok && !(SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN)) SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    close(c->fd); /* also leaves the epoll set: the descriptor was never duplicated */
    c->fd = -1;
    c->phase = P_FREE;
    c->generation++;
    free_slots[free_count++] = c - conns;
    in_flight--;
}


static int send_all(struct conn *c, const char *s) {
    size_t n = strlen(s);
    /* Commands are a few bytes on a fresh socket: the send buffer always takes them whole. */
    if (c->ssl) return SSL_write(c->ssl, s, (int)n) == (int)n ? 0 : -1;
    return send(c->fd, s, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static void start_tls(struct conn *c) {
    c->phase = P_TLS;
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, sni);
    SSL_set1_host(c->ssl, sni);
    if (sessions) {
        SSL_set_app_data(c->ssl, c);
        c->got_session = 0;
        SSL_SESSION *offer = sessions[c->target];
        if (offer && SSL_SESSION_is_resumable(offer)) SSL_set_session(c->ssl, offer);
    }
}

/* tls_resume: the connection's new session (TLS 1.2 handshake end, TLS 1.3 ticket) replaces the target's. */
static int on_new_session(SSL *ssl, SSL_SESSION *session) {
    struct conn *c = SSL_get_app_data(ssl);
    if (!c) return 0;
    SSL_SESSION_free(sessions[c->target]);
    sessions[c->target] = session;
    c->got_session = 1;
    return 1;
}

/* tls_resume after the handshake: close_notify, then read until a ticket or the server's close. */
static int drive_ticket(struct conn *c) {
    int r = SSL_shutdown(c->ssl);
    if (r == 0) r = SSL_shutdown(c->ssl); /* close_notify sent: now read towards the server's */
    if (r == 1 || c->got_session) return 1;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) return 0;
    ERR_clear_error();
    return 1; /* the probe itself succeeded; the server closed without a ticket */
}

/* Enters the line dialogue at the current step: sends what that step sends first, if anything. */
static int enter_dialogue(struct conn *c) {
    c->phase = P_DIALOGUE;
    if (c->step < nsteps && steps[c->step].send && send_all(c, steps[c->step].send) < 0) return -1;
    return 0;
}

/* Consumes complete lines; advances the dialogue; returns 1 done, 0 more, -1 failure. */
static int on_readable(struct conn *c, uint32_t events) {
    /* Plain TCP reads only on an EPOLLIN edge and stops at a short read: the receive queue was
     * empty then, and whatever arrives later raises a new edge. So no read ends in EAGAIN. */
    if (!c->ssl && !(events & EPOLLIN)) return 0;
    for (;;) {
        ssize_t n;
        size_t room = sizeof c->buf - c->len;
        if (c->ssl) {
            int r = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - c->len));
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
                ERR_clear_error();
                return -1;
            }
            n = r;
        } else {
            n = recv(c->fd, c->buf + c->len, room, 0);
            if (n == 0) return -1;
            if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        }
        int drained = !c->ssl && (size_t)n < room;
        c->len += (size_t)n;
        char *line = c->buf;
        char *nl;
        while ((nl = memchr(line, '\n', (size_t)(c->buf + c->len - line))) != NULL) {
            const char *expect = steps[c->step].expect;
            if (strncmp(line, expect, strlen(expect)) == 0) {
                if (++c->step == nsteps) return 1;
                if (c->step == tls_after) {
                    if (nl + 1 != c->buf + c->len) return -1; /* bytes after the go-ahead: refuse */
                    c->len = 0;
                    start_tls(c);
                    return 2;
                }
                if (send_all(c, steps[c->step].send) < 0) return -1;
            }
            line = nl + 1;
        }
        size_t rest = (size_t)(c->buf + c->len - line);
        if (rest == sizeof c->buf) return -1; /* an oversized line: bounded reads */
        memmove(c->buf, line, rest);
        c->len = rest;
        if (drained) return 0;
    }
}

/* Drives a non-blocking handshake; 1 done, 0 waiting, -1 failure. */
static int drive_tls(struct conn *c) {
    int r = SSL_connect(c->ssl);
    if (r == 1) return 1;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    ERR_clear_error();
    return -1;
}

static void on_event(struct conn *c, uint32_t events) {
    if (c->phase == P_CONNECT) {
        /* A failed connect reports EPOLLERR (and HUP); the reason does not matter to the floor. */
        if (events & (EPOLLERR | EPOLLHUP)) return finish(c, 0);
        if (!(events & EPOLLOUT)) return;
        if (mode == M_TCP) return finish(c, 1);
        if (tls_after == 0) {
            start_tls(c);
        } else if (enter_dialogue(c) < 0) {
            return finish(c, 0);
        }
        /* Edge-triggered: the banner may have come with this event, so read on until EAGAIN. */
    }
    if (c->phase == P_TICKET) {
        if (drive_ticket(c)) finish(c, 1);
        return;
    }
    if (c->phase == P_TLS) {
        int r = drive_tls(c);
        if (r == 0) return;
        if (r == 1 && sessions && SSL_session_reused(c->ssl)) resumed++;
        if (r == 1 && nsteps == 0 && sessions && !c->got_session && SSL_version(c->ssl) >= TLS1_3_VERSION) {
            c->phase = P_TICKET;
            if (drive_ticket(c)) finish(c, 1);
            return;
        }
        if (r < 0 || nsteps == 0) return finish(c, r == 1);
        if (enter_dialogue(c) < 0) return finish(c, 0);
        /* Edge-triggered: the first line may already be in TLS's buffer or the socket's. */
    }
    int r = on_readable(c, events);
    if (r == 2) {
        r = drive_tls(c);
        if (r == 0) return;
        if (r < 0) return finish(c, 0);
        if (enter_dialogue(c) < 0) return finish(c, 0);
        r = on_readable(c, events);
    }
    if (r != 0) finish(c, r == 1);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void usage(const char *why) {
    fprintf(stderr,
            "bare_client: %s\nusage: bare_client --mode tcp|smtp|imap|pop3|tls|tls_resume|imaps|smtp_starttls|https --targets FIRST_127_ADDR,COUNT,PORT "
            "--count N [--concurrency C] [--rate R] [--ca FILE] [--sni NAME] [--timeout-ms T] [--max-seconds S] "
            "[--batch-ms B]\n",
            why);
    exit(2);
}

int main(int argc, char **argv) {
    const char *mode_name = NULL, *targets = NULL, *ca = NULL;
    long count = 0, concurrency = 64, timeout_ms = 5000;
    double rate = 0, max_seconds = 300, batch_s = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage("missing value");
        const char *v = argv[++i];
        if (!strcmp(a, "--mode")) mode_name = v;
        else if (!strcmp(a, "--targets")) targets = v;
        else if (!strcmp(a, "--count")) count = atol(v);
        else if (!strcmp(a, "--concurrency")) concurrency = atol(v);
        else if (!strcmp(a, "--rate")) rate = atof(v);
        else if (!strcmp(a, "--ca")) ca = v;
        else if (!strcmp(a, "--sni")) sni = v;
        else if (!strcmp(a, "--timeout-ms")) timeout_ms = atol(v);
        else if (!strcmp(a, "--max-seconds")) max_seconds = atof(v);
        else if (!strcmp(a, "--batch-ms")) batch_s = atof(v) / 1000.0;
        else usage("unknown argument");
    }
    if (!mode_name || !targets || count <= 0 || concurrency <= 0) usage("--mode, --targets and --count are required");
    if (!strcmp(mode_name, "tcp")) mode = M_TCP;
    else if (!strcmp(mode_name, "smtp")) mode = M_SMTP, steps = smtp_steps, nsteps = 3;
    else if (!strcmp(mode_name, "imap")) mode = M_IMAP, steps = imap_steps, nsteps = 3;
    else if (!strcmp(mode_name, "pop3")) mode = M_POP3, steps = pop3_steps, nsteps = 3;
    else if (!strcmp(mode_name, "tls") || !strcmp(mode_name, "tls_resume")) mode = M_TLS, tls_after = 0;
    else if (!strcmp(mode_name, "imaps")) mode = M_DIALOGUE_TLS, steps = imap_steps, nsteps = 3, tls_after = 0;
    else if (!strcmp(mode_name, "smtp_starttls"))
        mode = M_DIALOGUE_TLS, steps = smtp_starttls_steps, nsteps = 5, tls_after = 3;
    else if (!strcmp(mode_name, "https")) mode = M_DIALOGUE_TLS, steps = https_steps, nsteps = 1, tls_after = 0;
    else usage("unknown mode");

    char first[64];
    unsigned naddr = 0, port = 0;
    if (sscanf(targets, "%63[0-9.],%u,%u", first, &naddr, &port) != 3 || naddr == 0) usage("bad --targets");
    struct in_addr base;
    if (inet_pton(AF_INET, first, &base) != 1) usage("bad address");
    uint32_t base_h = ntohl(base.s_addr);
    /* Loopback only, ever. */
    if ((base_h >> 24) != 127 || ((base_h + naddr - 1) >> 24) != 127) usage("targets must be inside 127/8");

    if (tls_after >= 0) {
        ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        /* Whole socket buffers per read, not a header and a body per record: fewer system calls. */
        SSL_CTX_set_read_ahead(ctx, 1);
        if (ca ? SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 : SSL_CTX_set_default_verify_paths(ctx) != 1)
            usage("cannot load CA");
        if (!strcmp(mode_name, "tls_resume")) {
            /* Sessions kept per target by on_new_session, none in the context's own cache. */
            sessions = calloc(naddr, sizeof *sessions);
            SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
            SSL_CTX_sess_set_new_cb(ctx, on_new_session);
        } else {
            /* No session cache: every probe is a full handshake, the figure the issue asks for. */
            SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
            SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        }
    }
    signal(SIGPIPE, SIG_IGN);

    latencies = calloc((size_t)count, sizeof *latencies);
    conns = calloc((size_t)concurrency, sizeof *conns);
    free_slots = calloc((size_t)concurrency, sizeof *free_slots);
    for (long i = concurrency; i-- > 0;) {
        conns[i].fd = -1;
        free_slots[free_count++] = i;
    }
    /* Deadline FIFO: (slot, generation) in start order; at most `concurrency` entries are live, but a
     * finished probe's entry stays until it reaches the head, so size it for every probe started. */
    struct pending {
        long slot;
        unsigned long generation;
    } *deadlines = calloc((size_t)count, sizeof *deadlines);
    long deadline_head = 0, deadline_tail = 0;
    const double timeout_s = (double)timeout_ms / 1000.0;
    epfd = epoll_create1(0);
    struct epoll_event *events = calloc((size_t)concurrency, sizeof *events);

    double t0 = now(), deadline = t0 + max_seconds;
    loop_now = t0;
    long started = 0;
    while ((started < count || in_flight > 0) && loop_now < deadline) {
        const double t = loop_now;
        /* Start what the rate and concurrency allow. */
        while (started < count && in_flight < concurrency && (rate <= 0 || t0 + (double)started / rate <= t + batch_s)) {
            struct conn *c = &conns[free_slots[--free_count]];
            struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
            sa.sin_addr.s_addr = htonl(base_h + (uint32_t)(started % naddr));
            c->target = (unsigned)(started % naddr);
            started++;
            c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
            if (c->fd < 0) {
                free_count++;
                done_fail++;
                continue;
            }
            c->started = t;
            c->step = 0;
            c->len = 0;
            c->phase = P_CONNECT;
            in_flight++;
            deadlines[deadline_tail++] = (struct pending){c - conns, c->generation};
            if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
                finish(c, 0);
                continue;
            }
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
            epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
        }
        /* Drop the heads that already finished; the first live one bounds the wait. */
        while (deadline_head < deadline_tail &&
               conns[deadlines[deadline_head].slot].generation != deadlines[deadline_head].generation)
            deadline_head++;
        double wake = deadline;
        if (deadline_head < deadline_tail) wake = conns[deadlines[deadline_head].slot].started + timeout_s;
        if (rate > 0 && started < count && in_flight < concurrency && t0 + (double)started / rate < wake)
            wake = t0 + (double)started / rate;
        if (rate <= 0 && started < count && in_flight < concurrency) wake = t;
        int wait_ms = wake <= t ? 0 : (int)((wake - t) * 1000) + 1;
        int n = epoll_wait(epfd, events, (int)concurrency, wait_ms);
        loop_now = now();
        for (int i = 0; i < n; i++) on_event(events[i].data.ptr, events[i].events);
        /* Probe deadlines, in start order. */
        while (deadline_head < deadline_tail) {
            struct pending *head = &deadlines[deadline_head];
            struct conn *c = &conns[head->slot];
            if (c->generation == head->generation) {
                if (c->started + timeout_s > loop_now) break;
                finish(c, 0);
            }
            deadline_head++;
        }
    }
    double seconds = loop_now - t0;
    for (long i = 0; i < concurrency; i++) {
        if (conns[i].phase != P_FREE) finish(&conns[i], 0);
    }
    qsort(latencies, (size_t)done_ok, sizeof *latencies, cmp_double);
    double p50 = done_ok ? latencies[(size_t)((double)done_ok * 0.50)] : 0;
    double p99 = done_ok ? latencies[(size_t)((double)(done_ok - 1) * 0.99)] : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
    /* VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so it would show the parent's peak. */
    long hwm_kb = 0;
    FILE *status = fopen("/proc/self/status", "r");
    if (status) {
        char line[256];
        while (fgets(line, sizeof line, status))
            if (sscanf(line, "VmHWM: %ld", &hwm_kb) == 1) break;
        fclose(status);
    }
    printf("probes=%ld ok=%ld fail=%ld seconds=%.3f rate=%.1f p50_ms=%.3f p99_ms=%.3f cpu_s=%.3f maxrss_kb=%ld "
           "resumed=%ld\n",
           done_ok + done_fail, done_ok, done_fail, seconds, (double)(done_ok + done_fail) / seconds, p50 * 1000,
           p99 * 1000, cpu, hwm_kb, resumed);
    return done_fail == 0 ? 0 : 1;
}
