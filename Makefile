# semifaas: one build, one demo, one test command.
CARGO ?= cargo
MVN   ?= mvn -B -q
DIST  := dist
NATIVE_DIR := $(CURDIR)/target/release

.PHONY: build rust java samples dist demo test test-rust test-java lint clean rie criu

# The AWS Lambda Runtime Interface Emulator, for the conformance test of `bootstrap`
# (lambda-shim/tests/emulator.rs). Pinned; built from source by the Go toolchain.
RIE_MODULE  := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE         := target/tools/aws-lambda-rie

# CRIU for snapshot starts (`semifaas local --snapshots`): 4.1.1, patched for this kernel
# (deploy/criu/build-criu.sh; needs root and apt). `make criu` also puts it in dist/.
CRIU := target/criu/criu-4.1.1/criu/criu

build: dist

rust:
	$(CARGO) build --release --workspace

java: rust
	$(MVN) -f jvm-hooks/pom.xml package -DskipTests -Dnative.lib.dir=$(NATIVE_DIR)

samples:
	$(MVN) -f samples/image-service/pom.xml package -DskipTests
	$(MVN) -f samples/image-service/pom.xml -Pboot2 package -DskipTests
	$(MVN) -f samples/blog/pom.xml package -DskipTests
	$(MVN) -f samples/library/pom.xml package -DskipTests
	$(MVN) -f samples/library/pom.xml -Pboot4 package -DskipTests

dist: rust java samples
	mkdir -p $(DIST)/samples
	cp --remove-destination target/release/bootstrap target/release/semifaas $(DIST)/
	cp --remove-destination jvm-hooks/agent/target/semifaas-agent.jar jvm-hooks/runtime/target/semifaas-runtime.jar $(DIST)/
	cp --remove-destination samples/image-service/target/image-service.jar $(DIST)/samples/
	cp --remove-destination samples/image-service/target/boot2/image-service.jar $(DIST)/samples/image-service-boot2.jar
	cp --remove-destination samples/blog/target/blog.jar $(DIST)/samples/
	cp --remove-destination samples/library/target/library.jar $(DIST)/samples/
	cp --remove-destination samples/library/target/boot4/library.jar $(DIST)/samples/library-boot4.jar
	@echo "built $(DIST)/: $$(ls $(DIST) | tr '\n' ' ')"

# The demo: the image service with the agent, bursting into the bundled local platform, with a report.
demo: build
	$(DIST)/semifaas demo

test: build test-java test-rust

# The library sample is tested on Spring Boot 3 and, with -Pboot4, on Spring Boot 4; the image
# service on Spring Boot 3 and, with -Pboot2, on Spring Boot 2.7 (javax.servlet). Those profiles
# build in target/boot4/ and target/boot2/, so they never replace the default jars.
test-java:
	$(MVN) -f jvm-hooks/pom.xml verify -Dnative.lib.dir=$(NATIVE_DIR)
	$(MVN) -f samples/image-service/pom.xml test
	$(MVN) -f samples/image-service/pom.xml -Pboot2 test
	$(MVN) -f samples/blog/pom.xml test
	$(MVN) -f samples/library/pom.xml test
	$(MVN) -f samples/library/pom.xml -Pboot4 test

test-rust: rie criu
	SEMIFAAS_CRIU=$(CURDIR)/$(CRIU) $(CARGO) test --release --workspace

rie: $(RIE)

criu: $(CRIU)
	mkdir -p $(DIST)
	cp --remove-destination $(CRIU) $(DIST)/criu

$(CRIU):
	deploy/criu/build-criu.sh

$(RIE):
	GOBIN=$(CURDIR)/target/tools go install $(RIE_MODULE)@$(RIE_VERSION)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

clean:
	rm -rf $(DIST)
	$(CARGO) clean
