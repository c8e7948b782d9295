/* The two ends of a relay, for bench/relay.py: an echo server and a client that counts echoes.
 *
 * usage: relay_peer echo
 *          Binds 127.0.0.1 on a free port and prints `port N`; echoes every datagram to
 *          its sender (recvmmsg/sendmmsg, 64 a call, so it is never the bottleneck). On
 *          SIGTERM prints `echoed N first T0 last T1` (CLOCK_MONOTONIC seconds of the first
 *          and last datagram it received) and ends.
 *        relay_peer client HOST PORT COUNT RATE SIZE
 *          Sends COUNT numbered datagrams of SIZE bytes to HOST:PORT at RATE a second (0: as
 *          fast as the kernel takes them; paced in half-millisecond batches as sender.c
 *          does) from one socket, and counts what comes back to it on a second thread,
 *          until nothing has come for QUIET seconds after the last send. Prints
 *          `sent N received M start T0 end T1 last T2`.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SPIN 150e-6
#define BATCH 64
#define QUIET 1.0
#define RCVBUF (64 * 1024 * 1024)
#define SO_RCVBUFFORCE_ 33

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void big_buffers(int sock) {
    int size = RCVBUF;
    if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE_, &size, sizeof size) < 0)
        setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    size = 4 * 1024 * 1024;
    setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

static volatile sig_atomic_t stopping = 0;
static void on_term(int number) { (void)number; stopping = 1; }

static int echo(void) {
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in here = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &here.sin_addr);
    big_buffers(sock);
    if (sock < 0 || bind(sock, (struct sockaddr *)&here, sizeof here) < 0) {
        perror("relay_peer: bind");
        return 1;
    }
    socklen_t len = sizeof here;
    getsockname(sock, (struct sockaddr *)&here, &len);
    printf("port %d\n", ntohs(here.sin_port));
    fflush(stdout);
    struct sigaction action = {.sa_handler = on_term};
    sigaction(SIGTERM, &action, NULL); /* no SA_RESTART: recvmmsg returns EINTR */
    static char buffers[BATCH][65536];
    struct sockaddr_in6 names[BATCH];
    struct iovec iovecs[BATCH];
    struct mmsghdr messages[BATCH];
    long echoed = 0;
    double first = 0, last = 0;
    while (!stopping) {
        for (int i = 0; i < BATCH; i++) {
            iovecs[i] = (struct iovec){buffers[i], sizeof buffers[i]};
            messages[i].msg_hdr = (struct msghdr){.msg_name = &names[i], .msg_namelen = sizeof names[i],
                                                  .msg_iov = &iovecs[i], .msg_iovlen = 1};
        }
        int got = recvmmsg(sock, messages, BATCH, MSG_WAITFORONE, NULL);
        if (got <= 0) continue;
        last = now();
        if (!echoed) first = last;
        echoed += got;
        for (int i = 0; i < got; i++) iovecs[i].iov_len = messages[i].msg_len;
        int done = 0;
        while (done < got) {
            int put = sendmmsg(sock, messages + done, (unsigned)(got - done), 0);
            if (put < 0) {
                if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS) continue;
                break; /* a client gone: its echo is lost, the rest go on */
            }
            done += put;
        }
    }
    printf("echoed %ld first %.9f last %.9f\n", echoed, first, last);
    return 0;
}

struct counter {
    int sock;
    long received;
    double last;
    volatile int sending_done;
    volatile double done_at;
};

static void *count_replies(void *argument) {
    struct counter *counter = argument;
    struct timeval tick = {0, 100000};
    setsockopt(counter->sock, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
    static char buffers[BATCH][2048];
    struct iovec iovecs[BATCH];
    struct mmsghdr messages[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iovecs[i] = (struct iovec){buffers[i], sizeof buffers[i]};
            messages[i].msg_hdr = (struct msghdr){.msg_iov = &iovecs[i], .msg_iovlen = 1};
        }
        int got = recvmmsg(counter->sock, messages, BATCH, MSG_WAITFORONE, NULL);
        double t = now();
        if (got > 0) {
            counter->received += got;
            counter->last = t;
        }
        if (counter->sending_done) {
            double quiet_since = counter->last > counter->done_at ? counter->last : counter->done_at;
            if (t - quiet_since >= QUIET) return NULL;
        }
    }
}

static int client(char **argv) {
    const char *host = argv[0];
    int port = atoi(argv[1]);
    long count = atol(argv[2]);
    double rate = atof(argv[3]);
    long size = atol(argv[4]);
    if (size < 8 || size > 2048 || count < 0 || rate < 0 || port <= 0 || port > 65535) {
        fprintf(stderr, "relay_peer: bad arguments\n");
        return 2;
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &to.sin_addr) != 1) {
        fprintf(stderr, "relay_peer: bad address %s\n", host);
        return 2;
    }
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    big_buffers(sock);
    struct counter counter = {.sock = sock};
    pthread_t thread;
    pthread_create(&thread, NULL, count_replies, &counter);
    unsigned char *payload = calloc(1, (size_t)size);
    memset(payload + 8, 'x', (size_t)size - 8);
    long batch = rate > 0 ? (long)(rate / 2000.0) : count;
    if (batch < 1) batch = 1;
    if (batch > 64) batch = 64;
    double start = now();
    long sent = 0;
    while (sent < count) {
        if (rate > 0) {
            double due = start + (double)sent / rate;
            double wait = due - now();
            if (wait > SPIN) {
                double nap = wait - SPIN;
                struct timespec ts = {(time_t)nap, (long)((nap - (double)(time_t)nap) * 1e9)};
                nanosleep(&ts, NULL);
            }
            while (now() < due) {
            }
        }
        for (long i = 0; i < batch && sent < count; i++) {
            uint64_t number = (uint64_t)sent;
            for (int b = 7; b >= 0; b--) {
                payload[b] = (unsigned char)(number & 0xff);
                number >>= 8;
            }
            if (sendto(sock, payload, (size_t)size, 0, (struct sockaddr *)&to, sizeof to) < 0) {
                if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR || errno == ECONNREFUSED) {
                    i--;
                    continue;
                }
                perror("relay_peer: sendto");
                return 1;
            }
            sent++;
        }
    }
    double end = now();
    counter.done_at = end;
    counter.sending_done = 1;
    pthread_join(thread, NULL);
    printf("sent %ld received %ld start %.9f end %.9f last %.9f\n", sent, counter.received, start, end,
           counter.last);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "echo")) return echo();
    if (argc == 7 && !strcmp(argv[1], "client")) return client(argv + 2);
    fprintf(stderr, "usage: relay_peer echo | relay_peer client HOST PORT COUNT RATE SIZE\n");
    return 2;
}
