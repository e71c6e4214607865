// SPDX-License-Identifier: GPL-2.0
/*
 * Which map file the shim reads, and when it notices a new one: without
 * YASMIN_CONF a hand-written hosts wins whole, else hosts.auto (written by
 * yasmin-mapd, replaced by rename()), only if it lists this VM's own
 * domid; writing or removing either takes effect in a running program
 * within about a second. This VM is domain 1 (YASMIN_TEST_SELF_DOMID).
 */
// utest-sources: shim/preload.c shim/fdtab.c shim/connect.c shim/listen.c shim/names.c shim/opts.c shim/exec.c shim/map.c shim/addr.c
// utest-cflags: -D_GNU_SOURCE -DYASMIN_TEST_ETC
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include "utest.h"
#include "shim/shim.h"

static char dir[] = "/tmp/yasmin-unit-etc-XXXXXX";
static pid_t dir_owner;

/* Before the shim's own constructor reads the environment. */
__attribute__((constructor(101))) static void test_env(void)
{
	if (!mkdtemp(dir) || chmod(dir, 0755))
		abort();
	dir_owner = getpid();
	setenv("YASMIN_TEST_ETC", dir, 1);
	setenv("YASMIN_TEST_SELF_DOMID", "1", 1);
	unsetenv("YASMIN_CONF");
	unsetenv("YASMIN_DISABLE");
}

/* Each test (a child of its own) starts with an empty /etc/yasmin. */
static void setup(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/hosts %s/hosts.auto %s/private %s/stderr",
		 dir, dir, dir, dir);
	UT_ASSERT(system(cmd) == 0);
	snprintf(cmd, sizeof(cmd), "%s/stderr", dir);
	UT_ASSERT(freopen(cmd, "w", stderr));
	setvbuf(stderr, NULL, _IONBF, 0);
}

__attribute__((destructor)) static void test_env_gone(void)
{
	char cmd[128];

	/* the runner removes it, not each test's child */
	if (getpid() != dir_owner)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return;
}

/* Write @text to @name in the test's /etc/yasmin, as yasmin-mapd does:
 * a new file renamed over the old one.
 */
static void put(const char *name, const char *text)
{
	char tmp[256], path[256];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/.%s.new", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(tmp, "w");
	UT_ASSERT(f);
	UT_ASSERT(fputs(text, f) >= 0);
	UT_ASSERT(fclose(f) == 0);
	UT_ASSERT(rename(tmp, path) == 0);
}

static void del(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	UT_ASSERT(unlink(path) == 0);
}

/* The shim checks its map at most once a second: let a second pass. */
static void next_second(void)
{
	time_t t = time(NULL);

	while (time(NULL) == t)
		usleep(20000);
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

UTEST(no_map_at_all_everything_stays_tcp)
{
	setup();
	UT_ASSERT_EQ(domid_of("198.18.0.12"), -1);
}

UTEST(hosts_auto_alone_is_read)
{
	setup();
	put("hosts.auto", "198.18.0.11 1 g1\n198.18.0.12 2 g2\n");
	UT_ASSERT_EQ(domid_of("198.18.0.12"), 2);
}

UTEST(a_hand_written_map_wins_whole_and_its_removal_is_noticed)
{
	setup();
	put("hosts.auto", "198.18.0.11 1 g1\n198.18.0.12 2 g2\n");
	UT_ASSERT_EQ(domid_of("198.18.0.12"), 2);
	next_second();
	put("hosts", "198.18.0.12 7 g2-by-hand\n");
	UT_ASSERT_EQ(domid_of("198.18.0.12"), 7);
	/* no merging: what only hosts.auto has is not used */
	UT_ASSERT_EQ(domid_of("198.18.0.11"), -1);
	next_second();
	del("hosts");
	UT_ASSERT_EQ(domid_of("198.18.0.12"), 2);
	UT_ASSERT_EQ(domid_of("198.18.0.11"), 1);
}

UTEST(a_new_hosts_auto_renamed_over_the_old_is_noticed)
{
	setup();
	put("hosts.auto", "198.18.0.11 1 g1\n198.18.0.12 2 g2\n");
	UT_ASSERT_EQ(domid_of("198.18.0.12"), 2);
	next_second();
	/* g2 rebooted: a new domid, a file of the same size */
	put("hosts.auto", "198.18.0.11 1 g1\n198.18.0.12 9 g2\n");
	UT_ASSERT_EQ(domid_of("198.18.0.12"), 9);
	next_second();
	del("hosts.auto");
	UT_ASSERT_EQ(domid_of("198.18.0.12"), -1);
	next_second();
	put("hosts.auto", "198.18.0.11 1 g1\n198.18.0.12 4 g2\n");
	UT_ASSERT_EQ(domid_of("198.18.0.12"), 4);
}

/* How many lines of the test's captured stderr contain @what. */
static int stderr_lines(const char *what)
{
	char line[512], path[256];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/stderr", dir);
	f = fopen(path, "r");
	UT_ASSERT(f);
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, what);
	fclose(f);
	return n;
}

UTEST(a_hosts_auto_without_this_vm_is_not_used)
{
	setup();
	/* written for domain 4 (a stale file, another VM's): we are 1 */
	put("hosts.auto", "198.18.0.14 4 g4\n198.18.0.12 2 g2\n");
	UT_ASSERT_EQ(domid_of("198.18.0.12"), -1);
	next_second();
	UT_ASSERT_EQ(domid_of("198.18.0.12"), -1);
	UT_ASSERT_EQ(stderr_lines("written for another VM"), 1);
	next_second();
	put("hosts.auto", "198.18.0.11 1 g1\n198.18.0.12 2 g2\n");
	UT_ASSERT_EQ(domid_of("198.18.0.12"), 2);
}

UTEST(a_hosts_this_process_cannot_stat_is_not_passed_over)
{
	char path[256], target[256];
	FILE *f;

	setup();
	put("hosts.auto", "198.18.0.11 1 g1\n198.18.0.12 2 g2\n");
	/* hosts is a link into a directory only root may search */
	snprintf(path, sizeof(path), "%s/private", dir);
	UT_ASSERT(mkdir(path, 0700) == 0);
	snprintf(target, sizeof(target), "%s/private/map", dir);
	f = fopen(target, "w");
	UT_ASSERT(f && fputs("198.18.0.12 7 g2-by-hand\n", f) >= 0 && !fclose(f));
	snprintf(path, sizeof(path), "%s/hosts", dir);
	UT_ASSERT(symlink(target, path) == 0);
	snprintf(target, sizeof(target), "%s/private", dir);
	if (geteuid())
		UT_ASSERT(chmod(target, 0) == 0);
	/* root (a server's master) reads the hand-written map */
	if (!geteuid()) {
		UT_ASSERT_EQ(domid_of("198.18.0.12"), 7);
		/* a worker that dropped root may not read it, nor use another */
		UT_ASSERT(setresgid(65534, 65534, 65534) == 0 &&
			  setresuid(65534, 65534, 65534) == 0);
		next_second();
	}
	UT_ASSERT_EQ(domid_of("198.18.0.12"), -1);
	next_second();
	UT_ASSERT_EQ(domid_of("198.18.0.12"), -1);
	UT_ASSERT_EQ(stderr_lines("Permission denied"), 1);
}
