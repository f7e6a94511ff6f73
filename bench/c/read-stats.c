/*
 * The floor for sampling cost: readdir() a procfs root and read every <pid>/stat once per pass,
 * nothing else (no parsing beyond what the kernel hands back). Loops `passes` times after one
 * warm-up pass and prints one line: "<processes> <median ns per pass> <min ns per pass>".
 *
 * usage: read-stats <root> <passes>
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One pass: returns the number of stat files read; `sink` keeps the reads from being optimised away. */
static int one_pass(const char *root, unsigned long *sink) {
  char path[4096];
  char buf[4096];
  DIR *dir = opendir(root);
  if (!dir) return -1;
  int count = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "%s/%s/stat", root, e->d_name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n > 0) {
      *sink += (unsigned long)n + (unsigned char)buf[n / 2];
      count++;
    }
  }
  closedir(dir);
  return count;
}

static int cmp_ll(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <procfs root> <passes>\n", argv[0]);
    return 2;
  }
  const char *root = argv[1];
  int passes = atoi(argv[2]);
  if (passes < 1) passes = 1;
  unsigned long sink = 0;
  int count = one_pass(root, &sink); /* warm-up: dentries and inodes into the cache */
  if (count < 0) {
    perror(root);
    return 1;
  }
  long long *times = calloc((size_t)passes, sizeof *times);
  if (!times) return 1;
  for (int i = 0; i < passes; i++) {
    long long t0 = now_ns();
    count = one_pass(root, &sink);
    times[i] = now_ns() - t0;
  }
  qsort(times, (size_t)passes, sizeof *times, cmp_ll);
  printf("%d %lld %lld\n", count, times[passes / 2], times[0]);
  fprintf(stderr, "sink %lu\n", sink);
  free(times);
  return 0;
}
