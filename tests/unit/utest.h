/* SPDX-License-Identifier: GPL-2.0 */
/*
 * utest: the smallest test runner that can tell the truth.
 *
 *   UTEST(ring_wraps_at_2_32) { UT_ASSERT(x == y); UT_ASSERT_EQ(a, b); }
 *
 * Every UTEST in a file registers itself; the file's main() (provided when
 * UTEST_MAIN is defined before including this header, which each test file
 * does) runs them all, each in a forked child so a crash fails one test and
 * not the run, and ends with "N passed, N failed".
 */
#ifndef YASMIN_UTEST_H
#define YASMIN_UTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

struct utest {
	const char *name;
	void (*fn)(void);
};

#define UTEST_MAX 512
extern struct utest utest_table[UTEST_MAX];
extern int utest_count;

#define UTEST(name_)							\
	static void utest_##name_(void);				\
	__attribute__((constructor)) static void utest_reg_##name_(void)\
	{								\
		if (utest_count < UTEST_MAX)				\
			utest_table[utest_count++] =			\
				(struct utest){ #name_, utest_##name_ };\
	}								\
	static void utest_##name_(void)

#define UT_FAIL(...)							\
	do {								\
		fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);	\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		exit(1);						\
	} while (0)

#define UT_ASSERT(cond)							\
	do {								\
		if (!(cond))						\
			UT_FAIL("assertion failed: %s", #cond);		\
	} while (0)

#define UT_ASSERT_EQ(a, b)						\
	do {								\
		long long ut_a_ = (long long)(a), ut_b_ = (long long)(b);\
		if (ut_a_ != ut_b_)					\
			UT_FAIL("%s == %lld, expected %s == %lld",	\
				#a, ut_a_, #b, ut_b_);			\
	} while (0)

#define UT_ASSERT_STREQ(a, b)						\
	do {								\
		const char *ut_a_ = (a), *ut_b_ = (b);			\
		if (!ut_a_ || !ut_b_ || strcmp(ut_a_, ut_b_))		\
			UT_FAIL("%s == \"%s\", expected \"%s\"", #a,	\
				ut_a_ ? ut_a_ : "(null)",		\
				ut_b_ ? ut_b_ : "(null)");		\
	} while (0)

#ifdef UTEST_MAIN
struct utest utest_table[UTEST_MAX];
int utest_count;

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	for (int i = 0; i < utest_count; i++) {
		const char *only = argc > 1 ? argv[1] : NULL;
		int status;
		pid_t pid;

		if (only && !strstr(utest_table[i].name, only))
			continue;
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			/* A group of its own, so what it forks dies with it. */
			setpgid(0, 0);
			utest_table[i].fn();
			exit(0);
		}
		if (pid > 0) {
			pid_t group = pid;

			setpgid(pid, pid);
			if (waitpid(pid, &status, 0) < 0)
				pid = -1;
			/*
			 * Whatever the test forked and left behind (a child
			 * hung on a lock) goes too: it would hold our stdout
			 * open and keep whoever reads it waiting.
			 */
			kill(-group, SIGKILL);
		}
		if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("FAIL %s\n", utest_table[i].name);
			failed++;
		} else {
			printf("ok   %s\n", utest_table[i].name);
			passed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
#endif
#endif
