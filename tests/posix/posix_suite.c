/*
 * posix_suite: POSIX conformance checks for a file system reached through
 * the Linux kernel (written for an NFSv3 mount, usable on a local directory).
 *
 *   posix_suite [-v] [-k] [-n|-l] [-s SECTION[,SECTION...]] DIR
 *
 * Runs as root in a fresh directory under DIR. Cases for ordinary users fork
 * and switch credentials (setgroups/setresgid/setresuid, numeric ids) in the
 * child. Output is TAP-like ("ok N - ...", "not ok N - ... (details)"), then
 * the line "N passed, N failed". Exit status 1 if anything failed, 2 on a
 * usage or setup error.
 *
 * NFS mode (-n, or auto-detected from statfs, or POSIX_SUITE_NFS=1) expects
 * what a correct NFSv3 server plus the Linux client produce where that differs
 * from a local file system: an unlinked-but-open file is renamed to .nfsXXXX
 * by the client (so fstat still shows one link), and caches are dropped
 * before data is read back so reads reach the server. -l forces local mode.
 *
 * Build: gcc -static -O2 -Wall -o posix_suite posix_suite.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NFS_SUPER_MAGIC 0x6969

/* ------------------------------------------------------------------ TAP -- */

struct counters {
	int n, pass, fail;
};
static struct counters *C; /* shared with forked children (MAP_SHARED) */
static int verbose;
static int nfs_mode;
static const char *cur_section = "";

static const char *ename(int e)
{
	if (e == 0)
		return "0";
	const char *s = strerrorname_np(e);
	return s ? s : "E?";
}

static void vresult(int ok, const char *detail, const char *fmt, va_list ap)
{
	char desc[512];
	vsnprintf(desc, sizeof desc, fmt, ap);
	C->n++;
	if (ok) {
		C->pass++;
		printf("ok %d - %s: %s\n", C->n, cur_section, desc);
	} else {
		C->fail++;
		printf("not ok %d - %s: %s (%s)\n", C->n, cur_section, desc, detail ? detail : "failed");
	}
	fflush(stdout);
}

