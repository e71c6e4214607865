// SPDX-License-Identifier: GPL-2.0
/*
 * How the shim reads its map file (shim/preload.c): whatever is at the
 * path, it never hangs a connect, never reads a cut version, and says
 * once, not every second, why a file cannot be used.
 */
// utest-sources: shim/preload.c shim/fdtab.c shim/connect.c shim/listen.c shim/names.c shim/opts.c shim/exec.c shim/map.c shim/addr.c
// utest-cflags: -D_GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include "utest.h"
#include "shim/shim.h"

static char dir[] = "/tmp/yasmin-unit-mapread-XXXXXX";
static char conf[128], errlog[128];
static pid_t dir_owner;

/* Before the shim's own constructor reads the environment. */
__attribute__((constructor(101))) static void test_env(void)
{
	if (!mkdtemp(dir) || chmod(dir, 0755))
		abort();
	dir_owner = getpid();
	snprintf(conf, sizeof(conf), "%s/hosts", dir);
	snprintf(errlog, sizeof(errlog), "%s/stderr", dir);
	setenv("YASMIN_CONF", conf, 1);
	unsetenv("YASMIN_DISABLE");
	unsetenv("YASMIN_DEBUG");
}

__attribute__((destructor)) static void test_env_gone(void)
{
	char cmd[128];

	if (getpid() != dir_owner)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return;
}

/* Each test starts with nothing at the map's path, stderr to a file. */
static void setup(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", conf, errlog);
	UT_ASSERT(system(cmd) == 0);
	UT_ASSERT(freopen(errlog, "w", stderr));
	setvbuf(stderr, NULL, _IONBF, 0);
}

static long domid_of(const char *ip)
{
	struct in6_addr a;

	memset(&a, 0, sizeof(a));
	a.s6_addr[10] = 0xff;
	a.s6_addr[11] = 0xff;
	UT_ASSERT(inet_pton(AF_INET, ip, &a.s6_addr[12]) == 1);
	UT_ASSERT(yasmin_ready());
	return yasmin_map_domid(&a);
}

/* Look @ip up for @secs seconds; each lookup must give @want. */
static void lookups_for(double secs, const char *ip, long want)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		UT_ASSERT_EQ(domid_of(ip), want);
		usleep(50000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
}

/* How many lines of the captured stderr contain @what. */
static int stderr_lines(const char *what)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(errlog, "r");

	UT_ASSERT(f);
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, what);
	fclose(f);
	return n;
}

UTEST(a_fifo_at_the_path_hangs_nothing_and_is_reported_once)
{
	setup();
	UT_ASSERT(mkfifo(conf, 0644) == 0);
	lookups_for(2.5, "198.18.0.12", -1);
	UT_ASSERT_EQ(stderr_lines("not a regular file"), 1);
}

UTEST(a_directory_at_the_path_is_reported_once)
{
	setup();
	UT_ASSERT(mkdir(conf, 0755) == 0);
	lookups_for(2.5, "198.18.0.12", -1);
	UT_ASSERT_EQ(stderr_lines("not a regular file"), 1);
}

UTEST(an_unreadable_map_is_reported_once)
{
	FILE *f;

	setup();
	f = fopen(conf, "w");
	UT_ASSERT(f && fputs("198.18.0.12 2 g2\n", f) >= 0 && !fclose(f));
	UT_ASSERT(chmod(conf, 0) == 0);
	/* root reads anything: be a server's worker after it dropped root */
	if (!geteuid())
		UT_ASSERT(setresgid(65534, 65534, 65534) == 0 &&
			  setresuid(65534, 65534, 65534) == 0);
	lookups_for(2.5, "198.18.0.12", -1);
	UT_ASSERT_EQ(stderr_lines("Permission denied"), 1);
}

UTEST(a_large_map_is_read_whole)
{
	FILE *f;
	int i;

	setup();
	f = fopen(conf, "w");
	UT_ASSERT(f);
	for (i = 0; i < 3000; i++)
		fprintf(f, "10.%d.%d.%d %d vm%d\n", i >> 16, (i >> 8) & 255,
			i & 255, 100 + i, i);
	UT_ASSERT(!fclose(f));
	UT_ASSERT_EQ(domid_of("10.0.11.183"), 100 + 2999);
	UT_ASSERT_EQ(domid_of("10.0.0.0"), 100);
	UT_ASSERT_EQ(stderr_lines("yasmin"), 0);
}

UTEST(a_map_past_16_mib_is_refused_once)
{
	int fd;

	setup();
	fd = open(conf, O_WRONLY | O_CREAT, 0644);
	UT_ASSERT(fd >= 0);
	UT_ASSERT(ftruncate(fd, (17 << 20)) == 0);
	UT_ASSERT(syscall(SYS_close, fd) == 0);
	lookups_for(2.5, "198.18.0.12", -1);
	UT_ASSERT_EQ(stderr_lines("larger than 16 MiB"), 1);
}
