# The two commands: `make run` and `make test`. Both install what is missing first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

LOCAL_CLUSTER ?= $(BUILD_DIR)/local-cluster

.PHONY: deps configure build test fuzz fuzz-build test-asan test-tsan run demo bench soak format clean cluster cluster-policies cluster-down images audit

deps:
	@bash scripts/deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build fuzz-build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	cd $(FUZZ_BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L fuzz

# libFuzzer targets (fuzz/, docs/reliability.md "Fuzzing") in a clang build of their own:
# `make fuzz FUZZ_SECONDS=N` runs each for N seconds on a copy of its seed corpus and fails on
# any crash, leaving the input in build-fuzz/fuzz-runs/<target>/artifacts/. `make test` runs each
# for a few seconds (ctest label `fuzz`). Without clang or its libFuzzer runtime this fails.
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
# FUZZ_EXECS=N also stops each target after N executions (issue 16's goal: 10000000).
FUZZ_EXECS ?=
$(FUZZ_BUILD_DIR)/build.ninja:
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKW_FUZZ=ON -DKW_WERROR=OFF

fuzz-build: deps $(FUZZ_BUILD_DIR)/build.ninja
	cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target fuzz_targets

fuzz: fuzz-build
	KW_FUZZ_MAX_EXECS=$(FUZZ_EXECS) bash fuzz/run.sh $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS)

# The same suite on our code built with sanitizers, each in a folder of its own (docs/reliability.md,
# "Sanitizers"): `make test-asan` (AddressSanitizer, LeakSanitizer and UBSan) and `make test-tsan`
# (ThreadSanitizer). Much slower than `make test`, so not part of it. The options reach every
# binary the tests start, since those inherit the environment. V8 and wasmtime catch wasm traps
# with their own SIGSEGV/SIGBUS/SIGFPE/SIGILL handlers: handle_*=1 (not 2) installs the sanitizer's
# handler but lets them install theirs over it (allow_user_segv_handler is deprecated in GCC 12's
# runtime), and they hand faults outside wasm code back to it. The suppression files name leaks
# and races inside libnode (V8) and wasmtime only, never our code.
SANITIZERS := $(CURDIR)/scripts/sanitizers
test-asan: export ASAN_OPTIONS = detect_leaks=1:halt_on_error=1:handle_segv=1:handle_sigbus=1:handle_sigfpe=1:check_initialization_order=1
test-asan: export LSAN_OPTIONS = suppressions=$(SANITIZERS)/lsan.supp:print_suppressions=0
test-asan: export UBSAN_OPTIONS = halt_on_error=1:print_stacktrace=1
test-asan:
	$(MAKE) test BUILD_DIR=build-asan CMAKE_FLAGS="$(CMAKE_FLAGS) -DKW_SANITIZE=address"

test-tsan: export TSAN_OPTIONS = halt_on_error=0:second_deadlock_stack=1:suppressions=$(SANITIZERS)/tsan.supp
test-tsan:
	$(MAKE) test BUILD_DIR=build-tsan CMAKE_FLAGS="$(CMAKE_FLAGS) -DKW_SANITIZE=thread"

run: build
	bash scripts/run_server.sh $(BUILD_DIR)

demo: build
	bash scripts/kwctl_demo.sh $(BUILD_DIR)

# Kubewarden on loopback: etcd, kube-apiserver, kube-controller-manager, the kubelet stand-in
# (tests/cluster/kubelet_standin.h, a test double that runs policy-server Pods as processes), the
# kubewarden-crds chart and our kubewarden-controller (each when present in the tree/build).
# Returns once all are ready; `kubectl apply` of PolicyServers and policies then works
# (examples/kubewarden/). `make cluster-down` stops everything and removes the Pods' addresses.
cluster: build
	$(BUILD_DIR)/bin/kw-cluster start --strict --dir $(LOCAL_CLUSTER) --tools $(BUILD_DIR)/tools/bin \
	  --kubelet-standin $(BUILD_DIR)/bin/kw-kubelet-standin \
	  $(if $(wildcard charts/kubewarden-crds/Chart.yaml),--crds charts/kubewarden-crds) \
	  $(if $(wildcard $(BUILD_DIR)/bin/kubewarden-controller),--controller $(BUILD_DIR)/bin/kubewarden-controller)

# Without the controller: one policy-server serving examples/policies.yml, each policy
# registered as a webhook by kw-cluster itself.
cluster-policies: build
	$(BUILD_DIR)/bin/kw-cluster start --strict --dir $(LOCAL_CLUSTER) --tools $(BUILD_DIR)/tools/bin \
	  --policy-server $(BUILD_DIR)/bin/policy-server --policies examples/policies.yml

# One audit scan of the `make cluster` cluster (upstream runs the scanner as a CronJob). The
# policy-servers' root CA comes from the controller's Secret; AUDIT_ARGS adds flags, e.g.
# make audit AUDIT_ARGS="--store sqlite --store-path build/audit.db".
AUDIT_ARGS ?=
audit: build
	$(BUILD_DIR)/tools/bin/kubectl --kubeconfig $(LOCAL_CLUSTER)/kubeconfig -n kubewarden \
	  get secret policy-server-root-ca -o jsonpath='{.data.policy-server-root-ca-pem}' \
	  | base64 -d > $(LOCAL_CLUSTER)/policy-server-root-ca.pem
	$(BUILD_DIR)/bin/audit-scanner --kubeconfig $(LOCAL_CLUSTER)/kubeconfig -k kubewarden \
	  --extra-ca $(LOCAL_CLUSTER)/policy-server-root-ca.pem $(AUDIT_ARGS)

cluster-down:
	@if [ -x $(BUILD_DIR)/bin/kw-cluster ]; then $(BUILD_DIR)/bin/kw-cluster stop --dir $(LOCAL_CLUSTER); fi

# OCI images of our binaries, built without a container engine (scripts/images.sh) and pushed:
# make images REGISTRY=host:port[/prefix] [IMAGES="policy-server ..."] [TAG=v…]
IMAGES ?= policy-server kubewarden-controller audit-scanner
images: configure
	@if [ -z "$(REGISTRY)" ]; then echo "make images: set REGISTRY=host:port[/prefix]" >&2; exit 2; fi
	cmake --build $(BUILD_DIR) -j $(JOBS) --target kw-image-push $(IMAGES)
	bash scripts/images.sh --build-dir $(BUILD_DIR) --push $(REGISTRY) $(if $(TAG),--tag $(TAG)) $(IMAGES)

bench: build
	bash bench/run_all.sh $(BUILD_DIR)

# The soak test (issue 16): SOAK_MINUTES of mixed traffic, errors and RSS drift (bench/soak.sh).
SOAK_MINUTES ?= 30
soak: build
	bash bench/soak.sh $(SOAK_MINUTES) $(BUILD_DIR)

format:
	find src include apps tests bench guest -name '*.cc' -o -name '*.h' -o -name '*.c' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
