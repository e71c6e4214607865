// SPDX-License-Identifier: GPL-2.0
/*
 * Replay driver: feeds every file of the target's corpus/ and crashers/
 * directories (or of the directories named on the command line) to
 * LLVMFuzzerTestOneInput, so fuzz corpora and crashers run as regression
 * tests in make unit, without clang. Each input counts as one test; a
 * sanitizer report aborts the run, which the unit runner counts as failed.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	const char *dirs[] = { FUZZ_DIR "/corpus/" FUZZ_NAME,
			       FUZZ_DIR "/crashers/" FUZZ_NAME };
	unsigned int n = 0;
	int ndirs = argc > 1 ? argc - 1 : 2;

	for (int i = 0; i < ndirs; i++) {
		DIR *d = opendir(argc > 1 ? argv[i + 1] : dirs[i]);
		struct dirent *e;

		if (!d)
			continue;
		while ((e = readdir(d))) {
			char path[4096];
			static uint8_t buf[1 << 20];
			size_t len;
			FILE *f;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s",
				 argc > 1 ? argv[i + 1] : dirs[i], e->d_name);
			f = fopen(path, "rb");
			if (!f)
				continue;
			len = fread(buf, 1, sizeof(buf), f);
			fclose(f);
			LLVMFuzzerTestOneInput(buf, len);
			n++;
		}
		closedir(d);
	}
	printf("%s: replayed %u inputs\n", FUZZ_NAME, n);
	printf("%u passed, 0 failed\n", n);
	return 0;
}
