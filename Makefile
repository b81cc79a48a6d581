# trm: Tiny Recursive Models and Deep Improvement Supervision in C.
#   make            build build/trm (installs libopenblas-dev, libcjson-dev when missing)
#   make test       build and run every test (also: make test SAN=1 for ASan + UBSan)
#   make run        the main job: N-Queens data, a short DIS training run, evaluation

CC      ?= gcc
comma   := ,
SAN     ?= 0
# ARCH: the instruction set to build for (-march=ARCH): native, or e.g. x86-64-v3 to build
# and test the AVX2 path on an AVX-512 machine.
ARCH    ?= native
MARCH   := $(shell $(CC) -march=$(ARCH) -E -x c /dev/null >/dev/null 2>&1 && echo -march=$(ARCH))
# The build folder is keyed by what -march=ARCH means on this machine (gcc's name for it
# and a hash of the instruction-set flags it enables), so a tree built on one CPU is never
# silently reused on another; build/trm links to the native one. The binary also refuses
# to start on a CPU that lacks what it was built for (src/cli/cpu_check.c).
ISA_KEY := $(shell $(CC) $(MARCH) -Q --help=target 2>/dev/null | \
             awk '$$1 == "-march=" { print $$2 }'; \
           $(CC) $(MARCH) -Q --help=target 2>/dev/null | grep '\[enabled\]' | md5sum | cut -c1-8)
ISA_KEY := $(subst $(eval) ,-,$(strip $(ISA_KEY)))
ifeq ($(SAN),1)
  BUILD   := build-san
  OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
  BUILD   := build/$(or $(ISA_KEY),generic)
  OPT     := -O3 $(MARCH)
endif
CFLAGS  += -std=gnu11 -Wall -Wextra -Wshadow -fopenmp $(OPT) -Isrc -Isrc/core -I$(BUILD) -MMD -MP
LDFLAGS += -fopenmp $(if $(filter 1,$(SAN)),-fsanitize=address$(comma)undefined)
# OpenBLAS built with OpenMP shares our OpenMP threads; the default pthread build keeps a
# second pool whose threads fight OpenMP's for the same cores (see docs/benchmarks.md).
OMPBLAS := /usr/lib/x86_64-linux-gnu/openblas-openmp
# Expanded at link time (after tools/deps.sh may have installed it), hence = and $(shell).
LDLIBS   = $(shell test -e $(OMPBLAS)/libopenblas.so.0 && echo $(OMPBLAS)/libopenblas.so.0 -Wl,-rpath,$(OMPBLAS) || echo -lopenblas) -lcjson -lm