static void result(int ok, const char *detail, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void result(int ok, const char *detail, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vresult(ok, detail, fmt, ap);
	va_end(ap);
}

/* A note that is not an assertion (TAP comment). */
static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

static void check_ok(long r, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check_ok(long r, int e, const char *fmt, ...)
{
	char d[128];
	snprintf(d, sizeof d, "returned %ld, errno %s, expected success", r, ename(e));
	va_list ap;
	va_start(ap, fmt);
	vresult(r != -1, d, fmt, ap);
	va_end(ap);
}

static void check_err(long r, int e, int e1, int e2, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void check_err(long r, int e, int e1, int e2, const char *fmt, ...)
{
	char d[160];
	if (r != -1)
		snprintf(d, sizeof d, "succeeded (returned %ld), expected %s%s%s", r, ename(e1), e2 ? " or " : "", e2 ? ename(e2) : "");
	else
		snprintf(d, sizeof d, "errno %s, expected %s%s%s", ename(e), ename(e1), e2 ? " or " : "", e2 ? ename(e2) : "");
	va_list ap;
	va_start(ap, fmt);
	vresult(r == -1 && (e == e1 || (e2 && e == e2)), d, fmt, ap);
	va_end(ap);
}

static void check_eq(long long got, long long want, int octal, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void check_eq(long long got, long long want, int octal, const char *fmt, ...)
{
	char d[128];
	if (octal)
		snprintf(d, sizeof d, "got 0%llo, expected 0%llo", got, want);
	else
		snprintf(d, sizeof d, "got %lld, expected %lld", got, want);
	va_list ap;
	va_start(ap, fmt);
	vresult(got == want, d, fmt, ap);
	va_end(ap);
}

static void check_true(int cond, const char *detail, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check_true(int cond, const char *detail, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vresult(cond, detail, fmt, ap);
	va_end(ap);
}

/* Expression macros: evaluate, capture errno at once, check, yield the value. */
#define T_OK(expr, ...) ({ errno = 0; long _r = (long)(expr); int _e = errno; check_ok(_r, _e, __VA_ARGS__); _r; })
#define T_ERR(expr, e1, ...) ({ errno = 0; long _r = (long)(expr); int _e = errno; check_err(_r, _e, e1, 0, __VA_ARGS__); _r; })
#define T_ERR2(expr, e1, e2, ...) ({ errno = 0; long _r = (long)(expr); int _e = errno; check_err(_r, _e, e1, e2, __VA_ARGS__); _r; })
/* Expect success iff `want` (else the given errno). */
#define T_IF(want, expr, e1, ...) ({ long _v; if (want) _v = T_OK(expr, __VA_ARGS__); else _v = T_ERR(expr, e1, __VA_ARGS__); _v; })
#define T_EQ(got, want, ...) check_eq((long long)(got), (long long)(want), 0, __VA_ARGS__)
#define T_EQO(got, want, ...) check_eq((long long)(got), (long long)(want), 1, __VA_ARGS__)
#define T_TRUE(cond, detail, ...) check_true((cond), (detail), __VA_ARGS__)

/* Setup steps: silent on success, a failed assertion otherwise. */
#define MUST(expr) ({ errno = 0; long _r = (long)(expr); if (_r == -1) { char _d[96]; snprintf(_d, sizeof _d, "errno %s", ename(errno)); result(0, _d, "setup %s (line %d)", #expr, __LINE__); } _r; })

/* --------------------------------------------------------------- helpers -- */

struct cred {
	const char *name;
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[4];
};
/* owner of most test files: uid 1000, gid 1000 only */
static const struct cred U_OWNER = {"uid1000", 1000, 1000, 1, {1000}};
/* member of group 2000 through a supplementary group */
static const struct cred U_GMEM = {"uid1001+g2000", 1001, 1001, 2, {1001, 2000}};
/* member of group 2000 through its primary group */
static const struct cred U_PGRP = {"uid1003/gid2000", 1003, 2000, 1, {2000}};
/* a stranger */
static const struct cred U_OTHER = {"uid1002", 1002, 1002, 1, {1002}};

static void as_user(const struct cred *c, void (*fn)(const struct cred *, void *), void *arg)
{
	fflush(stdout);
	pid_t p = fork();
	if (p < 0) {
		result(0, strerror(errno), "fork for %s", c->name);
		return;
	}
	if (p == 0) {
		if (setgroups(c->ngroups, c->groups) || setresgid(c->gid, c->gid, c->gid) ||
		    setresuid(c->uid, c->uid, c->uid)) {
			result(0, ename(errno), "switch credentials to %s", c->name);
			fflush(stdout);
			_exit(3);
		}
		fn(c, arg);
		fflush(stdout);
		_exit(0);
	}
	int st;
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char d[64];
		snprintf(d, sizeof d, "wait status 0x%x", st);
		result(0, d, "child running as %s ended abnormally", c->name);
	}
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Make later reads and attribute fetches go to the server (NFS mode, root). */
static void drop_caches(void)
{
	if (!nfs_mode && !getenv("POSIX_SUITE_DROP"))
		return;
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "3\n", 2) < 0) { /* not fatal */ }
		close(fd);
	}
}

static int mkfile(const char *path, mode_t mode, const char *content)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
	if (fd < 0)
		return -1;
	if (content && *content && write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
		close(fd);
		return -1;
	}
	if (fchmod(fd, mode) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Create a file owned by uid:gid with mode. */
static int mkfile_own(const char *path, mode_t mode, uid_t uid, gid_t gid, const char *content)
{
	if (mkfile(path, 0600, content) < 0)
		return -1;
	if (chown(path, uid, gid) < 0)
		return -1;
	return chmod(path, mode);
}

static int mkdir_own(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	if (mkdir(path, 0700) < 0)
		return -1;
	if (chown(path, uid, gid) < 0)
		return -1;
	return chmod(path, mode);
}

/* Read a whole (small) file into buf, NUL-terminated; returns length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0) {
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		n += r;
		if (n == cap - 1)
			break;
	}
	buf[n] = 0;
	close(fd);
	return n;
}

static void check_content(const char *path, const char *want, const char *what)
{
	char buf[4096];
	errno = 0;
	ssize_t n = slurp(path, buf, sizeof buf);
	char d[256];
	if (n < 0)
		snprintf(d, sizeof d, "read failed: %s", ename(errno));
	else
		snprintf(d, sizeof d, "got \"%.60s\" (%zd bytes), expected \"%.60s\"", buf, n, want);
	T_TRUE(n >= 0 && strcmp(buf, want) == 0, d, "%s: content of %s", what, path);
}

/* lstat that returns a zeroed struct (st_ino 0) on failure */
static struct stat lst(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		memset(&st, 0, sizeof st);
	return st;
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int ts_after(struct timespec a, struct timespec b)
{
	return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

static void check_advanced(struct timespec after, struct timespec before, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check_advanced(struct timespec after, struct timespec before, const char *fmt, ...)
{
	char d[160];
	snprintf(d, sizeof d, "before %lld.%09ld, after %lld.%09ld", (long long)before.tv_sec, before.tv_nsec,
		 (long long)after.tv_sec, after.tv_nsec);
	va_list ap;
	va_start(ap, fmt);
	vresult(ts_after(after, before), d, fmt, ap);
	va_end(ap);
}

static void check_same_ts(struct timespec got, struct timespec want, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check_same_ts(struct timespec got, struct timespec want, const char *fmt, ...)
{
	char d[160];
	snprintf(d, sizeof d, "got %lld.%09ld, expected %lld.%09ld", (long long)got.tv_sec, got.tv_nsec,
		 (long long)want.tv_sec, want.tv_nsec);
	va_list ap;
	va_start(ap, fmt);
	vresult(got.tv_sec == want.tv_sec && got.tv_nsec == want.tv_nsec, d, fmt, ap);
	va_end(ap);
}

/* |t - now| <= slack seconds */
static void check_recent(struct timespec t, int slack, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check_recent(struct timespec t, int slack, const char *fmt, ...)
{
	time_t now = time(NULL);
	char d[128];
	snprintf(d, sizeof d, "time %lld, now %lld", (long long)t.tv_sec, (long long)now);
	va_list ap;
	va_start(ap, fmt);
	vresult(llabs((long long)t.tv_sec - (long long)now) <= slack, d, fmt, ap);
	va_end(ap);
}

/* Section directory: created 0777 under the work dir, and made the cwd. */
static char workdir[PATH_MAX];

static int enter(const char *name)
{
	cur_section = name;
	if (chdir(workdir) < 0)
		return -1;
	if (mkdir(name, 0777) < 0 || chmod(name, 0777) < 0 || chdir(name) < 0) {
		result(0, ename(errno), "create section directory %s", name);
		return -1;
	}
	note("section %s", name);
	return 0;
}

static int count_nfs_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, ".nfs", 4) == 0)
			n++;
	closedir(d);
	return n;
}

static const char *octal(mode_t m)
{
	static char b[8][16];
	static int i;
	i = (i + 1) % 8;
	snprintf(b[i], sizeof b[i], "%04o", (unsigned)m);
	return b[i];
}

/* ------------------------------------------------------------ open/creat -- */

static void u_open(const struct cred *c, void *arg)
{
	(void)arg;
	if (c->uid == U_OTHER.uid) {
		T_ERR(open("pf", O_RDONLY), EACCES, "%s open 0600 file of uid1000 O_RDONLY", c->name);
		T_ERR(open("pf", O_WRONLY), EACCES, "%s open 0600 file of uid1000 O_WRONLY", c->name);
		T_ERR(open("pf", O_WRONLY | O_TRUNC), EACCES, "%s open 0600 file of uid1000 O_WRONLY|O_TRUNC", c->name);
		T_ERR(open("pf", O_RDWR | O_APPEND), EACCES, "%s open 0600 file of uid1000 O_RDWR|O_APPEND", c->name);
		T_ERR(open("pf", O_CREAT | O_RDWR, 0666), EACCES, "%s open O_CREAT existing 0600 file of uid1000", c->name);
		T_ERR(open("ro/new", O_CREAT | O_WRONLY, 0644), EACCES, "%s O_CREAT in root's 0755 dir", c->name);
		T_ERR(open("ro/exists", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST,
		      "%s O_CREAT|O_EXCL of existing name in unwritable dir", c->name);
		T_ERR(open("ro/missing", O_RDONLY), ENOENT, "%s open missing name in readable dir", c->name);
		int fd = T_OK(open("pw", O_WRONLY | O_TRUNC), "%s open 0666 file O_WRONLY|O_TRUNC", c->name);
		if (fd >= 0) {
			struct stat st;
			fstat(fd, &st);
			T_EQ(st.st_size, 0, "%s O_TRUNC by non-owner writer empties the file", c->name);
			close(fd);
		}
	} else {
		int fd;
		if (c->uid == U_OWNER.uid) {
			fd = T_OK(open("pf", O_RDWR), "%s open own 0600 file O_RDWR", c->name);
			if (fd >= 0)
				close(fd);
		} else {
			T_ERR(open("pf", O_RDONLY), EACCES, "%s open 0600 file of its group (group class has no read)",
			      c->name);
		}
		char name[32];
		snprintf(name, sizeof name, "new.%u", (unsigned)c->uid);
		fd = T_OK(open(name, O_CREAT | O_EXCL | O_WRONLY, 0640), "%s create %s", c->name, name);
		if (fd >= 0) {
			struct stat st;
			fstat(fd, &st);
			T_EQ(st.st_uid, c->uid, "%s new file owner", c->name);
			T_EQ(st.st_gid, c->gid, "%s new file group is the creator's primary gid", c->name);
			T_EQO(st.st_mode & 07777, 0640, "%s new file mode", c->name);
			close(fd);
		}
		T_ERR(open("pf", O_RDONLY | O_DIRECTORY), ENOTDIR, "%s O_DIRECTORY on a file", c->name);
	}
}

static void t_open(void)
{
	if (enter("open"))
		return;
	struct stat st;
	char buf[64];
	int fd = T_OK(open("f", O_CREAT | O_EXCL | O_WRONLY, 0640), "O_CREAT|O_EXCL creates a new file");
	if (fd >= 0) {
		T_OK(fstat(fd, &st), "fstat new file");
		T_EQO(st.st_mode, S_IFREG | 0640, "new file type and mode");
		T_EQ(st.st_size, 0, "new file is empty");
		T_EQ(st.st_uid, 0, "new file owned by root");
		T_EQ(st.st_gid, 0, "new file group 0");
		T_EQ(st.st_nlink, 1, "new file has one link");
		T_EQ(write(fd, "hello", 5), 5, "write 5 bytes");
		T_OK(close(fd), "close");
	}
	T_ERR(open("f", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST, "O_CREAT|O_EXCL on existing file");
	T_ERR(open("f", O_CREAT | O_EXCL | O_RDONLY, 0644), EEXIST, "O_CREAT|O_EXCL|O_RDONLY on existing file");
	fd = T_OK(open("f", O_CREAT | O_RDWR, 0777), "O_CREAT without O_EXCL on existing file");
	if (fd >= 0) {
		fstat(fd, &st);
		T_EQ(st.st_size, 5, "O_CREAT on existing file keeps content");
		T_EQO(st.st_mode & 07777, 0640, "O_CREAT on existing file ignores mode");
		close(fd);
	}
	fd = T_OK(open("f", O_WRONLY | O_TRUNC), "O_TRUNC on existing file");
	if (fd >= 0) {
		fstat(fd, &st);
		T_EQ(st.st_size, 0, "O_TRUNC empties the file");
		close(fd);
	}
	drop_caches();
	T_EQ(lst("f").st_size, 0, "O_TRUNC size seen after dropping caches");

	/* O_APPEND */
	fd = T_OK(open("app", O_CREAT | O_WRONLY | O_APPEND, 0644), "open O_CREAT|O_APPEND");
	if (fd >= 0) {
		T_EQ(write(fd, "abc", 3), 3, "append write 1");
		lseek(fd, 0, SEEK_SET);
		T_EQ(write(fd, "def", 3), 3, "append write 2 after lseek(0)");
		T_EQ(lseek(fd, 0, SEEK_CUR), 6, "offset after O_APPEND write is EOF");
		lseek(fd, 1, SEEK_SET);
		T_EQ(write(fd, "gh", 2), 2, "append write 3 after lseek(1)");
		close(fd);
	}
	fd = open("app", O_WRONLY | O_APPEND);
	if (fd >= 0) {
		T_EQ(write(fd, "ij", 2), 2, "append via a second open");
		close(fd);
	}
	drop_caches();
	check_content("app", "abcdefghij", "O_APPEND writes land at EOF");

	/* ENOENT */
	T_ERR(open("missing", O_RDONLY), ENOENT, "open missing file");
	T_ERR(open("missing", O_WRONLY), ENOENT, "open missing file O_WRONLY");
	T_ERR(open("nodir/f", O_CREAT | O_WRONLY, 0644), ENOENT, "O_CREAT in missing directory");
	T_ERR(open("", O_RDONLY), ENOENT, "open empty path");

	/* EISDIR */
	MUST(mkdir("d", 0755));
	T_ERR(open("d", O_WRONLY), EISDIR, "open directory O_WRONLY");
	T_ERR(open("d", O_RDWR), EISDIR, "open directory O_RDWR");
	T_ERR(open("d", O_CREAT | O_WRONLY, 0644), EISDIR, "open directory O_CREAT|O_WRONLY");
	T_ERR(open("d", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST, "O_CREAT|O_EXCL on a directory");
	T_ERR(open("newname/", O_CREAT | O_WRONLY, 0644), EISDIR, "O_CREAT of a name with trailing slash");
	fd = T_OK(open("d", O_RDONLY), "open directory O_RDONLY");
	if (fd >= 0)
		close(fd);
	fd = T_OK(open("d", O_RDONLY | O_DIRECTORY), "open directory O_DIRECTORY");
	if (fd >= 0)
		close(fd);

	/* ENOTDIR */
	T_ERR(open("f/x", O_RDONLY), ENOTDIR, "open through a file used as directory");
	T_ERR(open("f/x", O_CREAT | O_WRONLY, 0644), ENOTDIR, "O_CREAT through a file used as directory");
	T_ERR(open("f/", O_RDONLY), ENOTDIR, "open file with trailing slash");
	T_ERR(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR, "O_DIRECTORY on a file");

	/* symlinks and O_CREAT */
	MUST(symlink("f", "lnk"));
	MUST(symlink("nowhere", "dangling"));
	T_ERR(open("lnk", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST, "O_CREAT|O_EXCL on a symlink");
	T_ERR(open("dangling", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST, "O_CREAT|O_EXCL on a dangling symlink");
	T_ERR(open("lnk", O_RDONLY | O_NOFOLLOW), ELOOP, "O_NOFOLLOW on a symlink");
	fd = T_OK(open("dangling", O_CREAT | O_WRONLY, 0600), "O_CREAT through a dangling symlink");
	if (fd >= 0)
		close(fd);
	T_TRUE(exists("nowhere") && S_ISREG(lst("nowhere").st_mode), "target missing",
	       "O_CREAT through dangling symlink creates its target");

	/* umask */
	umask(022);
	fd = T_OK(open("um", O_CREAT | O_EXCL | O_WRONLY, 0666), "create with umask 022");
	if (fd >= 0)
		close(fd);
	T_EQO(lst("um").st_mode & 07777, 0644, "umask 022 applied to 0666");
	T_OK(mkdir("umd", 0777), "mkdir with umask 022");
	T_EQO(lst("umd").st_mode & 07777, 0755, "umask 022 applied to mkdir 0777");
	umask(0);

	/* exclusive create must not leave the verifier in the times */
	fd = T_OK(open("excl", O_CREAT | O_EXCL | O_WRONLY, 0604), "O_EXCL create mode 0604");
	if (fd >= 0)
		close(fd);
	drop_caches();
	st = lst("excl");
	T_EQO(st.st_mode & 07777, 0604, "O_EXCL create keeps the requested mode");
	check_recent(st.st_mtim, 120, "O_EXCL create: mtime is now");
	check_recent(st.st_atim, 120, "O_EXCL create: atime is now");

	/* root and DAC override */
	MUST(mkfile("zero", 0000, "secret"));
	fd = T_OK(open("zero", O_RDWR), "root opens a mode 0000 file O_RDWR");
	if (fd >= 0) {
		memset(buf, 0, sizeof buf);
		T_EQ(read(fd, buf, sizeof buf), 6, "root reads a mode 0000 file");
		close(fd);
	}

	/* user cases */
	MUST(mkfile_own("pf", 0600, 1000, 2000, "private"));
	MUST(mkfile_own("pw", 0666, 1000, 2000, "writable"));
	MUST(mkdir("ro", 0755));
	MUST(mkfile("ro/exists", 0644, "x"));
	as_user(&U_OTHER, u_open, NULL);
	as_user(&U_OWNER, u_open, NULL);
	as_user(&U_PGRP, u_open, NULL);
}

/* --------------------------------------------------- permission matrices -- */

static const int rwbits[4] = {0, 2, 4, 6};
static const int wxbits[4] = {0, 1, 2, 3};

static int class_bits(const struct cred *c, mode_t mode, uid_t fuid, gid_t fgid)
{
	if (c->uid == 0)
		return 7;
	if (c->uid == fuid)
		return (mode >> 6) & 7;
	int ingroup = c->gid == fgid;
	for (int i = 0; i < c->ngroups; i++)
		if (c->groups[i] == fgid)
			ingroup = 1;
	if (ingroup)
		return (mode >> 3) & 7;
	return mode & 7;
}

static void u_file_matrix(const struct cred *c, void *arg)
{
	(void)arg;
	for (int o = 0; o < 4; o++)
		for (int g = 0; g < 4; g++)
			for (int x = 0; x < 4; x++) {
				mode_t m = (rwbits[o] << 6) | (rwbits[g] << 3) | rwbits[x];
				char name[16];
				snprintf(name, sizeof name, "m%03o", m);
				int bits = class_bits(c, m, 1000, 2000);
				if (c->uid == 0) {
					long fd = T_OK(open(name, O_RDWR), "root O_RDWR on mode %s", octal(m));
					if (fd >= 0)
						close(fd);
					continue;
				}
				long fd = T_IF(bits & 4, open(name, O_RDONLY), EACCES, "%s O_RDONLY on mode %s owned 1000:2000",
					       c->name, octal(m));
				if (fd >= 0)
					close(fd);
				fd = T_IF(bits & 2, open(name, O_WRONLY), EACCES, "%s O_WRONLY on mode %s owned 1000:2000",
					  c->name, octal(m));
				if (fd >= 0)
					close(fd);
			}
}

static void t_file_matrix(void)
{
	if (enter("perm-files"))
		return;
	for (int o = 0; o < 4; o++)
		for (int g = 0; g < 4; g++)
			for (int x = 0; x < 4; x++) {
				mode_t m = (rwbits[o] << 6) | (rwbits[g] << 3) | rwbits[x];
				char name[16];
				snprintf(name, sizeof name, "m%03o", m);
				MUST(mkfile_own(name, m, 1000, 2000, "data"));
			}
	drop_caches();
	as_user(&U_OWNER, u_file_matrix, NULL);
	as_user(&U_GMEM, u_file_matrix, NULL);
	as_user(&U_PGRP, u_file_matrix, NULL);
	as_user(&U_OTHER, u_file_matrix, NULL);
	static const struct cred root = {"root", 0, 0, 1, {0}};
	as_user(&root, u_file_matrix, NULL);
}

static void u_dir_matrix(const struct cred *c, void *arg)
{
	(void)arg;
	for (int o = 0; o < 4; o++)
		for (int g = 0; g < 4; g++)
			for (int x = 0; x < 4; x++) {
				mode_t m = (wxbits[o] << 6) | (wxbits[g] << 3) | wxbits[x];
				char d[16], p[64];
				snprintf(d, sizeof d, "d%03o", m);
				int bits = class_bits(c, m, 1000, 2000);
				struct stat st;
				snprintf(p, sizeof p, "%s/e", d);
				T_IF(bits & 1, stat(p, &st), EACCES, "%s stat entry in dir mode %s (search)", c->name, octal(m));
				snprintf(p, sizeof p, "%s/new.%u", d, (unsigned)c->uid);
				long fd = T_IF((bits & 3) == 3, open(p, O_CREAT | O_EXCL | O_WRONLY, 0644), EACCES,
					       "%s create in dir mode %s (write+search)", c->name, octal(m));
				if (fd >= 0)
					close(fd);
			}
}

static void t_dir_matrix(void)
{
	if (enter("perm-dirs"))
		return;
	for (int o = 0; o < 4; o++)
		for (int g = 0; g < 4; g++)
			for (int x = 0; x < 4; x++) {
				mode_t m = (wxbits[o] << 6) | (wxbits[g] << 3) | wxbits[x];
				char d[16], p[32];
				snprintf(d, sizeof d, "d%03o", m);
				snprintf(p, sizeof p, "%s/e", d);
				if (MUST(mkdir(d, 0777)) == 0) {
					MUST(mkfile(p, 0666, "e"));
					MUST(chown(d, 1000, 2000));
					MUST(chmod(d, m));
				}
			}
	drop_caches();
	as_user(&U_OWNER, u_dir_matrix, NULL);
	as_user(&U_GMEM, u_dir_matrix, NULL);
	as_user(&U_PGRP, u_dir_matrix, NULL);
	as_user(&U_OTHER, u_dir_matrix, NULL);
}

/* ----------------------------------------------------------------- mkdir -- */

static void u_mkdir(const struct cred *c, void *arg)
{
	(void)arg;
	struct stat st;
	if (c->uid == U_OWNER.uid) {
		T_ERR(mkdir("ro/x", 0755), EACCES, "%s mkdir in root's 0755 dir", c->name);
		T_ERR(mkdir("ro/exists", 0755), EEXIST, "%s mkdir of existing name in unwritable dir", c->name);
		T_ERR(mkdir("nox/x", 0755), EACCES, "%s mkdir in own dir without search permission", c->name);
		T_OK(mkdir("mine", 0750), "%s mkdir in 0777 dir", c->name);
		st = lst("mine");
		T_EQ(st.st_uid, 1000, "%s new dir owner", c->name);
		T_EQ(st.st_gid, 1000, "%s new dir group", c->name);
		T_EQO(st.st_mode & 07777, 0750, "%s new dir mode", c->name);
		T_OK(mkdir("sg/sub", 0755), "%s mkdir in setgid dir", c->name);
		st = lst("sg/sub");
		T_EQ(st.st_gid, 2000, "%s dir created in setgid dir inherits its group", c->name);
		T_TRUE(st.st_mode & S_ISGID, octal(st.st_mode & 07777), "%s dir created in setgid dir inherits setgid", c->name);
		long fd = T_OK(open("sg/file", O_CREAT | O_EXCL | O_WRONLY, 0644), "%s create file in setgid dir", c->name);
		if (fd >= 0)
			close(fd);
		st = lst("sg/file");
		T_EQ(st.st_gid, 2000, "%s file created in setgid dir gets the dir's group", c->name);
		T_EQ(st.st_mode & S_ISGID, 0, "%s file created in setgid dir is not setgid", c->name);
	}
}

static void t_mkdir(void)
{
	if (enter("mkdir"))
		return;
	struct stat st;
	nlink_t n0 = lst(".").st_nlink;
	T_OK(mkdir("a", 0755), "mkdir");
	st = lst("a");
	T_TRUE(S_ISDIR(st.st_mode), "not a directory", "mkdir makes a directory");
	T_EQO(st.st_mode & 07777, 0755, "mkdir mode");
	T_EQ(st.st_nlink, 2, "new directory nlink is 2");
	T_EQ(lst(".").st_nlink, n0 + 1, "parent nlink grows by one");
	T_EQ(lst("a/..").st_ino, lst(".").st_ino, "new dir's .. is the parent");
	T_ERR(mkdir("a", 0755), EEXIST, "mkdir existing directory");
	MUST(mkfile("file", 0644, "x"));
	T_ERR(mkdir("file", 0755), EEXIST, "mkdir over existing file");
	MUST(symlink("a", "sl"));
	MUST(symlink("nothing", "dsl"));
	T_ERR(mkdir("sl", 0755), EEXIST, "mkdir over symlink");
	T_ERR(mkdir("dsl", 0755), EEXIST, "mkdir over dangling symlink");
	T_ERR(mkdir("nope/x", 0755), ENOENT, "mkdir in missing directory");
	T_ERR(mkdir("file/x", 0755), ENOTDIR, "mkdir under a file");
	T_ERR(mkdir("", 0755), ENOENT, "mkdir empty path");
	static const mode_t modes[] = {0, 0700, 0777, 0711, 0555, 01777, 01755};
	for (unsigned i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		char n[16];
		snprintf(n, sizeof n, "m%o", modes[i]);
		T_OK(mkdir(n, modes[i]), "mkdir mode %s", octal(modes[i]));
		T_EQO(lst(n).st_mode & 07777, modes[i], "mkdir mode %s read back", octal(modes[i]));
	}
	T_OK(mkdir("sgid", 02755), "mkdir mode 02755 in non-setgid parent");
	T_EQO(lst("sgid").st_mode & 07777, 0755, "mkdir drops setgid when the parent is not setgid");
	T_EQ(lst(".").st_nlink, n0 + 1 + 8, "parent nlink counts all subdirectories");

	MUST(mkdir("ro", 0755));
	MUST(mkdir("ro/exists", 0755));
	MUST(mkdir_own("nox", 0600, 1000, 1000));
	MUST(mkdir_own("sg", 02777, 0, 2000));
	drop_caches();
	as_user(&U_OWNER, u_mkdir, NULL);
}

/* ----------------------------------------------------------------- rmdir -- */

static void u_rmdir(const struct cred *c, void *arg)
{
	(void)arg;
	if (c->uid == U_OTHER.uid) {
		T_ERR(rmdir("ro/sub"), EACCES, "%s rmdir in root's 0755 dir", c->name);
		T_ERR2(rmdir("sticky/owned1000"), EPERM, EACCES, "%s rmdir other's dir in sticky dir", c->name);
		T_OK(rmdir("sticky/owned1002"), "%s rmdir own dir in sticky dir", c->name);
		T_OK(rmdir("open/owned1000"), "%s rmdir other's dir in non-sticky 0777 dir", c->name);
	} else {
		T_OK(rmdir("sticky/owned1000"), "%s rmdir own dir in sticky dir", c->name);
	}
}

static void t_rmdir(void)
{
	if (enter("rmdir"))
		return;
	MUST(mkdir("e", 0755));
	nlink_t n0 = lst(".").st_nlink;
	T_OK(rmdir("e"), "rmdir empty directory");
	T_TRUE(!exists("e"), "still there", "removed directory is gone");
	T_ERR(rmdir("e"), ENOENT, "rmdir it again");
	T_EQ(lst(".").st_nlink, n0 - 1, "parent nlink drops by one");
	MUST(mkdir("full", 0755));
	MUST(mkfile("full/f", 0644, "x"));
	T_ERR2(rmdir("full"), ENOTEMPTY, EEXIST, "rmdir directory containing a file");
	MUST(mkdir("full2", 0755));
	MUST(mkdir("full2/sub", 0755));
	T_ERR2(rmdir("full2"), ENOTEMPTY, EEXIST, "rmdir directory containing a directory");
	MUST(mkdir("full3", 0755));
	MUST(symlink("x", "full3/l"));
	T_ERR2(rmdir("full3"), ENOTEMPTY, EEXIST, "rmdir directory containing a symlink");
	T_TRUE(exists("full/f") && exists("full2/sub"), "contents lost", "failed rmdir leaves contents");
	MUST(mkfile("file", 0644, "x"));
	T_ERR(rmdir("file"), ENOTDIR, "rmdir a file");
	MUST(symlink("full", "dirlink"));
	T_ERR(rmdir("dirlink"), ENOTDIR, "rmdir a symlink to a directory");
	T_ERR(rmdir("."), EINVAL, "rmdir \".\"");
	T_ERR(rmdir("full/."), EINVAL, "rmdir \"dir/.\"");
	T_ERR2(rmdir("full2/.."), ENOTEMPTY, EEXIST, "rmdir \"dir/..\"");
	T_ERR(rmdir("missing"), ENOENT, "rmdir missing");
	T_ERR(rmdir("missing/x"), ENOENT, "rmdir under missing dir");
	T_ERR(rmdir("file/x"), ENOTDIR, "rmdir under a file");
	T_OK(rmdir("full2/sub"), "rmdir nested");
	T_OK(rmdir("full2"), "rmdir after emptying");

	MUST(mkdir("ro", 0755));
	MUST(mkdir("ro/sub", 0777));
	MUST(mkdir("sticky", 01777));
	MUST(mkdir_own("sticky/owned1000", 0755, 1000, 1000));
	MUST(mkdir_own("sticky/owned1002", 0755, 1002, 1002));
	MUST(mkdir("open", 0777));
	MUST(mkdir_own("open/owned1000", 0755, 1000, 1000));
	drop_caches();
	as_user(&U_OTHER, u_rmdir, NULL);
	T_TRUE(exists("ro/sub"), "removed", "denied rmdir leaves the directory");
	as_user(&U_OWNER, u_rmdir, NULL);
}

/* ---------------------------------------------------------------- unlink -- */

static void u_unlink(const struct cred *c, void *arg)
{
	(void)arg;
	if (c->uid == U_OTHER.uid) {
		T_ERR(unlink("ro/f"), EACCES, "%s unlink in root's 0755 dir", c->name);
		T_ERR2(unlink("sticky/f1000"), EPERM, EACCES, "%s unlink other's file in sticky dir", c->name);
		T_OK(unlink("sticky/f1002"), "%s unlink own file in sticky dir", c->name);
		T_OK(unlink("open/f1000"), "%s unlink other's file in non-sticky 0777 dir", c->name);
		T_ERR(unlink("nox/f"), EACCES, "%s unlink in dir without search permission", c->name);
	} else if (c->uid == U_OWNER.uid) {
		T_OK(unlink("sticky/f1000"), "%s unlink own file in sticky dir", c->name);
	} else if (c->uid == U_GMEM.uid) {
		T_OK(unlink("sticky1001/f1000"), "%s (sticky dir owner) unlinks other's file", c->name);
	}
}

static void t_unlink(void)
{
	if (enter("unlink"))
		return;
	MUST(mkfile("f", 0644, "x"));
	T_OK(unlink("f"), "unlink file");
	T_TRUE(!exists("f"), "still there", "unlinked file is gone");
	T_ERR(unlink("f"), ENOENT, "unlink again");
	MUST(mkdir("d", 0755));
	T_ERR2(unlink("d"), EISDIR, EPERM, "unlink a directory");
	T_TRUE(exists("d"), "gone", "directory survives unlink");
	T_ERR(unlink("missing"), ENOENT, "unlink missing");
	T_ERR(unlink("missing/x"), ENOENT, "unlink under missing dir");
	MUST(mkfile("file", 0644, "x"));
	T_ERR(unlink("file/x"), ENOTDIR, "unlink under a file");
	T_ERR(unlink(""), ENOENT, "unlink empty path");
	MUST(mkfile("target", 0644, "t"));
	MUST(symlink("target", "sl"));
	T_OK(unlink("sl"), "unlink symlink");
	T_TRUE(!exists("sl") && exists("target"), "wrong object removed", "unlink removes the link, not the target");
	MUST(symlink("d", "dl"));
	T_OK(unlink("dl"), "unlink symlink to a directory");
	T_TRUE(exists("d"), "dir gone", "directory behind symlink survives");

	/* hard links */
	MUST(mkfile("h1", 0644, "hl"));
	MUST(link("h1", "h2"));
	MUST(link("h1", "h3"));
	T_EQ(lst("h1").st_nlink, 3, "three links");
	T_OK(unlink("h2"), "unlink one link");
	T_EQ(lst("h1").st_nlink, 2, "nlink 2 after unlink");
	T_OK(unlink("h1"), "unlink another link");
	T_EQ(lst("h3").st_nlink, 1, "nlink 1 after second unlink");
	check_content("h3", "hl", "remaining link keeps data");

	/* unlink of an open file */
	MUST(mkfile("busy", 0644, "still-here"));
	int fd = open("busy", O_RDWR);
	T_TRUE(fd >= 0, ename(errno), "open file before unlink");
	if (fd >= 0) {
		T_OK(unlink("busy"), "unlink open file");
		T_TRUE(!exists("busy"), "name still there", "unlinked open file's name is gone");
		char buf[32] = {0};
		T_EQ(pread(fd, buf, sizeof buf - 1, 0), 10, "read unlinked open file");
		T_TRUE(strcmp(buf, "still-here") == 0, buf, "unlinked open file keeps data");
		T_EQ(pwrite(fd, "X", 1, 0), 1, "write unlinked open file");
		struct stat st;
		fstat(fd, &st);
		if (nfs_mode) {
			T_EQ(st.st_nlink, 1, "fstat of unlinked open file: nlink 1 (NFS client renamed it to .nfsXXXX)");
			T_EQ(count_nfs_files("."), 1, "one .nfsXXXX entry while the unlinked file is open (NFS)");
		} else {
			T_EQ(st.st_nlink, 0, "fstat of unlinked open file: nlink 0");
			T_EQ(count_nfs_files("."), 0, "no .nfs entries on a local file system");
		}
		T_OK(close(fd), "close unlinked file");
		int n = -1;
		for (int i = 0; i < 300; i++) { /* the client removes it asynchronously */
			n = count_nfs_files(".");
			if (n == 0)
				break;
			sleep_ms(100);
		}
		T_EQ(n, 0, "no .nfs entries left after the last close");
	}

	/* permissions */
	MUST(mkdir("ro", 0755));
	MUST(mkfile("ro/f", 0666, "x"));
	MUST(mkdir("sticky", 01777));
	MUST(mkfile_own("sticky/f1000", 0666, 1000, 1000, "x"));
	MUST(mkfile_own("sticky/f1002", 0644, 1002, 1002, "x"));
	MUST(mkdir_own("sticky1001", 01777, 1001, 1001));
	MUST(mkfile_own("sticky1001/f1000", 0644, 1000, 1000, "x"));
	MUST(mkdir("open", 0777));
	MUST(mkfile_own("open/f1000", 0600, 1000, 1000, "x"));
	MUST(mkdir("nox", 0776));
	MUST(mkfile("nox/f", 0666, "x"));
	drop_caches();
	as_user(&U_OTHER, u_unlink, NULL);
	T_TRUE(exists("ro/f") && exists("sticky/f1000"), "removed", "denied unlinks leave the files");
	as_user(&U_OWNER, u_unlink, NULL);
	as_user(&U_GMEM, u_unlink, NULL);
}

/* ---------------------------------------------------------------- rename -- */

static void u_rename(const struct cred *c, void *arg)
{
	(void)arg;
	if (c->uid == U_OTHER.uid) {
		T_ERR(rename("ro/f", "ro/g"), EACCES, "%s rename in root's 0755 dir", c->name);
		T_ERR(rename("open/mine", "ro/mine"), EACCES, "%s rename into root's 0755 dir", c->name);
		T_ERR2(rename("sticky/f1000", "sticky/stolen"), EPERM, EACCES, "%s rename other's file in sticky dir", c->name);
		T_ERR2(rename("sticky/f1002", "sticky/f1000"), EPERM, EACCES,
		       "%s rename own file over other's file in sticky dir", c->name);
		T_OK(rename("sticky/f1002", "sticky/f1002b"), "%s rename own file in sticky dir", c->name);
		T_ERR(rename("open/d0555", "open2/d0555"), EACCES,
		      "%s move own dir without write permission on it to another parent", c->name);
		T_OK(rename("open/d0555", "open/d0555b"), "%s rename own unwritable dir within its parent", c->name);
	} else if (c->uid == U_OWNER.uid) {
		T_OK(rename("sticky/f1000", "sticky/f1000b"), "%s rename own file in sticky dir", c->name);
	}
}

static void t_rename(void)
{
	if (enter("rename"))
		return;
	struct stat st, st2;
	MUST(mkfile("a", 0644, "aaa"));
	ino_t ia = lst("a").st_ino;
	T_OK(rename("a", "b"), "rename file");
	T_TRUE(!exists("a"), "old name exists", "old name gone after rename");
	T_EQ(lst("b").st_ino, ia, "new name is the same inode");
	check_content("b", "aaa", "renamed file");

	/* over an existing file */
	MUST(mkfile("t", 0644, "ttt"));
	MUST(link("t", "t2"));
	ino_t ib = lst("b").st_ino;
	T_OK(rename("b", "t"), "rename file over existing file");
	T_TRUE(!exists("b"), "source remains", "source name gone");
	T_EQ(lst("t").st_ino, ib, "target name now the source inode");
	check_content("t", "aaa", "replaced target");
	T_EQ(lst("t2").st_nlink, 1, "old target lost one link");
	check_content("t2", "ttt", "old target's other link keeps data");

	/* rename to itself and between links of one inode */
	T_OK(rename("t", "t"), "rename file to itself");
	T_TRUE(exists("t"), "gone", "file renamed to itself still exists");
	MUST(link("t", "t3"));
	T_OK(rename("t", "t3"), "rename between two links of one inode");
	T_TRUE(exists("t") && exists("t3"), "a link vanished", "both links remain (rename between links is a no-op)");
	T_EQ(lst("t").st_nlink, 2, "nlink unchanged after rename between links");

	/* directories */
	MUST(mkdir("d", 0755));
	MUST(mkfile("d/inner", 0644, "in"));
	T_OK(rename("d", "d2"), "rename directory");
	check_content("d2/inner", "in", "file in renamed directory");
	MUST(mkdir("empty", 0755));
	ino_t id2 = lst("d2").st_ino;
	T_OK(rename("d2", "empty"), "rename directory over empty directory");
	T_EQ(lst("empty").st_ino, id2, "target is now the source directory");
	T_TRUE(!exists("d2"), "source remains", "source dir name gone");
	MUST(mkdir("src", 0755));
	MUST(mkdir("full", 0755));
	MUST(mkfile("full/x", 0644, "x"));
	T_ERR2(rename("src", "full"), ENOTEMPTY, EEXIST, "rename directory over non-empty directory");
	T_TRUE(exists("src") && exists("full/x"), "changed", "failed rename leaves both");
	MUST(mkfile("file", 0644, "f"));
	T_ERR(rename("file", "src"), EISDIR, "rename file over directory");
	T_ERR(rename("src", "file"), ENOTDIR, "rename directory over file");
	T_ERR(rename("file", "file2/"), ENOTDIR, "rename file to name with trailing slash");

	/* into own subtree */
	MUST(mkdir("p", 0755));
	MUST(mkdir("p/c", 0755));
	T_ERR(rename("p", "p/c/p2"), EINVAL, "rename directory into its own subdirectory");
	T_ERR(rename("p", "p/p2"), EINVAL, "rename directory into itself");
	T_ERR2(rename(".", "dot"), EBUSY, EINVAL, "rename \".\"");
	T_ERR2(rename("p/c", "p/."), EBUSY, EINVAL, "rename onto \".\"");

	/* across directories */
	MUST(mkdir("d1", 0755));
	MUST(mkdir("d2", 0755));
	MUST(mkfile("d1/f", 0644, "moved"));
	T_OK(rename("d1/f", "d2/f"), "rename file across directories");
	check_content("d2/f", "moved", "file moved across directories");
	T_TRUE(!exists("d1/f"), "old exists", "old name gone after cross-dir rename");
	MUST(mkdir("d1/sub", 0755));
	MUST(mkfile("d1/sub/g", 0644, "g"));
	nlink_t n1 = lst("d1").st_nlink, n2 = lst("d2").st_nlink;
	T_OK(rename("d1/sub", "d2/sub"), "rename directory across directories");
	T_EQ(lst("d1").st_nlink, n1 - 1, "old parent nlink drops");
	T_EQ(lst("d2").st_nlink, n2 + 1, "new parent nlink grows");
	T_EQ(lst("d2/sub/..").st_ino, lst("d2").st_ino, "moved dir's .. is the new parent");
	check_content("d2/sub/g", "g", "file inside moved directory");
	drop_caches();
	T_EQ(lst("d2/sub/..").st_ino, lst("d2").st_ino, "moved dir's .. after dropping caches");
	T_EQ(lst("d1").st_nlink, n1 - 1, "old parent nlink after dropping caches");

	/* symlinks */
	MUST(symlink("file", "sl"));
	T_OK(rename("sl", "sl2"), "rename symlink");
	char buf[64] = {0};
	T_EQ(readlink("sl2", buf, sizeof buf), 4, "renamed symlink readlink length");
	T_TRUE(strcmp(buf, "file") == 0, buf, "renamed symlink keeps target");
	MUST(mkfile("over", 0644, "ov"));
	T_OK(rename("over", "sl2"), "rename file over symlink");
	st = lst("sl2");
	T_TRUE(S_ISREG(st.st_mode), "not a regular file", "symlink replaced by the file");
	check_content("file", "f", "symlink's target untouched");

	/* errors */
	T_ERR(rename("missing", "x"), ENOENT, "rename missing source");
	T_ERR(rename("file", "nodir/x"), ENOENT, "rename into missing directory");
	T_ERR(rename("file/x", "y"), ENOTDIR, "rename with file as directory component");
	T_ERR(rename("", "y"), ENOENT, "rename empty source");

	/* rename over an open file: the old target's data stays readable */
	MUST(mkfile("victim", 0644, "old-data"));
	MUST(mkfile("newer", 0644, "new-data"));
	int fd = open("victim", O_RDONLY);
	if (fd >= 0) {
		T_OK(rename("newer", "victim"), "rename over an open file");
		memset(buf, 0, sizeof buf);
		T_EQ(pread(fd, buf, sizeof buf - 1, 0), 8, "read replaced open file");
		T_TRUE(strcmp(buf, "old-data") == 0, buf, "replaced open file keeps its data");
		close(fd);
		check_content("victim", "new-data", "rename target name has the new data");
	}

	/* ctime of the renamed object (Linux file systems update it) */
	MUST(mkfile("ct", 0644, "c"));
	st = lst("ct");
	sleep_ms(30);
	T_OK(rename("ct", "ct2"), "rename for ctime check");
	drop_caches();
	st2 = lst("ct2");
	check_advanced(st2.st_ctim, st.st_ctim, "rename updates the ctime of the renamed file");

	/* users */
	MUST(mkdir("ro", 0755));
	MUST(mkfile("ro/f", 0666, "x"));
	MUST(mkdir("open", 0777));
	MUST(mkdir("open2", 0777));
	MUST(mkfile_own("open/mine", 0644, 1002, 1002, "m"));
	MUST(mkdir_own("open/d0555", 0555, 1002, 1002));
	MUST(mkdir("sticky", 01777));
	MUST(mkfile_own("sticky/f1000", 0666, 1000, 1000, "x"));
	MUST(mkfile_own("sticky/f1002", 0666, 1002, 1002, "y"));
	drop_caches();
	as_user(&U_OTHER, u_rename, NULL);
	check_content("sticky/f1000", "x", "protected file in sticky dir unchanged");
	as_user(&U_OWNER, u_rename, NULL);
}

/* ------------------------------------------------------------------ link -- */

static void u_link(const struct cred *c, void *arg)
{
	(void)arg;
	T_ERR(link("open/f", "ro/f"), EACCES, "%s link into root's 0755 dir", c->name);
	T_OK(link("open/f", "open/f.other"), "%s link in 0777 dir", c->name);
	T_EQ(lst("open/f").st_nlink, 2, "%s nlink after link by another user", c->name);
}

static void t_link(void)
{
	if (enter("link"))
		return;
	struct stat st, st2;
	MUST(mkfile("f", 0644, "one"));
	st = lst("f");
	sleep_ms(30);
	T_OK(link("f", "f2"), "link");
	st2 = lst("f2");
	T_EQ(st2.st_ino, st.st_ino, "link shares the inode");
	T_EQ(st2.st_nlink, 2, "nlink 2 on new name");
	T_EQ(lst("f").st_nlink, 2, "nlink 2 on old name");
	check_advanced(st2.st_ctim, st.st_ctim, "link updates the ctime of the file");
	for (int i = 3; i <= 8; i++) {
		char n[16];
		snprintf(n, sizeof n, "f%d", i);
		T_OK(link("f", n), "link #%d", i);
		T_EQ(lst(n).st_nlink, i, "nlink %d after link #%d", i, i);
	}
	int fd = open("f5", O_WRONLY | O_APPEND);
	if (fd >= 0) {
		T_EQ(write(fd, "+two", 4), 4, "write through a link");
		close(fd);
	}
	drop_caches();
	check_content("f", "one+two", "write through a link visible via the other name");
	for (int i = 8; i >= 3; i--) {
		char n[16];
		snprintf(n, sizeof n, "f%d", i);
		T_OK(unlink(n), "unlink link #%d", i);
		T_EQ(lst("f").st_nlink, i - 1, "nlink %d after unlinking #%d", i - 1, i);
	}
	T_ERR(link("f", "f2"), EEXIST, "link to existing name");
	MUST(mkfile("other", 0644, "o"));
	T_ERR(link("f", "other"), EEXIST, "link over existing file");
	MUST(mkdir("d", 0755));
	T_ERR(link("d", "dlink"), EPERM, "link a directory");
	T_ERR(link("f", "d"), EEXIST, "link to a name that is a directory");
	T_ERR(link("missing", "x"), ENOENT, "link missing source");
	T_ERR(link("f", "nodir/x"), ENOENT, "link into missing directory");
	T_ERR(link("f/x", "y"), ENOTDIR, "link with file as directory component");
	T_OK(link("f", "d/f"), "link across directories");
	T_EQ(lst("d/f").st_ino, lst("f").st_ino, "cross-directory link shares the inode");
	T_EQ(lst("f").st_nlink, 3, "nlink 3 with cross-dir link");

	/* hard link to a symlink (linkat without AT_SYMLINK_FOLLOW) */
	MUST(symlink("f", "sl"));
	T_OK(linkat(AT_FDCWD, "sl", AT_FDCWD, "sl.hard", 0), "hard link a symlink itself");
	st = lst("sl.hard");
	T_TRUE(S_ISLNK(st.st_mode), "not a symlink", "hard link to symlink is a symlink");
	T_EQ(st.st_ino, lst("sl").st_ino, "hard link to symlink shares its inode");
	T_EQ(st.st_nlink, 2, "symlink nlink 2");
	T_OK(linkat(AT_FDCWD, "sl", AT_FDCWD, "sl.follow", AT_SYMLINK_FOLLOW), "linkat AT_SYMLINK_FOLLOW");
	T_EQ(lst("sl.follow").st_ino, lst("f").st_ino, "AT_SYMLINK_FOLLOW links the target");

	MUST(mkdir("ro", 0755));
	MUST(mkdir("open", 0777));
	MUST(mkfile_own("open/f", 0644, 1002, 1002, "x"));
	as_user(&U_OTHER, u_link, NULL);
}

/* --------------------------------------------------------------- symlink -- */

static void u_symlink(const struct cred *c, void *arg)
{
	(void)arg;
	T_ERR(symlink("x", "ro/l"), EACCES, "%s symlink in root's 0755 dir", c->name);
	T_OK(symlink("x", "open/l1000"), "%s symlink in 0777 dir", c->name);
	struct stat st = lst("open/l1000");
	T_EQ(st.st_uid, c->uid, "%s symlink owner", c->name);
	T_EQ(st.st_gid, c->gid, "%s symlink group", c->name);
}

static void t_symlink(void)
{
	if (enter("symlink"))
		return;
	static const int lens[] = {1, 2, 10, 100, 255, 256, 1000, 1023, 1024, 2000, 4095};
	char target[4200], buf[4200];
	for (unsigned i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		int n = lens[i];
		for (int j = 0; j < n; j++)
			target[j] = (j % 8 == 7) ? '/' : 'a' + (j * 7 + n) % 26;
		target[n] = 0;
		char name[16];
		snprintf(name, sizeof name, "s%d", n);
		if (T_OK(symlink(target, name), "symlink with %d-byte target", n) < 0)
			continue;
		drop_caches();
		memset(buf, 0, sizeof buf);
		ssize_t r = readlink(name, buf, sizeof buf);
		T_EQ(r, n, "readlink length, %d-byte target", n);
		T_TRUE(r == n && memcmp(buf, target, n) == 0, "content differs", "readlink content, %d-byte target", n);
		struct stat st = lst(name);
		T_TRUE(S_ISLNK(st.st_mode), octal(st.st_mode), "lstat type of %d-byte symlink", n);
		T_EQ(st.st_size, n, "lstat size of %d-byte symlink", n);
	}
	memset(target, 'b', 4096);
	target[4096] = 0;
	T_ERR(symlink(target, "s4096"), ENAMETOOLONG, "symlink with 4096-byte target");

	static const char *odd[] = {"with space", "tab\there", "new\nline", "üñíçødé", "../../up/../and", "/abs/olute/path", "trailing/", "-dash", "*?[glob]"};
	for (unsigned i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		char name[16];
		snprintf(name, sizeof name, "odd%u", i);
		T_OK(symlink(odd[i], name), "symlink to odd target #%u", i);
		memset(buf, 0, sizeof buf);
		ssize_t r = readlink(name, buf, sizeof buf);
		T_TRUE(r == (ssize_t)strlen(odd[i]) && strcmp(buf, odd[i]) == 0, buf, "odd target #%u read back verbatim", i);
	}

	MUST(mkfile("f", 0644, "target-data"));
	T_OK(symlink("f", "l"), "symlink to a file");
	struct stat st;
	T_OK(stat("l", &st), "stat through symlink");
	T_EQ(st.st_ino, lst("f").st_ino, "stat follows the symlink");
	st = lst("l");
	T_EQO(st.st_mode & 0777, 0777, "symlink permission bits are 0777");
	check_content("l", "target-data", "read through symlink");
	T_ERR(symlink("g", "l"), EEXIST, "symlink over existing symlink");
	T_ERR(symlink("g", "f"), EEXIST, "symlink over existing file");
	T_ERR(symlink("g", "nodir/l"), ENOENT, "symlink in missing directory");
	T_ERR(symlink("g", "f/l"), ENOTDIR, "symlink under a file");
	T_ERR(symlink("", "empty"), ENOENT, "symlink with empty target");

	/* dangling */
	T_OK(symlink("does/not/exist", "dang"), "dangling symlink");
	T_ERR(stat("dang", &st), ENOENT, "stat dangling symlink");
	T_OK(lstat("dang", &st), "lstat dangling symlink");
	T_EQ(st.st_size, 14, "dangling symlink size");
	memset(buf, 0, sizeof buf);
	T_EQ(readlink("dang", buf, sizeof buf), 14, "readlink dangling symlink");

	/* readlink errors and truncation */
	T_ERR(readlink("f", buf, sizeof buf), EINVAL, "readlink on a regular file");
	MUST(mkdir("d", 0755));
	T_ERR(readlink("d", buf, sizeof buf), EINVAL, "readlink on a directory");
	T_ERR(readlink("missing", buf, sizeof buf), ENOENT, "readlink missing");
	memset(buf, 0, sizeof buf);
	T_EQ(readlink("dang", buf, 4), 4, "readlink into a short buffer returns its size");
	T_TRUE(memcmp(buf, "does", 4) == 0, buf, "readlink short buffer holds the prefix");

	/* loops */
	MUST(symlink("loop2", "loop1"));
	MUST(symlink("loop1", "loop2"));
	T_ERR(stat("loop1", &st), ELOOP, "stat symlink loop");
	T_ERR(open("loop1", O_RDONLY), ELOOP, "open symlink loop");
	T_ERR(open("l", O_RDONLY | O_NOFOLLOW), ELOOP, "open symlink with O_NOFOLLOW");

	/* relative resolution from the link's directory */
	MUST(mkdir("sub", 0755));
	T_OK(symlink("../f", "sub/up"), "relative symlink in subdir");
	check_content("sub/up", "target-data", "relative symlink resolves from its own directory");
	T_OK(symlink("sub", "dirlink"), "symlink to a directory");
	check_content("dirlink/up", "target-data", "path through symlink to directory");

	MUST(mkdir("ro", 0755));
	MUST(mkdir("open", 0777));
	as_user(&U_OWNER, u_symlink, NULL);
}

/* ----------------------------------------------------------------- chmod -- */

static void u_chmod(const struct cred *c, void *arg)
{
	(void)arg;
	struct stat st;
	if (c->uid == U_OWNER.uid) {
		T_OK(chmod("own", 0600), "%s chmod own file", c->name);
		T_EQO(lst("own").st_mode & 07777, 0600, "%s chmod own file read back", c->name);
		T_OK(chmod("own", 04755), "%s chmod setuid on own file", c->name);
		T_EQO(lst("own").st_mode & 07777, 04755, "%s setuid kept on own file", c->name);
		T_OK(chmod("g2000", 02755), "%s chmod setgid on own file of a foreign group", c->name);
		T_EQO(lst("g2000").st_mode & 07777, 0755, "%s setgid silently cleared (owner not in file's group)", c->name);
		T_OK(chmod("ownd", 01777), "%s chmod sticky on own dir", c->name);
		T_EQO(lst("ownd").st_mode & 07777, 01777, "%s sticky kept on own dir", c->name);
		T_ERR(chmod("rootf", 0777), EPERM, "%s chmod root's file", c->name);
		T_ERR(chmod("missing", 0777), ENOENT, "%s chmod missing", c->name);
		int fd = open("own", O_RDONLY);
		if (fd >= 0) {
			T_OK(fchmod(fd, 0640), "%s fchmod own file", c->name);
			close(fd);
			T_EQO(lst("own").st_mode & 07777, 0640, "%s fchmod read back", c->name);
		}
		/* writing a setuid file as its (unprivileged) owner clears setuid */
		fd = open("suid-own", O_WRONLY);
		if (fd >= 0) {
			T_EQ(write(fd, "w", 1), 1, "%s write own setuid file", c->name);
			close(fd);
			drop_caches();
			T_EQO(lst("suid-own").st_mode & 07777, 0755, "%s write by owner clears setuid", c->name);
		} else
			result(0, ename(errno), "%s open own setuid file", c->name);
	} else if (c->uid == U_PGRP.uid) {
		T_OK(chmod("pg", 02750), "%s chmod setgid on own file of own group", c->name);
		T_EQO(lst("pg").st_mode & 07777, 02750, "%s setgid kept when owner is in the group", c->name);
	} else if (c->uid == U_OTHER.uid) {
		T_ERR(chmod("own", 0777), EPERM, "%s chmod other's file", c->name);
		T_ERR(chmod("ownd", 0777), EPERM, "%s chmod other's dir", c->name);
		static const char *files[] = {"suid", "sgid", "both"};
		static const mode_t after[] = {0777, 0777, 0777};
		for (int i = 0; i < 3; i++) {
			int fd = open(files[i], O_WRONLY);
			if (fd < 0) {
				result(0, ename(errno), "%s open %s for writing", c->name, files[i]);
				continue;
			}
			T_EQ(write(fd, "x", 1), 1, "%s write %s file", c->name, files[i]);
			close(fd);
			drop_caches();
			st = lst(files[i]);
			T_EQO(st.st_mode & 07777, after[i], "%s write by non-owner clears %s", c->name, files[i]);
		}
	}
}

static void t_chmod(void)
{
	if (enter("chmod"))
		return;
	static const mode_t perms[] = {0000, 0644, 0755, 0777, 0111, 0600, 0070, 0007};
	MUST(mkfile("f", 0644, "x"));
	MUST(mkdir("d", 0755));
	for (int s = 0; s < 8; s++)
		for (unsigned p = 0; p < sizeof perms / sizeof perms[0]; p++) {
			mode_t m = (s << 9) | perms[p];
			T_OK(chmod("f", m), "chmod file %s", octal(m));
			T_EQO(lst("f").st_mode, S_IFREG | m, "file mode %s read back", octal(m));
			T_OK(chmod("d", m), "chmod dir %s", octal(m));
			T_EQO(lst("d").st_mode, S_IFDIR | m, "dir mode %s read back", octal(m));
		}
	drop_caches();
	T_EQO(lst("f").st_mode, S_IFREG | 07007, "file mode after dropping caches");
	T_EQO(lst("d").st_mode, S_IFDIR | 07007, "dir mode after dropping caches");
	int fd = open("f", O_RDONLY);
	if (fd >= 0) {
		T_OK(fchmod(fd, 0604), "fchmod");
		close(fd);
		T_EQO(lst("f").st_mode & 07777, 0604, "fchmod read back");
	}
	MUST(symlink("f", "sl"));
	T_OK(chmod("sl", 0640), "chmod through a symlink");
	T_EQO(lst("f").st_mode & 07777, 0640, "chmod through symlink changes the target");
	T_TRUE(S_ISLNK(lst("sl").st_mode), "not a link", "symlink itself unchanged");
	T_ERR(chmod("missing", 0644), ENOENT, "chmod missing");
	T_ERR(chmod("f/x", 0644), ENOTDIR, "chmod under a file");

	/* ctime moves, mtime does not */
	struct stat b = lst("f");
	sleep_ms(30);
	T_OK(chmod("f", 0600), "chmod for time check");
	drop_caches();
	struct stat a = lst("f");
	check_advanced(a.st_ctim, b.st_ctim, "chmod updates ctime");
	check_same_ts(a.st_mtim, b.st_mtim, "chmod leaves mtime");

	/* chown clears setuid/setgid on files (root too), not on directories */
	MUST(mkfile("cs", 06755, "x"));
	T_OK(chown("cs", 1000, 2000), "root chown of 06755 file");
	T_EQO(lst("cs").st_mode & 07777, 0755, "chown by root clears setuid and setgid");
	MUST(mkfile("cs2", 04711, "x"));
	T_OK(chown("cs2", 0, 2000), "root chgrp of 04711 file");
	T_EQO(lst("cs2").st_mode & 07777, 0711, "chgrp by root clears setuid");
	MUST(mkdir("csd", 02755));
	MUST(chmod("csd", 02755));
	T_OK(chown("csd", 1000, 2000), "root chown of 02755 dir");
	T_EQO(lst("csd").st_mode & 07777, 02755, "chown keeps setgid on a directory");

	/* root writing a setuid file keeps it (CAP_FSETID) */
	MUST(mkfile("rootsuid", 04755, "x"));
	fd = open("rootsuid", O_WRONLY);
	if (fd >= 0) {
		T_EQ(write(fd, "y", 1), 1, "root writes setuid file");
		close(fd);
		drop_caches();
		T_EQO(lst("rootsuid").st_mode & 07777, 04755, "write by root keeps setuid");
	}

	MUST(mkfile_own("own", 0644, 1000, 1000, "x"));
	MUST(mkfile_own("g2000", 0755, 1000, 2000, "x"));
	MUST(mkdir_own("ownd", 0755, 1000, 1000));
	MUST(mkfile_own("pg", 0750, 1003, 2000, "x"));
	MUST(mkfile("rootf", 0644, "x"));
	MUST(mkfile_own("suid", 04777, 1000, 2000, "x"));
	MUST(mkfile_own("sgid", 02777, 1000, 2000, "x"));
	MUST(mkfile_own("both", 06777, 1000, 2000, "x"));
	MUST(mkfile_own("suid-own", 04755, 1000, 1000, "x"));
	drop_caches();
	as_user(&U_OWNER, u_chmod, NULL);
	as_user(&U_PGRP, u_chmod, NULL);
	as_user(&U_OTHER, u_chmod, NULL);
}

/* ----------------------------------------------------------------- chown -- */

static void u_chown(const struct cred *c, void *arg)
{
	(void)arg;
	struct stat st;
	if (c->uid == U_GMEM.uid) {
		T_OK(chown("mine", -1, 2000), "%s chgrp own file to own supplementary group", c->name);
		st = lst("mine");
		T_EQ(st.st_gid, 2000, "%s group changed", c->name);
		T_EQ(st.st_uid, 1001, "%s owner unchanged", c->name);
		T_OK(chown("mine", 1001, 1001), "%s chown own file to self and own primary group", c->name);
		T_EQ(lst("mine").st_gid, 1001, "%s group back to primary", c->name);
		T_ERR(chown("mine", -1, 3000), EPERM, "%s chgrp own file to a group it is not in", c->name);
		T_ERR(chown("mine", 1000, -1), EPERM, "%s chown own file to another uid", c->name);
		T_ERR(chown("mine", 0, 0), EPERM, "%s chown own file to root", c->name);
		T_EQ(lst("mine").st_uid, 1001, "%s owner unchanged after refused chown", c->name);
		T_OK(chown("mine", -1, -1), "%s chown -1,-1 on own file", c->name);
		T_ERR(chown("theirs", -1, 2000), EPERM, "%s chgrp another user's file", c->name);
		T_ERR(chown("theirs", 1001, -1), EPERM, "%s take ownership of another user's file", c->name);
		T_OK(lchown("mylink", -1, 2000), "%s lchown own symlink", c->name);
		T_EQ(lst("mylink").st_gid, 2000, "%s symlink group changed", c->name);
		int fd = open("mine", O_RDONLY);
		if (fd >= 0) {
			T_OK(fchown(fd, -1, 2000), "%s fchgrp own file", c->name);
			close(fd);
			T_EQ(lst("mine").st_gid, 2000, "%s fchgrp read back", c->name);
		}
		T_ERR(chown("missing", -1, 2000), ENOENT, "%s chown missing", c->name);
	}
}

static void t_chown(void)
{
	if (enter("chown"))
		return;
	MUST(mkfile("f", 0644, "x"));
	T_OK(chown("f", 1234, 5678), "root chown to 1234:5678");
	struct stat st = lst("f");
	T_EQ(st.st_uid, 1234, "uid read back");
	T_EQ(st.st_gid, 5678, "gid read back");
	T_OK(chown("f", 4321, -1), "root chown uid only");
	st = lst("f");
	T_EQ(st.st_uid, 4321, "uid changed");
	T_EQ(st.st_gid, 5678, "gid kept");
	T_OK(chown("f", -1, 8765), "root chown gid only");
	st = lst("f");
	T_EQ(st.st_uid, 4321, "uid kept");
	T_EQ(st.st_gid, 8765, "gid changed");
	T_OK(chown("f", 65534, 65534), "root chown to nobody");
	T_OK(chown("f", 4000000000U, 4000000001U), "root chown to large ids");
	drop_caches();
	st = lst("f");
	T_EQ(st.st_uid, 4000000000U, "large uid read back after dropping caches");
	T_EQ(st.st_gid, 4000000001U, "large gid read back after dropping caches");
	int fd = open("f", O_RDONLY);
	if (fd >= 0) {
		T_OK(fchown(fd, 7, 8), "root fchown");
		close(fd);
		st = lst("f");
		T_TRUE(st.st_uid == 7 && st.st_gid == 8, "wrong ids", "fchown read back");
	}
	MUST(symlink("f", "sl"));
	T_OK(lchown("sl", 1111, 2222), "root lchown symlink");
	st = lst("sl");
	T_TRUE(st.st_uid == 1111 && st.st_gid == 2222, "wrong ids", "lchown changes the symlink");
	st = lst("f");
	T_TRUE(st.st_uid == 7 && st.st_gid == 8, "target changed", "lchown leaves the target");
	T_OK(chown("sl", 3333, 4444), "root chown through symlink");
	st = lst("f");
	T_TRUE(st.st_uid == 3333 && st.st_gid == 4444, "target unchanged", "chown follows the symlink");
	MUST(mkdir("d", 0755));
	T_OK(chown("d", 1000, 2000), "root chown directory");
	st = lst("d");
	T_TRUE(st.st_uid == 1000 && st.st_gid == 2000, "wrong ids", "directory owner read back");
	T_ERR(chown("missing", 1, 1), ENOENT, "chown missing");
	T_ERR(chown("f/x", 1, 1), ENOTDIR, "chown under a file");
	struct stat b = lst("d");
	sleep_ms(30);
	T_OK(chown("d", 1001, 2000), "chown for ctime check");
	check_advanced(lst("d").st_ctim, b.st_ctim, "chown updates ctime");

	MUST(mkfile_own("mine", 0644, 1001, 1001, "m"));
	MUST(mkfile_own("theirs", 0644, 1000, 1000, "t"));
	MUST(symlink("mine", "mylink"));
	MUST(lchown("mylink", 1001, 1001));
	drop_caches();
	as_user(&U_GMEM, u_chown, NULL);
}

/* -------------------------------------------------------------- truncate -- */

static unsigned char model[400000];
static size_t model_len;

static void model_truncate(size_t n)
{
	if (n > model_len)
		memset(model + model_len, 0, n - model_len);
	model_len = n;
}

static void check_model(const char *path, const char *what)
{
	static unsigned char buf[sizeof model + 16];
	int fd = open(path, O_RDONLY);
	size_t got = 0;
	if (fd >= 0) {
		for (;;) {
			ssize_t r = read(fd, buf + got, sizeof buf - got);
			if (r <= 0)
				break;
			got += r;
		}
		close(fd);
	}
	size_t bad = (size_t)-1;
	for (size_t i = 0; i < got && i < model_len; i++)
		if (buf[i] != model[i]) {
			bad = i;
			break;
		}
	char d[160];
	if (fd < 0)
		snprintf(d, sizeof d, "open failed");
	else if (got != model_len)
		snprintf(d, sizeof d, "read %zu bytes, expected %zu", got, model_len);
	else
		snprintf(d, sizeof d, "first difference at offset %zu: 0x%02x, expected 0x%02x", bad,
			 bad != (size_t)-1 ? buf[bad] : 0, bad != (size_t)-1 ? model[bad] : 0);
	T_TRUE(fd >= 0 && got == model_len && bad == (size_t)-1, d, "%s: data matches (%zu bytes)", what, model_len);
}

static void u_truncate(const struct cred *c, void *arg)
{
	(void)arg;
	T_ERR(truncate("ro", 0), EACCES, "%s truncate 0644 file of another user", c->name);
	T_OK(truncate("rw", 3), "%s truncate 0666 file of another user", c->name);
	T_EQ(lst("rw").st_size, 3, "%s truncate by non-owner read back", c->name);
}

static void t_truncate(void)
{
	if (enter("truncate"))
		return;
	for (size_t i = 0; i < 200000; i++)
		model[i] = (unsigned char)(i * 131 + (i >> 9) + 1) | 1;
	model_len = 200000;
	int fd = open("t", O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0 || write(fd, model, model_len) != (ssize_t)model_len)
		result(0, ename(errno), "setup write 200000 bytes");
	if (fd >= 0)
		close(fd);
	static const long sizes[] = {100000, 150000, 65536, 65537, 131071, 1, 0, 300000, 70000, 4096, 4095, 200000};
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		T_OK(truncate("t", sizes[i]), "truncate to %ld", sizes[i]);
		model_truncate(sizes[i]);
		T_EQ(lst("t").st_size, sizes[i], "size after truncate to %ld", sizes[i]);
		drop_caches();
		check_model("t", "truncate");
		/* put some data back so the next shrink has something to cut */
		if (i % 3 == 1 && model_len > 10) {
			size_t off = model_len / 3, n = model_len / 3;
			for (size_t k = 0; k < n; k++)
				model[off + k] = (unsigned char)(k + i) | 0x80;
			int fd2 = open("t", O_WRONLY);
			if (fd2 >= 0) {
				T_EQ(pwrite(fd2, model + off, n, off), n, "rewrite %zu bytes at %zu", n, off);
				close(fd2);
			}
		}
	}

	/* ftruncate interleaved with writes on one descriptor */
	fd = open("t", O_RDWR);
	if (fd >= 0) {
		static const long fs[] = {50000, 120000, 65535, 0, 33333};
		for (unsigned i = 0; i < sizeof fs / sizeof fs[0]; i++) {
			T_OK(ftruncate(fd, fs[i]), "ftruncate to %ld", fs[i]);
			model_truncate(fs[i]);
			struct stat st;
			fstat(fd, &st);
			T_EQ(st.st_size, fs[i], "fstat size after ftruncate to %ld", fs[i]);
			size_t off = fs[i] / 2 + 1000, n = 5000;
			if (off + n > model_len)
				model_truncate(off + n);
			for (size_t k = 0; k < n; k++)
				model[off + k] = (unsigned char)(k * 3 + i);
			T_EQ(pwrite(fd, model + off, n, off), n, "pwrite after ftruncate to %ld", fs[i]);
			fsync(fd);
			drop_caches();
			check_model("t", "ftruncate+pwrite");
		}
		close(fd);
	}
	fd = open("t", O_RDONLY);
	if (fd >= 0) {
		T_ERR2(ftruncate(fd, 0), EINVAL, EBADF, "ftruncate on a read-only descriptor");
		close(fd);
	}
	T_ERR(truncate("t", -1), EINVAL, "truncate to negative length");
	MUST(mkdir("d", 0755));
	T_ERR(truncate("d", 0), EISDIR, "truncate a directory");
	T_ERR(truncate("missing", 0), ENOENT, "truncate missing");
	T_ERR(truncate("t/x", 0), ENOTDIR, "truncate under a file");

	/* times */
	struct stat b = lst("t");
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	MUST(utimensat(AT_FDCWD, "t", old, 0));
	b = lst("t");
	sleep_ms(30);
	T_OK(truncate("t", 10), "truncate for time check");
	struct stat a = lst("t");
	check_advanced(a.st_mtim, b.st_mtim, "truncate updates mtime");
	check_advanced(a.st_ctim, b.st_ctim, "truncate updates ctime");

	/* beyond 4 GiB */
	fd = open("big", O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd >= 0) {
		off_t five = 5LL << 30;
		T_OK(ftruncate(fd, five), "ftruncate to 5 GiB");
		struct stat st;
		fstat(fd, &st);
		T_EQ(st.st_size, five, "size 5 GiB");
		T_EQ(pwrite(fd, "xyz", 3, five - 3), 3, "pwrite at 5 GiB - 3");
		T_EQ(pwrite(fd, "mid", 3, (4LL << 30) + 7), 3, "pwrite past 4 GiB");
		fsync(fd);
		close(fd);
		drop_caches();
		fd = open("big", O_RDONLY);
		char buf[8] = {0};
		T_EQ(pread(fd, buf, 3, five - 3), 3, "pread at 5 GiB - 3");
		T_TRUE(memcmp(buf, "xyz", 3) == 0, buf, "data at 5 GiB - 3");
		memset(buf, 0, sizeof buf);
		T_EQ(pread(fd, buf, 3, (4LL << 30) + 7), 3, "pread past 4 GiB");
		T_TRUE(memcmp(buf, "mid", 3) == 0, buf, "data past 4 GiB (no 32-bit wrap)");
		memset(buf, 1, sizeof buf);
		T_EQ(pread(fd, buf, 7, 7), 7, "pread at 7 (hole)");
		T_TRUE(memcmp(buf, "\0\0\0\0\0\0\0", 7) == 0, "non-zero", "hole before 4 GiB reads zeros (no 32-bit wrap)");
		fstat(fd, &st);
		T_EQ(st.st_size, five, "size 5 GiB after dropping caches");
		close(fd);
		T_OK(truncate("big", 0), "truncate 5 GiB file to 0");
	}

	MUST(mkfile_own("ro", 0644, 1000, 1000, "readonly"));
	MUST(mkfile_own("rw", 0666, 1000, 1000, "readwrite"));
	as_user(&U_OTHER, u_truncate, NULL);
	T_EQ(lst("ro").st_size, 8, "denied truncate left the size");
}

/* ------------------------------------------------------------- utimensat -- */

static void u_utimens(const struct cred *c, void *arg)
{
	(void)arg;
	struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
	struct timespec expl[2] = {{1111111111, 0}, {1222222222, 500}};
	struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
	if (c->uid == U_OTHER.uid) {
		T_OK(utimensat(AT_FDCWD, "w", now, 0), "%s UTIME_NOW on writable file of another user", c->name);
		check_recent(lst("w").st_mtim, 120, "%s UTIME_NOW set mtime to now", c->name);
		T_OK(utimensat(AT_FDCWD, "w", NULL, 0), "%s times=NULL on writable file of another user", c->name);
		T_ERR(utimensat(AT_FDCWD, "w", expl, 0), EPERM, "%s explicit times on writable file of another user", c->name);
		T_ERR(utimensat(AT_FDCWD, "r", now, 0), EACCES, "%s UTIME_NOW on read-only file of another user", c->name);
		T_ERR(utimensat(AT_FDCWD, "r", NULL, 0), EACCES, "%s times=NULL on read-only file of another user", c->name);
		T_ERR(utimensat(AT_FDCWD, "r", expl, 0), EPERM, "%s explicit times on read-only file of another user", c->name);
		T_OK(utimensat(AT_FDCWD, "r", omit, 0), "%s UTIME_OMIT both (no-op) on another user's file", c->name);
	} else {
		T_OK(utimensat(AT_FDCWD, "r", expl, 0), "%s explicit times on own file", c->name);
		struct stat st = lst("r");
		check_same_ts(st.st_atim, expl[0], "%s atime read back", c->name);
		check_same_ts(st.st_mtim, expl[1], "%s mtime read back", c->name);
		T_OK(utimensat(AT_FDCWD, "ro-own", now, 0), "%s UTIME_NOW on own 0444 file", c->name);
	}
}

static void t_utimens(void)
{
	if (enter("utimensat"))
		return;
	MUST(mkfile("f", 0644, "x"));
	static const struct timespec vals[][2] = {
	    {{1000000000, 123456789}, {1234567890, 987654321}},
	    {{1, 0}, {2, 1}},
	    {{0, 0}, {0, 999999999}},
	    {{2147483647, 0}, {2147483647, 999999999}},
	    {{2147483648LL, 5}, {3000000000LL, 6}},
	    {{4294967295LL, 0}, {4294967295LL, 999999999}},
	    {{1700000000, 1000}, {1700000001, 2000}},
	};
	for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		T_OK(utimensat(AT_FDCWD, "f", vals[i], 0), "utimensat set #%u (%lld, %lld)", i, (long long)vals[i][0].tv_sec,
		     (long long)vals[i][1].tv_sec);
		drop_caches();
		struct stat st = lst("f");
		/* The kernel clamps times to the super block's range and zeroes the
		 * nanoseconds at its limits (timestamp_truncate); the NFS client's
		 * range is 0 .. 2^32-1 (NFSv3 times are unsigned 32-bit seconds). */
		struct timespec wa = vals[i][0], wm = vals[i][1];
		if (nfs_mode && (wa.tv_sec == 0 || wa.tv_sec == 4294967295LL))
			wa.tv_nsec = 0;
		if (nfs_mode && (wm.tv_sec == 0 || wm.tv_sec == 4294967295LL))
			wm.tv_nsec = 0;
		check_same_ts(st.st_atim, wa, "atime #%u read back", i);
		check_same_ts(st.st_mtim, wm, "mtime #%u read back", i);
	}
	struct timespec t1[2] = {{1300000000, 0}, {1300000000, 0}};
	MUST(utimensat(AT_FDCWD, "f", t1, 0));
	struct timespec om[2] = {{0, UTIME_OMIT}, {1400000000, 42}};
	T_OK(utimensat(AT_FDCWD, "f", om, 0), "UTIME_OMIT atime, set mtime");
	struct stat st = lst("f");
	check_same_ts(st.st_atim, t1[0], "UTIME_OMIT leaves atime");
	check_same_ts(st.st_mtim, om[1], "mtime set alongside UTIME_OMIT");
	struct timespec om2[2] = {{1500000000, 7}, {0, UTIME_OMIT}};
	T_OK(utimensat(AT_FDCWD, "f", om2, 0), "set atime, UTIME_OMIT mtime");
	st = lst("f");
	check_same_ts(st.st_atim, om2[0], "atime set alongside UTIME_OMIT");
	check_same_ts(st.st_mtim, om[1], "UTIME_OMIT leaves mtime");
	struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
	struct stat b = lst("f");
	sleep_ms(30);
	T_OK(utimensat(AT_FDCWD, "f", now, 0), "UTIME_NOW by root");
	st = lst("f");
	check_recent(st.st_mtim, 120, "UTIME_NOW mtime is now");
	check_recent(st.st_atim, 120, "UTIME_NOW atime is now");
	check_advanced(st.st_ctim, b.st_ctim, "utimensat updates ctime");
	T_OK(utimensat(AT_FDCWD, "f", NULL, 0), "times=NULL by root");
	check_recent(lst("f").st_mtim, 120, "times=NULL sets mtime to now");
	int fd = open("f", O_RDONLY);
	if (fd >= 0) {
		T_OK(futimens(fd, t1), "futimens");
		close(fd);
		check_same_ts(lst("f").st_mtim, t1[1], "futimens read back");
	}
	T_ERR(utimensat(AT_FDCWD, "missing", t1, 0), ENOENT, "utimensat missing");
	MUST(mkdir("d", 0755));
	T_OK(utimensat(AT_FDCWD, "d", t1, 0), "utimensat on a directory");
	check_same_ts(lst("d").st_mtim, t1[1], "directory mtime read back");

	/* symlink itself */
	MUST(symlink("f", "sl"));
	struct timespec ls[2] = {{1100000000, 11}, {1100000001, 22}};
	struct timespec fbefore = lst("f").st_mtim;
	T_OK(utimensat(AT_FDCWD, "sl", ls, AT_SYMLINK_NOFOLLOW), "utimensat AT_SYMLINK_NOFOLLOW on a symlink");
	drop_caches();
	st = lst("sl");
	check_same_ts(st.st_mtim, ls[1], "symlink's own mtime read back");
	check_same_ts(lst("f").st_mtim, fbefore, "target untouched by AT_SYMLINK_NOFOLLOW");

	MUST(mkfile_own("w", 0666, 1000, 1000, "w"));
	MUST(mkfile_own("r", 0644, 1000, 1000, "r"));
	MUST(mkfile_own("ro-own", 0444, 1000, 1000, "r"));
	drop_caches();
	as_user(&U_OTHER, u_utimens, NULL);
	as_user(&U_OWNER, u_utimens, NULL);
}

/* ----------------------------------------------------------------- mknod -- */

static void u_mknod(const struct cred *c, void *arg)
{
	(void)arg;
	T_OK(mkfifo("ufifo", 0640), "%s mkfifo", c->name);
	struct stat st = lst("ufifo");
	T_TRUE(S_ISFIFO(st.st_mode), octal(st.st_mode), "%s fifo type", c->name);
	T_EQ(st.st_uid, c->uid, "%s fifo owner", c->name);
	T_ERR(mknod("uchr", S_IFCHR | 0644, makedev(1, 3)), EPERM, "%s mknod char device", c->name);
	T_ERR(mknod("ublk", S_IFBLK | 0644, makedev(8, 0)), EPERM, "%s mknod block device", c->name);
	T_ERR(mkfifo("ro/fifo", 0644), EACCES, "%s mkfifo in root's 0755 dir", c->name);
}

static void t_mknod(void)
{
	if (enter("mknod"))
		return;
	T_OK(mkfifo("fifo", 0644), "mkfifo");
	struct stat st = lst("fifo");
	T_TRUE(S_ISFIFO(st.st_mode), octal(st.st_mode), "fifo type");
	T_EQO(st.st_mode & 07777, 0644, "fifo mode");
	T_ERR(mkfifo("fifo", 0644), EEXIST, "mkfifo existing");
	T_ERR(mkfifo("nodir/fifo", 0644), ENOENT, "mkfifo in missing dir");
	int fd = T_OK(open("fifo", O_RDWR | O_NONBLOCK), "open fifo O_RDWR");
	if (fd >= 0) {
		char buf[8] = {0};
		T_EQ(write(fd, "ping", 4), 4, "write into fifo");
		T_EQ(read(fd, buf, sizeof buf), 4, "read from fifo");
		T_TRUE(memcmp(buf, "ping", 4) == 0, buf, "fifo passes data");
		close(fd);
	}
	struct {
		mode_t type;
		unsigned maj, min;
	} devs[] = {{S_IFCHR, 1, 3}, {S_IFCHR, 1, 5}, {S_IFCHR, 4, 64}, {S_IFCHR, 136, 5}, {S_IFCHR, 240, 70000},
		    {S_IFBLK, 8, 1}, {S_IFBLK, 7, 0}, {S_IFBLK, 259, 3}, {S_IFBLK, 65, 255}, {S_IFCHR, 0, 0}};
	for (unsigned i = 0; i < sizeof devs / sizeof devs[0]; i++) {
		char n[32];
		const char *t = devs[i].type == S_IFCHR ? "char" : "block";
		snprintf(n, sizeof n, "%s.%u.%u", t, devs[i].maj, devs[i].min);
		if (T_OK(mknod(n, devs[i].type | 0600, makedev(devs[i].maj, devs[i].min)), "mknod %s %u:%u", t, devs[i].maj,
			 devs[i].min) < 0)
			continue;
		drop_caches();
		st = lst(n);
		T_EQO(st.st_mode & S_IFMT, devs[i].type, "%s %u:%u type", t, devs[i].maj, devs[i].min);
		T_EQO(st.st_mode & 07777, 0600, "%s %u:%u mode", t, devs[i].maj, devs[i].min);
		T_EQ(major(st.st_rdev), devs[i].maj, "%s %u:%u st_rdev major", t, devs[i].maj, devs[i].min);
		T_EQ(minor(st.st_rdev), devs[i].min, "%s %u:%u st_rdev minor", t, devs[i].maj, devs[i].min);
	}
	/* the node works as a device: 1:3 is /dev/null, 1:5 is /dev/zero */
	fd = open("char.1.5", O_RDONLY);
	if (fd >= 0) {
		char buf[16];
		memset(buf, 'x', sizeof buf);
		T_EQ(read(fd, buf, sizeof buf), 16, "read the 1:5 node (/dev/zero)");
		T_TRUE(memcmp(buf, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0, "non-zero", "1:5 node reads zeros");
		close(fd);
	} else
		result(0, ename(errno), "open the 1:5 node");
	fd = open("char.1.3", O_RDWR);
	if (fd >= 0) {
		char buf[4];
		T_EQ(write(fd, "abc", 3), 3, "write the 1:3 node (/dev/null)");
		T_EQ(read(fd, buf, sizeof buf), 0, "read the 1:3 node gives EOF");
		close(fd);
	} else
		result(0, ename(errno), "open the 1:3 node");
	T_OK(mknod("reg", S_IFREG | 0640, 0), "mknod S_IFREG");
	st = lst("reg");
	T_TRUE(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0640, octal(st.st_mode), "mknod S_IFREG makes a 0640 file");
	T_OK(mknod("reg0", 0640, 0), "mknod with no type");
	T_TRUE(S_ISREG(lst("reg0").st_mode), octal(lst("reg0").st_mode), "mknod with no type makes a regular file");
	T_OK(mknod("sock", S_IFSOCK | 0755, 0), "mknod S_IFSOCK");
	st = lst("sock");
	T_TRUE(S_ISSOCK(st.st_mode), octal(st.st_mode), "socket node type");
	T_ERR(mknod("fifo", S_IFCHR | 0600, makedev(1, 3)), EEXIST, "mknod over existing name");
	T_ERR(mknod("nodir/c", S_IFCHR | 0600, makedev(1, 3)), ENOENT, "mknod in missing directory");

	MUST(mkdir("ro", 0755));
	as_user(&U_OWNER, u_mknod, NULL);
}

/* ----------------------------------------------------------------- names -- */

static void t_names(void)
{
	if (enter("names"))
		return;
	char n255[256], n256[257], o255[256], path[6000];
	memset(n255, 'n', 255);
	n255[255] = 0;
	memset(n256, 'n', 256);
	n256[256] = 0;
	memset(o255, 'o', 255);
	o255[255] = 0;
	int fd = T_OK(open(n255, O_CREAT | O_EXCL | O_WRONLY, 0644), "create 255-byte name");
	if (fd >= 0)
		close(fd);
	struct stat st;
	T_OK(stat(n255, &st), "stat 255-byte name");
	DIR *d = opendir(".");
	int found = 0;
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, n255) == 0)
				found++;
		closedir(d);
	}
	T_EQ(found, 1, "readdir lists the 255-byte name");
	T_OK(rename(n255, o255), "rename to a 255-byte name");
	T_OK(link(o255, n255), "link to a 255-byte name");
	T_OK(unlink(n255), "unlink 255-byte name");
	T_OK(unlink(o255), "unlink other 255-byte name");
	T_OK(mkdir(n255, 0755), "mkdir 255-byte name");
	T_OK(rmdir(n255), "rmdir 255-byte name");
	T_OK(symlink("target", n255), "symlink with 255-byte name");
	T_OK(lstat(n255, &st), "lstat 255-byte symlink name");
	T_OK(unlink(n255), "unlink 255-byte symlink");
	T_OK(mkfifo(n255, 0644), "mkfifo 255-byte name");
	T_OK(unlink(n255), "unlink 255-byte fifo");

	MUST(mkfile("f", 0644, "x"));
	MUST(mkdir("d", 0755));
	T_ERR(open(n256, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG, "create 256-byte name");
	T_ERR(open(n256, O_RDONLY), ENAMETOOLONG, "open 256-byte name");
	T_ERR(stat(n256, &st), ENAMETOOLONG, "stat 256-byte name");
	T_ERR(mkdir(n256, 0755), ENAMETOOLONG, "mkdir 256-byte name");
	T_ERR(rmdir(n256), ENAMETOOLONG, "rmdir 256-byte name");
	T_ERR(unlink(n256), ENAMETOOLONG, "unlink 256-byte name");
	T_ERR(symlink("t", n256), ENAMETOOLONG, "symlink with 256-byte name");
	T_ERR(link("f", n256), ENAMETOOLONG, "link to 256-byte name");
	T_ERR(rename("f", n256), ENAMETOOLONG, "rename to 256-byte name");
	T_ERR(mkfifo(n256, 0644), ENAMETOOLONG, "mkfifo 256-byte name");
	T_ERR(chmod(n256, 0644), ENAMETOOLONG, "chmod 256-byte name");
	snprintf(path, sizeof path, "d/%s", n256);
	T_ERR(open(path, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG, "create 256-byte name in a subdirectory");
	T_TRUE(exists("f"), "gone", "failed rename left the file");

	/* whole path longer than PATH_MAX */
	size_t p = 0;
	while (p + 4 < 5000) {
		memcpy(path + p, "d/..", 4);
		p += 4;
		path[p++] = '/';
	}
	memcpy(path + p, "f", 2);
	T_ERR(stat(path, &st), ENAMETOOLONG, "stat a path longer than PATH_MAX");

	/* odd but legal names */
	static const char *odd[] = {"with space", "tab\tname", "new\nline", "üñíçødé-ユニコード", "-leading-dash", "...",
				    "..a", ".hidden", "back\\slash", "colon:name", "star*?[]", "quote'\"", "%percent%s",
				    "a", "~tilde", "emoji-😀"};
	int n = sizeof odd / sizeof odd[0];
	MUST(mkdir("odd", 0755));
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "odd/%s", odd[i]);
		fd = T_OK(open(path, O_CREAT | O_EXCL | O_WRONLY, 0644), "create odd name #%d", i);
		if (fd >= 0)
			close(fd);
	}
	drop_caches();
	int seen[32] = {0}, extra = 0;
	d = opendir("odd");
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			int k;
			for (k = 0; k < n; k++)
				if (!strcmp(de->d_name, odd[k])) {
					seen[k]++;
					break;
				}
			if (k == n)
				extra++;
		}
		closedir(d);
	}
	for (int i = 0; i < n; i++)
		T_EQ(seen[i], 1, "odd name #%d listed exactly once", i);
	T_EQ(extra, 0, "no unexpected names listed");
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "odd/%s", odd[i]);
		T_OK(stat(path, &st), "stat odd name #%d after dropping caches", i);
	}
	/* case sensitivity */
	MUST(mkfile("Case", 0644, "upper"));
	T_OK(mkfile("case", 0644, "lower"), "create name differing only in case");
	check_content("Case", "upper", "names are case-sensitive");
	T_TRUE(lst("Case").st_ino != lst("case").st_ino, "same inode", "case-different names are different files");
}

/* ---------------------------------------------------- search permissions -- */

static void u_search(const struct cred *c, void *arg)
{
	(void)arg;
	struct stat st;
	char buf[64];
	if (c->uid == U_OTHER.uid) {
		T_ERR(stat("s700/f", &st), EACCES, "%s stat in 0700 dir of another user", c->name);
		T_ERR(open("s700/f", O_RDONLY), EACCES, "%s open in 0700 dir of another user", c->name);
		T_ERR(mkdir("s700/x", 0755), EACCES, "%s mkdir in 0700 dir", c->name);
		T_ERR(unlink("s700/f"), EACCES, "%s unlink in 0700 dir", c->name);
		T_ERR(rename("s700/f", "g"), EACCES, "%s rename out of 0700 dir", c->name);
		T_ERR(chdir("s700"), EACCES, "%s chdir into 0700 dir", c->name);
		T_TRUE(opendir("s700") == NULL && errno == EACCES, ename(errno), "%s opendir 0700 dir", c->name);
		T_ERR(readlink("s700/l", buf, sizeof buf), EACCES, "%s readlink in 0700 dir", c->name);
		T_ERR(stat("s700/sub/g", &st), EACCES, "%s stat two levels below 0700 dir", c->name);
		T_OK(stat("s711/f", &st), "%s stat in 0711 dir (search only)", c->name);
		check_content("s711/f", "data", "read in 0711 dir");
		T_TRUE(opendir("s711") == NULL && errno == EACCES, ename(errno), "%s opendir 0711 dir (no read)", c->name);
		DIR *d = opendir("s744");
		T_TRUE(d != NULL, ename(errno), "%s opendir 0744 dir (read only)", c->name);
		if (d) {
			int names = 0;
			struct dirent *de;
			while ((de = readdir(d)))
				if (de->d_name[0] != '.')
					names++;
			closedir(d);
			T_EQ(names, 2, "%s readdir of 0744 dir lists names", c->name);
		}
		T_ERR(stat("s744/f", &st), EACCES, "%s stat in 0744 dir (no search)", c->name);
		T_ERR(open("s744/f", O_RDONLY), EACCES, "%s open in 0744 dir (no search)", c->name);
		T_ERR(stat("a/b/c/f", &st), EACCES, "%s stat below a 0700 dir in the middle of the path", c->name);
		T_OK(stat("a/x", &st), "%s stat beside the 0700 dir", c->name);
		T_OK(stat("own077/f", &st), "%s stat in 0077 dir (others may search)", c->name);
	} else if (c->uid == U_OWNER.uid) {
		T_OK(stat("s700/f", &st), "%s stat in own 0700 dir", c->name);
		T_OK(stat("a/b/c/f", &st), "%s stat below own 0700 dir", c->name);
		T_ERR(stat("own077/f", &st), EACCES, "%s stat in own 0077 dir (owner class has no search)", c->name);
		T_ERR(open("own077/new", O_CREAT | O_WRONLY, 0644), EACCES, "%s create in own 0077 dir", c->name);
	} else if (c->uid == U_GMEM.uid) {
		T_OK(stat("own077/f", &st), "%s stat in 0077 dir via group", c->name);
		T_ERR(stat("g707/f", &st), EACCES, "%s stat in 0707 dir of its group (group class has no search)", c->name);
	}
}

static void t_search(void)
{
	if (enter("search"))
		return;
	MUST(mkdir_own("s700", 0755, 1000, 1000));
	MUST(mkfile("s700/f", 0644, "data"));
	MUST(symlink("f", "s700/l"));
	MUST(mkdir("s700/sub", 0777));
	MUST(mkfile("s700/sub/g", 0644, "g"));
	MUST(chmod("s700", 0700));
	MUST(mkdir_own("s711", 0711, 1000, 1000));
	MUST(mkfile("s711/f", 0644, "data"));
	MUST(mkdir_own("s744", 0755, 1000, 1000));
	MUST(mkfile("s744/f", 0644, "data"));
	MUST(mkfile("s744/g", 0644, "data"));
	MUST(chmod("s744", 0744));
	MUST(mkdir("a", 0755));
	MUST(mkdir_own("a/b", 0755, 1000, 1000));
	MUST(mkdir("a/b/c", 0777));
	MUST(mkfile("a/b/c/f", 0644, "f"));
	MUST(chmod("a/b", 0700));
	MUST(mkfile("a/x", 0644, "x"));
	MUST(mkdir_own("own077", 0777, 1000, 2000));
	MUST(mkfile("own077/f", 0644, "f"));
	MUST(chmod("own077", 0077));
	MUST(mkdir_own("g707", 0777, 1000, 2000));
	MUST(mkfile("g707/f", 0644, "f"));
	MUST(chmod("g707", 0707));
	drop_caches();
	as_user(&U_OTHER, u_search, NULL);
	as_user(&U_OWNER, u_search, NULL);
	as_user(&U_GMEM, u_search, NULL);
	/* root searches anything */
	MUST(mkdir("zero", 0755));
	MUST(mkfile("zero/f", 0644, "rootonly"));
	MUST(chmod("zero", 0000));
	drop_caches();
	struct stat st;
	T_OK(stat("zero/f", &st), "root stats inside a mode 0000 dir");
	check_content("zero/f", "rootonly", "root reads inside a mode 0000 dir");
	int fd = T_OK(open("zero/new", O_CREAT | O_EXCL | O_WRONLY, 0644), "root creates inside a mode 0000 dir");
	if (fd >= 0)
		close(fd);
	T_OK(unlink("zero/new"), "root unlinks inside a mode 0000 dir");
	MUST(chmod("zero", 0755));
}

/* ----------------------------------------------------------------- nlink -- */

static void t_nlink(void)
{
	if (enter("nlink"))
		return;
	MUST(mkdir("n", 0755));
	T_EQ(lst("n").st_nlink, 2, "empty dir nlink 2");
	for (int k = 1; k <= 10; k++) {
		char p[32];
		snprintf(p, sizeof p, "n/s%d", k);
		MUST(mkdir(p, 0755));
		T_EQ(lst("n").st_nlink, 2 + k, "dir with %d subdirs has nlink %d", k, 2 + k);
	}
	for (int k = 1; k <= 5; k++) {
		char p[32];
		snprintf(p, sizeof p, "n/f%d", k);
		MUST(mkfile(p, 0644, "x"));
	}
	MUST(symlink("s1", "n/sl"));
	T_EQ(lst("n").st_nlink, 12, "files and symlinks do not change dir nlink");
	MUST(mkdir("n/s1/deep", 0755));
	T_EQ(lst("n").st_nlink, 12, "grandchildren do not change dir nlink");
	T_EQ(lst("n/s1").st_nlink, 3, "subdir with one child has nlink 3");
	drop_caches();
	T_EQ(lst("n").st_nlink, 12, "dir nlink after dropping caches");
	MUST(mkdir("m", 0755));
	T_OK(rename("n/s10", "m/s10"), "move a subdir to another parent");
	T_EQ(lst("n").st_nlink, 11, "old parent nlink after move");
	T_EQ(lst("m").st_nlink, 3, "new parent nlink after move");
	T_OK(rename("n/s9", "n/s9b"), "rename a subdir within its parent");
	T_EQ(lst("n").st_nlink, 11, "nlink unchanged by rename within parent");
	MUST(mkdir("m/t", 0755));
	T_OK(rename("n/s8", "m/t"), "move a subdir over an empty dir of the other parent");
	T_EQ(lst("n").st_nlink, 10, "old parent nlink after move over");
	T_EQ(lst("m").st_nlink, 4, "new parent nlink after move over (replaced dir not counted twice)");
	for (int k = 7; k >= 2; k--) {
		char p[32];
		snprintf(p, sizeof p, "n/s%d", k);
		MUST(rmdir(p));
		T_EQ(lst("n").st_nlink, 2 + k - 1 + 1, "nlink after removing s%d", k);
	}
	drop_caches();
	T_EQ(lst("n").st_nlink, 4, "nlink after removals, dropped caches");

	/* files */
	MUST(mkfile("file", 0644, "x"));
	for (int k = 1; k <= 6; k++) {
		char p[32];
		snprintf(p, sizeof p, "m/l%d", k);
		MUST(link("file", p));
		T_EQ(lst("file").st_nlink, 1 + k, "file nlink %d after %d links", 1 + k, k);
		T_EQ(lst(p).st_nlink, 1 + k, "nlink %d through new name", 1 + k);
	}
	drop_caches();
	T_EQ(lst("m/l3").st_nlink, 7, "file nlink after dropping caches");
	for (int k = 6; k >= 1; k--) {
		char p[32];
		snprintf(p, sizeof p, "m/l%d", k);
		MUST(unlink(p));
		T_EQ(lst("file").st_nlink, k, "file nlink %d after unlinking l%d", k, k);
	}
}

/* ----------------------------------------------------------------- times -- */

static const struct timespec T0[2] = {{1000000000, 0}, {1000000000, 0}};

static void age(const char *p)
{
	MUST(utimensat(AT_FDCWD, p, T0, AT_SYMLINK_NOFOLLOW));
}

/* Before/after an operation on the directory `dir` (and maybe a child). */
struct tsnap {
	struct stat st;
};

static void dir_changed(const char *dir, struct stat *before, const char *op)
{
	drop_caches();
	struct stat a = lst(dir);
	check_advanced(a.st_mtim, before->st_mtim, "%s updates the parent's mtime", op);
	check_advanced(a.st_ctim, before->st_ctim, "%s updates the parent's ctime", op);
	check_recent(a.st_mtim, 120, "%s: parent's mtime is now", op);
}

static struct stat prepare_dir(const char *dir)
{
	age(dir);
	struct stat b = lst(dir);
	sleep_ms(30);
	return b;
}

static void t_times(void)
{
	if (enter("times"))
		return;
	struct stat b, a, c;
	MUST(mkdir("d", 0755));
	MUST(mkdir("d2", 0755));

	b = prepare_dir("d");
	int fd = T_OK(open("d/f", O_CREAT | O_EXCL | O_WRONLY, 0644), "create file");
	if (fd >= 0)
		close(fd);
	dir_changed("d", &b, "create");
	a = lst("d/f");
	check_recent(a.st_mtim, 120, "new file mtime is now");
	check_recent(a.st_ctim, 120, "new file ctime is now");
	check_recent(a.st_atim, 120, "new file atime is now");

	b = prepare_dir("d");
	T_OK(mkdir("d/sub", 0755), "mkdir");
	dir_changed("d", &b, "mkdir");
	b = prepare_dir("d");
	T_OK(rmdir("d/sub"), "rmdir");
	dir_changed("d", &b, "rmdir");
	b = prepare_dir("d");
	T_OK(symlink("f", "d/sl"), "symlink");
	dir_changed("d", &b, "symlink");
	b = prepare_dir("d");
	T_OK(mkfifo("d/fifo", 0644), "mkfifo");
	dir_changed("d", &b, "mkfifo");

	/* link: directory and file */
	b = prepare_dir("d");
	c = lst("d/f");
	T_OK(link("d/f", "d/f.link"), "link");
	dir_changed("d", &b, "link");
	check_advanced(lst("d/f").st_ctim, c.st_ctim, "link updates the file's ctime");

	/* unlink of one of two links: dir and the remaining link's ctime */
	b = prepare_dir("d");
	c = lst("d/f");
	T_OK(unlink("d/f.link"), "unlink");
	dir_changed("d", &b, "unlink");
	check_advanced(lst("d/f").st_ctim, c.st_ctim, "unlink updates the remaining link's ctime");

	/* rename within and across directories */
	b = prepare_dir("d");
	T_OK(rename("d/f", "d/g"), "rename within dir");
	dir_changed("d", &b, "rename within dir");
	age("d2");
	b = prepare_dir("d");
	struct stat b2 = lst("d2");
	c = lst("d/g");
	T_OK(rename("d/g", "d2/g"), "rename across dirs");
	dir_changed("d", &b, "rename (source dir)");
	dir_changed("d2", &b2, "rename (target dir)");
	check_advanced(lst("d2/g").st_ctim, c.st_ctim, "rename updates the moved file's ctime");

	/* write: file mtime+ctime, not the parent */
	age("d2/g");
	age("d2");
	b = lst("d2/g");
	b2 = lst("d2");
	sleep_ms(30);
	fd = open("d2/g", O_WRONLY);
	if (fd >= 0) {
		T_EQ(write(fd, "data", 4), 4, "write for time check");
		close(fd);
	}
	drop_caches();
	a = lst("d2/g");
	check_advanced(a.st_mtim, b.st_mtim, "write updates mtime");
	check_advanced(a.st_ctim, b.st_ctim, "write updates ctime");
	check_recent(a.st_mtim, 120, "write: mtime is now");
	check_same_ts(lst("d2").st_mtim, b2.st_mtim, "write leaves the parent's mtime");

	/* read: mtime and ctime unchanged */
	age("d2/g");
	b = lst("d2/g");
	sleep_ms(30);
	char buf[8];
	fd = open("d2/g", O_RDONLY);
	if (fd >= 0) {
		T_EQ(read(fd, buf, sizeof buf), 4, "read for time check");
		close(fd);
	}
	drop_caches();
	a = lst("d2/g");
	check_same_ts(a.st_mtim, b.st_mtim, "read leaves mtime");
	check_same_ts(a.st_ctim, b.st_ctim, "read leaves ctime");

	/* chmod / chown: ctime only */
	b = lst("d2/g");
	sleep_ms(30);
	T_OK(chmod("d2/g", 0600), "chmod for time check");
	drop_caches();
	a = lst("d2/g");
	check_advanced(a.st_ctim, b.st_ctim, "chmod updates ctime");
	check_same_ts(a.st_mtim, b.st_mtim, "chmod leaves mtime");
	b = a;
	sleep_ms(30);
	T_OK(chown("d2/g", 1000, 1000), "chown for time check");
	drop_caches();
	a = lst("d2/g");
	check_advanced(a.st_ctim, b.st_ctim, "chown updates ctime");
	check_same_ts(a.st_mtim, b.st_mtim, "chown leaves mtime");

	/* truncate and O_TRUNC */
	b = lst("d2/g");
	sleep_ms(30);
	T_OK(truncate("d2/g", 1), "truncate for time check");
	drop_caches();
	a = lst("d2/g");
	check_advanced(a.st_mtim, b.st_mtim, "truncate updates mtime");
	check_advanced(a.st_ctim, b.st_ctim, "truncate updates ctime");
	age("d2/g");
	b = lst("d2/g");
	sleep_ms(30);
	fd = open("d2/g", O_WRONLY | O_TRUNC);
	if (fd >= 0)
		close(fd);
	drop_caches();
	a = lst("d2/g");
	check_advanced(a.st_mtim, b.st_mtim, "O_TRUNC of a non-empty file updates mtime");
	check_advanced(a.st_ctim, b.st_ctim, "O_TRUNC of a non-empty file updates ctime");
}

/* --------------------------------------------------------------- readdir -- */

static void t_readdir(void)
{
	if (enter("readdir"))
		return;
	MUST(mkdir("r", 0755));
	enum { N = 150 };
	char p[300];
	for (int i = 0; i < N; i++) {
		snprintf(p, sizeof p, "r/entry-%03d-%s", i, i % 3 == 0 ? "a-much-longer-name-to-fill-readdir-pages" : "x");
		if (i % 10 == 9)
			MUST(mkdir(p, 0755));
		else if (i % 10 == 8)
			MUST(symlink("target", p));
		else
			MUST(mkfile(p, 0644, ""));
	}
	drop_caches();
	int seen[N] = {0}, extra = 0, dots = 0, badino = 0, badtype = 0;
	DIR *d = opendir("r");
	T_TRUE(d != NULL, ename(errno), "opendir");
	if (!d)
		return;
	static char names[N + 8][256];
	static long poss[N + 8];
	int count = 0;
	struct dirent *de;
	for (;;) {
		long pos = telldir(d);
		if (!(de = readdir(d)))
			break;
		if (count < N + 8) {
			poss[count] = pos;
			snprintf(names[count], sizeof names[count], "%s", de->d_name);
		}
		count++;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
			dots++;
			continue;
		}
		int i;
		if (sscanf(de->d_name, "entry-%03d-", &i) != 1 || i < 0 || i >= N) {
			extra++;
			continue;
		}
		seen[i]++;
		snprintf(p, sizeof p, "r/%s", de->d_name);
		struct stat st = lst(p);
		if (st.st_ino != de->d_ino)
			badino++;
		int want = i % 10 == 9 ? DT_DIR : i % 10 == 8 ? DT_LNK : DT_REG;
		if (de->d_type != DT_UNKNOWN && de->d_type != want)
			badtype++;
	}
	int missing = 0, dup = 0;
	for (int i = 0; i < N; i++) {
		if (seen[i] == 0)
			missing++;
		if (seen[i] > 1)
			dup++;
	}
	T_EQ(count, N + 2, "listing has %d entries plus . and ..", N);
	T_EQ(missing, 0, "no entry missing from the listing of %d", N);
	T_EQ(dup, 0, "no entry listed twice");
	T_EQ(extra, 0, "no unexpected entries");
	T_EQ(dots, 2, "\".\" and \"..\" listed once each");
	T_EQ(badino, 0, "d_ino equals st_ino for every entry");
	T_EQ(badtype, 0, "d_type agrees with the file type (or DT_UNKNOWN)");
	/* seekdir to positions from telldir: the same entry comes next (cookies) */
	if (count == N + 2) {
		static const int at[] = {N / 2, N - 1, 3, N + 1};
		for (unsigned k = 0; k < sizeof at / sizeof at[0]; k++) {
			seekdir(d, poss[at[k]]);
			de = readdir(d);
			T_TRUE(de && strcmp(de->d_name, names[at[k]]) == 0, de ? de->d_name : "end of directory",
			       "seekdir to the telldir position of entry %d resumes there", at[k]);
			int rest = de ? 1 : 0;
			while (readdir(d))
				rest++;
			T_EQ(rest, N + 2 - at[k], "listing after seekdir to entry %d has the remaining entries", at[k]);
		}
	}
	rewinddir(d);
	int again = 0;
	while ((de = readdir(d)))
		again++;
	T_EQ(again, N + 2, "rewinddir lists everything again");
	closedir(d);

	/* remove every other entry; listing follows */
	for (int i = 0; i < N; i += 2) {
		snprintf(p, sizeof p, "r/entry-%03d-%s", i, i % 3 == 0 ? "a-much-longer-name-to-fill-readdir-pages" : "x");
		if (i % 10 == 9)
			MUST(rmdir(p));
		else
			MUST(unlink(p));
	}
	drop_caches();
	d = opendir("r");
	int left = 0, wrong = 0;
	while (d && (de = readdir(d))) {
		int i;
		if (sscanf(de->d_name, "entry-%03d-", &i) == 1) {
			left++;
			if (i % 2 == 0)
				wrong++;
		}
	}
	if (d)
		closedir(d);
	T_EQ(left, N / 2, "half the entries left after removals");
	T_EQ(wrong, 0, "removed entries no longer listed");
	MUST(mkdir("emptydir", 0755));
	d = opendir("emptydir");
	int e = 0;
	while (d && (de = readdir(d)))
		e++;
	if (d)
		closedir(d);
	T_EQ(e, 2, "empty directory lists only . and ..");
}

/* -------------------------------------------------------------------- io -- */

static void t_io(void)
{
	if (enter("io"))
		return;
	int fd = open("h", O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0) {
		result(0, ename(errno), "create io file");
		return;
	}
	/* 4-byte tags, apart, some across 4 KiB / 64 KiB / 128 KiB boundaries */
	static const off_t offs[] = {0, 4093, 4097, 65533, 65537, 131070, 200000 - 8, 1 << 20, (1 << 20) + 12345};
	for (unsigned i = 0; i < sizeof offs / sizeof offs[0]; i++) {
		char tag[16];
		snprintf(tag, sizeof tag, "<%02u>", i);
		T_EQ(pwrite(fd, tag, 4, offs[i]), 4, "pwrite 4 bytes at %lld", (long long)offs[i]);
	}
	struct stat st;
	fstat(fd, &st);
	T_EQ(st.st_size, (1 << 20) + 12345 + 4, "size after pwrites");
	fsync(fd);
	close(fd);
	drop_caches();
	fd = open("h", O_RDONLY);
	for (unsigned i = 0; i < sizeof offs / sizeof offs[0]; i++) {
		char tag[16], got[8] = {0};
		snprintf(tag, sizeof tag, "<%02u>", i);
		T_EQ(pread(fd, got, 4, offs[i]), 4, "pread 4 bytes at %lld", (long long)offs[i]);
		T_TRUE(memcmp(got, tag, 4) == 0, got, "data at %lld", (long long)offs[i]);
	}
	static char zbuf[65536], zero[65536];
	T_EQ(pread(fd, zbuf, sizeof zbuf, 300000), sizeof zbuf, "pread 64 KiB inside a hole");
	T_TRUE(memcmp(zbuf, zero, sizeof zbuf) == 0, "non-zero", "hole reads as zeros");
	T_EQ(pread(fd, zbuf, 10, (1 << 20) + 12345 + 4), 0, "pread at EOF returns 0");
	T_EQ(pread(fd, zbuf, 10, 10 << 20), 0, "pread past EOF returns 0");
	T_EQ(lseek(fd, 0, SEEK_END), (1 << 20) + 12345 + 4, "lseek SEEK_END");
	close(fd);
	fd = open("h", O_WRONLY);
	T_EQ(write(fd, "", 0), 0, "zero-length write");
	T_OK(fsync(fd), "fsync");
	T_OK(fdatasync(fd), "fdatasync");
	close(fd);

	/* several descriptors on one file see each other's writes */
	int a = open("share", O_CREAT | O_RDWR | O_TRUNC, 0644);
	int b = open("share", O_RDWR);
	if (a >= 0 && b >= 0) {
		T_EQ(pwrite(a, "first", 5, 0), 5, "write via fd a");
		char got[8] = {0};
		T_EQ(pread(b, got, 5, 0), 5, "read via fd b");
		T_TRUE(memcmp(got, "first", 5) == 0, got, "fd b sees fd a's write");
		T_EQ(pwrite(b, "SECOND", 6, 3), 6, "write via fd b");
		memset(got, 0, sizeof got);
		T_EQ(pread(a, got, 8, 0), 8, "read via fd a");
		T_TRUE(memcmp(got, "firSECON", 8) == 0, got, "fd a sees fd b's overlapping write");
	}
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	drop_caches();
	check_content("share", "firSECOND", "overlapping writes after dropping caches");

	/* statvfs */
	struct statvfs sv;
	T_OK(statvfs(".", &sv), "statvfs");
	T_TRUE(sv.f_bsize > 0 && sv.f_blocks > 0, "zero", "statvfs block size and count");
	T_TRUE(sv.f_bfree <= sv.f_blocks && sv.f_bavail <= sv.f_blocks, "inconsistent", "statvfs free <= total");
	T_TRUE(sv.f_namemax >= 255, "too small", "statvfs f_namemax >= 255");
}

/* ----------------------------------------------------------------- main --- */

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(p) < 0 && errno != ENOENT ? 0 : 0;
	unlink(p);
	return 0;
}

