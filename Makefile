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

.PHONY: help jdk build test fuzz run watch bench bench-reconcile bench-report report clean classpath

help:
	@echo "make run    start the service on embedded PostgreSQL 17 (dev mode)"
	@echo "make test   run the whole test suite (real PostgreSQL, no Docker)"
	@echo "make fuzz   over 100,000 mutated signed callback bodies against the real app (make test runs a slice)"
	@echo "make build  build target/mercuryo-bridge.jar"
	@echo "make watch  print the messages of a topic (TOPIC=mercuryo.transactions.v1)"
	@echo "make bench  callback-to-Kafka latency benchmark"
	@echo "make bench-reconcile  reconciler run time for 10,000 watched items against the simulator"
	@echo "make bench-report     report time and peak memory over 1,000,000 transactions"
	@echo "make report FROM=YYYY-MM-DD TO=YYYY-MM-DD  CSV + HTML report of the make run database"

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

classpath: jdk
	$(MVN) $(MVN_FLAGS) -q -DskipTests test-compile dependency:build-classpath \
	  -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test

run: classpath
	exec java -cp $(DEV_CP) dev.mercuryobridge.dev.DevMode

# make watch TOPIC=mercuryo.transactions.v1   (against make run's broker, or KAFKA_BOOTSTRAP_SERVERS)
watch: classpath
	exec java -cp $(DEV_CP) dev.mercuryobridge.dev.Watch $(TOPIC)

# Callback-to-Kafka latency at a steady light load; prints percentiles and ratios to a baseline.
bench: classpath
	exec java -Dlogback.configurationFile=logback-bench.xml -cp $(DEV_CP) dev.mercuryobridge.bench.LatencyBenchmark $(BENCH_ARGS)

bench-reconcile: classpath
	exec java -Dlogback.configurationFile=logback-bench.xml -cp $(DEV_CP) dev.mercuryobridge.bench.ReconcileBenchmark $(BENCH_ARGS)

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

clean:
	rm -rf target .dev
