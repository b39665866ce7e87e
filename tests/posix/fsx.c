/*
 * fsx: a random-operation file exerciser with an in-memory model.
 *
 *   fsx [-S seed] [-N ops] [-l maxlen] [-o maxop] [-c verify_every]
 *       [-r reopen_every] [-D [-d drop_every]] [-M] [-q] FILE
 *
 * One file, random operations: read, write, mmap read, mmap write, truncate
 * down and up, hole writes (far past EOF), appends through an O_APPEND
 * descriptor at a random seek position, close/reopen and (with -D) fsync +
 * close + `echo 3 > /proc/sys/vm/drop_caches` + reopen, so that later reads
 * reach the server. Offsets are biased towards 64 KiB chunk boundaries and
 * sizes go up to -o (default 256 KiB). Every read is compared in full with the
 * model; the whole file (content and size) is verified every -c operations
 * and at the end.
 *
 * Prints "seed=S" first (re-run with -S S to reproduce), then
 * "N passed, N failed" (each passed check is one verified read, size check or
 * full-file verification). On a mismatch it prints where, the expected and
 * actual bytes around it and the last 20 operations, and exits 1.
 *
 * Build: gcc -static -O2 -Wall -o fsx fsx.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

enum op { OP_READ, OP_WRITE, OP_MAPREAD, OP_MAPWRITE, OP_TRUNC, OP_HOLE, OP_APPEND, OP_REOPEN, OP_DROP, OP_VERIFY, NOPS };
static const char *opname[NOPS] = {"read", "write", "mapread", "mapwrite", "truncate", "holewrite", "append", "reopen", "dropcaches", "verify"};

static uint64_t rng_state;
static uint64_t rnd(void) /* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
static uint64_t rndn(uint64_t n) { return n ? rnd() % n : 0; }

static const char *path;
static int fd = -1, afd = -1;
static unsigned char *good, *temp;
static uint64_t fsize;          /* model size */
static uint64_t maxlen = 4 << 20; /* largest file size */
static uint64_t maxop = 256 << 10;
static long opno;
static long passed, failed;
static int quiet, use_mmap = 1, drop = 0;
static long verify_every = 100, reopen_every = 50, drop_every = 100;
static long counts[NOPS];
static long pagesize;

struct logent {
	long no;
	int op;
	uint64_t off, len, size_before, size_after;
};
#define LOGN 20
static struct logent oplog[LOGN];
static int logpos;

static void logop(int op, uint64_t off, uint64_t len, uint64_t before)
{
	struct logent *e = &oplog[logpos++ % LOGN];
	e->no = opno;
	e->op = op;
	e->off = off;
	e->len = len;
	e->size_before = before;
	e->size_after = fsize;
}

static void dump_log(void)
{
	printf("last operations (oldest first):\n");
	int n = logpos < LOGN ? logpos : LOGN;
	for (int i = 0; i < n; i++) {
		struct logent *e = &oplog[(logpos - n + i) % LOGN];
		printf("  op %6ld %-10s off 0x%08" PRIx64 " len 0x%06" PRIx64 " (%" PRIu64 " .. %" PRIu64 ")  size 0x%" PRIx64
		       " -> 0x%" PRIx64 "\n",
		       e->no, opname[e->op], e->off, e->len, e->off, e->off + e->len, e->size_before, e->size_after);
	}
}

static void finish(int code) __attribute__((noreturn));
static void finish(int code)
{
	printf("fsx: %ld ops:", opno);
	for (int i = 0; i < NOPS; i++)
		printf(" %s %ld", opname[i], counts[i]);
	printf("\n");
	printf("%ld passed, %ld failed\n", passed, failed);
	fflush(stdout);
	exit(code);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("FAIL op %ld: ", opno);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	dump_log();
	failed++;
	finish(1);
}

static void syserr(const char *what)
{
	fail("%s: %s", what, strerror(errno));
}

/* Compare buf (read from file at off, len bytes) with the model. */
static void compare(const unsigned char *buf, uint64_t off, uint64_t len, const char *what)
{
	if (memcmp(buf, good + off, len) == 0) {
		passed++;
		return;
	}
	uint64_t i = 0;
	while (i < len && buf[i] == good[off + i])
		i++;
	uint64_t bad = 0, last = i;
	for (uint64_t j = i; j < len; j++)
		if (buf[j] != good[off + j]) {
			bad++;
			last = j;
		}
	printf("FAIL op %ld: %s mismatch: %" PRIu64 " bad bytes, first at file offset %" PRIu64 " (0x%" PRIx64
	       "), last at %" PRIu64 "; read was off %" PRIu64 " len %" PRIu64 ", model size %" PRIu64 "\n",
	       opno, what, bad, off + i, off + i, off + last, off, len, fsize);
	printf("  offset      expected  got\n");
	for (uint64_t j = i; j < len && j < i + 16; j++)
		printf("  0x%08" PRIx64 "  0x%02x      0x%02x%s\n", off + j, good[off + j], buf[j], good[off + j] != buf[j] ? "  <--" : "");
	dump_log();
	failed++;
	finish(1);
}

