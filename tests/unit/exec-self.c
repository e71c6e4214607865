// SPDX-License-Identifier: GPL-2.0
/*
 * exec-self: a program that re-executes itself the way servers do, for
 * shim-exec. It calls execve() itself, as nginx does.
 *   exec-self probe             print LD_PRELOAD and YASMIN_CONF ("-" unset)
 *   exec-self self [VAR=VAL]    exec its own image with only VAR=VAL (or
 *                               nothing) in the environment, to "probe"
 *   exec-self upgrade           replace its own file with a copy of itself
 *                               (a new inode at the same path), then exec
 *                               that path with an empty environment
 *   exec-self other             exec /bin/sh with an empty environment
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *or_dash(const char *s)
{
	return s ? s : "-";
}

int main(int argc, char **argv)
{
	char *probe[] = { argv[0], "probe", NULL };
	char *none[] = { NULL }, *one[] = { argc > 2 ? argv[2] : NULL, NULL };
	char *sh[] = { "sh", "-c",
		       "echo LD_PRELOAD=${LD_PRELOAD:--} YASMIN_CONF=${YASMIN_CONF:--}",
		       NULL };

	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "probe")) {
		printf("LD_PRELOAD=%s YASMIN_CONF=%s\n", or_dash(getenv("LD_PRELOAD")),
		       or_dash(getenv("YASMIN_CONF")));
		return 0;
	}
	if (!strcmp(argv[1], "self"))
		execve(argv[0], probe, argc > 2 ? one : none);
	if (!strcmp(argv[1], "upgrade")) {
		int in = open("/proc/self/exe", O_RDONLY), out;
		struct stat st;

		if (in < 0 || fstat(in, &st) || unlink(argv[0]))
			return 3;
		out = open(argv[0], O_WRONLY | O_CREAT | O_EXCL, 0755);
		if (out < 0 || sendfile(out, in, NULL, st.st_size) != st.st_size)
			return 4;
		close(out);
		execve(argv[0], probe, none);
	}
	if (!strcmp(argv[1], "other"))
		execve("/bin/sh", sh, none);
	perror("execve");
	return 1;
}
