# libdisent - GNU Make build. Meson (meson.build) builds the same files with
# the same flags; scripts/list-sources.sh gives both the file lists.
#
#   make              shared + static library and disent.pc in $(BUILD)
#   make test         build and run every Check suite, the header and export checks,
#                     the CLI tests and the minimal C/C++ host examples
#   make check        setup + both builds + tests + sanitizer run (what .ci/run calls)
#   make demo         setup, build, and the main job (see README)
#   make demo-mlvae   ML-VAE on MNIST with its evaluation (docs/mlvae.md)
#   make bench        build the benchmarks in $(BUILD)/bench
#   make install PREFIX=/usr/local   (library, header, disent.pc and the disent program)
#   make fuzz         the libFuzzer harnesses of tests/fuzz (clang, ASan + UBSan) in $(FUZZ_BUILD)/fuzz
#   make tsan         the thread tests under ThreadSanitizer (clang) in $(TSAN_BUILD)
#
# Variables: BUILD (output dir, default build), BLAS=openblas|blis, SAN=1
# (AddressSanitizer + UBSan), SAN=thread (ThreadSanitizer), SAN=fuzz (ASan +
# UBSan + libFuzzer coverage, clang), MPI=auto|1|0 (data-parallel dsn_fit_mpi
# and `mpirun disent train`: auto = when pkg-config finds mpi-c), CC, PREFIX, DESTDIR.

BUILD   ?= build
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
BLAS    ?= openblas
SAN     ?= 0
CC      ?= cc
CXX     ?= c++

ifeq ($(V),1)
  Q :=
else
  Q := @
endif

VERSION := $(shell scripts/version.sh)
MAJOR   := $(shell scripts/version.sh major)

MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
ifeq ($(BLAS),blis)
  # Debian's BLIS ships no .pc file; its OpenMP build lives in its own folders.
  BLIS_DIR ?= blis-openmp
  BLAS_PKG :=
  BLAS_DEF := -DDSN_USE_BLIS -isystem /usr/include/$(MULTIARCH)/$(BLIS_DIR)
  BLAS_LIB := -L/usr/lib/$(MULTIARCH)/$(BLIS_DIR) -Wl,-rpath,/usr/lib/$(MULTIARCH)/$(BLIS_DIR) -lblis -fopenmp
else ifeq ($(BLAS),openblas)
  BLAS_PKG := openblas
  BLAS_DEF :=
  BLAS_LIB :=
else
  $(error BLAS must be openblas or blis)
endif

PKGS      := $(BLAS_PKG) kissfft-float sndfile samplerate
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# MPI (optional): only lib/mpi and the CLI see <mpi.h>; everything that links
# the library links libmpi too.
MPI ?= auto
ifeq ($(MPI),auto)
  MPI := $(shell pkg-config --exists mpi-c 2>/dev/null && echo 1 || echo 0)
endif
ifeq ($(MPI),1)
  ifneq ($(shell pkg-config --exists mpi-c 2>/dev/null && echo y),y)
    $(error MPI=1 but pkg-config finds no mpi-c (Debian: apt-get install libopenmpi-dev))
  endif
  MPI_CFLAGS := $(shell pkg-config --cflags mpi-c) -DDSN_WITH_MPI
  MPI_LIBS   := $(shell pkg-config --libs mpi-c)
else ifneq ($(MPI),0)
  $(error MPI must be auto, 1 or 0)
endif

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
OPT      ?= -O2 -g
BASE_CFLAGS := -std=c11 $(OPT) $(WARN) -fPIC -fvisibility=hidden -pthread \
               -D_POSIX_C_SOURCE=200809L -DDSN_BUILDING_LIBRARY $(BLAS_DEF) \
               -Iinclude -Ilib $(PKG_CFLAGS)
ifeq ($(SAN),1)
  SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
ifeq ($(SAN),thread)
  SAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
endif
ifeq ($(SAN),fuzz)
  SAN_FLAGS := -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