static void check_size(const char *what)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		syserr("fstat");
	if ((uint64_t)st.st_size != fsize)
		fail("%s: file size %lld, model size %" PRIu64, what, (long long)st.st_size, fsize);
	passed++;
}

static void full_read(uint64_t off, uint64_t len, unsigned char *buf)
{
	uint64_t done = 0;
	while (done < len) {
		ssize_t r = pread(fd, buf + done, len - done, off + done);
		if (r < 0)
			syserr("pread");
		if (r == 0)
			fail("short read: EOF at %" PRIu64 " reading %" PRIu64 " bytes at %" PRIu64 " (model size %" PRIu64 ")",
			     off + done, len, off, fsize);
		done += r;
	}
}

static void full_write(int wfd, uint64_t off, uint64_t len, const unsigned char *buf)
{
	uint64_t done = 0;
	while (done < len) {
		ssize_t r = pwrite(wfd, buf + done, len - done, off + done);
		if (r < 0)
			syserr("pwrite");
		if (r == 0)
			fail("pwrite wrote nothing");
		done += r;
	}
}

static void do_open(void)
{
	fd = open(path, O_RDWR);
	if (fd < 0)
		syserr("open");
	afd = open(path, O_WRONLY | O_APPEND);
	if (afd < 0)
		syserr("open O_APPEND");
}

static void do_close(void)
{
	if (close(fd) < 0)
		syserr("close");
	if (close(afd) < 0)
		syserr("close O_APPEND");
	fd = afd = -1;
}

static void verify_all(const char *why)
{
	check_size(why);
	if (fsize)
		full_read(0, fsize, temp);
	compare(temp, 0, fsize, why);
	/* nothing past EOF */
	unsigned char c;
	ssize_t r = pread(fd, &c, 1, fsize);
	if (r != 0)
		fail("%s: read at EOF returned %zd", why, r);
	passed++;
}

/* A random offset in [0, limit), biased to land near a 64 KiB boundary. */
static uint64_t pick_off(uint64_t limit)
{
	if (limit == 0)
		return 0;
	uint64_t off;
	switch (rndn(4)) {
	case 0: { /* just around a 64 KiB boundary */
		uint64_t b = rndn(limit / 65536 + 1) * 65536;
		off = b + rndn(64) - 32;
		if ((int64_t)off < 0)
			off = 0;
		break;
	}
	case 1: /* page aligned */
		off = rndn(limit) & ~(uint64_t)4095;
		break;
	default:
		off = rndn(limit);
	}
	if (off >= limit)
		off = limit - 1;
	return off;
}

static uint64_t pick_len(void)
{
	switch (rndn(4)) {
	case 0:
		return rndn(512) + 1; /* small */
	case 1:
		return rndn(16384) + 1;
	default:
		return rndn(maxop) + 1;
	}
}

static void fill(uint64_t off, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++) {
		unsigned char v = (unsigned char)((opno % 251) + ((off + i) % 253));
		good[off + i] = v ? v : 0xa5;
	}
}

static void model_resize(uint64_t n)
{
	if (n > fsize)
		memset(good + fsize, 0, n - fsize);
	fsize = n;
}

static void op_read(void)
{
	uint64_t off = pick_off(fsize + 4096), len = pick_len(), before = fsize;
	if (off > maxlen)
		off = maxlen;
	if (off + len > maxlen)
		len = maxlen - off;
	uint64_t want = off >= fsize ? 0 : (off + len > fsize ? fsize - off : len);
	ssize_t r = pread(fd, temp, len, off);
	logop(OP_READ, off, len, before);
	if (r < 0)
		syserr("pread");
	uint64_t got = r;
	while (got < want) { /* short read: continue */
		ssize_t r2 = pread(fd, temp + got, len - got, off + got);
		if (r2 < 0)
			syserr("pread");
		if (r2 == 0)
			break;
		got += r2;
	}
	if (got != want)
		fail("read %" PRIu64 " bytes at %" PRIu64 ": got %" PRIu64 ", expected %" PRIu64 " (model size %" PRIu64 ")", len,
		     off, got, want, fsize);
	compare(temp, off, want, "read");
}

