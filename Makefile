# trm: Tiny Recursive Models and Deep Improvement Supervision in C.
#   make            build build/trm (installs libopenblas-dev, libcjson-dev when missing)
#   make test       build and run every test (also: make test SAN=1 for ASan + UBSan)
#   make run        the main job: N-Queens data, a short DIS training run, evaluation

CC      ?= gcc
comma   := ,
SAN     ?= 0
ifeq ($(SAN),1)
  BUILD   := build-san
  OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
  BUILD   := build
  OPT     := -O3 $(shell $(CC) -march=native -E -x c /dev/null >/dev/null 2>&1 && echo -march=native)
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

all: $(BUILD)/trm

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

test: $(BUILD)/trm $(TESTS)
	@TRM=$(BUILD)/trm sh tests/run.sh $(TESTS) $(SH_TESTS)

clean:
	rm -rf build build-san

.PHONY: all test clean fixtures run reproduce FORCE
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
