/* Flood sender for bench/flood.py: blasts numbered UDP datagrams at a loopback address.
 *
 * usage: sender HOST PORT COUNT RATE SIZE
 *   HOST   numeric IPv4 or IPv6 address (the bench only ever passes loopback)
 *   COUNT  datagrams to send
 *   RATE   datagrams per second, 0 for as fast as the kernel takes them
 *   SIZE   payload bytes (at least 8); the first 8 are the datagram's number, big-endian
 *
 * Pacing sends in small batches, one every half millisecond, and busy-waits on
 * CLOCK_MONOTONIC for the last stretch before each batch is due, so the rate holds at
 * 100k/s where sleeping alone would overshoot. Longer gaps are slept through first (less
 * the sleep's usual overshoot), so the sender does not take a whole core of a 2-core
 * machine away from the receiver it measures. When the socket's send buffer is full
 * (ENOBUFS/EAGAIN) the same datagram is tried again: every numbered datagram leaves once.
 *
 * Prints one line: `sent N start T0 end T1` with CLOCK_MONOTONIC seconds, the clock
 * Python's time.monotonic() reads, so the bench can time a run from the first send.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SPIN 150e-6 /* seconds to busy-wait before a batch is due, rather than sleep */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT COUNT RATE SIZE\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    long count = atol(argv[3]);
    double rate = atof(argv[4]);
    long size = atol(argv[5]);
    if (size < 8 || size > 65507 || count < 0 || rate < 0 || port <= 0 || port > 65535) {
        fprintf(stderr, "sender: bad arguments\n");
        return 2;
    }

    struct sockaddr_storage to;
    socklen_t to_len;
    memset(&to, 0, sizeof to);
    int family;
    if (strchr(host, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&to;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
            fprintf(stderr, "sender: bad address %s\n", host);
            return 2;
        }
        family = AF_INET6;
        to_len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&to;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
            fprintf(stderr, "sender: bad address %s\n", host);
            return 2;
        }
        family = AF_INET;
        to_len = sizeof *a;
    }
    int sock = socket(family, SOCK_DGRAM, 0);
    if (sock < 0) {
        perror("sender: socket");
        return 1;
    }

    unsigned char *payload = calloc(1, (size_t)size);
    if (!payload) return 1;
    memset(payload + 8, 'x', (size_t)size - 8);

    /* A batch every half millisecond: smooth at the receiver's time scale, and few enough
     * wake-ups that sleeping between them is cheap. */
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
                /* busy-wait the last stretch: a sleep overshoots by tens of microseconds */
            }
        }
        for (long i = 0; i < batch && sent < count; i++) {
            uint64_t number = (uint64_t)sent;
            for (int b = 7; b >= 0; b--) {
                payload[b] = (unsigned char)(number & 0xff);
                number >>= 8;
            }
            ssize_t n = sendto(sock, payload, (size_t)size, 0, (struct sockaddr *)&to, to_len);
            if (n < 0) {
                if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
                    i--;
                    continue;
                }
                perror("sender: sendto");
                return 1;
            }
            sent++;
        }
    }
    double end = now();
    printf("sent %ld start %.9f end %.9f\n", sent, start, end);
    close(sock);
    free(payload);
    return 0;
}