static void op_write(void)
{
	uint64_t len = pick_len(), before = fsize;
	if (len > maxlen)
		len = maxlen;
	uint64_t off = pick_off(maxlen - len + 1);
	if (off > fsize)
		model_resize(off);
	fill(off, len);
	full_write(fd, off, len, good + off);
	if (off + len > fsize)
		fsize = off + len;
	logop(OP_WRITE, off, len, before);
}

static void op_hole(void)
{
	uint64_t len = pick_len(), before = fsize;
	uint64_t gap = 65536 + rndn(1 << 20);
	if (fsize + gap + len > maxlen) {
		op_write();
		return;
	}
	uint64_t off = fsize + gap;
	model_resize(off);
	fill(off, len);
	full_write(fd, off, len, good + off);
	fsize = off + len;
	logop(OP_HOLE, off, len, before);
}

static void op_trunc(void)
{
	uint64_t before = fsize, n;
	switch (rndn(3)) {
	case 0:
		n = rndn(fsize + 1); /* down */
		break;
	case 1:
		n = fsize + rndn(maxlen - fsize + 1); /* up */
		break;
	default:
		n = pick_off(maxlen + 1);
	}
	if (ftruncate(fd, n) < 0)
		syserr("ftruncate");
	model_resize(n);
	logop(OP_TRUNC, n, 0, before);
}

static void op_append(void)
{
	uint64_t len = pick_len(), before = fsize;
	if (fsize + len > maxlen) {
		op_trunc();
		return;
	}
	/* seek somewhere random first: O_APPEND must still write at EOF */
	uint64_t seekto = rndn(fsize + 1);
	if (lseek(afd, seekto, SEEK_SET) < 0)
		syserr("lseek");
	fill(fsize, len);
	uint64_t done = 0;
	while (done < len) {
		ssize_t r = write(afd, good + fsize + done, len - done);
		if (r < 0)
			syserr("append write");
		done += r;
	}
	off_t pos = lseek(afd, 0, SEEK_CUR);
	fsize += len;
	logop(OP_APPEND, before, len, before);
	if ((uint64_t)pos != fsize)
		fail("after an O_APPEND write (seeked to %" PRIu64 ") the offset is %lld, expected EOF %" PRIu64, seekto,
		     (long long)pos, fsize);
	passed++;
}

static void op_mapread(void)
{
	if (fsize == 0) {
		op_read();
		return;
	}
	uint64_t off = pick_off(fsize), len = pick_len(), before = fsize;
	if (off + len > fsize)
		len = fsize - off;
	uint64_t pg = off & ~(uint64_t)(pagesize - 1), delta = off - pg;
	unsigned char *p = mmap(NULL, len + delta, PROT_READ, MAP_SHARED, fd, pg);
	if (p == MAP_FAILED)
		syserr("mmap read");
	memcpy(temp, p + delta, len);
	munmap(p, len + delta);
	logop(OP_MAPREAD, off, len, before);
	compare(temp, off, len, "mapread");
}

static void op_mapwrite(void)
{
	uint64_t len = pick_len(), before = fsize;
	if (len > maxlen)
		len = maxlen;
	uint64_t off = pick_off(maxlen - len + 1);
	if (off + len > fsize) { /* mapped writes cannot extend: grow first */
		if (ftruncate(fd, off + len) < 0)
			syserr("ftruncate before mapwrite");
		model_resize(off + len);
	}
	uint64_t pg = off & ~(uint64_t)(pagesize - 1), delta = off - pg;
	unsigned char *p = mmap(NULL, len + delta, PROT_READ | PROT_WRITE, MAP_SHARED, fd, pg);
	if (p == MAP_FAILED)
		syserr("mmap write");
	fill(off, len);
	memcpy(p + delta, good + off, len);
	if (msync(p, len + delta, MS_SYNC) < 0)
		syserr("msync");
	munmap(p, len + delta);
	logop(OP_MAPWRITE, off, len, before);
}

static void op_reopen(void)
{
	do_close();
	do_open();
	logop(OP_REOPEN, 0, 0, fsize);
	check_size("size after reopen");
}

static int drop_ok = 1;
static void op_drop(void)
{
	if (fsync(fd) < 0)
		syserr("fsync");
	do_close();
	sync();
	int d = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (d < 0 || write(d, "3\n", 2) != 2) {
		if (drop_ok)
			printf("fsx: warning: cannot drop caches (%s); continuing without\n", strerror(errno));
		drop_ok = 0;
	}
	if (d >= 0)
		close(d);
	do_open();
	logop(OP_DROP, 0, 0, fsize);
	check_size("size after dropping caches");
}