static int chmod_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(p, 0755);
	(void)sb;
	return 0;
}

static const struct {
	const char *name;
	void (*fn)(void);
} sections[] = {
    {"open", t_open},
    {"perm-files", t_file_matrix},
    {"perm-dirs", t_dir_matrix},
    {"mkdir", t_mkdir},
    {"rmdir", t_rmdir},
    {"unlink", t_unlink},
    {"rename", t_rename},
    {"link", t_link},
    {"symlink", t_symlink},
    {"chmod", t_chmod},
    {"chown", t_chown},
    {"truncate", t_truncate},
    {"utimensat", t_utimens},
    {"mknod", t_mknod},
    {"names", t_names},
    {"search", t_search},
    {"nlink", t_nlink},
    {"times", t_times},
    {"readdir", t_readdir},
    {"io", t_io},
};

static void usage(void)
{
	fprintf(stderr, "usage: posix_suite [-v] [-k] [-n|-l] [-s SECTION,...] DIR\nsections:");
	for (unsigned i = 0; i < sizeof sections / sizeof sections[0]; i++)
		fprintf(stderr, " %s", sections[i].name);
	fprintf(stderr, "\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int keep = 0, force = -1, opt;
	const char *only = NULL;
	while ((opt = getopt(argc, argv, "vknls:")) != -1) {
		switch (opt) {
		case 'v': verbose = 1; break;
		case 'k': keep = 1; break;
		case 'n': force = 1; break;
		case 'l': force = 0; break;
		case 's': only = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("Bail out! posix_suite must run as root\n");
		return 2;
	}
	C = mmap(NULL, sizeof *C, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (C == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	const char *base = argv[optind];
	struct statfs sfs;
	if (statfs(base, &sfs) < 0) {
		printf("Bail out! statfs %s: %s\n", base, strerror(errno));
		return 2;
	}
	nfs_mode = sfs.f_type == NFS_SUPER_MAGIC;
	const char *env = getenv("POSIX_SUITE_NFS");
	if (env && *env)
		nfs_mode = atoi(env) != 0;
	if (force >= 0)
		nfs_mode = force;
	snprintf(workdir, sizeof workdir, "%s/posix_suite.%d", base, (int)getpid());
	umask(0);
	if (mkdir(workdir, 0777) < 0 || chmod(workdir, 0777) < 0) {
		printf("Bail out! mkdir %s: %s\n", workdir, strerror(errno));
		return 2;
	}
	/* make the path absolute so that enter() works from anywhere */
	if (workdir[0] != '/') {
		char cwd[PATH_MAX], tmp[2 * PATH_MAX + 2];
		if (getcwd(cwd, sizeof cwd)) {
			snprintf(tmp, sizeof tmp, "%s/%s", cwd, workdir);
			if (strlen(tmp) < sizeof workdir)
				memcpy(workdir, tmp, strlen(tmp) + 1);
		}
	}
	note("posix_suite in %s, %s mode", workdir, nfs_mode ? "NFS" : "local");
	struct timeval t0, t1;
	gettimeofday(&t0, NULL);
	for (unsigned i = 0; i < sizeof sections / sizeof sections[0]; i++) {
		if (only) {
			char buf[512];
			snprintf(buf, sizeof buf, ",%s,", only);
			char key[64];
			snprintf(key, sizeof key, ",%s,", sections[i].name);
			if (!strstr(buf, key))
				continue;
		}
		struct timeval s0, s1;
		gettimeofday(&s0, NULL);
		int p0 = C->pass, f0 = C->fail;
		sections[i].fn();
		umask(0);
		gettimeofday(&s1, NULL);
		note("section %s: %d passed, %d failed, %.1fs", sections[i].name, C->pass - p0, C->fail - f0,
		     (s1.tv_sec - s0.tv_sec) + (s1.tv_usec - s0.tv_usec) / 1e6);
	}
	cur_section = "";
	if (chdir("/") < 0) { /* ignore */ }
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	if (!keep) {
		nftw(workdir, chmod_cb, 32, FTW_PHYS);
		nftw(workdir, rm_cb, 32, FTW_DEPTH | FTW_PHYS);
		if (exists(workdir))
			note("could not remove %s completely", workdir);
	}
	gettimeofday(&t1, NULL);
	note("total time %.1fs", (t1.tv_sec - t0.tv_sec) + (t1.tv_usec - t0.tv_usec) / 1e6);
	printf("1..%d\n", C->n);
	printf("%d passed, %d failed\n", C->pass, C->fail);
	return C->fail ? 1 : 0;
}