# clang needs minutes (and GBs) to instrument the AVX kernels of
# lib/tensor/simd*.c for ASan or TSan; the fuzz and TSan builds leave those
# files plain (the gcc SAN=1 build checks them with every suite)
ifneq ($(filter fuzz thread,$(SAN)),)
$(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard lib/tensor/simd*.c)): SAN_FLAGS :=
endif
# The fuzz build traces no comparisons in the audio front end's numeric
# loops (STFT frames, mel filterbank: nothing to parse there): that tracing
# took ~20 % of the audio and feature-cache harnesses' time.
ifeq ($(SAN),fuzz)
$(BUILD)/obj/lib/audio/stft.o $(BUILD)/obj/lib/audio/mel.o: SAN_FLAGS += -fno-sanitize-coverage=trace-cmp
endif
ALL_CFLAGS  = $(BASE_CFLAGS) $(SAN_FLAGS) $(CFLAGS)
LIBS        = $(PKG_LIBS) $(MPI_LIBS) $(BLAS_LIB) -lm -pthread
CHECK_LIBS  = $(shell pkg-config --libs check 2>/dev/null)

LIB_SRC   := $(shell scripts/list-sources.sh lib)
ifeq ($(MPI),1)
  LIB_SRC += $(shell scripts/list-sources.sh lib-mpi)
endif
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC  := $(shell scripts/list-sources.sh tests)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
SUP_SRC   := $(shell scripts/list-sources.sh support)
SUP_OBJ   := $(SUP_SRC:%.c=$(BUILD)/obj/%.o)
BENCH_SRC := $(shell scripts/list-sources.sh bench)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
EX_SRC    := $(shell scripts/list-sources.sh examples)
EX_BIN    := $(EX_SRC:examples/%.c=$(BUILD)/examples/%)
EXX_SRC   := $(shell scripts/list-sources.sh examples-cxx)
EXX_BIN   := $(EXX_SRC:examples/%.cpp=$(BUILD)/examples/%)
TOOL_SRC  := $(shell scripts/list-sources.sh tools)
TOOL_BIN  := $(TOOL_SRC:tools/%.c=$(BUILD)/tools/%)
# programs in tools/ may use libfluidsynth (the dMelodies renderer)
TOOL_LIBS  = $(shell pkg-config --libs fluidsynth 2>/dev/null)
TOOL_CFLAGS = $(shell pkg-config --cflags fluidsynth 2>/dev/null)
# the `disent` command-line program: several files, a host of the public API
# only (include/ but not lib/ on its include path), linked with the static library
CLI_SRC   := $(shell scripts/list-sources.sh disent)
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
CLI_BIN   := $(BUILD)/tools/disent
# disent(1), generated from the program's --help texts (one source)
MAN_PAGE  := $(BUILD)/disent.1
FUZZ_SRC  := $(shell scripts/list-sources.sh fuzz)
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_BUILD ?= build-fuzz
TSAN_BUILD ?= build-tsan
HOST_CFLAGS = -std=c11 $(OPT) $(WARN) $(SAN_FLAGS) $(CFLAGS) -D_POSIX_C_SOURCE=200809L -Iinclude
# the library's MPI part and the CLI (which calls MPI_Init under mpirun)
$(BUILD)/obj/lib/mpi/%.o: ALL_CFLAGS += $(MPI_CFLAGS)
$(BUILD)/obj/tools/disent/%.o: HOST_CFLAGS += $(MPI_CFLAGS)

SO_NAME   := libdisent.so.$(MAJOR)
SO_FILE   := $(BUILD)/libdisent.so.$(VERSION)
A_FILE    := $(BUILD)/libdisent.a
PC_FILE   := $(BUILD)/disent.pc
CMAKE_FILES := $(BUILD)/cmake/disentConfig.cmake $(BUILD)/cmake/disentConfigVersion.cmake

.SECONDARY:
.PHONY: docs man check-readme
# the reference manual of the public headers (Doxygen; any warning fails)
docs:
	@mkdir -p $(BUILD)/docs
	DSN_VERSION=$(VERSION) DOXY_OUT=$(BUILD)/docs doxygen docs/Doxyfile
	@echo "docs: $(BUILD)/docs/html/index.html (0 warnings)"
man: $(MAN_PAGE)
$(MAN_PAGE): $(CLI_BIN) scripts/make-man.sh
	scripts/make-man.sh $(CLI_BIN) $@