static void usage(void)
{
	fprintf(stderr, "usage: fsx [-S seed] [-N ops] [-l maxlen] [-o maxop] [-c verify_every] [-r reopen_every]\n"
			"           [-D [-d drop_every]] [-M] [-q] FILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t seed = 0;
	int have_seed = 0;
	long nops = 10000;
	int c;
	while ((c = getopt(argc, argv, "S:N:l:o:c:r:d:DMq")) != -1) {
		switch (c) {
		case 'S': seed = strtoull(optarg, NULL, 0); have_seed = 1; break;
		case 'N': nops = atol(optarg); break;
		case 'l': maxlen = strtoull(optarg, NULL, 0); break;
		case 'o': maxop = strtoull(optarg, NULL, 0); break;
		case 'c': verify_every = atol(optarg); break;
		case 'r': reopen_every = atol(optarg); break;
		case 'd': drop_every = atol(optarg); break;
		case 'D': drop = 1; break;
		case 'M': use_mmap = 0; break;
		case 'q': quiet = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || maxlen < 4096 || maxop < 1)
		usage();
	if (maxop > maxlen)
		maxop = maxlen;
	path = argv[optind];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!have_seed) {
		struct timeval tv;
		gettimeofday(&tv, NULL);
		seed = ((uint64_t)tv.tv_sec * 1000003ULL) ^ (uint64_t)tv.tv_usec ^ ((uint64_t)getpid() << 32);
	}
	rng_state = seed;
	pagesize = sysconf(_SC_PAGESIZE);
	printf("seed=%" PRIu64 "\n", seed);
	printf("fsx: file %s, %ld ops, maxlen %" PRIu64 ", maxop %" PRIu64 ", verify every %ld, reopen ~1/%ld, %s, mmap %s\n",
	       path, nops, maxlen, maxop, verify_every, reopen_every, drop ? "drop caches" : "no cache drops",
	       use_mmap ? "on" : "off");
	good = calloc(1, maxlen + 16);
	temp = calloc(1, maxlen + 16);
	if (!good || !temp) {
		perror("calloc");
		return 2;
	}
	int f = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (f < 0) {
		perror(path);
		return 2;
	}
	close(f);
	do_open();
	struct timeval t0, t1;
	gettimeofday(&t0, NULL);
	for (opno = 1; opno <= nops; opno++) {
		int op;
		uint64_t r = rndn(100);
		if (r < 24) op = OP_READ;
		else if (r < 44) op = OP_WRITE;
		else if (r < 52) op = use_mmap ? OP_MAPREAD : OP_READ;
		else if (r < 60) op = use_mmap ? OP_MAPWRITE : OP_WRITE;
		else if (r < 72) op = OP_TRUNC;
		else if (r < 82) op = OP_HOLE;
		else op = OP_APPEND;
		if (reopen_every > 0 && rndn(reopen_every) == 0)
			op = OP_REOPEN;
		if (drop && drop_every > 0 && rndn(drop_every) == 0)
			op = OP_DROP;
		counts[op]++;
		switch (op) {
		case OP_READ: op_read(); break;
		case OP_WRITE: op_write(); break;
		case OP_MAPREAD: op_mapread(); break;
		case OP_MAPWRITE: op_mapwrite(); break;
		case OP_TRUNC: op_trunc(); break;
		case OP_HOLE: op_hole(); break;
		case OP_APPEND: op_append(); break;
		case OP_REOPEN: op_reopen(); break;
		case OP_DROP: op_drop(); break;
		}
		if (verify_every > 0 && opno % verify_every == 0) {
			counts[OP_VERIFY]++;
			verify_all("periodic full-file verify");
		}
		if (!quiet && opno % 1000 == 0) {
			gettimeofday(&t1, NULL);
			printf("fsx: %ld ops, size %" PRIu64 ", %.1fs\n", opno, fsize,
			       (t1.tv_sec - t0.tv_sec) + (t1.tv_usec - t0.tv_usec) / 1e6);
		}
	}
	opno = nops;
	/* final: verify through the open descriptor, then after reopen (and drop) */
	counts[OP_VERIFY]++;
	verify_all("final verify");
	if (fsync(fd) < 0)
		syserr("final fsync");
	if (drop)
		op_drop();
	else
		op_reopen();
	counts[OP_VERIFY]++;
	verify_all("final verify after reopen");
	do_close();
	gettimeofday(&t1, NULL);
	printf("fsx: done in %.1fs, final size %" PRIu64 "\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_usec - t0.tv_usec) / 1e6,
	       fsize);
	finish(0);
	return 0;
}