LIB_SRC  := $(wildcard src/core/*.c src/nn/*.c src/io/*.c src/tasks/*.c src/train/*.c src/eval/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)

TEST_SRC := $(wildcard tests/test_*.c)
# Tests named test_f64_* link a double-precision build of the library (-DTRM_DOUBLE),
# used by finite-difference gradient checks.
F64_TESTS := $(filter tests/test_f64_%.c,$(TEST_SRC))
F32_TESTS := $(filter-out $(F64_TESTS),$(TEST_SRC))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
F64_OBJ  := $(LIB_SRC:%.c=$(BUILD)/f64/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TESTS    := $(F32_TESTS:tests/%.c=$(BUILD)/tests/%) $(F64_TESTS:tests/%.c=$(BUILD)/tests/%)
# The fuzz targets, each linked with the replay driver (see make fuzz below).
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAYS := $(FUZZ_SRC:tests/%.c=$(BUILD)/tests/%)

all: $(BUILD)/trm $(if $(and $(filter build/%,$(BUILD)),$(filter native,$(ARCH))),build/trm)

# Always relinked: the key may have changed since the link was made (another CPU).
build/trm: $(BUILD)/trm FORCE
	@ln -sfn $(patsubst build/%,%,$(BUILD))/trm $@

$(BUILD)/.deps: tools/deps.sh
	@sh tools/deps.sh
	@mkdir -p $(BUILD) && touch $@

# The commit and build flags of this binary (trm --version, model files, metrics.jsonl),
# rewritten only when they change so that nothing else rebuilds.
$(BUILD)/version_build.h: FORCE
	@mkdir -p $(BUILD)
	@c=$$(git rev-parse --short HEAD 2>/dev/null || echo unknown); \
	 git diff --quiet HEAD -- src 2>/dev/null || c="$$c+dirty"; \
	 printf '#define TRM_COMMIT "%s"\n#define TRM_BUILD "%s"\n' "$$c" "$(CC) $(OPT)" > $@.tmp; \
	 cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(BUILD)/src/core/version.o $(BUILD)/f64/src/core/version.o: $(BUILD)/version_build.h

$(BUILD)/%.o: %.c $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/f64/%.o: %.c $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DTRM_DOUBLE -c $< -o $@

# The CPU check runs before anything else, so it must not itself use what it checks for.
$(BUILD)/src/cli/cpu_check.o: CFLAGS += -march=x86-64 -mtune=generic

$(BUILD)/libtrm.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/libtrm_f64.a: $(F64_OBJ)
	ar rcs $@ $^

$(BUILD)/trm: $(CLI_OBJ) $(BUILD)/libtrm.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/test_f64_%: $(BUILD)/f64/tests/test_f64_%.o $(BUILD)/libtrm_f64.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libtrm.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Regenerate the PyTorch reference fixtures when torch is importable (Debian's
# python3-torch); otherwise the committed fixtures are used as they are.
fixtures:
	@if /usr/bin/python3 -c 'import torch' 2>/dev/null; then \
	    /usr/bin/python3 tests/reference/trm_reference.py --out tests/fixtures && \
	    /usr/bin/python3 tests/reference/torch_ckpt.py --out tests/fixtures; \
	else echo "fixtures: torch not importable, using the committed fixtures"; fi
	@if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then \
	    /usr/bin/python3 tests/reference/numpy_stream.py --out tests/fixtures/numpy_stream.txt; \
	else echo "fixtures: numpy not importable, using the committed numpy_stream.txt"; fi

# Shell tests (tests/test_*.sh) drive the trm binary: bad input, end-to-end commands.
SH_TESTS := $(wildcard tests/test_*.sh)

test: $(BUILD)/trm $(TESTS) $(FUZZ_REPLAYS)
	@TRM=$(BUILD)/trm sh tests/run.sh $(TESTS) $(SH_TESTS)

# Fuzz targets (tests/fuzz/fuzz_*.c): linked in every build with the replay driver, which
# make test runs on the regression inputs (tests/test_fuzz_regress.sh); make fuzz links
# them with libFuzzer, ASan and UBSan in build-fuzz/ and runs each FUZZ_SECONDS on its
# corpus (tools/fuzz.sh; 20 s x 12 targets keeps CI well under its 30 minutes).
FUZZ_SECONDS ?= 20

$(BUILD)/tests/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(BUILD)/tests/fuzz/common.o $(BUILD)/libtrm.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Only in the fuzz build, where tools/fuzz.sh sets CC=clang and the sanitizers.
$(BUILD)/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/common.o $(BUILD)/libtrm.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

fuzz:
	@sh tools/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)

# The C tests alone (the kernels, the model, the formats), for a second instruction set.
test-units: $(TESTS)
	@sh tests/run.sh $(TESTS)

clean:
	rm -rf build build-san build-fuzz

.PHONY: all test test-units fuzz clean fixtures run reproduce FORCE
.SECONDARY:
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# The main job: N-Queens data, DIS-compact trained until the validation split is solved
# (at most RUN_MINUTES of training), the best checkpoint on validation scored on the test
# set, the time and the machine (tools/run_main.sh).
RUN_MINUTES ?= 8
run: $(BUILD)/trm
	TRM=$(BUILD)/trm sh tools/run_main.sh $(RUN_MINUTES) runs

# The full N-Queens reproduction (docs/results.md): make reproduce MINUTES=60
MINUTES ?= 60
reproduce: $(BUILD)/trm
	TRM=$(BUILD)/trm sh tools/reproduce_nqueens.sh $(MINUTES)

# Attention alone against sgemm of the same size (bench/attention.c); run
# $(BUILD)/bench-attention [B Lt H hd repeats] (OPENBLAS_CORETYPE=SkylakeX on AVX-512).
bench-attention: $(BUILD)/bench-attention
	@echo "built $(BUILD)/bench-attention"

$(BUILD)/bench-attention: $(BUILD)/bench/attention.o $(BUILD)/libtrm.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

.PHONY: bench-attention
