/*
 * locktest: POSIX byte-range locks (fcntl) from the command line, for the lock tests in the
 * nfs-vm guest (see tests/vm/lock-guest.sh).
 *
 *   locktest try     FILE START LEN r|w          F_SETLK: exit 0 locked, 1 conflict, 2 error
 *   locktest wait    FILE START LEN r|w          F_SETLKW, then exit 0 (the lock goes with us)
 *   locktest hold    FILE START LEN r|w READY UNTIL
 *                                                F_SETLKW, create READY, wait until the file
 *                                                UNTIL exists, unlock, exit 0
 *   locktest counter FILE ITERATIONS             ITERATIONS times: lock the whole file,
 *                                                read the 8-byte counter at offset 0, add 1,
 *                                                write it back, unlock; what SQLite does to a
 *                                                page under its write lock
 *   locktest read-counter FILE                   prints the counter
 *
 * LEN 0 means to the end of the file. Output: one line saying what happened.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	return fcntl(fd, cmd, &fl);
}

static int open_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT, 0666);
	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return fd;
}

static short type_of(const char *t)
{
	return t[0] == 'r' ? F_RDLCK : F_WRLCK;
}

static int wait_for(const char *path)
{
	struct stat st;
	while (stat(path, &st) != 0) {
		if (errno != ENOENT) {
			fprintf(stderr, "stat %s: %s\n", path, strerror(errno));
			return 2;
		}
		usleep(100 * 1000);
	}
	return 0;
}

static int counter(const char *path, long iterations)
{
	int fd = open_file(path);
	for (long i = 0; i < iterations; i++) {
		uint64_t v = 0;
		if (lock(fd, F_SETLKW, F_WRLCK, 0, 0) != 0) {
			fprintf(stderr, "lock: %s\n", strerror(errno));
			return 2;
		}
		ssize_t n = pread(fd, &v, sizeof v, 0);
		if (n != 0 && n != (ssize_t)sizeof v) {
			fprintf(stderr, "pread: %zd %s\n", n, strerror(errno));
			return 2;
		}
		v++;
		if (pwrite(fd, &v, sizeof v, 0) != (ssize_t)sizeof v) {
			fprintf(stderr, "pwrite: %s\n", strerror(errno));
			return 2;
		}
		if (lock(fd, F_SETLK, F_UNLCK, 0, 0) != 0) {
			fprintf(stderr, "unlock: %s\n", strerror(errno));
			return 2;
		}
	}
	close(fd);
	printf("counted %ld\n", iterations);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "counter") == 0)
		return counter(argv[2], atol(argv[3] ? argv[3] : "1"));
	if (argc == 3 && strcmp(argv[1], "read-counter") == 0) {
		uint64_t v = 0;
		int fd = open_file(argv[2]);
		if (pread(fd, &v, sizeof v, 0) < 0)
			return 2;
		printf("%llu\n", (unsigned long long)v);
		return 0;
	}
	if (argc < 6) {
		fprintf(stderr, "usage: locktest try|wait|hold FILE START LEN r|w [READY UNTIL]\n");
		return 2;
	}
	const char *cmd = argv[1];
	int fd = open_file(argv[2]);
	off_t start = atoll(argv[3]), len = atoll(argv[4]);
	short type = type_of(argv[5]);
	if (strcmp(cmd, "try") == 0) {
		if (lock(fd, F_SETLK, type, start, len) == 0) {
			printf("locked\n");
			return 0;
		}
		if (errno == EAGAIN || errno == EACCES) {
			printf("conflict\n");
			return 1;
		}
		fprintf(stderr, "F_SETLK: %s\n", strerror(errno));
		return 2;
	}
	if (strcmp(cmd, "wait") == 0 || strcmp(cmd, "hold") == 0) {
		if (lock(fd, F_SETLKW, type, start, len) != 0) {
			fprintf(stderr, "F_SETLKW: %s\n", strerror(errno));
			return 2;
		}
		printf("locked\n");
		fflush(stdout);
		if (strcmp(cmd, "wait") == 0)
			return 0;
		if (argc < 8) {
			fprintf(stderr, "hold needs READY and UNTIL\n");
			return 2;
		}
		close(open_file(argv[6]));
		if (wait_for(argv[7]) != 0)
			return 2;
		if (lock(fd, F_SETLK, F_UNLCK, start, len) != 0) {
			fprintf(stderr, "unlock: %s\n", strerror(errno));
			return 2;
		}
		printf("released\n");
		return 0;
	}
	fprintf(stderr, "unknown command %s\n", cmd);
	return 2;
}
