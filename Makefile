# ckfdw: PostgreSQL foreign data wrapper for Apple CloudKit Web Services.
#
# "make" builds the extension, the emulator (test/ckemu/ckemu) and the unit
# tests; "make install" installs the extension through PGXS.  "make test" and
# "make demo" are the two commands a newcomer needs (see README.md).

MODULE_big = ckfdw
EXTENSION = ckfdw
DATA = sql/ckfdw--1.0.sql sql/ckfdw--1.0--1.1.sql sql/ckfdw--1.1.sql \
	sql/ckfdw--1.1--1.2.sql sql/ckfdw--1.2.sql
PGFILEDESC = "ckfdw - foreign data wrapper for Apple CloudKit"

CK_SRCS = $(sort $(wildcard src/ck/*.c))
FDW_SRCS = $(sort $(wildcard src/*.c))
OBJS = $(FDW_SRCS:.c=.o) $(CK_SRCS:.c=.o)

PG_CPPFLAGS = -I$(srcdir)/src -I/usr/include/json-c
SHLIB_LINK = -lcurl -ljson-c -lcrypto

# pg_regress suites, in the order they run (sql/NAME.sql, expected/NAME.out)
REGRESS = $(basename $(notdir $(sort $(wildcard sql/[0-9]*.sql))))
REGRESS_OPTS = --inputdir=. --outputdir=test/results

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
else
# No PostgreSQL development files yet: "make test" and "make demo" install
# them first (test/install-deps.sh); everything else needs them.
all install installcheck:
	@echo "pg_config not found: run 'make deps' as root, or install postgresql-server-dev-15" >&2; exit 1
endif

# Objects depend on every header (PGXS tracks none by itself).
$(OBJS): $(wildcard src/*.h src/ck/*.h)

# The emulator and the unit tests are plain C programs, built without
# PostgreSQL; they share src/ck with the extension.
HOST_CFLAGS = -O2 -g -Wall -Wextra -Wno-unused-parameter -std=gnu11 -Isrc -I/usr/include/json-c
CKEMU_SRCS = $(sort $(wildcard test/ckemu/*.c))
CKEMU_CK_SRCS = src/ck/ck_error.c src/ck/ck_schema.c src/ck/ck_sign.c src/ck/ck_types.c src/ck/ck_util.c
UNIT_SRCS = $(sort $(wildcard test/unit/*.c))
CKEMU_TEST_SRCS = $(sort $(wildcard test/ckemu/tests/*.c))
CKEMU_TEST_CK_SRCS = src/ck/ck_sign.c src/ck/ck_types.c src/ck/ck_util.c

all: test/ckemu/ckemu test/unit/unit_tests test/ckemu/tests/ckemu_tests test/netdelay test/netdelay_test

test/ckemu/ckemu: $(CKEMU_SRCS) $(CKEMU_CK_SRCS) $(wildcard test/ckemu/*.h src/ck/*.h)
	$(CC) $(HOST_CFLAGS) -o $@ $(CKEMU_SRCS) $(CKEMU_CK_SRCS) -lmicrohttpd -ljson-c -lcrypto -lpthread -lm

test/unit/unit_tests: $(UNIT_SRCS) $(CK_SRCS) $(wildcard test/unit/*.h src/ck/*.h)
	$(CC) $(HOST_CFLAGS) -o $@ $(UNIT_SRCS) $(CK_SRCS) -lcurl -ljson-c -lcrypto

test/ckemu/tests/ckemu_tests: $(CKEMU_TEST_SRCS) $(CKEMU_TEST_CK_SRCS) $(wildcard test/ckemu/tests/*.h src/ck/*.h)
	$(CC) $(HOST_CFLAGS) -o $@ $(CKEMU_TEST_SRCS) $(CKEMU_TEST_CK_SRCS) -lcurl -ljson-c -lcrypto -lpthread

# The round-trip delay proxy of the benchmark's network model, and its check.
test/netdelay: test/netdelay.c
	$(CC) $(HOST_CFLAGS) -o $@ $< -lm

test/netdelay_test: test/netdelay_test.c
	$(CC) $(HOST_CFLAGS) -o $@ $<

# "make check-asan": the unit tests, ckemu and its protocol tests built
# again with AddressSanitizer and UBSan into test/asan/ (the normal
# binaries are untouched), then run by test/run-asan.sh.
# gcc leaves float-cast-overflow out of "undefined" (clang does not), so it
# is named.  gcc's -Wformat-overflow misfires on instrumented code.
ASAN_CFLAGS = $(filter-out -O2,$(HOST_CFLAGS)) -O1 -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer \
	-Wno-format-overflow

test/asan/unit_tests: $(UNIT_SRCS) $(CK_SRCS) $(wildcard test/unit/*.h src/ck/*.h)
	@mkdir -p test/asan
	$(CC) $(ASAN_CFLAGS) -o $@ $(UNIT_SRCS) $(CK_SRCS) -lcurl -ljson-c -lcrypto

test/asan/ckemu: $(CKEMU_SRCS) $(CKEMU_CK_SRCS) $(wildcard test/ckemu/*.h src/ck/*.h)
	@mkdir -p test/asan
	$(CC) $(ASAN_CFLAGS) -o $@ $(CKEMU_SRCS) $(CKEMU_CK_SRCS) -lmicrohttpd -ljson-c -lcrypto -lpthread -lm

test/asan/ckemu_tests: $(CKEMU_TEST_SRCS) $(CKEMU_TEST_CK_SRCS) $(wildcard test/ckemu/tests/*.h src/ck/*.h)
	@mkdir -p test/asan
	$(CC) $(ASAN_CFLAGS) -o $@ $(CKEMU_TEST_SRCS) $(CKEMU_TEST_CK_SRCS) -lcurl -ljson-c -lcrypto -lpthread

# Fuzzing (test/fuzz/README.md).  "make fuzz" builds one libFuzzer binary
# per test/fuzz/fuzz_*.c with clang into test/fuzz/bin/ and runs each for
# FUZZ_SECONDS; "make fuzz-replay" builds the same harnesses with the
# standalone driver (test/fuzz/replay_main.c) and the sanitizers into
# test/fuzz/replay/, which "make test" runs over the committed corpora.
# ck_http.c is left out: the harnesses that need it include it.
FUZZ_TARGETS = $(basename $(notdir $(sort $(wildcard test/fuzz/fuzz_*.c))))
FUZZ_CK_SRCS = $(filter-out src/ck/ck_http.c,$(CK_SRCS))
FUZZ_DEPS = $(FUZZ_CK_SRCS) src/ck/ck_http.c $(wildcard src/ck/*.h test/fuzz/*.h)
FUZZ_CC = clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -g -O1 -std=gnu11 -Isrc -Itest/fuzz -I/usr/include/json-c \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_LIBS = -lcurl -ljson-c -lcrypto -lm

test/fuzz/bin/%: test/fuzz/%.c $(FUZZ_DEPS)
	@mkdir -p test/fuzz/bin
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_CK_SRCS) $(FUZZ_LIBS)

test/fuzz/replay/%: test/fuzz/%.c test/fuzz/replay_main.c $(FUZZ_DEPS)
	@mkdir -p test/fuzz/replay
	$(CC) $(ASAN_CFLAGS) -fno-sanitize-recover=all -Itest/fuzz -o $@ $< test/fuzz/replay_main.c \
		$(FUZZ_CK_SRCS) $(FUZZ_LIBS)

.PHONY: test demo bench deps check-asan fuzz fuzz-replay
fuzz:
	@test/install-deps.sh --fuzz
	@$(MAKE) -s $(addprefix test/fuzz/bin/,$(FUZZ_TARGETS))
	@FUZZ_SECONDS=$(FUZZ_SECONDS) test/fuzz/run-fuzz.sh $(FUZZ_TARGETS)

fuzz-replay: $(addprefix test/fuzz/replay/,$(FUZZ_TARGETS))

check-asan: test/asan/unit_tests test/asan/ckemu test/asan/ckemu_tests
	@test/run-asan.sh

deps:
	@test/install-deps.sh

test:
	@test/run-tests.sh

demo:
	@test/demo.sh

bench:
	@test/bench/run-bench.sh

EXTRA_CLEAN = test/ckemu/ckemu test/unit/unit_tests test/ckemu/tests/ckemu_tests test/results test/tmp \
	test/netdelay test/netdelay_test \
	test/asan test/fuzz/bin test/fuzz/replay test/fuzz/work