# run every command of README.md as written (scripts/check-readme.py)
check-readme: lib tools
	/usr/bin/python3 scripts/check-readme.py --build $(BUILD)

.PHONY: FORCE test-mpi test-bins fuzz fuzz-bins fuzz-seeds tsan all lib tools examples test check demo demo-mlvae bench install uninstall clean setup check-header check-exports examples
all: lib tools examples
examples: $(EX_BIN) $(EXX_BIN)
# every Check suite built, none run (used to check that a merged tree compiles)
test-bins: $(TEST_BIN) $(MPI_TEST_BIN)
tools: $(TOOL_BIN) $(CLI_BIN) $(MAN_PAGE)
lib: $(SO_FILE) $(BUILD)/libdisent.so $(A_FILE) $(PC_FILE) $(CMAKE_FILES)

setup:
	@scripts/setup-deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(A_FILE): $(LIB_OBJ)
	@rm -f $@
	@echo '  AR      $@'
	$(Q)ar rcs $@ $^

$(SO_FILE): $(LIB_OBJ) lib/disent.map
	@echo '  LD      $@'
	$(Q)$(CC) -shared -o $@ $(LIB_OBJ) -Wl,-soname,$(SO_NAME) -Wl,--version-script=lib/disent.map \
	    -Wl,--no-undefined $(SAN_FLAGS) $(LIBS) $(LDFLAGS)
	$(Q)ln -sf libdisent.so.$(VERSION) $(BUILD)/$(SO_NAME)

$(BUILD)/libdisent.so: $(SO_FILE)
	$(Q)ln -sf $(SO_NAME) $@

# disent.pc and the CMake package config: the paths of PREFIX, and as private
# libraries only what libdisent.a itself calls (pkg-config --static), never the
# cflags of those libraries (a host includes disent.h alone)
LIBS_PRIVATE = $(strip $(PKG_LIBS) $(MPI_LIBS) $(BLAS_LIB) -lm -pthread)
CFG_SED = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' -e 's|@MAJOR@|$(MAJOR)|g' -e 's|@HAVE_MPI@|$(MPI)|g' \
	    -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|g' -e 's|@LIBS_PRIVATE_LIST@|$(subst $(eval) ,;,$(LIBS_PRIVATE))|g'

# they record PREFIX, so they are rewritten when PREFIX changes
$(PC_FILE): disent.pc.in include/disent.h FORCE
	@mkdir -p $(BUILD)
	$(Q)$(CFG_SED) disent.pc.in > $@.new && { cmp -s $@.new $@ && rm $@.new || mv $@.new $@; }
$(BUILD)/cmake/%.cmake: cmake/%.cmake.in include/disent.h FORCE
	@mkdir -p $(BUILD)/cmake
	$(Q)$(CFG_SED) $< > $@.new && { cmp -s $@.new $@ && rm $@.new || mv $@.new $@; }
FORCE:

