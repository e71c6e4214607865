# Shared rules for directories of small userspace programs: every *.c in the
# including directory becomes build/<name>, with warnings as errors.
CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE
PROGS := $(patsubst %.c,build/%,$(wildcard *.c))

all: $(PROGS)

build/%: %.c $(wildcard *.h)
	@mkdir -p build
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

clean:
	rm -rf build
.PHONY: all clean
