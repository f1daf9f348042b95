# ckfdw: PostgreSQL foreign data wrapper for Apple CloudKit Web Services.
#
# "make" builds the extension, the emulator (test/ckemu/ckemu) and the unit
# tests; "make install" installs the extension through PGXS.  "make test" and
# "make demo" are the two commands a newcomer needs (see README.md).

MODULE_big = ckfdw
EXTENSION = ckfdw
DATA = sql/ckfdw--1.0.sql sql/ckfdw--1.0--1.1.sql sql/ckfdw--1.1.sql
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

all: test/ckemu/ckemu test/unit/unit_tests test/ckemu/tests/ckemu_tests

test/ckemu/ckemu: $(CKEMU_SRCS) $(CKEMU_CK_SRCS) $(wildcard test/ckemu/*.h src/ck/*.h)
	$(CC) $(HOST_CFLAGS) -o $@ $(CKEMU_SRCS) $(CKEMU_CK_SRCS) -lmicrohttpd -ljson-c -lcrypto -lpthread -lm

test/unit/unit_tests: $(UNIT_SRCS) $(CK_SRCS) $(wildcard test/unit/*.h src/ck/*.h)
	$(CC) $(HOST_CFLAGS) -o $@ $(UNIT_SRCS) $(CK_SRCS) -lcurl -ljson-c -lcrypto

test/ckemu/tests/ckemu_tests: $(CKEMU_TEST_SRCS) $(CKEMU_TEST_CK_SRCS) $(wildcard test/ckemu/tests/*.h src/ck/*.h)
	$(CC) $(HOST_CFLAGS) -o $@ $(CKEMU_TEST_SRCS) $(CKEMU_TEST_CK_SRCS) -lcurl -ljson-c -lcrypto -lpthread

.PHONY: test demo bench deps
deps:
	@test/install-deps.sh

test:
	@test/run-tests.sh

demo:
	@test/demo.sh

bench:
	@test/bench/run-bench.sh

EXTRA_CLEAN = test/ckemu/ckemu test/unit/unit_tests test/ckemu/tests/ckemu_tests test/results test/tmp