# ---- tests ---------------------------------------------------------------
TEST_CFLAGS = $(ALL_CFLAGS) -Wno-missing-field-initializers -Wno-format-truncation -Itests -DDSN_SOURCE_DIR='"$(CURDIR)"'
$(BUILD)/tests/%: tests/%.c $(SUP_OBJ) $(A_FILE)
	@mkdir -p $(dir $@)
	@echo '  TEST    $@'
	$(Q)$(CC) $(TEST_CFLAGS) $< $(SUP_OBJ) -o $@ $(A_FILE) $(CHECK_LIBS) $(LIBS)

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC) $(TEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/cxx_header_test: tests/cxx/header_test.cpp include/disent.h $(SO_FILE)
	$(CXX) -std=c++11 -Wall -Wextra -Werror -Iinclude $(SAN_FLAGS) $< -o $@ -L$(BUILD) -l:libdisent.so.$(VERSION) -Wl,-rpath,$(CURDIR)/$(BUILD)

check-header: $(BUILD)/cxx_header_test
	$(CC) -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only -x c include/disent.h
	$(CXX) -std=c++98 -pedantic -Wall -Wextra -Werror -fsyntax-only -x c++ include/disent.h
	$(BUILD)/cxx_header_test

# data-parallel training over MPI (tests/mpi/run.sh: mpirun -np 1, 2, 3 and bad input)
MPI_TEST_BIN := $(if $(filter 1,$(MPI)),$(BUILD)/tests/mpi/fit_mpi_check)
$(BUILD)/tests/mpi/%: tests/mpi/%.c $(A_FILE)
	@mkdir -p $(dir $@)
	@echo '  TEST    $@'
	$(Q)$(CC) $(TEST_CFLAGS) $(MPI_CFLAGS) $< -o $@ $(A_FILE) $(LIBS)
test-mpi: $(MPI_TEST_BIN) $(CLI_BIN)
	$(if $(MPI_TEST_BIN),tests/mpi/run.sh $(MPI_TEST_BIN) $(CLI_BIN),@echo 'test-mpi: this build has no MPI (MPI=1 to require it)'; exit 1)

check-exports: $(SO_FILE)
	scripts/check-exports.sh $(SO_FILE)

test: lib tools examples $(TEST_BIN) check-header check-exports
	scripts/run-suites.sh $(TEST_BIN)
	tests/cli/test_cli.sh $(CLI_BIN)
	tests/cli/test_examples.sh $(CLI_BIN) $(BUILD)/examples/minimal $(BUILD)/examples/minimal_cxx

$(BUILD)/tools/%: tools/%.c $(A_FILE)
	@mkdir -p $(dir $@)
	@echo '  TOOL    $@'
	$(Q)$(CC) $(ALL_CFLAGS) $(TOOL_CFLAGS) $< -o $@ $(A_FILE) $(TOOL_LIBS) $(LIBS)

$(BUILD)/obj/tools/disent/%.o: tools/disent/%.c
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@

$(CLI_BIN): $(CLI_OBJ) $(A_FILE)
	@mkdir -p $(dir $@)
	@echo '  TOOL    $@'
	$(Q)$(CC) $(SAN_FLAGS) $(CLI_OBJ) -o $@ $(A_FILE) $(LIBS) $(LDFLAGS)

# examples link the shared library, as a host program would
$(BUILD)/examples/%: examples/%.c $(SO_FILE) include/disent.h
	@mkdir -p $(dir $@)
	@echo '  EXAMPLE $@'
	$(Q)$(CC) -std=c11 $(OPT) $(WARN) $(SAN_FLAGS) $(CFLAGS) -D_POSIX_C_SOURCE=200809L -Iinclude $< -o $@ \
	    -L$(BUILD) -l:libdisent.so.$(VERSION) -Wl,-rpath,'$$ORIGIN/..' -lm

$(BUILD)/examples/%: examples/%.cpp $(SO_FILE) include/disent.h
	@mkdir -p $(dir $@)
	@echo '  EXAMPLE $@'
	$(Q)$(CXX) -std=c++11 $(OPT) -Wall -Wextra -Wshadow $(SAN_FLAGS) $(CXXFLAGS) -Iinclude $< -o $@ \
	    -L$(BUILD) -l:libdisent.so.$(VERSION) -Wl,-rpath,'$$ORIGIN/..'

# ML-VAE on MNIST: fetch MNIST, train, evaluate (docs/mlvae.md), write a swap grid.
DEMO_EPOCHS ?= 30
DEMO_STEPS  ?= 200
demo-mlvae: setup lib $(BUILD)/examples/mlvae_images
	scripts/fetch-mnist.sh data/mnist
	$(BUILD)/examples/mlvae_images data/mnist --png mlvae_swap.png \
	    --epochs $(DEMO_EPOCHS) --steps $(DEMO_STEPS)
# The main job of the README: render dMelodies, train TS-DSAE, print the three
# swap macro-F1 scores and the pitch check, write swapped WAVs and a PNG
# (scripts/demo-tsdsae.sh; settings and results in docs/tsdsae.md).
demo: setup lib
	BUILD=$(BUILD) scripts/demo-tsdsae.sh

MPI_BENCH_BIN := $(if $(filter 1,$(MPI)),$(BUILD)/bench/mpi/bench_fit_mpi)
bench: $(BENCH_BIN) $(MPI_BENCH_BIN)
$(BUILD)/bench/mpi/%: bench/mpi/%.c $(A_FILE)
	@mkdir -p $(dir $@)
	@echo '  BENCH   $@'
	$(Q)$(CC) $(ALL_CFLAGS) $(MPI_CFLAGS) -O3 $< -o $@ $(A_FILE) $(LIBS)
$(BUILD)/bench/%: bench/%.c $(A_FILE)
	@mkdir -p $(dir $@)
	@echo '  BENCH   $@'
	$(Q)$(CC) $(ALL_CFLAGS) -O3 $< -o $@ $(A_FILE) $(LIBS)

# ---- fuzzing and ThreadSanitizer (clang) -------------------------------
# The library is built with coverage for libFuzzer (fuzzer-no-link) and ASan +
# UBSan; each harness is a libFuzzer program: run it on its corpus folder,
#   $(FUZZ_BUILD)/fuzz/fuzz_model tests/fuzz/corpus/model      (docs/reliability.md)
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang CXX=clang++ SAN=fuzz OPT="-O1 -g" fuzz-bins
fuzz-bins: $(FUZZ_BIN)
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_common.h $(A_FILE)
	@mkdir -p $(dir $@)
	@echo '  FUZZ    $@'
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-unused-function -fsanitize=fuzzer -Itests/fuzz $< -o $@ $(A_FILE) $(LIBS)

# The seed inputs (tests/fuzz/corpus/*/seed_*), made by the library itself.
fuzz-seeds: $(BUILD)/fuzz/make_seeds
	$(BUILD)/fuzz/make_seeds tests/fuzz/corpus
$(BUILD)/fuzz/make_seeds: tests/fuzz/make_seeds.c tests/fuzz/fuzz_common.h $(A_FILE)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-unused-function -Itests/fuzz $< -o $@ $(A_FILE) $(LIBS)

# The suites with threads under ThreadSanitizer: test_threads (one model
# shared by N inference threads, concurrent saves and loads) and the probe
# cases of test_reliability (concurrent savers of one path), the thread pool
# (test_core) and the LSTM layer split over a 2-thread pool (test_lstm).
TSAN_SUITES := test_threads test_reliability test_core test_lstm
tsan:
	$(MAKE) BUILD=$(TSAN_BUILD) CC=clang CXX=clang++ SAN=thread OPT="-O1 -g" \
	    $(TSAN_SUITES:%=$(TSAN_BUILD)/tests/%)
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 $(TSAN_OPTIONS)" OPENBLAS_NUM_THREADS=1 CK_FORK=no \
	    $(TSAN_BUILD)/tests/test_threads
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 $(TSAN_OPTIONS)" OPENBLAS_NUM_THREADS=1 CK_FORK=no CK_RUN_CASE=probe \
	    $(TSAN_BUILD)/tests/test_reliability
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 $(TSAN_OPTIONS)" OPENBLAS_NUM_THREADS=1 CK_FORK=no \
	    $(TSAN_BUILD)/tests/test_core
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 $(TSAN_OPTIONS)" OPENBLAS_NUM_THREADS=1 CK_FORK=no DSN_THREADS=2 \
	    $(TSAN_BUILD)/tests/test_lstm
# ---- the LV2 plugin (examples/lv2, docs/plugin.md): built when lv2-dev is found
# The bundle holds the plugin (the static library inside, only lv2_descriptor
# exported) and its Turtle files; put a model as model.dsn next to them.
# `make test-lv2` runs the real-time host test (tests/lv2/rt_host.c: no
# allocation or lock in run()); scripts/check-all.sh calls it.
HAVE_LV2   := $(shell pkg-config --exists lv2 2>/dev/null && echo 1)
LV2_BUNDLE := $(BUILD)/examples/lv2/disent-swap.lv2
LV2_FILES  := $(LV2_BUNDLE)/disent_swap.so $(LV2_BUNDLE)/manifest.ttl $(LV2_BUNDLE)/disent_swap.ttl
.PHONY: lv2 test-lv2
ifeq ($(HAVE_LV2),1)
examples: lv2
lv2: $(LV2_FILES)
else
lv2:
	@echo "lv2: the LV2 headers (Debian lv2-dev) are not installed; the plugin is not built"
endif
$(LV2_BUNDLE)/disent_swap.so: examples/lv2/disent_swap.c examples/lv2/export.map $(A_FILE) include/disent.h
	@mkdir -p $(dir $@)
	@echo '  LV2     $@'
	$(Q)$(CC) -std=c11 $(OPT) $(WARN) $(SAN_FLAGS) $(CFLAGS) -fPIC -shared -D_POSIX_C_SOURCE=200809L -Iinclude \
	    $(shell pkg-config --cflags lv2 2>/dev/null) $< -o $@ $(A_FILE) $(LIBS) \
	    -Wl,--version-script=examples/lv2/export.map -Wl,--no-undefined $(LDFLAGS)
$(LV2_BUNDLE)/%.ttl: examples/lv2/%.ttl
	@mkdir -p $(dir $@)
	$(Q)cp $< $@
$(BUILD)/tests/lv2_rt_host: tests/lv2/rt_host.c $(SO_FILE) include/disent.h
	@mkdir -p $(dir $@)
	@echo '  TEST    $@'
	$(Q)$(CC) -std=c11 $(OPT) $(WARN) $(SAN_FLAGS) $(CFLAGS) -Iinclude $(shell pkg-config --cflags lv2 2>/dev/null) $< \
	    -o $@ -rdynamic -L$(BUILD) -l:libdisent.so.$(VERSION) -Wl,-rpath,$(CURDIR)/$(BUILD) -ldl -lm -pthread
ifeq ($(HAVE_LV2),1)
test-lv2: $(LV2_FILES) $(BUILD)/tests/lv2_rt_host
	@rm -rf $(BUILD)/tests/lv2-bundle && mkdir -p $(BUILD)/tests/lv2-bundle
	$(BUILD)/tests/lv2_rt_host $(LV2_BUNDLE)/disent_swap.so $(BUILD)/tests/lv2-bundle; \
	    rc=$$?; [ $$rc -eq 77 ] && echo "test-lv2: SKIPPED (sanitizer build)"; [ $$rc -eq 0 ] || [ $$rc -eq 77 ]
else
test-lv2:
	@echo "test-lv2: SKIPPED (no lv2-dev)"
endif

# The whole test command of the README: dependencies, both builds, all suites,
# then all suites again under ASan + UBSan.
check: setup
	scripts/check-all.sh

# The programs (disent, features) link libdisent.a and need no library path; a
# host linking libdisent.so from a PREFIX outside the loader's path uses an
# rpath (pkg-config --variable=rpath disent) or ldconfig: docs/install.md.
install: lib $(CLI_BIN) $(BUILD)/tools/features $(MAN_PAGE)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(LIBDIR)/cmake/disent $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(CLI_BIN) $(BUILD)/tools/features $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(MAN_PAGE) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 include/disent.h $(DESTDIR)$(INCDIR)/
	$(if $(filter 1,$(MPI)),install -m 644 include/disent_mpi.h $(DESTDIR)$(INCDIR)/)
	install -m 755 $(SO_FILE) $(DESTDIR)$(LIBDIR)/
	ln -sf libdisent.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(LIBDIR)/libdisent.so
	install -m 644 $(A_FILE) $(DESTDIR)$(LIBDIR)/
	install -m 644 $(PC_FILE) $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 644 $(CMAKE_FILES) $(DESTDIR)$(LIBDIR)/cmake/disent/

uninstall:
	rm -f $(DESTDIR)$(INCDIR)/disent.h $(DESTDIR)$(INCDIR)/disent_mpi.h $(DESTDIR)$(LIBDIR)/libdisent.* $(DESTDIR)$(LIBDIR)/pkgconfig/disent.pc $(DESTDIR)$(PREFIX)/bin/disent \
	    $(DESTDIR)$(PREFIX)/bin/features $(DESTDIR)$(PREFIX)/share/man/man1/disent.1
	rm -rf $(DESTDIR)$(LIBDIR)/cmake/disent

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(SUP_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
