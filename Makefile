# syncgate - GNU Makefile
#
#   make                        build build/syncgate
#   make SANITIZE=address,undefined   the same into build-address-undefined/
#   make run                    install what is missing, build, start Redis + gateway (dev);
#                               documents and the token secret are kept in build/dev/
#   make run-reset              the same after wiping build/dev/ (empty store, new secret)
#   make test                   install what is missing, build twice, run every suite
#   make bench                  build build/loadgen, run the benchmarks (bench/README.md)
#
# Objects go out of tree into $(BUILD); dependencies come from -MMD -MP.

CC       ?= cc
comma    := ,
SANITIZE ?=
WERROR   ?= -Werror

ifeq ($(SANITIZE),)
BUILD    ?= build
SANFLAGS :=
else
BUILD    ?= build-$(subst $(comma),-,$(SANITIZE))
SANFLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

PKGS     := libwebsockets libmicrohttpd hiredis jansson libuv libcrypto libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla -Wcast-qual -Wwrite-strings \
	-Wold-style-definition -Wpointer-arith -fno-common
CFLAGS   ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(CFLAGS) $(WARN) $(WERROR) $(SANFLAGS) \
	-Igateway -Iauth -Ipubsub -I$(BUILD)/gen $(PKG_CFLAGS) -MMD -MP
LDFLAGS  += $(SANFLAGS)
LDLIBS   := $(PKG_LIBS) -lm

# Adapters and the program shell talk to libraries and sockets; everything
# else is the pure core, linked into the unit tests as libcore.a.
ADAPTER_SRC := gateway/main.c gateway/rest.c gateway/rest_answer.c \
	gateway/rest_handlers.c gateway/rest_mhd.c \
	gateway/webroot.c gateway/ws.c gateway/sync_write.c gateway/sync_answer.c \
	gateway/sync_resolve.c gateway/sync_read.c \
	gateway/resolver.c gateway/jwks_fetch.c gateway/health_probe.c $(wildcard pubsub/redis_*.c)
CORE_SRC := $(filter-out $(ADAPTER_SRC),$(wildcard gateway/*.c auth/*.c pubsub/*.c))
LUA_SRC  := $(sort $(wildcard pubsub/lua/*.lua))

# Adapters the unit tests link too, from $(BUILD)/libadapters_unit.a: they
# name hiredis or libuv types (so the rule above counts them as adapters)
# but own no socket. redis_reply decodes reply trees and calls nothing in
# hiredis; redis_scripts and redis_health reach Redis only through
# redis_conn.h, which test_redis_health.c replaces with a recording fake.
# check-layering holds them to that: no hiredis/async.h or adapters/, no
# other I/O library.
UNIT_ADAPTER_SRC := pubsub/redis_reply.c pubsub/redis_scripts.c \
	pubsub/redis_health.c

CORE_OBJ    := $(CORE_SRC:%.c=$(BUILD)/%.o)
ADAPTER_OBJ := $(ADAPTER_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/lua_scripts.o
UNIT_ADAPTER_OBJ := $(UNIT_ADAPTER_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/lua_scripts.o
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all unit run run-reset test test-deps check-layering bench clean fuzz
all: $(BUILD)/syncgate

$(BUILD)/syncgate: $(ADAPTER_OBJ) $(BUILD)/libcore.a
	$(CC) $(LDFLAGS) -o $@ $(ADAPTER_OBJ) $(BUILD)/libcore.a $(LDLIBS)

$(BUILD)/libcore.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c | $(BUILD)/gen/lua_scripts.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Lua scripts are embedded as C strings; pubsub/lua/embed.sh writes both files.
# (one rule writes both: the .c depends on the .h so it never runs twice)
$(BUILD)/gen/lua_scripts.h: $(LUA_SRC) $(wildcard pubsub/lua/lib/*.lua) pubsub/lua/embed.sh
	@mkdir -p $(BUILD)/gen
	sh pubsub/lua/embed.sh $(BUILD)/gen $(LUA_SRC)

$(BUILD)/gen/lua_scripts.c: $(BUILD)/gen/lua_scripts.h

$(BUILD)/gen/lua_scripts.o: $(BUILD)/gen/lua_scripts.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# ---- unit tests (cmocka), one binary per pure module --------------------
# Each links the core and the unit-testable adapters; an archive member is
# pulled in only by the test that calls it.
$(BUILD)/libadapters_unit.a: $(UNIT_ADAPTER_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libadapters_unit.a $(BUILD)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libadapters_unit.a \
		$(BUILD)/libcore.a $(LDLIBS) -lcmocka

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# ---- the layering rule of STYLE.md: the core includes no library headers --
# (and the adapters the unit tests link include no socket-side ones)
check-layering:
	@bad=$$(grep -lE '#include *[<"](libwebsockets|microhttpd|hiredis|uv|curl/)' $(CORE_SRC) $(CORE_SRC:.c=.h) 2>/dev/null); \
	if [ -n "$$bad" ]; then echo "layering: core module includes a library header: $$bad"; exit 1; fi; \
	bad=$$(grep -lE '#include *[<"](libwebsockets|microhttpd|hiredis/async|hiredis/adapters|curl/)' $(UNIT_ADAPTER_SRC) $(UNIT_ADAPTER_SRC:.c=.h) 2>/dev/null); \
	if [ -n "$$bad" ]; then echo "layering: unit-tested adapter includes a socket-side header: $$bad"; exit 1; fi; \
	echo "layering: ok"

# ---- fuzz targets (clang libFuzzer), run briefly by make test -------------
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_CORE := $(filter-out gateway/log.c,$(CORE_SRC))
build-fuzz/%: tests/fuzz/%.c $(CORE_SRC) $(wildcard gateway/*.h auth/*.h pubsub/*.h)
	@mkdir -p build-fuzz
	clang-14 -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
		-Igateway -Iauth -Ipubsub $(shell pkg-config --cflags jansson libcrypto) \
		-o $@ $< $(CORE_SRC) $(shell pkg-config --libs jansson libcrypto) -lm
fuzz: $(FUZZ_BIN)

# ---- run and test ----------------------------------------------------------
run:
	@sh scripts/deps.sh run
	@$(MAKE) --no-print-directory all
	@sh scripts/run-dev.sh

run-reset:
	@sh scripts/deps.sh run
	@$(MAKE) --no-print-directory all
	@sh scripts/run-dev.sh --reset

test:
	@sh scripts/deps.sh test
	@sh scripts/test.sh

# ---- the load generator of make bench: libc, libcrypto (SHA-1, base64) ----
LOADGEN_SRC := bench/loadgen/main.c bench/loadgen/fanout.c bench/loadgen/ws.c \
	bench/loadgen/http.c bench/loadgen/loop.c bench/loadgen/stats.c \
	bench/loadgen/util.c
$(BUILD)/loadgen: $(LOADGEN_SRC) $(wildcard bench/loadgen/*.h)
	@mkdir -p $(BUILD)
	$(CC) -std=c11 -D_GNU_SOURCE $(CFLAGS) $(WARN) $(WERROR) \
		$(shell pkg-config --cflags libcrypto) -o $@ $(LOADGEN_SRC) \
		$(shell pkg-config --libs libcrypto) -lm

bench: all $(BUILD)/loadgen
	@BUILD=$(BUILD) sh bench/run.sh

clean:
	rm -rf build build-* tests/integration/.tmp

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
