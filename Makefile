# mercuryo-bridge: make run | make test | make build
# Needs a JDK 21+ and Maven. The JDK is found by itself: JAVA_HOME if it is 21+, otherwise the
# first JDK 21+ among the usual install locations (/usr/lib/jvm, /opt/java, macOS).

SHELL := /bin/bash
JAVA_HOME_ORIG := $(JAVA_HOME)
.DEFAULT_GOAL := help

# Prints the major version of the JDK in $1, or nothing.
jdk_major = $(shell [ -x "$(1)/bin/javac" ] && "$(1)/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p')

JDK_CANDIDATES := $(JAVA_HOME) $(sort $(wildcard /usr/lib/jvm/*)) $(wildcard /opt/java/*) $(wildcard /opt/jdk*) \
                  $(wildcard /Library/Java/JavaVirtualMachines/*/Contents/Home)
FOUND_JDK := $(firstword $(foreach d,$(JDK_CANDIDATES),$(if $(shell v=$(call jdk_major,$(d)); [ -n "$$v" ] && [ "$$v" -ge 21 ] && echo ok),$(d))))

MVN ?= mvn
MVN_FLAGS ?= -B -ntp
export JAVA_HOME := $(FOUND_JDK)
export PATH := $(FOUND_JDK)/bin:$(PATH)
# Maven's own libraries touch sun.misc.Unsafe; JDK 24+ warns about it on every run.
export MAVEN_OPTS ?= $(if $(shell [ "$(call jdk_major,$(FOUND_JDK))" -ge 24 ] 2>/dev/null && echo y),--sun-misc-unsafe-memory-access=allow)

.PHONY: help jdk build test fuzz chaos run watch bench bench-ingest bench-drain bench-reconcile bench-report report clean classpath \
        image image-tools image-test observability-check

help:
	@echo "make run    start the service on embedded PostgreSQL 17 (dev mode)"
	@echo "make test   run the whole test suite (real PostgreSQL, no Docker)"
	@echo "make fuzz   over 100,000 mutated signed callback bodies against the real app (make test runs a slice)"
	@echo "make chaos  faults under load against the production jar: kill -9, database crash, Kafka down, relay session killed, publisher killed"
	@echo "make build  build target/mercuryo-bridge.jar"
	@echo "make watch  print the messages of a topic (TOPIC=mercuryo.transactions.v1)"
	@echo "make bench  callback-to-Kafka latency benchmark"
	@echo "make bench-ingest     stored callbacks/s of the production jar vs the 401 ceiling (durable DB)"
	@echo "make bench-drain      outbox relay drain rate vs a bare producer (durable DB)"
	@echo "make bench-reconcile  reconciler run time for 10,000 watched items against the simulator"
	@echo "make bench-report     report time and peak memory over 1,000,000 transactions"
	@echo "make report FROM=YYYY-MM-DD TO=YYYY-MM-DD  CSV + HTML report of the make run database"
	@echo "make image       build the container image $(IMAGE) from docker/Dockerfile (podman; IMAGE_BASE=local|official)"
	@echo "make image-test  build the image and run it against a real PostgreSQL and Kafka: callback, Kafka, probes, non-root"
	@echo "make observability-check  promtool check/test the alert rules; parse the dashboard and compose files"

jdk:
	@if [ -z "$(FOUND_JDK)" ]; then \
	  echo "error: no JDK 21 or newer found. JAVA_HOME is '$(JAVA_HOME_ORIG)'; looked in /usr/lib/jvm, /opt/java, /opt/jdk*." >&2; \
	  echo "Install one (e.g. apt-get install openjdk-21-jdk) or set JAVA_HOME to it." >&2; exit 1; fi
	@command -v $(MVN) >/dev/null || { echo "error: Maven ($(MVN)) is not installed (apt-get install maven)" >&2; exit 1; }
	@echo "using JDK $(FOUND_JDK) (Java $(call jdk_major,$(FOUND_JDK)))"

build: jdk
	$(MVN) $(MVN_FLAGS) -DskipTests package

test: jdk
	$(MVN) $(MVN_FLAGS) verify

# The fuzz properties with their full case counts (-Dfuzz=full; see testing/FuzzCases.java), then
# what the run covered and how long it took.
FUZZ_OUT = target/surefire-reports/dev.mercuryobridge.ingest.CallbackFuzzTest-output.txt \
           target/surefire-reports/dev.mercuryobridge.report.ReportsOnHostileDataTest-output.txt
fuzz: jdk
	@start=$$(date +%s); \
	$(MVN) $(MVN_FLAGS) test -Dfuzz=full -Dtest='CallbackFuzzTest,ReportsOnHostileDataTest' -Dsurefire.failIfNoSpecifiedTests=false; status=$$?; \
	grep -h '^fuzz' $(FUZZ_OUT) 2>/dev/null; \
	echo "make fuzz: $$(( $$(date +%s) - start )) s in all (build included)"; exit $$status

# Dev mode, the topic watcher and the benchmark run from the test classpath: the embedded
# PostgreSQL and Kafka live there, not in the production jar.
DEV_CP = target/classes:target/test-classes:$$(cat target/test-classpath.txt)
# make run and make watch: logback-dev.xml shows the service's own lines and only WARN/ERROR of the
# libraries. Allowed up front rather than warned about by the JVM: lz4 (Kafka's compression) loads
# native code, as in the image; the embedded broker unmaps its files with sun.misc.Unsafe (JDK 24+).
DEV_JAVA = java --enable-native-access=ALL-UNNAMED \
  $(if $(shell [ "$(call jdk_major,$(FOUND_JDK))" -ge 24 ] 2>/dev/null && echo y),--sun-misc-unsafe-memory-access=allow) \
  -Dlogback.configurationFile=logback-dev.xml -cp $(DEV_CP)

classpath: jdk
	$(MVN) $(MVN_FLAGS) -q -DskipTests test-compile dependency:build-classpath \
	  -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test

run: classpath
	@exec $(DEV_JAVA) dev.mercuryobridge.dev.DevMode

# make watch TOPIC=mercuryo.transactions.v1   (against make run's broker, or KAFKA_BOOTSTRAP_SERVERS)
watch: classpath
	@exec $(DEV_JAVA) dev.mercuryobridge.dev.Watch $(TOPIC)

# Callback-to-Kafka latency at a steady light load; prints percentiles and ratios to a baseline.
bench: classpath
	exec $(DEV_JAVA) -Dlogback.configurationFile=logback-bench.xml dev.mercuryobridge.bench.LatencyBenchmark $(BENCH_ARGS)

# Throughput of the production jar (a separate process) on a durable database, as ratios to the
# bad-signature ceiling of the same run.
bench-ingest: build classpath
	exec $(DEV_JAVA) -Dlogback.configurationFile=logback-bench.xml dev.mercuryobridge.bench.IngestBenchmark $(BENCH_ARGS)

# Five faults, one at a time, injected under steady signed-callback load into the production jar
# (one or two instances) with its own PostgreSQL and Kafka processes; checks after each and exits
# non-zero if any fails. CHAOS_ARGS="kafkaDown=20 faults=1,3" etc. (see chaos/ChaosSuite.java).
chaos: build classpath
	exec java --enable-native-access=ALL-UNNAMED -Dlogback.configurationFile=logback-bench.xml -cp $(DEV_CP) dev.mercuryobridge.chaos.ChaosSuite $(CHAOS_ARGS)

# The relay draining a 100,000-row backlog on a durable database, beside a bare producer.
bench-drain: classpath
	exec $(DEV_JAVA) -Dlogback.configurationFile=logback-bench.xml dev.mercuryobridge.bench.DrainBenchmark $(BENCH_ARGS)

bench-reconcile: classpath
	exec $(DEV_JAVA) -Dlogback.configurationFile=logback-bench.xml dev.mercuryobridge.bench.ReconcileBenchmark $(BENCH_ARGS)

bench-report: classpath
	exec java -Xmx512m -Dlogback.configurationFile=logback-bench.xml -cp $(DEV_CP) dev.mercuryobridge.bench.ReportBenchmark $(BENCH_ARGS)

# The reconciliation report of the make run database (start make run first), as CSV and HTML.
# FROM and TO default to the last 7 days (UTC); any DATABASE_* variable points it elsewhere.
FROM ?= $(shell date -u -d '6 days ago' +%F)
TO ?= $(shell date -u +%F)
REPORT_DIR ?= target/reports
report: classpath
	@export DATABASE_URL="$${DATABASE_URL:-jdbc:postgresql://localhost:15432/postgres}" \
	  DATABASE_USER="$${DATABASE_USER:-postgres}" DATABASE_PASSWORD="$${DATABASE_PASSWORD:-postgres}"; \
	for f in csv html; do \
	  java -Dlogback.configurationFile=logback-bench.xml -cp $(DEV_CP) dev.mercuryobridge.Main report \
	    --from $(FROM) --to $(TO) --format $$f --out $(REPORT_DIR)/reconciliation-$(FROM)-$(TO).$$f || exit $$?; \
	done

# ---- container image -------------------------------------------------------------------------
# Built with podman (no Docker engine needed). IMAGE_BASE=local builds the base images here from
# Debian's packages (debootstrap) and the build's JDK (jlink), so no registry is needed;
# IMAGE_BASE=official uses the Dockerfile's defaults (debian:bookworm-slim, eclipse-temurin:21-jre).
IMAGE ?= localhost/mercuryo-bridge:latest
IMAGE_BASE ?= local
LOCAL_OS_IMAGE ?= localhost/mercuryo-bridge-os:bookworm
LOCAL_JRE_IMAGE ?= localhost/mercuryo-bridge-jre:local
export CONTAINERS_CONF ?= $(CURDIR)/docker/podman/containers.conf
IMAGE_BUILD_ARGS = $(if $(filter local,$(IMAGE_BASE)),--build-arg OS_IMAGE=$(LOCAL_OS_IMAGE) --build-arg JRE_IMAGE=$(LOCAL_JRE_IMAGE))

image-tools:
	@command -v podman >/dev/null || { echo "error: podman is not installed (apt-get install podman runc)" >&2; exit 1; }
	@[ "$(IMAGE_BASE)" != local ] || command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] \
	  || { echo "error: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }

image: build image-tools
ifeq ($(IMAGE_BASE),local)
	PATH="$$PATH:/usr/sbin" docker/local-base.sh $(LOCAL_OS_IMAGE) $(LOCAL_JRE_IMAGE)
endif
	@old=$$(podman image inspect --format '{{.Id}}' $(IMAGE) 2>/dev/null); \
	echo "podman build $(IMAGE_BUILD_ARGS) -f docker/Dockerfile -t $(IMAGE) ."; \
	podman build $(IMAGE_BUILD_ARGS) -f docker/Dockerfile -t $(IMAGE) . || exit $$?; \
	if [ -n "$$old" ] && [ "$$old" != "$$(podman image inspect --format '{{.Id}}' $(IMAGE))" ]; then \
	  podman rmi "$$old" >/dev/null 2>&1 || echo "note: the previous $(IMAGE) ($$old) is still in use; not removed"; fi

# Builds the image, then runs it (podman, host network) against an embedded PostgreSQL 17 and an
# embedded Kafka broker on loopback; see src/test/java/dev/mercuryobridge/image/ImageTestHarness.java.
# Prints how long the whole target took, base images included.
image-test:
	@start=$$(date +%s); rc=0; \
	$(MAKE) --no-print-directory image classpath MVN_FLAGS='$(MVN_FLAGS) -q' || rc=$$?; \
	built=$$(date +%s); \
	[ $$rc != 0 ] || java -Dlogback.configurationFile=logback-bench.xml -cp $(DEV_CP) \
	  dev.mercuryobridge.image.ImageTestHarness $(IMAGE) || rc=$$?; \
	end=$$(date +%s); \
	echo "make image-test took $$((end - start)) s: jar, base images and image $$((built - start)) s, test $$((end - built)) s (exit $$rc)"; \
	exit $$rc

# Python with PyYAML: the one on PATH if it has it, else Debian's (apt-get install python3-yaml).
PYTHON_YAML ?= $(shell python3 -c 'import yaml' 2>/dev/null && echo python3 || echo /usr/bin/python3)

# What can be checked of docker/ without an engine: the alert rules (promtool check and unit
# tests), Prometheus's config, and the compose, provisioning and dashboard files parsing and
# agreeing with each other and with the Dockerfile.
observability-check:
	@command -v promtool >/dev/null || { echo "error: promtool is not installed (apt-get install prometheus)" >&2; exit 1; }
	promtool check rules docker/observability/prometheus/alerts.yml
	promtool test rules docker/observability/prometheus/alerts.test.yml
	promtool check config docker/observability/prometheus/prometheus.yml
	$(PYTHON_YAML) docker/observability/check.py

clean:
	rm -rf target .dev
