# The two commands: `make run` and `make test`. Both install what is missing first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

LOCAL_CLUSTER ?= $(BUILD_DIR)/local-cluster

.PHONY: deps configure build test run demo bench format clean cluster cluster-down

deps:
	@bash scripts/deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

run: build
	bash scripts/run_server.sh $(BUILD_DIR)

demo: build
	bash scripts/kwctl_demo.sh $(BUILD_DIR)

# etcd + kube-apiserver + a policy-server with examples/policies.yml registered as webhooks, on
# loopback; returns once the webhooks are enforced. `make cluster-down` stops all three.
cluster: build
	$(BUILD_DIR)/bin/kw-cluster start --strict --dir $(LOCAL_CLUSTER) --tools $(BUILD_DIR)/tools/bin \
	  --policy-server $(BUILD_DIR)/bin/policy-server --policies examples/policies.yml

cluster-down:
	@if [ -x $(BUILD_DIR)/bin/kw-cluster ]; then $(BUILD_DIR)/bin/kw-cluster stop --dir $(LOCAL_CLUSTER); fi

bench: build
	bash bench/run_all.sh $(BUILD_DIR)

format:
	find src include apps tests bench guest -name '*.cc' -o -name '*.h' -o -name '*.c' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
