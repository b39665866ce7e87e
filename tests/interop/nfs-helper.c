/*
 * nfs-helper: the namespace operations libnfs-utils lacks (it ships only
 * nfs-ls, nfs-cp and nfs-cat), done through libnfs itself so that they are
 * interop checks too.
 *
 *   nfs-helper URL mkdir PATH
 *   nfs-helper URL rmdir PATH
 *   nfs-helper URL unlink PATH
 *   nfs-helper URL populate DIR N     create DIR/entry-0000 .. entry-(N-1)
 *   nfs-helper URL count DIR          print the number of entries (no . ..)
 *   nfs-helper URL rmtree DIR         remove DIR and everything below it
 *
 * URL names the export, e.g.
 *   nfs://127.0.0.1/?version=3&nfsport=12049&mountport=12050
 * PATHs are absolute within the export ("/dir/file").
 *
 * Build: gcc -O2 -Wall -o nfs-helper nfs-helper.c -lnfs
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw-nfs.h>

static struct nfs_context *nfs;

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "nfs-helper: %s %s: %s\n", what, path, nfs_get_error(nfs));
	return 1;
}

static int rmtree(const char *path)
{
	struct nfsdir *d;
	if (nfs_opendir(nfs, path, &d) < 0)
		return fail("opendir", path);
	/* collect names first: do not modify the directory while reading it */
	size_t n = 0, cap = 64;
	char **names = malloc(cap * sizeof *names);
	int *isdir = malloc(cap * sizeof *isdir);
	struct nfsdirent *e;
	while ((e = nfs_readdir(nfs, d))) {
		if (!strcmp(e->name, ".") || !strcmp(e->name, ".."))
			continue;
		if (n == cap) {
			cap *= 2;
			names = realloc(names, cap * sizeof *names);
			isdir = realloc(isdir, cap * sizeof *isdir);
		}
		names[n] = strdup(e->name);
		isdir[n] = e->type == NF3DIR;
		n++;
	}
	nfs_closedir(nfs, d);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char *p = malloc(strlen(path) + strlen(names[i]) + 2);
		sprintf(p, "%s/%s", path, names[i]);
		if (isdir[i])
			rc |= rmtree(p);
		else if (nfs_unlink(nfs, p) < 0)
			rc |= fail("unlink", p);
		free(p);
		free(names[i]);
	}
	free(names);
	free(isdir);
	if (nfs_rmdir(nfs, path) < 0)
		rc |= fail("rmdir", path);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: nfs-helper URL mkdir|rmdir|unlink|populate|count|rmtree PATH [N]\n");
		return 2;
	}
	nfs = nfs_init_context();
	if (!nfs) {
		fprintf(stderr, "nfs-helper: nfs_init_context failed\n");
		return 1;
	}
	struct nfs_url *url = nfs_parse_url_dir(nfs, argv[1]);
	if (!url) {
		fprintf(stderr, "nfs-helper: bad URL %s: %s\n", argv[1], nfs_get_error(nfs));
		return 2;
	}
	if (nfs_mount(nfs, url->server, url->path) < 0)
		return fail("mount", url->path);
	const char *cmd = argv[2], *path = argv[3];
	int rc = 0;
	if (!strcmp(cmd, "mkdir")) {
		if (nfs_mkdir(nfs, path) < 0)
			rc = fail("mkdir", path);
	} else if (!strcmp(cmd, "rmdir")) {
		if (nfs_rmdir(nfs, path) < 0)
			rc = fail("rmdir", path);
	} else if (!strcmp(cmd, "unlink")) {
		if (nfs_unlink(nfs, path) < 0)
			rc = fail("unlink", path);
	} else if (!strcmp(cmd, "populate") && argc == 5) {
		int n = atoi(argv[4]);
		char *p = malloc(strlen(path) + 32);
		for (int i = 0; i < n && !rc; i++) {
			struct nfsfh *fh;
			sprintf(p, "%s/entry-%04d", path, i);
			if (nfs_creat(nfs, p, 0644, &fh) < 0)
				rc = fail("creat", p);
			else
				nfs_close(nfs, fh);
		}
		free(p);
	} else if (!strcmp(cmd, "count")) {
		struct nfsdir *d;
		if (nfs_opendir(nfs, path, &d) < 0) {
			rc = fail("opendir", path);
		} else {
			long n = 0;
			struct nfsdirent *e;
			while ((e = nfs_readdir(nfs, d)))
				if (strcmp(e->name, ".") && strcmp(e->name, ".."))
					n++;
			nfs_closedir(nfs, d);
			printf("%ld\n", n);
		}
	} else if (!strcmp(cmd, "rmtree")) {
		rc = rmtree(path);
	} else {
		fprintf(stderr, "nfs-helper: unknown command %s\n", cmd);
		rc = 2;
	}
	nfs_umount(nfs);
	nfs_destroy_url(url);
	nfs_destroy_context(nfs);
	return rc;
}
