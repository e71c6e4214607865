// SPDX-License-Identifier: GPL-2.0
/*
 * execve(): a program that re-executes itself keeps the shim.
 *
 * A server that execs a new copy of itself hands it its listeners, the
 * hidden vsock listener included (nginx's binary upgrade, sshd's re-exec).
 * Some pass the new image an environment of their own making: nginx keeps
 * only the variables its "env" directives name. Without LD_PRELOAD the new
 * image would inherit a vsock listener that nobody accepts on, and VMs'
 * connections would wait for good. So when the image is the program's
 * own (the same file, or the same path after an upgrade replaced it), the
 * shim's LD_PRELOAD and YASMIN_* settings go into the new environment
 * where it lacks them. Any other exec is left exactly as the program
 * asked.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

/*
 * What goes with it, copied at start-up (the program may rewrite its
 * environment): LD_PRELOAD if it names us, and every YASMIN_* setting.
 */
static char **carry;
static size_t ncarry;

HIDDEN void yasmin_exec_init(void)
{
	extern char **environ;
	char **e;

	for (e = environ; e && *e; e++) {
		char **more;

		if (strncmp(*e, "YASMIN_", 7) &&
		    (strncmp(*e, "LD_PRELOAD=", 11) || !strstr(*e, "libyasmin")))
			continue;
		more = realloc(carry, (ncarry + 1) * sizeof(*carry));
		if (!more)
			return;
		carry = more;
		carry[ncarry] = strdup(*e);
		if (carry[ncarry])
			ncarry++;
	}
}

/* Is @path this program's own image, or the file that replaced it? */
static int own_image(const char *path)
{
	char self[PATH_MAX], want[PATH_MAX];
	struct stat a, b;
	ssize_t n;

	if (!stat(path, &a) && !stat("/proc/self/exe", &b) &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return 1;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || !realpath(path, want))
		return 0;
	self[n] = '\0';
	/* An upgrade replaced the file we run from: "PATH (deleted)". */
	if (n > 10 && !strcmp(self + n - 10, " (deleted)"))
		self[n - 10] = '\0';
	return !strcmp(self, want);
}

/* Does @envp set the variable of @var ("NAME=value")? */
static int has_var(char *const envp[], const char *var)
{
	size_t len = strcspn(var, "=") + 1;

	for (; envp && *envp; envp++)
		if (!strncmp(*envp, var, len))
			return 1;
	return 0;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	char **env = NULL;
	size_t n = 0, i, missing = 0;
	int err;

	if (!yasmin_ready())
		return real.execve ? real.execve(path, argv, envp) :
				     (errno = ENOSYS, -1);
	for (i = 0; i < ncarry; i++)
		missing += !has_var(envp, carry[i]);
	if (!yasmin_disabled && missing && own_image(path)) {
		while (envp && envp[n])
			n++;
		env = malloc((n + missing + 1) * sizeof(*env));
	}
	if (!env)
		return real.execve(path, argv, envp);
	for (i = 0; i < n; i++)
		env[i] = envp[i];
	for (i = 0; i < ncarry; i++)
		if (!has_var(envp, carry[i]))
			env[n++] = carry[i];
	env[n] = NULL;
	dbg("exec of this program's own image %s: the shim goes with it", path);
	real.execve(path, argv, env);
	err = errno;
	free(env);
	errno = err;
	return -1;
}
